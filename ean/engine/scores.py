"""The per-video scores file (``val_scores.npz``): what training, ``ean eval`` and
``ean ensemble`` write and what the tables, the claims and the figures read.

Reading needs only NumPy (the report notebooks never import torch for it)::

    s = load_scores("reports/runs/ean-s0/val_scores.npz")
    s["scores"]  # (N, K)    s["labels"], s["indices"]  # (N,)
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class EvalResult:
    """The per-video scores of one evaluation (what a scores file holds)."""

    scores: np.ndarray  # (N, K) aggregated per-video scores, videos sorted by index
    labels: np.ndarray  # (N,)
    indices: np.ndarray  # (N,) dataset indices
    loss: float  # mean cross-entropy of the aggregated logits (NaN for softmax aggregation)
    skipped: list = field(default_factory=list)  # [(index, reason)] unreadable videos
    num_views: int = 1

    def report(self, class_names=None) -> dict:
        from ean.engine.metrics import classification_report

        rep = classification_report(self.scores, self.labels, class_names)
        rep["loss"] = self.loss
        rep["num_skipped"] = len(self.skipped)
        return rep


def save_scores(path: str | Path, result: EvalResult, class_names, meta: dict | None = None) -> Path:
    """Per-video scores for ``ean ensemble`` and the notebooks (.npz).

    Arrays: ``scores`` (N, K) float32, ``labels`` (N,), ``indices`` (N,) dataset indices,
    ``class_names`` (K,), ``predictions`` (N,), ``confusion`` (K, K); plus ``aggregate``,
    ``num_views`` and any ``meta`` entries (strings / numbers).
    """
    from ean.engine.metrics import classification_report
    from ean.files import atomic_write_bytes

    path = Path(path)
    k = result.scores.shape[1] if result.scores.ndim == 2 else len(class_names or [])
    rep = classification_report(result.scores, result.labels, class_names)
    arrays = {
        "scores": result.scores.astype(np.float32),
        "labels": result.labels.astype(np.int64),
        "indices": result.indices.astype(np.int64),
        "predictions": result.scores.argmax(axis=1).astype(np.int64) if len(result.scores) else np.zeros(0, np.int64),
        "confusion": rep["confusion"],
        "class_names": np.array(list(class_names) if class_names else [str(i) for i in range(k)], dtype=str),
        "num_views": np.array(result.num_views),
    }
    for key, value in (meta or {}).items():
        arrays[key] = np.array(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_scores(path: str | Path) -> dict:
    """Read a scores file written by :func:`save_scores` (no pickles are loaded)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scores file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {key: data[key] for key in data.files}
    except Exception as exc:
        raise ValueError(f"{path}: not a readable scores file ({exc})") from None
    missing = [key for key in ("scores", "labels", "indices") if key not in out]
    if missing:
        raise ValueError(f"{path}: not a scores file, it lacks {missing}")
    return out
