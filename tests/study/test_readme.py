"""The README's results section is generated from reports/ and matches them."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ean.study.readme import BEGIN, END, render, table_block, update

ROOT = Path(__file__).resolve().parents[2]


def test_readme_results_match_the_committed_reports():
    assert update(ROOT / "README.md", ROOT / "reports", check=True), \
        "README results section is stale: run `ean study readme`"


def test_block_is_built_from_the_csv(tmp_path):
    csv = tmp_path / "table05.csv"
    pd.DataFrame([
        {"row": "ResNet baseline", "variant": "baseline", "paper top-1 (Something V1)": 48.6,
         "ours_top1_mean": 61.25, "ours_top1_std": 2.5, "ours_n": 3},
        {"row": "Faster RCNN", "variant": None, "paper top-1 (Something V1)": 50.0},
    ]).to_csv(csv, index=False)
    block = table_block(csv, "Table 5")
    assert "| ResNet baseline | 48.6 | 61.2 ± 2.5 | 3 |" in block or "| ResNet baseline | 48.6 | 61.3 ± 2.5 | 3 |" in block
    assert "Faster RCNN" not in block   # rows we do not train stay in the full table only
    text = render(tmp_path / "nothing")
    assert text.startswith(BEGIN) and text.endswith(END)
