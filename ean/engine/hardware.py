"""Where and how the model runs: device, seeds, autocast precision, grad scaler, wrappers."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch
from torch import nn

from ean.errors import UserError
from ean.engine.config import RuntimeConfig
from ean.engine.distributed import DistInfo


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(runtime: RuntimeConfig, info: DistInfo | None = None) -> torch.device:
    """The device of this process. Under torchrun (more than one process) each process takes
    the GPU of its ``LOCAL_RANK``, and an explicit ``runtime.device=cuda:N`` is an error: it
    would put every process on GPU N (choose the GPUs with ``CUDA_VISIBLE_DEVICES``)."""
    info = info or DistInfo()
    wanted = runtime.device
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda"):
        if ":" in wanted and info.enabled:
            raise UserError(f"runtime.device={runtime.device!r} would put all {info.world_size} processes on "
                            f"the same GPU; under torchrun each process uses the GPU of its LOCAL_RANK: set "
                            f"runtime.device=cuda (or auto) and choose the GPUs with CUDA_VISIBLE_DEVICES")
        if not torch.cuda.is_available():
            raise UserError(f"runtime.device={runtime.device!r} but CUDA is not available on this machine "
                            f"(set runtime.device=cpu)")
        index = int(wanted.split(":", 1)[1]) if ":" in wanted else info.local_rank
        return torch.device("cuda", index)
    return torch.device("cpu")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively: a CUDA GPU of compute capability 8.0 or
    more (Ampere, Hopper, ...). ``torch.cuda.is_bf16_supported()`` is also true on older GPUs
    (V100, T4), which only emulate bf16, slower than fp32."""
    if device.type != "cuda":
        return False
    return torch.cuda.get_device_capability(device) >= (8, 0)


def autocast_dtype(runtime: RuntimeConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: full fp32). "auto" is bf16 on GPUs with native bf16
    (compute capability >= 8.0), fp16 (with a grad scaler) on older GPUs, fp32 on CPU."""
    precision = runtime.precision
    if precision == "auto":
        if device.type != "cuda":
            precision = "fp32"
        else:
            precision = "bf16" if native_bf16(device) else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise UserError("runtime.precision=fp16 needs CUDA (its grad scaler is CUDA-only); "
                        "use runtime.precision=bf16 or fp32 on CPU")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError("runtime.precision=bf16 is not supported by this GPU; use fp16 or fp32")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A loss scaler, enabled only for fp16 on CUDA (a disabled scaler is a pass-through)."""
    return torch.amp.GradScaler("cuda" if device.type == "cuda" else "cpu",
                                enabled=(dtype == torch.float16 and device.type == "cuda"))


def use_channels_last(runtime: RuntimeConfig, device: torch.device) -> bool:
    return device.type == "cuda" if runtime.channels_last is None else bool(runtime.channels_last)


def move_model(model: nn.Module, device: torch.device, channels_last: bool = False) -> nn.Module:
    """Move parameters and buffers to ``device`` in place; 4-D weights optionally channels_last.

    Done tensor by tensor (not with ``Module.to``) so that 5-D (Conv3d) weights keep their
    layout and modules overriding ``_apply`` are not an obstacle.
    """
    with torch.no_grad():
        for module in model.modules():
            for store in (module._parameters, module._buffers):
                for name, tensor in store.items():
                    if tensor is None:
                        continue
                    moved = tensor.to(device)
                    if channels_last and moved.dim() == 4:
                        moved = moved.contiguous(memory_format=torch.channels_last)
                    if moved is tensor:
                        continue
                    if isinstance(tensor, nn.Parameter):
                        tensor.data = moved
                    else:
                        store[name] = moved
    return model


def prepare_model(model: nn.Module, runtime: RuntimeConfig, device: torch.device, info: DistInfo,
                  log=print) -> tuple[nn.Module, nn.Module]:
    """Move / convert / wrap a model. Returns (raw module, module to call).

    The raw module owns the parameters (optimiser, checkpoints); the callable one may be
    wrapped in DistributedDataParallel and ``torch.compile``.
    """
    if runtime.sync_bn and info.enabled:
        if device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        else:
            log("warning: runtime.sync_bn=true is ignored on CPU (SyncBatchNorm needs CUDA); "
                "each process normalises with its own batch statistics")
    move_model(model, device, channels_last=use_channels_last(runtime, device))
    forward = model
    if info.enabled:
        forward = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            # every parameter of every configuration takes part in the loss (tests/models check
            # it; the authors' dead parameters are not built), so DDP need not search the graph
            find_unused_parameters=False)
    if runtime.compile:
        forward = torch.compile(forward)
    return model, forward
