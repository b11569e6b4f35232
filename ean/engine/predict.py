"""Top-k prediction on one video file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ean.errors import UserError
from ean.engine.config import PROTOCOLS
from ean.engine.evaluate import forward_views
from ean.engine.metrics import aggregate_views
from ean.engine.trained import data_config_for


@torch.no_grad()
def predict_video(video: str | Path, model, state: dict[str, Any], protocol: str = "1clip",
                  aggregate: str = "logits", topk: int = 5, device: torch.device | str = "cpu"):
    """Top-k (class name, probability) for one video file (any container decord reads)."""
    from ean.data.dataset import VideoDataset
    from ean.data.manifest import Manifest, VideoRecord

    video = Path(video)
    if not video.exists():
        raise UserError(f"video not found: {video}")
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    num_classes = state["model_config"]["num_classes"]
    names = list(state.get("class_names") or [f"class {i}" for i in range(num_classes)])
    clips, crops = PROTOCOLS[protocol]
    data_cfg = data_config_for(state, {"media": "auto"})
    manifest = Manifest([VideoRecord(str(video), None, -1, source=str(video))], names, str(video))
    dataset = VideoDataset(data_cfg, manifest, train=False, num_clips=clips, num_crops=crops)
    item = dataset[0]
    if item["clip"] is None:
        raise UserError(f"cannot read {video}: {item.get('error', 'unknown error')}")
    logits = forward_views(model, item["clip"].unsqueeze(0), 8, torch.device(device), None,
                           normalize=dataset.normalize)
    scores = aggregate_views(logits, aggregate)[0]
    probs = torch.softmax(scores, 0) if aggregate == "logits" else scores
    values, indices = probs.topk(min(topk, probs.numel()))
    return [(names[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]
