"""Charts of the study's tables (matplotlib/seaborn)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() == "agg" else None  # keep inline backends
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ean.study.params import StudyParams  # noqa: E402
from ean.study.results import Table, ensemble_accuracy, load_runs  # noqa: E402


def per_seed(table: Table, params: StudyParams) -> pd.DataFrame:
    """One row per (table row, seed) with our top-1 (ensembles: per shared seed)."""
    runs = load_runs(params)
    spec = params.tables[table.id].rows
    parts = []
    for row, variant in spec.items():
        if variant is None:
            continue
        got = (ensemble_accuracy(params, variant) if isinstance(variant, list)
               else runs[runs["variant"] == variant])
        if not got.empty:
            parts.append(pd.DataFrame({"row": row, "seed": got["seed"].values, "top1": got["top1"].values}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["row", "seed", "top1"])


def _paper_top1(table: Table) -> dict[str, float]:
    cols = [c for c in table.numbers.columns if c.startswith("paper") and "top-1" in c]
    if not cols:
        return {}
    col = cols[0]
    return {r["row"]: r[col] for _, r in table.numbers.iterrows() if pd.notna(r.get(col))}


def accuracy_chart(table: Table, params: StudyParams):
    """Horizontal bars: our top-1 per row (mean, a dot per seed); the paper's top-1 on a
    second axis (its scale is another dataset's, so the two are compared by ordering only)."""
    data = per_seed(table, params)
    rows = list(dict.fromkeys(data["row"])) if not data.empty else []
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(rows), 2) + 1.2))
    if data.empty:
        ax.text(0.5, 0.5, "no finished runs for this table", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    sns.barplot(data=data, y="row", x="top1", order=rows, errorbar=None, color="#9ecae1", ax=ax)
    sns.stripplot(data=data, y="row", x="top1", order=rows, color="#08519c", size=5, ax=ax)
    ax.set_xlabel(f"ours: validation top-1 (%), {params.profile} profile")
    ax.set_ylabel("")
    paper = _paper_top1(table)
    shown = [(i, paper[r]) for i, r in enumerate(rows) if r in paper]
    if shown:
        top = ax.twiny()
        top.scatter([v for _, v in shown], [i for i, _ in shown], marker="D", color="#d62728", zorder=3,
                    label="paper top-1")
        top.set_xlabel("paper: top-1 (%), red diamonds", color="#d62728")
        top.tick_params(axis="x", colors="#d62728")
        lo, hi = min(v for _, v in shown), max(v for _, v in shown)
        top.set_xlim(lo - 2 - 0.1 * (hi - lo), hi + 2 + 0.1 * (hi - lo))
    ax.set_title(table.title, fontsize=10)
    fig.tight_layout()
    return fig
