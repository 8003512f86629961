#!/bin/bash
# Fetch Debian's `linux` source package (upstream 6.12.95 orig tarball) through a
# private apt configuration and unpack the plain upstream tree (Debian's own
# patches are NOT applied: the series targets upstream 6.12.95).
#
# usage: fetch-linux.sh [DEST]      (default: build/kernel under the repo root)
# Prints the path of the unpacked tree (DEST/linux-6.12.95) on stdout.
#
# The apt mirror is derived from this machine's /etc/apt/sources.list.d/debian.sources
# (or /etc/apt/sources.list); no host name is stored in the repository.
set -euo pipefail

VERSION="${LINUX_DEB_VERSION:-6.12.95-1~bpo12+1}"
SUITE="${LINUX_DEB_SUITE:-bookworm-backports}"
UPSTREAM="${VERSION%%-*}"

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
dest="${1:-$root/build/kernel}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
tree="$dest/linux-$UPSTREAM"
dl="$dest/download"

log() { echo "fetch-linux: $*" >&2; }

if [ -f "$tree/.crib-unpacked" ]; then
	echo "$tree"
	exit 0
fi

mirror_uri() {
	local f=/etc/apt/sources.list.d/debian.sources
	if [ -r "$f" ]; then
		# first URIs: line of a stanza whose Suites: contains "bookworm" (not -security)
		awk 'BEGIN{RS="";FS="\n"}
		     { uri=""; suites=""
		       for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){sub(/^URIs:[ \t]*/,"",$i); split($i,a," "); uri=a[1]}
		                           if($i ~ /^Suites:/){suites=$i} }
		       if(uri!="" && suites ~ /bookworm/ && uri !~ /security/){print uri; exit} }' "$f"
		return
	fi
	awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' \
		/etc/apt/sources.list 2>/dev/null || true
}

if ! ls "$dl"/linux_"${VERSION#*:}".dsc >/dev/null 2>&1; then
	uri="$(mirror_uri)"
	[ -n "$uri" ] || { log "no Debian mirror URI found in the apt sources"; exit 1; }
	apt_dir="$(mktemp -d "${TMPDIR:-/tmp}/crib-apt.XXXXXX")"
	trap 'rm -rf "$apt_dir"' EXIT
	mkdir -p "$apt_dir"/{state/lists/partial,cache/archives/partial,etc/preferences.d,etc/apt.conf.d}
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" "$SUITE" > "$apt_dir/etc/crib.sources"
	touch "$apt_dir/state/status"
	aptopts=(-o "Dir::State=$apt_dir/state" -o "Dir::State::status=$apt_dir/state/status"
		-o "Dir::Cache=$apt_dir/cache" -o "Dir::Etc::SourceList=/dev/null"
		-o "Dir::Etc::SourceParts=$apt_dir/etc" -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
		-o "Dir::Etc::Parts=$apt_dir/etc/apt.conf.d" -o "APT::Sandbox::User=root")
	log "updating private apt index ($SUITE, deb-src)"
	apt-get "${aptopts[@]}" update >&2
	versions="$(apt-cache "${aptopts[@]}" showsrc linux 2>/dev/null | sed -n 's/^Version: //p')"
	if ! printf '%s\n' "$versions" | grep -qxF "$VERSION"; then
		log "version $VERSION not in the index; available: $(echo $versions)"
		exit 1
	fi
	mkdir -p "$dl"
	log "downloading linux=$VERSION (source)"
	(cd "$dl" && apt-get "${aptopts[@]}" source --download-only "linux=$VERSION" >&2)
fi

dsc="$(ls "$dl"/linux_*.dsc | head -1)"
orig="$(ls "$dl"/linux_"$UPSTREAM".orig.tar.* | head -1)"
name="$(basename "$orig")"
want="$(awk -v n="$name" '/^Checksums-Sha256:/{s=1;next} /^[^ ]/{s=0} s && $3==n {print $1}' "$dsc")"
[ -n "$want" ] || { log "no SHA-256 for $name in $dsc"; exit 1; }
got="$(sha256sum "$orig" | cut -d' ' -f1)"
if [ "$want" != "$got" ]; then
	log "SHA-256 mismatch for $name: dsc says $want, file is $got"
	exit 1
fi
log "SHA-256 of $name matches the .dsc ($got)"

rm -rf "$tree.tmp"
mkdir -p "$tree.tmp"
log "unpacking $name"
tar -xf "$orig" -C "$tree.tmp" --strip-components=1
rm -rf "$tree"
mv "$tree.tmp" "$tree"
echo "$VERSION $got" > "$tree/.crib-unpacked"
echo "$tree"
