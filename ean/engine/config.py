"""The typed configuration of a training run, read from YAML with dotted overrides.

A run is described by one :class:`TrainConfig`::

    model:    a ModelConfig: ``preset: ean_tiny`` plus any field of the model config
    data:     a DataConfig (ean.data); clip geometry defaults to the model's
    optim:    the optimisation recipe (SGD, lr scaling, schedule, clipping, loss)
    eval:     validation / test protocol and score aggregation
    runtime:  seed, device, precision, workers, checkpoints, logging

A YAML file may start from another one with ``inherit: relative/path.yaml`` (deep merge,
the inheriting file wins). Command-line overrides are ``section.key=value`` strings whose
values are parsed as YAML (``optim.base_lr=0.02``, ``optim.milestones=[10,20]``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from ean.config import Config, apply_overrides, build, check, check_choice, deep_merge, read_yaml
from ean.data.config import DataConfig
from ean.errors import ConfigError
from ean.models.config import ModelConfig
from ean.models.presets import get_preset

SCHEDULES = ("step", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AGGREGATES = ("logits", "softmax")
PROTOCOLS = {"1clip": (1, 1), "2clip": (2, 1), "10x3": (10, 3)}
"""Test protocols: name -> (clips, crops)."""


@dataclass
class OptimConfig(Config):
    """The optimisation recipe; defaults are the authors' Something-Something recipe."""

    batch_size: int = 64
    """Global batch (all processes together); each process gets batch_size / world_size."""
    base_lr: float = 0.01
    """Learning rate for a global batch of ``base_batch``."""
    base_batch: int = 64
    scale_lr: bool = True
    """lr = base_lr * batch_size / base_batch (linear scaling); off: lr = base_lr."""
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    bias_lr_mult: float = 2.0
    """Conv/linear biases: lr x2 and no weight decay, as the authors."""
    bias_decay: bool = False
    bn_decay: bool = False
    """BatchNorm weights and biases get no weight decay unless set."""
    clip_grad_norm: Optional[float] = 20.0
    """Total L2 norm of all gradients is clipped to this (null: no clipping)."""
    label_smoothing: float = 0.0
    epochs: int = 70
    schedule: str = "step"
    """"step" (x gamma at each milestone epoch) or "cosine" (per iteration)."""
    milestones: list[int] = field(default_factory=lambda: [41, 51, 61])
    gamma: float = 0.1
    warmup_epochs: float = 0.0
    """Linear warm-up (per iteration) from warmup_start_factor x lr to lr."""
    warmup_start_factor: float = 0.1
    min_lr_factor: float = 0.0
    """Cosine only: the final lr as a fraction of the peak lr."""

    def validate(self) -> None:
        for key in ("batch_size", "base_batch", "epochs"):
            check(getattr(self, key) >= 1, key, f"must be >= 1, got {getattr(self, key)}")
        check(self.base_lr > 0, "base_lr", f"must be > 0, got {self.base_lr}")
        check_choice(self.schedule, SCHEDULES, "schedule")
        check(list(self.milestones) == sorted(self.milestones), "milestones",
              f"must be increasing, got {self.milestones}")
        check(self.warmup_epochs >= 0, "warmup_epochs", f"must be >= 0, got {self.warmup_epochs}")
        check(0 < self.warmup_start_factor <= 1, "warmup_start_factor",
              f"must be in (0, 1], got {self.warmup_start_factor}")
        check(self.clip_grad_norm is None or self.clip_grad_norm > 0, "clip_grad_norm",
              f"must be > 0 or null, got {self.clip_grad_norm}")
        check(0 <= self.label_smoothing < 1, "label_smoothing", f"must be in [0, 1), got {self.label_smoothing}")

    @property
    def lr(self) -> float:
        """The peak learning rate actually used."""
        return self.base_lr * self.batch_size / self.base_batch if self.scale_lr else self.base_lr


@dataclass
class EvalConfig(Config):
    """Validation during training and the default protocol of ``ean eval``."""

    protocol: str = "1clip"
    """"1clip" (1 clip x centre crop), "2clip" (2 clips x centre crop), "10x3" (10 clips x 3 crops)."""
    aggregate: str = "logits"
    """Average the views' raw logits (the authors) or their softmax probabilities."""
    batch_size: int = 8
    """Videos per batch (per process) when evaluating."""
    every: int = 1
    """Validate every N epochs during training (0: only after the last epoch)."""
    extra_protocols: list[str] = field(default_factory=list)
    """More protocols evaluated on the validation set once training is complete, each written
    to ``val_scores_<protocol>.npz`` and recorded in ``summary.json`` (e.g. ``[2clip]`` for
    Table 4's two-clip row)."""
    subset: int = 0
    """Validations before the last epoch use about this many videos (the same share of every
    class, evenly spaced within it, and at least one per class); 0: all. The validation after
    the last epoch, whose scores are saved, always uses every video."""

    def final_protocols(self) -> list[str]:
        """The protocols evaluated once after training besides the validations' 1 clip:
        ``protocol`` and ``extra_protocols``, in that order, without repeats."""
        return [p for p in dict.fromkeys([self.protocol, *self.extra_protocols]) if p != "1clip"]

    def validate(self) -> None:
        check(self.subset >= 0, "subset", f"must be >= 0, got {self.subset}")
        for protocol in self.extra_protocols:
            check_choice(protocol, PROTOCOLS, "extra_protocols")
        check_choice(self.protocol, PROTOCOLS, "protocol")
        check_choice(self.aggregate, AGGREGATES, "aggregate")
        check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check(self.every >= 0, "every", f"must be >= 0, got {self.every}")


@dataclass
class RuntimeConfig(Config):
    """Everything about how a run executes (none of it changes the maths on CPU)."""

    seed: int = 0
    device: str = "auto"
    """"auto" (CUDA when available), "cpu", "cuda" or "cuda:N". Under torchrun every process uses the GPU
    of its LOCAL_RANK ("cuda:N" is then an error: choose the GPUs with CUDA_VISIBLE_DEVICES)."""
    threads: int = 0
    """CPU threads of torch's intra-op pool (0: torch's default, one per core)."""
    precision: str = "auto"
    """"auto" (bf16 autocast on GPUs with native bf16, i.e. compute capability >= 8.0; fp16 with a grad
    scaler on older GPUs; fp32 on CPU), "fp32", "bf16", "fp16" (CUDA, with a grad scaler)."""
    channels_last: Optional[bool] = None
    """null: on for CUDA, off for CPU."""
    compile: bool = False
    sync_bn: bool = False
    """Convert BatchNorm to SyncBatchNorm under DDP (CUDA only)."""
    checkpoint_every_steps: int = 0
    """Also write a checkpoint every N optimiser steps (0: only at the end of each epoch)."""
    keep_checkpoints: int = 3
    """Keep the newest N epoch checkpoints (and N step checkpoints); best.pt is always kept."""
    log_every: int = 10
    """Refresh the progress-bar statistics every N steps."""
    progress: bool = True
    tensorboard: bool = False
    """Also write TensorBoard logs to RUN_DIR/tensorboard (needs the tensorboard package)."""
    detect_anomaly: bool = False
    max_steps: int = 0
    """Stop after this many optimiser steps in total (0: no limit); for smoke runs."""

    def validate(self) -> None:
        check(self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"), "device",
              f"must be auto, cpu or cuda[:N], got {self.device!r}")
        check_choice(self.precision, PRECISIONS, "precision")
        for key in ("checkpoint_every_steps", "max_steps", "threads"):
            check(getattr(self, key) >= 0, key, f"must be >= 0, got {getattr(self, key)}")
        for key in ("keep_checkpoints", "log_every"):
            check(getattr(self, key) >= 1, key, f"must be >= 1, got {getattr(self, key)}")


SECTIONS = ("model", "data", "optim", "eval", "runtime")


@dataclass
class TrainConfig:
    """One training run: model + data + optimisation + evaluation + runtime."""

    model: ModelConfig
    data: DataConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    model_preset: Optional[str] = None
    """The preset the model section started from (kept for the record)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts (YAML/JSON/torch.load(weights_only=True)-friendly); round-trips."""
        model = self.model.to_dict()
        if self.model_preset:
            model = {"preset": self.model_preset, **model}
        return {"model": model, "data": self.data.to_dict(), "optim": self.optim.to_dict(),
                "eval": self.eval.to_dict(), "runtime": self.runtime.to_dict()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> "TrainConfig":
        return build_config(raw, source)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------- loading
def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config (following ``inherit:``), apply ``key=value`` overrides, type it."""
    raw = read_yaml(path)
    apply_overrides(raw, overrides, SECTIONS)
    return build_config(raw, str(path))


def build_config(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """A :class:`TrainConfig` from a plain dict of sections; errors name ``source`` and the key."""
    raw = copy.deepcopy(raw)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError("unknown section", key=unknown[0], file=source, allowed=SECTIONS)
    model_cfg, preset = _build_model_config(raw.get("model") or {}, source)
    data_section = dict(raw.get("data") or {})
    runtime_section = raw.get("runtime") or {}
    if "seed" not in data_section and isinstance(runtime_section, dict):  # one seed for everything
        data_section["seed"] = runtime_section.get("seed", RuntimeConfig.seed)
    return TrainConfig(
        model=model_cfg,
        data=_build_data_config(data_section, model_cfg, source),
        optim=build(OptimConfig, raw.get("optim") or {}, file=source, prefix="optim."),
        eval=build(EvalConfig, raw.get("eval") or {}, file=source, prefix="eval."),
        runtime=build(RuntimeConfig, runtime_section, file=source, prefix="runtime."),
        model_preset=preset,
    )


def _build_model_config(section: dict[str, Any], source: str) -> tuple[ModelConfig, Optional[str]]:
    """The model section: a preset (``preset: ean_tiny``) with any fields changed, or fields alone."""
    if not isinstance(section, dict):
        raise ConfigError(f"must be a mapping, got {type(section).__name__}", key="model", file=source)
    section = dict(section)
    preset = section.pop("preset", None)
    try:
        base = get_preset(preset).to_dict() if preset is not None else ModelConfig().to_dict()
    except ConfigError as exc:
        raise exc.located(source, "model.") from None
    return ModelConfig.from_dict(deep_merge(base, section), file=source, prefix="model."), preset


GEOMETRY = ("num_segments", "segment_length", "input_size")


def _build_data_config(section: dict[str, Any], model_cfg: ModelConfig, source: str) -> DataConfig:
    """The data section; the clip geometry and the recipe follow the model unless stated."""
    section = dict(section)
    for key in GEOMETRY:
        section.setdefault(key, getattr(model_cfg, key))
    if section.get("recipe") is None:
        section["recipe"] = model_cfg.semantics
    data_cfg = DataConfig.from_dict(section, file=source, prefix="data.")
    for key in GEOMETRY:
        if getattr(data_cfg, key) != getattr(model_cfg, key):
            raise ConfigError(f"{getattr(data_cfg, key)} does not match model.{key}={getattr(model_cfg, key)}; "
                              f"remove data.{key} to follow the model", key=f"data.{key}", file=source)
    return data_cfg


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two plain config dicts."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        name = f"{prefix}{key}"
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_diff(va, vb, name + ".")
        elif va != vb:
            out.append(name)
    return out
