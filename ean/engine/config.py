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
import dataclasses
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

import yaml

from ean.errors import UserError

SCHEDULES = ("step", "cosine")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AGGREGATES = ("logits", "softmax")
PROTOCOLS = {"1clip": (1, 1), "2clip": (2, 1), "10x3": (10, 3)}
"""Test protocols: name -> (clips, crops)."""


@dataclass
class OptimConfig:
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
        if self.batch_size < 1 or self.base_batch < 1:
            raise UserError("optim.batch_size and optim.base_batch must be >= 1")
        if self.base_lr <= 0:
            raise UserError(f"optim.base_lr must be > 0, got {self.base_lr}")
        if self.epochs < 1:
            raise UserError(f"optim.epochs must be >= 1, got {self.epochs}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"optim.schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if list(self.milestones) != sorted(self.milestones):
            raise UserError(f"optim.milestones must be increasing, got {self.milestones}")
        if self.warmup_epochs < 0 or not 0 < self.warmup_start_factor <= 1:
            raise UserError("optim.warmup_epochs must be >= 0 and optim.warmup_start_factor in (0, 1]")
        if self.clip_grad_norm is not None and self.clip_grad_norm <= 0:
            raise UserError("optim.clip_grad_norm must be > 0 or null")
        if not 0 <= self.label_smoothing < 1:
            raise UserError("optim.label_smoothing must be in [0, 1)")

    @property
    def lr(self) -> float:
        """The peak learning rate actually used."""
        return self.base_lr * self.batch_size / self.base_batch if self.scale_lr else self.base_lr


@dataclass
class EvalConfig:
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
        if self.subset < 0:
            raise UserError(f"eval.subset must be >= 0, got {self.subset}")
        bad = [p for p in self.extra_protocols if p not in PROTOCOLS]
        if bad:
            raise UserError(f"eval.extra_protocols: {bad} not among {list(PROTOCOLS)}")
        if self.protocol not in PROTOCOLS:
            raise UserError(f"eval.protocol must be one of {list(PROTOCOLS)}, got {self.protocol!r}")
        if self.aggregate not in AGGREGATES:
            raise UserError(f"eval.aggregate must be one of {list(AGGREGATES)}, got {self.aggregate!r}")
        if self.batch_size < 1 or self.every < 0:
            raise UserError("eval.batch_size must be >= 1 and eval.every >= 0")


@dataclass
class RuntimeConfig:
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
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise UserError(f"runtime.device must be auto, cpu or cuda[:N], got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise UserError(f"runtime.precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        for name in ("checkpoint_every_steps", "max_steps", "threads"):
            if getattr(self, name) < 0:
                raise UserError(f"runtime.{name} must be >= 0")
        if self.keep_checkpoints < 1 or self.log_every < 1:
            raise UserError("runtime.keep_checkpoints and runtime.log_every must be >= 1")


SECTIONS = ("model", "data", "optim", "eval", "runtime")


@dataclass
class TrainConfig:
    """One training run: model + data + optimisation + evaluation + runtime."""

    model: Any  # ean.models.config.ModelConfig
    data: Any  # ean.data.config.DataConfig
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    model_preset: Optional[str] = None
    """The preset the model section started from (kept for the record)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts (YAML/JSON/torch.load(weights_only=True)-friendly); round-trips."""
        model = _plain(self.model.to_dict() if hasattr(self.model, "to_dict") else dataclasses.asdict(self.model))
        if self.model_preset:
            model = {"preset": self.model_preset, **model}
        data = _plain(self.data.to_dict() if hasattr(self.data, "to_dict") else dataclasses.asdict(self.data))
        return {
            "model": model,
            "data": data,
            "optim": _plain(dataclasses.asdict(self.optim)),
            "eval": _plain(dataclasses.asdict(self.eval)),
            "runtime": _plain(dataclasses.asdict(self.runtime)),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> "TrainConfig":
        return build_config(raw, source)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------- loading
def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML config (following ``inherit:``), apply ``key=value`` overrides, type it."""
    path = Path(path)
    raw = read_yaml(path)
    apply_overrides(raw, overrides)
    return build_config(raw, str(path))


def read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    if path.resolve() in _seen:
        raise UserError(f"{path}: 'inherit' loop through {[str(p) for p in _seen]}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: the top level must be a mapping of sections {list(SECTIONS)}")
    parent = raw.pop("inherit", None)
    if parent is not None:
        base = read_yaml(path.parent / parent, _seen + (path.resolve(),))
        raw = deep_merge(base, raw)
    return raw


def deep_merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(raw: dict[str, Any], overrides) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings in place (values parsed as YAML)."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"override {item!r} is not of the form section.key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if parts[0] not in SECTIONS or len(parts) < 2:
            raise UserError(f"override {item!r}: the key must start with one of {list(SECTIONS)} "
                            f"followed by a field, e.g. optim.base_lr=0.02")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"override {item!r}: value is not valid YAML: {exc}") from None
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = value
    return raw


def build_config(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    raw = copy.deepcopy(raw)
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise UserError(f"{source}: unknown section(s) {sorted(unknown)}; expected {list(SECTIONS)}")
    model_cfg, preset = _build_model_config(raw.get("model") or {}, source)
    data_section = dict(raw.get("data") or {})
    runtime_section = raw.get("runtime") or {}
    if "seed" not in data_section and isinstance(runtime_section, dict):  # one seed for everything
        data_section["seed"] = runtime_section.get("seed", RuntimeConfig.seed)
    data_cfg = _build_data_config(data_section, model_cfg, source)
    cfg = TrainConfig(
        model=model_cfg,
        data=data_cfg,
        optim=_section(OptimConfig, raw.get("optim") or {}, "optim", source),
        eval=_section(EvalConfig, raw.get("eval") or {}, "eval", source),
        runtime=_section(RuntimeConfig, raw.get("runtime") or {}, "runtime", source),
        model_preset=preset,
    )
    for part in (cfg.optim, cfg.eval, cfg.runtime):
        try:
            part.validate()
        except UserError as exc:
            raise UserError(f"{source}: {exc}") from None
    return cfg


def _build_model_config(section: dict[str, Any], source: str):
    from ean.models.config import ModelConfig

    section = dict(section)
    preset = section.pop("preset", None)
    try:
        if preset is not None:
            from ean.models.presets import get_preset

            base = get_preset(preset).to_dict()
        else:
            base = ModelConfig().to_dict()
        merged = deep_merge(base, section)
        return ModelConfig.from_dict(merged), preset
    except (KeyError, ValueError, TypeError) as exc:
        message = exc.args[0] if exc.args else exc
        raise UserError(f"{source}: model section: {message}") from None


GEOMETRY = ("num_segments", "segment_length", "input_size")


def _build_data_config(section: dict[str, Any], model_cfg, source: str):
    from ean.data.config import DataConfig

    section = dict(section)
    names = {f.name for f in fields(DataConfig)}
    for key in GEOMETRY:  # the clip geometry follows the model unless stated
        if key in names and key not in section:
            section[key] = getattr(model_cfg, key)
    if section.get("recipe") is None:  # the data recipe follows the model's semantics unless stated
        section["recipe"] = model_cfg.semantics
    try:
        if hasattr(DataConfig, "from_dict"):
            data_cfg = DataConfig.from_dict(section)
        else:
            data_cfg = _section(DataConfig, section, "data", source)
    except (KeyError, ValueError, TypeError) as exc:
        message = exc.args[0] if exc.args else exc
        raise UserError(f"{source}: data section: {message}") from None
    for key in GEOMETRY:
        if key in names and getattr(data_cfg, key) != getattr(model_cfg, key):
            raise UserError(f"{source}: data.{key}={getattr(data_cfg, key)} does not match "
                            f"model.{key}={getattr(model_cfg, key)}; remove data.{key} to follow the model")
    return data_cfg


def _section(cls, values: dict[str, Any], name: str, source: str):
    if not isinstance(values, dict):
        raise UserError(f"{source}: section {name!r} must be a mapping, got {type(values).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise UserError(f"{source}: unknown setting(s) {', '.join(f'{name}.{k}' for k in sorted(unknown))}; "
                        f"known: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(cls)
    kwargs = {key: _coerce(value, hints[key], f"{name}.{key}", source) for key, value in values.items()}
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    """Check a YAML value against a field's type (ints are accepted for floats)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key, source)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{source}: {key} must be a list, got {value!r}")
        return [_coerce(v, args[0], key, source) for v in value] if args else list(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML reads 5e-4 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool) and not (isinstance(value, hint) and not
                                                 (hint is int and isinstance(value, bool))):
        raise UserError(f"{source}: {key} must be a {hint.__name__}, got {value!r}")
    return value


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


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
