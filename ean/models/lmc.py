"""Latent Motion Code (LMC): short-term motion of each dense segment as a feature map that
is added to the stem output of the segment's RGB frame.

Input: the dense clip ``(B, 3, T, L, H, W)``; output: ``(B*T, C1, H/s, W/s)`` matching the
stem output (C1 stem channels, stride s). Per segment::

    d_i = frame_{i+1} - frame_i                        L-1 RGB difference maps
    v   = H_e(patches(d))                              a linear map per patch -> latent D
    c   = H_m(v)                                       grouped 3D convs over (L-1, gh, gw)
    m   = H_d(c), un-patchified and stacked            (C1 / (L-1)) channels per difference

``authors``: frames sub-sampled 2x (every second pixel), 16x16 patches (32x32 of the full
frame), D = 256, two residual grouped blocks, decoder scaled 0.01 at init; the sparse frame
is the middle one. The 16-frame variant (``EAN_16f.py``) has a two-layer encoder and decoder
and an extra 2D branch on the stacked differences; the stem, LMC and branch outputs are
mixed 0.6 / 0.2 / 0.2.
``paper``: full-resolution 3x32x32 patches, D = 128, two grouped 3D convs (each with BN +
ReLU unless ``lmc.hm_norm`` is off), the first frame of the segment, and the channel order of
Eq. 11, ``m_t = [m_t[2]; m_t[3]; m_t[4]; m_t[5]]``: channel ``k * c_out + c`` (difference k,
decoder channel c); the authors interleave them, channel ``c * K + k``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from ean.models.config import ModelConfig


# The two readings differ in how a patch's values are laid out in the latent vectors (and so
# in the decoder's outputs) and in the channel order of the motion map; each reading's pair
# of layout functions is chosen once, when the module is built.
def _patches_row_col_channel(d: Tensor, p: int) -> Tensor:
    """Authors: ``(N, 3, K, H', W')`` -> ``(N, K, gh, gw, p * p * 3)``, (row, col, channel)."""
    n, _, k, hh, ww = d.shape
    x = d.view(n, 3, k, hh // p, p, ww // p, p).permute(0, 2, 3, 5, 4, 6, 1)
    return x.reshape(n, k, hh // p, ww // p, -1)


def _patches_channel_row_col(d: Tensor, p: int) -> Tensor:
    """Paper: ``(N, 3, K, H', W')`` -> ``(N, K, gh, gw, 3 * p * p)``, (channel, row, col)."""
    n, _, k, hh, ww = d.shape
    x = d.view(n, 3, k, hh // p, p, ww // p, p).permute(0, 2, 3, 5, 1, 4, 6)
    return x.reshape(n, k, hh // p, ww // p, -1)


def _map_interleaved(m: Tensor, c: int, q: int) -> Tensor:
    """Authors: decoded ``(N, K, gh, gw, q * q * c)`` -> ``(N, c * K, gh * q, gw * q)``,
    channel ``c * K + k`` (interleaved)."""
    n, k, gh, gw, _ = m.shape
    return m.view(n, k, gh, gw, q, q, c).permute(0, 6, 1, 2, 4, 3, 5).reshape(n, c * k, gh * q, gw * q)


def _map_stacked(m: Tensor, c: int, q: int) -> Tensor:
    """Paper: decoded ``(N, K, gh, gw, c * q * q)`` -> ``(N, K * c, gh * q, gw * q)``, channel
    ``k * c_out + c`` (Eq. 11, stacked by difference)."""
    n, k, gh, gw, _ = m.shape
    return m.view(n, k, gh, gw, c, q, q).permute(0, 1, 4, 2, 5, 3, 6).reshape(n, c * k, gh * q, gw * q)


class LatentMotionCode(nn.Module):
    """See module docstring. ``forward(dense (B, 3, T, L, H, W)) -> (B*T, C1, H/s, W/s)``.

    The semantics and variant are resolved once, here, into the choices the layers and
    ``forward`` use: ``subsample`` (pixel step of the differences), ``residual`` (H_m blocks
    with skip connections), ``middle_frame`` (the sparse frame of a segment), the patch and
    motion-map layouts, and the 16-frame encoder, decoder and ``branch``."""

    def __init__(self, cfg: ModelConfig, stem_channels: int, stem_stride: int):
        super().__init__()
        authors = cfg.semantics == "authors"
        self.semantics = cfg.semantics
        self.variant = cfg.lmc_variant if authors else "paper"
        deep = self.variant == "16f"
        self.subsample = 2 if authors else 1
        self.residual = authors
        self.middle_frame = authors
        self.to_patches = _patches_row_col_channel if authors else _patches_channel_row_col
        self.to_map = _map_interleaved if authors else _map_stacked
        diffs = cfg.segment_length - 1
        if stem_channels % diffs:
            raise ValueError(f"LMC: the stem's {stem_channels} channels cannot be split over "
                             f"{diffs} difference maps (segment_length {cfg.segment_length})")
        self.diffs = diffs
        self.out_channels = stem_channels // diffs
        self.patch = cfg.lmc.patch
        if self.patch % stem_stride or self.patch % 2:
            raise ValueError(f"LMC: lmc.patch={self.patch} must be a multiple of 2 and of the "
                             f"stem stride {stem_stride}")
        self.out_patch = self.patch // stem_stride
        self.in_patch = self.patch // self.subsample
        in_dim = 3 * self.in_patch * self.in_patch
        latent = cfg.lmc_latent
        out_dim = self.out_channels * self.out_patch ** 2
        groups = cfg.lmc_hm_groups

        self.encoder = nn.ModuleList(_latent_layers(in_dim, latent, latent, deep))
        if authors:
            self.block1 = nn.Sequential(
                nn.Conv3d(latent, latent, 3, padding=1, groups=groups, bias=False), nn.BatchNorm3d(latent),
                nn.ReLU(inplace=True), nn.Conv3d(latent, latent, 1, bias=False), nn.BatchNorm3d(latent))
            self.block2 = nn.Sequential(
                nn.Conv3d(latent, latent, 3, padding=1, groups=groups, bias=False), nn.BatchNorm3d(latent))
        else:
            norm = (lambda: [nn.BatchNorm3d(latent), nn.ReLU(inplace=True)]) if cfg.lmc_hm_norm else (lambda: [])
            self.block1 = nn.Sequential(
                nn.Conv3d(latent, latent, 3, padding=1, groups=groups, bias=False), *norm())
            self.block2 = nn.Sequential(
                nn.Conv3d(latent, latent, 3, padding=1, groups=groups, bias=False), *norm())
        self.decoder = nn.ModuleList(_latent_layers(latent, latent, out_dim, deep))
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if authors:
            with torch.no_grad():
                self.decoder[0].weight.mul_(0.01)

        self.branch = RGBDiffBranch(3 * diffs, stem_channels, stem_stride) if deep else None

    def frame_index(self, segment_length: int) -> int:
        """The frame of each segment that the RGB stream sees: middle (authors) or first (paper)."""
        return segment_length // 2 if self.middle_frame else 0

    def differences(self, dense: Tensor) -> Tensor:
        """``(B, 3, T, L, H, W)`` -> ``(B*T, 3, L-1, H', W')`` (H' = H / subsample)."""
        b, c, t, l, h, w = dense.shape
        x = dense.permute(0, 2, 1, 3, 4, 5).reshape(b * t, c, l, h, w)
        if self.subsample > 1:
            x = x[..., ::self.subsample, ::self.subsample]
        return x[:, :, 1:] - x[:, :, :-1]

    def _run_layers(self, layers: nn.ModuleList, v: Tensor) -> Tensor:
        """Linear / BN3d / ReLU layers on a latent ``(N, K, gh, gw, D)`` tensor.

        A BN normalises the latent axis D, moved to the channel position around it; any BN
        counts (``_BatchNorm``), so that a ``SyncBatchNorm`` (``runtime.sync_bn``) does too."""
        for layer in layers:
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                v = layer(v.permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1)
            else:
                v = layer(v)
        return v

    def forward(self, dense: Tensor) -> Tensor:
        b, _, t, l, h, w = dense.shape
        if l - 1 != self.diffs:
            raise ValueError(f"LMC was built for segments of {self.diffs + 1} frames, got {l}")
        if h % self.patch or w % self.patch:
            raise ValueError(f"LMC needs an input size divisible by lmc.patch={self.patch}, got {h}x{w}")
        d = self.differences(dense)                              # (N, 3, K, H', W')
        v = self._run_layers(self.encoder, self.to_patches(d, self.in_patch))   # (N, K, gh, gw, D)
        v = v.permute(0, 4, 1, 2, 3)                             # (N, D, K, gh, gw)
        v = v + self.block1(v) if self.residual else self.block1(v)
        v = v + self.block2(v) if self.residual else self.block2(v)
        m = self._run_layers(self.decoder, v.permute(0, 2, 3, 4, 1))  # (N, K, gh, gw, D_out)
        return self.to_map(m, self.out_channels, self.out_patch)

    def fuse(self, stem: Tensor, dense: Tensor) -> Tensor:
        """Add the motion map to the stem output ``(B*T, C1, h, w)``."""
        motion = self(dense)
        if self.branch is None:
            return stem + motion
        return 0.6 * stem + 0.2 * motion + 0.2 * self.branch(self.differences(dense))


def _latent_layers(in_dim: int, hidden: int, out_dim: int, deep: bool) -> list[nn.Module]:
    """The encoder's or decoder's layers on latent vectors: one linear map, or (16-frame
    variant) linear -> BN -> ReLU -> linear."""
    if not deep:
        return [nn.Linear(in_dim, out_dim, bias=False)]
    return [nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm3d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim, bias=False)]


class RGBDiffBranch(nn.Module):
    """The authors' 16-frame 2D branch on the stacked RGB differences (TDN-like).

    ``(B*T, 3, K, H', W')`` -> ``(B*T, C1, H/s, W/s)``:
    conv3x3/2 -> ReLU -> BN -> conv3x3 (groups 4) -> ReLU -> BN -> conv1x1 (bias) ->
    conv3x3 (groups 16); widths 24 and 64 at a 64-channel stem.
    """

    def __init__(self, in_channels: int, stem_channels: int, stem_stride: int):
        super().__init__()
        mid = max(1, stem_channels * 3 // 8)
        stride = 2 if stem_stride == 4 else 1
        g1 = math.gcd(4, math.gcd(mid, stem_channels))
        g2 = math.gcd(16, stem_channels)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, mid, 3, stride=stride, padding=1, bias=False), nn.ReLU(inplace=True),
            nn.BatchNorm2d(mid),
            nn.Conv2d(mid, stem_channels, 3, padding=1, groups=g1, bias=False), nn.ReLU(inplace=True),
            nn.BatchNorm2d(stem_channels),
            nn.Conv2d(stem_channels, stem_channels, 1),
            nn.Conv2d(stem_channels, stem_channels, 3, padding=1, groups=g2, bias=False))
        for m in self.net:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, diffs: Tensor) -> Tensor:
        """diffs ``(N, 3, K, H', W')`` are stacked as 3K channels, index ``c * K + k``."""
        n, c, k, h, w = diffs.shape
        return self.net(diffs.reshape(n, c * k, h, w))
