#!/usr/bin/env bash
# Creates .venv (once) and installs the project into it with the given extras
# (default: test). Re-installs when pyproject.toml changes.
# Usage: bash scripts/bootstrap.sh [extras, e.g. "test,study"]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-test}"
venv="${EAN_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.ean-installed-${extras//,/-}"
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
    echo "installing ean[$extras] into $venv ..."
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e "$here[$extras]"
    touch "$stamp"
fi
