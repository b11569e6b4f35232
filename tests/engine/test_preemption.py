"""Preemption: SIGTERM to the whole process group (as a scheduler sends it) kills the
data loader workers too; the run must still write a resumable checkpoint and exit cleanly.
(SIGINT does not kill the workers: they ignore KeyboardInterrupt.)"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ean.engine import checkpoint as ckpt

from .conftest import PYTHON, ean_env, make_raw_config, write_config


def _train(config: Path, run: Path, resume: bool = False) -> subprocess.Popen:
    cmd = [PYTHON, "-m", "ean.engine", "train", str(config), "--out", str(run)] + (["--resume"] if resume else [])
    # a process group of its own, as a job under a scheduler: the loader workers join it
    return subprocess.Popen(cmd, env=ean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_step(proc: subprocess.Popen, run: Path, step: int, timeout: float = 120.0) -> None:
    log = run / "train.log"
    deadline = time.time() + timeout
    while not (log.exists() and f" step {step} " in log.read_text()):
        assert proc.poll() is None, f"training ended before step {step}: {proc.stderr.read()[-2000:]}"
        assert time.time() < deadline, f"step {step} never appeared in {log}"
        time.sleep(0.01)


# step 2: mid-epoch; step 3: the epoch's last (the stop meets the validation at its end)
@pytest.mark.parametrize("step", [2, 3])
def test_sigterm_to_the_process_group_checkpoints_and_resumes(easy_root, tmp_path, step):
    raw = make_raw_config(easy_root, optim={"epochs": 2, "milestones": [1]}, data={"num_workers": 2})
    config = write_config(tmp_path / "config.yaml", raw)
    run = tmp_path / "run"
    proc = _train(config, run)
    try:
        _wait_for_step(proc, run, step)
        os.killpg(proc.pid, signal.SIGTERM)  # the main process and its two loader workers
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read()
    # old code: "DataLoader worker (pid ...) ... exited unexpectedly / killed by signal", exit 1
    assert code == 130, err[-3000:]
    assert "stopped by signal at step" in err and "--resume" in err and "Traceback" not in err, err[-3000:]
    newest = ckpt.list_checkpoints(run / "checkpoints")[0]
    state = ckpt.load_checkpoint_file(newest, required=ckpt.TRAINING_KEYS)
    stopped_at = state["global_step"]
    assert stopped_at >= step and f"at step {stopped_at}" in err

    proc = _train(config, run, resume=True)
    assert proc.wait(timeout=300) == 0
    err = proc.stderr.read()
    resumed = re.search(r"resumed from (\S+) \(epoch \d+, batch \d+ of \d+, step (\d+)\)", err)
    assert resumed and Path(resumed[1]).name == newest.name and int(resumed[2]) == stopped_at, err[-3000:]
    final = ckpt.load_checkpoint_file(ckpt.list_checkpoints(run / "checkpoints")[0], required=ckpt.TRAINING_KEYS)
    assert final["global_step"] == 6 and final["epoch"] == 2


@pytest.mark.skipif(not hasattr(signal, "SIGCHLD"), reason="POSIX signals")
def test_a_sigchld_pending_when_the_stop_arrives_is_not_an_error(monkeypatch):
    """The group's SIGTERM and the dying workers' SIGCHLD arrive together; CPython runs the
    handlers in signal-number order, so the stop's handler swaps DataLoader's SIGCHLD handler
    while a SIGCHLD is already pending for it (old code: OSError "Signal 17 ignored due to
    race condition", raised wherever the main process happened to be)."""
    from ean.engine.preemption import StopFlag

    seen, errors = [], []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: errors.append(unraisable.exc_value))
    previous = signal.signal(signal.SIGCHLD, lambda signum, frame: seen.append(signum))  # as DataLoader's
    flag = StopFlag()
    both = {signal.SIGTERM, signal.SIGCHLD}
    try:
        flag.install()
        signal.pthread_sigmask(signal.SIG_BLOCK, both)
        os.kill(os.getpid(), signal.SIGCHLD)
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, both)   # both trip at once; the handlers run next
        try:
            for _ in range(3):
                time.sleep(0.01)
        except OSError as exc:
            errors.append(exc)
        assert flag.signal == signal.SIGTERM and not errors, errors
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, both)
        flag.restore()
        signal.signal(signal.SIGCHLD, previous)


def test_a_worker_killed_by_the_stop_is_the_stop_and_other_deaths_still_raise():
    """DataLoader's SIGCHLD handler can see the group's SIGTERM kill a worker before this
    process's own SIGTERM handler runs (old code: "DataLoader worker (pid N) is killed by
    signal: Terminated" raised wherever the main process was, e.g. inside a fork)."""
    from ean.engine.preemption import StopFlag

    def dying(message):
        def handler(signum, frame):
            raise RuntimeError(message)
        return handler

    flag = StopFlag()
    flag._guard(dying("DataLoader worker (pid 2694) is killed by signal: Terminated. "))(17, None)
    assert flag.signal == signal.SIGTERM and flag.received == 0
    flag._handle(signal.SIGTERM, None)        # the process's own SIGTERM then is not a second signal
    assert flag.signal == signal.SIGTERM
    with pytest.raises(KeyboardInterrupt):
        flag._handle(signal.SIGTERM, None)
    other = StopFlag()
    with pytest.raises(RuntimeError, match="Segmentation fault"):
        other._guard(dying("DataLoader worker (pid 7) is killed by signal: Segmentation fault. "))(17, None)
    assert other.signal is None
