"""One mechanism for every typed configuration of ``ean``: dataclasses read from YAML.

A configuration class is a dataclass deriving from :class:`Config`: it declares its fields
(with their types) and, where values must be checked together, a ``validate()`` method;
reading, writing and overriding come from here::

    cfg = ModelConfig.from_dict({"eab": {"fusion": "static"}}, file="run.yaml", prefix="model.")
    cfg.override({"eab.stages": [2, 3]})      # dotted keys; a new, checked object
    cfg.to_dict()                             # plain lists / dicts / scalars, round-trips

Values are checked against the field types as they are read: ``int``, ``float`` (an int or
a YAML string such as ``5e-4`` is accepted), ``bool``, ``str``, ``Optional[...]``, unions
(the first member that fits), ``list[...]`` / ``tuple[...]`` (a YAML list), ``dict``,
``Any`` (anything) and nested ``Config`` classes (a mapping). Every error is a
:class:`~ean.errors.ConfigError` naming the file, the dotted key and, for a closed set, the
values allowed.

YAML files may start from another file (``inherit: relative/path.yaml``: a deep merge, the
inheriting file wins), and command lines add ``a.b.c=value`` overrides whose values are
parsed as YAML (:func:`read_yaml`, :func:`apply_overrides`).

Why not a library: ``dataclasses`` + ``typing`` cover the types used here in ~150 lines;
OmegaConf's structured configs do not take ``int | [H, W]`` unions (``data.resize``) or
tuples of ints without a custom resolver, and pydantic would bring a second model of
every class (validators, ``model_dump``) for the same checks.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Optional, TypeVar

import yaml

from ean.errors import ConfigError

C = TypeVar("C", bound="Config")


class Config:
    """Base of the typed configurations: ``from_dict``, ``to_dict``, ``override``, ``copy``.

    Subclasses are dataclasses; a ``validate()`` they define runs after construction and
    raises :class:`ConfigError` with the key relative to the class (``eab.fusion``).
    """

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check values that depend on each other; raise :class:`ConfigError`."""

    @classmethod
    def from_dict(cls: type[C], values: Any, *, file: Optional[str] = None, prefix: str = "") -> C:
        """Build from a mapping of field values (nested mappings for nested configs)."""
        return build(cls, values, file=file, prefix=prefix)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts, lists and scalars (YAML / JSON / ``torch.load`` friendly)."""
        return plain(self)

    def override(self: C, updates: dict[str, Any]) -> C:
        """A checked copy with ``{"dotted.key": value}`` updates applied."""
        values = self.to_dict()
        for key, value in updates.items():
            node = values
            *parents, last = key.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"no section {part!r}", key=key, allowed=_sections(node))
                node = node[part]
            if last not in node:
                raise ConfigError("no such field", key=key, allowed=sorted(node))
            node[last] = value
        return type(self).from_dict(values)

    def copy(self: C) -> C:
        return copy.deepcopy(self)


def _sections(node: dict) -> list[str]:
    return sorted(k for k, v in node.items() if isinstance(v, dict))


# ---------------------------------------------------------------------------- checks
def check_choice(value: Any, allowed: Iterable[Any], key: str, file: Optional[str] = None) -> None:
    """``ConfigError`` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(f"{value!r} is not allowed", key=key, file=file, allowed=allowed)


def check(condition: bool, key: str, reason: str) -> None:
    """``ConfigError(reason)`` about ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(reason, key=key)


# ---------------------------------------------------------------------------- reading
@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def build(cls: type[C], values: Any, *, file: Optional[str] = None, prefix: str = "",
          fixed: Optional[dict[str, Any]] = None) -> C:
    """An instance of the dataclass ``cls`` from a mapping, every value type-checked.

    ``prefix`` is the dotted position of ``values`` in its file (``"model."``), used in
    errors; ``fixed`` are constructor arguments that do not come from the file (not
    checked, not allowed as keys).
    """
    if not isinstance(values, dict):
        raise ConfigError(f"must be a mapping, got {type(values).__name__}",
                          key=prefix.rstrip(".") or None, file=file)
    fields = [f for f in dataclasses.fields(cls) if f.init and f.name not in (fixed or {})]
    names = [f.name for f in fields]
    unknown = sorted(map(str, set(values) - set(names)))
    if unknown:
        also = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise ConfigError(f"unknown setting{also}", key=f"{prefix}{unknown[0]}", file=file, allowed=sorted(names))
    for f in fields:
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError("missing", key=f"{prefix}{f.name}", file=file)
    hints = _hints(cls)
    kwargs = {name: coerce(value, hints[name], f"{prefix}{name}", file) for name, value in values.items()}
    try:
        return cls(**kwargs, **(fixed or {}))
    except ConfigError as exc:
        raise exc.located(file, prefix) from None


def coerce(value: Any, hint: Any, key: str, file: Optional[str] = None) -> Any:
    """``value`` checked against the type ``hint`` (converted where YAML is loose)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for member in (a for a in args if a is not type(None)):
            try:
                return coerce(value, member, key, file)
            except ConfigError as exc:
                errors.append(exc.reason.split(", got ")[0].removeprefix("must be "))
        raise ConfigError(f"must be {' or '.join(errors)}, got {value!r}", key=key, file=file)
    if isinstance(hint, type) and issubclass(hint, Config):
        return build(hint, value, file=file, prefix=f"{key}.")
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"must be a list, got {value!r}", key=key, file=file)
        inner = args[0] if args else Any
        items = [coerce(v, inner, key, file) for v in value]
        return tuple(items) if (origin or hint) is tuple else items
    if origin is dict or hint is dict:
        if value is None:   # YAML ``key:`` with nothing under it
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"must be a mapping, got {value!r}", key=key, file=file)
        return dict(value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 5e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif hint in (int, str, bool) and isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    elif hint is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    elif hint not in (int, str, bool):
        return value  # a type this mechanism does not check (e.g. Path)
    raise ConfigError(f"must be {getattr(hint, '__name__', hint)}, got {value!r}", key=key, file=file)


def plain(obj: Any) -> Any:
    """Dataclasses, tuples and paths as plain dicts, lists and strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ---------------------------------------------------------------------------- files
def read_yaml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML mapping, following ``inherit: relative/path.yaml`` (deep merge, this file wins)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", file=str(path))
    if path.resolve() in _seen:
        raise ConfigError(f"'inherit' loop through {[str(p) for p in _seen]}", file=str(path))
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=str(path)) from None
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping", file=str(path))
    parent = raw.pop("inherit", None)
    if parent is not None:
        raw = deep_merge(read_yaml(path.parent / parent, _seen + (path.resolve(),)), raw)
    return raw


def deep_merge(base: dict, update: dict) -> dict:
    """A copy of ``base`` with ``update`` merged in (mappings recursively, the rest replaced)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str],
                    sections: Optional[Iterable[str]] = None) -> dict[str, Any]:
    """Apply ``a.b.c=value`` strings to ``raw`` in place (values parsed as YAML).

    With ``sections``, the first part of every key must be one of them.
    """
    sections = tuple(sections) if sections is not None else None
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form section.key=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if sections is not None and (parts[0] not in sections or len(parts) < 2):
            raise ConfigError(f"override {item!r}: the key must be a section followed by a field, "
                              "e.g. optim.base_lr=0.02", key=key.strip(), allowed=sections)
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML: {exc}", key=key.strip()) from None
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section", key=key.strip())
        node[parts[-1]] = value
    return raw
