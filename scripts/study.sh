#!/usr/bin/env bash
# The main job: installs what the study needs (into .venv) and regenerates every report
# with DVC (`dvc repro`). Extra arguments go to `dvc repro`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" test,study
cd "$here"
export PATH="${EAN_VENV:-$here/.venv}/bin:$PATH"
exec dvc repro "$@"
