"""Small tensor operations shared by the modules, written for the ``(B*T, C, H, W)`` layout.

The backbone keeps frames in the TSN layout ``(B*T, C, H, W)`` (T inner). Temporal
operations view that tensor as ``(B, T, C, H, W)`` instead of permuting it into
``(B, C, T, H, W)``: a temporal kernel then becomes a weighted sum of frame-shifted views,
which costs a few memory passes instead of a permute copy and a slow 3D convolution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def shift_frames(x: Tensor, num_segments: int, offset: int) -> Tensor:
    """Frame ``t`` of the result is frame ``t + offset`` of ``x`` (zeros beyond the clip).

    x: ``(B*T, C, H, W)`` -> ``(B*T, C, H, W)``.
    """
    if offset == 0:
        return x
    n, c, h, w = x.shape
    v = x.view(n // num_segments, num_segments, c, h, w)
    out = torch.zeros_like(v)
    if abs(offset) < num_segments:
        if offset > 0:
            out[:, :-offset] = v[:, offset:]
        else:
            out[:, -offset:] = v[:, :offset]
    return out.view(n, c, h, w)


def to_video(x: Tensor, num_segments: int) -> Tensor:
    """``(B*T, C, H, W)`` -> ``(B, C, T, H, W)`` (a copy)."""
    n, c, h, w = x.shape
    return x.view(n // num_segments, num_segments, c, h, w).transpose(1, 2).contiguous()


def to_frames(x: Tensor) -> Tensor:
    """``(B, C, T, H, W)`` -> ``(B*T, C, H, W)`` (a copy)."""
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b * t, c, h, w)


# --------------------------------------------------------------------------------------
# Depth-wise temporal convolution (kernel 3, zero padding) as a registered operator, so
# that it runs as three fused multiply-adds on CPU and the FLOP counter can count it as
# the convolution it is (see ean.analysis.flops).
# --------------------------------------------------------------------------------------
@torch.library.custom_op("ean::temporal_dwconv", mutates_args=())
def temporal_dwconv(x: Tensor, weight: Tensor, num_segments: int) -> Tensor:
    """``y[t] = w[:, 0] * x[t-1] + w[:, 1] * x[t] + w[:, 2] * x[t+1]`` per channel.

    x: ``(B*T, C, H, W)``; weight: ``(C, 3)`` -> ``(B*T, C, H, W)``.
    """
    n, c, h, w = x.shape
    v = x.view(n // num_segments, num_segments, c, h, w)
    k = weight.view(1, 1, c, 3, 1, 1).to(x.dtype)
    out = v * k[..., 1, :, :]
    if num_segments > 1:
        out[:, 1:] += v[:, :-1] * k[..., 0, :, :]
        out[:, :-1] += v[:, 1:] * k[..., 2, :, :]
    return out.reshape(n, c, h, w)


@temporal_dwconv.register_fake
def _(x, weight, num_segments):
    return torch.empty_like(x)


def _temporal_dwconv_setup(ctx, inputs, output):
    x, weight, num_segments = inputs
    ctx.save_for_backward(x, weight)
    ctx.num_segments = num_segments


def _temporal_dwconv_backward(ctx, grad):
    x, weight = ctx.saved_tensors
    t = ctx.num_segments
    grad_x = grad_w = None
    if ctx.needs_input_grad[0]:
        grad_x = temporal_dwconv(grad, weight.flip(1), t)
    if ctx.needs_input_grad[1]:
        n, c, h, w = x.shape
        gv = grad.reshape(n // t, t, c, h, w)
        xv = x.view(n // t, t, c, h, w)
        centre = (gv * xv).sum(dim=(0, 1, 3, 4))
        if t > 1:
            prev = (gv[:, 1:] * xv[:, :-1]).sum(dim=(0, 1, 3, 4))
            nxt = (gv[:, :-1] * xv[:, 1:]).sum(dim=(0, 1, 3, 4))
        else:
            prev = nxt = torch.zeros_like(centre)
        grad_w = torch.stack([prev, centre, nxt], dim=1).to(weight.dtype)
    return grad_x, grad_w, None


temporal_dwconv.register_autograd(_temporal_dwconv_backward, setup_context=_temporal_dwconv_setup)


def temporal_conv(x: Tensor, weight: Tensor, num_segments: int, dilation: int = 1) -> Tensor:
    """A dense temporal convolution (``c_in -> c_out``, odd kernel k, zero padding).

    Equals ``conv3d`` with a ``(k, 1, 1)`` kernel on the ``(B, C, T, H, W)`` view; computed as
    a ``(k, 1)`` 2D convolution over ``(B, C, T, H*W)``, which runs on the fast 2D kernels
    and counts the same MACs.
    x: ``(B*T, c_in, H, W)``; weight: ``(c_out, c_in, k)`` -> ``(B*T, c_out, H, W)``.
    """
    n, c_in, h, w = x.shape
    c_out, _, k = weight.shape
    v = x.view(n // num_segments, num_segments, c_in, h * w).permute(0, 2, 1, 3)
    y = F.conv2d(v, weight.unsqueeze(-1), padding=(dilation * (k // 2), 0), dilation=(dilation, 1))
    return y.permute(0, 2, 1, 3).reshape(n, c_out, h, w)


def _running_max(x: Tensor, dim: int, kernel: int) -> Tensor:
    """Max over a window of ``kernel`` along ``dim`` (stride 1, -inf padding)."""
    half = kernel // 2
    size = x.shape[dim]
    pad_shape = list(x.shape)
    pad_shape[dim] = half
    pad = x.new_full(pad_shape, float("-inf"))
    padded = torch.cat([pad, x, pad], dim=dim)
    out = padded.narrow(dim, 0, size)
    for k in range(1, kernel):
        out = torch.maximum(out, padded.narrow(dim, k, size))
    return out


def _running_max_backward(inp: Tensor, out: Tensor, grad: Tensor, dim: int, kernel: int) -> Tensor:
    """Gradient of :func:`_running_max`: each output's gradient goes to the input(s) of its
    window equal to the maximum (inputs tied for a maximum share it)."""
    half = kernel // 2
    size = inp.shape[dim]
    grad_in = torch.zeros_like(inp)
    for d in range(-half, half + 1):  # input i = output j + d
        length = size - abs(d)
        if length <= 0:
            continue
        lo_i, lo_j = max(0, d), max(0, -d)
        hit = inp.narrow(dim, lo_i, length) == out.narrow(dim, lo_j, length)
        grad_in.narrow(dim, lo_i, length).add_(grad.narrow(dim, lo_j, length) * hit)
    return grad_in


class _SeparableMaxPool(torch.autograd.Function):
    """Running maxima along time, height and width of ``(B, T, C, H, W)``, with a backward
    pass of a few elementwise passes (autograd through ``torch.maximum`` is several times
    slower on CPU)."""

    DIMS = (1, 3, 4)

    @staticmethod
    def forward(ctx, v: Tensor, kernel: int) -> Tensor:
        stages = [v]
        for dim in _SeparableMaxPool.DIMS:
            stages.append(_running_max(stages[-1], dim, kernel))
        ctx.kernel = kernel
        ctx.save_for_backward(*stages)
        return stages[-1]

    @staticmethod
    def backward(ctx, grad: Tensor):
        stages = ctx.saved_tensors
        for k in reversed(range(len(_SeparableMaxPool.DIMS))):
            grad = _running_max_backward(stages[k], stages[k + 1], grad, _SeparableMaxPool.DIMS[k], ctx.kernel)
        return grad, None


def max_pool_3d(x: Tensor, num_segments: int, kernel: int = 3) -> Tensor:
    """3D max-pool (kernel ``k x k x k``, stride 1, padding k//2) on the frame layout.

    Separable and exact (-inf padding, as ``max_pool3d``): running maxima along time,
    height and width, which on CPU is several times faster than a pooling kernel with
    stride 1. (Where several inputs tie for a window's maximum they share its gradient;
    ``max_pool3d`` gives it to one of them.) x: ``(B*T, C, H, W)`` -> same shape.
    """
    n, c, h, w = x.shape
    v = x.view(n // num_segments, num_segments, c, h, w)
    if torch.is_grad_enabled() and x.requires_grad:
        v = _SeparableMaxPool.apply(v, kernel)
    else:
        for dim in _SeparableMaxPool.DIMS:
            v = _running_max(v, dim, kernel)
    return v.reshape(n, c, h, w)


def avg_pool_3d(x: Tensor, num_segments: int, kernel: int = 3) -> Tensor:
    """3D average pool (stride 1, zero padding counted, as ``avg_pool3d``'s default).

    x: ``(B*T, C, H, W)`` -> same shape.
    """
    half = kernel // 2
    total = x
    for d in range(1, half + 1):
        total = total + shift_frames(x, num_segments, d) + shift_frames(x, num_segments, -d)
    return F.avg_pool2d(total, kernel, stride=1, padding=half, count_include_pad=True) / kernel
