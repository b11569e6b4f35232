"""Checkpoint conversion from the authors' EAN-Pytorch layout, and our checkpoint files.

The authors' code is not needed: ``to_authors`` below is an independent inverse of the
converter, written from the authors' module names and weight shapes, so that converting
its output back must reproduce our weights (and logits) exactly. The numerical check
against the authors' own code is ``tools/check_official_equivalence.py``.
"""
from __future__ import annotations

import os
import re

import pytest
import torch
import torch.nn as nn

from ean.cli import main as cli_main
from ean.models.ean import EAN, authors_layout_to_clip, build_model
from ean.models.checkpoint import (CheckpointFormatError, load_model, read_checkpoint, save_model_checkpoint,
                                   sidecar, write_checkpoint)
from ean.models.convert_official import (RULES, convert_official, convert_state_dict, infer_preset, is_dead,
                                         map_key, strip_prefixes)
from ean.models.presets import get_preset

# ------------------------------------------------------------------------------- helpers
# our key pattern -> (authors' key, how our tensor becomes theirs)
_5D = lambda t: t[..., None] if t.dim() == 4 else t  # noqa: E731  (o, i, 1, 1) -> (o, i, 1, 1, 1)
_LIN = lambda t: t[..., None, None, None] if t.dim() == 2 else t  # noqa: E731  Linear -> 1x1x1 conv
_INVERSE = [
    (r"^fc\.(.+)$", r"new_fc.\1", None),
    (r"^backbone\.(conv1|bn1)\.(.+)$", r"base_model.\1.\2", None),
    (r"^backbone\.(layer\d\.\d+)\.tconv\.weight$", r"base_model.\1.t_conv.conv.weight", lambda t: t[:, None]),
    (r"^backbone\.(layer\d\.\d+)\.me\.reduce\.(.+)$", r"base_model.\1.me.conv1.\2", None),
    (r"^backbone\.(layer\d\.\d+)\.me\.reduce_bn\.(.+)$", r"base_model.\1.me.bn1.\2", None),
    (r"^backbone\.(layer\d\.\d+)\.me\.diff_conv\.(.+)$", r"base_model.\1.me.conv2.\2", None),
    (r"^backbone\.(layer\d\.\d+)\.me\.expand\.(.+)$", r"base_model.\1.me.conv3.\2", None),
    (r"^backbone\.(layer\d\.\d+)\.me\.expand_bn\.(.+)$", r"base_model.\1.me.bn3.\2", None),
    (r"^backbone\.(.+)$", r"base_model.\1", None),
    (r"^eabs\.(\d)\.compress\.(.+)$", r"base_model.relation\1.compress_c1.\2", _5D),
    (r"^eabs\.(\d)\.expand\.(.+)$", r"base_model.relation\1.expand_c1.\2", _5D),
    (r"^eabs\.(\d)\.stage1\.convs\.(\d)\.weight$", None, lambda t: t[..., None, None]),  # see _name
    (r"^eabs\.(\d)\.stage2\.convs\.(\d)\.conv\.weight$", None, lambda t: t[:, :, None]),
    (r"^eabs\.(\d)\.inter_bn\.(.+)$", r"base_model.relation\1.non_linear.0.\2", None),
    (r"^eabs\.(\d)\.pool_conv\.(.+)$", r"base_model.relation\1.max_project.\2", _5D),
    (r"^eabs\.(\d)\.esp\.reduce\.(.+)$", r"base_model.relation\1.p_prod1.0.\2", _5D),
    (r"^eabs\.(\d)\.esp\.reduce_bn\.(.+)$", r"base_model.relation\1.p_prod1.1.\2", None),
    (r"^eabs\.(\d)\.esp\.body\.(\d+)\.(.+)$", None, None),
    (r"^eabs\.(\d)\.esp\.fc\.(.+)$", r"base_model.relation\1.p_prod2.0.\2", None),
    (r"^sois\.5\.squeeze\.(.+)$", r"base_model.sparse_transformer.squeeze_l.\1", _5D),
    (r"^sois\.5\.expand\.(.+)$", r"base_model.sparse_transformer.expand_l.\1", None),
    (r"^sois\.5\.saliency\.net\.(.+)$", r"base_model.sparse_transformer.score_predictor.\1", None),
    (r"^sois\.5\.pos_embedding$", r"base_model.sparse_transformer.pos_embedding", None),
    (r"^sois\.5\.out_bn\.(.+)$", r"base_model.sparse_transformer.Tr_BN.\1", None),
    (r"^sois\.5\.blocks\.(\d)\.norm1\.(.+)$", r"base_model.sparse_transformer.transformer.layers.\1.0.fn.norm.\2", None),
    (r"^sois\.5\.blocks\.(\d)\.attn\.qkv\.(.+)$", r"base_model.sparse_transformer.transformer.layers.\1.0.fn.fn.to_qkv.\2", None),
    (r"^sois\.5\.blocks\.(\d)\.attn\.proj\.(.+)$", r"base_model.sparse_transformer.transformer.layers.\1.0.fn.fn.to_out.0.\2", None),
    (r"^sois\.5\.blocks\.(\d)\.norm2\.(.+)$", r"base_model.sparse_transformer.transformer.layers.\1.1.fn.norm.\2", None),
    (r"^sois\.5\.blocks\.(\d)\.ffn\.net\.(.+)$", r"base_model.sparse_transformer.transformer.layers.\1.1.fn.fn.net.\2", None),
    (r"^lmc\.encoder\.(.+)$", r"base_model.stm_proj1.\1", _LIN),
    (r"^lmc\.block1\.(.+)$", r"base_model.stm_st_model1.\1", None),
    (r"^lmc\.block2\.(.+)$", r"base_model.stm_st_model2.\1", None),
    (r"^lmc\.decoder\.(.+)$", r"base_model.proj_back.\1", _LIN),
    (r"^lmc\.branch\.net\.(.+)$", r"base_model.stack_diff_motion.\1", None),
]


def _name(key: str, match: re.Match, template) -> str:
    if template is not None:
        return match.expand(template)
    if ".stage1." in key:  # temporal kernels: t_part2 (kernel 3) / t_part3 (kernel 3, dilation 2)
        return f"base_model.relation{match[1]}.t_part{int(match[2]) + 1}_conv.weight"
    if ".stage2." in key:
        return f"base_model.relation{match[1]}.s_part{int(match[2]) + 1}_conv.weight"
    return f"base_model.relation{match[1]}.p_prod1.{int(match[2]) + 3}.{match[3]}"  # ESP body


def _bn(prefix: str, channels: int) -> dict:
    return {f"{prefix}.weight": torch.rand(channels), f"{prefix}.bias": torch.randn(channels),
            f"{prefix}.running_mean": torch.randn(channels), f"{prefix}.running_var": torch.rand(channels) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(7)}


def to_authors(model: EAN, wrap: str = "module.") -> dict:
    """Our weights in the authors' TemporalModel naming and shapes, with their dead
    parameters (stem bn2, EAB bn2, the 8-frame LMC's stm_proj2) added, as DataParallel
    saves them."""
    out = {}
    for key, value in model.state_dict().items():
        for pattern, template, reshape in _INVERSE:
            match = re.match(pattern, key)
            if match:
                out[_name(key, match, template)] = reshape(value) if reshape else value
                break
        else:
            raise AssertionError(f"no inverse rule for {key}")
    out.update(_bn("base_model.bn2", 2 * model.cfg.backbone.width))
    for s, eab in model.eabs.items():
        out.update(_bn(f"base_model.relation{s}.bn2", eab.compress.in_channels))
    if model.lmc is not None and model.lmc.branch is None:
        latent = model.cfg.lmc_latent
        out["base_model.stm_proj2.0.weight"] = torch.randn(latent, 2 * latent, 1, 1, 1)
        out.update(_bn("base_model.stm_proj2.1", latent))
    return {wrap + k: v for k, v in out.items()}


@torch.no_grad()
def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter and BN statistic random (so that no path is zero or an identity)."""
    g = torch.Generator().manual_seed(seed)
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if not t.is_floating_point():
            continue
        if name.endswith("running_var"):
            t.copy_(torch.rand(t.shape, generator=g) + 0.5)
        elif t.dim() >= 2:
            t.copy_(torch.randn(t.shape, generator=g) / t[0].numel() ** 0.5)
        else:
            t.copy_(torch.randn(t.shape, generator=g) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    return model.eval()


def _save_authors(path, state: dict) -> None:
    torch.save({"epoch": 70, "arch": "resnet50", "state_dict": state, "best_prec1": torch.tensor(53.4)}, path)


def _same_state(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ------------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("preset", ["ean_tiny_lmc", "ean_tiny"])
def test_convert_roundtrip_gives_identical_logits(tmp_path, preset):
    torch.manual_seed(0)
    ours = randomise(EAN(get_preset(preset)))
    src, dst = tmp_path / "authors.pth.tar", tmp_path / "ours.pt"
    _save_authors(src, to_authors(ours))
    result = convert_official(src, dst, preset=preset)
    assert result["source"]["epoch"] == 70 and result["source"]["arch"] == "resnet50"
    assert result["source"]["best_prec1"] == pytest.approx(53.4)
    loaded = load_model(dst)
    _same_state(loaded.state_dict(), ours.state_dict())
    length = ours.cfg.segment_length
    x = torch.randn(1, 8 * length * 3, 64, 64)  # the authors' layout
    with torch.no_grad():
        assert torch.equal(loaded(authors_layout_to_clip(x, length)), ours(authors_layout_to_clip(x, length)))


def test_convert_16f_lmc_variant_and_nested_prefixes():
    """The 16-frame LMC (two-layer encoder/decoder, 2D difference branch), keys wrapped
    twice (DDP inside DataParallel), a bare state dict (no 'state_dict' entry)."""
    cfg = get_preset("ean_tiny_lmc", set={"lmc.variant": "16f"})
    ours = randomise(EAN(cfg), seed=1)
    state = {strip_prefixes(k): v for k, v in to_authors(ours, wrap="module.module.").items()}
    assert "stack_diff_motion.0.weight" in state and "stm_proj1.3.weight" in state
    converted = convert_state_dict(state, EAN(cfg))
    _same_state(converted, ours.state_dict())


@pytest.mark.parametrize("preset,frames,keys", [("ean_r50_8f_rgb_lmc", 8, 932), ("ean_r50_16f_rgb_lmc", 16, 953)])
def test_full_size_key_mapping(preset, frames, keys):
    """Full-size models, no forward pass: the authors' key set has the size their code
    produces (932 / 953 state-dict entries of TemporalModel), the model is inferred from
    the keys, and the mapping is a bijection onto our state dict."""
    ours = EAN(get_preset(preset, num_classes=174))
    state = {strip_prefixes(k): v for k, v in to_authors(ours).items()}
    assert len(state) == keys
    shapes = {"new_fc.weight": (174, 2048), "layer1.0.t_conv.conv.weight": (64, 1, 3),
              "layer4.2.me.conv2.weight": (32, 1, 3, 3), "relation1.p_prod2.0.weight": (256, 4),
              "relation4.p_prod2.0.weight": (65536, 64), "relation4.t_part3_conv.weight": (86, 86, 3, 1, 1),
              "relation4.s_part2_conv.weight": (85, 85, 1, 3, 3), "relation2.compress_c1.weight": (64, 64, 1, 1, 1),
              "sparse_transformer.pos_embedding": (512, frames * 49),
              "sparse_transformer.transformer.layers.1.0.fn.fn.to_qkv.weight": (1536, 512),
              "stm_proj1.0.weight": (256, 768, 1, 1, 1), "proj_back.0.weight": ((1024 if frames == 8 else 256), 256, 1, 1, 1)}
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert infer_preset(state) == (preset, 174)
    rgb = {k: v for k, v in state.items() if not k.startswith(("stm_", "proj_back", "stack_diff"))}
    assert infer_preset(rgb) == (preset.replace("_lmc", ""), 174)
    _same_state(convert_state_dict(state, ours), ours.state_dict())


def test_key_rules_rename_a_small_authors_state_dict_and_drop_the_dead_layers():
    t = torch.zeros(1)
    authors = {
        "module.new_fc.weight": "fc.weight",
        "module.base_model.conv1.weight": "backbone.conv1.weight",
        "module.base_model.layer2.1.t_conv.conv.weight": "backbone.layer2.1.tconv.weight",
        "module.base_model.layer3.0.me.bn3.running_var": "backbone.layer3.0.me.expand_bn.running_var",
        "module.base_model.layer4.0.downsample.1.bias": "backbone.layer4.0.downsample.1.bias",
        "module.base_model.relation2.s_part3_conv.weight": "eabs.2.stage2.convs.2.conv.weight",
        "module.base_model.relation1.p_prod1.1.weight": "eabs.1.esp.reduce_bn.weight",
        "module.base_model.relation1.p_prod1.3.weight": "eabs.1.esp.body.0.weight",
        "module.base_model.relation4.p_prod1.19.running_mean": "eabs.4.esp.body.16.running_mean",
        "module.base_model.sparse_transformer.transformer.layers.1.0.fn.fn.to_out.0.bias": "sois.5.blocks.1.attn.proj.bias",
        "module.base_model.stm_st_model2.3.weight": "lmc.block2.3.weight",
    }
    dead = ["module.base_model.bn2.weight", "module.base_model.relation3.bn2.running_mean",
            "module.base_model.stm_proj2.0.weight"]
    state = {strip_prefixes(k): t for k in [*authors, *dead]}
    renamed = {map_key(k): k for k in state if not is_dead(k)}
    assert renamed == {ours: strip_prefixes(k) for k, ours in authors.items()}
    assert sorted(k for k in state if is_dead(k)) == sorted(strip_prefixes(k) for k in dead)
    # a ReLU position of the ESP body holds no weights: no rule, so an unmatched key
    assert map_key("relation1.p_prod1.5.weight") is None and map_key("relation1.bn2.weight") is None


def test_every_key_rule_is_used_by_the_released_models():
    """Each row of the table renames some key of the 8- or 16-frame RGB+LMC model; the one
    exception is the classifier without dropout (``base_model.fc``)."""
    used = set()
    for preset in ("ean_r50_8f_rgb_lmc", "ean_r50_16f_rgb_lmc"):
        for key in (strip_prefixes(k) for k in to_authors(EAN(get_preset(preset, num_classes=4)))):
            used.update(i for i, (pattern, _) in enumerate(RULES) if pattern.match(key) and not is_dead(key)
                        and not any(p.match(key) for p, _ in RULES[:i]))
    assert [RULES[i][0].pattern for i in range(len(RULES)) if i not in used] == [r"^fc\.(weight|bias)$"]


def test_convert_names_unmatched_and_missing_keys(tmp_path):
    ours = randomise(EAN(get_preset("ean_tiny")))
    state = to_authors(ours)
    state["module.base_model.relation2.foo_conv.weight"] = torch.zeros(3)
    del state["module.base_model.layer1.0.me.conv3.weight"]
    src = tmp_path / "a.pth.tar"
    _save_authors(src, state)
    with pytest.raises(CheckpointFormatError) as info:
        convert_official(src, tmp_path / "b.pt", preset="ean_tiny")
    message = str(info.value)
    assert "relation2.foo_conv.weight" in message and "backbone.layer1.0.me.expand.weight" in message
    assert not (tmp_path / "b.pt").exists()


def test_convert_shape_mismatch_and_inference_errors(tmp_path):
    ours = randomise(EAN(get_preset("ean_tiny")))
    state = to_authors(ours)
    src = tmp_path / "a.pth.tar"
    _save_authors(src, state)
    with pytest.raises(CheckpointFormatError, match="give --preset"):  # tiny: 4x4 maps, not 7x7
        convert_official(src, tmp_path / "b.pt")
    with pytest.raises(CheckpointFormatError, match="new_fc.weight"):  # wrong class count
        convert_official(src, tmp_path / "b.pt", preset="ean_tiny", num_classes=5)
    torch.save([1, 2, 3], src)
    with pytest.raises(CheckpointFormatError, match="not an authors' checkpoint"):
        convert_official(src, tmp_path / "b.pt", preset="ean_tiny")
    with pytest.raises(FileNotFoundError):
        convert_official(tmp_path / "missing.pth.tar", tmp_path / "b.pt")


def test_cli_convert_official(tmp_path, capsys):
    ours = randomise(EAN(get_preset("ean_tiny")))
    src, dst = tmp_path / "a.pth.tar", tmp_path / "out" / "b.pt"
    _save_authors(src, to_authors(ours))
    assert cli_main(["convert-official", str(src), str(dst), "--preset", "ean_tiny"]) == 0
    assert "ean_tiny" in capsys.readouterr().out
    _same_state(load_model(dst).state_dict(), ours.state_dict())
    assert cli_main(["convert-official", str(src), str(dst)]) == 2  # cannot infer a tiny model
    assert "give --preset" in capsys.readouterr().err
    assert cli_main(["convert-official", str(tmp_path / "nope"), str(dst), "--preset", "ean_tiny"]) == 2
    assert cli_main(["convert-official", str(src), str(dst), "--preset", "ean_tiny", "--num-classes", "0"]) == 2


# ------------------------------------------------------------------------------- our files
def test_save_load_roundtrip(tmp_path):
    model = randomise(EAN(get_preset("ean_tiny_lmc")))
    path = save_model_checkpoint(model, tmp_path / "sub" / "m.pt", class_names=["a", "b"], epoch=3)
    raw = torch.load(path, weights_only=True)
    assert raw["class_names"] == ["a", "b"] and raw["epoch"] == 3
    loaded = load_model(path)
    assert not loaded.training and loaded.cfg.to_dict() == model.cfg.to_dict()
    x = torch.randn(1, 3, 40, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_load_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(2048))
    with pytest.raises(CheckpointFormatError, match="cannot be read"):
        load_model(garbage)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointFormatError, match="empty"):
        load_model(empty)
    model = EAN(get_preset("tsn_tiny"))
    good = save_model_checkpoint(model, tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointFormatError, match="cannot be read"):
        load_model(truncated)
    no_config = tmp_path / "no_config.pt"
    torch.save({"model": model.state_dict()}, no_config)
    with pytest.raises(CheckpointFormatError, match="model_config"):
        load_model(no_config)
    not_dict = tmp_path / "list.pt"
    torch.save([model.state_dict()], not_dict)
    with pytest.raises(CheckpointFormatError, match="expected a dict"):
        load_model(not_dict)
    wrong = tmp_path / "wrong.pt"
    state = model.state_dict()
    state.pop("fc.bias")
    torch.save({"model": state, "model_config": model.cfg.to_dict()}, wrong)
    with pytest.raises(CheckpointFormatError, match="fc.bias"):
        load_model(wrong)
    bad_cfg = tmp_path / "bad_cfg.pt"
    torch.save({"model": model.state_dict(), "model_config": {"no_such_field": 1}}, bad_cfg)
    with pytest.raises(CheckpointFormatError, match="model_config is not valid"):
        load_model(bad_cfg)
    # the authors' raw format is recognised as "not converted yet"
    authors = tmp_path / "authors.pth.tar"
    _save_authors(authors, {"module.new_fc.weight": torch.zeros(2, 2)})
    with pytest.raises(CheckpointFormatError, match="convert-official"):
        load_model(authors)


def test_checkpoint_files_are_written_atomically_and_checked(tmp_path):
    model = EAN(get_preset("tsn_tiny"))
    path = tmp_path / "m.pt"
    sidecar(path).write_text("0" * 64 + "\n")  # left over from an earlier file at this path
    save_model_checkpoint(model, path, class_names=["a"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # no temporary file, no stale digest
    assert read_checkpoint(path)["class_names"] == ["a"]
    state = {"model": model.state_dict(), "model_config": model.cfg.to_dict(), "epoch": 2}
    write_checkpoint(state, path)  # with its digest, as the training engine writes
    assert sidecar(path).is_file() and load_model(path).cfg.name == "tsn_tiny"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match="corrupt or truncated"):
        load_model(path)


def test_top_level_names():
    import ean

    assert ean.load_checkpoint is load_model and ean.save_checkpoint is save_model_checkpoint


class _Malicious:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_load_model_refuses_code_execution(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": _Malicious(str(marker)), "model_config": {}}, path)
    with pytest.raises(CheckpointFormatError, match="weights_only=True"):
        load_model(path)
    with pytest.raises(CheckpointFormatError):
        convert_official(path, tmp_path / "out.pt")
    assert not marker.exists()
    torch.load(path, weights_only=False)  # sanity: the file really runs code when unpickled
    assert marker.exists()


def test_a_checkpoint_loads_where_its_imagenet_file_does_not_exist(tmp_path):
    """The weights come from the checkpoint: a pretrained path recorded at training time is not read."""
    from ean.engine.trained import load_trained
    from ean.models.ean import build_model
    from ean.models.presets import get_preset

    model = build_model(get_preset("tsn_tiny"))
    model.cfg.backbone.pretrained = str(tmp_path / "gone" / "resnet10.pth")
    path = save_model_checkpoint(model, tmp_path / "ckpt.pt")
    x = torch.randn(1, 3, 8, 64, 64)
    with torch.no_grad():
        ref = model.eval()(x)
        assert torch.equal(load_model(path)(x), ref)
        assert torch.equal(load_trained(path)[0](x), ref)


def test_export_backbone_feeds_backbone_pretrained(tmp_path):
    from ean.models.export import backbone_weights, export_backbone

    torch.manual_seed(0)
    trained = build_model(get_preset("baseline_tiny"))
    save_model_checkpoint(trained, tmp_path / "trained.pt")
    info = export_backbone(tmp_path / "trained.pt", tmp_path / "r10.pth")
    assert info["depth"] == 10 and info["width"] == 16
    weights = torch.load(tmp_path / "r10.pth", weights_only=True)
    assert not any(part in k.split(".") for k in weights for part in ("me", "tconv", "tsm"))
    assert "conv1.weight" in weights and "layer4.0.bn2.running_var" in weights
    # an EAN starts from those 2D weights; its temporal modules stay fresh
    ean = build_model(get_preset("ean_tiny", set={"backbone.pretrained": str(tmp_path / "r10.pth")}))
    own = ean.backbone.state_dict()
    for k, v in backbone_weights(trained).items():
        assert torch.equal(own[k], v), k


def test_cli_export_backbone(tmp_path, capsys):
    save_model_checkpoint(build_model(get_preset("baseline_tiny")), tmp_path / "trained.pt")
    assert cli_main(["export-backbone", str(tmp_path / "trained.pt"), str(tmp_path / "out" / "r10.pth")]) == 0
    assert "ResNet-10 width 16" in capsys.readouterr().out and (tmp_path / "out" / "r10.pth").is_file()
    assert cli_main(["export-backbone", str(tmp_path / "nope.pt"), str(tmp_path / "x.pth")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert cli_main(["export-backbone", str(tmp_path / "bad.pt"), str(tmp_path / "x.pth")]) == 2
    assert "cannot be read" in capsys.readouterr().err and not (tmp_path / "x.pth").exists()


def test_lmc_patch_follows_the_network_stride():
    model = build_model(get_preset("ean_tiny_lmc", input_size=48))       # patch 16: 3x3 latent grid
    assert model(torch.randn(1, 3, 8 * 5, 48, 48)).shape == (1, 16)
    with pytest.raises(ValueError, match="lmc.patch"):
        build_model(get_preset("ean_tiny_lmc", set={"lmc.patch": 15}))
