"""A trained checkpoint loaded for use: the model in eval mode and the data settings it was
trained with (used by evaluation, prediction and the figures)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ean.errors import UserError


def load_trained(path: str | Path, device: torch.device | str = "cpu"):
    """(model in eval mode, checkpoint dict) from a checkpoint file (weights_only loading);
    a missing or unusable file is a :class:`UserError` naming it."""
    from ean.engine.hardware import move_model
    from ean.models.checkpoint import CheckpointFormatError, model_from_state, read_checkpoint

    try:
        state = read_checkpoint(path, "cpu")
        model = model_from_state(state, path)
    except (FileNotFoundError, CheckpointFormatError) as exc:
        raise UserError(str(exc)) from None
    return move_model(model, torch.device(device)).eval(), state


def data_config_for(state: dict[str, Any], overrides: dict[str, Any] | None = None):
    """The data settings a checkpoint was trained with (or defaults), its clip geometry enforced."""
    from ean.data.config import DataConfig

    model_cfg = state["model_config"]
    base = dict((state.get("config") or {}).get("data") or {"format": "videos"})
    base.update(overrides or {})
    for key in ("num_segments", "segment_length", "input_size"):
        base[key] = model_cfg[key]
    return DataConfig.from_dict(base, file="data settings (the checkpoint's, with --data / --set)", prefix="data.")
