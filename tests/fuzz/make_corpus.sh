#!/bin/bash
# Makes the fuzz targets' seed corpora in BUILD_DIR/seeds/<target>/ (default build-fuzz):
#   - experiment: the shipped examples (resources/experiments), also behind --set overrides;
#   - the rest: nnlab_fuzz_seeds (made by the fuzz build), which writes files in each target's
#     input layout with the libraries themselves: IDX slices of Fashion-MNIST
#     (/usr/share/datasets/fashion-mnist, synthetic without it), CIFAR records, CSV tables,
#     safetensors, interfaces, predict inputs, images, request bodies and run stores;
#   - every target: its static seeds (tests/fuzz/seeds/<target>) and its regression inputs
#     (tests/fuzz/regressions/<target>), so past findings stay covered.
# The seeds are remade each time; what the fuzzers find goes to BUILD_DIR/corpus instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-fuzz}
seeds="$build/seeds"
generator="$build/tests/fuzz/nnlab_fuzz_seeds"
[ -x "$generator" ] || { echo "make_corpus.sh: $generator is not built (run run_fuzz.sh, or build $build)" >&2; exit 1; }

rm -rf "$seeds"
mkdir -p "$seeds/experiment"
for f in "$root"/resources/experiments/*.json; do
  name=$(basename "$f" .json)
  cp "$f" "$seeds/experiment/$name.json"
  { echo "//set training.epochs=2"; echo "//set optimizer.lr=0.5"; cat "$f"; } \
    > "$seeds/experiment/$name.set.json"
done

mkdir -p "$seeds/lab"
for f in "$root"/resources/labs/*.json; do
  cp "$f" "$seeds/lab/$(basename "$f")"
done

fashion=/usr/share/datasets/fashion-mnist
[ -d "$fashion" ] || fashion=""
ASAN_OPTIONS=detect_leaks=0 "$generator" "$seeds" $fashion

for dir in "$here"/seeds/* "$here"/regressions/*; do
  [ -d "$dir" ] || continue
  target=$(basename "$dir")
  mkdir -p "$seeds/$target"
  find "$dir" -maxdepth 1 -type f ! -name '*.md' -exec cp {} "$seeds/$target/" \;
done

for dir in "$seeds"/*/; do
  printf '%-16s %4d seeds %8d bytes\n' "$(basename "$dir")" "$(find "$dir" -type f | wc -l)" \
    "$(find "$dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
done
