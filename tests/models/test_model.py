"""The EAN model: shapes for every preset, switch and size; gradients; introspection; errors."""
import pytest
import torch
import torch.nn as nn

from ean.errors import ConfigError
from ean.models.config import ModelConfig
from ean.models.ean import authors_layout_to_clip, build_model
from ean.models.presets import get_preset, list_presets

from .conftest import clip, make, tiny

TINY = ["tsn_tiny", "tsm_tiny", "baseline_tiny", "ean_tiny", "ean_tiny_lmc"]
FULL = [p for p in list_presets() if p not in TINY]

# Every ablation row of Tables 5-10 as a switch on the tiny EAN.
SWITCHES = {
    "t5_no_eab": {"eab.stages": []},
    "t5_no_soi": {"soi.stages": []},
    "t6_eab12_soi345": {"eab.stages": [1, 2], "soi.stages": [3, 4, 5]},
    "t6_eab123_soi45": {"eab.stages": [1, 2, 3], "soi.stages": [4, 5]},
    "t6_eab12345": {"eab.stages": [1, 2, 3, 4, 5], "soi.stages": []},
    "t7_fixed": {"soi.regions": "fixed"},
    "t7_all": {"soi.regions": "all"},
    "t8_s_block": {"eab.block": "s_block"},
    "t8_l_block": {"eab.block": "l_block"},
    "t8_incep": {"eab.block": "incep"},
    "t9_identity": {"eab.fusion": "identity"},
    "t9_shuffle": {"eab.fusion": "shuffle"},
    "t9_static": {"eab.fusion": "static"},
    "t10_no_pool": {"eab.pool": "none"},
    "t10_avg_pool": {"eab.pool": "avg"},
    "t10_no_inter_relu": {"eab.inter_relu": False},
    "t10_no_dilation": {"eab.dilation": False},
    "t10_1p1p1d": {"eab.spatial": "1+1"},
    "paper_semantics": {"semantics": "paper"},
    "paper_lmc": {"semantics": "paper", "segment_length": 5, "lmc.enabled": True},
    # the switches of the paper's silent readings (docs/paper_readings.md)
    "paper_pos_hw": {"semantics": "paper", "soi.pos_embedding": "hw"},
    "paper_pre_norm_ffn1": {"semantics": "paper", "soi.norm": "pre", "soi.ffn_ratio": 1},
    "paper_merge_sum": {"semantics": "paper", "soi.merge": "sum"},
    "paper_lmc_plain_hm": {"semantics": "paper", "segment_length": 5, "lmc.enabled": True,
                           "lmc.hm_norm": False, "lmc.hm_groups": 8},
}


def perturb_zero_params(model: nn.Module) -> None:
    """Zero-initialised parameters (SOI-Tr merge BN, the paper's EAB expand) block gradients
    at initialisation; give them values so that every path can be checked."""
    with torch.no_grad():
        for p in model.parameters():
            if torch.count_nonzero(p) == 0:
                p.normal_(0, 0.1)


def biases_cancelled_by_batchnorm(model: nn.Module) -> set[str]:
    """Conv biases directly followed by a BatchNorm: in training mode their gradient is
    exactly zero (BN removes the per-channel mean), by construction of the authors' ESP-Net."""
    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, nn.Sequential):
            items = list(module.named_children())
            for (name, layer), (_, nxt) in zip(items, items[1:]):
                if isinstance(layer, nn.modules.conv._ConvNd) and layer.bias is not None \
                        and isinstance(nxt, nn.modules.batchnorm._BatchNorm):
                    names.add(f"{prefix}.{name}.bias")
    return names


def assert_all_parameters_learn(model: nn.Module, x: torch.Tensor, **kwargs) -> None:
    perturb_zero_params(model)
    model.train()
    model(x, **kwargs).logsumexp(dim=1).sum().backward()
    unconnected = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unconnected, f"parameters outside the graph: {unconnected}"
    cancelled = biases_cancelled_by_batchnorm(model)
    dead = [n for n, p in model.named_parameters()
            if torch.count_nonzero(p.grad) == 0 and n not in cancelled]
    assert not dead, f"parameters without gradient: {dead}"


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("segments", [4, 8, 16])
def test_tiny_presets_train_with_one_video_for_every_T(name, segments):
    cfg = get_preset(name)
    model = make(cfg).train()
    out = model(clip(cfg, batch=1, segments=segments))
    assert out.shape == (1, cfg.num_classes)
    out.sum().backward()


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("size", [64, 96, 128])
def test_tiny_presets_any_input_size(name, size):
    cfg = get_preset(name)
    model = make(cfg).eval()
    with torch.no_grad():
        assert model(clip(cfg, batch=2, size=size)).shape == (2, cfg.num_classes)


@pytest.mark.parametrize("name", FULL)
def test_full_presets_run_small_with_one_video(name):
    cfg = get_preset(name)
    model = make(cfg).train()
    out = model(clip(cfg, batch=1, size=64, segments=4))
    assert out.shape == (1, 174)
    out.sum().backward()
    assert model.backbone.conv1.weight.grad is not None


@pytest.mark.parametrize("switch", list(SWITCHES))
def test_every_ablation_switch_runs_and_every_parameter_learns(switch):
    cfg = tiny(**SWITCHES[switch])
    model = make(cfg)
    x = clip(cfg, batch=2)
    assert_all_parameters_learn(model, x)
    model.eval()
    with torch.no_grad():
        assert model(clip(cfg, batch=1)).shape == (1, cfg.num_classes)


@pytest.mark.parametrize("name", TINY)
def test_every_parameter_of_every_tiny_preset_learns(name):
    cfg = get_preset(name, set={"num_segments": 4})
    assert_all_parameters_learn(make(cfg), clip(cfg))


def test_boxes_regions_follow_the_boxes():
    cfg = tiny(**{"soi.regions": "boxes"})
    model = make(cfg).eval()
    x = clip(cfg, batch=1)
    with pytest.raises(ValueError, match="needs per-frame boxes"):
        model(x)
    boxes = torch.full((1, 4, 4, 4), float("nan"))          # all missing -> central region
    boxes[0, :, 0] = torch.tensor([0.0, 0.0, 0.5, 0.5])     # object 0: top-left quarter
    with torch.no_grad():
        _, aux = model(x, return_aux=True, boxes=boxes)
    maps = aux["saliency"][0]                                 # (N, T, 4, 4)
    assert torch.allclose(maps.sum(dim=(-2, -1)), torch.ones(4, 4))
    assert torch.count_nonzero(maps[0, :, 2:, :]) == 0 and torch.count_nonzero(maps[0, :, :, 2:]) == 0
    assert torch.count_nonzero(maps[1, :, 1:3, 1:3]) == 4 * 4  # central region
    assert_all_parameters_learn(make(cfg), clip(cfg), boxes=boxes.expand(2, -1, -1, -1))


def test_switches_change_the_model_as_described():
    base = make(tiny())
    eab = base.eabs["2"]
    assert eab.esp is not None and eab.stage1.kind == "temporal" and eab.stage2.kind == "spatial"
    assert set(base.eabs) == {"1", "2", "3", "4"} and set(base.sois) == {"5"}

    ident = make(tiny(**{"eab.fusion": "identity"})).eabs["2"]
    assert ident.esp is None and ident.static_matrix is None and ident.shuffle_index is None
    static = make(tiny(**{"eab.fusion": "static"})).eabs["2"]
    assert static.esp is None and torch.equal(static.static_matrix, torch.eye(static.mid))
    shuffle = make(tiny(**{"eab.fusion": "shuffle"})).eabs["3"]
    assert sorted(shuffle.shuffle_index.tolist()) == list(range(shuffle.mid))
    assert shuffle.shuffle_index.tolist() != list(range(shuffle.mid))
    assert make(tiny(**{"eab.block": "incep"})).eabs["2"].esp is None

    assert make(tiny(**{"eab.pool": "none"})).eabs["2"].pool_conv is None
    nodil = make(tiny(**{"eab.dilation": False})).eabs["3"]
    assert nodil.stage2.convs[2].conv.weight.shape[-1] == 5 and nodil.stage2.convs[2].conv.dilation == (1, 1)
    assert nodil.stage1.convs[2].weight.shape[-1] == 5
    dil = make(tiny()).eabs["3"]
    assert dil.stage2.convs[2].conv.dilation == (2, 2) and dil.stage1.convs[2].dilation == 2
    fact = make(tiny(**{"eab.spatial": "1+1"})).eabs["3"].stage2.convs[1].conv
    assert isinstance(fact, nn.Sequential) and [m.kernel_size for m in fact] == [(1, 3), (3, 1)]
    s_block = make(tiny(**{"eab.block": "s_block"})).eabs["3"]
    assert s_block.esp is None and all(c.dilation == 1 for c in s_block.stage1.convs)
    l_block = make(tiny(**{"eab.block": "l_block"})).eabs["3"]
    assert all(c.dilation == 2 for c in l_block.stage1.convs)

    assert make(tiny(**{"soi.regions": "fixed"})).sois["5"].saliency is None
    assert make(tiny(**{"soi.stages": []})).sois.keys() == set()
    placed = make(tiny(**{"eab.stages": [1, 2], "soi.stages": [3, 4, 5]}))
    assert set(placed.eabs) == {"1", "2"} and set(placed.sois) == {"3", "4", "5"}
    assert not placed.sois["3"].final and placed.sois["5"].final


@pytest.mark.parametrize("switch", [k for k in SWITCHES if not SWITCHES[k].get("lmc.enabled")])
def test_every_ablation_switch_changes_the_function(switch):
    """Each switch against the default EAN with the same weights wherever the two share a
    parameter (zero-initialised ones perturbed, so that no path is silenced): the outputs
    must differ. Old test: 2 of the switches."""
    cfg = tiny()
    x = clip(cfg, batch=2)
    torch.manual_seed(0)
    ref = build_model(cfg)
    perturb_zero_params(ref)
    torch.manual_seed(0)
    other = build_model(tiny(**SWITCHES[switch]))
    perturb_zero_params(other)
    shared = {k: v for k, v in ref.state_dict().items()
              if k in other.state_dict() and other.state_dict()[k].shape == v.shape}
    other.load_state_dict(shared, strict=False)
    with torch.no_grad():
        y_ref, y = ref.eval()(x), other.eval()(x)
    assert (y - y_ref).abs().max() > 1e-4 * y_ref.abs().max(), switch


def test_authors_and_paper_semantics_differ_where_the_code_and_the_text_differ():
    lmc = {"lmc.enabled": True, "lmc.latent": None, "lmc.patch": 32}  # each semantics' own latent width
    a = make(tiny(segment_length=5, **lmc))
    p = make(tiny(semantics="paper", segment_length=5, **lmc))
    # order of the EAB stages
    assert (a.eabs["2"].stage1.kind, p.eabs["2"].stage1.kind) == ("temporal", "spatial")
    # ESP-Net 3x3x3 stack (6 convs) vs two 5x5x5 stride-2 convs
    conv3d = lambda m: [c for c in m.eabs["2"].esp.body if isinstance(c, nn.Conv3d)]
    assert [c.kernel_size for c in conv3d(a)] == [(3, 3, 3)] * 6
    assert [(c.kernel_size, c.stride) for c in conv3d(p)] == [((5, 5, 5), (2, 2, 2))] * 2
    # last EAB conv 0.01 x default init (authors) vs zeros (paper)
    assert torch.count_nonzero(a.eabs["2"].expand.weight) > 0
    assert torch.count_nonzero(p.eabs["2"].expand.weight) == 0
    # Saliency-Net layers
    kernels = lambda m: [c.kernel_size for c in m.sois["5"].saliency.net if isinstance(c, nn.Conv3d)]
    assert kernels(a) == [(1, 1, 1), (3, 3, 3), (1, 3, 3), (1, 3, 3)]
    assert kernels(p) == [(1, 1, 1), (3, 1, 1), (1, 5, 5), (1, 1, 1)]
    # FFN with BatchNorm (3 linear layers) vs a plain 2-layer MLP
    count = lambda m: sum(isinstance(l, nn.Linear) for l in m.sois["5"].blocks[0].ffn.net)
    assert (count(a), count(p)) == (3, 2)
    # LMC latent width, patch size, the segment frame the RGB stream sees
    assert (a.lmc.encoder[0].in_features, a.lmc.encoder[0].out_features) == (16 * 16 * 3, 256)
    assert (p.lmc.encoder[0].in_features, p.lmc.encoder[0].out_features) == (32 * 32 * 3, 128)
    assert (a.sparse_frame_index(5), p.sparse_frame_index(5)) == (2, 0)


def test_sparse_frame_is_the_one_the_semantics_names():
    """Changing only frame 0 of every segment changes the paper model's RGB input, not the authors'."""
    for semantics, changes in (("authors", False), ("paper", True)):
        cfg = tiny(semantics=semantics, segment_length=5)  # dense input, RGB-only model
        model = make(cfg).eval()
        x = clip(cfg, batch=1)
        y = x.clone()
        y[:, :, 0::5] += 1.0
        with torch.no_grad():
            assert (not torch.allclose(model(x), model(y))) == changes


def test_introspection_shapes_and_invariants():
    cfg = tiny()
    model = make(cfg).eval()
    x = clip(cfg, batch=2)
    with torch.no_grad():
        logits, aux = model(x, return_aux=True)
        assert torch.allclose(logits, model(x))
    assert len(aux["fusion"]) == 4 and len(aux["kernel_weights"]) == 4
    for eab, m, kw in zip(model.eabs.values(), aux["fusion"], aux["kernel_weights"]):
        assert m.shape == (2, eab.mid, eab.mid)
        assert kw["spatial"].shape == kw["temporal"].shape == (2, 3)
        assert torch.allclose(kw["spatial"].sum(1), m.sum(dim=(1, 2)), atol=1e-4)
    sal = aux["saliency"]
    assert sal.shape == (2, 4, 4, 4, 4)  # (B, N, T, h, w) at 64x64 without stem pool
    assert torch.allclose(sal.sum(dim=(-2, -1)), torch.ones(2, 4, 4), atol=1e-5)
    assert len(aux["attention"]) == 2 and aux["attention"][0].shape == (2, 4, 16, 16)
    assert torch.allclose(aux["attention"][0].sum(-1), torch.ones(2, 4, 16), atol=1e-5)
    assert aux["features"]["stage4"].shape == (2, 64, 4, 8, 8)
    assert aux["features"]["stage5"].shape == (2, 128, 4, 4, 4)
    # the authors' SOI-Tr merge BN starts at zero: the video feature is the plain average
    assert torch.allclose(aux["video_feature"], aux["features"]["stage5"].mean(dim=(2, 3, 4)), atol=1e-5)
    _, aux_all = make(tiny(**{"soi.regions": "all"})).eval()(x, return_aux=True)
    assert aux_all["attention"][0].shape == (2, 4, 64, 64) and "saliency" not in aux_all


def test_paper_semantics_eab_starts_as_identity():
    cfg = tiny(semantics="paper")
    model = make(cfg).eval()
    x = torch.randn(8, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.eabs["1"](x, 4), x)


def test_authors_layout_conversion():
    b, t, l = 2, 4, 5
    frames = torch.randn(b, t * l, 3, 8, 8)
    authors = frames.reshape(b, t * l * 3, 8, 8)      # frames concatenated along channels
    ours = authors_layout_to_clip(authors, l)
    assert ours.shape == (b, 3, t * l, 8, 8)
    assert torch.equal(ours[:, :, 7], frames[:, 7])


def test_bad_inputs_give_clear_errors():
    model = make(tiny()).eval()
    with pytest.raises(ValueError, match=r"expects a clip \(B, 3, T\*L, H, W\)"):
        model(torch.randn(2, 12, 64, 64))
    lmc = make(tiny(segment_length=5, **{"lmc.enabled": True})).eval()
    with pytest.raises(ValueError, match="whole number of 5-frame segments"):
        lmc(torch.randn(1, 3, 12, 64, 64))
    with pytest.raises(ValueError, match="divisible by lmc.patch"):
        lmc(torch.randn(1, 3, 20, 72, 72))   # lmc.patch=16 for the tiny presets
    with pytest.raises(ConfigError, match="unknown model preset") as info:
        get_preset("ean_r51")
    assert "ean_r50_8f_rgb" in info.value.allowed
    with pytest.raises(ConfigError, match="eab.fusion: 'gated' is not allowed") as info:
        tiny(**{"eab.fusion": "gated"})
    assert info.value.allowed == ["dynamic", "static", "shuffle", "identity"]
    with pytest.raises(ConfigError, match="eab.fusions: no such field") as info:
        tiny(**{"eab.fusions": "identity"})
    assert "fusion" in info.value.allowed
    with pytest.raises(ConfigError, match="eab.stages: stages are numbered"):
        tiny(**{"eab.stages": [0, 1]})
    with pytest.raises(ConfigError, match="lmc.enabled: needs segment_length"):
        tiny(**{"lmc.enabled": True})


def test_config_round_trip():
    cfg = get_preset("ean_r50_16f_rgb_lmc")
    again = ModelConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.lmc_variant == "16f" and cfg.copy() == cfg
    assert get_preset("ean_r50_8f_rgb_lmc").lmc_variant == "8f"


@pytest.mark.parametrize("name", ["ean_tiny", "ean_tiny_lmc"])
def test_boxes_of_every_input_frame_are_those_of_the_frames_the_backbone_sees(name):
    cfg = tiny(name, **{"soi.regions": "boxes"})
    model = make(cfg).eval()
    x = clip(cfg, batch=2)
    t, length = cfg.num_segments, cfg.segment_length
    g = torch.Generator().manual_seed(1)
    corner = torch.rand(2, t * length, 4, 2, generator=g) * 0.5
    dense = torch.cat([corner, corner + 0.4], dim=-1)               # (B, T*L, N, 4)
    sparse = dense.view(2, t, length, 4, 4)[:, :, model.sparse_frame_index(length)]
    with torch.no_grad():
        a, aux_a = model(x, return_aux=True, boxes=dense)
        b, aux_b = model(x, return_aux=True, boxes=sparse)
        _, aux_o = model(x, return_aux=True, boxes=dense.roll(1, dims=1))
    assert torch.equal(a, b) and torch.equal(aux_a["saliency"], aux_b["saliency"])
    assert not torch.allclose(aux_a["saliency"], aux_o["saliency"])  # the boxes do steer the regions
