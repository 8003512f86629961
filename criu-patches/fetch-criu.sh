#!/bin/bash
# Fetch CRIU's upstream tarball from Debian's `criu` source package and
# verify it.  The deb-src entry is derived from this machine's own apt
# sources (first Debian archive URI that is not the security archive); apt
# runs against a private state directory so the machine's configuration is
# left alone.  The archive may serve the orig tarball without the Debian
# parts, so a partial fetch is accepted as long as the tarball checks out.
#
# usage: fetch-criu.sh OUTDIR VERSION SHA256
set -euo pipefail

out=$1 version=$2 sha=$3
tarball="criu_${version}.orig.tar.xz"

mkdir -p "$out"
if [ -f "$out/$tarball" ] && echo "$sha  $out/$tarball" | sha256sum -c --status; then
	exit 0
fi

find_uri() {
	local f
	# deb822 stanzas: URIs + Suites; keep the first non-security archive
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^URIs:/   { uri = $2 }
			/^Suites:/ { suites = $0 }
			/^$/       { if (uri != "" && suites !~ /security/ && uri ~ /debian/) { print uri; exit } uri = ""; suites = "" }
			END        { if (uri != "" && suites !~ /security/ && uri ~ /debian/) print uri }
		' "$f" | head -n1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
	done
}

uri=$(find_uri | grep -m1 . || true)
if [ -z "$uri" ]; then
	echo "fetch-criu: no Debian archive found in this machine's apt sources" >&2
	exit 1
fi

state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/etc/sources.list.d" "$state/etc/preferences.d" \
	"$state/state/lists/partial" "$state/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri unstable main" \
	> "$state/etc/sources.list"
apt_opts=(
	-o "Dir::Etc::SourceList=$state/etc/sources.list"
	-o "Dir::Etc::SourceParts=$state/etc/sources.list.d"
	-o "Dir::Etc::PreferencesParts=$state/etc/preferences.d"
	-o "Dir::State=$state/state"
	-o "Dir::Cache=$state/cache"
	-o "APT::Sandbox::User=root"
)
echo "fetch-criu: fetching criu $version source from Debian unstable" >&2
apt-get -q "${apt_opts[@]}" update >&2
(cd "$state" && apt-get -q "${apt_opts[@]}" source --download-only "criu=${version}-1" >&2) || \
	echo "fetch-criu: partial fetch, checking for the orig tarball" >&2

if [ ! -f "$state/$tarball" ]; then
	echo "fetch-criu: $tarball was not served" >&2
	exit 1
fi
if ! echo "$sha  $state/$tarball" | sha256sum -c --status; then
	echo "fetch-criu: SHA-256 mismatch for $tarball (want $sha)" >&2
	exit 1
fi
mv "$state/$tarball" "$out/$tarball.tmp"
mv "$out/$tarball.tmp" "$out/$tarball"
echo "fetch-criu: $out/$tarball verified" >&2
