"""Classification metrics and multi-view score aggregation (pure functions, no state)."""
from __future__ import annotations

import numpy as np
import torch


def aggregate_views(logits: torch.Tensor, mode: str = "logits") -> torch.Tensor:
    """(B, V, K) per-view logits -> (B, K) video scores.

    ``"logits"`` averages the raw logits over the views (the authors' protocol);
    ``"softmax"`` averages the per-view softmax probabilities.
    """
    if logits.dim() == 2:
        logits = logits.unsqueeze(1)
    if logits.dim() != 3:
        raise ValueError(f"expected (B, V, K) view logits, got shape {tuple(logits.shape)}")
    if mode == "logits":
        return logits.float().mean(dim=1)
    if mode == "softmax":
        return torch.softmax(logits.float(), dim=-1).mean(dim=1)
    raise ValueError(f"aggregate must be 'logits' or 'softmax', got {mode!r}")


def topk_correct(scores: torch.Tensor, labels: torch.Tensor, ks=(1, 5)) -> dict[int, int]:
    """Number of samples whose label is among the top-k scores, for each k (k capped at K)."""
    if scores.numel() == 0:
        return {k: 0 for k in ks}
    maxk = min(max(ks), scores.shape[1])
    top = scores.topk(maxk, dim=1).indices
    hit = top.eq(labels.view(-1, 1))
    return {k: int(hit[:, :min(k, maxk)].any(dim=1).sum()) for k in ks}


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """C[i, j] = number of videos of class i predicted as class j."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    return np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes
                       ).reshape(num_classes, num_classes)


def classification_report(scores: np.ndarray, labels: np.ndarray, class_names=None) -> dict:
    """top-1, top-5, mean class accuracy, per-class accuracy and the confusion matrix.

    Accuracies are percentages. Mean class accuracy averages over the classes that occur in
    ``labels``; per-class accuracy is NaN for a class without samples.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n, k = scores.shape if scores.ndim == 2 else (0, len(class_names or []))
    if n == 0:
        return {"num_videos": 0, "top1": float("nan"), "top5": float("nan"), "mean_class_acc": float("nan"),
                "per_class_acc": [float("nan")] * k, "confusion": np.zeros((k, k), dtype=np.int64)}
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must be in [0, {k}), got range [{labels.min()}, {labels.max()}]")
    correct = topk_correct(torch.from_numpy(scores), torch.from_numpy(labels), (1, 5))
    predictions = scores.argmax(axis=1)
    confusion = confusion_matrix(labels, predictions, k)
    support = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(confusion) / np.maximum(support, 1), np.nan) * 100.0
    return {
        "num_videos": int(n),
        "top1": 100.0 * correct[1] / n,
        "top5": 100.0 * correct[5] / n,
        "mean_class_acc": float(np.nanmean(per_class)) if (support > 0).any() else float("nan"),
        "per_class_acc": [float(x) for x in per_class],
        "confusion": confusion,
    }


class RunningAverage:
    """Sum / count over a stream of batches (loss, correct predictions, clips)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int = 1) -> None:
        self.total += float(value) * n
        self.count += n

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")
