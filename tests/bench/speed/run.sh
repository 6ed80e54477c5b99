#!/usr/bin/env bash
# nnlab's speed benchmark in one command: installs python3-torch when missing, builds
# bench_speed (and bench_gui, bench_charts, bench_store where they are targets), runs it.
# Arguments go to bench_speed (--help lists them). Environment: BUILD_DIR (default ./build),
# NNLAB_BUILD_LOCK (a file to flock around the build, for trees several people build in).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
build="${BUILD_DIR:-$root/build}"
# Debian's interpreter: python3-torch installs for it, and a pyenv or venv python3 earlier
# on PATH would not see it.
python=/usr/bin/python3

if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  echo "bench: installing python3-torch (the same 1.13.1 build as libtorch-dev)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch python3-numpy
fi

build_targets() {
  if [ -n "${NNLAB_BUILD_LOCK:-}" ]; then
    flock "$NNLAB_BUILD_LOCK" cmake --build "$build" --target "$@"
  else
    cmake --build "$build" --target "$@"
  fi
}

[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
build_targets bench_speed
for companion in bench_gui bench_charts bench_store; do
  # Optional: absent without the GUI or before their authors add them; bench_speed says so.
  build_targets "$companion" >/dev/null 2>&1 || echo "bench: $companion not built" >&2
done
exec "$build/tests/bench/bench_speed" --python "$python" "$@"
