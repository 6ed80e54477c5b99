#!/bin/sh
# Installs ONNX Runtime for Node (npm package onnxruntime-node) into BUILD_DIR/onnxruntime-node,
# where test_onnx_export runs exported models with it (tests/export/run_onnx.mjs).
#
#   tests/export/install_onnxruntime.sh [BUILD_DIR]     (default: build/ beside this repo's tests/)
#
# Needs node and npm (Debian: apt-get install nodejs npm) and the npm registry, nothing else:
# the CPU binaries are inside the npm tarball. The package's postinstall script only fetches
# optional CUDA providers from NuGet, so it is skipped (--ignore-scripts). The other
# platforms' binaries in the tarball (about 250 MB) are removed after installing.
set -eu

VERSION=1.30.0
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
dir=$build/onnxruntime-node
module=$dir/node_modules/onnxruntime-node

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "install_onnxruntime.sh: $tool is missing; apt-get install nodejs npm" >&2; exit 1; }
done

if [ -f "$module/package.json" ] && [ "$(node -p "require('$module/package.json').version")" = "$VERSION" ]; then
    echo "onnxruntime-node $VERSION already in $dir"
    exit 0
fi

mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name": "nnlab-onnxruntime", "private": true}' > package.json
npm install --ignore-scripts --no-audit --no-fund --save-exact "onnxruntime-node@$VERSION"

platform=$(node -p "process.platform + '/' + process.arch")
for binaries in "$module"/bin/napi-v*; do
    for os in "$binaries"/*; do
        for arch in "$os"/*; do
            case "$arch" in */"$platform") ;; *) rm -rf "$arch" ;; esac
        done
    done
done

node -e "require('$module'); console.log('onnxruntime-node ' + require('$module/package.json').version + ' installed in $dir')"
