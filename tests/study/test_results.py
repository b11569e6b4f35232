"""Tables from run results: means and stds over seeds, ensembles, the paper's columns equal
to the transcribed values, missing rows marked, nothing filled in by hand."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ean.analysis.literature import literature, paper_accuracy
from ean.engine.scores import EvalResult
from ean.engine.scores import save_scores
from ean.study.params import load_profile
from ean.study.results import build_table
from ean.study.row_accuracy import ensemble_accuracy, mean_std, variant_accuracy
from ean.study.runs import load_runs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def params(tmp_path):
    p = load_profile("default", ROOT)
    p.train.reports_dir = str(tmp_path / "reports")
    return p


def _write_run(reports: Path, run: str, top1: float, top5: float, scores=None, labels=None):
    """A finished run: its summary and validation scores with the given top-1 / top-5 over 100
    videos of 18 classes (or the given scores)."""
    d = reports / "runs" / run
    d.mkdir(parents=True, exist_ok=True)
    (d / "summary.json").write_text(json.dumps({
        "completed": True, "epochs_done": 2, "num_params": 1,
        "last": {"top1": top1, "top5": top5}, "best": {"top1": top1 + 1}}))
    if scores is None:
        labels = np.arange(100) % 18
        scores = np.zeros((100, 18), np.float32)
        for i, lab in enumerate(labels):
            order = [(lab + 1 + j) % 18 for j in range(18)]
            if i < top1:
                order = [lab] + [c for c in order if c != lab]
            elif i < top5:
                order = order[:2] + [lab] + [c for c in order[2:] if c != lab]
            scores[i, order] = np.arange(18, 0, -1)
    res = EvalResult(scores=scores, labels=labels, indices=np.arange(len(labels)),
                     loss=float("nan"), num_views=1)
    save_scores(d / "val_scores.npz", res, [f"c{i}" for i in range(scores.shape[1])])


def test_mean_and_sample_std_over_seeds(params):
    reports = Path(params.reports_dir)
    for seed, acc in zip((0, 1, 2), (40.0, 50.0, 60.0)):
        _write_run(reports, f"ean-s{seed}", acc, acc + 30)
    _write_run(reports, "tsm-s0", 20.0, 50.0)
    runs = load_runs(params)
    assert sorted(runs["run"]) == ["ean-s0", "ean-s1", "ean-s2", "tsm-s0"]
    acc = variant_accuracy(runs)
    assert acc.loc["ean", "top1_mean"] == pytest.approx(50.0)
    assert acc.loc["ean", "top1_std"] == pytest.approx(10.0)   # sample std, ddof=1
    assert acc.loc["ean", "n"] == 3
    assert mean_std(50.0, 10.0, 3) == "50.0 ± 10.0"
    assert mean_std(20.0, float("nan"), 1) == "20.0 (1 seed)"


def test_table5_shows_the_paper_and_ours_side_by_side(params):
    reports = Path(params.reports_dir)
    for seed, acc in zip((0, 1, 2), (61.0, 63.0, 65.0)):
        _write_run(reports, f"ean-s{seed}", acc, 95.0)
    t = build_table("05", params, complexity=False)
    paper = {r["row"]: r for r in paper_accuracy(5)}
    for _, row in t.numbers.iterrows():   # the paper's columns are the transcribed values
        assert row["paper top-1 (Something V1)"] == paper[row["row"]]["top1"]
        assert row["paper top-5 (Something V1)"] == paper[row["row"]]["top5"]
    ours = t.numbers.set_index("row")
    assert ours.loc["ResNet+EABs+SOI-Tr", "ours_top1_mean"] == pytest.approx(63.0)
    assert ours.loc["ResNet+EABs+SOI-Tr", "ours_n"] == 3
    assert np.isnan(ours.loc["ResNet baseline"].get("ours_top1_mean", np.nan))   # not trained: empty
    shown = t.frame.set_index("row")
    col = [c for c in t.frame.columns if c.startswith("ours top-1")][0]
    assert "Something-like embedded set, profile default" in col
    assert shown.loc["ResNet+EABs+SOI-Tr", col] == "63.0 ± 2.0"
    assert shown.loc["ResNet baseline", "note"] == "not trained yet"
    md = t.markdown()
    assert md.startswith("# Table 5") and "63.0 ± 2.0" in md


def test_table1_keeps_the_literature_and_marks_our_reference_rows(params):
    t = build_table("01", params, complexity=False)
    lit = literature(1)
    assert len(t.numbers) == len(lit)   # TSN and TSM_8F are literature rows too
    i3d = t.numbers.set_index("row").loc["I3D"]
    assert i3d["paper V1 top-1"] == 41.6 and i3d["paper V1 top-5"] == 72.2


def test_rows_a_profile_cannot_train_say_why(params):
    t = build_table("07", params, complexity=False)
    row = t.frame.set_index("row").loc["Faster RCNN"]
    assert "boxes" in row["note"]
    row = t.frame.set_index("row").loc["Fixed"]
    assert "not tested in this profile" in row["note"]


def test_a_row_that_stands_in_for_the_papers_says_what_it_is(tmp_path):
    """Table 7's detector row is trained with the generator's oracle boxes in the study
    profile: the row is labelled as such (the variant's label), the paper's value kept."""
    p = load_profile("study", ROOT)
    p.train.reports_dir = str(tmp_path / "reports")
    assert p.tables["07"].rows["Faster RCNN"] == "ean_soi_boxes"
    assert p.variants["ean_soi_boxes"].set == {"soi.regions": "boxes"}
    _write_run(tmp_path / "reports", "ean_soi_boxes-s0", 40.0, 80.0)
    t = build_table("07", p, complexity=False)
    rows = t.frame["row"].tolist()
    assert any(r.startswith("Faster RCNN [ours: oracle boxes") for r in rows), rows
    assert "Our Det-Net" in rows                                  # rows without a label unchanged
    got = t.numbers.set_index("row").loc["Faster RCNN"]
    assert got["paper_top1"] is not None and got["ours_top1_mean"] == pytest.approx(40.0)


def test_ensemble_averages_logits_per_seed(params):
    reports = Path(params.reports_dir)
    labels = np.array([0, 1, 2, 0])
    a = np.array([[2.0, 0, 0], [0, 0, 1.0], [0, 0, 1.0], [0, 1.0, 0]])   # 2/4 right
    b = np.array([[0, 0, 0], [0, 3.0, 0], [0, 0, 1.0], [3.0, 0, 0]])     # 3/4 right (argmax of row 0 is 0)
    _write_run(reports, "ean-s0", 50.0, 100.0, a, labels)
    _write_run(reports, "ean_16f-s0", 75.0, 100.0, b, labels)
    got = ensemble_accuracy(params, ["ean", "ean_16f"])
    mean = (a + b) / 2
    want = 100.0 * float((mean.argmax(1) == labels).mean())
    assert list(got["seed"]) == [0]
    assert got["top1"].iloc[0] == pytest.approx(want)
    t = build_table("01", params, complexity=False)
    row = t.numbers.set_index("row").loc["EAN_En(RGB)"]
    assert row["ours_top1_mean"] == pytest.approx(want)


def test_paper_profile_runs_appear_as_their_own_column(params, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "repo"
    (root / "configs/study/profiles").mkdir(parents=True)
    shutil.copy(ROOT / "configs/study/profiles/paper.yaml", root / "configs/study/profiles/paper.yaml")
    monkeypatch.chdir(root)
    t = build_table("05", params, complexity=False)
    assert not any("paper profile" in c for c in t.frame.columns)
    assert "No run of the `paper` profile" in t.markdown()
    _write_run(root / "reports/paper", "ean-s0", 51.0, 80.0)    # someone trained EAN on Something V1
    t = build_table("05", params, complexity=False)
    col = "ours top-1 (sthv1, paper profile)"
    assert t.frame.set_index("row").loc["ResNet+EABs+SOI-Tr", col] == "51.0 (1 seed)"
    assert t.numbers.set_index("row").loc["ResNet+EABs+SOI-Tr", "real_top1_mean"] == 51.0


def test_a_row_called_none_keeps_its_name_and_complexity(params):
    t = build_table("07", params)
    rows = list(t.frame["row"])
    assert "None" in rows
    none = t.numbers.set_index("row").loc["None"]
    assert none["ours GMACs, paper scale"] == pytest.approx(35.37)
    assert "| None " in t.markdown()
