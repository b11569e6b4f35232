"""The run directory's start-up checks: created by rank 0, seen by every process, and holding
no checkpoints unless the run resumes."""
from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

from ean.errors import UserError
from ean.engine import checkpoint as ckpt
from ean.engine import distributed

# How long a process waits to see the marker file rank 0 wrote in RUN_DIR (shared file system check).
SHARED_FS_TIMEOUT_S = 10.0


def check_run_dir(run_dir: Path, ckpt_dir: Path, info: distributed.DistInfo, resume: bool,
                  timeout: float = SHARED_FS_TIMEOUT_S) -> None:
    """RUN_DIR/checkpoints: created by rank 0; with several processes it must be one directory
    that all of them see (:func:`check_shared`)."""
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
    check_shared(ckpt_dir, info, timeout)
    existing = ckpt.list_checkpoints(ckpt_dir)
    if existing and not resume:
        raise UserError(f"{run_dir} already holds checkpoints ({existing[0].name}, ...); "
                        f"pass --resume to continue that run or choose another --out")


def check_shared(ckpt_dir: Path, info: distributed.DistInfo, timeout: float = SHARED_FS_TIMEOUT_S) -> None:
    """Rank 0 alone writes checkpoints and logs, and on --resume every process reads the
    checkpoint rank 0 picks: RUN_DIR must be on a file system that all processes share (for a
    run over several machines, a network file system). Checked at start-up: rank 0 writes a
    marker file into RUN_DIR/checkpoints, the others look for it (for up to ``timeout``
    seconds); a process that cannot see it stops every process with an error."""
    if not info.enabled:
        return
    token = distributed.broadcast_object(uuid.uuid4().hex if info.is_main else None, info)
    marker = ckpt_dir / f".shared-fs-check-{token}"
    if info.is_main:
        marker.write_text(token)
    distributed.barrier(info)
    seen = info.is_main
    deadline = time.time() + timeout
    while not seen:
        try:
            seen = marker.read_text() == token
        except OSError:
            pass
        if seen or time.time() > deadline:
            break
        time.sleep(0.2)
    views = distributed.all_gather_objects((bool(seen), socket.gethostname()), info)
    if info.is_main:
        marker.unlink(missing_ok=True)
    blind = [f"rank {rank} (on {host})" for rank, (ok, host) in enumerate(views) if not ok]
    if blind:
        raise UserError(f"the run directory is not shared by all {info.world_size} processes: "
                        f"{', '.join(blind)} cannot see the file {marker.name} that rank 0 (on {views[0][1]}) "
                        f"wrote in {ckpt_dir}. Rank 0 alone writes the checkpoints and every process "
                        f"reads them on --resume, so a run over several machines needs --out on a file "
                        f"system that all of them mount at the same path")
