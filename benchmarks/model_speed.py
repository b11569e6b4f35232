"""CPU latency of the full-size models (a benchmark, not a test).

Eval: batch 1, ``torch.inference_mode``, eval mode. Train step: batch 2, train mode,
forward + cross-entropy + backward (no optimiser step), as in reference §13.3.
Median of ``--repeats`` runs after one warm-up, all models in one process and one run.

    python benchmarks/model_speed.py --threads 2 --repeats 5 --out reports/benchmarks/model_speed.json

``--authors PATH`` also times the authors' EAN_8F(RGB+LMC) in the same run, built from a
checkout of their public code at PATH (imported at run time through
``tools/check_official_equivalence.py``; see tools/README.md; ``--extra-path`` for einops).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ean.models.ean import build_model
from ean.models.presets import get_preset

PRESETS = ("tsn_r50", "baseline_r50", "ean_r50_8f_rgb_lmc")


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(name: str, size: int, repeats: int, authors=None) -> dict:
    """Time our preset ``name``, or (with ``authors``, their TSN module) the authors' model."""
    cfg = get_preset(name)
    torch.manual_seed(0)
    frames = cfg.num_segments * cfg.segment_length
    if authors is None:
        model = build_model(cfg)
        shape = lambda b: (b, 3, frames, size, size)
    else:
        from check_official_equivalence import build_authors
        model = build_authors(authors, "EAN_8f" if cfg.num_segments == 8 else "EAN_16f",
                              cfg.num_segments, cfg.num_classes)
        shape = lambda b: (b, frames * 3, size, size)  # their layout: frames along channels

    def run_eval():
        model.eval()
        with torch.inference_mode():
            model(torch.randn(*shape(1)))

    x2 = torch.randn(*shape(2))
    y2 = torch.tensor([0, 1])

    def run_train():
        model.train()
        model.zero_grad(set_to_none=True)
        out = model(x2)
        out = out[0] if isinstance(out, tuple) else out  # the authors' 16F model returns (logits, None)
        F.cross_entropy(out, y2).backward()

    label = name if authors is None else f"authors' code ({name})"
    return {"preset": label, "eval_b1_s": timed(run_eval, repeats), "train_b2_s": timed(run_train, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--authors", type=Path, help="checkout of the authors' code: time it too")
    parser.add_argument("--extra-path", action="append", default=[], help="extra sys.path entries for it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    jobs = [(name, None) for name in args.presets]
    if args.authors:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
        from check_official_equivalence import import_authors
        jobs.append(("ean_r50_8f_rgb_lmc", import_authors(args.authors, args.extra_path)))
    rows = []
    for name, authors in jobs:
        rows.append(bench(name, args.size, args.repeats, authors))
        print(f"{rows[-1]['preset']:<36} eval b1 {rows[-1]['eval_b1_s']:.3f} s   "
              f"train b2 {rows[-1]['train_b2_s']:.3f} s", flush=True)
    base = next((r for r in rows if r["preset"] == "tsn_r50"), None)
    if base:
        for r in rows:
            r["eval_vs_tsn"] = r["eval_b1_s"] / base["eval_b1_s"]
            r["train_vs_tsn"] = r["train_b2_s"] / base["train_b2_s"]
    print("\n| preset | eval b1 (s) | train b2 (s) | eval / TSN | train / TSN |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['eval_b1_s']:.3f} | {r['train_b2_s']:.3f} | "
              f"{r.get('eval_vs_tsn', float('nan')):.2f} | {r.get('train_vs_tsn', float('nan')):.2f} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"torch": torch.__version__, "threads": args.threads, "size": args.size,
                "repeats": args.repeats, "machine": platform.processor() or platform.machine()}
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
