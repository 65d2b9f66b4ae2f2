#!/usr/bin/env bash
# Train Rasa 3.6 (Python 3.10) on nlu/data/ unchanged and evaluate it on the same held-out set
# as Relais' engine. Slow (DIET on 2 cores); not part of CI. Usage: benchmarks/rasa/compare_with_rasa.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${RASA_WORK:-$(mktemp -d)}"
python310="${PYTHON310:-python3.10}"
if [ ! -x "$work/venv/bin/rasa" ]; then
  "$python310" -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet "rasa==3.6.21"
fi
cd "$work"
start=$(date +%s)
"$work/venv/bin/rasa" train nlu --config "$here/config.yml" --nlu "$root/nlu/data" --out "$work/models" --fixed-model-name relais
echo "rasa train nlu: $(( $(date +%s) - start )) s"
"$work/venv/bin/rasa" test nlu --model "$work/models/relais.tar.gz" --nlu "$root/tests/nlu/heldout.yml" --out "$work/results"
python3 - "$work/results/intent_report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"Rasa held-out accuracy {report['accuracy']:.3f}  macro F1 {report['macro avg']['f1-score']:.3f}")
PY
