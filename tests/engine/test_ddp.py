"""DDP with two CPU processes (gloo) through torchrun: same global batch, same result; resuming
with another number of processes; the run directory must be shared by all processes."""
from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ean.errors import UserError
from ean.engine import checkpoint as ckpt
from ean.engine import distributed
from ean.engine.run_dir import check_run_dir
from ean.engine.distributed import DistInfo

from .conftest import PYTHON, ean_env, make_raw_config, write_config

WORKER = Path(__file__).with_name("ddp_worker.py")


def _run(cmd, cwd):
    proc = subprocess.run(cmd, env=ean_env(), cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _torchrun(nproc: int) -> list[str]:
    torchrun = shutil.which("torchrun")
    return ([torchrun] if torchrun else [PYTHON, "-m", "torch.distributed.run"]) + \
        ["--standalone", "--nproc_per_node", str(nproc)]


def _raw(easy_root, **runtime) -> dict:
    return make_raw_config(easy_root, optim={"epochs": 2, "batch_size": 4, "base_lr": 0.1, "milestones": [1]},
                           eval={"batch_size": 3}, runtime=runtime)


@pytest.fixture(scope="module")
def one_process_run(easy_root, tmp_path_factory) -> Path:
    """The reference: the BN-free model trained by one process (2 epochs x 3 steps)."""
    tmp = tmp_path_factory.mktemp("one")
    config = write_config(tmp / "config.yaml", _raw(easy_root))
    _run([PYTHON, str(WORKER), str(config), str(tmp / "run")], tmp)
    return tmp / "run"


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_two_processes_match_one(easy_root, tmp_path, one_process_run):
    config = write_config(tmp_path / "config.yaml", _raw(easy_root))
    one, two = one_process_run, tmp_path / "two"
    _run(_torchrun(2) + [str(WORKER), str(config), str(two)], tmp_path)

    name = "epoch002_step00000006.pt"
    a = ckpt.load_checkpoint_file(one / "checkpoints" / name, required=ckpt.TRAINING_KEYS)
    b = ckpt.load_checkpoint_file(two / "checkpoints" / name, required=ckpt.TRAINING_KEYS)
    assert b["world_size"] == 2 and set(b["rng"]["ranks"]) == {"0", "1"}
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=1e-4, atol=1e-5)
        assert not torch.equal(a["model"][key], ckpt.load_checkpoint_file(
            one / "checkpoints" / "epoch001_step00000003.pt")["model"][key])  # it did train
    # epoch metrics are reduced over both processes (and written once)
    rows_a = list(csv.DictReader((one / "metrics.csv").open()))
    rows_b = list(csv.DictReader((two / "metrics.csv").open()))
    assert len(rows_b) == 2
    for ra, rb in zip(rows_a, rows_b):
        assert float(ra["train_loss"]) == pytest.approx(float(rb["train_loss"]), rel=1e-4)
        assert float(ra["train_top1"]) == pytest.approx(float(rb["train_top1"]))
        assert float(ra["val_top1"]) == pytest.approx(float(rb["val_top1"]))
        assert float(ra["val_loss"]) == pytest.approx(float(rb["val_loss"]), rel=1e-4)
    # validation scores gathered from both ranks cover every video once
    sa, sb = np.load(one / "val_scores.npz"), np.load(two / "val_scores.npz")
    assert sb["indices"].tolist() == sorted(set(sb["indices"].tolist())) == sa["indices"].tolist()
    np.testing.assert_allclose(sa["scores"], sb["scores"], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_resume_with_another_number_of_processes_reshards(easy_root, tmp_path, one_process_run):
    """Stopped mid-epoch by two processes, finished by one: each step sees the same samples
    (re-sharded), so with a BN-free model the run ends as the one-process reference, and the
    epoch's metrics include the running sums of both old processes."""
    config = write_config(tmp_path / "config.yaml", _raw(easy_root))
    first = write_config(tmp_path / "first.yaml", _raw(easy_root, max_steps=4))   # epoch 2, batch 1 of 3
    run = tmp_path / "run"
    _run(_torchrun(2) + [str(WORKER), str(first), str(run)], tmp_path)
    stopped = ckpt.load_checkpoint_file(ckpt.list_checkpoints(run / "checkpoints")[0], required=ckpt.TRAINING_KEYS)
    assert (stopped["world_size"], stopped["global_step"], stopped["batch_in_epoch"]) == (2, 4, 1)
    assert set(stopped["metrics"]["partial_epoch"]) == {"0", "1"}
    proc = _run([PYTHON, str(WORKER), str(config), str(run), "--resume"], tmp_path)
    assert "written by 2 process(es), this run has 1" in proc.stderr   # old code: silent
    name = "epoch002_step00000006.pt"
    ref = ckpt.load_checkpoint_file(one_process_run / "checkpoints" / name, required=ckpt.TRAINING_KEYS)
    out = ckpt.load_checkpoint_file(run / "checkpoints" / name, required=ckpt.TRAINING_KEYS)
    assert out["world_size"] == 1
    for key in ref["model"]:
        torch.testing.assert_close(out["model"][key], ref["model"][key], rtol=1e-4, atol=1e-5)
    rows_ref = list(csv.DictReader((one_process_run / "metrics.csv").open()))
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert len(rows) == 2
    for a, b in zip(rows_ref, rows):   # old code: epoch 2 counted rank 0's share of step 4 only
        assert float(b["train_loss"]) == pytest.approx(float(a["train_loss"]), rel=1e-4)
        assert float(b["train_top1"]) == pytest.approx(float(a["train_top1"]))


def test_a_run_directory_not_shared_by_all_processes_is_an_error(tmp_path, monkeypatch):
    """Rank 1 of 2 cannot see the marker file rank 0 wrote (as on another machine's local disk)."""
    seen = {}

    def gather(obj, info):
        seen["rank1"] = obj
        return [(True, "node-a"), obj]

    monkeypatch.setattr(distributed, "broadcast_object", lambda obj, info, src=0: "0123abcd")
    monkeypatch.setattr(distributed, "barrier", lambda info: None)
    monkeypatch.setattr(distributed, "all_gather_objects", gather)
    run = tmp_path / "run"
    rank1 = DistInfo(rank=1, world_size=2, local_rank=1)
    with pytest.raises(UserError, match=r"not shared by all 2 processes: rank 1 .*shared-fs-check-0123abcd"):
        check_run_dir(run, run / "checkpoints", rank1, resume=False, timeout=0.3)   # old code: no check
    assert seen["rank1"][0] is False
    # where rank 0's marker is visible, the check passes
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / ".shared-fs-check-0123abcd").write_text("0123abcd")
    check_run_dir(run, run / "checkpoints", rank1, resume=False, timeout=0.3)
    assert seen["rank1"][0] is True


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_validation_under_ddp_uses_the_checkpoints_batchnorm_statistics(easy_root, tmp_path):
    """A BatchNorm model trained by two processes: each rank's running statistics are those
    its own batches left, and the checkpoint holds rank 0's. The logged validation scores
    must be those of the checkpoint (old code: each rank evaluated its shard with its own
    statistics; `ean eval` of the checkpoint then differed by up to 1.9e-3)."""
    raw = _raw(easy_root)
    raw["optim"]["epochs"] = 1
    config = write_config(tmp_path / "config.yaml", raw)
    run = tmp_path / "run"
    _run(_torchrun(2) + ["-m", "ean.engine", "train", str(config), "--out", str(run)], tmp_path)
    newest = ckpt.list_checkpoints(run / "checkpoints")[0]
    _run([PYTHON, "-m", "ean.engine", "eval", str(newest), "--protocol", "1clip", "--workers", "0",
          "--batch-size", "3", "--out", str(tmp_path / "again.npz"), "--no-progress"], tmp_path)
    logged, again = np.load(run / "val_scores.npz"), np.load(tmp_path / "again.npz")
    assert logged["indices"].tolist() == again["indices"].tolist()
    np.testing.assert_allclose(logged["scores"], again["scores"], rtol=0, atol=1e-5)
