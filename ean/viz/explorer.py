"""An ipywidgets explorer of EAN's per-video fusion matrices.

    from ean.viz.explorer import FusionExplorer
    ex = FusionExplorer.for_study("params.yaml")       # checkpoints + validation videos of a profile
    ex.widget                                          # display it in JupyterLab

    ex = FusionExplorer.for_files("ean_r50.pt", "clip.mp4")  # any checkpoint file, any video

Pick a checkpoint (a study run, or any checkpoint file of ours, e.g. one converted from the
authors' release with ``ean convert-official``) and a video (a validation video, or any
file); see the frames the model samples, its top-5, every EAB's fusion matrix M, the Fig. 10
kernel weights derived from M and the SOI-Tr object saliency maps. The zoom and frame-rate
sliders re-run the model on the zoomed / re-timed clip and redraw everything (a tiny model:
a fraction of a second on a CPU; a full-size ResNet-50 EAN: about 2 s on 2 cores, 1.2 s of
it the model). ``last_update_s`` holds the time of the last update, the status shows it.

When the video comes from the generator (``ean.data.synth``), the boxes of its actor
objects are drawn over the sampled frames and the saliency maps, through the same frame
sampling, zoom, resize and centre crop as the model's input.
"""
from __future__ import annotations

import contextlib
import html
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from ean.viz.explorer_panels import draw_frames, draw_fusion, draw_kernel_weights, draw_saliency, png
from ean.viz.inspect import ClipView, Probe

NO_TRUTH = "no ground truth (not a generated video)"


def ground_truth(view: ClipView, spec) -> np.ndarray:
    """``(T, N, 4)``: the generator's box of each actor object on each frame of ``view.frames``,
    ``(x1, y1, x2, y2)`` in pixels of the shown frames (NaN: not in view). ``spec``: the clip's
    :class:`ean.data.synth.scene.ClipSpec`."""
    from ean.data.synth.boxes import object_boxes

    frames = np.clip(view.shown_indices, 0, spec.num_frames - 1)
    return view.to_shown(object_boxes(spec, frames))


def _error(text: str) -> str:
    return f"<span style='color:#c00'>{html.escape(text)}</span>"


def _label(path: Path, taken: dict[str, Path]) -> str:
    """The dropdown name of a picked file: ``file: NAME``, the full path when another file of
    that name is there already."""
    name = f"file: {path.name}"
    return name if taken.get(name, path) == path else f"file: {path}"


class FusionExplorer:
    """The widget: ``checkpoints`` and ``videos`` map display names to paths; the two path
    fields add any checkpoint file or video file to them.

    After each update: ``view`` (the :class:`ClipView`), ``boxes`` (``(T, N, 4)`` ground-truth
    boxes in pixels of ``view.frames``, or None when the video is not a generated one),
    ``truth_note`` (what the frames panel says about the ground truth) and ``last_update_s``
    (seconds, loading a newly picked file included).
    """

    def __init__(self, checkpoints: dict[str, Path], videos: dict[str, Path], zoom: float = 1.0,
                 rate: float = 1.0):
        import ipywidgets as W

        if not checkpoints:
            raise ValueError("no checkpoints to explore")
        self.checkpoints = {k: Path(v) for k, v in checkpoints.items()}
        self.videos = {k: Path(v) for k, v in videos.items()}
        self._probes: dict[str, Probe] = {}
        self._frames: dict[str, object] = {}
        self._truth: dict[str, object] = {}        # video name -> (ClipSpec, SynthProfile) or None
        self.view: Optional[ClipView] = None
        self.boxes: Optional[np.ndarray] = None
        self.truth_note = ""
        self.last_update_s = float("nan")
        self.updates = 0
        self._loading_s = 0.0                     # loading a picked file, counted in the next update
        self._quiet = False

        self.checkpoint = W.Dropdown(options=list(self.checkpoints), description="checkpoint",
                                     layout=W.Layout(width="420px"))
        self.checkpoint_path = W.Text(placeholder="or any checkpoint file path (ours, e.g. converted), then Enter",
                                      description="ckpt file", layout=W.Layout(width="560px"),
                                      continuous_update=False)
        self.video = W.Dropdown(options=list(self.videos), description="video", layout=W.Layout(width="560px"))
        self.path = W.Text(placeholder="or any video file path, then Enter", description="video file",
                           layout=W.Layout(width="560px"), continuous_update=False)
        self.zoom = W.FloatSlider(value=zoom, min=1.0, max=2.0, step=0.1, description="zoom",
                                  continuous_update=False, readout_format=".1f")
        self.rate = W.FloatSlider(value=rate, min=0.5, max=3.0, step=0.25, description="frame rate x",
                                  continuous_update=False, readout_format=".2f",
                                  style={"description_width": "initial"})
        self.status = W.HTML()
        self.top5 = W.HTML()
        self.out_frames, self.out_fusion, self.out_weights, self.out_saliency = (W.Output() for _ in range(4))
        for out, cls in ((self.out_frames, "ean-frames"), (self.out_fusion, "ean-fusion"),
                         (self.out_weights, "ean-kernel-weights"), (self.out_saliency, "ean-saliency")):
            out.add_class(cls)
        self.top5.add_class("ean-top5")
        self.status.add_class("ean-status")
        self.zoom.add_class("ean-zoom")
        self.rate.add_class("ean-rate")
        self.checkpoint_path.add_class("ean-checkpoint-path")
        self.path.add_class("ean-video-path")
        for w in (self.checkpoint, self.video, self.zoom, self.rate):
            w.observe(lambda change: self._quiet or self.update(), names="value")
        self.checkpoint_path.observe(lambda change: self.use_checkpoint(change["new"]), names="value")
        self.path.observe(lambda change: self.use_video(change["new"]), names="value")
        self.widget = W.VBox([
            W.HBox([self.checkpoint, self.status]), self.checkpoint_path, self.video, self.path,
            W.HBox([self.zoom, self.rate]),
            W.HTML("<b>Frames the model samples</b>"), self.out_frames, self.top5,
            W.HTML("<b>Fusion matrix M of each EAB</b> (rows: output channels; columns: input channels)"),
            self.out_fusion,
            W.HTML("<b>Kernel weights derived from M</b> (Fig. 10: sum of the entries connected to each kernel)"),
            self.out_weights,
            W.HTML("<b>SOI-Tr object saliency per frame</b>"), self.out_saliency,
        ])
        self.update()

    # --------------------------------------------------------------- factories
    @classmethod
    def for_study(cls, params_file: Optional[str] = None, profile: str = "smoke", max_videos: int = 60,
                  **kwargs) -> "FusionExplorer":
        """Checkpoints of the profile's EAN runs and its validation videos."""
        from ean.study.params import load_params, load_profile
        from ean.viz.study_data import validation_records

        params = load_params(params_file) if params_file else load_profile(profile)
        checkpoints = {}
        for run in params.runs():
            ckpt = params.runs_dir / run / "checkpoints" / "best.pt"
            if ckpt.is_file() and run.startswith("ean"):
                checkpoints[run] = ckpt
        records = validation_records(params)[:max_videos]
        videos = {f"{i:03d} {r.label_name}": Path(r.path) for i, r in enumerate(records)}
        return cls(checkpoints, videos, **kwargs)

    @classmethod
    def for_files(cls, checkpoint: str | Path, video: str | Path, **kwargs) -> "FusionExplorer":
        """One checkpoint file (ours, e.g. ``ean convert-official``'s output) and one video file."""
        checkpoint, video = Path(checkpoint), Path(video)
        return cls({_label(checkpoint, {}): checkpoint}, {_label(video, {}): video}, **kwargs)

    # ------------------------------------------------------------ picking files
    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change the dropdowns without an update per change."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def use_checkpoint(self, path: str) -> Optional[ClipView]:
        """Load any checkpoint file and show it (the checkpoint path field); a missing or
        unreadable file leaves the view as it was and says why in red."""
        if not path.strip():
            return None
        path = Path(path.strip()).expanduser()
        t0 = time.perf_counter()
        try:
            probe = Probe.from_checkpoint(path)
        except Exception as exc:  # shown in the widget, not raised into the event loop
            self.status.value = _error(f"cannot use checkpoint {path}: {exc}")
            return None
        name = _label(path, self.checkpoints)
        self._probes[name] = probe
        self.checkpoints[name] = path
        self._loading_s += time.perf_counter() - t0
        with self._quietly():
            self.checkpoint.options = list(self.checkpoints)
            self.checkpoint.value = name
        return self.update()

    def use_video(self, path: str) -> Optional[ClipView]:
        """Decode any video file and show it (the video path field); a missing or undecodable
        file leaves the view as it was and says why in red."""
        if not path.strip():
            return None
        path = Path(path.strip()).expanduser()
        t0 = time.perf_counter()
        try:
            frames = self.probe().read_video(path)
        except Exception as exc:  # shown in the widget, not raised into the event loop
            self.status.value = _error(f"cannot use video {path}: {exc}")
            return None
        name = _label(path, self.videos)
        self._frames[name] = frames
        self._truth.pop(name, None)
        self.videos[name] = path
        self._loading_s += time.perf_counter() - t0
        with self._quietly():
            self.video.options = list(self.videos)
            self.video.value = name
        return self.update()

    # ------------------------------------------------------------------ update
    def probe(self) -> Probe:
        name = self.checkpoint.value
        if name not in self._probes:
            self._probes[name] = Probe.from_checkpoint(self.checkpoints[name])
        return self._probes[name]

    def frames(self, probe: Probe):
        key = f"{self.video.value}"
        if key not in self._frames:
            self._frames[key] = probe.read_video(self.videos[self.video.value])
        return self._frames[key]

    def generated(self):
        """``(ClipSpec, SynthProfile)`` of the current video when the generator made it, else None."""
        key = self.video.value
        if key not in self._truth:
            from ean.data.synth.boxes import generated_clip

            try:
                self._truth[key] = generated_clip(self.videos[key])
            except Exception:  # a damaged synth.json is no reason to fail the view
                self._truth[key] = None
        return self._truth[key]

    def update(self) -> Optional[ClipView]:
        """Run the model on the current clip and redraw everything; None on failure (said in red)."""
        if self.video.value is None:
            self.status.value = "pick a video"
            return None
        t0 = time.perf_counter()
        try:
            probe = self.probe()
            view = probe.analyse(self.frames(probe), zoom=self.zoom.value, rate=self.rate.value)
            found = self.generated()
            boxes = ground_truth(view, found[0]) if found is not None else None
        except Exception as exc:  # shown in the widget, not raised into the event loop
            self._loading_s = 0.0
            self.status.value = _error(f"{type(exc).__name__}: {exc}")
            return None
        self.view, self.boxes = view, boxes
        self.truth_note = "ground truth: the generator's box of each actor object" if boxes is not None else NO_TRUTH
        rows = "".join(f"<tr><td>{i + 1}</td><td>{html.escape(name)}</td><td>{100 * p:.1f}%</td></tr>"
                       for i, (name, p) in enumerate(view.top5))
        self.top5.value = f"<b>Top-5</b><table>{rows}</table>"
        for out, draw, extra in ((self.out_frames, draw_frames, (boxes, self.truth_note)),
                                 (self.out_fusion, draw_fusion, ()), (self.out_weights, draw_kernel_weights, ()),
                                 (self.out_saliency, draw_saliency, (boxes,))):
            image = png(draw(view, *extra))
            out.outputs = ()              # replace the plot (no output capture: works headless too)
            out.append_display_data(image)
        loading, self._loading_s = self._loading_s, 0.0
        self.last_update_s = time.perf_counter() - t0 + loading
        self.updates += 1
        self.status.value = (f"update {self.updates}: {1000 * self.last_update_s:.0f} ms"
                             + (f", loading the picked file {1000 * loading:.0f} ms of it" if loading else "")
                             + f" (zoom {self.zoom.value:.1f}, frame rate x{self.rate.value:.2f})")
        return view
