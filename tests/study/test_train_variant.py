"""Training stages: one per variant (its seeds side by side in separate processes) or one
for every run (a pool of workers); each run with a fixed share of the CPU threads (so that a
re-run computes the same numbers)."""
from pathlib import Path

import pytest
import yaml

from ean.errors import UserError
from ean.study.params import load_params
from ean.study.stages import node_threads, run_cost, thread_plan, train_all, train_variant

ROOT = Path(__file__).resolve().parents[2]


def test_thread_plan_is_deterministic_and_shares_the_threads():
    runs = [f"ean-s{s}" for s in range(5)]
    assert thread_plan(runs, 3, 2) == [[("ean-s0", 1), ("ean-s1", 1), ("ean-s2", 1)], [("ean-s3", 1), ("ean-s4", 1)]]
    assert thread_plan(runs[:3], 2, 2) == [[("ean-s0", 1), ("ean-s1", 1)], [("ean-s2", 2)]]
    assert thread_plan(runs[:1], 3, 4) == [[("ean-s0", 4)]]
    assert thread_plan(runs, 1, 2) == [[(r, 2)] for r in runs]


def test_the_thread_budget_is_the_nodes_shared_by_a_launchers_processes(tmp_path, monkeypatch):
    """Under torchrun each rank gets its share of train.threads (old code: every rank took all
    of them, and two CPU ranks on 2 cores ran 23x slower)."""
    params, _ = _smoke_params(tmp_path, threads=4)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert node_threads(params) == 4
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert node_threads(params) == 2
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert node_threads(params) == 1


def _smoke_ready(monkeypatch) -> None:
    """The smoke datasets and pretraining, if absent (seconds)."""
    from ean.study.stages import DECODED_FILE, prepare_dataset
    from ean.study.notebook import ensure_runs

    smoke = load_params(ROOT / "configs/study/profiles/smoke.yaml")
    monkeypatch.chdir(ROOT)
    ensure_runs(smoke, [])
    ds = smoke.datasets["embedded"]
    if not (Path(ds.root) / DECODED_FILE).is_file() or not (smoke.reports_dir / "data" / "embedded.json").is_file():
        prepare_dataset(smoke, "embedded", progress=False)


def test_seeds_of_a_variant_train_in_parallel_processes(tmp_path, monkeypatch):
    _smoke_ready(monkeypatch)
    raw = yaml.safe_load((ROOT / "configs/study/profiles/smoke.yaml").read_text())
    raw["train"].update(jobs=2, threads=2, runs_dir=str(tmp_path / "runs"), reports_dir=str(tmp_path / "reports"))
    raw["variants"]["tsn"]["seeds"] = [0, 1]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    params = load_params(path)
    summaries = train_variant(params, "tsn", progress=False)
    assert sorted(Path(s["run_dir"]).name for s in summaries) == ["tsn-s0", "tsn-s1"]
    for seed in (0, 1):
        cfg = yaml.safe_load((tmp_path / "reports" / "runs" / f"tsn-s{seed}" / "config.yaml").read_text())
        assert cfg["runtime"]["threads"] == 1 and cfg["runtime"]["seed"] == seed
        assert (tmp_path / "reports" / "runs" / f"tsn-s{seed}" / "val_scores.npz").is_file()


def _smoke_params(tmp_path, **train):
    raw = yaml.safe_load((ROOT / "configs/study/profiles/smoke.yaml").read_text())
    raw["train"].update(runs_dir=str(tmp_path / "runs"), reports_dir=str(tmp_path / "reports"), **train)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path), raw


def test_pooled_stages_put_every_run_in_one_stage(tmp_path):
    """train.stages: pooled -> one `train` stage with every run's outputs and every
    variant's params; `variant` (what a profile without the key gets) -> one stage per variant."""
    from ean.study import pipeline

    per_variant, raw = _smoke_params(tmp_path, stages="variant")
    pooled, _ = _smoke_params(tmp_path, stages="pooled")
    a, b = pipeline.stages(per_variant), pipeline.stages(pooled)
    variants = list(per_variant.variants)
    assert [s for s in a if s.startswith("train")] == [f"train_{v}" for v in variants]
    assert [s for s in b if s.startswith("train")] == ["train"]
    assert b["train"]["cmd"].endswith("study train-all --quiet")
    assert b["train"]["params"] == ["train"] + [f"variants.{v}" for v in variants]
    assert sorted(map(str, b["train"]["outs"])) == sorted(map(str, (o for v in variants for o in a[f"train_{v}"]["outs"])))
    for name in ("table01", "claims"):   # the notebooks read the same files either way
        assert a[name] == b[name]
    with pytest.raises(UserError, match="train.stages"):
        _smoke_params(tmp_path, stages="sometimes")


def test_train_all_runs_every_variant_on_the_pool_costliest_first(tmp_path, monkeypatch):
    _smoke_ready(monkeypatch)
    params, raw = _smoke_params(tmp_path, stages="pooled", jobs=2, threads=2)
    keep = {"tsn", "ean_16f"}
    raw["variants"] = {k: v for k, v in raw["variants"].items() if k in keep}
    raw["tables"] = {}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    params = load_params(tmp_path / "params.yaml")
    assert run_cost(params, "ean_16f-s0") > run_cost(params, "tsn-s0")
    summaries = train_all(params, progress=False)
    assert [Path(s["run_dir"]).name for s in summaries] == list(params.runs())
    for run in params.runs():
        cfg = yaml.safe_load((tmp_path / "reports" / "runs" / run / "config.yaml").read_text())
        assert cfg["runtime"]["threads"] == 1     # threads // jobs, whatever the schedule
        assert (tmp_path / "reports" / "runs" / run / "val_scores.npz").is_file()
