"""A run killed with SIGKILL at any point and resumed ends bit-identical to an uninterrupted run."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from ean.engine import checkpoint as ckpt

from .conftest import PYTHON, ean_env, make_raw_config, write_config

EPOCHS, STEPS_PER_EPOCH = 3, 3  # 12 easy clips, batch 4


def _train(config: Path, run: Path, resume: bool = False) -> subprocess.Popen:
    cmd = [PYTHON, "-m", "ean.engine", "train", str(config), "--out", str(run)] + (["--resume"] if resume else [])
    return subprocess.Popen(cmd, env=ean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _kill_at_step(proc: subprocess.Popen, run: Path, step: int, offset: int, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` as soon as its log reports ``step`` (False if it finished first).

    ``offset``: size of the log before ``proc`` started (earlier runs append to it too).
    """
    log = run / "train.log"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if log.exists() and f" step {step} " in log.read_text()[offset:]:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"step {step} never appeared in {log}")


def _final(run: Path) -> dict:
    name = ckpt.checkpoint_name(EPOCHS * STEPS_PER_EPOCH, EPOCHS)
    return ckpt.load_checkpoint_file(run / "checkpoints" / name, required=ckpt.TRAINING_KEYS)


def _assert_identical(a: dict, b: dict) -> None:
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), f"model tensor {key} differs"
    for pa, pb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(pa["momentum_buffer"], pb["momentum_buffer"])
    assert a["global_step"] == b["global_step"] and a["metrics"]["best"] == b["metrics"]["best"]


@pytest.mark.parametrize("preset,workers,seed", [("ean_tiny", 0, 5), ("tsn_tiny", 2, 9)])
def test_sigkill_then_resume_is_bit_identical(easy_root, tmp_path, preset, workers, seed):
    raw = make_raw_config(easy_root, preset=preset, optim={"epochs": EPOCHS, "milestones": [2]},
                          data={"num_workers": workers}, runtime={"checkpoint_every_steps": 2})
    config = write_config(tmp_path / "config.yaml", raw)

    reference = tmp_path / "reference"
    proc = _train(config, reference)
    assert proc.wait() == 0, proc.stderr.read()

    run = tmp_path / "killed"
    rng = random.Random(seed)  # kill points: random but reproducible (these seeds: after step 2)
    total = EPOCHS * STEPS_PER_EPOCH
    first = rng.randint(1, total // 2)
    second = rng.randint(first + 1, total - 1)
    kills = 0
    for i, step in enumerate((first, second)):
        log = run / "train.log"
        offset = len(log.read_text()) if log.exists() else 0
        proc = _train(config, run, resume=i > 0)
        kills += _kill_at_step(proc, run, step, offset)
        if i > 0:
            assert "resumed from" in proc.stderr.read()
    assert kills == 2
    proc = _train(config, run, resume=True)
    assert proc.wait() == 0, proc.stderr.read()
    assert "resumed from" in proc.stderr.read()
    _assert_identical(_final(reference), _final(run))
    # the metrics history is whole: one row per epoch, equal to the reference but for timings
    def rows(path):
        lines = (path / "metrics.csv").read_text().strip().splitlines()
        return [line.split(",")[:9] for line in lines]
    assert rows(run) == rows(reference) and len(rows(run)) == EPOCHS + 1



def test_sigterm_writes_a_checkpoint_at_the_current_step(easy_root, tmp_path):
    raw = make_raw_config(easy_root, optim={"epochs": 2, "milestones": [1]})
    config = write_config(tmp_path / "config.yaml", raw)
    run = tmp_path / "run"
    proc = _train(config, run)
    log = run / "train.log"
    deadline = time.time() + 120
    while not (log.exists() and " step 2 " in log.read_text()):
        assert proc.poll() is None and time.time() < deadline, "training ended before step 2"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    err = proc.stderr.read()
    assert "stopped by signal at step" in err and "--resume" in err
    newest = ckpt.list_checkpoints(run / "checkpoints")[0]
    state = ckpt.load_checkpoint_file(newest, required=ckpt.TRAINING_KEYS)
    assert state["global_step"] >= 2
    proc = _train(config, run, resume=True)
    assert proc.wait() == 0, proc.stderr.read()
    assert _final_step(run) == 6


def _final_step(run: Path) -> int:
    return ckpt.load_checkpoint_file(ckpt.list_checkpoints(run / "checkpoints")[0])["global_step"]
