#!/usr/bin/env bash
# Builds nnlab's .deb with CPack and proves it installs and runs on a clean Debian 12:
# a minbase bookworm chroot made by debootstrap gets the package through
# `apt-get install ./nnlab_*.deb` (so its Depends resolve from the Debian mirror), then
# nnlab-cli trains an installed example and lists the run, the GUI starts offscreen, and the
# manual page, the .desktop entry and the AppStream metainfo are checked with Debian's tools.
#
#   installer/test_deb.sh [--build DIR]      # DIR: a built CMake tree (default ./build)
#
# Needs root, debootstrap and Debian's mirror (MIRROR, default http://deb.debian.org/debian).
# Exits 77 (CTest's skip code) with the reason when not root or debootstrap is missing,
# non-zero with a message on any failure. The debootstrap result is cached as
# DIR/deb-chroot-cache/bookworm-minbase.tgz and downloaded packages in
# DIR/deb-chroot-cache/apt-archives, so a second run downloads nothing.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root_dir/build"
while (($#)); do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test_deb: unknown argument '$1' (usage: test_deb.sh [--build DIR])" >&2; exit 2 ;;
  esac
done
mirror="${MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
cpack="${CPACK:-cpack}"
cache="$build/deb-chroot-cache"
base_tgz="$cache/$suite-minbase.tgz"
apt_cache="$cache/apt-archives"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: test_deb needs root (debootstrap, chroot and mounts)"; exit 77
fi
if ! command -v debootstrap >/dev/null; then
  echo "SKIP: debootstrap is not installed (apt-get install debootstrap)"; exit 77
fi
for tool in "$cpack" dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (packages cmake, dpkg-dev)" >&2; exit 1; }
done
[ -f "$build/CPackConfig.cmake" ] || { echo "FAIL: $build is not a configured nnlab build (no CPackConfig.cmake)" >&2; exit 1; }

# --- stages, timings, failure -------------------------------------------------------------
declare -a timings=()
stage_name="" stage_start=0
now() { date +%s.%N; }
stage() {   # stage "name": ends the previous stage (with its time) and starts the next
  stage_end
  stage_name="$1" stage_start="$(now)"
  echo "== $stage_name"
}
stage_end() {
  [ -n "$stage_name" ] || return 0
  local took; took="$(awk -v a="$stage_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
  timings+=("$(printf '%-58s %8s s' "$stage_name" "$took")")
  echo "   done in $took s"
  stage_name=""
}
fail() { echo "FAIL [$stage_name]: $*" >&2; exit 1; }

# --- the chroot and its mounts, always undone -----------------------------------------------
chroot_dir=""
mounted=()
cleanup() {
  local status=$?
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null \
      || echo "test_deb: could not unmount ${mounted[i]}" >&2
  done
  if [ -n "$chroot_dir" ] && [ -d "$chroot_dir" ]; then
    # Never delete through a mount that is still there (the host's /dev, the apt cache).
    if grep -q " $chroot_dir/" /proc/mounts; then
      echo "test_deb: mounts remain under $chroot_dir; left in place" >&2
    else
      local start; start="$(now)"
      rm -rf --one-file-system "$chroot_dir"
      echo "   chroot removed in $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_in() {   # mount_in TARGET mount-args...: mounts under the chroot, remembered for cleanup
  local target="$chroot_dir$1"; shift
  mkdir -p "$target"
  mount "$@" "$target" || fail "cannot mount $target"
  mounted+=("$target")
}
in_chroot() {
  chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

total_start="$(now)"

# --- 1. the package ---------------------------------------------------------------------------
stage "cpack: build the .deb"
rm -f "$build"/nnlab_*.deb
(cd "$build" && "$cpack" -G DEB) > "$build/cpack.log" 2>&1 \
  || { tail -30 "$build/cpack.log" >&2; fail "cpack failed (log: $build/cpack.log)"; }
debs=("$build"/nnlab_*.deb)
[ -f "${debs[0]}" ] && [ ${#debs[@]} -eq 1 ] || fail "expected one nnlab_*.deb in $build, found: ${debs[*]}"
deb="${debs[0]}"
echo "   $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
dpkg-deb -f "$deb" | sed 's/^/   /'
contents="$(dpkg-deb -c "$deb")"
# A build without the GUI (NNLAB_BUILD_GUI=OFF) packages no window, launcher or metainfo.
with_gui=0
if grep -q " ./usr/bin/nnlab\$" <<<"$contents"; then with_gui=1; fi
expected=(./usr/bin/nnlab-cli ./usr/share/man/man1/nnlab-cli.1.gz ./usr/share/nnlab/experiments/spiral-mlp.json)
needs=(libopenblas0-pthread libtorch libsqlite3-0)
if ((with_gui)); then
  expected+=(./usr/bin/nnlab ./usr/share/applications/nnlab.desktop
             ./usr/share/icons/hicolor/scalable/apps/nnlab.svg ./usr/share/metainfo/org.nnlab.nnlab.metainfo.xml)
  needs+=(libqt6widgets6)
fi
for path in "${expected[@]}"; do
  grep -q " $path\$" <<<"$contents" || fail "the package lacks $path"
done
# The window's training engine, a module it loads in the background (lib/.../nnlab/).
if ((with_gui)); then
  grep -q " ./usr/lib/.*nnlab/libnnlab_torch_engine.so\$" <<<"$contents" \
    || fail "the package lacks the GUI's training engine libnnlab_torch_engine.so"
fi
depends="$(dpkg-deb -f "$deb" Depends)"
for need in "${needs[@]}"; do
  [[ "$depends" == *"$need"* ]] || fail "Depends lacks $need: $depends"
done
[[ "$(dpkg-deb -f "$deb" Recommends)" == *dataset-fashion-mnist* ]] || fail "Recommends lacks dataset-fashion-mnist"
echo "   $(grep -c '^-' <<<"$contents") files; GUI: $( ((with_gui)) && echo yes || echo no)"

# --- 2. a clean Debian 12 -------------------------------------------------------------------
mkdir -p "$cache" "$apt_cache"
if [ ! -s "$base_tgz" ]; then
  stage "debootstrap $suite minbase (cached afterwards)"
  work="$(mktemp -d "$cache/debootstrap.XXXXXX")"
  debootstrap --variant=minbase "$suite" "$work" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; rm -rf --one-file-system "$work"; fail "debootstrap failed (log: $cache/debootstrap.log)"; }
  rm -f "$work"/var/cache/apt/archives/*.deb
  tar -C "$work" --numeric-owner -czf "$base_tgz.tmp" . && mv "$base_tgz.tmp" "$base_tgz" \
    || { rm -rf --one-file-system "$work"; fail "cannot write $base_tgz"; }
  rm -rf --one-file-system "$work"
  echo "   cached $(basename "$base_tgz"): $(du -k "$base_tgz" | cut -f1) KiB"
fi

stage "unpack the cached chroot"
chroot_dir="$(mktemp -d "${TMPDIR:-/var/tmp}/nnlab-deb-test.XXXXXX")"
tar -C "$chroot_dir" --numeric-owner -xzf "$base_tgz" || fail "cannot unpack $base_tgz"
cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
# A throw-away root: dpkg need not fsync every file it unpacks (as in Debian's own images).
echo force-unsafe-io > "$chroot_dir/etc/dpkg/dpkg.cfg.d/nnlab-test-unsafe-io"
mount_in /proc -t proc proc
mount_in /dev --bind /dev
mount_in /var/cache/apt/archives --bind "$apt_cache"
cp "$deb" "$chroot_dir/tmp/"

# --- 3. install ------------------------------------------------------------------------------
# Without Recommends first: the checks below then prove that Depends alone make both programs
# work (the recommends of Qt, LibTorch and OpenCV would otherwise hide a missing library).
stage "apt-get install ./$(basename "$deb") in the chroot"
in_chroot apt-get update -q > "$cache/apt.log" 2>&1 \
  || { tail -20 "$cache/apt.log" >&2; fail "apt-get update failed in the chroot (mirror $mirror)"; }
in_chroot apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" >> "$cache/apt.log" 2>&1 \
  || { tail -30 "$cache/apt.log" >&2; fail "apt-get install of the package failed (log: $cache/apt.log)"; }
in_chroot dpkg-query -W -f='${Status}\n' nnlab | grep -q "install ok installed" || fail "nnlab is not installed"
echo "   $(grep -c '^Setting up' "$cache/apt.log") packages set up; $(du -sk "$apt_cache" | cut -f1) KiB in the apt cache"

# --- 4. the installed programs ----------------------------------------------------------------
stage "installed programs: libraries, version, BLAS"
programs=/usr/bin/nnlab-cli
if ((with_gui)); then programs+=" /usr/bin/nnlab"; fi
missing="$(in_chroot sh -c "ldd $programs" | grep 'not found' || true)"
[ -z "$missing" ] || fail "libraries not found after installing the Depends:"$'\n'"$missing"
version="$(in_chroot nnlab-cli version)" || fail "nnlab-cli version failed"
echo "   $version"
[[ "$version" == "nnlab $(dpkg-deb -f "$deb" Version)"* ]] || fail "nnlab-cli version says '$version'"
blas="$(in_chroot readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
echo "   libblas.so.3 -> $blas"
[[ "$blas" == *openblas* ]] || fail "libblas.so.3 is not OpenBLAS but $blas (matrix products ~10x slower)"

stage "nnlab-cli train an installed example"
in_chroot nnlab-cli train /usr/share/nnlab/experiments/spiral-mlp.json --epochs 1 --quiet --db /tmp/t.db \
  || fail "nnlab-cli train failed"
runs="$(in_chroot nnlab-cli runs list --db /tmp/t.db)" || fail "nnlab-cli runs list failed"
echo "$runs" | sed 's/^/   /'
[ "$(grep -c ' finished ' <<<"$runs")" -eq 1 ] && [ "$(wc -l <<<"$runs")" -eq 2 ] \
  || fail "runs list should show exactly one finished run"

if ((with_gui)); then
stage "the GUI starts (offscreen)"
gui="$(in_chroot env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp timeout 120 \
         nnlab --quit-after-shown --db /tmp/gui.db 2>&1)" || { echo "$gui" >&2; fail "nnlab did not start"; }
grep -q '^shown ' <<<"$gui" || { echo "$gui" >&2; fail "nnlab did not report its window"; }
grep -q '^training engine loaded' <<<"$gui" || { echo "$gui" >&2; fail "nnlab did not load its training engine"; }
echo "   $(grep '^shown ' <<<"$gui"); $(grep '^training engine' <<<"$gui")"
stage "the GUI trains an installed example (offscreen)"
gui="$(in_chroot env QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp timeout 300 nnlab --train --quit-after-train \
         --db /tmp/gui.db /usr/share/nnlab/experiments/spiral-mlp.json 2>&1)" \
  || { echo "$gui" >&2; fail "nnlab --train did not finish a run"; }
echo "   $(grep '^trained ' <<<"$gui")"
fi

stage "the Recommends, then the default experiment"
recommends="$(dpkg-deb -f "$deb" Recommends | tr -d ',')"
# shellcheck disable=SC2086  # one word per package
in_chroot apt-get install -y -q $recommends >> "$cache/apt.log" 2>&1 \
  || { tail -20 "$cache/apt.log" >&2; fail "cannot install the Recommends: $recommends"; }
in_chroot nnlab-cli train --epochs 1 --set data.train_limit=1000 --quiet --db /tmp/t.db \
  || fail "nnlab-cli train (the default experiment, Fashion-MNIST) failed"
[ "$(in_chroot nnlab-cli runs list --status finished --db /tmp/t.db | grep -c fashion-cnn)" -eq 1 ] \
  || fail "the default experiment's run is not listed as finished"

# The checkers come after the package and its run, so they cannot supply a library it forgot.
stage "manual page, .desktop, metainfo"
in_chroot apt-get install -y -q --no-install-recommends man-db desktop-file-utils appstream \
  >> "$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log" >&2; fail "cannot install the checkers"; }
in_chroot man -w nnlab-cli | grep -q '/usr/share/man/man1/nnlab-cli.1.gz' || fail "man -w nnlab-cli finds no page"
manwarn="$(in_chroot sh -c 'MANWIDTH=80 man --warnings nnlab-cli 2>&1 >/dev/null')"
[ -z "$manwarn" ] || fail "the manual page formats with warnings:"$'\n'"$manwarn"
if ((with_gui)); then
  in_chroot desktop-file-validate /usr/share/applications/nnlab.desktop || fail "desktop-file-validate"
  in_chroot appstreamcli validate --no-net /usr/share/metainfo/org.nnlab.nnlab.metainfo.xml \
    || fail "appstreamcli validate"
  echo "   nnlab.desktop and org.nnlab.nnlab.metainfo.xml validate"
fi
examples="$(in_chroot sh -c 'ls /usr/share/nnlab/experiments/*.json | wc -l')"
echo "   $examples example experiments in /usr/share/nnlab/experiments"

stage_end
echo
echo "== timings"
printf '   %s\n' "${timings[@]}"
printf '   %-58s %8s s\n' total "$(awk -v a="$total_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
echo "PASS: $(basename "$deb") installs and runs on a clean Debian 12"
