"""The study's parameters: ``params.yaml`` (the active profile) as typed objects.

A profile is one YAML file under ``configs/study/profiles/`` (``smoke``, ``default``,
``study``, ``paper``); ``params.yaml`` at the repository root is a copy of the active one
(``ean study use PROFILE`` switches, and rewrites ``dvc.yaml`` to match). Sections:

``datasets``
    name -> where the clips come from: ``{synth: PROFILE, root: DIR, seed: N}`` for a
    generated set, or ``{config: TRAIN_CONFIG.yaml}`` for a real one (its ``data`` section).
    ``decoded: true`` (generated sets) also writes ``ROOT/decoded.npz``, every frame decoded
    once, which the runs then read instead of decoding the videos again.
``pretrain``
    the stand-in for ImageNet initialisation (embedded profiles): one network trained on a
    disjoint generated set; every variant starts from its 2D weights. ``null`` when the
    variants' configs give local ImageNet weights instead (the ``paper`` profile).
``train``
    ``config`` (the TrainConfig every run starts from), ``set`` (dotted overrides),
    ``runs_dir`` (checkpoints, DVC-cached), ``reports_dir`` (per-run metrics, in git),
    ``launcher`` (the command that runs ``study train RUN``: ``ean``, or e.g.
    ``torchrun --nproc_per_node 8 -m ean.engine`` on a GPU node), ``jobs`` / ``threads``
    (runs side by side and the CPU threads they share) and ``stages``: ``variant`` (one
    DVC stage per variant: changing a variant retrains only its runs) or ``pooled`` (one
    stage for every run, ``jobs`` worker processes kept busy over all of them, longest
    first: no per-stage start-up and no idle cores between variants, at the price of
    retraining every run when any variant changes; the 30-minute ``default`` profile).
``variants``
    name -> ``{preset, set, seeds, dataset, config, label}``: one trained model per seed.
``tables``
    table id -> ``{dataset, rows: {paper row name: variant or null}}``; ``null`` marks a row
    this profile cannot train (the reason goes in ``missing``).
``presets``
    paper-scale preset -> the study's model for it (``{preset, set}``): how a row of the
    paper's Params/FLOPs table maps onto a variant (checked by the tests).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from ean.config import Config, build, check, check_choice
from ean.engine.config import PROTOCOLS
from ean.errors import ConfigError, UserError

TRAIN_STAGES = ("variant", "pooled")
"""How the runs map onto DVC stages (``train.stages``)."""

PROFILE_DIR = Path("configs/study/profiles")
TABLE_IDS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "paper_vs_code")


def repo_root(start: Optional[Path] = None) -> Path:
    """The repository root: the nearest folder upwards holding ``pyproject.toml`` and ``ean/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "ean").is_dir():
            return folder
    raise UserError(f"not inside the ean repository (no pyproject.toml above {here})")


@dataclass
class Dataset(Config):
    name: str
    synth: Optional[str] = None
    root: Optional[str] = None
    seed: int = 0
    config: Optional[str] = None
    decoded: bool = False
    label: str = ""
    """What the set stands for, in the tables' column headers (e.g. "Kinetics-like stand-in")."""
    format: Optional[str] = None
    """A generated set written in an official layout (``sthv1``, ``sthv2``, ``k400``,
    ``diving48``: :mod:`ean.data.synth.official`) instead of the embedded one: the
    rehearsal of the ``paper`` profile (``ean study use paper --rehearse``)."""
    missing: int = 0
    """Entries of the training list written without their video (as Kinetics-400's lists)."""
    corrupt: int = 0
    """Entries of the training list whose video file is corrupt."""
    set: dict[str, Any] = field(default_factory=dict)
    """``data`` settings of this dataset (e.g. ``max_skip_fraction``), for its validation
    and every run on it."""

    @property
    def generated(self) -> bool:
        return self.synth is not None

    def validate(self) -> None:
        if self.format is not None:
            from ean.data.synth.official import FORMATS

            check(self.format in FORMATS and self.generated and not self.decoded, "format",
                  f"a generated set (synth) written in one of {', '.join(FORMATS)} (not decoded), "
                  f"got {self.format!r}")
        check(self.generated != (self.config is not None) or bool(self.generated and self.format),
              "synth" if self.generated else "config",
              "needs exactly one of 'synth' (a generated set) or 'config' (a real dataset's training "
              "config); both only with 'format' (a generated set in a real dataset's layout, read with "
              "that config's data settings)")
        check(not self.generated or bool(self.root), "root", "a generated set needs 'root'")


@dataclass
class Variant(Config):
    name: str
    preset: Optional[str] = None
    set: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    dataset: str = "embedded"
    config: Optional[str] = None
    label: str = ""

    def run_names(self) -> list[str]:
        return [run_name(self.name, s) for s in self.seeds]

    def validate(self) -> None:
        check("-s" not in self.name and "/" not in self.name, "name",
              f"variant name {self.name!r} may not contain '-s' or '/'")
        check(bool(self.seeds) and len(set(self.seeds)) == len(self.seeds), "seeds",
              f"must be a non-empty list of distinct ints, got {self.seeds}")
        check(self.preset is not None or self.config is not None, "preset", "needs a 'preset' or a 'config'")


@dataclass
class Table(Config):
    id: str
    dataset: Optional[str] = None
    rows: dict[str, Any] = field(default_factory=dict)
    """paper row -> a variant (``variant@protocol``: its runs under another test protocol), a
    list of them (an ensemble of their logits) or None."""
    missing: dict[str, str] = field(default_factory=dict)
    reference: Optional[str] = None
    """The row every other row is compared with (paired Δ with a CI, agreement)."""

    def validate(self) -> None:
        check_choice(self.id, TABLE_IDS, "id")
        check(self.reference is None or self.reference in self.rows, "reference",
              f"{self.reference!r} is not one of the rows")
        for row, variants in self.rows.items():
            check(variants is not None or row in self.missing, f"rows.{row}",
                  f"is null: say why in tables.{self.id}.missing")
            for name in (variants if isinstance(variants, list) else [variants]):
                protocol = (name or "").partition("@")[2]
                if protocol:
                    check_choice(protocol, PROTOCOLS, f"rows.{row}")


@dataclass
class TrainSection(Config):
    """``train``: the TrainConfig every run starts from and how the runs are launched."""

    config: str
    runs_dir: str
    """Checkpoints (DVC-cached)."""
    reports_dir: str
    """Per-run metrics and scores, the tables and figures (in git)."""
    set: dict[str, Any] = field(default_factory=dict)
    """Dotted overrides of every run's TrainConfig."""
    stages: str = "variant"
    launcher: str = "ean"
    """The command that runs ``study train RUN`` (e.g. ``torchrun --nproc_per_node 8 -m ean.engine``)."""
    jobs: int = 1
    """Runs side by side (``stages: pooled``) or seeds side by side (``stages: variant``)."""
    threads: Optional[int] = None
    """CPU threads the side-by-side runs share (None: every CPU)."""

    def validate(self) -> None:
        check_choice(self.stages, TRAIN_STAGES, "stages")
        check(self.jobs >= 1, "jobs", f"must be >= 1, got {self.jobs}")
        check(self.threads is None or self.threads >= 1, "threads", f"must be >= 1 or null, got {self.threads}")


@dataclass
class PretrainSection(Config):
    """``pretrain``: the stand-in for ImageNet initialisation, one network on a disjoint set."""

    dataset: str
    preset: str
    out: str
    """Its run directory; ``OUT/backbone.pth`` is what every variant starts from."""
    config: Optional[str] = None
    """Its TrainConfig (None: ``train.config``)."""
    set: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyParams:
    """The parsed ``params.yaml``; ``raw`` keeps the file's dict (what DVC sees)."""

    profile: str
    datasets: dict[str, Dataset]
    pretrain: Optional[PretrainSection]
    train: TrainSection
    variants: dict[str, Variant]
    tables: dict[str, Table]
    presets: dict[str, dict[str, Any]]
    raw: dict[str, Any]
    path: Path

    # ------------------------------------------------------------------ derived
    @property
    def runs_dir(self) -> Path:
        return Path(self.train.runs_dir)

    @property
    def reports_dir(self) -> Path:
        return Path(self.train.reports_dir)

    def runs(self) -> dict[str, tuple[str, int]]:
        """run name -> (variant, seed), in the order of the variants."""
        return {run_name(v.name, s): (v.name, s) for v in self.variants.values() for s in v.seeds}

    def variant_of_run(self, run: str) -> tuple[Variant, int]:
        runs = self.runs()
        if run not in runs:
            raise UserError(f"unknown run {run!r}; the profile {self.profile!r} has "
                            f"{len(runs)} runs, e.g. {', '.join(list(runs)[:4])}")
        name, seed = runs[run]
        return self.variants[name], seed

    def table_variants(self, table: str) -> list[str]:
        """The variants a table needs (rows in order, each once)."""
        out: list[str] = []
        for spec in self.tables[table].rows.values():
            for v in (spec if isinstance(spec, list) else [spec]):
                v = None if v is None else v.partition("@")[0]
                if v is not None and v not in out:
                    out.append(v)
        return out


def run_name(variant: str, seed: int) -> str:
    return f"{variant}-s{seed}"


def parse_params(raw: dict[str, Any], path: Path = Path("params.yaml")) -> StudyParams:
    """Type and check a params dict; errors name the file and the dotted key at fault."""
    file = str(path)
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping at the top level", file=file)
    for key in ("profile", "datasets", "train", "variants", "tables"):
        if key not in raw:
            raise ConfigError("missing section", key=key, file=file)
    datasets = {name: build(Dataset, _mapping(d), file=file, prefix=f"datasets.{name}.", fixed={"name": name})
                for name, d in raw["datasets"].items()}
    train = build(TrainSection, _mapping(raw["train"]), file=file, prefix="train.")
    variants = {name: build(Variant, _mapping(v), file=file, prefix=f"variants.{name}.", fixed={"name": name})
                for name, v in raw["variants"].items()}
    for name, var in variants.items():
        check_choice(var.dataset, sorted(datasets), f"variants.{name}.dataset", file=file)
    tables = {}
    for tid, t in raw["tables"].items():
        tid = str(tid)
        table = build(Table, _mapping(t), file=file, prefix=f"tables.{tid}.", fixed={"id": tid})
        for row, spec in table.rows.items():
            for name in (spec if isinstance(spec, list) else [spec]):
                if name is not None:
                    check_choice(name.partition("@")[0], list(variants), f"tables.{tid}.rows.{row}", file=file)
        tables[tid] = table
    pretrain = None
    if raw.get("pretrain") is not None:
        pretrain = build(PretrainSection, raw["pretrain"], file=file, prefix="pretrain.")
        check_choice(pretrain.dataset, sorted(datasets), "pretrain.dataset", file=file)
    return StudyParams(profile=str(raw["profile"]), datasets=datasets, pretrain=pretrain, train=train,
                       variants=variants, tables=tables, presets=dict(raw.get("presets") or {}),
                       raw=copy.deepcopy(raw), path=Path(path))


def _mapping(values: Any) -> Any:
    """A section's mapping (an empty entry, ``name:`` alone, is an empty mapping)."""
    return {} if values is None else values


def load_params(path: str | Path = "params.yaml") -> StudyParams:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no study parameters at {path}")
    with open(path) as f:
        raw = yaml.safe_load(f)
    return parse_params(raw, path)


def profile_path(profile: str, root: Optional[Path] = None) -> Path:
    root = root or repo_root()
    path = root / PROFILE_DIR / f"{profile}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / PROFILE_DIR).glob("*.yaml"))
        raise UserError(f"unknown study profile {profile!r}; known: {', '.join(known)}")
    return path


def load_profile(profile: str, root: Optional[Path] = None) -> StudyParams:
    return load_params(profile_path(profile, root))
