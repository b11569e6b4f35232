"""Paired initialisation: a module's initial weights depend only on (seed, its path).

The ablations compare networks that differ in one module. For the comparison to be paired,
every module a variant shares with its reference row must start from the same weights,
whatever else the two networks contain. Building a model under :func:`init_seed` seeds each
:func:`scope` (a named part: ``backbone``, ``eabs.2.compress``, ``sois.5.blocks``, ...) from
a generator derived from the seed and the part's path, and restores the global generator
afterwards::

    with init_seed(0):
        model = EAN(cfg)          # what build_model(cfg, init_seed=0) does

Outside :func:`init_seed`, :func:`scope` does nothing (the global generator decides, as in
plain PyTorch).
"""
from __future__ import annotations

import contextlib
import contextvars
import zlib
from typing import Iterator, Optional

import numpy as np
import torch

_STATE: contextvars.ContextVar[Optional[tuple[int, str]]] = contextvars.ContextVar("ean_init", default=None)


def path_seed(seed: int, path: str) -> int:
    """The seed of the part at ``path`` of a model initialised with ``seed``."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(path.encode())]).generate_state(1)[0])


@contextlib.contextmanager
def init_seed(seed: Optional[int]) -> Iterator[None]:
    """Within the block, every :func:`scope` is seeded from ``seed`` and its path (no-op
    for ``None``)."""
    if seed is None:
        yield
        return
    token = _STATE.set((int(seed), ""))
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        _STATE.reset(token)


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """A named part of the model: under :func:`init_seed` its parameters are drawn from a
    generator seeded by (seed, path); scopes nest (``eabs.2`` then ``compress``)."""
    state = _STATE.get()
    if state is None:
        yield
        return
    seed, prefix = state
    path = f"{prefix}.{name}" if prefix else name
    token = _STATE.set((seed, path))
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(path_seed(seed, path))
            yield
    finally:
        _STATE.reset(token)
