#!/usr/bin/env bash
# Installs what the tests need (into .venv) and runs the whole test suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" test
# The explorer's end-to-end test drives the system Chromium (Playwright never downloads one).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${EAN_CHROMIUM:-}" ] \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser test ..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
        >/dev/null 2>&1 || echo "could not install chromium: the browser test will be skipped"
fi
cd "$here"
export PATH="${EAN_VENV:-$here/.venv}/bin:$PATH"   # dvc, ean, papermill, jupyter of the venv
exec python -m pytest "$@"
