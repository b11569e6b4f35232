"""The frame-layout temporal operators equal their 3D-convolution / pooling definitions."""
import pytest
import torch
import torch.nn.functional as F

from ean.models.motion import MotionExcitation, TemporalConv, TemporalShift
from ean.models.ops import avg_pool_3d, max_pool_3d, shift_frames, temporal_conv, temporal_dwconv, to_frames, to_video

B, T, C, H, W = 2, 5, 6, 7, 9


def video_view(x):
    return to_video(x, T)


@pytest.fixture
def x():
    return torch.randn(B * T, C, H, W)


def test_layout_round_trip(x):
    v = to_video(x, T)
    assert v.shape == (B, C, T, H, W)
    assert torch.equal(v[1, :, 3], x[1 * T + 3])
    assert torch.equal(to_frames(v), x)


def test_shift_frames(x):
    s = shift_frames(x, T, 1).view(B, T, C, H, W)
    xv = x.view(B, T, C, H, W)
    assert torch.equal(s[:, :-1], xv[:, 1:])
    assert torch.count_nonzero(s[:, -1]) == 0
    assert torch.count_nonzero(shift_frames(x, T, T)) == 0


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("taps", [3, 5])
def test_temporal_conv_equals_conv3d(x, taps, dilation):
    w = torch.randn(4, C, taps)
    ref = F.conv3d(video_view(x), w[..., None, None], padding=(dilation * (taps // 2), 0, 0),
                   dilation=(dilation, 1, 1))
    assert torch.allclose(temporal_conv(x, w, T, dilation), to_frames(ref), atol=1e-5)


def test_depthwise_temporal_conv_equals_conv3d_and_has_gradients(x):
    w = torch.randn(C, 3)
    ref = F.conv3d(video_view(x), w.view(C, 1, 3, 1, 1), padding=(1, 0, 0), groups=C)
    assert torch.allclose(temporal_dwconv(x, w, T), to_frames(ref), atol=1e-5)
    xd = x.double().requires_grad_()
    wd = w.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: temporal_dwconv(a, b, T), (xd, wd))


def test_pooling_equals_3d_pooling(x):
    v = video_view(x)
    assert torch.equal(max_pool_3d(x, T), to_frames(F.max_pool3d(v, 3, 1, 1)))
    assert torch.allclose(avg_pool_3d(x, T), to_frames(F.avg_pool3d(v, 3, 1, 1)), atol=1e-6)


def test_temporal_conv_starts_as_tsm_shift(x):
    conv, shift = TemporalConv(C * 2, shift_div=4), TemporalShift(C * 2, shift_div=4)
    y = torch.randn(B * T, C * 2, H, W)
    assert torch.allclose(conv(y, T), shift(y, T))
    # the shift really moves information in time: frame 0 of the first fold is frame 1
    out = shift(y, T).view(B, T, -1, H, W)
    assert torch.equal(out[:, 0, :3], y.view(B, T, -1, H, W)[:, 1, :3])


def test_temporal_conv_keeps_channels_last_and_its_values():
    """Under channels_last (CUDA's default here) the temporal conv works on the layout it is
    given: no copy into NCHW and back (old code: `.contiguous()` on every call), the same
    values and gradients."""
    conv = TemporalConv(C * 2, shift_div=4)
    with torch.no_grad():
        conv.weight.normal_()
    y = torch.randn(B * T, C * 2, H, W)
    last = y.contiguous(memory_format=torch.channels_last).requires_grad_()
    plain = y.clone().requires_grad_()
    out_last, out_plain = conv(last, T), conv(plain, T)
    assert out_last.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out_last, out_plain)
    g = torch.randn_like(out_plain)
    (out_last * g).sum().backward()
    grad_w_last = conv.weight.grad.clone()
    conv.weight.grad = None
    (out_plain * g).sum().backward()
    assert torch.equal(last.grad, plain.grad)
    assert torch.allclose(grad_w_last, conv.weight.grad, rtol=1e-5, atol=1e-5)


def test_motion_excitation_uses_frame_differences(x):
    me = MotionExcitation(32, reduction=16).eval()
    static = torch.randn(1, 32, H, W).expand(T, -1, -1, -1).contiguous()
    # a static clip: every difference is -BN(conv(x)) + dwconv(...) of the same frame, so the
    # excitation is identical for all frames except the last (whose difference is zero)
    out = me(static, T)
    assert torch.allclose(out[0], out[1], atol=1e-6)
    assert not torch.allclose(out[0], out[-1], atol=1e-6)


def test_max_pool_gradient_equals_max_pool3d():
    x = torch.randn(B * T, C, H, W, dtype=torch.double, requires_grad=True)
    g = torch.randn(B * T, C, H, W, dtype=torch.double)
    (ours,) = torch.autograd.grad(max_pool_3d(x, T), x, g)
    (ref,) = torch.autograd.grad(to_frames(F.max_pool3d(video_view(x), 3, 1, 1)), x, g)
    assert torch.allclose(ours, ref)


def test_motion_excitation_equals_its_definition():
    """x * (0.5 + sigmoid(BN(conv(GAP(d))))) with d_t = dwconv(s_{t+1}) - s_t, d_{T-1} = 0."""
    me = MotionExcitation(64).eval()
    x = torch.randn(B * T, 64, H, W)
    with torch.no_grad():
        s = me.reduce_bn(me.reduce(x))
        c = s.shape[1]
        s5 = s.view(B, T, c, H, W)
        d = torch.zeros_like(s5)
        d[:, :-1] = me.diff_conv(s5[:, 1:].reshape(-1, c, H, W)).view(B, T - 1, c, H, W) - s5[:, :-1]
        a = torch.sigmoid(me.expand_bn(me.expand(d.mean(dim=(3, 4)).view(B * T, c, 1, 1)))) - 0.5
        assert torch.allclose(me(x, T), x + x * a, atol=1e-5)


@pytest.mark.parametrize("cin,cout", [(4, 1), (1, 16), (8, 4)])
def test_pointwise_conv_equals_conv2d_in_values_gradients_and_macs(cin, cout):
    from fvcore.nn import FlopCountAnalysis

    from ean.models.layers import PointwiseConv2d

    fast = PointwiseConv2d(cin, cout)
    ref = torch.nn.Conv2d(cin, cout, 1, bias=False)
    ref.load_state_dict(fast.state_dict())
    x = torch.randn(6, cin, 5, 7, requires_grad=True)
    y_fast, y_ref = fast(x), ref(x)
    assert torch.allclose(y_fast, y_ref, atol=1e-6)
    g = torch.randn_like(y_ref)
    assert torch.allclose(torch.autograd.grad(y_fast, x, g)[0], torch.autograd.grad(y_ref, x, g)[0], atol=1e-6)
    macs = lambda m: FlopCountAnalysis(m, (x.detach(),)).unsupported_ops_warnings(False).total()
    assert macs(fast) == macs(ref) == 6 * cin * cout * 5 * 7
