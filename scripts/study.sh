#!/usr/bin/env bash
# The main job: installs what the study needs (into .venv) and regenerates every report
# with DVC (`dvc repro`), then records the wall time of a full re-run in
# reports/repro_time.json and refreshes the README's results section from reports/.
# Extra arguments go to `dvc repro`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$here/scripts/bootstrap.sh" test,study
cd "$here"
export PATH="${EAN_VENV:-$here/.venv}/bin:$PATH"
mkdir -p .dvc/tmp
start=$(date +%s)
dvc repro "$@" 2>&1 | tee .dvc/tmp/repro.log
end=$(date +%s)
stages=$(grep -c "^Running stage" .dvc/tmp/repro.log || true)
# the wall time is recorded for runs that retrained everything (from the pretraining on)
if grep -q "^Running stage 'pretrain'" .dvc/tmp/repro.log; then
    python - "$start" "$end" "$stages" <<'PY'
import json, os, sys, time
import yaml
start, end, stages = map(int, sys.argv[1:4])
profile = yaml.safe_load(open("params.yaml"))["profile"]
json.dump({"profile": profile, "seconds": end - start, "stages": stages, "cpus": os.cpu_count(),
           "date": time.strftime("%Y-%m-%d", time.gmtime(start))},
          open("reports/repro_time.json", "w"), indent=2)
PY
fi
if [ "$stages" -gt 0 ]; then
    python -m ean.study.readme
fi
