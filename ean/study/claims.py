"""The claims table: one row per claim of the paper's Tables 1, 3, 5-10 and Fig. 10, with the
paper's Δ, ours with its 95 % CI, and a verdict.

    table = build_claims(params)             # a results.Table; .write("reports/tables") -> claims.md/.csv

The claims are data (``data/paper/claims.csv``: claim, table, row, reference, expect); the
paper's Δ is computed from the paper's own numbers (``data/paper``, ``data/literature``),
ours from the runs of the rows the profile maps them to (paired over videos x seeds,
``ean.study.stats``), the figure claims (Figs. 7, 9 and 10) from the figures' population
scores (``reports/figures/<figure>.json``, written by their notebooks; ``row`` names the
score). The verdict rule is :func:`ean.study.stats.verdict`.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from ean.study.paper_values import paper_top1
from ean.study.params import StudyParams
from ean.study.results import Table, dataset_label
from ean.study.row_accuracy import compare, spec_variants
from ean.study.runs import last_gains, load_curves
from ean.study.stats import EQUIVALENCE_MARGIN, SAME_NETWORK_AGREEMENT, Delta, verdict

CLAIMS_CSV = Path(__file__).resolve().parents[2] / "data" / "paper" / "claims.csv"
FIGURE_JSON = {"fig07": "figures/fig07_soi_saliency.json", "fig09": "figures/fig09_features.json",
               "fig10": "figures/fig10_kernel_weights.json"}
"""Where each figure's notebook writes its population scores (relative to the reports folder)."""
FIG10_JSON = FIGURE_JSON["fig10"]
COLUMNS = ["claim", "table", "row", "reference", "paper_delta", "ours_delta", "ci_low", "ci_high",
           "verdict", "seeds", "videos", "agreement", "row_last_gain", "reference_last_gain", "note"]
RISING = 2.0
"""Points: a row whose validation top-1 still rose more than this over its last validation
interval is flagged as not at a plateau (its Δ may be one of learning speed)."""


@dataclass
class Claim:
    claim: str
    table: str
    row: str
    reference: str
    expect: str   # "difference", "equivalence" or "increase" (Fig. 10: the sign only)


def read_claims(path: Path = CLAIMS_CSV) -> list[Claim]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for i, r in enumerate(rows, start=2):
        if r["expect"] not in ("difference", "equivalence", "increase"):
            raise ValueError(f"{path}:{i}: expect must be difference, equivalence or increase")
        out.append(Claim(r["claim"], r["table"], r["row"], r["reference"], r["expect"]))
    return out


def figure_label(table: str) -> str:
    """``fig07`` -> ``Fig. 7``; ``05`` -> ``Table 5``."""
    return f"Fig. {int(table[3:])}" if table.startswith("fig") else f"Table {int(table)}"


def _figure(params: StudyParams, reports_dir: Path, figure: str, which: str) -> tuple[Optional[Delta], str]:
    path = reports_dir / FIGURE_JSON[figure]
    if not path.is_file():
        return None, f"no {path} (the {figure_label(figure)} notebook writes it)"
    data = json.loads(path.read_text()).get(which)
    if not data:
        return None, f"{path} has no '{which}' score"
    d = Delta(data["delta"], data["ci_low"], data["ci_high"], data["seeds"], data["videos"])
    return d, data.get("quantity", "")


def build_claims(params: StudyParams, reports_dir: Optional[Path] = None) -> Table:
    """The claims table of the profile's runs (see the module docstring)."""
    reports_dir = Path(reports_dir or params.reports_dir)
    rows, cache = [], {}
    curves = load_curves(params, list(params.variants), reports_dir)
    gains = {v: sum(g) / len(g) for v, g in last_gains(curves).items()} if len(curves) else {}

    def gain(spec) -> Optional[float]:
        got = [gains[v] for v in spec_variants(spec) if v in gains]
        return max(got) if got else None

    for c in read_claims():
        note, delta, agree, paper_delta = "", None, None, None
        g_row = g_ref = None
        if c.table in FIGURE_JSON:
            delta, note = _figure(params, reports_dir, c.table, c.row)
            paper_delta = None
            direction = 1.0
        else:
            table = params.tables.get(c.table)
            if table is None:
                note = "this profile has no such table"
            else:
                p_row, p_ref = paper_top1(c.table, c.row), paper_top1(c.table, c.reference)
                if p_row is not None and p_ref is not None:
                    paper_delta = round(p_row - p_ref, 2)
                spec, ref = table.rows.get(c.row), table.rows.get(c.reference)
                if spec is None or ref is None:
                    missing = [r for r, s in ((c.row, spec), (c.reference, ref)) if s is None]
                    note = "; ".join(f"{r}: {table.missing.get(r, 'no variant in this profile')}" for r in missing)
                else:
                    delta, agree = compare(params, spec, ref, reports_dir, cache)
                    if delta is None:
                        note = "not trained yet"
                    g_row, g_ref = gain(spec), gain(ref)
                    rising = [f"{name} {g:+.1f}" for name, g in ((c.row, g_row), (c.reference, g_ref))
                              if g is not None and g > RISING]
                    if rising and delta is not None:
                        note = ("not at a plateau, still rising over the last validation interval: "
                                + ", ".join(rising) + " points")
            direction = paper_delta
        if c.expect == "equivalence":
            direction = 0.0
        v = verdict(direction, delta) if delta is not None else "untestable"
        if agree is not None and agree >= SAME_NETWORK_AGREEMENT:
            note = (note + "; " if note else "") + f"the two rows predict alike on {100 * agree:.0f}% of the videos"
        rows.append({"claim": c.claim, "table": c.table, "row": c.row, "reference": c.reference,
                     "paper_delta": paper_delta,
                     "ours_delta": None if delta is None else round(delta.mean, 3),
                     "ci_low": None if delta is None else round(delta.low, 3),
                     "ci_high": None if delta is None else round(delta.high, 3),
                     "verdict": v, "seeds": None if delta is None else delta.seeds,
                     "videos": None if delta is None else delta.videos,
                     "agreement": None if agree is None else round(agree, 4),
                     "row_last_gain": None if g_row is None else round(g_row, 2),
                     "reference_last_gain": None if g_ref is None else round(g_ref, 2), "note": note})
    numbers = pd.DataFrame(rows, columns=COLUMNS)
    shown = numbers.copy()
    fmt = lambda v, spec="+.1f": "" if v is None or pd.isna(v) else format(v, spec)  # noqa: E731
    digits = lambda t: 3 if t in FIGURE_JSON else 1  # noqa: E731
    shown["paper Δ"] = [("+" if r["table"] in FIGURE_JSON else fmt(r["paper_delta"])) for _, r in numbers.iterrows()]
    shown["ours Δ [95% CI]"] = [("" if pd.isna(r["ours_delta"]) else
                                 f"{r['ours_delta']:+.{digits(r['table'])}f} "
                                 f"[{r['ci_low']:+.{digits(r['table'])}f}, "
                                 f"{r['ci_high']:+.{digits(r['table'])}f}]")
                                for _, r in numbers.iterrows()]
    shown["agreement"] = [fmt(a * 100 if a is not None and not pd.isna(a) else None, ".0f") + ("%" if a is not None and not pd.isna(a) else "")
                          for a in numbers["agreement"]]
    shown["table"] = [figure_label(t) for t in numbers["table"]]
    frame = shown[["claim", "table", "paper Δ", "ours Δ [95% CI]", "verdict", "seeds", "agreement", "note"]]
    label = dataset_label(params, "05") if "05" in params.tables else params.profile
    notes = [
        f"Ours: {label}. Δ is the row minus its reference in points of top-1, paired over the same seeds "
        "and validation videos, with a 95 % crossed bootstrap interval over videos x seeds. Figure claims "
        "(the paper shows a direction, '+'): Fig. 7, the pointing game's hit rate minus chance (points); "
        "Fig. 9, EAN's share of activation inside the object masks minus the baseline's (points) and how "
        "much faster the true class's probability rises inside the event than outside it; Fig. 10, the "
        "change of the smallest kernel's share of |M| (points). See each figure's notebook.",
        "Verdict: 'supported' when the interval excludes 0 on the paper's side, 'contradicted' when it "
        "excludes 0 on the other side, 'unresolved' when it contains 0; a claim of no difference "
        f"(Δ = 0) is supported when the interval lies within ±{EQUIVALENCE_MARGIN:g} point; 'untestable' "
        "when this profile does not train one of the two rows.",
        "The networks are small and the benchmark is generated: a verdict says whether the paper's "
        "ordering shows up at this scale, not whether the paper's numbers are right.",
        f"'not at a plateau': a row's validation top-1 (on the same videos) still rose more than {RISING:g} points "
        "over its last validation interval; such a Δ may measure how fast the two networks learn rather than "
        "what they learn.",
    ]
    return Table("claims", "The paper's claims, tested", frame, numbers, notes)
