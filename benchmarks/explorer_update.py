"""Time one explorer update (model on the re-timed / zoomed clip + every plot redrawn).

    python benchmarks/explorer_update.py [--params params.yaml] [--repeats 10]

Builds the widget outside a browser (ipywidgets objects work without a front end) and times
``update()`` as the sliders move; prints the median and the slowest update in ms, and the
model part alone.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import matplotlib

matplotlib.use("Agg")

from ean.viz.explorer import FusionExplorer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    ex = FusionExplorer.for_study(args.params)
    probe, video = ex.probe(), ex.frames(ex.probe())
    totals, models = [], []
    for i in range(args.repeats):
        ex.zoom.value = 1.0 + 0.1 * ((i % 9) + 1)        # each assignment runs update()
        totals.append(ex.last_update_s)
        t0 = time.perf_counter()
        probe.analyse(video, zoom=ex.zoom.value, rate=ex.rate.value)
        models.append(time.perf_counter() - t0)
    print(json.dumps({"checkpoint": ex.checkpoint.value, "threads": args.threads, "updates": len(totals),
                      "update_ms_median": round(1000 * statistics.median(totals), 1),
                      "update_ms_max": round(1000 * max(totals), 1),
                      "model_ms_median": round(1000 * statistics.median(models), 1)}))


if __name__ == "__main__":
    main()
