"""Normalisation helpers."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class _SingleValueSafe:
    """Batch norm that falls back to its running statistics when a training batch holds a
    single value per channel (e.g. one video after global pooling), where plain
    ``BatchNorm`` raises. Everywhere else it is exactly ``nn.BatchNorm``."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if self.training and x.numel() // x.shape[1] <= 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        return super().forward(x)


class SafeBatchNorm1d(_SingleValueSafe, nn.BatchNorm1d):
    pass


class SafeBatchNorm3d(_SingleValueSafe, nn.BatchNorm3d):
    pass


def zero_init_(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class PointwiseConv2d(nn.Conv2d):
    """A bias-free 1x1 ``nn.Conv2d`` (same parameters, same state dict) that computes a
    single-channel input or output as an ``einsum``: on CPU the convolution kernels are up to
    ten times slower for that shape (ME and ESP-Net of small models reduce to one channel)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if min(self.in_channels, self.out_channels) > 1:
            return super().forward(x)
        w = self.weight.view(self.out_channels, self.in_channels)
        return torch.einsum("nchw,oc->nohw", x, w)
