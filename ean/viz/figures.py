"""The paper's figures, computed from trained runs (matplotlib / seaborn).

Each ``figNN_*`` function returns ``(figure, data)``: ``data`` is the DataFrame the figure
draws, so a notebook can show or save the numbers too. The example video of Figs. 7 and 9 is
chosen by :mod:`ean.viz.examples`; the failure cases of Figs. 11 and 12 are in
:mod:`ean.viz.failures`.
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ean.viz.inspect import ClipView, Probe
from ean.viz.overlay import overlay

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])


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
        im = overlay(ax, view.frames[i], view.saliency[obj, i], vmax=vmax)
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
            im = overlay(ax, view.frames[i], act[i], cmap="inferno", vmax=vmax)
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


# ------------------------------------------------------- Figs. 7 and 9, population
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
