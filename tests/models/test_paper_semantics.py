"""`semantics: paper` reads the text literally where it decides (docs/paper_readings.md T1-T10),
and each switch of a silent reading (S1-S10) changes the model it builds."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from ean.errors import ConfigError
from ean.data.config import DataConfig
from ean.data.transforms import ClipTransform
from ean.engine.config import build_config
from ean.models.layers import PointwiseConv2d

from .conftest import clip, make, tiny

LMC = {"segment_length": 5, "lmc.enabled": True, "lmc.latent": None, "lmc.patch": 32}


def test_esp_net_reads_the_block_input_and_reduces_it_16_times():
    """T3 (Eq. 3): M = ESP-Net(X^l), a 1x1x1 conv C -> C/16 first."""
    model = make(tiny("ean_tiny", semantics="paper", **{"eab.esp_reduction": 4}))
    for stage, eab in model.eabs.items():
        c = eab.expand.out_channels
        assert (eab.esp.reduce.in_channels, eab.esp.reduce.out_channels) == (c, c // 4), stage
        assert eab.esp.fc.out_features == eab.mid ** 2
    # the authors' ESP-Net reads the bottleneck S = compress(X)
    authors = make(tiny("ean_tiny", **{"eab.esp_reduction": 4}))
    assert authors.eabs["4"].esp.reduce.in_channels == authors.eabs["4"].mid


def test_esp_net_width_at_the_paper_scale():
    from ean.models.presets import get_preset
    from ean.models.ean import build_model

    model = build_model(get_preset("ean_r50_8f_rgb", set={"semantics": "paper"}))
    widths = {k: (e.esp.reduce.in_channels, e.esp.reduce.out_channels) for k, e in model.eabs.items()}
    assert widths == {"1": (64, 4), "2": (256, 16), "3": (512, 32), "4": (1024, 64)}


def test_scale1_kernels_are_convolutions_with_weights():
    """T2 (Eq. 2): F_s^(1) is a 1x1 conv and F_t^(1) a 1-tap conv, not the identity."""
    cfg = tiny(semantics="paper")
    model = make(cfg).eval()
    for eab in model.eabs.values():
        for stage in (eab.stage1, eab.stage2):
            conv = stage.convs[0]
            assert isinstance(conv, PointwiseConv2d)
            assert conv.weight.shape[:2] == (eab.sizes[0], eab.sizes[0])
    # they take part in the computation: changing one changes the block's output
    eab = model.eabs["2"]
    with torch.no_grad():
        eab.expand.weight.normal_()                      # zero-initialised (T4): open the block
        x = torch.randn(8, eab.expand.out_channels, 8, 8)
        before = eab(x, 4)
        eab.stage1.convs[0].weight.mul_(-1.0)
        assert not torch.allclose(eab(x, 4), before)
    authors = make(tiny())
    assert all(isinstance(e.stage1.convs[0], nn.Identity) for e in authors.eabs.values())


def test_saliency_net_reads_x5_and_reduces_it_8_times():
    """T5 (Eq. 4): O = Saliency-Net(X^5), first layer C -> C/8; T6: E has X^5's channels."""
    model = make(tiny(semantics="paper"))
    soi = model.sois["5"]
    c = soi.expand.out_features
    first = soi.saliency.net[0]
    assert (first.in_channels, first.out_channels) == (c, c // 8)
    assert soi.pos_embedding.shape[0] == c
    assert (soi.squeeze.in_features, soi.squeeze.out_features) == (c, c // 4)   # tokens squeezed
    authors = make(tiny()).sois["5"]
    assert authors.saliency.net[0].in_channels == c // 4 and authors.pos_embedding.shape[0] == c // 4


def test_lmc_channel_order_is_stacked_by_difference():
    """T8 (Eq. 11): m_t = [m_t[2]; m_t[3]; m_t[4]; m_t[5]], channel k * c_out + c."""
    for semantics, expect in (("paper", lambda ch, c_out, k: ch // c_out), ("authors", lambda ch, c_out, k: ch % k)):
        cfg = tiny(semantics=semantics, **LMC)
        lmc = make(cfg).lmc.eval()

        def mark(module, inputs, output):  # decoder output value = its difference index k
            k = torch.arange(output.shape[1], dtype=output.dtype).view(1, -1, 1, 1, 1)
            return torch.zeros_like(output) + k

        handle = lmc.decoder[-1].register_forward_hook(mark)
        with torch.no_grad():
            m = lmc(torch.randn(1, 3, 4, 5, 64, 64))      # (B*T, C1, h, w)
        handle.remove()
        c_out, k = lmc.out_channels, lmc.diffs
        for ch in range(m.shape[1]):
            assert torch.all(m[:, ch] == expect(ch, c_out, k)), (semantics, ch)


def test_sparse_frame_and_patches_follow_the_text():
    """T7 / T9: 3x32x32 full-resolution patches into 128-d latents; the first frame."""
    p = make(tiny(semantics="paper", **LMC))
    assert (p.lmc.encoder[0].in_features, p.lmc.encoder[0].out_features) == (3 * 32 * 32, 128)
    assert p.sparse_frame_index(5) == 0


# -------------------------------------------------------------------- silent readings
def _outputs(cfg, seed=0):
    model = make(cfg, seed).eval()
    with torch.no_grad():
        for p in model.parameters():            # open the zero-initialised merge / expand
            if torch.count_nonzero(p) == 0:
                p.normal_(0, 0.1)
        return model, model(clip(cfg, batch=2))


def test_pos_embedding_switch():
    c = tiny(semantics="paper")
    thw, _ = _outputs(c)
    hw, _ = _outputs(c.override({"soi.pos_embedding": "hw"}))
    none, _ = _outputs(c.override({"soi.pos_embedding": "none"}))
    width = thw.sois["5"].width
    assert thw.sois["5"].pos_embedding.shape == (width, 4 * 4 * 4)       # T=4, 4x4 map at 64x64
    assert hw.sois["5"].pos_embedding.shape == (width, 4 * 4)
    assert none.sois["5"].pos_embedding is None
    e = hw.sois["5"].positional(4, 4, 4)
    assert torch.equal(e[:, 0], e[:, 3])                                  # shared by the frames
    assert tiny(**{"soi.pos_embedding": True}).soi.pos_embedding == "thw"   # old configs still read


def test_norm_position_and_ffn_ratio_switches():
    cfg = tiny(semantics="paper")
    post, y_post = _outputs(cfg)
    assert not post.sois["5"].blocks[0].pre_norm and cfg.soi_norm == "post"
    pre = make(cfg.override({"soi.norm": "pre"})).eval()
    pre.load_state_dict(post.state_dict())
    with torch.no_grad():
        assert not torch.allclose(pre(clip(cfg, batch=2)), y_post)
    d = post.sois["5"].dim
    assert post.sois["5"].blocks[0].ffn.net[0].out_features == 4 * d
    assert make(cfg.override({"soi.ffn_ratio": 1})).sois["5"].blocks[0].ffn.net[0].out_features == d
    assert make(tiny()).sois["5"].blocks[0].ffn.net[0].out_features == d    # authors: d
    assert make(tiny(**{"soi.ffn_ratio": 2})).sois["5"].blocks[0].ffn.net[0].out_features == 2 * d


def test_merge_switch():
    cfg = tiny(semantics="paper")
    x = clip(cfg, batch=2)
    for merge, starts_at_gap in (("residual_bn", True), ("sum", False)):
        model = make(cfg.override({"soi.merge": merge})).eval()
        with torch.no_grad():
            _, aux = model(x, return_aux=True)
        gap = aux["features"]["stage5"].mean(dim=(2, 3, 4))
        assert torch.allclose(aux["video_feature"], gap, atol=1e-5) == starts_at_gap, merge


def test_hm_norm_and_hm_groups_switches():
    cfg = tiny(semantics="paper", **LMC)
    with_norm = make(cfg)
    assert any(isinstance(m, nn.BatchNorm3d) for m in with_norm.lmc.block1)
    without = make(cfg.override({"lmc.hm_norm": False}))
    assert not any(isinstance(m, (nn.BatchNorm3d, nn.ReLU)) for m in without.lmc.block1)
    x = clip(cfg, batch=1)
    without.eval()
    with_norm.eval()
    with torch.no_grad():
        without.lmc.load_state_dict({k: v for k, v in with_norm.lmc.state_dict().items()
                                     if k in without.lmc.state_dict()}, strict=False)
        assert not torch.allclose(without.lmc(x.view(1, 3, 4, 5, 64, 64)), with_norm.lmc(x.view(1, 3, 4, 5, 64, 64)))
    assert with_norm.lmc.block1[0].groups == 16
    assert make(cfg.override({"lmc.hm_groups": 8})).lmc.block1[0].groups == 8
    with pytest.raises(ConfigError, match="lmc.hm_norm: applies to semantics 'paper'"):
        tiny(**{**LMC, "lmc.hm_norm": False})
    with pytest.raises(ConfigError, match="lmc.hm_groups: 7 does not divide"):
        make(cfg.override({"lmc.hm_groups": 7}))


# ------------------------------------------------------------------------ data recipe
def _train_cfg(semantics, **data):
    raw = {"model": {"preset": "ean_tiny", "semantics": semantics},
           "data": {"format": "sthv2", "annotation": "a.json", **data}}
    return build_config(raw, "test")


def test_one_setting_selects_the_model_and_the_data_recipe():
    paper, authors = _train_cfg("paper").data.resolved(), _train_cfg("authors").data.resolved()
    assert (paper.recipe, paper.flip, paper.crop, paper.resize) == ("paper", "skip_direction", "random", 256)
    assert (authors.recipe, authors.flip, authors.crop, authors.resize) == ("authors", "swap", "multiscale", [240, 320])
    # explicit settings win, and the recipe can be set apart from the semantics
    mixed = _train_cfg("paper", recipe="authors", resize=0).data.resolved()
    assert (mixed.recipe, mixed.flip, mixed.resize) == ("authors", "swap", 0)


def test_paper_recipe_never_flips_direction_classes_and_crops_at_random():
    names = ["Moving something from left to right", "Moving something from right to left", "Spinning something"]
    frames = torch.arange(2 * 3 * 48 * 64, dtype=torch.int64).remainder(251).to(torch.uint8).view(2, 3, 48, 64)
    results = {}
    for recipe in ("paper", "authors"):
        cfg = DataConfig(format="sthv2", annotation="a.json", input_size=48, resize=0, recipe=recipe,
                         mean=[0, 0, 0], std=[1 / 255] * 3).resolved()
        t = ClipTransform(cfg, train=True, class_names=names)
        labels, offsets = set(), set()
        for seed in range(40):
            out, label = t(frames, 0, np.random.default_rng(seed))
            labels.add(label)
            if recipe == "paper":   # an unscaled 48x48 window of the frames, at some offset
                match = [x for x in range(17) if torch.equal(out[0, :, 0].round(), frames[0, :, :, x:x + 48].float())]
                assert match, seed
                offsets.add(match[0])
        results[recipe] = (labels, offsets)
    assert results["paper"][0] == {0} and len(results["paper"][1]) > 5
    assert results["authors"][0] == {0, 1}                     # the authors' flip swaps the label
