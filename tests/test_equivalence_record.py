"""The README's equivalence figures are the recorded output of `tools/check_official_equivalence.py`
(which needs the authors' code and is not run here): the committed JSON files exist, cover the
three released models, pass the tool's tolerance, and give the README's numbers."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _record(dtype: str) -> list[dict]:
    return json.loads((ROOT / "tools" / "results" / f"equivalence_{dtype}.json").read_text())["results"]


def test_the_readme_quotes_the_recorded_maxima():
    text = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"max abs difference of ([0-9.e-]+) in float32 \(([0-9.e-]+) in float64\)", text)
    assert found, "the README's equivalence sentence changed"
    for dtype, quoted in (("float32", found[1]), ("float64", found[2])):
        results = _record(dtype)
        assert {r["model"] for r in results} == {"8f_lmc", "8f_rgb", "16f_lmc"}
        assert all(r["dtype"] == dtype and r["max_abs_diff"] < 1e-4 for r in results)
        assert f"{max(r['max_abs_diff'] for r in results):.1e}" == f"{float(quoted):.1e}", dtype
