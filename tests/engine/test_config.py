from pathlib import Path

import pytest
import yaml

from ean.config import apply_overrides
from ean.engine.config import build_config, config_diff, load_config
from ean.errors import ConfigError, UserError

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in CONFIGS if "base" not in p.parts and "profiles" not in p.parts],
                         ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_every_shipped_config_loads_and_round_trips(path):
    cfg = load_config(path)
    assert cfg.data.num_segments == cfg.model.num_segments
    assert cfg.data.segment_length == cfg.model.segment_length
    assert cfg.data.input_size == cfg.model.input_size
    assert cfg.data.seed == cfg.runtime.seed
    again = build_config(yaml.safe_load(cfg.to_yaml()), "again")
    assert again.to_dict() == cfg.to_dict()


def test_paper_settings():
    v1 = load_config(REPO / "configs/sthv1/ean_8f_rgb_lmc.yaml")
    assert (v1.model.name, v1.model.num_classes, v1.model.segment_length, v1.model.lmc.enabled) == \
        ("ean_r50_8f_rgb_lmc", 174, 5, True)
    assert v1.optim.lr == 0.01 and v1.optim.epochs == 70 and v1.optim.milestones == [41, 51, 61]
    assert v1.optim.weight_decay == 5e-4 and v1.optim.clip_grad_norm == 20 and v1.model.dropout == 0.5
    k400 = load_config(REPO / "configs/k400/ean_16f_rgb_lmc.yaml")
    assert k400.optim.weight_decay == 1e-4 and k400.eval.protocol == "10x3" and k400.model.num_segments == 16
    assert load_config(REPO / "configs/diving48/ean_16f_rgb_lmc.yaml").eval.protocol == "2clip"


def test_overrides_are_typed_yaml_values(tmp_path):
    cfg = load_config(REPO / "configs/study/ean_tiny.yaml",
                      ["optim.base_lr=0.02", "optim.milestones=[2, 3]", "model.eab.fusion=identity",
                       "data.root=/data/x", "runtime.channels_last=true", "optim.clip_grad_norm=null"])
    assert cfg.optim.base_lr == 0.02 and cfg.optim.milestones == [2, 3]
    assert cfg.model.eab.fusion == "identity" and cfg.data.root == "/data/x"
    assert cfg.runtime.channels_last is True and cfg.optim.clip_grad_norm is None
    study = yaml.safe_load((REPO / "configs/study/base.yaml").read_text())["optim"]
    assert cfg.optim.batch_size == study["batch_size"] and cfg.optim.base_batch == study["base_batch"]
    assert cfg.optim.lr == pytest.approx(0.02 * study["batch_size"] / study["base_batch"])   # linear scaling


def test_inherit_merges_deeply(tmp_path):
    (tmp_path / "a.yaml").write_text("model: {preset: tsn_tiny, num_classes: 18}\noptim: {epochs: 5, gamma: 0.5}\n")
    (tmp_path / "b.yaml").write_text("inherit: a.yaml\noptim: {epochs: 7}\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert cfg.optim.epochs == 7 and cfg.optim.gamma == 0.5 and cfg.model.name == "tsn_tiny"
    (tmp_path / "loop.yaml").write_text("inherit: loop.yaml\n")
    with pytest.raises(UserError, match="loop"):
        load_config(tmp_path / "loop.yaml")


@pytest.mark.parametrize("override,key,allowed,reason", [
    ("optim.bogus=1", "optim.bogus", "epochs", "unknown setting"),
    ("optim.epochs=many", "optim.epochs", None, "must be int, got 'many'"),
    ("optim.schedule=linear", "optim.schedule", "cosine", "'linear' is not allowed"),
    ("eval.protocol=5clip", "eval.protocol", "10x3", "'5clip' is not allowed"),
    ("runtime.precision=fp8", "runtime.precision", "bf16", "'fp8' is not allowed"),
    ("optim.base_lr=-1", "optim.base_lr", None, "must be > 0"),
    ("model.eab.fusion=magic", "model.eab.fusion", "identity", "'magic' is not allowed"),
    ("model.eab.bogus=1", "model.eab.bogus", "fusion", "unknown setting"),
    ("model.preset=nope", "model.preset", "ean_tiny", "unknown model preset 'nope'"),
    ("data.format=mpeg", "data.format", "sthv2", "'mpeg' is not allowed"),
    ("data.num_segments=16", "data.num_segments", None, "16 does not match model.num_segments=8"),
])
def test_errors_name_the_file_the_key_and_the_allowed_values(override, key, allowed, reason):
    with pytest.raises(ConfigError, match=reason) as info:
        load_config(REPO / "configs/study/ean_tiny.yaml", [override])
    error = info.value
    assert isinstance(error, UserError)
    assert error.file.endswith("ean_tiny.yaml") and error.key == key
    assert (allowed in error.allowed) if allowed else error.allowed is None
    assert str(error).startswith(f"{error.file}: {key}: ")


@pytest.mark.parametrize("override,message", [
    ("nosection.x=1", r"must be a section followed by a field"),
    ("optim.epochs", r"key=value"),
])
def test_malformed_overrides(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(REPO / "configs/study/ean_tiny.yaml", [override])


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    with pytest.raises(UserError, match="bad.yaml: not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "top.yaml").write_text("modle: {}\n")
    with pytest.raises(UserError, match="unknown section"):
        load_config(tmp_path / "top.yaml")


def test_config_diff():
    assert config_diff({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}, "d": 1}) == ["a.c", "d"]
    raw = {}
    apply_overrides(raw, ["optim.epochs=3"])
    assert raw == {"optim": {"epochs": 3}}
