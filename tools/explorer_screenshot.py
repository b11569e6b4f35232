"""The README's screenshots of the fusion-matrix explorer, taken in a real browser.

    python tools/explorer_screenshot.py [--params params.yaml] [--out docs/explorer.png]
    python tools/explorer_screenshot.py --random-preset ean_r50_8f_rgb_lmc \\
        --video ../shared/real-videos/arm_wrestling.mp4 --out docs/explorer_full_size.png

Parameterises the explorer notebook, opens it in JupyterLab (headless) in the system
Chromium, runs it, moves the zoom slider three steps (zoom 1.3) and screenshots the widget.

Without ``--checkpoint``/``--video``/``--random-preset`` the notebook offers the checkpoints of
the given study parameters (default: the active profile's); it needs a trained ``ean`` run of
that profile. With any of them the notebook starts on the ``smoke`` profile (its EAN is trained
first when missing, seconds) and the files are then typed into the widget's checkpoint-file and
video-file fields and confirmed with Enter, as a person does:

``--checkpoint PATH``   any checkpoint of ours (e.g. ``ean convert-official``'s output);
``--random-preset NAME`` instead: a randomly initialised model of that preset (seed
                         ``--seed``, default 0), saved in our checkpoint format to
                         ``runs/explorer_screenshot/NAME.pt`` for the run and deleted after it;
``--video PATH``        any video file.

Paths are typed relative to the repository root (the notebook's working directory) when they
lie inside it or next to it (``../shared/...``), absolute otherwise.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Optional

import nbformat
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from lab import JupyterLab, browser, run_explorer  # tools/lab.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks/explore_fusion_matrices.ipynb"
SCRATCH = ROOT / "runs" / "explorer_screenshot"


def typed(path: str) -> str:
    """``path`` (relative to the current directory) as typed into the widget: relative to the
    repository root when at most one level above it, else absolute."""
    full = Path(path).expanduser().resolve()
    if not full.exists():
        raise SystemExit(f"no such file: {path}")
    rel = os.path.relpath(full, ROOT)
    return full.as_posix() if rel.startswith(("../..", "..\\..")) else Path(rel).as_posix()


def random_checkpoint(preset: str, seed: int) -> Path:
    """A randomly initialised EAN of ``preset`` (``torch.manual_seed(seed)``) in our checkpoint
    format, like ``tests/viz/test_explorer_files.py`` builds it."""
    import torch

    from ean.models.ean import EAN
    from ean.models.checkpoint import save_model_checkpoint as save_checkpoint
    from ean.models.presets import get_preset

    torch.manual_seed(seed)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(EAN(get_preset(preset)), SCRATCH / f"{preset}.pt")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", default="params.yaml",
                    help="study parameters whose checkpoints the notebook offers (without the file options)")
    ap.add_argument("--out", default="docs/explorer.png")
    ap.add_argument("--checkpoint", help="checkpoint file to type into the widget's checkpoint-file field")
    ap.add_argument("--random-preset", metavar="NAME",
                    help="use a randomly initialised model of this preset as the checkpoint")
    ap.add_argument("--seed", type=int, default=0, help="seed of --random-preset (default 0)")
    ap.add_argument("--video", help="video file to type into the widget's video-file field")
    args = ap.parse_args(argv)
    if args.checkpoint and args.random_preset:
        ap.error("--checkpoint and --random-preset exclude each other")

    files = bool(args.checkpoint or args.random_preset or args.video)
    video = typed(args.video) if args.video else None
    checkpoint = typed(args.checkpoint) if args.checkpoint else None
    made: Optional[Path] = None
    if args.random_preset:
        made = random_checkpoint(args.random_preset, args.seed)
        checkpoint = typed(str(made))
        print(f"random {args.random_preset} (seed {args.seed}) saved to {checkpoint}")
    out = Path(args.out).expanduser().resolve()

    nb = load_notebook_node(str(NOTEBOOK))
    if files:   # the smoke profile's widget, then the files typed into its fields
        nb = parameterize_notebook(nb, {"profile": "smoke", "params_file": None, "train_missing": True})
    else:
        nb = parameterize_notebook(nb, {"params_file": args.params, "train_missing": False})
    tmp = ROOT / "runs" / "explore_fusion_matrices_screenshot.ipynb"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, tmp)
    try:
        with JupyterLab(ROOT) as lab, browser(width=1300, height=1800) as page:
            result = run_explorer(page, lab, tmp.relative_to(ROOT).as_posix(), screenshot=out,
                                  checkpoint=checkpoint, video=video, timeout_s=600 if files else 300)
    finally:
        if made is not None:
            made.unlink(missing_ok=True)
            if not any(SCRATCH.iterdir()):
                SCRATCH.rmdir()
    print(f"wrote {args.out}: plot changed on zoom: {result.plot_changed}; {result.status_after}")
    if result.errors:
        print("errors in the notebook:", *result.errors, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
