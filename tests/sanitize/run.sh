#!/usr/bin/env bash
# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, threaded tests under
# ThreadSanitizer, each in its own build folder (build-asan, build-tsan beside build/).
#
#   tests/sanitize/run.sh [asan|tsan|all] [--full]
#
# The default is the CI subset (installer/setup.sh test runs it): the tests below that fit the
# ~25 minutes CI has for sanitizers on a cold 2-core machine. --full runs every unit and GUI
# test under ASan+UBSan and every threaded test under TSan (about an hour more; see README.md
# "Tests"). Only the targets a mode runs are built. A table of what ran, how long it took and
# its result ends the output; the exit status is non-zero if any build or test failed.
#
# Environment: NNLAB_JOBS (default: all cores), SANITIZE_BUILD_ROOT (default: the checkout),
# NNLAB_BUILD_LOCK (default /tmp/nnlab-build.lock: every build step holds it, a few objects at
# a time, so other builds on a shared machine get their turn).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jobs="${NNLAB_JOBS:-$(nproc)}"
lock="${NNLAB_BUILD_LOCK:-/tmp/nnlab-build.lock}"
buildRoot="${SANITIZE_BUILD_ROOT:-$root}"
chunk=$((jobs * 3))   # objects compiled per hold of the build lock

which="all"; full=0
for a in "$@"; do
  case "$a" in
    asan|tsan|all) which="$a" ;;
    --full) full=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$a' (expected asan, tsan, all or --full)" >&2; exit 2 ;;
  esac
done

# --- What runs ---------------------------------------------------------------------------------
# ASan+UBSan, CI: every in-process unit test of the engine (spec, data, store, training, export,
# serve). Not in CI: the nnlab-cli tests (they need a sanitized nnlab-cli and run it as child
# processes, ~3x slower), the GUI tests (they need every ui/ library built again) and the slow
# label; --full adds them.
asanCi=(
  test_spec_json test_schedule test_build_plan test_model_info
  test_data_synthetic test_data_binary test_data_csv test_data_loaders
  test_store_schema test_store_runs test_store_recorder test_store_crash test_store_sqlite
  test_trainer test_train_loop test_fused_ops test_fused_conv test_fused_layers
  test_optim_equivalence test_tuning_cache test_data_cache
  test_sweep test_monitors test_lr_finder test_preflight
  test_trained_model test_onnx_export test_pytorch_export
  test_serve test_serve_bad_requests test_serve_monitors
)
asanFullExtra=(
  test_lr_suggestion
  test_cli test_cli_kill test_cli_monitors test_cli_lr_find test_cli_check test_cli_sweep test_cli_predict
  test_charts_series test_charts_panel test_charts_alerts test_runs_panel test_runs_compare test_sweep_view
  test_editor_model test_editor_diagram test_editor_data test_editor_hyperparameters test_editor_monitors
  test_lr_finder_dialog test_preflight_dialog
  test_workbench test_workbench_alerts test_deployments
)
# TSan, CI: the tests whose code runs threads of its own: the trainer and its loop, the sweep's
# parallel trials, the store's writer thread, the serve batcher/listener/monitor threads, and
# the GUI's TrainingController/TrainingWorker pair (tests/sanitize/test_training_controller).
tsanCi=(
  test_trainer test_train_loop test_sweep test_store_recorder
  test_serve test_serve_bad_requests test_serve_monitors
  test_training_controller
)
# --full adds the other tests with threads: a killed store writer, the GUI's data preview,
# learning-rate finder and pre-flight worker threads, the whole workbench, and the charts'
# two-thread curve regeneration and store loader thread.
tsanFullExtra=(
  test_store_crash test_lr_finder test_preflight
  test_editor_data test_lr_finder_dialog test_preflight_dialog
  test_workbench test_workbench_alerts
  test_charts_series test_charts_panel
)

# Targets a test needs besides its own executable (child processes it starts).
extraTargets() {
  case "$1" in
    test_store_crash) echo store_crash_helper ;;
    test_cli*|test_deployments) echo nnlab-cli ;;
  esac
}

# --- Helpers -------------------------------------------------------------------------------------
results=()   # "sanitizer|test|result|seconds"
failed=0

locked() { flock "$lock" "$@"; }

configure() {   # dir sanitizers [extra cmake args...]
  local dir="$1" san="$2"; shift 2
  mkdir -p "$dir"
  # -O1: a sanitizer build at -O2 compiles slower and reports no more; -g1 keeps file:line in
  # reports at a fraction of full debug info's size. Debug keeps assertions on.
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DNNLAB_SANITIZE="$san" -DNNLAB_BUILD_GUI=ON \
    -DNNLAB_BUILD_TESTS=ON "$@" >"$dir/sanitize-configure.log" 2>&1 \
    || { cat "$dir/sanitize-configure.log" >&2; return 1; }
}

# Builds the targets a few objects at a time, each step under the shared build lock.
build() {   # dir targets...
  local dir="$1"; shift
  local objs=()
  mapfile -t objs < <(ninja -C "$dir" -n "$@" 2>/dev/null | sed -n 's/.*Building CXX object \(.*\.o\)$/\1/p')
  local i
  for ((i = 0; i < ${#objs[@]}; i += chunk)); do
    locked cmake --build "$dir" -j "$jobs" --target "${objs[@]:i:chunk}" || return 1
  done
  locked cmake --build "$dir" -j "$jobs" --target "$@"
}

# Runs the tests through CTest and appends one row per test to results.
runTests() {   # label dir tests...
  local label="$1" dir="$2"; shift 2
  local regex; regex="^($(IFS='|'; echo "$*"))\$"
  local log="$dir/sanitize-ctest.log"
  local prefix=()
  # TSan needs a fixed memory layout; kernels with more mmap randomization than it knows break it.
  if [[ "$label" == tsan && "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]]; then
    prefix=(setarch "$(uname -m)" -R)
  fi
  (cd "$dir" && "${prefix[@]}" ctest -R "$regex" --output-on-failure -j "$jobs") 2>&1 | tee "$log"
  local ran=0 line name result secs
  while IFS= read -r line; do
    [[ "$line" =~ Test\ +#[0-9]+:\ ([A-Za-z0-9_]+)\ \.+[\ *]*([A-Za-z][A-Za-z \(\)_-]*[A-Za-z\)])\ +([0-9.]+)\ sec ]] || continue
    name="${BASH_REMATCH[1]}"; result="${BASH_REMATCH[2]}"; secs="${BASH_REMATCH[3]}"
    results+=("$label|$name|$result|$secs"); ran=$((ran + 1))
    [[ "$result" == Passed ]] || failed=1
  done <"$log"
  if ((ran != $#)); then
    echo "run.sh: $label: $ran of $# tests reported a result (see $log)" >&2
    failed=1
  fi
}

phase() {   # label sanitizers test...
  local label="$1" san="$2"; shift 2
  local dir="$buildRoot/build-$label"
  local tests=("$@") targets=("$@") t e
  for t in "${tests[@]}"; do
    for e in $(extraTargets "$t"); do
      [[ " ${targets[*]} " == *" $e "* ]] || targets+=("$e")
    done
  done
  echo "== $label: configuring $dir" >&2
  local t0=$SECONDS
  local flags=()
  [[ "$san" == *undefined* ]] && flags=(-DCMAKE_CXX_FLAGS=-fno-sanitize-recover=all)
  if ! configure "$dir" "$san" "${flags[@]}"; then
    results+=("$label|(configure)|Failed|0"); failed=1; return
  fi
  echo "== $label: building ${#targets[@]} targets" >&2
  if ! build "$dir" "${targets[@]}"; then
    results+=("$label|(build)|Failed|$((SECONDS - t0))"); failed=1; return
  fi
  results+=("$label|(build)|done|$((SECONDS - t0))")
  local t1=$SECONDS
  runTests "$label" "$dir" "${tests[@]}"
  results+=("$label|(tests, wall)|done|$((SECONDS - t1))")
}

# The whole file is read before anything runs (main is called on the last line), so editing
# this script while it runs cannot change what the running copy does.
main() {
  # --- Sanitizer settings --------------------------------------------------------------------------
  # UBSan: a report fails the test (the build also has -fno-sanitize-recover=all).
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$here/ubsan.supp"
  # LeakSanitizer stays on: LibTorch's and Qt's process-lifetime caches are suppressed by library
  # in lsan.supp; a leak whose allocation stack has no frame in those libraries still fails.
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1"
  export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
  export TSAN_OPTIONS="suppressions=$here/tsan.supp:halt_on_error=1:second_deadlock_stack=1:print_suppressions=0"

  if [[ "$which" == asan || "$which" == all ]]; then
    tests=("${asanCi[@]}"); ((full)) && tests+=("${asanFullExtra[@]}")
    phase asan address,undefined "${tests[@]}"
  fi
  if [[ "$which" == tsan || "$which" == all ]]; then
    tests=("${tsanCi[@]}"); ((full)) && tests+=("${tsanFullExtra[@]}")
    # GCC's libgomp is not instrumented: TSan cannot see its fork/join barriers, so the
    # parallel regions of LibTorch and of nnlab's own at::parallel_for kernels would all look
    # like races. OMP_THREAD_LIMIT=1 caps every team at one thread (even after the tuner's
    # at::set_num_threads(2)), so those regions run inline on the calling thread. nnlab's own
    # threads (trainer callbacks, store writer, serve, sweep trials, Qt workers) are unchanged;
    # what this leaves unchecked is the kernels' split across OpenMP threads.
    OMP_NUM_THREADS=1 OMP_THREAD_LIMIT=1 phase tsan thread "${tests[@]}"
  fi

  # --- Report --------------------------------------------------------------------------------------
  echo
  printf '%-5s  %-30s  %-12s  %8s\n' sanit test result seconds
  for r in "${results[@]}"; do
    IFS='|' read -r l n res s <<<"$r"
    printf '%-5s  %-30s  %-12s  %8s\n' "$l" "$n" "$res" "$s"
  done
  ((failed)) && { echo "sanitizers: FAILED" >&2; exit 1; }
  echo "sanitizers: all passed"
}

main
