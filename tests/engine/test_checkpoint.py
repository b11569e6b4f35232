import os
import pickle
import random

import numpy as np
import pytest
import torch

from ean.engine import checkpoint as ckpt
from ean.files import atomic_write_bytes
from ean.models.checkpoint import file_digest, sidecar


def _state(step, epoch=None):
    return {"model": {"w": torch.full((3,), float(step))}, "model_config": {"name": "x"}, "optimizer": {},
            "scheduler": {}, "rng": ckpt.rng_state(), "epoch": epoch or 0, "batch_in_epoch": 0,
            "global_step": step, "config": {}}


def test_round_trip_and_sidecar(tmp_path):
    path = ckpt.save_checkpoint(_state(5), tmp_path / "step00000005.pt")
    assert sidecar(path).read_text().strip() == file_digest(path)
    state = ckpt.load_checkpoint_file(path, required=ckpt.TRAINING_KEYS)
    assert torch.equal(state["model"]["w"], torch.full((3,), 5.0))
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_rng_state_round_trip():
    state = ckpt.rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(123), np.random.seed(7), random.seed(1)
    ckpt.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.mark.parametrize("keep_sidecar", [True, False])
def test_truncated_checkpoint_is_reported(tmp_path, keep_sidecar):
    path = ckpt.save_checkpoint(_state(1), tmp_path / "step00000001.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    if not keep_sidecar:
        sidecar(path).unlink()
    with pytest.raises(ckpt.CheckpointError, match="step00000001.pt") as info:
        ckpt.load_checkpoint_file(path)
    assert ("sha256" in str(info.value)) == keep_sidecar


def test_bit_flip_is_caught_by_the_digest(tmp_path):
    path = ckpt.save_checkpoint(_state(1), tmp_path / "step00000001.pt")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match="corrupt or truncated"):
        ckpt.load_checkpoint_file(path)


def test_empty_missing_and_incomplete(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ckpt.CheckpointError, match="empty"):
        ckpt.load_checkpoint_file(tmp_path / "empty.pt")
    with pytest.raises(ckpt.CheckpointError, match="not found"):
        ckpt.load_checkpoint_file(tmp_path / "nope.pt")
    torch.save({"model": {}}, tmp_path / "partial.pt")
    with pytest.raises(ckpt.CheckpointError, match="lacks"):
        ckpt.load_checkpoint_file(tmp_path / "partial.pt")


class Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_loading_never_executes_code(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"model": Evil(), "model_config": {}}, handle)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(ckpt.CheckpointError, match="weights_only"):
            ckpt.load_checkpoint_file(path)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "pwned").exists()


def test_resume_falls_back_to_the_previous_good_checkpoint(tmp_path):
    ckpt.save_checkpoint(_state(10, 1), tmp_path / ckpt.checkpoint_name(10, 1))
    ckpt.save_checkpoint(_state(15), tmp_path / ckpt.checkpoint_name(15))
    newest = ckpt.save_checkpoint(_state(20, 2), tmp_path / ckpt.checkpoint_name(20, 2))
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "epoch002_step00000020.pt", "step00000015.pt", "epoch001_step00000010.pt"]
    newest.write_bytes(newest.read_bytes()[:100])
    path, state, bad = ckpt.find_resume_checkpoint(tmp_path)
    assert path.name == "step00000015.pt" and state["global_step"] == 15
    assert len(bad) == 1 and "epoch002_step00000020.pt" in bad[0][1]


def test_a_crash_before_the_rename_leaves_no_checkpoint(tmp_path):
    # a sidecar without its file (crash between the two writes) is ignored
    atomic_write_bytes(tmp_path / "step00000003.pt.sha256", b"00\n")
    assert ckpt.list_checkpoints(tmp_path) == []
    assert ckpt.find_resume_checkpoint(tmp_path)[0] is None


def test_prune_keeps_newest_and_best(tmp_path):
    paths = [ckpt.save_checkpoint(_state(s, e), tmp_path / ckpt.checkpoint_name(s, e))
             for s, e in [(1, 1), (2, 2), (3, 3)]]
    ckpt.link_checkpoint(paths[0], tmp_path / "best.pt")
    ckpt.prune_checkpoints(tmp_path, keep=2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.pt", "best.pt.sha256", "epoch002_step00000002.pt", "epoch002_step00000002.pt.sha256",
                     "epoch003_step00000003.pt", "epoch003_step00000003.pt.sha256"]
    assert ckpt.load_checkpoint_file(tmp_path / "best.pt")["global_step"] == 1
