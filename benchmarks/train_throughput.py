"""Training throughput of a model preset: clips/s of forward + backward + SGD step.

Inputs are random tensors of the preset's clip shape (the data pipeline is measured by the
data benchmarks); the optimiser, parameter groups, autocast and channels_last handling are
the engine's own.

    python benchmarks/train_throughput.py --preset ean_r50_8f_rgb_lmc --size 224 --batch 8 \
        --precision bf16 --channels-last            # on a GPU
    python benchmarks/train_throughput.py --preset tsn_tiny --size 64 --batch 8 --device cpu

Prints one JSON line per configuration (``--compare`` runs fp32 and bf16+channels_last).
"""
from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from ean.engine.config import OptimConfig, RuntimeConfig
from ean.engine.distributed import DistInfo
from ean.engine.hardware import autocast, autocast_dtype, make_grad_scaler, prepare_model, resolve_device
from ean.engine.optim import build_optimizer
from ean.models.ean import build_model
from ean.models.presets import get_preset


def measure(preset: str, size: int, batch: int, precision: str, channels_last: bool, device: str,
            steps: int, warmup: int, compile_model: bool = False) -> dict:
    torch.manual_seed(0)
    runtime = RuntimeConfig(device=device, precision=precision, channels_last=channels_last, compile=compile_model)
    dev = resolve_device(runtime)
    dtype = autocast_dtype(runtime, dev)
    cfg = get_preset(preset, input_size=size)
    model, forward = prepare_model(build_model(cfg), runtime, dev, DistInfo())
    opt = build_optimizer(model, OptimConfig(batch_size=batch))
    scaler = make_grad_scaler(dev, dtype)
    frames = cfg.num_segments * cfg.segment_length
    x = torch.randn(batch, 3, frames, size, size, device=dev)
    y = torch.randint(0, cfg.num_classes, (batch,), device=dev)
    model.train()

    def step():
        with autocast(dev, dtype):
            loss = F.cross_entropy(forward(x).float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 20.0)
        scaler.step(opt)
        scaler.update()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(warmup):
        step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    return {
        "preset": preset, "size": size, "batch": batch, "frames": frames, "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(), "precision": str(dtype or "fp32").replace("torch.", ""),
        "channels_last": channels_last, "compile": compile_model, "steps": steps,
        "seconds_per_step": seconds / steps, "clips_per_s": batch * steps / seconds,
        "peak_memory_gib": torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None,
        "torch": torch.__version__,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="ean_r50_8f_rgb_lmc")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    parser.add_argument("--compare", action="store_true", help="fp32 vs bf16 + channels_last")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = [(args.precision, args.channels_last)]
    if args.compare:
        settings = [("fp32", False), ("bf16", True)]
    results = []
    for precision, channels_last in settings:
        result = measure(args.preset, args.size, args.batch, precision, channels_last, args.device,
                         args.steps, args.warmup, args.compile)
        results.append(result)
        print(json.dumps(result), flush=True)
    if len(results) == 2:
        print(json.dumps({"speedup_bf16_channels_last": results[1]["clips_per_s"] / results[0]["clips_per_s"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
