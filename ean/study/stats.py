"""Statistics of paired runs: per-video correctness, paired bootstrap intervals of an accuracy
difference over videos x seeds, prediction agreement, and the verdict on a claim.

Every variant of a table is trained with the same seeds (same initial weights for the modules
it shares with the reference row, same data order) and evaluated on the same validation
videos, so a difference is measured on pairs::

    a = correctness(params, "ean")          # Correctness: (seeds, videos) booleans
    b = correctness(params, "baseline")
    d = paired_delta(a, b)                  # Delta: mean, 95 % CI (points of top-1)
    agreement(a, b)                         # share of videos both runs of a seed predict alike

The interval is a crossed (two-way) percentile bootstrap: each replicate draws the seeds and
the videos with replacement, independently, and averages the per-(seed, video) differences of
the drawn ones; it therefore carries both the validation-set sampling and the seed-to-seed
(training) variation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

VERDICTS = ("supported", "contradicted", "unresolved", "untestable")
EQUIVALENCE_MARGIN = 1.0
"""Points of top-1: a claim of *no* difference (the paper's Δ is 0) is supported when the
whole interval lies within ± this margin."""
SAME_NETWORK_AGREEMENT = 0.98
"""Two rows whose runs predict the same class for at least this share of the videos are
reported as (nearly) the same network."""


@dataclass
class Correctness:
    """Per-(seed, video) results of one row: ``correct`` and ``pred`` are ``(S, V)`` arrays
    over ``seeds`` and the validation videos ``indices`` (sorted), with their ``labels``."""

    seeds: list[int]
    indices: np.ndarray
    labels: np.ndarray
    correct: np.ndarray
    pred: np.ndarray
    correct5: Optional[np.ndarray] = None

    @property
    def accuracy(self) -> np.ndarray:
        """Top-1 per seed, in points."""
        return 100.0 * self.correct.mean(axis=1)

    @property
    def accuracy5(self) -> np.ndarray:
        """Top-5 per seed, in points."""
        return 100.0 * (self.correct5 if self.correct5 is not None else self.correct).mean(axis=1)


@dataclass
class Delta:
    """A paired difference in points of top-1 (variant - reference) with its interval."""

    mean: float
    low: float
    high: float
    seeds: int
    videos: int
    level: float = 0.95

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def scores_correctness(paths: Sequence[Path], seeds: Sequence[int]) -> Correctness:
    """Correctness from one ``val_scores.npz`` per seed (a list of lists: an ensemble of the
    members' averaged logits)."""
    from ean.engine.scores import load_scores

    preds, top5s, labels_ref, index_ref = [], [], None, None
    for entry in paths:
        members = entry if isinstance(entry, (list, tuple)) else [entry]
        parts = [load_scores(p) for p in members]
        orders = [np.argsort(p["indices"]) for p in parts]
        indices = parts[0]["indices"][orders[0]]
        for p, o in zip(parts[1:], orders[1:]):
            if not np.array_equal(p["indices"][o], indices):
                raise ValueError(f"ensemble members {members} were evaluated on different videos")
        scores = sum(p["scores"][o] for p, o in zip(parts, orders)) / len(parts)
        labels = parts[0]["labels"][orders[0]]
        if index_ref is None:
            index_ref, labels_ref = indices, labels
        elif not np.array_equal(indices, index_ref):
            raise ValueError(f"{members}: evaluated on other videos than the first seed")
        preds.append(scores.argmax(axis=1))
        k = min(5, scores.shape[1])
        top5s.append((np.argsort(-scores, axis=1)[:, :k] == labels[:, None]).any(axis=1))
    pred = np.stack(preds)
    return Correctness(list(seeds), index_ref, labels_ref, pred == labels_ref[None, :], pred, np.stack(top5s))


def _common(a: Correctness, b: Correctness) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The two rows restricted to the seeds they share (same videos required)."""
    if not np.array_equal(a.indices, b.indices):
        raise ValueError("the two rows were evaluated on different validation videos; a paired "
                         "comparison needs the same videos")
    seeds = [s for s in a.seeds if s in b.seeds]
    if not seeds:
        raise ValueError(f"no seed in common (seeds {a.seeds} vs {b.seeds})")
    ia = [a.seeds.index(s) for s in seeds]
    ib = [b.seeds.index(s) for s in seeds]
    return ia, ib, seeds


def paired_delta(a: Correctness, b: Correctness, n_boot: int = 4000, level: float = 0.95,
                 seed: int = 0) -> Delta:
    """Δ = accuracy(a) - accuracy(b) over the seeds both have, with a crossed percentile
    bootstrap interval over seeds x videos (see the module docstring)."""
    ia, ib, seeds = _common(a, b)
    d = a.correct[ia].astype(np.float64) - b.correct[ib].astype(np.float64)   # (S, V)
    return bootstrap_mean(d, n_boot, level, seed, len(seeds))


def bootstrap_mean(d: np.ndarray, n_boot: int = 4000, level: float = 0.95, seed: int = 0,
                   seeds: Optional[int] = None) -> Delta:
    """Mean of an ``(S, V)`` array (x 100) with a crossed percentile bootstrap interval:
    replicate ``r`` weighs seed ``s`` and video ``v`` by their multiplicities in a draw with
    replacement, ``mean_r = w_r' D u_r / (S V)``."""
    d = np.atleast_2d(np.asarray(d, dtype=np.float64))
    s, v = d.shape
    rng = np.random.default_rng(seed)
    w = rng.multinomial(s, np.full(s, 1.0 / s), size=n_boot).astype(np.float64)      # (B, S)
    u = rng.multinomial(v, np.full(v, 1.0 / v), size=n_boot).astype(np.float64)      # (B, V)
    reps = np.einsum("bs,sv,bv->b", w, d, u) / (s * v)
    alpha = (1 - level) / 2
    low, high = np.quantile(reps, [alpha, 1 - alpha])
    return Delta(100.0 * float(d.mean()), 100.0 * float(low), 100.0 * float(high),
                 seeds if seeds is not None else s, v, level)


def agreement(a: Correctness, b: Correctness) -> float:
    """Share of videos (averaged over the shared seeds) on which the two rows' runs of the
    same seed predict the same class."""
    ia, ib, _ = _common(a, b)
    return float((a.pred[ia] == b.pred[ib]).mean())


def verdict(paper_delta: Optional[float], delta: Optional[Delta], margin: float = EQUIVALENCE_MARGIN) -> str:
    """The rule of the claims table.

    * ``untestable``: the profile has no runs for one of the two rows (or the paper gives no Δ);
    * a claimed difference (paper Δ ≠ 0): ``supported`` when the interval excludes 0 on the
      paper's side, ``contradicted`` when it excludes 0 on the other side, else ``unresolved``;
    * a claimed equivalence (paper Δ = 0): ``supported`` when the interval lies within
      ± ``margin``, ``contradicted`` when it excludes 0, else ``unresolved``.
    """
    if paper_delta is None or delta is None or (isinstance(paper_delta, float) and np.isnan(paper_delta)):
        return "untestable"
    if paper_delta == 0:
        if -margin <= delta.low and delta.high <= margin:
            return "supported"
        return "contradicted" if delta.excludes_zero() else "unresolved"
    if not delta.excludes_zero():
        return "unresolved"
    return "supported" if (delta.mean > 0) == (paper_delta > 0) else "contradicted"
