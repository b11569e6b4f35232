"""The package's shape: small modules, one mechanism for configs and errors, no test tooling."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def _modules():
    return sorted((ROOT / "ean").rglob("*.py"))


def test_no_module_of_the_package_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_library_errors_come_from_ean_errors_not_the_command_line():
    """``UserError`` / ``ConfigError`` are defined once, in ean.errors, and no module of the
    library imports them from ean.cli."""
    defined, imported_from_cli = [], []
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in ("UserError", "ConfigError"):
                defined.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("cli") \
                    and any(a.name == "UserError" for a in node.names):
                imported_from_cli.append(str(path.relative_to(ROOT)))
    assert defined == ["ean/errors.py", "ean/errors.py"] and not imported_from_cli


def test_every_config_class_uses_the_shared_mechanism():
    """Each dataclass named ``*Config`` (and the study's Dataset / Variant / Table) derives
    from ean.config.Config: no module has a parser of its own."""
    own_parsers = []
    for path in _modules():
        if path.name == "config.py" and path.parent.name == "ean":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and (node.name.endswith("Config") or path.name == "params.py") \
                    and any(ast.unparse(d) in ("dataclass", "dataclasses.dataclass") for d in node.decorator_list) \
                    and node.name not in ("TrainConfig", "StudyParams"):
                if "Config" not in [ast.unparse(b) for b in node.bases]:
                    own_parsers.append(f"{path.relative_to(ROOT)}:{node.name}")
            if isinstance(node, ast.FunctionDef) and node.name in ("_from_dict", "_section", "_coerce", "_check_keys"):
                own_parsers.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert not own_parsers, own_parsers
