"""DDP with two CPU processes (gloo) through torchrun: same global batch, same result."""
from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from ean.engine import checkpoint as ckpt

from .conftest import PYTHON, ean_env, make_raw_config, write_config

WORKER = Path(__file__).with_name("ddp_worker.py")


def _run(cmd, cwd):
    proc = subprocess.run(cmd, env=ean_env(), cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_two_processes_match_one(easy_root, tmp_path, monkeypatch):
    raw = make_raw_config(easy_root, optim={"epochs": 2, "batch_size": 4, "base_lr": 0.1, "milestones": [1]},
                          eval={"batch_size": 3})
    config = write_config(tmp_path / "config.yaml", raw)
    one, two = tmp_path / "one", tmp_path / "two"
    _run([PYTHON, str(WORKER), str(config), str(one)], tmp_path)
    torchrun = shutil.which("torchrun")
    launcher = [torchrun] if torchrun else [PYTHON, "-m", "torch.distributed.run"]
    _run(launcher + ["--standalone", "--nproc_per_node", "2", str(WORKER), str(config), str(two)], tmp_path)

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
