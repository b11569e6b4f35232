"""Preemption: SIGTERM/SIGINT request a stop that the training loop takes at a step boundary.

At every step boundary the loop asks :meth:`StopFlag.synced` (the flag OR-ed over all
processes); when a stop was requested it writes a checkpoint of the current step and raises
:class:`TrainingInterrupted` (the command line exits with 130), and ``--resume`` continues
from there.
"""
from __future__ import annotations

import re
import signal
import threading
from typing import Callable

import torch

from ean.engine.distributed import DistInfo


class TrainingInterrupted(RuntimeError):
    """SIGTERM/SIGINT: a checkpoint was written at the current step and the run stopped."""


class StopFlag:
    """Set by SIGTERM/SIGINT; checked at step boundaries.

    A scheduler's preemption (and Ctrl-C) signals the whole process group, so the data loader
    workers die with the same signal. DataLoader's own SIGCHLD handler would then raise
    "worker ... is killed by signal: Terminated" wherever the main process happens to be
    (mid-step, or inside a fork of the next loader's workers) — possibly before this
    process's own SIGTERM handler has run. So :meth:`install` wraps that handler: a worker
    killed by SIGTERM or SIGINT counts as the stop itself; any other worker death still
    raises. Once a stop is requested that handler is a no-op until :meth:`restore`, and a
    dead worker shows only as an error where the next batch is fetched, which the loop takes
    as the stop.
    """

    STOPPED_WORKER = re.compile(r"DataLoader worker \(pid \d+\) is killed by signal: (Terminated|Interrupt)")

    def __init__(self) -> None:
        self.signal: int | None = None   # the stop: this process's signal, or its workers'
        self.received = 0                # SIGTERM/SIGINT delivered to this process
        self._previous: dict = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        if hasattr(signal, "SIGCHLD"):
            from torch.utils.data._utils import signal_handling

            signal_handling._set_SIGCHLD_handler()   # DataLoader's (once per process), to wrap it now
            loader_handler = signal.getsignal(signal.SIGCHLD)
            self._previous[signal.SIGCHLD] = loader_handler
            if callable(loader_handler):
                signal.signal(signal.SIGCHLD, self._guard(loader_handler))

    def anywhere(self, info: DistInfo, device: torch.device) -> bool:
        """A stop requested on any process (an all-reduce)."""
        return self.synced(info, device)[0]

    def synced(self, info: DistInfo, device: torch.device, *flags: bool) -> tuple[bool, ...]:
        """(stop requested?, *flags), each OR-ed over all processes in one all-reduce, so that
        every rank takes the same branch at this boundary."""
        flags = (self.signal is not None, *flags)
        if not info.enabled:
            return tuple(bool(f) for f in flags)
        values = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
        torch.distributed.all_reduce(values)
        return tuple(bool(v > 0) for v in values.tolist())

    def loader_failed(self, exc: Exception, log: Callable[[str], None], step: int) -> None:
        """The training loader raised: an error, unless a stop was requested. Then its workers
        got the signal too ("worker exited unexpectedly"); nothing of step ``step + 1`` has run,
        so the stop is taken at this boundary (``None``: no batch)."""
        if self.signal is None:
            raise exc
        log(f"the data loader failed after the stop signal ({str(exc).splitlines()[0]}); "
            f"writing the checkpoint of step {step}")
        return None

    def _guard(self, loader_handler):
        def on_child(signum, frame) -> None:
            if self.signal is not None:
                return
            try:
                loader_handler(signum, frame)
            except RuntimeError as exc:
                if not self.STOPPED_WORKER.search(str(exc)):
                    raise
                self.signal = signal.SIGTERM if "Terminated" in str(exc) else signal.SIGINT
        return on_child

    def _handle(self, signum, frame) -> None:
        self.received += 1
        if self.received > 1:  # a second signal to this process: give up immediately
            raise KeyboardInterrupt
        self.signal = signum

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
