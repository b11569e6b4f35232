"""Fig. 10 as an experiment: the same validation clips re-rendered by the generator with a
camera zoom of 1.6x and at twice the frame rate (the same event over twice the frames), and
how each EAB's kernel weights move, paired over videos x seeds.

    result = kernel_weight_study(params, "ean", subset=300)
    result.summary()      # {"zoom": {...delta, ci...}, "rate": {...}, "regression": {...}}

Kernel weight. The paper computes a kernel's weight "by summing the matrix values connected
to it". M is used raw (no softmax), so such sums can be negative, and a negative weight is
not a smaller share of anything. We measure instead each kernel's **share of |M|**: the sum
of the absolute entries of M connected to the kernel, divided by the sum over the kernels of
that axis. It cannot be negative, it sums to 1 over the G kernels, and it is the paper's
quantity for a matrix whose entries are non-negative. The claim tested: zooming in raises
the share of the smallest (1x1) spatial kernel; a higher frame rate raises the share of the
smallest (1-tap) temporal kernel — averaged over the model's EABs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch

from ean.models.eab import kernel_weights

VERSIONS = ("anchor", "zoom", "rate")


def kernel_shares(matrix: torch.Tensor, sizes, first: str) -> dict[str, torch.Tensor]:
    """``{"spatial": (B, G), "temporal": (B, G)}``: each kernel's share of |M| (see module doc)."""
    w = kernel_weights(matrix.abs(), sizes, first)
    return {k: v / v.sum(dim=1, keepdim=True).clamp_min(1e-12) for k, v in w.items()}


@dataclass
class StudyResult:
    """Shares of the smallest kernel, ``(S, V, 3)`` over seeds x videos x (anchor, zoom, rate),
    averaged over EABs (``per_eab``: ``(S, V, 3, E)``), and each video's ground truth."""

    seeds: list[int]
    spatial: np.ndarray
    temporal: np.ndarray
    spatial_per_eab: np.ndarray
    temporal_per_eab: np.ndarray
    spatial_all: np.ndarray        # (S, V, 3, E, G): every kernel's share
    temporal_all: np.ndarray
    size_px: np.ndarray            # (V,) mean object extent of the anchor clip
    event_fraction: np.ndarray     # (V,) event duration / clip length
    labels: np.ndarray
    zoom: float
    rate: float
    stages: list[int] = field(default_factory=list)
    predictions: Optional[np.ndarray] = None   # (S, V, 3) predicted class of each version

    def correct_video(self, seed_index: int = 0) -> int:
        """The first clip the model of ``seed_index`` classifies correctly as rendered (0 if none)."""
        hits = np.flatnonzero(self.predictions[seed_index, :, 0] == self.labels) if self.predictions is not None else []
        return int(hits[0]) if len(hits) else 0

    def effect(self, which: str):
        """Δ share (x100: points) of the smallest spatial (zoom) or temporal (rate) kernel."""
        from ean.study.stats import bootstrap_mean

        values = self.spatial if which == "zoom" else self.temporal
        return bootstrap_mean(values[:, :, VERSIONS.index(which)] - values[:, :, 0])

    def per_eab(self) -> pd.DataFrame:
        """Δ share of the smallest kernel per EAB and intervention, with 95 % CIs."""
        from ean.study.stats import bootstrap_mean

        rows = []
        for which, values in (("zoom", self.spatial_per_eab), ("rate", self.temporal_per_eab)):
            v = VERSIONS.index(which)
            for e, stage in enumerate(self.stages):
                d = bootstrap_mean(values[:, :, v, e] - values[:, :, 0, e])
                rows.append({"intervention": which, "eab": stage, "delta": d.mean, "ci_low": d.low, "ci_high": d.high})
        return pd.DataFrame(rows)

    def regression(self) -> dict:
        """Slopes (per unit of log2 object size / of event fraction) of the anchor clips'
        small-kernel shares, with their standard errors (scipy.stats.linregress)."""
        from scipy.stats import linregress

        out = {}
        s = len(self.seeds)
        for name, values, x in (("spatial_vs_log2_size", self.spatial, np.log2(self.size_px)),
                                ("temporal_vs_event_fraction", self.temporal, self.event_fraction)):
            fit = linregress(np.tile(x, s), 100.0 * values[:, :, 0].reshape(-1))
            out[name] = {"slope": float(fit.slope), "stderr": float(fit.stderr), "r": float(fit.rvalue),
                         "p": float(fit.pvalue), "n": int(values[:, :, 0].size)}
        return out

    def summary(self) -> dict:
        out = {}
        for which, axis in (("zoom", "spatial"), ("rate", "temporal")):
            d = self.effect(which)
            out[which] = {"quantity": f"share of |M| of the smallest {axis} kernel (points), averaged over "
                                      f"EABs {self.stages}: {which} - anchor",
                          "delta": d.mean, "ci_low": d.low, "ci_high": d.high, "seeds": d.seeds,
                          "videos": d.videos, "factor": self.zoom if which == "zoom" else self.rate}
        out["regression"] = self.regression()
        return out


def kernel_weight_study(params, variant: str = "ean", subset: int = 300, zoom: float = 1.6,
                        rate: float = 2.0, seeds: Optional[list[int]] = None,
                        progress: bool = True) -> StudyResult:
    """Render ``subset`` evenly spaced validation clips of the variant's generated dataset as
    they are, zoomed and at ``rate`` x the frame rate, and run every seed's checkpoint on them."""
    from tqdm.auto import tqdm

    from ean.data.synth.rendering import render
    from ean.data.synth.writer import clip_spec
    from ean.viz.study_data import generated_validation, eval_view, trained_runs

    ds, prof, jobs = generated_validation(params, variant, subset, f"{variant}: the interventions")
    seeds = list(seeds if seeds is not None else params.variants[variant].seeds)
    models = trained_runs(params, variant, seeds)
    n_eab = len(models[0][0].eabs)
    g = len(next(iter(models[0][0].eabs.values())).sizes)
    spatial = np.zeros((len(seeds), len(jobs), 3, n_eab, g))
    temporal = np.zeros_like(spatial)
    size_px, event = np.zeros(len(jobs)), np.zeros(len(jobs))
    preds = np.zeros((len(seeds), len(jobs), 3), dtype=np.int64)
    labels = np.array([j.label for j in jobs])
    bar = tqdm(jobs, desc="Fig. 10 interventions", unit="clip", disable=not progress)
    for k, job in enumerate(bar):
        specs = [clip_spec(job, prof, ds.seed), clip_spec(job, prof, ds.seed, zoom=zoom),
                 clip_spec(job, prof, ds.seed, rate=rate)]
        size_px[k] = specs[0].stats["size_px"]
        event[k] = specs[0].stats["event_frames"] / specs[0].num_frames
        rendered = [render(sp, prof) for sp in specs]
        for i, (model, data_cfg) in enumerate(models):
            x = torch.cat([eval_view(f, data_cfg, model.cfg)[0] for f in rendered])
            with torch.no_grad():
                logits, aux = model(x, return_aux=True)
            preds[i, k] = logits.argmax(1).numpy()
            for e, (eab, m) in enumerate(zip(model.eabs.values(), aux["fusion"])):
                sh = kernel_shares(m, eab.sizes, eab.first)
                spatial[i, k, :, e] = sh["spatial"].numpy()
                temporal[i, k, :, e] = sh["temporal"].numpy()
    small_s, small_t = spatial[..., 0], temporal[..., 0]
    return StudyResult(seeds, small_s.mean(-1), small_t.mean(-1), small_s, small_t, spatial, temporal,
                       size_px, event, labels, zoom, rate, sorted(int(s) for s in models[0][0].eabs), preds)


def write_summary(result: StudyResult, path: str | Path) -> Path:
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.summary(), indent=2) + "\n")
    return path
