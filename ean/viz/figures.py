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
def per_class_accuracy(scores_files: Sequence[Path]) -> pd.DataFrame:
    """Per-class top-1 (%) of each scores file: columns class, seed (file index), acc."""
    from ean.engine.evaluate import load_scores

    rows = []
    for i, path in enumerate(scores_files):
        s = load_scores(path)
        pred = s["scores"].argmax(axis=1)
        names = [str(n) for n in s["class_names"]]
        for c, name in enumerate(names):
            mask = s["labels"] == c
            if mask.any():
                rows.append({"class": name, "seed": i, "acc": 100.0 * float((pred[mask] == c).mean())})
    return pd.DataFrame(rows)


def fig06_most_improved(with_files: Sequence[Path], without_files: Sequence[Path], k: int = 5,
                        labels: tuple[str, str] = ("EAN", "EAN without SOI-Tr")):
    """The k classes whose accuracy SOI-Tr improves most (mean over seeds)."""
    a, b = per_class_accuracy(with_files), per_class_accuracy(without_files)
    a["model"], b["model"] = labels
    gain = a.groupby("class")["acc"].mean() - b.groupby("class")["acc"].mean()
    top = gain.sort_values(ascending=False).head(k)
    data = pd.concat([a, b], ignore_index=True)
    data = data[data["class"].isin(top.index)]
    fig, ax = plt.subplots(figsize=(9, 0.6 * k + 1.5))
    sns.barplot(data=data, y="class", x="acc", hue="model", order=list(top.index), errorbar="sd", ax=ax,
                palette=["#08519c", "#9ecae1"])
    ax.set_xlabel("validation top-1 per class (%), mean ± sd over seeds")
    ax.set_ylabel("")
    ax.set_title(f"Fig. 6: the {k} classes most improved by SOI-Tr")
    for i, (name, g) in enumerate(top.items()):
        ax.text(101, i, f"+{g:.1f}", va="center", fontsize=9)
    ax.set_xlim(0, 112)
    fig.tight_layout()
    table = pd.DataFrame({"class": top.index, "gain": top.values,
                          labels[0]: a.groupby("class")["acc"].mean()[top.index].values,
                          labels[1]: b.groupby("class")["acc"].mean()[top.index].values})
    return fig, table


# --------------------------------------------------------------------------- Fig. 7
def concentration(saliency: torch.Tensor) -> torch.Tensor:
    """Per object: the share of its map's mass in its top 10 % of positions (N,)."""
    flat = saliency.flatten(1).clamp_min(0)
    k = max(1, int(round(0.1 * flat.shape[1])))
    return flat.topk(k, dim=1).values.sum(1) / flat.sum(1).clamp_min(1e-12)


def fig07_saliency(view: ClipView, anchor: int = 0):
    """Frames with the most concentrated object's saliency map, and that object's attention
    from the anchor frame to every frame."""
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
    fig.suptitle(f"Fig. 7: SOI-Tr on one video (prediction: {view.top5[0][0]})", fontsize=10)
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
                   stage: str = "stage4"):
    """Stage-4 activation maps of the baseline and EAN over the frames, and how each one's
    class scores evolve as it sees more of the video."""
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
    sns.lineplot(data=ev, x="seen", y="prob", hue="class", style="model", markers=True, ax=ax)
    ax.set_xlabel("fraction of the video seen")
    ax.set_ylabel("class probability")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    truth = f", true class: {ean.class_names[label]}" if label is not None else ""
    fig.suptitle(f"Fig. 9: baseline vs EAN on one video{truth}", fontsize=10)
    return fig, ev


# -------------------------------------------------------------------------- Fig. 10
CONDITIONS = {"original": (1.0, 1.0), "zoom 1.6x": (1.6, 1.0), "2x frame rate": (1.0, 2.0)}


def kernel_weight_table(view: ClipView, condition: str = "") -> pd.DataFrame:
    rows = []
    for e, (stage, kw) in enumerate(zip(view.eab_stages, view.kernel_weights)):
        for kind, weights in kw.items():
            for g, w in enumerate(weights.tolist()):
                size = view.kernel_sizes[g] if g < len(view.kernel_sizes) else g
                rows.append({"eab": f"EAB {stage}", "kind": kind, "kernel": size, "weight": w,
                             "condition": condition})
    return pd.DataFrame(rows)


def fig10_anchor(probe: Probe, video: torch.Tensor):
    """Kernel weights of every EAB for one video: original, zoomed 1.6x, 2x frame rate."""
    data = pd.concat([kernel_weight_table(probe.analyse(video, zoom=z, rate=r), name)
                      for name, (z, r) in CONDITIONS.items()], ignore_index=True)
    g = sns.catplot(data=data, x="kernel", y="weight", hue="condition", col="eab", row="kind",
                    kind="bar", height=2.4, aspect=1.0, sharey=False, palette="deep")
    g.set_axis_labels("kernel extent", "sum of M entries")
    g.fig.suptitle("Fig. 10: kernel weights derived from M (one video)", y=1.02)
    return g.fig, data


def population_shift(probe: Probe, videos: Sequence[torch.Tensor], progress: bool = True) -> pd.DataFrame:
    """For every video, the kernel weights under the three conditions (long format)."""
    from tqdm.auto import tqdm

    parts = []
    for i, v in enumerate(tqdm(videos, desc="videos", disable=not progress)):
        for name, (z, r) in CONDITIONS.items():
            parts.append(kernel_weight_table(probe.analyse(v, zoom=z, rate=r), name).assign(video=i))
    return pd.concat(parts, ignore_index=True)


def paired_differences(data: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean paired difference (condition - original) per EAB, kind and kernel, with a
    t-interval over videos."""
    from scipy import stats

    base = data[data["condition"] == "original"].set_index(["video", "eab", "kind", "kernel"])["weight"]
    rows = []
    for cond in data["condition"].unique():
        if cond == "original":
            continue
        other = data[data["condition"] == cond].set_index(["video", "eab", "kind", "kernel"])["weight"]
        diff = (other - base).dropna().reset_index()
        for (eab, kind, kernel), g in diff.groupby(["eab", "kind", "kernel"]):
            d = g["weight"].to_numpy()
            n = len(d)
            mean = float(d.mean())
            half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
            rows.append({"condition": cond, "eab": eab, "kind": kind, "kernel": kernel, "mean_diff": mean,
                         "ci_low": mean - half, "ci_high": mean + half, "n": n})
    return pd.DataFrame(rows)


def fig10_population(diffs: pd.DataFrame):
    """Paired differences of the kernel weights over the validation set, with CIs: the
    spatial kernels under zoom, the temporal kernels under the higher frame rate."""
    panels = [("zoom 1.6x", "spatial"), ("2x frame rate", "temporal")]
    eabs = sorted(diffs["eab"].unique())
    fig, axes = plt.subplots(len(panels), len(eabs), figsize=(2.6 * len(eabs), 5.2), squeeze=False)
    for r, (cond, kind) in enumerate(panels):
        for c, eab in enumerate(eabs):
            ax = axes[r][c]
            d = diffs[(diffs["condition"] == cond) & (diffs["kind"] == kind) & (diffs["eab"] == eab)]
            d = d.sort_values("kernel")
            x = np.arange(len(d))
            ax.bar(x, d["mean_diff"], color="#3182bd")
            ax.errorbar(x, d["mean_diff"], yerr=[d["mean_diff"] - d["ci_low"], d["ci_high"] - d["mean_diff"]],
                        fmt="none", ecolor="black", capsize=3)
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_xticks(x, [str(k) for k in d["kernel"]])
            ax.set_title(f"{eab}: {kind}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{cond} − original")
            ax.set_xlabel("kernel extent")
    n = int(diffs["n"].max()) if len(diffs) else 0
    fig.suptitle(f"Fig. 10 over the validation set: mean paired difference of kernel weights, 95% CI "
                 f"({n} videos)", fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------- Figs. 11-12
def confident_errors(scores_file: Path, k: int = 4) -> pd.DataFrame:
    """The k most confident wrong predictions of a scores file (softmax of the logits)."""
    from ean.engine.evaluate import load_scores

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


def fig11_failure(view: ClipView, true_name: str, stage: Optional[str] = None):
    """One failure case: the frames, the activation after the last EAB, and every SOI-Tr
    object's saliency map."""
    stage = stage or (f"stage{view.eab_stages[-1]}" if view.eab_stages else "stage5")
    n_obj = view.saliency.shape[0] if view.saliency is not None else 0
    t = len(view.frames)
    fig, axes = plt.subplots(2 + n_obj, t, figsize=(1.5 * t, 1.55 * (2 + n_obj)), squeeze=False)
    act = view.activation(stage)
    for i in range(t):
        _overlay(axes[0][i], view.frames[i], None)
        axes[0][i].set_title(f"frame {i + 1}", fontsize=8)
        _overlay(axes[1][i], view.frames[i], act[i], cmap="inferno", vmax=float(act.max()))
        for n in range(n_obj):
            _overlay(axes[2 + n][i], view.frames[i], view.saliency[n, i], vmax=float(view.saliency[n].max()))
    axes[0][0].set_ylabel("frames", fontsize=8)
    axes[1][0].set_ylabel(f"{stage}\nactivation", fontsize=8)
    for n in range(n_obj):
        axes[2 + n][0].set_ylabel(f"object {n + 1}", fontsize=8)
    top = view.top5[0]
    fig.suptitle(f"true: {true_name}\npredicted: {top[0]} ({100 * top[1]:.0f}%)", fontsize=9)
    fig.tight_layout()
    return fig
