"""Event Adaptive Block (EAB) with its Event Scale Perceiving Network (ESP-Net).

An EAB turns ``X (B*T, C, H, W)`` into ``X + expand(W)``::

    S = compress(X)                                  C -> C' = C / 4, grouped 1x1
    P = conv1x1(pool3d(S))                           max (or avg) branch
    U = BN-ReLU(first-stage kernels(S))              G groups, kernels {1, 3, 5, ...}
    V = M @ U  (per video, over channels)           M = ESP-Net(S), (B, C', C')
    W = second-stage kernels(V) + P
    out = X + expand(W)                              C' -> C, grouped 1x1

With ``semantics="authors"`` the first stage is temporal and the second spatial, the
scale-1 kernels are identities and ESP-Net reads ``S`` (the authors' code); with
``"paper"`` the first stage is spatial and the second temporal, the scale-1 kernels are a
1x1 and a 1-tap convolution (``F_s^(1)``, ``F_t^(1)`` of Eq. 2) and ESP-Net reads the block
input ``X`` (Eq. 3).
Everything runs in the frame layout; temporal kernels use frame-shifted views
(``ean.models.ops``), so no ``(B, C, T, H, W)`` copy of the features is made.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ean.models.config import EABConfig
from ean.models.init import scope
from ean.models.layers import PointwiseConv2d, SafeBatchNorm3d, zero_init_
from ean.models.ops import avg_pool_3d, max_pool_3d, temporal_conv, to_video


def split_sizes(channels: int, groups: int) -> list[int]:
    """Channel split of the kernel groups: ``channels // G`` each, the remainder to the last."""
    base = channels // groups
    if base < 1:
        raise ValueError(f"EAB: {channels} bottleneck channels cannot be split into {groups} kernel groups")
    return [base] * (groups - 1) + [channels - base * (groups - 1)]


def kernel_weights(matrix: Tensor, sizes: Sequence[int], first: str = "temporal") -> dict[str, Tensor]:
    """The per-kernel weights of Fig. 10: for each fixed-scale kernel, the sum of the
    entries of the fusion matrix connected to it.

    matrix: ``(B, C', C')``, rows = output channels (they feed the second-stage kernels),
    columns = input channels (outputs of the first-stage kernels). ``first`` names the
    first stage ("temporal" for the authors' code, "spatial" for the paper).
    Returns ``{"spatial": (B, G), "temporal": (B, G)}``.
    """
    bounds = torch.tensor([0, *sizes]).cumsum(0).tolist()
    cols = torch.stack([matrix[:, :, a:b].sum(dim=(1, 2)) for a, b in zip(bounds[:-1], bounds[1:])], dim=1)
    rows = torch.stack([matrix[:, a:b, :].sum(dim=(1, 2)) for a, b in zip(bounds[:-1], bounds[1:])], dim=1)
    second = "spatial" if first == "temporal" else "temporal"
    return {first: cols, second: rows}


class TemporalKernel(nn.Module):
    """Dense temporal conv ``c -> c`` of ``k`` taps and a dilation (a ``(k,1,1)`` conv3d).

    weight ``(c, c, k)``. ``(B*T, c, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, taps: int, dilation: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, channels, taps))
        self.dilation = dilation
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        return temporal_conv(x, self.weight, num_segments, self.dilation)


class SpatialKernel(nn.Module):
    """Spatial conv ``c -> c`` of ``k x k`` taps (or ``1 x k`` then ``k x 1``), dilated.

    ``(B*T, c, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, taps: int, dilation: int, factorised: bool):
        super().__init__()
        pad = dilation * (taps // 2)
        if factorised:
            self.conv = nn.Sequential(
                nn.Conv2d(channels, channels, (1, taps), padding=(0, pad), dilation=dilation, bias=False),
                nn.Conv2d(channels, channels, (taps, 1), padding=(pad, 0), dilation=dilation, bias=False))
        else:
            self.conv = nn.Conv2d(channels, channels, taps, padding=pad, dilation=dilation, bias=False)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        return self.conv(x)


class KernelGroups(nn.Module):
    """One convolution stage of an EAB: the channels are split into G groups and group j
    gets its own fixed-scale kernel (or the identity for scale 1).

    ``kernels``: per group ``(taps, dilation)``; taps 1 is the identity, or with
    ``scale1_conv`` a pointwise ``c -> c`` convolution.
    ``(B*T, C', H, W)`` -> same shape.
    """

    def __init__(self, kind: str, sizes: Sequence[int], kernels: Sequence[tuple[int, int]],
                 factorised: bool = False, scale1_conv: bool = False):
        super().__init__()
        self.sizes = list(sizes)
        self.kind = kind
        convs = []
        for c, (taps, dilation) in zip(sizes, kernels):
            if taps == 1 and scale1_conv:  # a 1x1 (spatial) or 1-tap (temporal) conv: c -> c pointwise
                conv = PointwiseConv2d(c, c)
                nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                convs.append(conv)
            elif taps == 1:
                convs.append(nn.Identity())
            elif kind == "temporal":
                convs.append(TemporalKernel(c, taps, dilation))
            else:
                convs.append(SpatialKernel(c, taps, dilation, factorised))
        self.convs = nn.ModuleList(convs)

    def forward(self, x: Tensor, num_segments: int) -> Tensor:
        parts = torch.split(x, self.sizes, dim=1)
        out = [p if isinstance(conv, nn.Identity) else conv(p) if isinstance(conv, PointwiseConv2d)
               else conv(p, num_segments) for p, conv in zip(parts, self.convs)]
        return torch.cat(out, dim=1)


class ESPNet(nn.Module):
    """Event Scale Perceiving Network: the per-video fusion matrix M ``(B, C', C')``.

    ``authors``: on the bottleneck ``S (B*T, C', H, W)``: 1x1x1 reduce C' -> p = C'/16
    (BN, ReLU), then two stages of three 3x3x3 convs (the third with stride 2, padding 2
    and twice the channels), BN+ReLU after each, global average pool, FC -> C'*C'.
    ``paper``: on the block input ``X (B*T, C, H, W)`` (Eq. 3): 1x1x1 reduce C -> p = C/16
    (BN, ReLU), two 5x5x5 stride-2 convs (BN, ReLU), global average pool, FC -> C'*C'.
    ``in_channels`` is C' or C; M ``(B, C', C')`` (``channels`` = C'): rows are output
    channels, columns input channels.
    """

    def __init__(self, in_channels: int, channels: int, reduction: int, semantics: str):
        super().__init__()
        p = max(1, in_channels // reduction)
        self.channels = channels
        self.reduce = PointwiseConv2d(in_channels, p)
        self.reduce_bn = SafeBatchNorm3d(p)
        layers: list[nn.Module] = []

        def conv(cin, cout, k, stride, pad, bias):
            layers.extend([nn.Conv3d(cin, cout, k, stride=stride, padding=pad, bias=bias),
                           SafeBatchNorm3d(cout), nn.ReLU(inplace=True)])

        if semantics == "authors":
            width = p
            for _ in range(2):
                conv(width, width, 3, 1, 1, True)
                conv(width, width, 3, 1, 1, True)
                conv(width, 2 * width, 3, 2, 2, True)
                width *= 2
        else:
            width = p
            conv(p, p, 5, 2, 2, False)
            conv(p, p, 5, 2, 2, False)
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(width, channels * channels)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, s: Tensor, num_segments: int) -> Tensor:
        r = to_video(self.reduce(s), num_segments)
        r = F.relu(self.reduce_bn(r))
        r = self.body(r).mean(dim=(2, 3, 4))
        return self.fc(r).view(-1, self.channels, self.channels)


def _shuffle_permutation(sizes: Sequence[int]) -> Tensor:
    """Channel shuffle across kernel groups of (possibly) unequal size: output channel i
    takes the channels of the groups in round-robin order."""
    starts = [sum(sizes[:g]) for g in range(len(sizes))]
    order = []
    for i in range(max(sizes)):
        for g, size in enumerate(sizes):
            if i < size:
                order.append(starts[g] + i)
    return torch.tensor(order)


class EAB(nn.Module):
    """Event Adaptive Block and the Table 8-10 variants (see module docstring).

    ``(B*T, C, H, W)`` -> same shape.
    """

    def __init__(self, channels: int, cfg: EABConfig, semantics: str):
        super().__init__()
        self.cfg = cfg
        self.semantics = semantics
        mid = channels // cfg.bottleneck
        if mid < cfg.groups or channels % cfg.conv_groups or mid % cfg.conv_groups:
            raise ValueError(f"EAB: {channels} channels do not fit bottleneck {cfg.bottleneck}, "
                             f"{cfg.groups} kernel groups and {cfg.conv_groups} conv groups")
        self.mid = mid
        self.sizes = split_sizes(mid, cfg.groups)
        self.first = "temporal" if semantics == "authors" else "spatial"
        second = "spatial" if self.first == "temporal" else "temporal"
        factorised = cfg.spatial == "1+1"
        kernels = self._kernels()

        with scope("compress"):
            self.compress = nn.Conv2d(channels, mid, 1, groups=cfg.conv_groups, bias=False)
            nn.init.kaiming_normal_(self.compress.weight, mode="fan_out", nonlinearity="relu")
        with scope("pool_conv"):
            self.pool_conv = nn.Conv2d(mid, mid, 1, bias=False) if cfg.pool != "none" else None
            if self.pool_conv is not None:
                nn.init.kaiming_normal_(self.pool_conv.weight, mode="fan_out", nonlinearity="relu")
        scale1_conv = semantics == "paper"
        with scope("stage1"):
            self.stage1 = KernelGroups(self.first, self.sizes, kernels, factorised, scale1_conv)
        self.inter_bn = nn.BatchNorm2d(mid)
        with scope("stage2"):
            self.stage2 = KernelGroups(second, self.sizes, kernels, factorised, scale1_conv)
        with scope("expand"):
            self.expand = nn.Conv2d(mid, channels, 1, groups=cfg.conv_groups, bias=False)
            if semantics == "authors":  # PyTorch default init, scaled by 0.01
                with torch.no_grad():
                    self.expand.weight.mul_(0.01)
            else:  # the paper: zero init keeps the pretrained backbone's behaviour
                zero_init_(self.expand)

        fusion = "identity" if cfg.block in ("incep", "s_block", "l_block") else cfg.fusion
        self.fusion = fusion
        # ESP-Net reads the bottleneck S (authors) or the block input X (paper, Eq. 3)
        self.esp_on_input = semantics == "paper"
        esp_in = channels if self.esp_on_input else mid
        with scope("esp"):
            self.esp = ESPNet(esp_in, mid, cfg.esp_reduction, semantics) if fusion == "dynamic" else None
        self.static_matrix = nn.Parameter(torch.eye(mid)) if fusion == "static" else None
        if fusion == "shuffle":
            self.register_buffer("shuffle_index", _shuffle_permutation(self.sizes), persistent=False)
        else:
            self.shuffle_index = None

    def _kernels(self) -> list[tuple[int, int]]:
        """(taps, dilation) per kernel group."""
        cfg = self.cfg
        if cfg.block in ("s_block", "l_block"):
            dilation = 1 if cfg.block == "s_block" else 2
            return [(3, dilation)] * cfg.groups
        out = []
        for j in range(cfg.groups):
            if j == 0:
                out.append((1, 1))
            elif cfg.dilation:
                out.append((3, j))
            else:
                out.append((2 * j + 1, 1))
        return out

    def fusion_matrix(self, x: Tensor, s: Tensor, num_segments: int) -> Optional[Tensor]:
        """M ``(B, C', C')`` for dynamic fusion (from ``x`` or ``s = compress(x)``, by
        semantics), ``(C', C')`` for static, None otherwise."""
        if self.esp is not None:
            return self.esp(x if self.esp_on_input else s, num_segments)
        return self.static_matrix

    def explicit_matrix(self, m: Optional[Tensor], batch: int, like: Tensor) -> Tensor:
        """The fusion ``m`` (as returned by :meth:`fusion_matrix`) as a ``(B, C', C')`` matrix,
        for every fusion kind (identity and shuffle as permutation matrices): introspection."""
        if m is None:
            eye = torch.eye(self.mid, device=like.device, dtype=like.dtype)
            m = eye[self.shuffle_index] if self.shuffle_index is not None else eye
        if m.dim() == 2:
            m = m.unsqueeze(0).expand(batch, -1, -1)
        return m

    def forward(self, x: Tensor, num_segments: int, aux: Optional[dict] = None) -> Tensor:
        t = num_segments
        s = self.compress(x)
        u = self.inter_bn(self.stage1(s, t))
        if self.cfg.inter_relu:
            u = F.relu(u)
        m = self.fusion_matrix(x, s, t)
        v = self._fuse(u, m, t)
        w = self.stage2(v, t)
        if self.pool_conv is not None:
            pooled = max_pool_3d(s, t) if self.cfg.pool == "max" else avg_pool_3d(s, t)
            w = w + self.pool_conv(pooled)
        if aux is not None:
            matrix = self.explicit_matrix(m, s.shape[0] // t, s)
            aux.setdefault("fusion", []).append(matrix.detach())
            aux.setdefault("kernel_weights", []).append(
                {k: v_.detach() for k, v_ in kernel_weights(matrix, self.sizes, self.first).items()})
        return x + self.expand(w)

    def _fuse(self, u: Tensor, m: Optional[Tensor], t: int) -> Tensor:
        if self.shuffle_index is not None:
            return u.index_select(1, self.shuffle_index)
        if m is None:
            return u
        n, c, h, w = u.shape
        b = n // t
        if m.dim() == 2:
            m = m.unsqueeze(0).expand(b, c, c)
        # V[b, t, o, hw] = sum_i M[b, o, i] U[b, t, i, hw]
        v = torch.matmul(m.unsqueeze(1).expand(b, t, c, c), u.reshape(b, t, c, h * w))
        return v.reshape(n, c, h, w)
