"""ResNet frame encoder with per-block temporal modules.

The 2D layers, their names and their shapes are those of ``torchvision.models.resnet``
(v1.5: stride on the 3x3 conv), so a torchvision ImageNet state dict loads directly; the
temporal modules (``me``, ``tconv``, ``tsm``) are extra children of each block. Depth 10
(basic blocks [1, 1, 1, 1]) and a reduced ``width`` give the small CPU presets.

Frames stay in the TSN layout ``(B*T, C, H, W)``; every block takes ``num_segments``.
"""
from __future__ import annotations

import os
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor
from torchvision.models.resnet import conv1x1, conv3x3

from ean.models.config import BackboneConfig
from ean.models.motion import MotionExcitation, TemporalConv, TemporalShift

LAYERS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class _TemporalMixin(nn.Module):
    """Builds the temporal modules a block asks for."""

    def _build_temporal(self, cfg: BackboneConfig, in_channels: int, mid_channels: int) -> None:
        self.tsm = TemporalShift(in_channels, cfg.shift_div) if cfg.temporal == "tsm" else None
        self.me = MotionExcitation(mid_channels, cfg.me_reduction) if cfg.temporal in ("tconv_me", "me") else None
        self.tconv = TemporalConv(mid_channels, cfg.shift_div) if cfg.temporal in ("tconv_me", "tconv") else None

    def _before_first(self, x: Tensor, t: int) -> Tensor:
        return self.tsm(x, t) if self.tsm is not None else x

    def _before_3x3(self, x: Tensor, t: int) -> Tensor:
        if self.me is not None:
            x = self.me(x, t)
        if self.tconv is not None:
            x = self.tconv(x, t)
        return x


class BasicBlock(_TemporalMixin):
    """Two 3x3 convs; ME + temporal conv before the first. ``(B*T, C_in, H, W)`` -> ``(B*T, C, H/s, W/s)``."""

    expansion = 1

    def __init__(self, cfg: BackboneConfig, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self._build_temporal(cfg, inplanes, inplanes)

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self._before_3x3(self._before_first(x, num_segments), num_segments)
        out = self.relu(self.bn1(self.conv1(out)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(_TemporalMixin):
    """1x1 -> [ME -> temporal conv] -> 3x3(stride) -> 1x1, expansion 4.

    ``(B*T, C_in, H, W)`` -> ``(B*T, 4 * planes, H/s, W/s)``.
    """

    expansion = 4

    def __init__(self, cfg: BackboneConfig, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self._build_temporal(cfg, inplanes, planes)

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self._before_first(x, num_segments))))
        out = self._before_3x3(out, num_segments)
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class Stage(nn.ModuleList):
    """A ResNet ``layerN``: blocks applied in order, each told T."""

    def forward(self, x: Tensor, num_segments: int) -> Tensor:  # type: ignore[override]
        for block in self:
            x = block(x, num_segments)
        return x


class ResNetBackbone(nn.Module):
    """Stem (paper stage 1) and ``layer1``-``layer4`` (stages 2-5).

    ``stage_channels[s]`` is the channel count after paper stage ``s`` (1..5) and
    ``stage_strides[s]`` its total stride.
    """

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        self.cfg = cfg
        block = Bottleneck if cfg.depth >= 50 else BasicBlock
        width = cfg.width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if cfg.stem_pool else nn.Identity()
        inplanes = width
        stem_stride = 4 if cfg.stem_pool else 2
        self.stage_channels = {1: width}
        self.stage_strides = {1: stem_stride}
        for i, blocks in enumerate(LAYERS[cfg.depth]):
            planes = width * 2 ** i
            stride = 1 if i == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes * block.expansion:
                downsample = nn.Sequential(conv1x1(inplanes, planes * block.expansion, stride),
                                           nn.BatchNorm2d(planes * block.expansion))
            layers = [block(cfg, inplanes, planes, stride, downsample)]
            inplanes = planes * block.expansion
            layers += [block(cfg, inplanes, planes) for _ in range(1, blocks)]
            setattr(self, f"layer{i + 1}", Stage(layers))
            self.stage_channels[i + 2] = inplanes
            self.stage_strides[i + 2] = self.stage_strides[i + 1] * stride
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's init: Kaiming-normal (fan_out) convs, BN gamma 1 / beta 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def stem(self, x: Tensor) -> Tensor:
        """``(B*T, 3, H, W)`` -> ``(B*T, width, H/s, W/s)``, s = 4 (2 without the max-pool)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def stage(self, index: int) -> Stage:
        """Paper stage ``index`` in 2..5 (``layer1``..``layer4``)."""
        return getattr(self, f"layer{index - 1}")

    def load_imagenet(self, path: str) -> list[str]:
        """Copy a torchvision ImageNet ResNet state dict from a local file.

        Every 2D conv/BN of the backbone must be present with the right shape; the
        classifier (``fc.*``) is ignored. Returns the keys that stay randomly initialised
        (the temporal modules). Never downloads anything.
        """
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"backbone.pretrained: no such file {path!r}. Download the torchvision ImageNet "
                "weights for this depth yourself and give their local path (nothing is downloaded).")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"backbone.pretrained: cannot read {path} as a PyTorch state dict ({exc})") from exc
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise ValueError(f"backbone.pretrained: {path} holds a {type(state).__name__}, not a state dict")
        state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith("fc.")}
        own = self.state_dict()
        mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
        unknown = [k for k in state if k not in own]
        if mismatched or unknown:
            raise ValueError(
                f"backbone.pretrained: {path} does not fit a ResNet-{self.cfg.depth} of width "
                f"{self.cfg.width}: {len(mismatched)} keys with other shapes (e.g. {mismatched[:3]}), "
                f"{len(unknown)} unknown keys (e.g. {unknown[:3]})")
        missing_2d = [k for k in own if k not in state and not _is_temporal_key(k)]
        if missing_2d:
            raise ValueError(f"backbone.pretrained: {path} lacks {len(missing_2d)} backbone keys, "
                             f"e.g. {missing_2d[:3]}")
        self.load_state_dict(state, strict=False)
        return [k for k in own if k not in state]


def _is_temporal_key(key: str) -> bool:
    return any(part in ("me", "tconv", "tsm") for part in key.split("."))
