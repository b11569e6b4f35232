"""The declared torch floor covers the torch APIs the code uses, and the installed torch meets it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]

# torch APIs the package relies on -> the first release that has them
NEEDS = {
    "torch.library.custom_op": ("ean/models/ops.py", Version("2.4")),            # with register_fake/_autograd
    "torch.amp.GradScaler(": ("ean/engine/hardware.py", Version("2.3")),
}


def _floor(spec: str, name: str) -> Version:
    req = Requirement(spec)
    assert req.name == name
    floors = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    assert floors, f"{spec}: no lower bound"
    return max(floors)


def _pyproject_floor(name: str) -> Version:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if Requirement(d).name == name]
    return _floor(spec, name)


def test_torch_floor_covers_the_apis_used_and_is_met():
    import torchvision

    floor = _pyproject_floor("torch")
    for api, (path, since) in NEEDS.items():
        assert api in (REPO / path).read_text(), f"{path} no longer uses {api}: update NEEDS"
        assert floor >= since, f"pyproject.toml says torch>={floor}, but {path} uses {api} (torch {since})"
    # the installed versions meet the floors, and environment.yml (conda) declares the same ones
    env = (REPO / "environment.yml").read_text()
    for module, name in ((torch, "torch"), (torchvision, "torchvision")):
        installed = Version(module.__version__.split("+")[0])
        assert installed >= _pyproject_floor(name), f"{name} {installed} is older than pyproject.toml's floor"
        (spec,) = re.findall(rf"^\s*-\s*({name}\s*[<>=~!].*)$", env, re.M)
        assert _floor(spec.strip(), name) == _pyproject_floor(name), spec
