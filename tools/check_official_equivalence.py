#!/usr/bin/env python3
"""Check that a converted authors' checkpoint gives the authors' logits in our model.

Usage (see tools/README.md)::

    python tools/check_official_equivalence.py /path/to/EAN-Pytorch [--extra-path DIR] \
        [--models 8f_lmc 8f_rgb 16f_lmc] [--inputs 2] [--batch 2] [--size 224] [--tol 1e-4]

For every model this script

1. imports the authors' code from the given checkout at run time (nothing of it lives in
   this repository) and builds their ``TemporalModel`` with ImageNet weights off (the
   download function is replaced by one that raises, so nothing is downloaded, and
   ``main_reg.py`` — which initialises torch.distributed at import — is never imported);
2. randomises every parameter and every BatchNorm running statistic, including the ones
   their init sets to zero or 0.01x (SOI-Tr final BN, EAB expand, LMC decoder), so that
   every path of the network contributes to the logits;
3. saves a checkpoint as their training script does (``{"epoch", "arch", "state_dict",
   "best_prec1"}``, keys with the DataParallel ``module.`` prefix);
4. converts it with :func:`ean.models.convert_official.convert_official` (model inferred from the
   keys), loads it with :func:`ean.models.checkpoint.load_model`, and compares logits in
   eval mode on the same random inputs: theirs on ``(B, T*L*3, H, W)``, ours on
   ``authors_layout_to_clip(x, L)``.

``8f_rgb``: the authors' code has no RGB-only model (``EAN_8f.py`` always runs the LMC).
It is checked as their 8-frame RGB+LMC model with the LMC decoder set to zero — its motion
map is then exactly 0 — against our ``ean_r50_8f_rgb`` fed only the middle frame of each
segment, after deleting the LMC keys from the checkpoint.

Exit status 0 when every max-abs logit difference is <= --tol. Not run by the tests.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import re
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ean.models.ean import authors_layout_to_clip  # noqa: E402
from ean.models.checkpoint import load_model as load_checkpoint  # noqa: E402
from ean.models.convert_official import convert_official  # noqa: E402

MODELS = {
    # name: (authors' module, T, L, expected preset)
    "8f_lmc": ("EAN_8f", 8, 5, "ean_r50_8f_rgb_lmc"),
    "8f_rgb": ("EAN_8f", 8, 5, "ean_r50_8f_rgb"),
    "16f_lmc": ("EAN_16f", 16, 5, "ean_r50_16f_rgb_lmc"),
}
LMC_PREFIXES = ("stm_proj1.", "stm_proj2.", "stm_st_model1.", "stm_st_model2.", "proj_back.",
                "stack_diff_motion.")


def import_authors(checkout: Path, extra_paths: list[str]):
    """The authors' TSN module, with downloads disabled."""
    if not (checkout / "EAN_8f.py").is_file() or not (checkout / "TSN.py").is_file():
        raise SystemExit(f"{checkout} does not look like a checkout of EAN-Pytorch (no EAN_8f.py / TSN.py)")
    for p in reversed([str(checkout), *extra_paths]):
        sys.path.insert(0, p)
    try:
        import einops  # noqa: F401
    except ImportError:
        raise SystemExit("the authors' code needs einops: pip install --target SOMEDIR einops, "
                         "then pass --extra-path SOMEDIR") from None
    import torch.utils.model_zoo as model_zoo

    def no_download(*args, **kwargs):
        raise RuntimeError("the equivalence check must not download anything")

    model_zoo.load_url = no_download
    torch.hub.load_state_dict_from_url = no_download
    return importlib.import_module("TSN")


def build_authors(tsn, module_name: str, frames: int, num_classes: int) -> nn.Module:
    lib = importlib.import_module(module_name)
    if not getattr(lib.resnet50, "_no_pretrained", False):
        patched = functools.partial(lib.resnet50, pretrained=False)
        patched._no_pretrained = True
        lib.resnet50 = patched
    return tsn.TemporalModel(0, 224, num_classes, frames, model=module_name, backbone="resnet50",
                             alpha=0, beta=0, dropout=0.5)


@torch.no_grad()
def randomise(model: nn.Module, generator: torch.Generator) -> None:
    """Every parameter and BN statistic random, at scales that keep a 50-layer net finite."""
    def normal(t, std):
        t.copy_(torch.randn(t.shape, generator=generator) * std)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=generator) * (hi - lo) + lo)

    done = set()
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if re.search(r"layer\d\.\d+\.bn3$|Tr_BN$", name):
                # last BN of a residual branch: small, as in a trained ResNet; with unit
                # gains a random 50-layer net is chaotic and float32 rounding differences
                # between two implementations grow ~1000x by the logits
                uniform(module.weight, 0.1, 0.3)
            else:
                uniform(module.weight, 0.5, 1.5)
            normal(module.bias, 0.2)
            normal(module.running_mean, 0.2)
            uniform(module.running_var, 0.5, 2.0)
            module.num_batches_tracked.fill_(100)
            done.update(id(p) for p in (module.weight, module.bias))
    for name, p in model.named_parameters():
        if id(p) in done:
            continue
        if name.endswith("pos_embedding"):
            normal(p, 1.0)
        elif ".p_prod2." in name:
            # the ESP-Net FC gives the raw fusion matrix M (C' x C'), applied as
            # V = M U: entries ~ 1/sqrt(C') keep V at the scale of U
            channels = math.isqrt(p.shape[0])
            normal(p, (1.0 / math.sqrt(p[0].numel()) if p.dim() > 1 else 0.1) / math.sqrt(channels))
        elif re.search(r"to_out\.0\.weight$|fn\.net\.6\.weight$", name):
            # the outputs of the transformer's residual branches: small, for the same
            # reason as the residual BNs above
            normal(p, 0.2 / math.sqrt(p[0].numel()))
        elif p.dim() == 1:
            normal(p, 0.1)
        else:
            fan_in = p[0].numel()
            normal(p, 1.0 / math.sqrt(fan_in))


@torch.no_grad()
def calibrate(model: nn.Module, x: torch.Tensor, generator: torch.Generator) -> None:
    """Set every BN's running statistics to those of its own input in an eval-mode pass on
    ``x`` (another random input than the compared ones), so that each BN normalises.

    Fully random statistics let the activations of a 50-layer net grow to logits of ~1e7,
    where float32 rounding alone exceeds any useful tolerance; statistics measured on an
    input keep every layer near unit scale and are still arbitrary values per channel (the
    BN affine parameters stay random). A train-mode pass is not enough: its batch
    statistics differ from the eval-mode ones downstream of the small-count BNs, and the
    raw fusion matrices amplify the mismatch; perturbing the measured statistics does the
    same.
    """
    def set_stats(module, inputs):
        t = inputs[0]
        dims = [d for d in range(t.dim()) if d != 1]
        module.running_mean.copy_(t.mean(dims))
        var = t.var(dims, unbiased=False)
        if t.numel() // t.shape[1] < 64:
            # few values per channel (SOI-Tr's final BN sees B values, ME's last BN B*T):
            # their variance says little about another input, so use the variance of all
            # channels together, times a random per-channel factor
            spread = torch.rand(var.shape, generator=generator) + 0.5
            var = (t - module.running_mean.view(1, -1, *([1] * (t.dim() - 2)))).pow(2).mean() * spread
        # a channel of (nearly) constant input would make its BN amplify rounding errors
        # by 1/sqrt(var): floor the variance at a tenth of the channels' mean
        module.running_var.copy_(torch.maximum(var, 0.1 * var.mean()) + 1e-3)

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    handles = [m.register_forward_pre_hook(set_stats) for m in bns]
    model.eval()
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()


def save_as_authors(model: nn.Module, path: Path) -> None:
    """As ``main_reg.save_checkpoint`` does, with DataParallel's ``module.`` prefix."""
    state = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    torch.save({"epoch": 70, "arch": "resnet50", "state_dict": state, "best_prec1": torch.tensor(53.4)}, path)


def check(tsn, name: str, args, workdir: Path) -> dict:
    module_name, frames, length, preset = MODELS[name]
    torch.manual_seed(args.seed)
    theirs = build_authors(tsn, module_name, frames, args.num_classes)
    gen = torch.Generator().manual_seed(args.seed)
    randomise(theirs, gen)
    if name == "8f_rgb":  # LMC off: a zero decoder makes the motion map exactly 0
        with torch.no_grad():
            theirs.base_model.proj_back[-1].weight.zero_()
    calibrate(theirs, torch.randn(2, frames * length * 3, args.size, args.size, generator=gen), gen)
    theirs.eval()
    src = workdir / f"authors_{name}.pth.tar"
    save_as_authors(theirs, src)
    if name == "8f_rgb":
        raw = torch.load(src, weights_only=True)
        raw["state_dict"] = {k: v for k, v in raw["state_dict"].items()
                             if not k.removeprefix("module.").removeprefix("base_model.").startswith(LMC_PREFIXES)}
        torch.save(raw, src)
    dst = workdir / f"ours_{name}.pt"
    converted = convert_official(src, dst)
    if converted["model_config"]["name"] != preset:
        raise SystemExit(f"{name}: inferred preset {converted['model_config']['name']}, expected {preset}")
    ours = load_checkpoint(dst)
    dtype = getattr(torch, args.dtype)
    theirs.to(dtype)
    ours.to(dtype)
    diffs, scales = [], []
    with torch.no_grad():
        for i in range(args.inputs):
            x = torch.randn(args.batch, frames * length * 3, args.size, args.size, generator=gen).to(dtype)
            start = time.time()
            ref = theirs(x)[0]
            t_theirs = time.time() - start
            clip = authors_layout_to_clip(x, length)
            if name == "8f_rgb":  # our RGB model sees the middle frame of each segment only
                b, _, _, h, w = clip.shape
                clip = clip.view(b, 3, frames, length, h, w)[:, :, :, length // 2].contiguous()
            start = time.time()
            out = ours(clip)
            t_ours = time.time() - start
            diffs.append((out - ref).abs().max().item())
            scales.append(ref.abs().max().item())
            print(f"  {name} input {i}: max|diff| {diffs[-1]:.3e}  max|logit| {scales[-1]:.3f}  "
                  f"(theirs {t_theirs:.1f}s, ours {t_ours:.1f}s)", flush=True)
    return {"model": name, "preset": preset, "max_abs_diff": max(diffs), "max_abs_logit": max(scales),
            "inputs": args.inputs, "batch": args.batch, "size": args.size, "dtype": args.dtype}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("authors", type=Path, help="path of a checkout of tianyuan168326/EAN-Pytorch")
    parser.add_argument("--extra-path", action="append", default=[],
                        help="directory to put on sys.path first (e.g. where einops is installed)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--inputs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=224, help="input size (the authors' code needs 224)")
    parser.add_argument("--num-classes", type=int, default=174)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="float64: the differences then show only the ordering of the arithmetic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="where to keep the checkpoints (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tsn = import_authors(args.authors.resolve(), args.extra_path)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in args.models:
            results.append(check(tsn, name, args, workdir))
    ok = all(r["max_abs_diff"] <= args.tol for r in results)
    for r in results:
        print(f"{r['model']:>8} ({r['preset']}): max|diff| {r['max_abs_diff']:.3e} "
              f"(max|logit| {r['max_abs_logit']:.2f}) {'OK' if r['max_abs_diff'] <= args.tol else 'FAIL'}")
    if args.json:
        args.json.write_text(json.dumps({"tol": args.tol, "results": results}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
