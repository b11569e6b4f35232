"""Where the models look and when their score rises, scored against the generator's ground
truth (the population scores of Figs. 7 and 9).

The generator knows every object's mask in every frame and the event's first frame and
duration, so three claims of the paper's figures become measurable over the validation set:

* **pointing game** (Fig. 7, "SOI-Tr's saliency finds the objects"): in each sampled frame,
  does the peak of the most concentrated object map fall inside a ground-truth object mask?
  Chance is the share of the frame the masks cover (a uniformly random point);
* **energy in the masks** (Fig. 9, "EAN's activations align with the objects"): the share of
  a stage's activation mass inside the masks, EAN against the baseline, paired;
* **rise within the event** (Fig. 9, "the score evolution finds the start and the end"): the
  true class's probability as the model sees more of the video rises faster, per unit of
  time, while the event happens than before and after it.

Per clip, the geometry is the model's test view: the 1-clip frame indices and the centre
crop, applied to the masks exactly as to the frames::

    view = model_view(frames, masks, data_cfg, model_cfg)   # x (1, 3, T*L, S, S), union (T, S, S)
    pointing_hits(saliency, view.union)                     # (T,) bool, chance (T,)
    energy_share(activation, view.union)                    # (T,), chance (T,)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class ModelView:
    """One clip as the model sees it at test time, with the ground truth on the same pixels."""

    x: torch.Tensor          # (1, 3, T*L, S, S) normalised model input
    union: torch.Tensor      # (T, S, S) in [0, 1]: the objects' union mask on the sparse frames
    indices: np.ndarray      # (T*L,) frame indices of the clip
    sparse: np.ndarray       # (T,) frame indices of the frames the 2D backbone sees


def _upsample(maps: torch.Tensor, size: int) -> torch.Tensor:
    """``(T, h, w)`` -> ``(T, S, S)`` bilinear (a map's pixel covers its receptive area)."""
    return F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def model_view(frames: np.ndarray, masks: np.ndarray, data_cfg, model_cfg, sparse_index: int) -> ModelView:
    """The 1-clip centre-crop test view of rendered ``frames`` ``(F, H, W, 3)`` uint8 and the
    union of the object ``masks`` ``(F, N, H, W)`` on the frames the backbone sees
    (``sparse_index``: which frame of each segment, ``EAN.sparse_frame_index``)."""
    from ean.data.transforms import resize_frames
    from ean.viz.study_data import eval_view

    if len(frames) != len(masks):
        raise ValueError(f"{len(frames)} frames but masks for {len(masks)}")
    x, idx = eval_view(frames, data_cfg, model_cfg)
    sparse = idx[sparse_index::model_cfg.segment_length]
    union = torch.from_numpy(masks[sparse].max(axis=1))[:, None]           # (T, 1, H, W)
    crop = data_cfg.test_crop_size
    union = resize_frames(union, data_cfg.resize, crop)
    h, w = union.shape[-2:]
    top, left = (h - crop) // 2, (w - crop) // 2
    return ModelView(x, union[:, 0, top:top + crop, left:left + crop].clamp(0, 1), idx, sparse)


def pointing_hits(saliency: torch.Tensor, union: torch.Tensor, threshold: float = 0.5,
                  obj: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """Per sparse frame: whether the peak of object ``obj``'s saliency map (default: the most
    concentrated object, as Fig. 7 shows) lies inside the masks, and the chance of a uniformly
    random point doing so (the masks' share of the frame).

    saliency: ``(N, T, h, w)``; union: ``(T, S, S)``. Returns ``(hits (T,) bool, chance (T,))``.
    """
    from ean.viz.figures import concentration

    if obj is None:
        obj = int(concentration(saliency).argmax())
    up = _upsample(saliency[obj], union.shape[-1])                          # (T, S, S)
    inside = union >= threshold
    peak = up.flatten(1).argmax(1)
    hits = inside.flatten(1).gather(1, peak[:, None])[:, 0]
    return hits.numpy(), inside.flatten(1).float().mean(1).numpy()


def energy_share(activation: torch.Tensor, union: torch.Tensor, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per sparse frame: the share of the (non-negative) activation map's mass inside the
    masks, and the masks' share of the frame (what a map spread evenly would score).

    activation: ``(T, h, w)``; union: ``(T, S, S)``. Returns ``(share (T,), chance (T,))``.
    """
    up = _upsample(activation.clamp_min(0), union.shape[-1]).flatten(1)
    inside = (union >= threshold).flatten(1).float()
    total = up.sum(1).clamp_min(1e-12)
    return ((up * inside).sum(1) / total).numpy(), inside.mean(1).numpy()


def rise_within_event(probs: Sequence[float], seen: Sequence[float], event: tuple[float, float]) -> float:
    """How much faster the true class's probability rises during the event than outside it.

    ``probs[i]``: its probability when the model has seen the first ``seen[i]`` of the video
    (``seen`` increasing, ending at 1); ``event``: the event's (start, end) as fractions of the
    video. Returns (rise per unit time inside [start, end]) - (rise per unit time outside it),
    by linear interpolation of the curve; > 0: the score rises with the event.
    """
    seen, probs = np.asarray(seen, dtype=float), np.asarray(probs, dtype=float)
    order = np.argsort(seen, kind="stable")
    seen, probs = seen[order], probs[order]
    keep = np.r_[seen[1:] > seen[:-1], True]            # one value per fraction (the last)
    seen, probs = seen[keep], probs[keep]
    s, e = float(np.clip(event[0], seen[0], 1.0)), float(np.clip(event[1], seen[0], 1.0))
    p = lambda f: float(np.interp(f, seen, probs))  # noqa: E731
    inside = (p(e) - p(s)) / max(e - s, 1e-6)
    out_len = (s - seen[0]) + (1.0 - e)
    outside = ((p(s) - p(seen[0])) + (p(1.0) - p(e))) / out_len if out_len > 1e-6 else 0.0
    return inside - outside


@dataclass
class GroundingResult:
    """Per (seed, video) scores of the validation subset (arrays ``(S, V)``)."""

    seeds: list[int]
    labels: np.ndarray                       # (V,)
    pointing: np.ndarray                     # EAN: share of sparse frames whose saliency peak is on an object
    pointing_chance: np.ndarray              # the masks' share of the frame
    energy: dict[str, np.ndarray] = field(default_factory=dict)       # model -> share of activation in the masks
    energy_chance: Optional[np.ndarray] = None
    rise: dict[str, np.ndarray] = field(default_factory=dict)         # model -> rise_within_event
    correct: dict[str, np.ndarray] = field(default_factory=dict)      # model -> correct on the full clip
    stage: str = "stage4"

    def summary(self) -> dict:
        """The population scores with 95 % crossed bootstrap intervals (videos x seeds)."""
        from ean.study.stats import bootstrap_mean

        def interval(d: np.ndarray, what: str, unit: str = "points") -> dict:
            b = bootstrap_mean(d)
            return {"quantity": what, "unit": unit, "delta": b.mean, "ci_low": b.low, "ci_high": b.high,
                    "seeds": b.seeds, "videos": b.videos}

        out = {"pointing": interval(self.pointing - self.pointing_chance,
                                    "pointing-game hit rate of the most concentrated object's saliency peak "
                                    "minus a uniformly random point's (points)"),
               "pointing_rate": float(100 * self.pointing.mean()),
               "pointing_chance": float(100 * self.pointing_chance.mean())}
        if {"ean", "baseline"} <= set(self.energy):
            out["energy"] = interval(self.energy["ean"] - self.energy["baseline"],
                                     f"share of {self.stage} activation inside the object masks, EAN minus "
                                     "the baseline (points)")
            out["energy_share"] = {k: float(100 * v.mean()) for k, v in self.energy.items()}
            out["energy_chance"] = float(100 * self.energy_chance.mean())
        for model, r in self.rise.items():
            out[f"rise_{model}"] = interval(r / 100.0, f"{model}: rise of the true class's probability per unit "
                                            "of video inside the event minus outside it", "probability per video")
        if {"ean", "baseline"} <= set(self.rise):
            out["rise_ean_vs_baseline"] = interval((self.rise["ean"] - self.rise["baseline"]) / 100.0,
                                                   "EAN minus baseline, the same quantity", "probability per video")
        return out


def _truncated_inputs(frames: np.ndarray, fractions: Sequence[float], data_cfg, model_cfg) -> torch.Tensor:
    """The test clips of the first ``f`` of the video for each fraction, stacked ``(K, 3, T*L, S, S)``."""
    from ean.viz.study_data import eval_view

    return torch.cat([eval_view(frames[: max(1, int(round(len(frames) * f)))], data_cfg, model_cfg)[0]
                      for f in fractions])


def grounding_study(params, subset: int = 90, seeds: Optional[list[int]] = None, stage: str = "stage4",
                    first_seen: float = 0.125, models: Sequence[str] = ("ean", "baseline"),
                    progress: bool = True) -> GroundingResult:
    """Render ``subset`` class-balanced validation clips of the study's generated set with
    their object masks and event times, and score every seed's run of each of ``models``
    (variants: ``ean`` and ``baseline``) on them: the pointing game (models with a
    Saliency-Net SOI-Tr), the energy in the masks and the rise within the event."""
    from tqdm.auto import tqdm

    from ean.data.synth.rendering import object_masks, render
    from ean.data.synth.writer import clip_spec
    from ean.viz.study_data import generated_validation, trained_runs

    ds, prof, jobs = generated_validation(params, "ean", subset, "the grounding scores")
    seeds = list(seeds if seeds is not None else params.variants["ean"].seeds)
    loaded = {name: trained_runs(params, name, seeds) for name in models}
    S, V = len(seeds), len(jobs)
    res = GroundingResult(seeds, np.array([j.label for j in jobs]), np.zeros((S, V)), np.zeros((S, V)),
                          {m: np.zeros((S, V)) for m in loaded}, np.zeros((S, V)),
                          {m: np.zeros((S, V)) for m in loaded}, {m: np.zeros((S, V), bool) for m in loaded}, stage)
    bar = tqdm(jobs, desc="grounding", unit="clip", disable=not progress)
    for k, job in enumerate(bar):
        spec = clip_spec(job, prof, ds.seed)
        frames, masks = render(spec, prof), object_masks(spec)
        start, duration = spec.event
        event = (start / spec.num_frames, (start + duration) / spec.num_frames)
        fractions = [first_seen, max(event[0], first_seen), max(event[1], first_seen), 1.0]
        for name, runs in loaded.items():
            for i, (model, data_cfg) in enumerate(runs):
                view = model_view(frames, masks, data_cfg, model.cfg, model.sparse_frame_index(model.cfg.segment_length))
                x = torch.cat([view.x, _truncated_inputs(frames, fractions[:-1], data_cfg, model.cfg)])
                with torch.no_grad():
                    logits, aux = model(x, return_aux=True)
                probs = torch.softmax(logits, 1)[:, job.label].numpy()
                res.correct[name][i, k] = int(logits[0].argmax()) == job.label
                act = aux["features"][stage][0].abs().mean(0)                 # (T, h, w)
                share, chance = energy_share(act, view.union)
                res.energy[name][i, k], res.energy_chance[i, k] = share.mean(), chance.mean()
                curve = [probs[1], probs[2], probs[3], probs[0]]              # first_seen, start, end, all
                res.rise[name][i, k] = rise_within_event(curve, fractions, event)
                if name == "ean" and "saliency" in aux:
                    hits, chance = pointing_hits(aux["saliency"][0], view.union)
                    res.pointing[i, k], res.pointing_chance[i, k] = hits.mean(), chance.mean()
    return res


@dataclass
class Overlap:
    """Where one model's attention lies on one generated clip, against the object masks."""

    predicted: int
    label: int
    saliency: Optional[np.ndarray]   # (N,) share of each object map's mass inside the masks (None: no Saliency-Net)
    activation: float                # share of the stage's activation mass inside the masks
    chance: float                    # the masks' share of the frame (an evenly spread map's score)
    union: torch.Tensor              # (T, S, S) the masks on the sparse frames of the test view

    @property
    def saliency_best(self) -> float:
        """The best-placed object map's share (NaN without a Saliency-Net)."""
        return float("nan") if self.saliency is None else float(self.saliency.max())


def overlap(model, data_cfg, spec, prof, stage: str) -> Overlap:
    """Render a generated clip (``spec`` of ``prof``) with its object masks, run ``model`` on
    its 1-clip test view and measure how much of each SOI-Tr object map's and of ``stage``'s
    activation mass lies inside the masks (Figs. 11 and 12: did the module look at the objects?)."""
    from ean.data.synth.rendering import object_masks, render

    frames, masks = render(spec, prof), object_masks(spec)
    view = model_view(frames, masks, data_cfg, model.cfg, model.sparse_frame_index(model.cfg.segment_length))
    with torch.no_grad():
        logits, aux = model(view.x, return_aux=True)
    share, chance = energy_share(aux["features"][stage][0].abs().mean(0), view.union)
    sal = None
    if "saliency" in aux:
        maps = aux["saliency"][0]                                             # (N, T, h, w)
        sal = np.array([energy_share(maps[n], view.union)[0].mean() for n in range(maps.shape[0])])
    return Overlap(int(logits[0].argmax()), spec.label, sal, float(share.mean()), float(chance.mean()), view.union)


def overlap_by_outcome(model, data_cfg, specs, prof, stage: str, progress: bool = True) -> dict:
    """The best object map's share inside the masks on the clips ``specs``, split by whether
    ``model`` classifies them correctly: ``{"correct": [...], "errors": [...], "chance": [...],
    "difference": {delta, ci_low, ci_high}}`` (correct minus errors, in points, with a 95 %
    bootstrap interval over clips: do errors look less at the objects?)."""
    from scipy import stats
    from tqdm.auto import tqdm

    right, wrong, chance = [], [], []
    for spec in tqdm(specs, desc="overlap", unit="clip", disable=not progress):
        o = overlap(model, data_cfg, spec, prof, stage)
        (right if o.predicted == o.label else wrong).append(100 * o.saliency_best)
        chance.append(100 * o.chance)
    out = {"correct": right, "errors": wrong, "chance": chance, "difference": None}
    if len(right) >= 2 and len(wrong) >= 2 and np.isfinite(right + wrong).all():
        diff = lambda a, b: np.mean(a) - np.mean(b)  # noqa: E731
        ci = stats.bootstrap((np.array(right), np.array(wrong)), diff, n_resamples=4000,
                             method="percentile", random_state=0).confidence_interval
        out["difference"] = {"delta": float(diff(right, wrong)), "ci_low": float(ci.low), "ci_high": float(ci.high)}
    return out
