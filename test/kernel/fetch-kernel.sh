#!/bin/bash
# fetch-kernel.sh SUITE/PACKAGE [OUTDIR]
#
# Download a Debian kernel image package with `apt-get download` through a
# private apt state (lists, cache, sources and config under OUTDIR/.apt/SUITE;
# the machine's own apt configuration and state are not touched), unpack it with
# `dpkg-deb -x` (never installed) into OUTDIR/PACKAGE_VERSION/ and print where
# vmlinuz, the modules and the config are.
#
#   SUITE    a Debian suite: bookworm (Debian 12), trixie (Debian 13), ...
#            Its -updates and -security suites are searched too.
#   PACKAGE  a kernel image package (linux-image-6.1.0-NN-amd64) or a
#            metapackage (linux-image-amd64, linux-image-cloud-amd64), which is
#            resolved to the kernel image package it currently depends on.
#   OUTDIR   cache directory, default build/kernels under the repository.
#
# The archive URIs are taken from this machine's apt sources
# (/etc/apt/sources.list.d/*.sources, deb822 format) with the suite changed.
#
# Environment: FETCH_KERNEL_REFRESH=1 forces an index update (otherwise the
# private index is reused for FETCH_KERNEL_MAX_AGE seconds, default 86400).
#
# On success the last line printed is the kernel directory, and
# OUTDIR/PACKAGE_VERSION/kernel.env holds KVER, VMLINUZ, MODULES, CONFIG, PKG,
# VERSION, SUITE (paths relative to that directory).
set -euo pipefail

die() { echo "fetch-kernel: $*" >&2; exit 1; }
log() { echo "fetch-kernel: $*" >&2; }

[ $# -ge 1 ] || die "usage: $0 SUITE/PACKAGE [OUTDIR]"
spec=$1
case $spec in */*) ;; *) die "expected SUITE/PACKAGE, got '$spec'";; esac
suite=${spec%%/*}
pkg=${spec#*/}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
outdir=${2:-$repo/build/kernels}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
arch=$(dpkg --print-architecture)

for t in apt-get apt-cache dpkg-deb; do command -v $t >/dev/null || die "$t not found"; done

# ---- archive URIs from this machine's own sources (deb822) ---------------
# Prints "URI KEYRING" for the main archive and for the security archive.
host_sources() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v want="$1" '
			function flush() {
				if (uri != "" && types ~ /(^| )deb( |$)/) {
					sec = (suites ~ /-security/) ? "security" : "main"
					if (sec == want && !done) { print uri, key; done = 1 }
				}
				uri = ""; suites = ""; key = ""; types = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:"     { $1 = ""; types = $0 }
			tolower($1) == "uris:"      { uri = $2 }
			tolower($1) == "suites:"    { $1 = ""; suites = $0 }
			tolower($1) == "signed-by:" { key = $2 }
			END { flush() }
		' "$f"
	done | head -n1
}
read -r main_uri main_key < <(host_sources main) || true
read -r sec_uri sec_key < <(host_sources security) || true
[ -n "${main_uri:-}" ] || die "no Debian archive found in /etc/apt/sources.list.d/*.sources"
keyring=${main_key:-/usr/share/keyrings/debian-archive-keyring.gpg}
[ -r "$keyring" ] || keyring=/usr/share/keyrings/debian-archive-keyring.gpg
sec_keyring=${sec_key:-$keyring}
[ -r "$sec_keyring" ] || sec_keyring=$keyring

# ---- private apt configuration -------------------------------------------
aptdir=$outdir/.apt/$suite
mkdir -p "$aptdir"/{state/lists/partial,cache/archives/partial,etc/sources.list.d,etc/apt.conf.d,etc/preferences.d,debs}
: > "$aptdir/state/status"
{
	echo "deb [arch=$arch signed-by=$keyring] $main_uri $suite main"
	echo "deb [arch=$arch signed-by=$keyring] $main_uri $suite-updates main"
	if [ -n "${sec_uri:-}" ]; then
		echo "deb [arch=$arch signed-by=$sec_keyring] $sec_uri $suite-security main"
	fi
} > "$aptdir/etc/sources.list.new"
cat > "$aptdir/apt.conf" <<EOF
Dir::State "$aptdir/state";
Dir::State::status "$aptdir/state/status";
Dir::Cache "$aptdir/cache";
Dir::Etc "$aptdir/etc";
Dir::Etc::SourceList "$aptdir/etc/sources.list";
Dir::Etc::SourceParts "$aptdir/etc/sources.list.d";
Dir::Etc::Parts "$aptdir/etc/apt.conf.d";
Dir::Etc::Preferences "$aptdir/etc/preferences";
Dir::Etc::PreferencesParts "$aptdir/etc/preferences.d";
Dir::Etc::main "/dev/null";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::Check-Valid-Until "false";
Acquire::Retries "2";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$aptdir/apt.conf
apt_opts=(-q)

# ---- index update (reused while fresh) -----------------------------------
stamp=$aptdir/state/updated
max_age=${FETCH_KERNEL_MAX_AGE:-86400}
need_update=${FETCH_KERNEL_REFRESH:-0}
cmp -s "$aptdir/etc/sources.list.new" "$aptdir/etc/sources.list" || need_update=1
mv -f "$aptdir/etc/sources.list.new" "$aptdir/etc/sources.list"
if [ ! -e "$stamp" ] || [ $(( $(date +%s) - $(stat -c %Y "$stamp") )) -gt "$max_age" ]; then
	need_update=1
fi
if [ "$need_update" = 1 ]; then
	log "updating private index for $suite"
	apt-get "${apt_opts[@]}" update >"$aptdir/update.log" 2>&1 || {
		cat "$aptdir/update.log" >&2; die "apt-get update failed for $suite"; }
	touch "$stamp"
fi

# ---- resolve a metapackage to the kernel image package -------------------
resolve() {
	local p=$1 depth=0 dep
	while [ $depth -lt 4 ]; do
		# a real image package ships /boot/vmlinuz-*; metapackages have no version in the name
		if [[ $p =~ ^linux-image-[0-9] ]] && [[ $p != *-dbg ]]; then
			echo "$p"; return 0
		fi
		dep=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$p" 2>/dev/null |
			sed -n 's/^Depends: //p' | tr ',' '\n' | sed 's/^ *//; s/ .*//' |
			grep -E '^linux-image-[0-9]' | head -n1) || true
		[ -n "$dep" ] || { echo "$p"; return 0; }
		p=$dep; depth=$((depth + 1))
	done
	echo "$p"
}
apt-cache "${apt_opts[@]}" show --no-all-versions "$pkg" >/dev/null 2>&1 ||
	die "package $pkg not found in $suite (private index $aptdir)"
real=$(resolve "$pkg")
version=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$real" | sed -n 's/^Version: //p' | head -n1)
[ -n "$version" ] || die "no version for $real in $suite"
[ "$real" = "$pkg" ] || log "$suite/$pkg -> $real $version"

kdir=$outdir/${real}_${version}
if [ -e "$kdir/kernel.env" ]; then
	log "cached: $kdir"
else
	log "downloading $real $version"
	rm -rf "$kdir.tmp"; mkdir -p "$kdir.tmp"
	if ! (cd "$aptdir/debs" && apt-get "${apt_opts[@]}" download "$real=$version") >&2; then
		# a stale index can name a file the archive no longer serves: refresh, retry
		log "download failed; refreshing the index and retrying"
		apt-get "${apt_opts[@]}" update >"$aptdir/update.log" 2>&1 || die "apt-get update failed for $suite"
		touch "$stamp"
		newver=$(apt-cache "${apt_opts[@]}" show --no-all-versions "$real" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
		[ "$newver" = "$version" ] ||
			die "$real is now at version ${newver:-none} in $suite; run again"
		(cd "$aptdir/debs" && apt-get "${apt_opts[@]}" download "$real=$version") >&2 ||
			die "apt-get download $real=$version failed"
	fi
	deb=$(ls -t "$aptdir/debs/${real}_"*"_$arch.deb" 2>/dev/null | head -n1)
	[ -n "$deb" ] || deb=$(ls -t "$aptdir/debs/${real}_"*.deb | head -n1)
	log "unpacking $(basename "$deb")"
	dpkg-deb -x "$deb" "$kdir.tmp/root"
	vmlinuz=$(cd "$kdir.tmp/root" && ls boot/vmlinuz-* | head -n1)
	[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $deb"
	kver=${vmlinuz#boot/vmlinuz-}
	moddir=
	for d in lib/modules/$kver usr/lib/modules/$kver; do
		[ -d "$kdir.tmp/root/$d" ] && moddir=$d && break
	done
	[ -n "$moddir" ] || die "no modules directory for $kver in $deb"
	config=boot/config-$kver
	[ -e "$kdir.tmp/root/$config" ] || die "no $config in $deb"
	# the package ships no modules.dep (depmod runs at install time): make it here
	if [ ! -s "$kdir.tmp/root/$moddir/modules.dep" ]; then
		[ -e "$kdir.tmp/root/lib/modules/$kver" ] ||
			{ mkdir -p "$kdir.tmp/root/lib/modules" && ln -s "../../$moddir" "$kdir.tmp/root/lib/modules/$kver"; }
		depmod=$(command -v depmod || ls /usr/sbin/depmod /sbin/depmod 2>/dev/null | head -n1) ||
			die "depmod not found (apt-get install kmod)"
		"$depmod" -b "$kdir.tmp/root" "$kver" || die "depmod failed"
	fi
	cat > "$kdir.tmp/kernel.env" <<EOF
SUITE=$suite
PKG=$real
VERSION=$version
KVER=$kver
VMLINUZ=root/$vmlinuz
MODULES=root/$moddir
CONFIG=root/$config
DEB=$(basename "$deb")
EOF
	rm -rf "$kdir"; mv "$kdir.tmp" "$kdir"
	rm -f "$deb"  # the unpacked tree is the cache
fi

# ---- report -----------------------------------------------------------------
# shellcheck disable=SC1091
. "$kdir/kernel.env"
echo "package:  $PKG $VERSION ($SUITE)"
echo "kernel:   $KVER"
echo "vmlinuz:  $kdir/$VMLINUZ"
echo "modules:  $kdir/$MODULES"
echo "config:   $kdir/$CONFIG"
status=0
for opt in BPF_SYSCALL DEBUG_INFO_BTF DEBUG_INFO_BTF_MODULES BPF_JIT BPF_LSM CGROUP_BPF \
	9P_FS NET_9P_VIRTIO VIRTIO_PCI MODULE_COMPRESS_XZ MODULE_COMPRESS_ZSTD MODULE_DECOMPRESS; do
	val=$(grep -E "^(# )?CONFIG_${opt}[= ]" "$kdir/$CONFIG" | head -n1 | sed -e 's/^# //' -e 's/ is not set/=n/' || true)
	printf '  %-40s\n' "${val:-CONFIG_$opt (absent)}"
done
for opt in BPF_SYSCALL DEBUG_INFO_BTF; do
	grep -qx "CONFIG_$opt=y" "$kdir/$CONFIG" || { echo "MISSING: CONFIG_$opt=y" >&2; status=1; }
done
for opt in 9P_FS NET_9P_VIRTIO VIRTIO_PCI; do
	grep -qE "^CONFIG_$opt=[ym]$" "$kdir/$CONFIG" ||
		echo "WARNING: CONFIG_$opt is off: run-in-vm.sh cannot mount its 9p root with this kernel" >&2
done
echo "$kdir"
exit $status
