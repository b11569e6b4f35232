"""Evaluation: run a model over a (multi-view) loader, aggregate views, gather across ranks;
and :func:`evaluate_checkpoint`, a checkpoint evaluated under a test protocol into a scores
file (:mod:`ean.engine.scores`) and a report.

Protocols (see ``ean.engine.config.PROTOCOLS``): ``1clip`` (1 clip x centre crop),
``2clip`` (2 clips x centre crop) and ``10x3`` (10 clips x 3 crops). The views of a video
are run through the model and their logits averaged (or their softmax probabilities,
``aggregate="softmax"``) into one score vector per video.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ean.engine import distributed
from ean.engine.hardware import autocast
from ean.engine.metrics import aggregate_views
from ean.engine.scores import EvalResult, save_scores


def forward_views(model, clips: torch.Tensor, chunk: int, device, dtype,
                  boxes: torch.Tensor | None = None, normalize=None) -> torch.Tensor:
    """(B, V, 3, T*L, H, W) or (B, 3, T*L, H, W) -> (B, V, K) float32 logits.

    ``clips``: uint8 as a dataset gives them, normalised on ``device`` by ``normalize`` (the
    dataset's :class:`~ean.data.transforms.Normalize`), or float32 already normalised.
    ``boxes``: the views' object boxes, (B, V, T*L, N, 4) or (B, T*L, N, 4), for models whose
    SOI-Tr takes them (``soi.regions = "boxes"``)."""
    if clips.dtype == torch.uint8 and normalize is None:
        raise TypeError("uint8 clips need the dataset's normalize (dataset.normalize)")
    if clips.dim() == 5:
        clips = clips.unsqueeze(1)
        boxes = None if boxes is None else boxes.unsqueeze(1)
    b, v = clips.shape[:2]
    flat = clips.reshape(b * v, *clips.shape[2:])
    flat_boxes = None if boxes is None else boxes.reshape(b * v, *boxes.shape[2:])
    outputs = []
    for start in range(0, flat.shape[0], chunk):
        x = flat[start:start + chunk].to(device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = normalize(x)
        with autocast(device, dtype):
            if flat_boxes is None:
                outputs.append(model(x).float())
            else:
                bx = flat_boxes[start:start + chunk].to(device, non_blocking=True)
                outputs.append(model(x, boxes=bx).float())
    logits = torch.cat(outputs)
    return logits.reshape(b, v, -1)


@torch.no_grad()
def evaluate(model, loader, device, dtype=None, aggregate: str = "logits", chunk: int = 8,
             info: distributed.DistInfo | None = None, progress: bool = True,
             desc: str = "eval") -> EvalResult:
    """Evaluate ``model`` on every video of ``loader``; all ranks return the gathered result."""
    info = info or distributed.DistInfo()
    normalize = getattr(loader.dataset, "normalize", None)
    was_training = model.training
    model.eval()
    scores, labels, indices, skipped = [], [], [], []
    num_views = 1
    rng = torch.get_rng_state()  # creating a loader iterator draws from the global RNG
    iterator = iter(loader)
    torch.set_rng_state(rng)
    bar = tqdm(iterator, total=len(loader), desc=desc, leave=False, dynamic_ncols=True,
               disable=not (progress and info.is_main))
    try:
        for batch in bar:
            skipped += [tuple(s) for s in batch.get("skipped", [])]
            clips = batch["clip"]
            if clips is None or len(clips) == 0:
                continue
            logits = forward_views(model, clips, chunk, device, dtype, batch.get("boxes"), normalize)
            num_views = logits.shape[1]
            scores.append(aggregate_views(logits, aggregate).cpu())
            labels.append(batch["label"].cpu())
            indices.append(batch["index"].cpu())
    finally:
        bar.close()
        model.train(was_training)
    k = scores[0].shape[1] if scores else 0
    local = (torch.cat(scores).numpy() if scores else np.zeros((0, k), np.float32),
             torch.cat(labels).numpy() if labels else np.zeros(0, np.int64),
             torch.cat(indices).numpy() if indices else np.zeros(0, np.int64), skipped)
    parts = distributed.all_gather_objects(local, info)
    return _merge(parts, aggregate, num_views)


def _merge(parts, aggregate, num_views) -> EvalResult:
    """Concatenate rank shards, drop duplicates (padding of a distributed sampler), sort by index."""
    parts = [p for p in parts if p[0].shape[0] > 0] or parts[:1]
    all_scores = np.concatenate([p[0] for p in parts]).astype(np.float32)
    all_labels = np.concatenate([p[1] for p in parts]).astype(np.int64)
    all_indices = np.concatenate([p[2] for p in parts]).astype(np.int64)
    skipped = sorted({tuple(s) for p in parts for s in p[3]})
    unique, first = np.unique(all_indices, return_index=True)
    all_scores, all_labels = all_scores[first], all_labels[first]
    loss = float("nan")
    if aggregate == "logits" and len(unique):
        loss = float(F.cross_entropy(torch.from_numpy(all_scores), torch.from_numpy(all_labels)))
    return EvalResult(all_scores, all_labels, unique, loss, skipped, num_views)


def evaluate_checkpoint(checkpoint: str | Path, data_overrides: dict | None = None, protocol: str = "1clip",
                        aggregate: str = "logits", split: str = "val", batch_size: int = 4,
                        num_workers: int | None = None, device: str = "auto", precision: str = "fp32",
                        progress: bool = True, out: str | Path | None = None) -> tuple[dict, Path | None]:
    """Evaluate a checkpoint under a test protocol; writes scores (.npz) and a report (.json).

    Runs under ``torchrun`` too: every process evaluates its share, rank 0 writes.
    """
    import json

    from ean.errors import UserError
    from ean.data import build_dataset, build_loader
    from ean.engine.config import PROTOCOLS, RuntimeConfig
    from ean.engine.hardware import autocast_dtype, resolve_device
    from ean.engine.trained import data_config_for, load_trained
    from ean.files import atomic_write_bytes

    if protocol not in PROTOCOLS:
        raise UserError(f"--protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    runtime = RuntimeConfig.from_dict({"device": device, "precision": precision}, prefix="runtime.")
    probe = "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"
    info = distributed.init_distributed(probe)
    try:
        dev = resolve_device(runtime, info)
        dtype = autocast_dtype(runtime, dev)
        model, state = load_trained(checkpoint, dev)
        data_cfg = data_config_for(state, data_overrides)
        if split == "train":  # evaluate the training list with test-time views
            data_cfg = data_cfg.override({"val_annotation": data_cfg.annotation})
        clips, crops = PROTOCOLS[protocol]
        try:
            dataset = build_dataset(data_cfg, train=False, num_clips=clips, num_crops=crops,
                                    boxes=model.cfg.input_boxes)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            raise UserError(f"data: {exc.args[0] if exc.args else exc}") from None
        names = list(state.get("class_names") or dataset.class_names)
        if len(dataset.class_names) != state["model_config"]["num_classes"]:
            raise UserError(f"the data has {len(dataset.class_names)} classes, the model in {checkpoint} "
                            f"{state['model_config']['num_classes']}")
        loader = build_loader(dataset, batch_size, train=False, seed=data_cfg.seed,
                              num_workers=data_cfg.num_workers if num_workers is None else num_workers,
                              distributed=info.enabled)
        result = evaluate(model, loader, dev, dtype, aggregate, chunk=max(batch_size, 1), info=info,
                          progress=progress, desc=f"eval {protocol}")
        report = result.report(names)
        path = None
        if info.is_main:
            path = Path(out) if out else _default_scores_path(Path(checkpoint), split, protocol)
            save_scores(path, result, names, {"protocol": protocol, "aggregate": aggregate, "split": split,
                                              "checkpoint": str(checkpoint)})
            text = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in report.items()}
            text.update(protocol=protocol, aggregate=aggregate, split=split, checkpoint=str(checkpoint),
                        class_names=names, skipped=[list(s) for s in result.skipped])
            atomic_write_bytes(path.with_suffix(".json"), (json.dumps(text, indent=1) + "\n").encode())
        return report, path
    finally:
        distributed.cleanup(info)


def _default_scores_path(checkpoint: Path, split: str, protocol: str) -> Path:
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    return run_dir / f"scores_{split}_{protocol}_{checkpoint.stem}.npz"
