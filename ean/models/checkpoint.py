"""Our checkpoint files: writing them atomically, reading them safely, rebuilding the model.

A checkpoint is a dict saved with ``torch.save`` holding at least ``model`` (our state dict)
and ``model_config`` (``ModelConfig.to_dict()``). :func:`save_model_checkpoint` writes one
for a model (plus any extra entries); the training engine's checkpoints are the same dict
with its own entries added (optimizer, scheduler, RNG states, counters, the TrainConfig),
written with :func:`write_checkpoint`.

Files are written to a temporary name, fsync'ed and renamed, so a crash never leaves a
half-written file under a real name. With ``digest=True`` (the engine's checkpoints) a
``.sha256`` sidecar is written *before* the file itself, and :func:`read_checkpoint` reports
a file whose digest does not match as corrupt. Files are always read with
``torch.load(..., weights_only=True)``: loading a checkpoint never runs code from it.

    save_model_checkpoint(model, "m.pt", class_names=names)
    state = read_checkpoint("m.pt")          # the dict
    model = load_model("m.pt")               # the EAN, in eval mode
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, Union

import torch
from torch import Tensor

from ean.errors import ConfigError
from ean.files import atomic_write_bytes
from ean.models.config import ModelConfig
from ean.models.ean import EAN

PathLike = Union[str, Path]
MODEL_KEYS = ("model", "model_config")


class CheckpointFormatError(ValueError):
    """A file that is not a usable checkpoint; the message names the file and the fault."""


# ---------------------------------------------------------------------------- writing
def sidecar(path: PathLike) -> Path:
    """The ``.sha256`` digest file of a checkpoint."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def file_digest(path: PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checkpoint(state: dict[str, Any], path: PathLike, digest: bool = True) -> Path:
    """Serialise ``state`` and write it atomically to ``path``; with ``digest``, its sha256
    sidecar first (without, a stale sidecar of an earlier file at ``path`` is removed)."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    if digest:
        atomic_write_bytes(sidecar(path), (hashlib.sha256(payload).hexdigest() + "\n").encode())
    elif sidecar(path).exists():
        sidecar(path).unlink()
    atomic_write_bytes(path, payload)
    return path


def save_model_checkpoint(model: EAN, path: PathLike, **extra: Any) -> Path:
    """Write ``{"model": state dict, "model_config": cfg dict, **extra}`` to ``path``.

    ``extra`` values must be loadable with ``weights_only=True`` (tensors, numbers,
    strings, lists, dicts).
    """
    state = {"model": model.state_dict(), "model_config": model.cfg.to_dict(), **extra}
    return write_checkpoint(state, path, digest=False)


# ---------------------------------------------------------------------------- reading
def torch_load_weights_only(path: PathLike, what: str, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a failure is a :class:`CheckpointFormatError`
    that starts with ``what`` and gives the first line of torch's reason."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, a foreign pickle, a non-weights object, ...
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise CheckpointFormatError(f"{what} (torch.load with weights_only=True failed: {reason})") from None


def read_checkpoint(path: PathLike, map_location: Any = "cpu",
                    required: tuple[str, ...] = MODEL_KEYS) -> dict[str, Any]:
    """The dict stored in ``path``. ``FileNotFoundError`` for a missing file;
    :class:`CheckpointFormatError` for a file whose ``.sha256`` sidecar does not match, one
    that is not a (safe) checkpoint, or one that lacks a ``required`` key."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointFormatError(f"checkpoint {path} is not a file")
    if path.stat().st_size == 0:
        raise CheckpointFormatError(f"checkpoint {path} is empty (0 bytes)")
    side = sidecar(path)
    if side.is_file():
        expected = side.read_text().strip()
        actual = file_digest(path)
        if expected != actual:
            raise CheckpointFormatError(f"checkpoint {path} is corrupt or truncated: its sha256 {actual[:12]}... "
                                        f"does not match {side.name} ({expected[:12]}...)")
    state = torch_load_weights_only(path, f"checkpoint {path} cannot be read as a checkpoint", map_location)
    if not isinstance(state, dict):
        raise CheckpointFormatError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointFormatError(f"checkpoint {path} lacks the key(s) {missing} (it has {sorted(map(str, state))}); "
                                    "an authors' checkpoint must first be converted with `ean convert-official`")
    return state


def key_listing(what: str, keys: list[str], limit: int = 8) -> str:
    """``"3 missing key(s): a, b, c; "`` (at most ``limit`` named), or ``""`` for no keys."""
    if not keys:
        return ""
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return f"{len(keys)} {what} key(s): {', '.join(keys[:limit])}{more}; "


def model_from_state(state: dict[str, Any], path: PathLike = "<checkpoint>") -> EAN:
    """Rebuild the model of a checkpoint dict already read with :func:`read_checkpoint`.

    The backbone's ``pretrained`` path is dropped (the weights come from the checkpoint, and
    the file may not exist here). Raises :class:`CheckpointFormatError` naming ``path``.
    """
    try:
        cfg = ModelConfig.from_dict(state["model_config"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise CheckpointFormatError(f"checkpoint {path}: its model_config is not valid: {exc}") from None
    if not isinstance(state["model"], dict):
        raise CheckpointFormatError(f"checkpoint {path}: 'model' is a {type(state['model']).__name__}, "
                                    "expected a state dict")
    cfg.backbone.pretrained = None
    model = EAN(cfg)
    own = model.state_dict()
    weights = state["model"]
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in weights and isinstance(weights[k], Tensor) and weights[k].shape != v.shape]
    if missing or unexpected or shapes:
        raise CheckpointFormatError(
            f"checkpoint {path} does not match its model_config ({cfg.name}): "
            f"{key_listing('missing', missing)}{key_listing('unexpected', unexpected)}"
            f"{key_listing('other shape', shapes)}")
    model.load_state_dict(weights)
    return model.eval()


def load_model(path: PathLike, map_location: Any = "cpu") -> EAN:
    """Rebuild the model stored in ``path`` (a converted or a training checkpoint), in eval mode.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointFormatError` (a
    ``ValueError``) for anything that is not a matching checkpoint.
    """
    return model_from_state(read_checkpoint(path, map_location), path)
