"""Sparse Object Interaction Transformer (SOI-Tr) and its Saliency-Net.

On ``X (B*T, C, h, w)`` (the output of a stage), ``semantics="authors"``::

    Xs = squeeze(X)                          C -> d = C / 4, 1x1, no bias
    O  = softmax_hw(Saliency-Net(Xs))        (B, N, T, h, w), N objects   [or fixed / all / boxes]
    F[n, t] = sum_hw (Xs + E)[t] * O[n, t]   (B, N*T, d) object tokens, n-major
    F' = Transformer(F)                      2 pre-norm blocks, BatchNorm instead of LayerNorm
    out = GAP(X) + BN(Linear(mean(F')))      (B, C) video feature; BN starts at zero

``semantics="paper"`` follows Eqs. 4-5 on ``X^5`` itself: ``O = softmax_hw(Saliency-Net(X))``,
``F[n, t] = squeeze(sum_hw (X + E)[t] * O[n, t])`` with ``E`` of ``X``'s shape and the
bottleneck ``C -> C/4`` applied to the tokens (pooling is linear: the same tokens as
squeezing the map first, up to how E is parametrised, at a fraction of the cost); the
transformer blocks are post-norm with a 4d FFN (the vanilla Transformer apart from the two
changes the text names).

An SOI-Tr placed before the last stage (Table 6) cannot pool the video yet: it writes its
tokens back into the map instead, ``X + BN(sum_n O[n] * Linear(F'[n]))``.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ean.models.config import SOIConfig
from ean.models.init import scope
from ean.models.layers import SafeBatchNorm1d
from ean.models.ops import to_video


class SaliencyNet(nn.Module):
    """Object saliency logits ``(B, N, T, h, w)`` from ``(B, C_in, T, h, w)``.

    ``authors`` (on the squeezed d-channel map, conv -> ReLU -> BN, biases on):
    1x1x1 d -> d/4, 3x3x3, 1x3x3, 1x3x3 -> N.
    ``paper`` (on X^5 itself, C channels; conv -> BN -> ReLU): 1x1x1 C -> C/8, 3x1x1
    temporal, 1x5x5 spatial, 1x1x1 -> N.
    """

    def __init__(self, in_channels: int, num_objects: int, semantics: str):
        super().__init__()
        if semantics == "authors":
            mid = max(1, in_channels // 4)
            self.net = nn.Sequential(
                nn.Conv3d(in_channels, mid, 1), nn.ReLU(inplace=True), nn.BatchNorm3d(mid),
                nn.Conv3d(mid, mid, 3, padding=1), nn.ReLU(inplace=True), nn.BatchNorm3d(mid),
                nn.Conv3d(mid, mid, (1, 3, 3), padding=(0, 1, 1)), nn.ReLU(inplace=True), nn.BatchNorm3d(mid),
                nn.Conv3d(mid, num_objects, (1, 3, 3), padding=(0, 1, 1)))
        else:
            mid = max(1, in_channels // 8)
            self.net = nn.Sequential(
                nn.Conv3d(in_channels, mid, 1, bias=False), nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                nn.Conv3d(mid, mid, (3, 1, 1), padding=(1, 0, 0), bias=False), nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                nn.Conv3d(mid, mid, (1, 5, 5), padding=(0, 2, 2), bias=False), nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                nn.Conv3d(mid, num_objects, 1))
        for m in self.net:
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Attention(nn.Module):
    """Multi-head self-attention: fused qkv (no bias), softmax(q k^T / sqrt(d_h)) v, projection.

    ``(B, L, d)`` -> ``(B, L, d)``; the attention weights ``(B, heads, L, L)`` go to ``aux``.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"SOI-Tr: token width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, aux: Optional[dict] = None) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax(torch.matmul(q * self.scale, k.transpose(-2, -1)), dim=-1)
        if aux is not None:
            aux.setdefault("attention", []).append(attn.detach())
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


_BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


class TokenBatchNorm(nn.Module):
    """BatchNorm1d over tokens: statistics over batch x tokens. ``(B, L, d)`` -> same shape.

    A wrapper around a ``BatchNorm1d(d)`` (``self.bn``) applied to the tokens reshaped to
    ``(B*L, d)``, not a BatchNorm subclass: ``nn.SyncBatchNorm.convert_sync_batchnorm``
    (``runtime.sync_bn``) then replaces the inner BN by a ``SyncBatchNorm`` of ``d`` channels
    and the reshape around it stays, so the converted model computes the same function
    (a BN subclass would be replaced whole, and the token axis taken for channels).

    The state dict keeps the keys of a plain BatchNorm1d (``weight``, ``running_mean``, ...;
    no ``bn.``), as our checkpoints and the authors' key mapping (``ean.models.convert_official``)
    have them; ``bn.``-prefixed keys load as well.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.bn = nn.BatchNorm1d(num_features, eps=eps, momentum=momentum)
        self._register_state_dict_hook(_flatten_bn_keys)
        self._register_load_state_dict_pre_hook(_nest_bn_keys)

    num_features = property(lambda self: self.bn.num_features)
    weight = property(lambda self: self.bn.weight)
    bias = property(lambda self: self.bn.bias)
    running_mean = property(lambda self: self.bn.running_mean)
    running_var = property(lambda self: self.bn.running_var)

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        return self.bn(x.reshape(b * n, d)).view(b, n, d)


def _flatten_bn_keys(module, state_dict, prefix, local_metadata):
    """state_dict hook of TokenBatchNorm: ``prefix.bn.weight`` -> ``prefix.weight``, ..."""
    for key in _BN_KEYS:
        if prefix + "bn." + key in state_dict:
            state_dict[prefix + key] = state_dict.pop(prefix + "bn." + key)


def _nest_bn_keys(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
    """load_state_dict pre-hook of TokenBatchNorm: the inverse of :func:`_flatten_bn_keys`."""
    for key in _BN_KEYS:
        if prefix + key in state_dict:
            state_dict[prefix + "bn." + key] = state_dict.pop(prefix + key)


class FeedForward(nn.Module):
    """``authors``: Linear -> BN -> ReLU -> Linear -> BN -> ReLU -> Linear.
    ``paper`` (the vanilla Transformer's MLP): Linear -> ReLU -> Linear.
    Hidden width ``ratio * d``. ``(B, L, d)`` -> same."""

    def __init__(self, dim: int, semantics: str, ratio: int = 1):
        super().__init__()
        hidden = dim * ratio
        if semantics == "authors":
            self.net = nn.ModuleList([nn.Linear(dim, hidden), TokenBatchNorm(hidden), nn.ReLU(inplace=True),
                                      nn.Linear(hidden, hidden), TokenBatchNorm(hidden), nn.ReLU(inplace=True),
                                      nn.Linear(hidden, dim)])
        else:
            self.net = nn.ModuleList([nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim)])

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class TransformerBlock(nn.Module):
    """A block with BatchNorm instead of LayerNorm. ``norm="pre"``: ``x + Attn(BN(x))``,
    then ``x + FFN(BN(x))``; ``"post"``: ``BN(x + Attn(x))``, then ``BN(x + FFN(x))``."""

    def __init__(self, dim: int, heads: int, semantics: str, norm: str = "pre", ffn_ratio: int = 1):
        super().__init__()
        self.pre_norm = norm == "pre"
        self.norm1 = TokenBatchNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = TokenBatchNorm(dim)
        self.ffn = FeedForward(dim, semantics, ffn_ratio)

    def forward(self, x: Tensor, aux: Optional[dict] = None) -> Tensor:
        if self.pre_norm:
            x = x + self.attn(self.norm1(x), aux)
            return x + self.ffn(self.norm2(x))
        x = self.norm1(x + self.attn(x, aux))
        return self.norm2(x + self.ffn(x))


def grid_regions(num_objects: int, h: int, w: int, device=None) -> Tensor:
    """``num_objects`` fixed regions: a near-square grid of cells over the map, each a
    uniform distribution over its positions. Returns ``(N, h, w)``, each map sums to 1."""
    rows = int(math.floor(math.sqrt(num_objects)))
    while num_objects % rows:
        rows -= 1
    cols = num_objects // rows
    maps = torch.zeros(num_objects, h, w, device=device)
    ys = torch.arange(h, device=device).float().add(0.5).div(h)
    xs = torch.arange(w, device=device).float().add(0.5).div(w)
    for r in range(rows):
        for c in range(cols):
            inside = ((ys >= r / rows) & (ys < (r + 1) / rows))[:, None] & \
                     ((xs >= c / cols) & (xs < (c + 1) / cols))[None, :]
            if not inside.any():  # a map smaller than the grid: take the nearest position
                inside = torch.zeros(h, w, dtype=torch.bool, device=device)
                inside[min(h - 1, int((r + 0.5) / rows * h)), min(w - 1, int((c + 0.5) / cols * w))] = True
            maps[r * cols + c] = inside.float() / inside.sum()
    return maps


def box_regions(boxes: Tensor, h: int, w: int) -> Tensor:
    """Region maps from per-frame boxes.

    boxes: ``(B, T, N, 4)`` as ``(x1, y1, x2, y2)`` in [0, 1] image coordinates; a row with a
    NaN or zero area is missing and is replaced by the central region (the middle half of the
    frame), as in the paper's Faster-RCNN row. Each box covers the positions whose cell
    centres lie inside it (at least the nearest one). Returns ``(B, N, T, h, w)`` summing to 1.
    """
    if boxes.dim() != 4 or boxes.shape[-1] != 4:
        raise ValueError(f"SOI-Tr boxes must be (B, T, N, 4), got {tuple(boxes.shape)}")
    boxes = boxes.float()
    centre = torch.tensor([0.25, 0.25, 0.75, 0.75], device=boxes.device)
    bad = torch.isnan(boxes).any(-1) | ((boxes[..., 2] - boxes[..., 0]) <= 0) | ((boxes[..., 3] - boxes[..., 1]) <= 0)
    boxes = torch.where(bad[..., None], centre.expand_as(boxes), boxes).clamp(0, 1)
    ys = torch.arange(h, device=boxes.device).float().add(0.5).div(h)
    xs = torch.arange(w, device=boxes.device).float().add(0.5).div(w)
    x1, y1, x2, y2 = (boxes[..., i, None, None] for i in range(4))
    inside = (ys[:, None] >= y1) & (ys[:, None] <= y2) & (xs[None, :] >= x1) & (xs[None, :] <= x2)
    # boxes smaller than a cell: the cell holding the box centre
    cy = ((y1 + y2) / 2 * h).long().clamp(0, h - 1)
    cx = ((x1 + x2) / 2 * w).long().clamp(0, w - 1)
    nearest = (torch.arange(h, device=boxes.device)[:, None] == cy) & (torch.arange(w, device=boxes.device)[None, :] == cx)
    empty = ~inside.flatten(-2).any(-1)
    inside = torch.where(empty[..., None, None], nearest, inside).float()
    maps = inside / inside.sum(dim=(-2, -1), keepdim=True)
    return maps.permute(0, 2, 1, 3, 4)  # (B, N, T, h, w)


class SOITransformer(nn.Module):
    """SOI-Tr on the output of a stage (see module docstring).

    ``final=True``: ``(B*T, C, h, w)`` -> video feature ``(B, C)``.
    ``final=False``: ``(B*T, C, h, w)`` -> same shape (tokens written back into the map).
    """

    def __init__(self, channels: int, cfg: SOIConfig, semantics: str, num_segments: int,
                 map_size: tuple[int, int], final: bool = True, norm: str = "pre", ffn_ratio: int = 1):
        super().__init__()
        self.cfg = cfg
        self.final = final
        dim = channels // cfg.bottleneck
        self.dim = dim
        # authors: squeeze the map, then pool tokens from it; paper: pool tokens from X^5 + E
        # (Eqs. 4-5), then squeeze the tokens
        self.pool_first = semantics == "paper"
        with scope("squeeze"):
            if self.pool_first:
                self.squeeze = nn.Linear(channels, dim, bias=False)
            else:
                self.squeeze = nn.Conv2d(channels, dim, 1, bias=False)
            nn.init.kaiming_normal_(self.squeeze.weight, mode="fan_out", nonlinearity="relu")
        width = channels if self.pool_first else dim     # channels of the map tokens are pooled from
        self.width = width
        with scope("saliency"):
            self.saliency = SaliencyNet(width, cfg.num_objects, semantics) if cfg.regions == "saliency" else None
        t, (h, w) = num_segments, map_size
        with scope("pos_embedding"):
            if cfg.pos_embedding == "thw":
                self.pos_embedding = nn.Parameter(torch.randn(width, t * h * w))
                self.pos_shape = (t, h, w)
            elif cfg.pos_embedding == "hw":
                self.pos_embedding = nn.Parameter(torch.randn(width, h * w))
                self.pos_shape = (1, h, w)
            else:
                self.pos_embedding = None
        with scope("blocks"):
            self.blocks = nn.ModuleList([TransformerBlock(dim, cfg.heads, semantics, norm, ffn_ratio)
                                         for _ in range(cfg.depth)])
        with scope("expand"):
            self.expand = nn.Linear(dim, channels, bias=False)
        if cfg.merge == "residual_bn":
            self.out_bn = SafeBatchNorm1d(channels) if final else nn.BatchNorm2d(channels)
            nn.init.zeros_(self.out_bn.weight)
            nn.init.zeros_(self.out_bn.bias)
        else:
            self.out_bn = nn.Identity()

    def positional(self, t: int, h: int, w: int) -> Tensor:
        """E ``(width, T, h, w)`` ("hw": the same map for every frame), resized (trilinear)
        when the clip or map differs from the nominal."""
        e = self.pos_embedding.view(self.width, *self.pos_shape)
        size = (t if self.pos_shape[0] > 1 else 1, h, w)
        if size != self.pos_shape:
            e = F.interpolate(e.unsqueeze(0), size=size, mode="trilinear", align_corners=False)[0]
        return e.expand(-1, t, -1, -1)

    def regions(self, xs: Tensor, boxes: Optional[Tensor]) -> Tensor:
        """Object maps O ``(B, N, T, h, w)``, each summing to 1 over (h, w)."""
        b, _, t, h, w = xs.shape
        kind = self.cfg.regions
        if kind == "saliency":
            logits = self.saliency(xs)
            return torch.softmax(logits.flatten(3), dim=-1).view(b, -1, t, h, w)
        if kind == "fixed":
            maps = grid_regions(self.cfg.num_objects, h, w, xs.device).to(xs.dtype)
            return maps[None, :, None].expand(b, -1, t, h, w)
        if kind == "boxes":
            if boxes is None:
                raise ValueError("SOI-Tr with soi.regions='boxes' needs per-frame boxes: model(x, boxes=...)")
            if boxes.shape[:3] != (b, t, self.cfg.num_objects):
                raise ValueError(f"SOI-Tr boxes must be (B={b}, T={t}, N={self.cfg.num_objects}, 4), "
                                 f"got {tuple(boxes.shape)}")
            return box_regions(boxes, h, w).to(xs.dtype)
        raise AssertionError(kind)

    def forward(self, x: Tensor, num_segments: int, aux: Optional[dict] = None,
                boxes: Optional[Tensor] = None) -> Tensor:
        t = num_segments
        n, c, h, w = x.shape
        b = n // t
        xs = to_video(x if self.pool_first else self.squeeze(x), t)   # (B, width, T, h, w)
        feats = xs if self.pos_embedding is None else xs + self.positional(t, h, w)
        if self.cfg.regions == "all":
            maps = None
            tokens = feats.flatten(2).transpose(1, 2)           # (B, T*h*w, width)
        else:
            maps = self.regions(xs, boxes)                       # (B, N, T, h, w)
            tokens = torch.einsum("bdtp,bntp->bntd", feats.flatten(3), maps.flatten(3))
            tokens = tokens.reshape(b, -1, self.width)           # (B, N*T, width), n-major
            if aux is not None:
                aux["saliency"] = maps.detach()
        if self.pool_first:
            tokens = self.squeeze(tokens)                        # (B, L, d)
        for block in self.blocks:
            tokens = block(tokens, aux)
        if self.final:
            pooled = x.view(b, t, c, h * w).mean(dim=(1, 3))     # (B, C)
            return pooled + self.out_bn(self.expand(tokens.mean(dim=1)))
        # write the interaction features back: X + BN(sum_n O[n] * expand(F'[n]))
        up = self.expand(tokens)                                 # (B, N*T or T*h*w, C)
        if maps is None:
            back = up.view(b, t, h, w, c).permute(0, 1, 4, 2, 3)
        else:
            up = up.view(b, -1, t, c)                            # (B, N, T, C)
            back = torch.einsum("bntc,bntp->btcp", up, maps.flatten(3)).reshape(b, t, c, h, w)
        return x + self.out_bn(back.reshape(n, c, h, w))
