#!/usr/bin/env bash
# nnlab set-up on Debian 12: installs the missing Debian packages, configures and builds,
# then runs the main job (`run`), the test suite (`test`) or nothing (`build`).
#
#   installer/setup.sh run     # the GUI on the default experiment (CLI training without a display)
#   installer/setup.sh test    # the whole test suite through CTest
#   installer/setup.sh build   # just install and build
#
# Environment: BUILD_DIR (default ./build), NNLAB_JOBS (default: all cores).
set -euo pipefail

mode="${1:-run}"
case "$mode" in run|test|build) ;; *) echo "usage: installer/setup.sh run|test|build" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
jobs="${NNLAB_JOBS:-$(nproc)}"

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-svg-dev libgl1-mesa-dev
  libtorch-dev libopenblas0-pthread
  libqcustomplot-dev libsqlite3-dev nlohmann-json3-dev zlib1g-dev
  libonnx-dev libprotobuf-dev libcpp-httplib-dev libssl-dev libbrotli-dev libstb-dev libturbojpeg0-dev libgloo-dev
  dataset-fashion-mnist
)
if [[ "$mode" == test ]]; then
  # The Slurm job-array test starts a one-node Slurm from these (tests/slurm/start_local_slurm.sh).
  packages+=(slurm-wlm munge)
  # Exports checked by runtimes nnlab did not write: PyTorch, onnx.checker, OpenCV's DNN module
  # (and ONNX Runtime from npm, below).
  packages+=(python3-torch python3-onnx python3-opencv)
  # The .deb installed in a clean bookworm chroot (installer/test_deb.sh).
  packages+=(debootstrap dpkg-dev desktop-file-utils appstream man-db)
  # The kill soak checks each store with the sqlite3 shell (tests/faults/kill_soak.sh).
  packages+=(sqlite3)
  # libFuzzer targets (tests/fuzz/run_fuzz.sh): clang with its fuzzer and sanitizer runtimes.
  packages+=(clang libfuzzer-14-dev libclang-rt-14-dev time)
  # Node.js for ONNX Runtime; a Node.js from elsewhere (with its own npm) is kept.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "nnlab: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"

case "$mode" in
  build) ;;
  test)
    "$root/tests/export/install_onnxruntime.sh" "$build"
    cd "$build"
    ctest --output-on-failure --timeout 900 -j "$jobs" -LE bench
    # The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer and the threaded
    # ones under ThreadSanitizer (the subset CI runs: tests/sanitize/run.sh --full for all),
    # then every fuzz target for 60 s.
    "$root/tests/sanitize/run.sh" all
    "$root/tests/fuzz/run_fuzz.sh" 60
    ;;
  run)
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/app/gui/nnlab" ]; then
      exec "$build/app/gui/nnlab"
    fi
    exec "$build/app/cli/nnlab-cli" train "$root/resources/experiments/fashion-cnn.json"
    ;;
esac
