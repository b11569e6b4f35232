"""The ``ean`` command line.

Each sub-package that offers commands exposes ``register(subparsers)``, which adds its
sub-commands and sets ``func`` on the parsed namespace. ``main`` only wires them together.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ean.errors import UserError

# Modules that add sub-commands, in the order they appear in ``ean --help``.
COMMAND_MODULES = (
    "ean.analysis.flops_cli",
    "ean.models.cli",
    "ean.data.cli",
    "ean.engine.cli",
    "ean.study.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ean", description="EAN study toolbox")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a sub-package that is not built yet
            if exc.name == name:
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except (UserError, FileNotFoundError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ean {args.command}: error: {message}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
