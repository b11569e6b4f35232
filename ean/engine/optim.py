"""SGD with the authors' parameter groups, and the learning-rate schedule.

Parameter groups (per module type, as the authors' ``get_optim_policies``):

=================================================  ======  ===============
parameters                                          lr      weight decay
=================================================  ======  ===============
conv / linear weights, positional embeddings, other  x1      x1
conv / linear biases                                  x2      0
BatchNorm (and other normalisation) weights, biases  x1      0
=================================================  ======  ===============
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ean.engine.config import OptimConfig

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def parameter_groups(model: nn.Module, cfg: OptimConfig) -> list[dict]:
    """Split the trainable parameters into the three groups, each with lr_mult / weight_decay."""
    weights, biases, norms = [], [], []
    seen: set[int] = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            if isinstance(module, NORM_TYPES):
                norms.append(param)
            elif name == "bias" or name.endswith("_bias"):
                biases.append(param)
            else:
                weights.append(param)
    groups = [
        {"name": "weights", "params": weights, "lr_mult": 1.0, "weight_decay": cfg.weight_decay},
        {"name": "biases", "params": biases, "lr_mult": cfg.bias_lr_mult,
         "weight_decay": cfg.weight_decay if cfg.bias_decay else 0.0},
        {"name": "norm", "params": norms, "lr_mult": 1.0,
         "weight_decay": cfg.weight_decay if cfg.bn_decay else 0.0},
    ]
    return [g for g in groups if g["params"]]


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.SGD:
    groups = parameter_groups(model, cfg)
    for group in groups:
        group["lr"] = cfg.lr * group["lr_mult"]
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                           weight_decay=cfg.weight_decay)


@dataclass
class LRSchedule:
    """Per-iteration learning-rate factor: optional linear warm-up, then step decay or cosine.

    ``step(it)`` sets every group's lr to ``peak_lr * lr_mult * factor(it)`` for iteration
    ``it`` (0-based global optimiser step). The step schedule changes only at epoch
    boundaries (milestones are epoch indices, 0-based: milestone 41 = the 42nd epoch).
    """

    cfg: OptimConfig
    steps_per_epoch: int
    last_step: int = -1

    @property
    def total_steps(self) -> int:
        return self.cfg.epochs * self.steps_per_epoch

    @property
    def warmup_steps(self) -> int:
        return int(round(self.cfg.warmup_epochs * self.steps_per_epoch))

    def factor(self, it: int) -> float:
        cfg = self.cfg
        warm = self.warmup_steps
        if it < warm:
            return cfg.warmup_start_factor + (1.0 - cfg.warmup_start_factor) * it / warm
        if cfg.schedule == "step":
            epoch = it // self.steps_per_epoch
            return cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
        span = max(1, self.total_steps - warm)
        t = min(1.0, (it - warm) / span)
        return cfg.min_lr_factor + (1.0 - cfg.min_lr_factor) * 0.5 * (1.0 + math.cos(math.pi * t))

    def step(self, optimizer: torch.optim.Optimizer, it: int) -> float:
        factor = self.factor(it)
        for group in optimizer.param_groups:
            group["lr"] = self.cfg.lr * group.get("lr_mult", 1.0) * factor
        self.last_step = it
        return self.cfg.lr * factor

    def state_dict(self) -> dict:
        return {"last_step": self.last_step, "steps_per_epoch": self.steps_per_epoch}

    def load_state_dict(self, state: dict) -> None:
        if state.get("steps_per_epoch", self.steps_per_epoch) != self.steps_per_epoch:
            raise ValueError(f"the checkpoint was written with {state['steps_per_epoch']} steps per epoch, "
                             f"this run has {self.steps_per_epoch} (batch size or dataset changed)")
        self.last_step = int(state["last_step"])
