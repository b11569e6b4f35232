"""Ensembles of runs: the per-video scores of several runs summed (the authors' 8F + 16F)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ean.errors import UserError
from ean.engine.metrics import classification_report
from ean.engine.scores import EvalResult, load_scores


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def ensemble_scores(files: list[dict], names: list[str], weights: list[float] | None = None,
                    softmax: bool = False, intersect: bool = False) -> EvalResult:
    """Sum (optionally weighted, optionally softmax-normalised) scores of the same videos.

    Videos are matched by their dataset index; their labels must agree. Without
    ``intersect`` every file must cover the same videos.
    """
    if len(files) < 2:
        raise UserError("an ensemble needs at least two scores files")
    weights = list(weights) if weights else [1.0] * len(files)
    if len(weights) != len(files):
        raise UserError(f"{len(weights)} weights given for {len(files)} scores files")
    reference_classes = [str(c) for c in files[0].get("class_names", [])]
    k = files[0]["scores"].shape[1]
    common = set(files[0]["indices"].tolist())
    for data, name in zip(files[1:], names[1:]):
        if data["scores"].shape[1] != k:
            raise UserError(f"{name} has {data['scores'].shape[1]} classes, {names[0]} has {k}")
        classes = [str(c) for c in data.get("class_names", [])]
        if reference_classes and classes and classes != reference_classes:
            raise UserError(f"{name} lists different class names than {names[0]}")
        indices = set(data["indices"].tolist())
        if indices != common and not intersect:
            raise UserError(f"{name} covers {len(indices)} videos and {names[0]} {len(common)} "
                            f"({len(indices ^ common)} differ); pass --intersect to use the common ones")
        common &= indices
    order = np.array(sorted(common), dtype=np.int64)
    total = np.zeros((len(order), k), dtype=np.float64)
    labels = None
    for data, name, weight in zip(files, names, weights):
        position = {int(i): row for row, i in enumerate(data["indices"].tolist())}
        rows = np.array([position[int(i)] for i in order], dtype=np.int64)
        scores = data["scores"][rows].astype(np.float64)
        these = data["labels"][rows].astype(np.int64)
        if labels is None:
            labels = these
        elif not np.array_equal(labels, these):
            bad = int(order[np.argmax(labels != these)])
            raise UserError(f"{name} gives video {bad} a different label than {names[0]}")
        total += weight * (_softmax(scores) if softmax else scores)
    return EvalResult(total.astype(np.float32), labels, order, float("nan"))


def ensemble_files(paths: list[str | Path], **kwargs) -> tuple[EvalResult, list[str], dict]:
    """Load scores files, ensemble them; returns (result, class names, per-file reports)."""
    names = [str(p) for p in paths]
    files = []
    for path in paths:
        try:
            files.append(load_scores(path))
        except (FileNotFoundError, ValueError) as exc:
            raise UserError(str(exc)) from None
    result = ensemble_scores(files, names, **kwargs)
    class_names = [str(c) for c in files[0].get("class_names", [])]
    singles = {name: classification_report(data["scores"], data["labels"]) for name, data in zip(names, files)}
    return result, class_names, singles
