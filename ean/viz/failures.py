"""The failure cases of Figs. 11 and 12: a model's most confident errors (those another
model gets right) and how each one looks inside the model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ean.viz.inspect import ClipView
from ean.viz.overlay import overlay


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
        overlay(axes[0][i], view.frames[i], None)
        axes[0][i].set_title(f"frame {i + 1}", fontsize=8)
        overlay(axes[1][i], view.frames[i], act[i], cmap="inferno", vmax=float(act.max()))
        for n in range(n_obj):
            overlay(axes[2 + n][i], view.frames[i], view.saliency[n, i], vmax=float(view.saliency[n].max()))
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
