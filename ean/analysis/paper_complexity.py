"""Our Params/GMACs for every Params/FLOPs cell of the paper's tables.

The paper's values and the model configuration of each row live in
``data/paper/complexity.csv`` (columns: table, row, preset, overrides as JSON, views,
paper_params_m, paper_gflops, note). This module computes ours beside them.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from ean.analysis.flops import count_config
from ean.models.config import ModelConfig
from ean.models.presets import get_preset

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "data" / "paper" / "complexity.csv"


@dataclass
class PaperRow:
    table: int
    row: str
    preset: str
    overrides: dict
    views: int
    paper_params_m: Optional[float]
    paper_gflops: Optional[float]
    note: str

    def config(self, semantics: str = "authors") -> ModelConfig:
        return get_preset(self.preset, set={**self.overrides, "semantics": semantics})


def read_rows(path: Path = DEFAULT_TABLE) -> list[PaperRow]:
    rows = []
    with open(path, newline="") as f:
        for i, rec in enumerate(csv.DictReader(f), start=2):
            try:
                rows.append(PaperRow(
                    table=int(rec["table"]), row=rec["row"], preset=rec["preset"],
                    overrides=json.loads(rec["overrides"] or "{}"), views=int(rec["views"] or 1),
                    paper_params_m=float(rec["paper_params_m"]) if rec["paper_params_m"] else None,
                    paper_gflops=float(rec["paper_gflops"]) if rec["paper_gflops"] else None,
                    note=rec.get("note") or ""))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}:{i}: malformed row: {exc}") from exc
    return rows


def compute(rows: Iterable[PaperRow], semantics: str = "authors") -> list[dict]:
    """One record per row: the paper's values and ours (params in M, GMACs x views)."""
    cache: dict[str, tuple[int, int]] = {}
    out = []
    for r in rows:
        cfg = r.config(semantics)
        key = json.dumps(cfg.to_dict(), sort_keys=True)
        if key not in cache:
            c = count_config(cfg)
            cache[key] = (c.params, c.macs)
        params, macs = cache[key]
        out.append({
            "table": r.table, "row": r.row, "paper_params_m": r.paper_params_m,
            "ours_params_m": round(params / 1e6, 2), "paper_gflops": r.paper_gflops,
            "ours_gmacs": round(macs * r.views / 1e9, 2), "params": params, "macs": macs * r.views,
            "note": r.note})
    return out


def to_markdown(records: list[dict]) -> str:
    lines = ["| table | row | paper Params (M) | ours Params (M) | paper GFLOPs | ours GMACs | note |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda v: "–" if v is None else f"{v:g}"
    for r in records:
        lines.append(f"| {r['table']} | {r['row']} | {fmt(r['paper_params_m'])} | {r['ours_params_m']:.2f} | "
                     f"{fmt(r['paper_gflops'])} | {r['ours_gmacs']:.2f} | {r['note']} |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Our Params/GMACs beside every Params/FLOPs cell of the paper")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="the paper's rows (CSV)")
    parser.add_argument("--semantics", choices=["authors", "paper"], default="authors")
    parser.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    parser.add_argument("--csv", type=Path, help="write the records as CSV here")
    args = parser.parse_args(argv)
    rows = read_rows(args.table)
    try:
        from tqdm import tqdm
        rows = tqdm(rows, desc="counting", unit="row")
    except ImportError:  # pragma: no cover
        pass
    records = compute(rows, args.semantics)
    text = to_markdown(records)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return 0


if __name__ == "__main__":  # python -m ean.analysis.paper_complexity
    raise SystemExit(main())
