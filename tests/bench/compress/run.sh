#!/usr/bin/env bash
# The compression benchmark (issue 10's targets): trains the default run once, compresses it
# every way the issue names, measures the PyTorch eager-mode int8 models the same way, and
# prints one table side by side (tests/bench/compress/report.py).
#
#   tests/bench/compress/run.sh [BUILD_DIR]      (default: build)
# Environment: OUT (work folder, default /tmp/nnlab-bench-compress; emptied), CALLS (timed
# calls per batch size, default 50), SEEDS (distillation seeds, default "0 1 2").
# Needs nnlab-cli built and Debian's /usr/bin/python3 with python3-torch (1.13).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${1:-$ROOT/build}
CLI=$BUILD/app/cli/nnlab-cli
OUT=${OUT:-/tmp/nnlab-bench-compress}
CALLS=${CALLS:-50}
SEEDS=${SEEDS:-0 1 2}
PY=/usr/bin/python3
HERE=$ROOT/tests/bench/compress
[ -x "$CLI" ] || { echo "no $CLI: build nnlab-cli first" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"
DB=$OUT/runs.db
LOG=$OUT/log.txt
LABELS=$OUT/labels.txt
: > "$LABELS"

# The run id a command prints first ("run <id>"); its output goes to the log.
run_id() { tee -a "$LOG" | sed -n 's/^run \([0-9a-f-]*\).*/\1/p' | head -1; }
step() { echo "== $*" >&2; echo "== $*" >> "$LOG"; }

step "training the default run (resources/experiments/fashion-cnn.json)"
PARENT=$("$CLI" train "$ROOT/resources/experiments/fashion-cnn.json" --db "$DB" --quiet | run_id)
[ -n "$PARENT" ] || { echo "training printed no run id; see $LOG" >&2; exit 1; }
echo "parent $PARENT" >> "$LABELS"

compress() {
    local label=$1; shift
    step "compress: $label ($*)"
    local id
    id=$("$CLI" compress "$PARENT" "$@" --name "$label" --latency-calls "$CALLS" --db "$DB" 2>>"$LOG" | run_id)
    if [ -n "$id" ]; then echo "$label $id" >> "$LABELS"; else echo "  failed: see $LOG" >&2; fi
}
compress int8-static --quantize int8
compress int8-static-qnnpack --quantize int8 --engine qnnpack
compress int8-dynamic --quantize int8 --dynamic
compress structured-50+ft1 --prune 0.5 --structured --finetune-epochs 1
compress unpruned+ft1 --prune 0 --structured --finetune-epochs 1   # the equally trained reference
compress unstructured-80 --prune 0.8
compress unstructured-80+ft1 --prune 0.8 --finetune-epochs 1

# Distillation: the same small student alone and distilled from the parent, per seed.
if "$CLI" distill --help >/dev/null 2>&1; then
    for seed in $SEEDS; do
        step "student alone, seed $seed"
        id=$("$CLI" train "$HERE/fashion-student.json" --set seed="$seed" --db "$DB" --quiet | run_id)
        [ -n "$id" ] && echo "student-alone-s$seed $id" >> "$LABELS"
        step "student distilled (T=4, alpha=0.7), seed $seed"
        id=$("$CLI" distill --teacher "$PARENT" "$HERE/fashion-student.json" --alpha 0.7 --temperature 4 \
                 --set seed="$seed" --db "$DB" --quiet 2>>"$LOG" | run_id)
        [ -n "$id" ] && echo "student-distilled-s$seed $id" >> "$LABELS"
    done
else
    echo "  (nnlab-cli distill not available: no distillation rows)" >&2
fi

step "compare"
# shellcheck disable=SC2046
"$CLI" compare $(cut -d' ' -f2 "$LABELS") --format json --db "$DB" > "$OUT/compare.json" 2>>"$LOG"

step "PyTorch eager-mode int8 of the same weights"
"$CLI" export "$PARENT" --format safetensors --out "$OUT/parent.safetensors" --db "$DB" >> "$LOG"
"$PY" "$HERE/peer_int8.py" --weights "$OUT/parent.safetensors" --calls "$CALLS" | tee -a "$LOG" \
    | sed -n 's/^PEER_JSON //p' > "$OUT/peer.json"

"$PY" "$HERE/report.py" --labels "$LABELS" --compare "$OUT/compare.json" --peer "$OUT/peer.json" | tee "$OUT/table.txt"
