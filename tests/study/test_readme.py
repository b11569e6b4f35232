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
        {"row": "ResNet baseline", "variant": "baseline", "reference": "ResNet baseline",
         "paper top-1 (Something V1)": 48.6, "ours_top1_mean": 61.25, "ours_n": 3},
        {"row": "ResNet+EABs", "variant": "baseline_eab", "reference": "ResNet baseline", "paper_delta": 2.2,
         "ours_top1_mean": 63.0, "ours_n": 3, "ours_delta": 1.75, "ci_low": -0.4, "ci_high": 3.9, "agreement": 0.81},
        {"row": "Faster RCNN", "variant": None, "reference": "ResNet baseline", "paper top-1 (Something V1)": 50.0},
    ]).to_csv(csv, index=False)
    block = table_block(csv, "Table 5")
    assert "| ResNet+EABs | +2.2 | +1.8 [-0.4, +3.9] | 81% | 3 |" in block
    assert "Faster RCNN" not in block   # rows we do not train stay in the full table only
    assert "61.2" not in block and "63.0" not in block   # no absolute accuracy beside the paper's
    text = render(tmp_path / "nothing")
    assert text.startswith(BEGIN) and text.endswith(END)


def test_default_profile_cost_claim_holds_for_the_recorded_run():
    """The README's profile table says the default study takes < 30 min on 2 CPU cores: the
    recorded from-scratch `dvc repro` (scripts/study.sh) of the default profile says so too."""
    import json
    import re

    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `default` |"))
    limit = int(re.search(r"< (\d+) min on (\d+) CPU cores", row).group(1))
    timing = json.loads((ROOT / "reports" / "repro_time.json").read_text())
    assert timing["profile"] == "default" and timing["cpus"] == 2
    assert timing["seconds"] < limit * 60, timing
