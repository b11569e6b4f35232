"""Device and precision choices for GPUs this machine does not have (CUDA queries monkeypatched)."""
from __future__ import annotations

import pytest
import torch

from ean.errors import UserError
from ean.engine.config import RuntimeConfig
from ean.engine.distributed import DistInfo
from ean.engine.hardware import autocast_dtype, resolve_device


def test_auto_precision_is_bf16_only_with_native_bf16(monkeypatch):
    # torch.cuda.is_bf16_supported() also says yes where bf16 is only emulated (V100, T4)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    gpus = {(7, 0): torch.float16,    # V100
            (7, 5): torch.float16,    # T4
            (8, 0): torch.bfloat16,   # A100
            (8, 9): torch.bfloat16,   # L4, RTX 40xx
            (9, 0): torch.bfloat16}   # H100
    for capability, expected in gpus.items():
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
        got = autocast_dtype(RuntimeConfig(precision="auto"), torch.device("cuda", 0))
        assert got == expected, (capability, got)
    assert autocast_dtype(RuntimeConfig(precision="auto"), torch.device("cpu")) is None


def test_explicit_cuda_index_under_torchrun_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    rank1 = DistInfo(rank=1, world_size=2, local_rank=1)
    with pytest.raises(UserError, match=r"cuda:0.*same GPU.*LOCAL_RANK"):
        resolve_device(RuntimeConfig(device="cuda:0"), rank1)
    # plain cuda / auto: the GPU of the local rank (on a second node too: local, not global rank)
    assert resolve_device(RuntimeConfig(device="cuda"), rank1) == torch.device("cuda", 1)
    assert resolve_device(RuntimeConfig(device="auto"), DistInfo(rank=5, world_size=8, local_rank=1)) \
        == torch.device("cuda", 1)
    # a single process may pick its GPU
    assert resolve_device(RuntimeConfig(device="cuda:3"), DistInfo()) == torch.device("cuda", 3)
