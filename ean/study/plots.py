"""Charts of the study's tables and claims (matplotlib).

One axis per chart: the difference to the table's reference row in points of top-1, ours as a
dot with its 95 % interval, the paper's beside it as a diamond on the same axis; a vertical
line at 0. ``save`` writes PNGs without the timestamp and software metadata matplotlib adds,
so the same figure gives the same bytes (a re-run leaves ``dvc status`` clean).
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None  # keep inline backends
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ean.study.results import Table  # noqa: E402

OURS, PAPER = "#1f77b4", "#d62728"
VERDICT_COLOURS = {"supported": "#2ca02c", "contradicted": "#d62728", "unresolved": "#7f7f7f",
                   "untestable": "#c7c7c7"}


def save(fig, path, dpi: int = 120) -> None:
    """``fig.savefig`` with fixed metadata (byte-identical for identical figures)."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None, "Creation Time": None}
                if str(path).endswith(".png") else None)


def _interval_chart(labels, ours, low, high, paper, title: str, xlabel: str, colours=None):
    n = len(labels)
    fig, ax = plt.subplots(figsize=(8, 0.45 * n + 1.4))
    y = np.arange(n)[::-1]
    ax.axvline(0, color="black", lw=0.8)
    for i in range(n):
        if not np.isnan(ours[i]):
            c = colours[i] if colours else OURS
            ax.errorbar(ours[i], y[i] + 0.12, xerr=[[ours[i] - low[i]], [high[i] - ours[i]]], fmt="o",
                        color=c, ecolor=c, capsize=3, ms=5)
        if not np.isnan(paper[i]):
            ax.plot(paper[i], y[i] - 0.12, "D", color=PAPER, ms=5)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.plot([], [], "o", color=OURS, label="ours (95% CI, videos x seeds)")
    ax.plot([], [], "D", color=PAPER, label="paper")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06 + 0.3 / max(n, 1)), ncol=2, fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def delta_chart(table: Table):
    """Each non-reference row's Δ to the reference: ours with its CI beside the paper's."""
    df = table.numbers.copy()
    for col in ("paper_delta", "ours_delta", "ci_low", "ci_high"):
        if col not in df:
            df[col] = np.nan
    ref = df["reference"].iloc[0] if "reference" in df and len(df) else ""
    rows = df[(df["row"] != ref) & (df["paper_delta"].notna() | df["ours_delta"].notna())]
    get = lambda col: pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)  # noqa: E731
    return _interval_chart(list(rows["row"]), get("ours_delta"), get("ci_low"), get("ci_high"),
                           get("paper_delta"), table.title, f"top-1 difference to '{ref}' (points)")


def claims_chart(claims: Table):
    """Every claim's Δ (ours with its CI, coloured by verdict; the paper's beside it)."""
    df = claims.numbers[~claims.numbers["table"].astype(str).str.startswith("fig")]
    labels = [f"{r.claim} (T{int(r.table)})" for r in df.itertuples()]
    colours = [VERDICT_COLOURS[v] for v in df["verdict"]]
    f = lambda col: pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)  # noqa: E731
    fig = _interval_chart(labels, f("ours_delta"), f("ci_low"), f("ci_high"), f("paper_delta"),
                          "The paper's claims: its Δ and ours (dot colour = verdict)",
                          "top-1 difference, row minus reference (points)", colours)
    for verdict, colour in VERDICT_COLOURS.items():
        fig.axes[0].plot([], [], "s", color=colour, label=verdict)
    fig.axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0 + 1.2 / max(len(labels), 1)), ncol=3,
                       fontsize=8, frameon=False)
    return fig


def curves_chart(curves: pd.DataFrame, title: str = "validation top-1 during training"):
    """Per-epoch validation top-1 (``curves``: variant, seed, epoch, val_top1, val_videos),
    one line per run, one colour per variant."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (variant, part) in enumerate(curves.groupby("variant", sort=False)):
        colour = plt.cm.tab10(i % 10)
        for j, (_, run) in enumerate(part.groupby("seed")):
            run = run.dropna(subset=["val_top1"])
            ax.plot(run["epoch"], run["val_top1"], "-o", color=colour, ms=3, lw=1, alpha=0.8,
                    label=variant if j == 0 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation top-1 (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
