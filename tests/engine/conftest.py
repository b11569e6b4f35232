"""Shared fixtures of the engine tests: a small synthetic dataset and config builders.

The smoke profile of the synthetic dataset (18 classes, 3 training and 1 validation clip
per class, 48x64 frames) is generated once per session (a few seconds). The "easy"
subset keeps four classes whose only difference is the direction of motion of one
object, so that even TSN at 32x32 and 4 frames can fit them.
"""
from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]
# one class from each of four different pairs, so that even a frame-averaging TSN can tell
# them apart (a mirror or time-reversed pair it cannot)
EASY_CLASSES = ["Moving something towards the camera", "Moving something from left to right",
                "Turning the camera left while filming something",
                "Moving something and something closer to each other"]


@pytest.fixture(scope="session", autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory) -> Path:
    from ean.data.synth.writer import generate

    root = tmp_path_factory.mktemp("synth") / "smoke"
    generate(root, "smoke", seed=0, workers=2, progress=False)
    return root


@pytest.fixture(scope="session")
def easy_root(smoke_root, tmp_path_factory) -> Path:
    """The smoke dataset restricted to EASY_CLASSES (annotation files only; videos shared)."""
    root = tmp_path_factory.mktemp("easy")
    names = sorted(EASY_CLASSES)
    (root / "labels.json").write_text(json.dumps({n: str(i) for i, n in enumerate(names)}))
    for split in ("train", "validation"):
        rows = json.loads((smoke_root / f"{split}.json").read_text())
        keep = [r for r in rows if r["template"].replace("[", "").replace("]", "") in names]
        (root / f"{split}.json").write_text(json.dumps(keep))
    (root / "videos").symlink_to(smoke_root / "videos")
    return root


def make_raw_config(root: Path, preset: str = "tsn_tiny", num_classes: int = 4, **sections) -> dict:
    """A raw (YAML-like) TrainConfig for the synthetic data: 4 frames at 32x32, CPU."""
    raw = {
        "model": {"preset": preset, "num_classes": num_classes, "num_segments": 4, "input_size": 32},
        "data": {"format": "sthv2", "annotation": str(root / "train.json"),
                 "val_annotation": str(root / "validation.json"), "labels": str(root / "labels.json"),
                 "root": str(root / "videos"), "media": "video", "video_ext": ["mp4"],
                 "resize": [36, 48], "num_workers": 0},
        "optim": {"batch_size": 4, "base_lr": 0.01, "base_batch": 4, "epochs": 2, "milestones": [100]},
        "eval": {"batch_size": 4},
        "runtime": {"device": "cpu", "progress": False, "log_every": 1, "seed": 0},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(copy.deepcopy(values))
    return raw


def write_config(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def ean_env() -> dict:
    """Environment for `python -m ean.engine` subprocesses (one thread, repo on the path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    return env


PYTHON = sys.executable
