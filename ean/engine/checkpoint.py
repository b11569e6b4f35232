"""Training checkpoints: what a resumable checkpoint holds, their names in a run, keeping
the newest N and the best, and finding the newest good one to resume from.

A training checkpoint is our checkpoint format (:mod:`ean.models.checkpoint`: written
atomically with a ``.sha256`` sidecar, read with ``torch.load(weights_only=True)``) holding
``model`` (state dict), ``model_config`` (plain dict), ``class_names`` and ``optimizer``,
``scheduler``, ``scaler``, ``rng``, ``epoch``, ``batch_in_epoch``, ``global_step``,
``config`` (the resolved TrainConfig) and ``metrics``.

In RUN_DIR/checkpoints:

* ``epoch003_step00000120.pt`` — end of the 3rd epoch (3 epochs done, 120 steps done)
* ``step00000150.pt`` — mid-epoch checkpoint (``runtime.checkpoint_every_steps``)
* ``best.pt`` — the epoch checkpoint with the best validation top-1 (a hard link)
"""
from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ean.files import fsync_dir
from ean.models.checkpoint import MODEL_KEYS, CheckpointFormatError, read_checkpoint, sidecar, write_checkpoint

TRAINING_KEYS = ("model", "model_config", "optimizer", "scheduler", "rng", "epoch", "batch_in_epoch",
                 "global_step", "config")
NAME = re.compile(r"^(?:epoch(?P<epoch>\d+)_)?step(?P<step>\d+)\.pt$")


class CheckpointError(CheckpointFormatError):
    """A checkpoint file that cannot be used; the message names the file and the reason."""


# ---------------------------------------------------------------------------- RNG states
def rng_state() -> dict[str, Any]:
    """Every random state a training step depends on, as weights_only-safe values."""
    version, keys, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "python": {"version": version, "keys": list(keys), "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state((np_state["name"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["keys"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        states = state["cuda"]
        if len(states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states)


# ---------------------------------------------------------------------------- files
def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write a training checkpoint atomically to ``path``, its digest sidecar first."""
    return write_checkpoint(state, path, digest=True)


def link_checkpoint(source: Path, target: Path) -> None:
    """Make ``target`` (e.g. best.pt) the same file as ``source``, atomically."""
    for src, dst in ((sidecar(source), sidecar(target)), (source, target)):
        if not src.exists():
            continue
        tmp = dst.with_name(f".{dst.name}.tmp.{os.getpid()}")
        if tmp.exists():
            tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:  # no hard links on this file system
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    fsync_dir(target.parent)


def load_checkpoint_file(path: str | Path, map_location: Any = "cpu",
                         required: tuple[str, ...] = MODEL_KEYS) -> dict[str, Any]:
    """A checkpoint's dict, read with :func:`ean.models.checkpoint.read_checkpoint` (digest
    checked, ``weights_only=True``); every fault, a missing file included, is a
    :class:`CheckpointError` naming the file, so that resuming can skip it."""
    try:
        return read_checkpoint(path, map_location, required)
    except (FileNotFoundError, CheckpointFormatError) as exc:
        raise CheckpointError(str(exc)) from None


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Training checkpoints in ``directory``, newest (most steps; epoch-end first) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match:
            found.append((int(match["step"]), match["epoch"] is not None, path))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [path for _, _, path in found]


def find_resume_checkpoint(directory: str | Path, map_location: Any = "cpu"):
    """The newest good training checkpoint: (path, state, [(bad path, reason), ...]).

    Corrupt or truncated files are skipped (and reported); (None, None, bad) when none is good.
    """
    bad = []
    for path in list_checkpoints(directory):
        try:
            return path, load_checkpoint_file(path, map_location, TRAINING_KEYS), bad
        except CheckpointError as exc:
            bad.append((path, str(exc)))
    return None, None, bad


def prune_checkpoints(directory: str | Path, keep: int) -> None:
    """Keep the newest ``keep`` epoch checkpoints and ``keep`` step checkpoints."""
    epochs, steps = [], []
    for path in list_checkpoints(directory):
        (epochs if NAME.match(path.name)["epoch"] else steps).append(path)
    for path in epochs[keep:] + steps[keep:]:
        for item in (path, sidecar(path)):
            if item.exists():
                item.unlink()


def checkpoint_name(global_step: int, epochs_done: int | None = None) -> str:
    if epochs_done is None:
        return f"step{global_step:08d}.pt"
    return f"epoch{epochs_done:03d}_step{global_step:08d}.pt"
