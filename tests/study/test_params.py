"""The study profiles: they parse, params.yaml is the default profile, dvc.yaml is current,
and every table row is trained by the variant that is the paper's row at the study's scale."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from ean.analysis.paper_complexity import read_rows
from ean.errors import ConfigError, UserError
from ean.models.ean import EAN
from ean.models.presets import get_preset
from ean.study import pipeline
from ean.study.params import load_params, load_profile, parse_params

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted(p.stem for p in (ROOT / "configs/study/profiles").glob("*.yaml"))


def test_the_four_profiles_exist_and_parse():
    assert PROFILES == ["default", "paper", "smoke", "study"]
    for name in PROFILES:
        params = load_profile(name, ROOT)
        assert params.profile == name
        assert params.runs()


def test_params_yaml_is_the_default_profile_and_dvc_yaml_is_current():
    active = load_params(ROOT / "params.yaml")
    default = load_profile("default", ROOT)
    assert active.raw == default.raw
    assert pipeline.is_current(active, ROOT / "dvc.yaml"), "run `ean study pipeline`"


def test_default_profile_meets_the_seed_requirements():
    """Every variant of the default profile has the same 3 paired seeds, and the core rows
    (Tables 1, 3, 5, 9) are all trained; a row it does not train says why."""
    p = load_profile("default", ROOT)
    for name, variant in p.variants.items():
        assert variant.seeds == [0, 1, 2], name
    core = {"05": None, "03": None, "09": ["Identity (Incep-Block)", "Dynamic Matrix"],
            "01": ["TSM_8F", "EAN_8F(RGB)", "EAN_16F(RGB)", "EAN_En(RGB)", "EAN_8F(RGB+LMC)"]}
    for tid, rows in core.items():
        for row in rows or p.tables[tid].rows:
            assert p.tables[tid].rows[row] is not None, (tid, row)
    for tid, table in p.tables.items():
        for row, spec in table.rows.items():
            if spec is None:
                assert "not tested" in table.missing[row], (tid, row)


def _study_model(params, preset: str, overrides: dict):
    target = params.presets[preset]
    sets = {**(target.get("set") or {}), **{k: v for k, v in overrides.items() if k != "num_classes"}}
    return get_preset(target["preset"], set=sets)


def _variant_model(params, name: str):
    v = params.variants[name.partition("@")[0]]
    model = {k.removeprefix("model."): val for k, val in v.set.items()
             if k.startswith("model.") or k.split(".")[0] not in ("data", "optim", "eval", "runtime")}
    return get_preset(v.preset, set=model)


def _same_function(cfg_a, cfg_b) -> bool:
    """Same parameters (names, shapes) and the same outputs with the same weights."""
    torch.manual_seed(0)
    a, b = EAN(cfg_a).eval(), EAN(cfg_b).eval()
    sa, sb = a.state_dict(), b.state_dict()
    if {k: v.shape for k, v in sa.items()} != {k: v.shape for k, v in sb.items()}:
        return False
    for v in sa.values():  # wake up the zero-initialised branches
        if v.is_floating_point():
            v.add_(torch.randn_like(v) * 0.05)
    b.load_state_dict(sa)
    x = torch.randn(2, 3, cfg_a.num_segments * cfg_a.segment_length, 48, 48)
    with torch.no_grad():
        return torch.allclose(a(x), b(x), atol=1e-5)


@pytest.mark.parametrize("profile", ["default", "smoke", "study"])
def test_every_ablation_row_is_trained_by_its_model(profile):
    params = load_profile(profile, ROOT)
    checked = 0
    for row in read_rows():
        tid = f"{row.table:02d}"
        spec = params.tables.get(tid)
        if spec is None or row.row not in spec.rows:
            continue
        variant = spec.rows[row.row]
        if variant is None:
            assert row.row in spec.missing, f"table {tid} row {row.row}: null without a reason"
            continue
        if isinstance(variant, list):
            continue  # ensembles: their members are checked through their own rows
        want = _study_model(params, row.preset, row.overrides)
        want.num_classes = _variant_model(params, variant).num_classes
        got = _variant_model(params, variant)
        want.name = got.name
        if want.to_dict() != got.to_dict():
            assert _same_function(want, got), f"table {tid} row {row.row!r}: variant {variant} is another model"
        checked += 1
    assert checked >= (9 if profile == "default" else 30)


def test_bad_params_are_rejected_with_the_key_named():
    raw = yaml.safe_load((ROOT / "configs/study/profiles/smoke.yaml").read_text())
    raw["variants"]["tsn"]["colour"] = "red"
    with pytest.raises(ConfigError, match="params.yaml: variants.tsn.colour: unknown setting") as info:
        parse_params(raw)
    assert "seeds" in info.value.allowed and "name" not in info.value.allowed
    raw = yaml.safe_load((ROOT / "configs/study/profiles/smoke.yaml").read_text())
    raw["tables"]["05"]["rows"]["ResNet baseline"] = "nope"
    with pytest.raises(ConfigError, match="'nope' is not allowed") as info:
        parse_params(raw)
    assert info.value.key == "tables.05.rows.ResNet baseline" and "tsn" in info.value.allowed
    raw = yaml.safe_load((ROOT / "configs/study/profiles/smoke.yaml").read_text())
    raw["variants"]["tsn"]["seeds"] = [0, 0]
    with pytest.raises(UserError, match="distinct"):
        parse_params(raw)
