"""The paper's figures, computed from trained runs (matplotlib / seaborn).

Each ``figNN_*`` function returns ``(figure, data)``: ``data`` is the DataFrame the figure
draws, so a notebook can show or save the numbers too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ean.viz.inspect import ClipView, Probe

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])


def _frame(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 -> (H, W, 3) for imshow."""
    return img.permute(1, 2, 0).numpy()


def _overlay(ax, frame: torch.Tensor, heat: Optional[torch.Tensor], cmap="jet", alpha=0.45, vmax=None):
    ax.imshow(_frame(frame))
    if heat is not None:
        h, w = frame.shape[-2:]
        up = torch.nn.functional.interpolate(heat[None, None].float(), size=(h, w), mode="bilinear",
                                             align_corners=False)[0, 0]
        im = ax.imshow(up.numpy(), cmap=cmap, alpha=alpha, vmin=0, vmax=vmax)
        ax.set_xticks([]), ax.set_yticks([])
        return im
    ax.set_xticks([]), ax.set_yticks([])
    return None


# --------------------------------------------------------------------------- Fig. 6
def per_class_delta(with_c, without_c, class_names: Sequence[str], n_boot: int = 2000) -> pd.DataFrame:
    """Per class: accuracy of both rows (mean over shared seeds) and the paired Δ with a 95 %
    crossed bootstrap interval over that class's videos x seeds (``Correctness`` inputs)."""
    from ean.study.stats import _common, bootstrap_mean

    ia, ib, seeds = _common(with_c, without_c)
    rows = []
    for c, name in enumerate(class_names):
        mask = with_c.labels == c
        if not mask.any():
            continue
        a, b = with_c.correct[ia][:, mask], without_c.correct[ib][:, mask]
        d = bootstrap_mean(a.astype(float) - b.astype(float), n_boot=n_boot, seed=c)
        rows.append({"class": name, "with": 100 * a.mean(), "without": 100 * b.mean(), "delta": d.mean,
                     "ci_low": d.low, "ci_high": d.high, "videos": int(mask.sum()), "seeds": len(seeds),
                     "significant": d.excludes_zero()})
    return pd.DataFrame(rows).sort_values("delta", ascending=False, ignore_index=True)


def fig06_per_class(with_c, without_c, class_names: Sequence[str],
                    labels: tuple[str, str] = ("EAN", "EAN without SOI-Tr")):
    """Fig. 6 for every class: Δ top-1 (with - without SOI-Tr) and its 95 % interval, sorted;
    classes whose interval excludes 0 are drawn solid. The title states the mean effect."""
    from ean.study.stats import paired_delta

    data = per_class_delta(with_c, without_c, class_names)
    overall = paired_delta(with_c, without_c)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(data) + 1.6))
    y = np.arange(len(data))[::-1]
    ax.axvline(0, color="black", lw=0.8)
    for yi, (_, r) in zip(y, data.iterrows()):
        colour = "#08519c" if r["significant"] else "#9ecae1"
        ax.errorbar(r["delta"], yi, xerr=[[r["delta"] - r["ci_low"]], [r["ci_high"] - r["delta"]]], fmt="o",
                    color=colour, ecolor=colour, capsize=2, ms=4, mfc=colour if r["significant"] else "white")
    ax.set_yticks(y)
    ax.set_yticklabels(data["class"], fontsize=8)
    ax.set_xlabel(f"top-1 per class, {labels[0]} - {labels[1]} (points; 95 % CI over the class's videos x seeds)")
    ax.set_title(f"Fig. 6: what SOI-Tr changes, class by class — on average {overall.mean:+.1f} "
                 f"[{overall.low:+.1f}, {overall.high:+.1f}] points; solid: interval excludes 0", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig, data


# --------------------------------------------------------------------------- Fig. 7
def concentration(saliency: torch.Tensor) -> torch.Tensor:
    """Per object: the share of its map's mass in its top 10 % of positions (N,)."""
    flat = saliency.flatten(1).clamp_min(0)
    k = max(1, int(round(0.1 * flat.shape[1])))
    return flat.topk(k, dim=1).values.sum(1) / flat.sum(1).clamp_min(1e-12)


def fig07_saliency(view: ClipView, anchor: int = 3, true_name: Optional[str] = None):
    """Frames with the most concentrated object's saliency map, and that object's attention
    from the anchor frame (default: frame 4, as the paper) to every frame."""
    if view.saliency is None:
        raise ValueError("this model has no Saliency-Net SOI-Tr (soi.regions=saliency)")
    n_obj, t = view.saliency.shape[:2]
    obj = int(concentration(view.saliency).argmax())
    vmax = float(view.saliency[obj].max())
    fig = plt.figure(figsize=(1.7 * t, 4.2))
    grid = fig.add_gridspec(2, t, height_ratios=[1.2, 1])
    for i in range(t):
        ax = fig.add_subplot(grid[0, i])
        im = _overlay(ax, view.frames[i], view.saliency[obj, i], vmax=vmax)
        ax.set_title(f"frame {i + 1}" + (" (anchor)" if i == anchor else ""), fontsize=8)
    fig.colorbar(im, ax=fig.axes, fraction=0.015, label=f"saliency, object {obj + 1}")
    ax = fig.add_subplot(grid[1, :])
    att = None
    if view.attention is not None and view.attention.shape[0] == n_obj * t:
        row = view.attention[obj * t + anchor]
        att = row.view(n_obj, t)[obj]
        ax.bar(np.arange(1, t + 1), att.numpy(), color="#08519c")
        ax.set_xlabel("frame")
        ax.set_ylabel("attention weight")
        ax.set_title(f"attention of object {obj + 1} at frame {anchor + 1} to the same object in every frame",
                     fontsize=9)
    else:
        ax.set_axis_off()
    truth = f"true class: {true_name}; " if true_name else ""
    verdict = "" if true_name is None else (" (correct)" if view.top5[0][0] == true_name else " (wrong)")
    fig.suptitle(f"Fig. 7: SOI-Tr on one video ({truth}prediction: {view.top5[0][0]}{verdict})", fontsize=10)
    data = pd.DataFrame({"frame": np.arange(1, t + 1),
                         "concentration": float(concentration(view.saliency)[obj]),
                         "attention": att.numpy() if att is not None else np.nan})
    return fig, data


# --------------------------------------------------------------------------- Fig. 9
def score_evolution(probe: Probe, video: torch.Tensor, classes: Sequence[int], steps: int = 8) -> pd.DataFrame:
    """Class probabilities when the model sees the first 1/steps, 2/steps, ... of the video."""
    rows = []
    n = len(video)
    for s in range(1, steps + 1):
        part = video[: max(1, round(n * s / steps))]
        view = probe.analyse(part)
        for c in classes:
            rows.append({"seen": s / steps, "class": probe.class_names[c], "prob": float(view.probs[c])})
    return pd.DataFrame(rows)


def fig09_features(baseline: Probe, ean: Probe, video: torch.Tensor, label: Optional[int] = None,
                   stage: str = "stage4", event: Optional[tuple[float, float]] = None):
    """Stage-4 activation maps of the baseline and EAN over the frames, and how each one's
    class scores evolve as it sees more of the video, against the ground-truth ``event``
    (start, end as fractions of the video) when it is known."""
    vb, ve = baseline.analyse(video), ean.analyse(video)
    t = len(ve.frames)
    classes = list(dict.fromkeys([c for c in (label, ve.prediction, vb.prediction) if c is not None]))
    fig = plt.figure(figsize=(1.7 * t, 7))
    grid = fig.add_gridspec(3, t, height_ratios=[1, 1, 1.3])
    for r, (name, view) in enumerate((("baseline", vb), ("EAN", ve))):
        act = view.activation(stage)
        vmax = float(act.max())
        for i in range(t):
            ax = fig.add_subplot(grid[r, i])
            im = _overlay(ax, view.frames[i], act[i], cmap="inferno", vmax=vmax)
            if i == 0:
                ax.set_ylabel(name)
            if r == 0:
                ax.set_title(f"frame {i + 1}", fontsize=8)
        fig.colorbar(im, ax=fig.axes[-t:], fraction=0.015, label=f"{stage} |activation|")
    ev = pd.concat([score_evolution(baseline, video, classes).assign(model="baseline"),
                    score_evolution(ean, video, classes).assign(model="EAN")], ignore_index=True)
    ax = fig.add_subplot(grid[2, :])
    sns.lineplot(data=ev, x="seen", y="prob", hue="model", style="class", markers=True,
                 palette={"baseline": "#7f7f7f", "EAN": "#d62728"}, ax=ax)
    if event is not None:
        ax.axvspan(event[0], event[1], color="#fdae6b", alpha=0.35, lw=0, label="event (ground truth)")
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("fraction of the video seen")
    ax.set_ylabel("class probability")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    truth = f", true class: {ean.class_names[label]}" if label is not None else ""
    fig.suptitle(f"Fig. 9: baseline vs EAN on one video{truth}", fontsize=10)
    return fig, ev


# ------------------------------------------------------------- the example videos
def showcase_video(params, per_class: pd.DataFrame, seed: int = 0, variant: str = "ean") -> tuple[int, str]:
    """The example video of Figs. 7 and 9: of the class whose accuracy SOI-Tr improves most
    (the first row of ``per_class``, :func:`per_class_delta` sorted by Δ), the validation video
    that ``variant``'s run ``seed`` classifies correctly with the highest probability (the
    most confident one of the class when none is correct). Returns (validation index, class)."""
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


def grounding_chart(summary: dict):
    """The population scores of Figs. 7 and 9 with their 95 % intervals: the pointing game
    against chance, the activation share inside the masks (baseline vs EAN), and how much
    faster the true class's probability rises during the event than outside it."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    ax = axes[0]
    p = summary["pointing"]
    ax.bar(["uniform point", "SOI-Tr saliency peak"], [summary["pointing_chance"], summary["pointing_rate"]],
           color=["#bdbdbd", "#08519c"])
    ax.errorbar([1], [summary["pointing_rate"]], yerr=[[p["delta"] - p["ci_low"]], [p["ci_high"] - p["delta"]]],
                fmt="none", color="black", capsize=4)
    ax.set_ylabel("frames with the peak on an object (%)")
    ax.set_title(f"Fig. 7 pointing game: {p['delta']:+.1f} points over chance\n"
                 f"[{p['ci_low']:+.1f}, {p['ci_high']:+.1f}]", fontsize=9)
    ax = axes[1]
    if "energy" in summary:
        e = summary["energy"]
        shares = summary["energy_share"]
        ax.bar(["baseline", "EAN"], [shares["baseline"], shares["ean"]], color=["#7f7f7f", "#d62728"])
        ax.axhline(summary["energy_chance"], color="black", ls="--", lw=1, label="evenly spread")
        ax.errorbar([1], [shares["ean"]], yerr=[[e["delta"] - e["ci_low"]], [e["ci_high"] - e["delta"]]],
                    fmt="none", color="black", capsize=4)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_ylabel("activation inside the object masks (%)")
        ax.set_title(f"Fig. 9 energy in the masks: EAN - baseline {e['delta']:+.1f}\n"
                     f"[{e['ci_low']:+.1f}, {e['ci_high']:+.1f}] points", fontsize=9)
    ax = axes[2]
    models = [m for m in ("baseline", "ean") if f"rise_{m}" in summary]
    for i, m in enumerate(models):
        r = summary[f"rise_{m}"]
        ax.errorbar([i], [r["delta"]], yerr=[[r["delta"] - r["ci_low"]], [r["ci_high"] - r["delta"]]],
                    fmt="o", capsize=4, color="#7f7f7f" if m == "baseline" else "#d62728")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(["baseline" if m == "baseline" else "EAN" for m in models])
    ax.set_xlim(-0.6, len(models) - 0.4)
    ax.set_ylabel("rise per video length, inside - outside")
    ax.set_title("Fig. 9 score evolution: does the true class's\nprobability rise during the event? (> 0: yes)",
                 fontsize=9)
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------- Fig. 10
CONDITIONS = {"original": (1.0, 1.0), "zoom 1.6x": (1.6, 1.0), "2x frame rate": (1.0, 2.0)}


def fig10_anchor(result, video: int, kernel_labels: Sequence[str] = ("1", "3", "5")):
    """One video's kernel-weight shares (share of |M|) per EAB, as rendered, zoomed and at the
    higher frame rate (the paper's Fig. 10 panels, on the generator's true interventions)."""
    from ean.viz.interventions import VERSIONS

    rows = []
    for axis, values in (("spatial", result.spatial_all), ("temporal", result.temporal_all)):
        for v, version in enumerate(VERSIONS):
            for e, stage in enumerate(result.stages):
                for g, label in enumerate(kernel_labels[: values.shape[-1]]):
                    rows.append({"axis": axis, "condition": version, "eab": f"EAB {stage}",
                                 "kernel": f"{axis[0].upper()}-{label}",
                                 "share": float(values[:, video, v, e, g].mean())})
    data = pd.DataFrame(rows)
    fig, axes = plt.subplots(2, len(result.stages), figsize=(3.2 * len(result.stages), 5.4), sharey=True,
                             squeeze=False)
    palette = {"anchor": "#7f7f7f", "zoom": "#2ca02c", "rate": "#8c564b"}
    for r, axis in enumerate(("spatial", "temporal")):
        for c, stage in enumerate(result.stages):
            ax = axes[r, c]
            part = data[(data["axis"] == axis) & (data["eab"] == f"EAB {stage}")]
            sns.barplot(part, x="kernel", y="share", hue="condition", palette=palette, ax=ax)
            ax.set_title(f"EAB {stage}, {axis} kernels", fontsize=9)
            ax.set_xlabel("")
            ax.set_ylabel("share of |M|" if c == 0 else "")
            if not (r == 0 and c == 0):
                ax.get_legend().remove()
    fig.suptitle(f"Kernel-weight shares of validation video {video} (mean over seeds)", fontsize=10)
    fig.tight_layout()
    return fig, data


def fig10_population(result):
    """Over the validation clips: Δ share of the smallest spatial kernel under the 1.6x zoom
    and of the smallest temporal kernel at 2x frame rate, per EAB and averaged, with 95 %
    crossed bootstrap intervals (videos x seeds)."""
    per = result.per_eab()
    summary = result.summary()
    rows = [{"intervention": w, "eab": "mean", "delta": summary[w]["delta"], "ci_low": summary[w]["ci_low"],
             "ci_high": summary[w]["ci_high"]} for w in ("zoom", "rate")]
    data = pd.concat([per, pd.DataFrame(rows)], ignore_index=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=False)
    titles = {"zoom": f"zoom {result.zoom:g}x: share of the 1x1 spatial kernel",
              "rate": f"{result.rate:g}x frame rate: share of the 1-tap temporal kernel"}
    for ax, which in zip(axes, ("zoom", "rate")):
        part = data[data["intervention"] == which]
        x = np.arange(len(part))
        ax.axhline(0, color="black", lw=0.8)
        ax.errorbar(x, part["delta"], yerr=[part["delta"] - part["ci_low"], part["ci_high"] - part["delta"]],
                    fmt="o", capsize=3)
        ax.set_xticks(x)
        ax.set_xticklabels([f"EAB {e}" if e != "mean" else "mean" for e in part["eab"]])
        ax.set_ylabel("Δ share (points), condition - anchor")
        ax.set_title(titles[which] + "\npaper: rises (> 0)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig, data


def confident_errors(scores_file: Path, k: int = 4) -> pd.DataFrame:
    """The k most confident wrong predictions of a scores file (softmax of the logits)."""
    from ean.engine.scores import load_scores

    s = load_scores(scores_file)
    logits = torch.from_numpy(s["scores"]).float()
    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    labels = torch.from_numpy(s["labels"])
    wrong = (pred != labels).nonzero().flatten()
    order = wrong[conf[wrong].argsort(descending=True)][:k]
    names = [str(n) for n in s["class_names"]]
    return pd.DataFrame({"index": s["indices"][order.numpy()], "label": labels[order].numpy(),
                         "true": [names[int(i)] for i in labels[order]],
                         "predicted": [names[int(i)] for i in pred[order]],
                         "confidence": conf[order].numpy()})


def attributed_errors(scores_file: Path, other_file: Path, k: int = 2) -> pd.DataFrame:
    """The k most confident errors of a model (``scores_file``) that another model of the same
    seed gets right (``other_file``): for Fig. 11 the other is EAN without EABs, for Fig. 12
    EAN without SOI-Tr, so each error is one the removed module is responsible for."""
    from ean.engine.scores import load_scores

    a, b = load_scores(scores_file), load_scores(other_file)
    oa, ob = np.argsort(a["indices"]), np.argsort(b["indices"])
    if not np.array_equal(a["indices"][oa], b["indices"][ob]):
        raise ValueError(f"{scores_file} and {other_file} were evaluated on different videos")
    logits = torch.from_numpy(a["scores"][oa]).float()
    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    labels = torch.from_numpy(a["labels"][oa])
    other_right = torch.from_numpy(b["scores"][ob].argmax(1)) == labels
    pick = ((pred != labels) & other_right).nonzero().flatten()
    order = pick[conf[pick].argsort(descending=True)][:k]
    names = [str(n) for n in a["class_names"]]
    return pd.DataFrame({"index": a["indices"][oa][order.numpy()], "label": labels[order].numpy(),
                         "true": [names[int(i)] for i in labels[order]],
                         "predicted": [names[int(i)] for i in pred[order]],
                         "confidence": conf[order].numpy(), "candidates": int(len(pick))})


def fig11_failure(view: ClipView, true_name: str, stage: Optional[str] = None, overlap=None):
    """One failure case: the frames, the activation after the last EAB, and every SOI-Tr
    object's saliency map. With ``overlap`` (:class:`ean.viz.grounding.Overlap` of the same
    clip) the ground-truth object masks are outlined in white and each map's share of its
    mass inside them is printed beside it, with the masks' share of the frame (chance)."""
    stage = stage or (f"stage{view.eab_stages[-1]}" if view.eab_stages else "stage5")
    n_obj = view.saliency.shape[0] if view.saliency is not None else 0
    t = len(view.frames)
    fig, axes = plt.subplots(2 + n_obj, t, figsize=(1.5 * t, 1.55 * (2 + n_obj)), squeeze=False)
    act = view.activation(stage)
    masks = None
    if overlap is not None:
        h, w = view.frames.shape[-2:]
        masks = torch.nn.functional.interpolate(overlap.union[:, None].float(), size=(h, w), mode="nearest")[:, 0]
    for i in range(t):
        _overlay(axes[0][i], view.frames[i], None)
        axes[0][i].set_title(f"frame {i + 1}", fontsize=8)
        _overlay(axes[1][i], view.frames[i], act[i], cmap="inferno", vmax=float(act.max()))
        for n in range(n_obj):
            _overlay(axes[2 + n][i], view.frames[i], view.saliency[n, i], vmax=float(view.saliency[n].max()))
        if masks is not None and float(masks[i].max()) >= 0.5:
            for row in range(2 + n_obj):
                axes[row][i].contour(masks[i].numpy(), levels=[0.5], colors="white", linewidths=0.8)
    axes[0][0].set_ylabel("frames" + ("\n(white: objects)" if masks is not None else ""), fontsize=8)
    share = (lambda v: f"\n{100 * v:.0f}% in objects") if overlap is not None else (lambda v: "")
    axes[1][0].set_ylabel(f"{stage}\nactivation" + share(overlap.activation if overlap else 0), fontsize=8)
    for n in range(n_obj):
        sal = overlap.saliency[n] if overlap is not None and overlap.saliency is not None else None
        axes[2 + n][0].set_ylabel(f"object {n + 1}" + (share(sal) if sal is not None else ""), fontsize=8)
    top = view.top5[0]
    title = f"true: {true_name}\npredicted: {top[0]} ({100 * top[1]:.0f}%)"
    if overlap is not None:
        title += f"; the objects cover {100 * overlap.chance:.0f}% of the frame (an even map's share)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def no_case(message: str):
    """A figure that says in words why there is nothing to show (e.g. fewer attributed errors
    than figure slots in a small run), so a pipeline's declared outputs always exist."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9)
    return fig
