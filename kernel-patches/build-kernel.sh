#!/bin/bash
# Build a bzImage of upstream Linux 6.12.95 with the CRIB kfunc series applied.
#
# usage: build-kernel.sh [-j N]
#   Fetches the source if missing (fetch-linux.sh), applies kernel-patches/series
#   with `git am` on a clean copy, configures tinyconfig + config-fragment, builds
#   bzImage, and caches bzImage, vmlinux and .config OUTSIDE the work tree in
#   $CRIB_KERNEL_CACHE (default /var/cache/crib-kernel)/<key>/, where <key> is the
#   sha256 of the patch files, series, and config fragment, together with the
#   patched tree's tools/testing/selftests/bpf (what kernel-patches/tests builds
#   from). A cache hit builds nothing (an entry without the selftests gets them
#   from a patched tree, fetched and patched if needed).
#   The last line on stdout is the bzImage path.
#
# Environment: CRIB_KERNEL_CACHE, JOBS (default 2: the machine is shared).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
jobs="${JOBS:-2}"
[ "${1:-}" = "-j" ] && jobs="$2"
cache_root="${CRIB_KERNEL_CACHE:-/var/cache/crib-kernel}"
kdir="$root/build/kernel"

log() { echo "build-kernel: $*" >&2; }
# shellcheck source=kernel-patches/tree.sh
. "$here/tree.sh"

key="$(cd "$here" && { cat series; for p in $(grep -v '^#' series); do cat "$p"; done; cat config-fragment; } | sha256sum | cut -c1-16)"
out="$cache_root/$key"
# One persistent work tree + object dir, so a changed series rebuilds incrementally.
src="$kdir/work"
obj="$kdir/obj"

# The pristine source (tree.sh) with the series applied in $src.
prepare_tree() {
	local p
	reset_tree "$src"
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		log "applying $p"
		git -C "$src" -c user.name="CRIB developers" -c user.email=crib@example.invalid \
			am -q --keep-cr "$here/$p"
	done < "$here/series"
}

if [ -f "$out/bzImage" ] && [ -f "$out/vmlinux" ]; then
	log "cache hit: $out"
	if [ ! -d "$out/selftests-bpf" ]; then
		log "adding the series' selftests to the cache entry"
		prepare_tree
		cp -a "$src/tools/testing/selftests/bpf" "$out/selftests-bpf.tmp"
		mv "$out/selftests-bpf.tmp" "$out/selftests-bpf"
	fi
	echo "$out/bzImage"
	exit 0
fi

for t in gcc make flex bison bc pahole; do
	command -v "$t" >/dev/null || { log "missing tool $t (apt-get install build-essential flex bison bc dwarves libelf-dev libssl-dev)"; exit 1; }
done

prepare_tree

mkdir -p "$obj"
log "configuring (tinyconfig + config-fragment)"
make -s -C "$src" O="$obj" tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$here/config-fragment" >/dev/null
make -s -C "$src" O="$obj" olddefconfig >/dev/null
missing=0
while read -r line; do
	case "$line" in CONFIG_*=y) ;; *) continue ;; esac
	if ! grep -qx "$line" "$obj/.config"; then
		log "option dropped by olddefconfig: $line"
		missing=1
	fi
done < "$here/config-fragment"
[ "$missing" = 0 ] || { log "fix config-fragment (an option's dependencies are off)"; exit 1; }

log "building bzImage with -j$jobs"
start=$(date +%s)
make -s -C "$src" O="$obj" -j"$jobs" bzImage >&2
log "built in $(( $(date +%s) - start )) s"

mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/vmlinux" "$obj/.config" "$out.tmp/"
cp "$here/series" "$out.tmp/series"
cp -a "$src/tools/testing/selftests/bpf" "$out.tmp/selftests-bpf"
rm -rf "$out"
mv "$out.tmp" "$out"
log "cached in $out"
echo "$out/bzImage"
