#!/usr/bin/env bash
# Installs what the tests need (into .venv) and runs the whole test suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" test
cd "$here"
exec "${EAN_VENV:-$here/.venv}/bin/python" -m pytest "$@"
