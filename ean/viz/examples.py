"""The example video of Figs. 7 and 9 and its ground-truth event."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd


def showcase_video(params, per_class: pd.DataFrame, seed: int = 0, variant: str = "ean") -> tuple[int, str]:
    """The example video of Figs. 7 and 9: of the class whose accuracy SOI-Tr improves most
    (the first row of ``per_class``, :func:`ean.viz.figures.per_class_delta` sorted by Δ),
    the validation video that ``variant``'s run ``seed`` classifies correctly with the
    highest probability (the most confident one of the class when none is correct). Returns
    (validation index, class)."""
    from ean.engine.scores import load_scores
    from ean.study.params import run_name

    name = str(per_class.iloc[0]["class"])
    s = load_scores(params.reports_dir / "runs" / run_name(variant, seed) / "val_scores.npz")
    names = [str(n) for n in s["class_names"]]
    c = names.index(name)
    probs = np.exp(s["scores"] - s["scores"].max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    mine = np.flatnonzero(s["labels"] == c)
    right = mine[s["scores"][mine].argmax(1) == c]
    pool = right if len(right) else mine
    best = pool[np.argmax(probs[pool, c])]
    return int(s["indices"][best]), name


def event_fractions(params, record) -> Optional[tuple[float, float]]:
    """The event's (start, end) as fractions of a generated validation video (None for a
    video that is not from the study's generated set)."""
    from ean.data.synth.profiles import get_profile
    from ean.data.synth.writer import ID_BASE, ClipJob, clip_spec

    ds = params.datasets[params.variants["ean"].dataset]
    if not ds.generated:
        return None
    try:
        k = int(Path(record.path).stem) - ID_BASE["validation"]
    except ValueError:
        return None
    prof = get_profile(ds.synth)
    spec = clip_spec(ClipJob("validation", k, record.label, Path(record.path).stem), prof, ds.seed)
    start, duration = spec.event
    return start / spec.num_frames, (start + duration) / spec.num_frames
