"""The explorer's update on a full-size model, for timing from outside the process.

    python tools/bench_explorer.py --preset ean_r50_8f_rgb_lmc \\
        --video ../shared/real-videos/arm_wrestling.mp4 --updates 6

Builds a randomly initialised model of ``--preset`` (seed 0) in our checkpoint format, opens it
and the video in :class:`ean.viz.explorer.FusionExplorer` (as typed into its file fields),
then moves the zoom slider ``--updates`` times (1.0, 1.1, ...), each a full update: the model
on the zoomed clip and every plot redrawn. Time it as a whole process, e.g. with
``/usr/bin/time -v``; the per-update cost is the difference between two ``--updates`` counts
divided by their difference (start-up and the model's construction cancel).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="ean_r50_8f_rgb_lmc")
    ap.add_argument("--video", required=True)
    ap.add_argument("--updates", type=int, default=1)
    args = ap.parse_args()
    if not Path(args.video).is_file():
        raise SystemExit(f"no such video: {args.video}")

    import torch

    from ean.models.ean import EAN
    from ean.models.checkpoint import save_model_checkpoint as save_checkpoint
    from ean.models.presets import get_preset
    from ean.viz.explorer import FusionExplorer

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = save_checkpoint(EAN(get_preset(args.preset)), Path(tmp) / f"{args.preset}.pt")
        explorer = FusionExplorer.for_files(checkpoint, args.video)   # its first update included
        for k in range(args.updates - 1):
            explorer.zoom.value = round(1.1 + 0.1 * k, 1)             # each change is one update
        if explorer.status.value.startswith("error") or "could not" in explorer.status.value:
            raise SystemExit(explorer.status.value)
        print(explorer.status.value)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
