#!/bin/bash
# Runs every libFuzzer target (or the ones named) for SECONDS each, one at a time, and prints
# a table. Exits 1 on any finding (crash, timeout over 1 s, out-of-memory, sanitizer report),
# keeping the input in build-fuzz/findings/<target>/; 2 when a tool is missing.
#
#   tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 600 s, all targets)
#
# Builds build-fuzz (clang, NNLAB_FUZZ=ON; configured on first use), makes the seed corpora
# (make_corpus.sh) and keeps what the fuzzers find in build-fuzz/corpus/<target>/ between runs.
# Logs: build-fuzz/logs/<target>.log. Installs nothing: it says which package is missing.
# Replay a finding: build-fuzz/tests/fuzz/fuzz_<target> build-fuzz/findings/<target>/crash-...
# then fix it and add the input to tests/fuzz/regressions/<target>/ (test_fuzz_regressions).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-600}
shift || true
all=(experiment idx cifar csv safetensors model_interface predict_input image serve_request store_open store_import lab)
targets=("${@:-${all[@]}}")
build="$root/build-fuzz"

case "$seconds" in ''|*[!0-9]*) echo "run_fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "run_fuzz.sh: no target '$t'; targets: ${all[*]}" >&2; exit 2; }
done

# --- Tools (nothing is installed here) ---
missing=()
command -v clang >/dev/null && command -v clang++ >/dev/null || missing+=("clang")
command -v cmake >/dev/null || missing+=("cmake")
command -v ninja >/dev/null || missing+=("ninja-build")
[ -x /usr/bin/time ] || missing+=("time")
if command -v clang >/dev/null; then
  resource=$(clang -print-resource-dir)
  version=$(clang -dumpversion | cut -d. -f1)
  [ -f "$resource/lib/linux/libclang_rt.fuzzer-x86_64.a" ] || missing+=("libfuzzer-$version-dev")
  [ -f "$resource/lib/linux/libclang_rt.asan-x86_64.a" ] || missing+=("libclang-rt-$version-dev")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "run_fuzz.sh: missing packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 2
fi

# --- Build (the shared build lock: one build at a time on this machine) ---
lock=/tmp/nnlab-build.lock
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ flock "$lock" cmake -S "$root" -B "$build" -G Ninja -DNNLAB_FUZZ=ON \
    -DNNLAB_BUILD_GUI=OFF -DNNLAB_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build.configure.log" 2>&1 \
    || { cat "$build.configure.log" >&2; echo "run_fuzz.sh: configuring $build failed" >&2; exit 2; }
fi
flock "$lock" cmake --build "$build" -j2 >"$build/fuzz-build.log" 2>&1 \
  || { tail -40 "$build/fuzz-build.log" >&2; echo "run_fuzz.sh: building $build failed" >&2; exit 2; }
"$here/make_corpus.sh" "$build" >/dev/null || { echo "run_fuzz.sh: make_corpus.sh failed" >&2; exit 2; }

# --- Fuzz ---
scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp)/nnlab-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export NNLAB_FUZZ_TMP="$scratch"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}print_stacktrace=1:halt_on_error=1"
mkdir -p "$build/logs" "$build/corpus" "$build/findings"

rows=()
failed=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus"
  rm -rf "$findings" && mkdir -p "$findings"
  dict=()
  [ -f "$here/dicts/$t.dict" ] && dict=("-dict=$here/dicts/$t.dict")
  echo "fuzz_$t: ${seconds} s ..." >&2
  # libFuzzer's -timeout is wall-clock time. On a shared machine (and under nice) a process can
  # wait over a second for the CPU, so a timeout is replayed alone and counts only when the
  # input takes over 1 s of CPU time; otherwise it is set aside (findings/<t>/load-timeouts/)
  # and fuzzing resumes for the time left.
  : >"$log"
  start=$(date +%s)
  execs=0 rc=0 crashes=0 timeouts=0 loaded=0
  while :; do
    left=$(( seconds - ($(date +%s) - start) ))
    [ "$left" -gt 0 ] || break
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$left" -timeout=1 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" "$corpus" "$build/seeds/$t" \
      >>"$log" 2>&1
    rc=$?
    n=$(tail -n 400 "$log" | grep -oE 'stat::number_of_executed_units: +[0-9]+' | tail -1 | grep -oE '[0-9]+$')
    execs=$(( execs + ${n:-0} ))
    [ "$rc" -ne 0 ] || break
    crashes=$(find "$findings" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' \) | wc -l)
    [ "$crashes" -eq 0 ] || break
    replayed=0
    for f in $(find "$findings" -maxdepth 1 -name 'timeout-*'); do
      /usr/bin/time -f '%U %S' -o "$scratch/cpu" "$build/tests/fuzz/fuzz_$t" "$f" >/dev/null 2>&1
      cpu=$(tail -1 "$scratch/cpu" | awk '{printf "%d", ($1 + $2) * 1000}')
      if [ "${cpu:-0}" -gt 1000 ]; then
        timeouts=$(( timeouts + 1 ))
      else
        mkdir -p "$findings/load-timeouts" && mv "$f" "$findings/load-timeouts/"
        echo "fuzz_$t: a timeout that takes ${cpu} ms of CPU alone: machine load, resuming" | tee -a "$log" >&2
        loaded=$(( loaded + 1 )) replayed=1
      fi
    done
    [ "$timeouts" -eq 0 ] && [ "$replayed" -eq 1 ] || break
    rc=0
  done
  elapsed=$(( $(date +%s) - start ))
  rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
  corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
  crashes=$(find "$findings" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' \) | wc -l)
  reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:|fuzz invariant broken' "$log")
  status=ok
  if [ "$crashes" -gt 0 ] || [ "$timeouts" -gt 0 ] || [ "$reports" -gt 0 ] || [ "$rc" -ne 0 ]; then
    status="FAILED (rc $rc, see $log)"
    failed=1
  fi
  rows+=("$(printf '%-16s %7s %12s %8s %7s %7s %8s %9s %6s  %s' "$t" "$elapsed" "$execs" "$rate" \
    "${corp:-?}" "$crashes" "$timeouts" "$reports" "$loaded" "$status")")
done

printf '\n%-16s %7s %12s %8s %7s %7s %8s %9s %6s  %s\n' target seconds executions exec/s corpus crashes timeouts sanitizer load-t status
for r in "${rows[@]}"; do echo "$r"; done
[ "$failed" -eq 0 ] || echo "findings kept in $build/findings/<target>/" >&2
exit "$failed"
