#!/bin/bash
# mkinitramfs.sh KERNEL_DIR
#
# Build KERNEL_DIR/initramfs.cpio.gz (newc) for run-in-vm.sh: a static busybox
# (Debian's busybox-static), the kernel package's own 9p/virtio modules with
# their dependencies in load order (read from modules.dep, decompressed so a
# plain insmod loads them) and the guest init scripts (guest-init.sh,
# guest-stage2.sh). KERNEL_DIR is a directory made by fetch-kernel.sh.
# Rebuilt only when missing or older than one of its inputs; prints its path.
set -euo pipefail

die() { echo "mkinitramfs: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 KERNEL_DIR"
kdir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[ -r "$kdir/kernel.env" ] || die "$kdir/kernel.env missing (run fetch-kernel.sh)"
# shellcheck disable=SC1091
. "$kdir/kernel.env"
out=$kdir/initramfs.cpio.gz
moddir=$kdir/$MODULES

# modules to load, in this order; their dependencies come first
WANT_MODULES=${WANT_MODULES:-"virtio_pci 9pnet_virtio 9p"}

inputs=("$here/mkinitramfs.sh" "$here/guest-init.sh" "$here/guest-stage2.sh" "$kdir/kernel.env")
if [ -s "$out" ]; then
	fresh=1
	for f in "${inputs[@]}"; do [ "$f" -nt "$out" ] && fresh=0; done
	[ $fresh = 1 ] && { echo "$out"; exit 0; }
fi

# ---- busybox (static) ------------------------------------------------------
busybox=${BUSYBOX:-/bin/busybox}
is_static() { [ -x "$1" ] && ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }
if ! is_static "$busybox"; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "mkinitramfs: installing busybox-static" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >&2 ||
			die "apt-get install busybox-static failed"
	fi
	is_static "$busybox" || die "$busybox is not a static busybox (apt-get install busybox-static)"
fi
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

# ---- modules in dependency order -------------------------------------------
[ -s "$moddir/modules.dep" ] || die "$moddir/modules.dep missing"
declare -A seen=()
order=()
# path of module NAME (relative to moddir) from modules.dep, or "" when built in
modpath() {
	local n=$1 alt=${1//-/_} alt2=${1//_/-}
	awk -F: -v a="$n" -v b="$alt" -v c="$alt2" '
		{ p = $1; sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p)
		  if (p == a || p == b || p == c) { print $1; exit } }' "$moddir/modules.dep"
}
visit() {
	local path=$1 dep
	[ -n "${seen[$path]:-}" ] && return 0
	seen[$path]=1
	# modules.dep lists the whole closure; visiting each entry first orders them
	for dep in $(awk -F: -v p="$path" '$1 == p { print $2; exit }' "$moddir/modules.dep"); do
		visit "$dep"
	done
	order+=("$path")
}
for m in $WANT_MODULES; do
	p=$(modpath "$m")
	if [ -z "$p" ]; then
		if grep -qE "/${m}\.ko(\.[a-z]+)?$" "$moddir/modules.builtin" 2>/dev/null; then
			continue  # built into this kernel
		fi
		die "module $m is neither in modules.dep nor in modules.builtin of $KVER"
	fi
	visit "$p"
done

# ---- assemble ---------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,newroot,results,modules,etc}

cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/guest-init.sh" "$root/init"
install -m 0755 "$here/guest-stage2.sh" "$root/stage2"
: > "$root/modules/order"
for p in "${order[@]}"; do
	name=$(basename "$p"); name=${name%%.ko*}
	case $p in
		*.ko)     cp "$moddir/$p" "$root/modules/$name.ko" ;;
		*.ko.xz)  xz -dc "$moddir/$p" > "$root/modules/$name.ko" ;;
		*.ko.zst) zstd -qdc "$moddir/$p" > "$root/modules/$name.ko" ;;
		*.ko.gz)  gzip -dc "$moddir/$p" > "$root/modules/$name.ko" ;;
		*) die "unknown module format: $p" ;;
	esac
	echo "$name" >> "$root/modules/order"
done
echo "$KVER" > "$root/etc/kver"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$tmp/main.cpio"
# /dev/console for init's stdio (the kernel's built-in initramfs has one too)
if mkdir -p "$tmp/devnode/dev" && mknod -m 600 "$tmp/devnode/dev/console" c 5 1 2>/dev/null; then
	(cd "$tmp/devnode" && printf '%s\n' dev/console | cpio -o -H newc --quiet -R 0:0) >> "$tmp/main.cpio"
fi
gzip -6n < "$tmp/main.cpio" > "$out.tmp"
mv -f "$out.tmp" "$out"
echo "mkinitramfs: $KVER: modules ${order[*]##*/}" >&2
echo "$out"
