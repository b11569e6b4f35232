"""The shared typed-config mechanism (ean.config) that every configuration class uses."""
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Tuple

import pytest

from ean.config import Config, apply_overrides, check_choice, read_yaml
from ean.errors import ConfigError, UserError


@dataclass
class Inner(Config):
    size: int | list[int] = 8
    stages: Tuple[int, ...] = (1, 2)


@dataclass
class Outer(Config):
    rate: float = 0.1
    name: str = "x"
    flag: bool = False
    limit: Optional[int] = None
    tags: list[str] = field(default_factory=list)
    extra: Any = None
    inner: Inner = field(default_factory=Inner)

    def validate(self) -> None:
        check_choice(self.name, ("x", "y"), "name")


def test_values_are_checked_and_converted_against_the_field_types():
    cfg = Outer.from_dict({"rate": "5e-4", "limit": 3, "tags": ("a",), "extra": {"any": 1},
                           "inner": {"size": [2, 3], "stages": [4]}, "name": Path("y")})
    assert cfg.rate == 5e-4 and isinstance(cfg.rate, float)
    assert cfg.tags == ["a"] and cfg.inner.size == [2, 3] and cfg.inner.stages == (4,)
    assert cfg.name == "y" and cfg.extra == {"any": 1}
    assert Outer.from_dict({"rate": 1}).rate == 1.0 and isinstance(Outer.from_dict({"rate": 1}).rate, float)
    assert Outer.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["inner"] == {"size": [2, 3], "stages": [4]}


@pytest.mark.parametrize("values,key,reason", [
    ({"rate": "fast"}, "cfg.rate", "must be float"),
    ({"flag": 1}, "cfg.flag", "must be bool"),
    ({"limit": 2.5}, "cfg.limit", "must be int"),
    ({"tags": "a"}, "cfg.tags", "must be a list"),
    ({"inner": {"size": "big"}}, "cfg.inner.size", "must be int or a list, got 'big'"),
    ({"inner": {"depth": 1}}, "cfg.inner.depth", "unknown setting"),
    ({"inner": 3}, "cfg.inner", "must be a mapping"),
    ({"name": "z"}, "cfg.name", "'z' is not allowed"),
])
def test_every_error_is_one_type_naming_file_and_key(values, key, reason):
    with pytest.raises(ConfigError, match=reason) as info:
        Outer.from_dict(values, file="f.yaml", prefix="cfg.")
    error = info.value
    assert isinstance(error, UserError) and isinstance(error, ValueError)
    assert (error.file, error.key) == ("f.yaml", key)
    assert str(error).startswith(f"f.yaml: {key}: ")
    assert pickle.loads(pickle.dumps(error)).key == key


def test_allowed_values_are_listed():
    with pytest.raises(ConfigError) as info:
        Outer.from_dict({"bogus": 1})
    assert info.value.allowed == ["extra", "flag", "inner", "limit", "name", "rate", "tags"]
    with pytest.raises(ConfigError) as info:
        Outer(name="q")
    assert info.value.allowed == ["x", "y"] and "(allowed: x, y)" in str(info.value)


def test_override_takes_dotted_keys_and_checks_them():
    cfg = Outer().override({"inner.stages": [3], "rate": 0.5})
    assert cfg.inner.stages == (3,) and cfg.rate == 0.5 and Outer().inner.stages == (1, 2)
    with pytest.raises(ConfigError, match="inner.bogus: no such field"):
        Outer().override({"inner.bogus": 1})
    with pytest.raises(ConfigError, match="no section 'nope'"):
        Outer().override({"nope.x": 1})


def test_yaml_inherit_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("optim: {epochs: 3, lr: 0.1}\nmodel: {preset: a}\n")
    (tmp_path / "run.yaml").write_text("inherit: base.yaml\noptim: {epochs: 5}\n")
    raw = read_yaml(tmp_path / "run.yaml")
    assert raw == {"optim": {"epochs": 5, "lr": 0.1}, "model": {"preset": "a"}}
    apply_overrides(raw, ["optim.milestones=[1, 2]", "model.eab.fusion=static"], sections=("optim", "model"))
    assert raw["optim"]["milestones"] == [1, 2] and raw["model"]["eab"] == {"fusion": "static"}
    with pytest.raises(ConfigError, match="must be a section followed by a field") as info:
        apply_overrides(raw, ["data.x=1"], sections=("optim", "model"))
    assert info.value.allowed == ["optim", "model"]
    (tmp_path / "loop.yaml").write_text("inherit: loop.yaml\n")
    with pytest.raises(ConfigError, match="loop.yaml: 'inherit' loop"):
        read_yaml(tmp_path / "loop.yaml")


@dataclass
class Needs(Config):
    name: str
    mapping: dict = field(default_factory=dict)


def test_a_required_setting_missing_and_an_empty_mapping():
    with pytest.raises(ConfigError, match="f.yaml: x.name: missing"):
        Needs.from_dict({}, file="f.yaml", prefix="x.")
    assert Needs.from_dict({"name": "a", "mapping": None}).mapping == {}   # YAML `mapping:` alone
    with pytest.raises(ConfigError, match=r"unknown setting \(also unknown: c\)"):
        Needs.from_dict({"name": "a", "b": 1, "c": 2})
