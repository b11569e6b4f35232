"""Look inside a trained model on one video: the numbers behind the figures and the explorer.

    probe = Probe.from_checkpoint("runs/default/runs/ean-s0/checkpoints/best.pt")
    video = probe.read_video("clip.mp4")                 # every frame, decoded once
    view = probe.analyse(video, zoom=1.6, rate=2.0)     # one test clip, zoomed, 2x frame rate
    view.top5, view.fusion[1], view.kernel_weights[1]["spatial"], view.saliency

Test-time view: the checkpoint's resize and centre crop (``1clip``); ``zoom`` enlarges the
centre of every frame (Fig. 10's "spatially zoomed"), ``rate`` plays the video ``rate``
times faster in frame rate (Fig. 10's "2x frame rate": the clip covers ``1/rate`` of the
video, so objects move ``rate`` times less between the sampled frames).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from ean.errors import UserError
from ean.viz.transforms import rate_indices, spatial_zoom


@dataclass
class ClipView:
    """Everything the model shows about one clip (CPU tensors, batch dimension removed)."""

    frames: Tensor                       # (T, 3, H, W) uint8: the sparse frames the model sees
    logits: Tensor                       # (K,)
    probs: Tensor                        # (K,)
    class_names: list[str]
    fusion: list[Tensor] = field(default_factory=list)          # per EAB: (C', C')
    kernel_weights: list[dict[str, Tensor]] = field(default_factory=list)  # per EAB: {spatial, temporal}: (G,)
    kernel_sizes: list[int] = field(default_factory=list)       # the G kernel sizes (1 = identity)
    eab_stages: list[int] = field(default_factory=list)
    saliency: Optional[Tensor] = None    # (N, T, h, w) object maps of the last SOI-Tr
    attention: Optional[Tensor] = None   # (L, L) last block's attention, averaged over heads
    features: dict[str, Tensor] = field(default_factory=dict)   # stageS: (C, T, h, w)
    indices: Optional[np.ndarray] = None        # (T*L,) the clip's frame indices in the video
    shown_indices: Optional[np.ndarray] = None  # (T,) the video frame index of each of ``frames``
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    """``(x1, y1, x2, y2)``: the part of a video frame that ``frames`` show (after the zoom, the
    resize and the centre crop), in [0, 1] coordinates of the video frame."""

    @property
    def top5(self) -> list[tuple[str, float]]:
        values, idx = self.probs.topk(min(5, self.probs.numel()))
        return [(self.class_names[i], float(v)) for v, i in zip(values.tolist(), idx.tolist())]

    @property
    def prediction(self) -> int:
        return int(self.logits.argmax())

    def activation(self, stage: str) -> Tensor:
        """``(T, h, w)``: the channel-mean absolute activation of a stage's output."""
        return self.features[stage].abs().mean(dim=0)

    def to_shown(self, boxes: np.ndarray) -> np.ndarray:
        """Boxes ``(..., 4)`` ``(x1, y1, x2, y2)`` in [0, 1] video-frame coordinates -> pixel
        coordinates of ``frames`` ``(..., 4)`` (pixel edges: 0 .. S), clipped to the shown
        frame; NaN for NaN boxes and for boxes entirely outside it."""
        x1, y1, x2, y2 = self.region
        h, w = self.frames.shape[-2:]
        b = np.asarray(boxes, dtype=np.float64)
        out = np.empty_like(b)
        out[..., 0::2] = np.clip((b[..., 0::2] - x1) / (x2 - x1) * w, 0, w)
        out[..., 1::2] = np.clip((b[..., 1::2] - y1) / (y2 - y1) * h, 0, h)
        out[(out[..., 2] <= out[..., 0]) | (out[..., 3] <= out[..., 1])] = np.nan
        return out


def kernel_extents(eab) -> list[int]:
    """The receptive extent of each kernel group of an EAB: 1 (identity), 3, 5 (3 taps,
    dilation 2), ..."""
    return [1 + (taps - 1) * dilation for taps, dilation in eab._kernels()]


class Probe:
    """A trained model and its test-time data settings."""

    def __init__(self, model, state: dict[str, Any]):
        from ean.engine.trained import data_config_for

        self.model = model.eval()
        self.state = state
        self.cfg = model.cfg
        self.data_cfg = data_config_for(state, {"media": "auto"}).resolved()
        k = self.cfg.num_classes
        self.class_names = list(state.get("class_names") or [f"class {i}" for i in range(k)])

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Probe":
        from ean.engine.trained import load_trained

        path = Path(path)
        if not path.is_file():
            raise UserError(f"checkpoint not found: {path}")
        model, state = load_trained(path, "cpu")
        return cls(model, state)

    # ------------------------------------------------------------------ video
    def read_video(self, path: str | Path) -> Tensor:
        """Every frame of a video file or frame folder, ``(N, 3, H, W)`` uint8."""
        from ean.data.decode import DecodeError, open_media
        from ean.data.manifest import VideoRecord

        path = Path(path)
        if not path.exists():
            raise UserError(f"video not found: {path}")
        try:
            reader = open_media(VideoRecord(str(path), None, -1, source=str(path)), self.data_cfg)
            frames = reader.read(np.arange(reader.num_frames))
        except DecodeError as exc:
            raise UserError(str(exc)) from None
        if len(frames) == 0:
            raise UserError(f"{path}: no decodable frames")
        return frames

    def clip(self, video: Tensor, zoom: float = 1.0, rate: float = 1.0) -> tuple[Tensor, Tensor]:
        """``(1, 3, T*L, S, S)`` model input and the ``(T, 3, S, S)`` uint8 frames it shows."""
        x, shown, _ = self._clip(video, zoom, rate)
        return x, shown

    def _clip(self, video: Tensor, zoom: float, rate: float) -> tuple[Tensor, Tensor, dict[str, Any]]:
        """:meth:`clip` and its geometry: ``indices`` (T*L,), ``shown_indices`` (T,) and
        ``region`` (see :class:`ClipView`)."""
        from ean.data.transforms import normalize, resize_frames

        t, length = self.cfg.num_segments, self.cfg.segment_length
        idx = rate_indices(len(video), t, rate, length)
        frames = video[torch.from_numpy(idx)]
        h0, w0 = frames.shape[-2:]
        frames = spatial_zoom(frames, zoom)
        # the source pixels the zoomed frame shows: spatial_zoom's centre crop (edges, pixels)
        zh, zw = (max(1, round(h0 / zoom)), max(1, round(w0 / zoom))) if zoom != 1 else (h0, w0)
        ztop, zleft = (h0 - zh) // 2, (w0 - zw) // 2
        crop = self.data_cfg.test_crop_size or self.data_cfg.input_size
        frames = resize_frames(frames, self.data_cfg.resize, crop)
        h, w = frames.shape[-2:]
        top, left = (h - crop) // 2, (w - crop) // 2
        frames = frames[..., top:top + crop, left:left + crop]
        x = normalize(frames, self.data_cfg.mean, self.data_cfg.std)   # (3, N, S, S)
        first = self.model.sparse_frame_index(length)
        sparse = frames[first::length]
        region = ((zleft + zw * left / w) / w0, (ztop + zh * top / h) / h0,
                  (zleft + zw * (left + crop) / w) / w0, (ztop + zh * (top + crop) / h) / h0)
        return x.unsqueeze(0), sparse, {"indices": idx, "shown_indices": idx[first::length], "region": region}

    @torch.no_grad()
    def analyse(self, video: Tensor, zoom: float = 1.0, rate: float = 1.0) -> ClipView:
        x, shown, geometry = self._clip(video, zoom, rate)
        logits, aux = self.model(x, return_aux=True)
        logits = logits[0]
        attention = None
        if aux.get("attention"):
            attention = aux["attention"][-1][0].mean(dim=0)
        eab = self.model.eabs
        first = next(iter(eab.values())) if len(eab) else None
        return ClipView(
            frames=shown, logits=logits, probs=torch.softmax(logits, 0), class_names=self.class_names,
            fusion=[m[0] for m in aux.get("fusion", [])],
            kernel_weights=[{k: v[0] for k, v in kw.items()} for kw in aux.get("kernel_weights", [])],
            kernel_sizes=kernel_extents(first) if first is not None else [],
            eab_stages=sorted(int(s) for s in eab.keys()),
            saliency=aux["saliency"][0] if "saliency" in aux else None,
            attention=attention,
            features={k: v[0] for k, v in aux.get("features", {}).items()},
            **geometry,
        )
