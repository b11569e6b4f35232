"""The README's screenshot of the fusion-matrix explorer, taken in a real browser.

    python tools/explorer_screenshot.py [--params params.yaml] [--out docs/explorer.png]

Parameterises the explorer notebook for the given study parameters (default: the active
profile's checkpoints), opens it in JupyterLab (headless) in the system Chromium, runs it,
moves the zoom slider and screenshots the widget. Needs a trained `ean` run of that profile.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from ean.viz.lab import JupyterLab, browser, run_explorer

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out", default="docs/explorer.png")
    args = ap.parse_args()
    nb = load_notebook_node(str(ROOT / "notebooks/explore_fusion_matrices.ipynb"))
    nb = parameterize_notebook(nb, {"params_file": args.params, "train_missing": False})
    tmp = ROOT / "runs" / "explore_fusion_matrices_screenshot.ipynb"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, tmp)
    with JupyterLab(ROOT) as lab, browser(width=1300, height=1800) as page:
        result = run_explorer(page, lab, tmp.relative_to(ROOT).as_posix(), screenshot=ROOT / args.out)
    print(f"wrote {args.out}: plot changed on zoom: {result.plot_changed}; {result.status_after}")
    if result.errors:
        print("errors in the notebook:", *result.errors, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
