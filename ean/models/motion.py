"""Per-block temporal modules of the backbone: TSM shift, depth-wise temporal conv, ME.

All work on the TSN frame layout ``(B*T, C, H, W)`` and take ``num_segments`` (T).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from ean.models.layers import PointwiseConv2d
from ean.models.ops import shift_frames, temporal_dwconv


def _shift_groups(channels: int, shift_div: int) -> int:
    return max(1, channels // shift_div) if channels >= 2 else 0


class TemporalShift(nn.Module):
    """TSM: 1/shift_div of the channels take frame t+1, the next 1/shift_div frame t-1.

    Parameter-free. ``(B*T, C, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, shift_div: int = 8):
        super().__init__()
        self.fold = _shift_groups(channels, shift_div)

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        f = self.fold
        return torch.cat([
            shift_frames(x[:, :f], num_segments, 1),
            shift_frames(x[:, f:2 * f], num_segments, -1),
            x[:, 2 * f:],
        ], dim=1)


class TemporalConv(nn.Module):
    """Depth-wise temporal convolution, kernel 3, zero padding, no bias.

    Initialised as a TSM shift: channels ``[0, fold)`` copy frame t+1, ``[fold, 2 fold)``
    copy frame t-1, the rest copy frame t (fold = C / shift_div). All taps stay trainable.
    ``weight``: ``(C, 3)`` (taps for t-1, t, t+1). ``(B*T, C, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, shift_div: int = 8):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels, 3))
        self.fold = _shift_groups(channels, shift_div)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.zero_()
            f = self.fold
            self.weight[:f, 2] = 1.0
            self.weight[f:2 * f, 0] = 1.0
            self.weight[2 * f:, 1] = 1.0

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        return temporal_dwconv(x, self.weight, num_segments)   # any layout (channels_last kept)


class MotionExcitation(nn.Module):
    """ME (motion excitation, from TEA), reduction r.

    ``s = BN(conv1x1(x))`` on C/r channels; ``d_t = dwconv3x3(s_{t+1}) - s_t`` (zero for the
    last frame); ``a = sigmoid(BN(conv1x1(GAP(d)))) - 0.5``; output ``x + x * a``.
    ``(B*T, C, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        mid = max(1, channels // reduction)
        self.reduce = PointwiseConv2d(channels, mid)
        self.reduce_bn = nn.BatchNorm2d(mid)
        self.diff_conv = nn.Conv2d(mid, mid, 3, padding=1, groups=mid, bias=False)
        self.expand = PointwiseConv2d(mid, channels)
        self.expand_bn = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        n, _, h, w = x.shape
        t = num_segments
        s = self.reduce_bn(self.reduce(x))
        c = s.shape[1]
        s5 = s.view(n // t, t, c, h, w)
        # GAP(dwconv(s_{t+1}) - s_t) = GAP(dwconv(s_{t+1})) - GAP(s_t): the difference map itself
        # is never needed, only its spatial mean
        pooled = s.new_zeros(n // t, t, c)
        if t > 1:
            nxt = self.diff_conv(s5[:, 1:].reshape(-1, c, h, w)).mean(dim=(2, 3)).view(n // t, t - 1, c)
            pooled = torch.cat([nxt - s5[:, :-1].mean(dim=(3, 4)), pooled[:, -1:]], dim=1)
        z = self.expand_bn(self.expand(pooled.view(n, c, 1, 1)))
        # x + x * (sigmoid(z) - 0.5), as one multiplication
        return x * (torch.sigmoid(z) + 0.5)
