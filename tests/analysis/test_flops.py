"""Params and MACs reproduce the authors' model as measured (reference §13), at full size."""
import json

import pytest
import torch

from ean.analysis.flops import count_config, count_model
from ean.analysis.paper_complexity import read_rows
from ean.cli import main
from ean.models.ean import build_model
from ean.models.presets import get_preset

# (preset, dotted overrides) -> (params, GMACs with fvcore's default handles)
ACCEPTANCE = [
    ("tsn_r50", {}, 23_864_558, 32.879),
    ("baseline_r50", {}, 24_043_218, 33.094),
    ("baseline_r50", {"eab.stages": [1, 2, 3, 4]}, 29_594_544, 35.377),
    ("baseline_r50", {"soi.stages": [5]}, 30_688_598, 33.885),
    ("ean_r50_8f_rgb", {}, 36_239_924, 36.167),
    ("ean_r50_8f_rgb_lmc", {}, 36_986_932, 37.339),
    ("ean_r50_16f_rgb_lmc", {}, 37_332_420, 75.704),
]


@pytest.mark.parametrize("preset,overrides,params,gmacs", ACCEPTANCE)
def test_full_size_counts_match_the_authors_model(preset, overrides, params, gmacs):
    c = count_config(get_preset(preset, set=overrides))
    assert c.params == params
    assert c.macs / 1e9 == pytest.approx(gmacs, rel=2e-4)   # the README: "within 0.02 %"


def test_breakdown_matches_the_measured_modules():
    c = count_config(get_preset("ean_r50_8f_rgb_lmc"))
    gm = {k: v / 1e9 for k, v in c.by_module.items()}
    # reference §13.2, per-module MACs of EAN_8F(RGB+LMC)
    for name, ref in {"backbone.conv1": 0.94, "backbone.layer1": 5.45, "backbone.layer2": 8.34,
                      "backbone.layer3": 11.82, "backbone.layer4": 6.53, "eabs.1": 0.048,
                      "eabs.2": 0.743, "eabs.3": 0.744, "eabs.4": 0.747, "sois.5": 0.79, "lmc": 1.17}.items():
        assert gm[name] == pytest.approx(ref, abs=0.006), name
    assert c.params_by_module["sois.5"] == 6_645_380 and c.params_by_module["lmc"] == 747_008


def test_temporal_conv_is_counted_as_a_depthwise_conv():
    """The registered handle counts 3 MACs per output element of the temporal conv."""
    tsn = get_preset("tsn_tiny", set={"num_segments": 4})
    tconv = tsn.override({"backbone.temporal": "tconv"})
    torch.manual_seed(0)
    a, b = count_model(build_model(tsn)), count_model(build_model(tconv))
    # ResNet-10 at width 16, no stem pool, 64x64: the temporal conv runs on each block input
    expected = 3 * 4 * (16 * 32 * 32 + 16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8)
    assert b.macs - a.macs == expected
    assert b.params - a.params == 3 * (16 + 16 + 32 + 64)


def test_macs_scale_with_frames_and_size():
    cfg = get_preset("baseline_tiny")
    small = count_config(cfg, frames=4, size=64)
    assert count_config(cfg, frames=8, size=64).macs == pytest.approx(2 * small.macs, rel=0.01)
    assert count_config(cfg, frames=4, size=128).macs == pytest.approx(4 * small.macs, rel=0.02)


def test_paper_table_rows_build():
    rows = read_rows()
    assert {r.table for r in rows} == {1, 2, 5, 6, 7, 8, 9, 10}
    for r in rows:
        r.config()  # every row maps onto a valid configuration


def test_cli_json(capsys):
    assert main(["flops", "ean_tiny", "--frames", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out["params"], int) and isinstance(out["macs"], int)
    assert out["frames"] == 4 and out["by_module"]["sois.5"] > 0


def test_cli_set_and_errors(capsys):
    assert main(["flops", "ean_tiny", "--set", "eab.fusion=identity", "--set", "soi.stages=[]", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "sois.5" not in out["by_module"]
    assert main(["flops", "ean_tiny", "--set", "eab.fusion=gated"]) == 2
    assert "eab.fusion: 'gated' is not allowed (allowed: dynamic, static, shuffle, identity)" in capsys.readouterr().err
    assert main(["flops", "ean_tiny", "--set", "nonsense"]) == 2


def test_readme_numbers_of_the_paper_semantics():
    """The README: built literally, the text gives EAN_8F(RGB) 42.4 M / 37.1 GMACs; the authors'
    code 36.2 M / 36.2 G (checked at the README's one decimal; MACs from the complexity stage)."""
    import pandas as pd
    from pathlib import Path

    from ean.models.ean import build_model
    from ean.models.presets import get_preset

    root = Path(__file__).resolve().parents[2]
    text = (root / "README.md").read_text()
    assert "42.4 M parameters / 37.1 GMACs" in text and "36.2 M /\n  36.2 G" in text
    params = {s: sum(p.numel() for p in build_model(get_preset("ean_r50_8f_rgb", set={"semantics": s})).parameters())
              for s in ("paper", "authors")}
    assert round(params["paper"] / 1e6, 1) == 42.4 and round(params["authors"] / 1e6, 1) == 36.2
    cx = pd.read_csv(root / "reports/tables/complexity.csv").set_index(["table", "row"])
    row = cx.loc[(1, "EAN_8F(RGB)")]
    assert round(row["paper_sem_gmacs"], 1) == 37.1 and round(row["ours_gmacs"], 1) == 36.2
