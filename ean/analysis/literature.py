"""The paper's reported numbers, kept as data (``data/literature``, ``data/paper``).

``data/literature/tableNN_*.csv`` hold every row of the paper's comparison tables (1: Something
V1/V2, 2: Kinetics-400, 3: key components, 4: Diving48), the other methods' numbers as the paper
reports them and EAN's own rows (``is_ean = 1``); ``data/paper/accuracy.csv`` holds the
paper's Top-1/Top-5 for the ablation rows of Tables 5-10 (same ``(table, row)`` keys as
``data/paper/complexity.csv``). Empty cells are values the paper does not give ("-").
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional, Union

DATA = Path(__file__).resolve().parents[2] / "data"
LITERATURE = {
    1: "table01_something.csv",
    2: "table02_kinetics400.csv",
    3: "table03_components.csv",
    4: "table04_diving48.csv",
}
NUMERIC = {"gflops", "top1", "top5", "sthv1_top1", "sthv1_top5", "sthv2_top1", "sthv2_top5", "is_ean", "table"}

Value = Union[str, float, int, None]


def _convert(name: str, value: str) -> Value:
    if value == "":
        return None
    if name in NUMERIC:
        try:
            number = float(value)
        except ValueError:
            return value  # e.g. Table 2's "23.5×250" GFLOPs (per view x views)
        return int(number) if name in ("is_ean", "table") else number
    return value


def _read(path: Path) -> list[dict[str, Value]]:
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = []
        for line, rec in enumerate(reader, start=2):
            if None in rec or any(v is None for v in rec.values()):
                raise ValueError(f"{path}:{line}: expected {len(reader.fieldnames)} columns")
            rows.append({k: _convert(k, v) for k, v in rec.items()})
    return rows


def literature(table: int, root: Optional[Path] = None) -> list[dict[str, Value]]:
    """Rows of the paper's Table ``table`` (1, 2, 3 or 4), in the paper's order."""
    if table not in LITERATURE:
        raise KeyError(f"no literature table {table}; known: {sorted(LITERATURE)}")
    return _read((root or DATA) / "literature" / LITERATURE[table])


def paper_accuracy(table: Optional[int] = None, root: Optional[Path] = None) -> list[dict[str, Value]]:
    """The paper's Top-1/Top-5 of the ablation rows (Tables 5-10), optionally of one table."""
    rows = _read((root or DATA) / "paper" / "accuracy.csv")
    return [r for r in rows if table is None or r["table"] == table]
