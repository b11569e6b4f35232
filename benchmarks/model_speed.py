"""CPU latency of the full-size models (a benchmark, not a test).

Eval: batch 1, ``torch.inference_mode``, eval mode. Train step: batch 2, train mode,
forward + cross-entropy + backward (no optimiser step), as in reference §13.3.
All models are built first and timed round-robin (one call of each model per round, after a
warm-up round), so that a slow spell of the machine hits every model alike; the median of
``--repeats`` rounds is reported.

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


def make_runners(name: str, size: int, authors=None) -> dict:
    """Eval and train-step closures for our preset ``name``, or (with ``authors``, their TSN
    module) for the authors' model of the same clip."""
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
    x1, x2, y2 = torch.randn(*shape(1)), torch.randn(*shape(2)), torch.tensor([0, 1])

    def run_eval():
        model.eval()
        with torch.inference_mode():
            model(x1)

    def run_train():
        model.train()
        model.zero_grad(set_to_none=True)
        out = model(x2)
        out = out[0] if isinstance(out, tuple) else out  # the authors' 16F model returns (logits, None)
        F.cross_entropy(out, y2).backward()

    label = name if authors is None else f"authors' code ({name})"
    return {"preset": label, "eval_b1_s": run_eval, "train_b2_s": run_train}


def round_robin(runners: list[dict], key: str, repeats: int) -> None:
    """Median seconds of ``runner[key]`` over ``repeats`` rounds, every model once a round."""
    for r in runners:  # warm-up round
        r[key]()
    times: list[list[float]] = [[] for _ in runners]
    for _ in range(repeats):
        for i, r in enumerate(runners):
            start = time.perf_counter()
            r[key]()
            times[i].append(time.perf_counter() - start)
    for r, ts in zip(runners, times):
        r[key] = statistics.median(ts)


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
    rows = [make_runners(name, args.size, authors) for name, authors in jobs]
    for key in ("eval_b1_s", "train_b2_s"):
        round_robin(rows, key, args.repeats)
    for r in rows:
        print(f"{r['preset']:<36} eval b1 {r['eval_b1_s']:.3f} s   train b2 {r['train_b2_s']:.3f} s", flush=True)
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
