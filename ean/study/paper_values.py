"""What the paper reports for the rows of its tables (transcribed in ``data/paper`` and
``data/literature``), and our Params/GMACs of those rows at the paper's scale."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd

from ean.analysis.literature import literature, paper_accuracy

# literature CSV columns -> our column names, per table
LITERATURE_COLUMNS = {
    1: {"sthv1_top1": "paper V1 top-1", "sthv1_top5": "paper V1 top-5",
        "sthv2_top1": "paper V2 top-1", "sthv2_top5": "paper V2 top-5", "gflops": "paper GFLOPs"},
    2: {"top1": "paper top-1", "top5": "paper top-5", "gflops": "paper GFLOPs"},
    3: {"sthv1_top1": "paper V1 top-1"},
    4: {"top1": "paper top-1"},
}
LITERATURE_NAME = {1: "method", 2: "method", 3: "model", 4: "method"}


def paper_rows(tid: str) -> tuple[list[str], dict[str, dict]]:
    """Row names in the paper's order and their paper columns."""
    n = int(tid)
    if n in LITERATURE_COLUMNS:
        cols, key = LITERATURE_COLUMNS[n], LITERATURE_NAME[n]
        recs = literature(n)
        names, values = [], {}
        for r in recs:
            name = str(r[key])
            if name in values:  # same method name twice (e.g. two backbones): disambiguate
                name = f"{name} ({r.get('backbone') or r.get('pretrain') or len(names)})"
            names.append(name)
            values[name] = {c: r.get(src) for src, c in cols.items()}
            for extra in ("group", "backbone", "pretrain", "frames", "input_clip"):
                if extra in r:
                    values[name][extra] = r[extra]
        return names, values
    recs = paper_accuracy(n)
    names = [str(r["row"]) for r in recs]
    dataset = recs[0]["dataset"] if recs else ""
    values = {str(r["row"]): {f"paper top-1 ({dataset})": r["top1"], f"paper top-5 ({dataset})": r["top5"]}
              for r in recs}
    return names, values


COMPLEXITY_CSV = Path("reports/tables/complexity.csv")


def complexity_records(table: int) -> list[dict]:
    """The complexity stage's records of one table (computed here if the stage has not run)."""
    if COMPLEXITY_CSV.is_file():
        frame = pd.read_csv(COMPLEXITY_CSV, keep_default_na=False, na_values=[""])
        return frame[frame["table"] == int(table)].to_dict("records")
    from ean.analysis.paper_complexity import compute, read_rows, with_semantics

    rows = [r for r in read_rows() if r.table == int(table)]
    return with_semantics(compute(rows), compute(rows, "paper"))


def paper_scale_complexity(tid: str) -> dict[str, dict]:
    """Our Params/GMACs at the paper's scale for the rows of table ``tid``: read from the
    ``complexity`` stage's output (computed from the models), computed here if it is absent."""
    if not tid.isdigit():
        return {}
    records = complexity_records(int(tid))
    out = {}
    for rec in records:
        out[rec["row"]] = {"paper Params (M)": rec["paper_params_m"], "ours Params (M), paper scale": rec["ours_params_m"],
                           "paper GFLOPs": rec["paper_gflops"], "ours GMACs, paper scale": rec["ours_gmacs"]}
    return out


def paper_top1(tid: str, row: str) -> Optional[float]:
    """The paper's top-1 for a row of table ``tid`` (Something V1 for Tables 1 and 3)."""
    _, values = paper_rows(tid)
    for key, value in (values.get(row) or {}).items():
        if key.startswith("paper") and "top-1" in key and value is not None:
            return float(value)
    return None


PAPER_PROTOCOL = {0: "1 clip x centre crop (224x224)", 2: "10 clips x 3 crops (256x256)",
                  4: "1 clip or 2 clips x centre crop (224x224), as the row says"}
"""The paper's test protocol per table (0: the Something tables, 1 and 3 and 5-10)."""
