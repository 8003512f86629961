# shellcheck shell=bash
# Sourced by build-kernel.sh and check-series.sh (they set $here, $kdir and
# log()): the persistent git work tree the series is applied to.

# reset_tree SRC: SRC as a git tree of the pristine source (fetched if
# missing), checked out clean at tag crib-base.
reset_tree() {
	local src=$1 pristine
	pristine="$("$here/fetch-linux.sh" "$kdir")"
	if [ ! -d "$src/.git" ]; then
		log "creating git work tree $src"
		rm -rf "$src"
		cp -a "$pristine" "$src"
		rm -f "$src/.crib-unpacked"
		git -C "$src" init -q
		git -C "$src" add -A
		git -C "$src" -c user.name="CRIB developers" -c user.email=crib@example.invalid \
			commit -q -m "Linux $(make -s -C "$src" kernelversion)"
		git -C "$src" tag crib-base
	fi
	git -C "$src" am --abort >/dev/null 2>&1 || true
	git -C "$src" reset -q --hard crib-base
	git -C "$src" clean -qfdx
}
