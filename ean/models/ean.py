"""The EAN model: ResNet frame encoder + EABs + SOI-Tr (+ LMC), and every baseline of the
study as a configuration of the same class.

Input layout: a clip ``(B, 3, T*L, H, W)``, RGB, ImageNet-normalised, frames in
segment-major order (frame ``t*L + l`` is frame l of segment t). For RGB-only models L = 1;
LMC models take dense segments (L = 5 in the paper). The authors' code takes
``(B, T*L*3, H, W)``; ``authors_layout_to_clip`` converts.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import torch.nn as nn
from torch import Tensor

from ean.models.backbone import ResNetBackbone
from ean.models.config import ModelConfig
from ean.models.eab import EAB
from ean.models.init import init_seed as init_seed_scope
from ean.models.init import scope
from ean.models.lmc import LatentMotionCode
from ean.models.ops import to_video
from ean.models.soi_tr import SOITransformer


def authors_layout_to_clip(x: Tensor, segment_length: int) -> Tensor:
    """``(B, T*L*3, H, W)`` (the authors' loader: frames concatenated along channels) ->
    ``(B, 3, T*L, H, W)``."""
    b, c, h, w = x.shape
    return x.view(b, c // 3, 3, h, w).transpose(1, 2).contiguous()


class EAN(nn.Module):
    """See module docstring; ``cfg`` selects the variant.

    ``forward(x)`` -> logits ``(B, K)``.
    ``forward(x, return_aux=True)`` -> ``(logits, aux)`` with, where the model has them:

    * ``fusion``: list (one per EAB) of fusion matrices ``(B, C', C')``;
    * ``kernel_weights``: list of ``{"spatial": (B, G), "temporal": (B, G)}`` (Fig. 10);
    * ``saliency``: object maps of the last SOI-Tr ``(B, N, T, h, w)``;
    * ``attention``: list (one per transformer block) of ``(B, heads, L, L)``;
    * ``features``: ``{"stage1": ..., "stage5": ...}`` maps ``(B, C, T, h, w)`` after each
      stage (and its EAB); ``video_feature`` ``(B, C)``.

    ``boxes``: per-frame object boxes for ``soi.regions = "boxes"``, ``(B, T, N, 4)`` for the
    frames the 2D backbone sees, or ``(B, T*L, N, 4)`` for every input frame (the model takes
    those of the frames it sees).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        with scope("backbone"):
            self.backbone = ResNetBackbone(cfg.backbone)
        channels = self.backbone.stage_channels
        strides = self.backbone.stage_strides
        with scope("lmc"):
            self.lmc = (LatentMotionCode(cfg, channels[1], strides[1]) if cfg.lmc.enabled else None)
        self.eabs = nn.ModuleDict()
        for s in sorted(cfg.eab.stages):
            with scope(f"eabs.{s}"):
                self.eabs[str(s)] = EAB(channels[s], cfg.eab, cfg.semantics)
        self.sois = nn.ModuleDict()
        for s in cfg.soi.stages:
            size = math.ceil(cfg.input_size / strides[s])
            with scope(f"sois.{s}"):
                self.sois[str(s)] = SOITransformer(channels[s], cfg.soi, cfg.semantics, cfg.num_segments,
                                                   (size, size), final=(s == 5), norm=cfg.soi_norm,
                                                   ffn_ratio=cfg.soi_ffn_ratio)
        self.feature_dim = channels[5]
        self.dropout = nn.Dropout(cfg.dropout)
        with scope("fc"):
            self.fc = nn.Linear(channels[5], cfg.num_classes)
            nn.init.normal_(self.fc.weight, 0.0, 0.001)
            nn.init.zeros_(self.fc.bias)
        if cfg.backbone.pretrained:
            self.backbone.load_imagenet(cfg.backbone.pretrained)

    def sparse_frame_index(self, segment_length: int) -> int:
        """The frame of each segment that the 2D backbone sees."""
        if self.lmc is not None:
            return self.lmc.frame_index(segment_length)
        return segment_length // 2 if self.cfg.semantics == "authors" else 0

    def split_clip(self, x: Tensor) -> tuple[Tensor, int]:
        """``(B, 3, T*L, H, W)`` -> ``(B, 3, T, L, H, W)`` and T, with clear errors."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(f"EAN expects a clip (B, 3, T*L, H, W), got {tuple(x.shape)}")
        b, _, frames, h, w = x.shape
        length = self.cfg.segment_length
        if frames % length:
            raise ValueError(f"EAN: {frames} frames is not a whole number of {length}-frame segments")
        t = frames // length
        return x.view(b, 3, t, length, h, w), t

    def forward(self, x: Tensor, return_aux: bool = False,
                boxes: Optional[Tensor] = None) -> Union[Tensor, tuple[Tensor, dict]]:
        aux: Optional[dict] = {} if return_aux else None
        dense, t = self.split_clip(x)
        b = dense.shape[0]
        sparse = self.sparse_frame_index(dense.shape[3])
        frames = dense[:, :, :, sparse]
        if boxes is not None and boxes.dim() == 4 and boxes.shape[1] == t * dense.shape[3] != t:
            boxes = boxes.view(b, t, dense.shape[3], *boxes.shape[2:])[:, :, sparse]
        frames = frames.transpose(1, 2).reshape(b * t, 3, *frames.shape[-2:])
        f = self.backbone.stem(frames)
        if self.lmc is not None:
            f = self.lmc.fuse(f, dense)
        f = self._after_stage(1, f, t, aux, boxes)
        for s in range(2, 6):
            f = self._after_stage(s, self.backbone.stage(s)(f, t), t, aux, boxes)
        if f.dim() == 4:  # no pooling SOI-Tr: average over time and space (TSN consensus)
            n, c, h, w = f.shape
            f = f.view(b, t, c, h * w).mean(dim=(1, 3))
        if aux is not None:
            aux["video_feature"] = f.detach()
        logits = self.fc(self.dropout(f))
        return (logits, aux) if return_aux else logits

    def _after_stage(self, s: int, f: Tensor, t: int, aux: Optional[dict], boxes: Optional[Tensor]) -> Tensor:
        key = str(s)
        if key in self.eabs:
            f = self.eabs[key](f, t, aux)
        if aux is not None:
            aux.setdefault("features", {})[f"stage{s}"] = to_video(f.detach(), t)
        if key in self.sois:
            f = self.sois[key](f, t, aux, boxes)
        return f


def build_model(cfg: ModelConfig, init_seed: Optional[int] = None) -> EAN:
    """The model described by ``cfg`` (randomly initialised, or with the local ImageNet
    backbone weights named in ``cfg.backbone.pretrained``). With ``init_seed`` every part
    starts from weights that depend only on the seed and its path (``ean.models.init``):
    two variants built with the same seed share the initial weights of their common parts."""
    with init_seed_scope(init_seed):
        return EAN(cfg)
