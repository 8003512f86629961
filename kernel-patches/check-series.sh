#!/bin/bash
# Apply the CRIB kfunc series one patch at a time with `git am` on a clean
# upstream tree and, after each patch, compile every .c file the patch touches:
#   - kernel sources: `make <file>.o` with the small config (config-fragment);
#   - selftests BPF programs (tools/testing/selftests/bpf/progs/*.c): clang -target bpf
#     against a vmlinux.h of the patched kernel (needs a vmlinux: run build-kernel.sh
#     first, or the progs are reported as skipped);
#   - selftests runners (prog_tests/*.c): gcc -fsyntax-only with skeletons generated
#     by bpftool for the series' programs (a runner that needs other skeletons is
#     reported as skipped).
#
# usage: check-series.sh            (uses build/kernel/{work,obj}, shared with build-kernel.sh)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
jobs="${JOBS:-2}"
kdir="$root/build/kernel"
src="$kdir/work"
obj="$kdir/obj"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/crib-check.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

log() { echo "check-series: $*" >&2; }
# shellcheck source=kernel-patches/tree.sh
. "$here/tree.sh"
fail=0

reset_tree "$src"

if [ ! -f "$obj/.config" ]; then
	log "configuring (tinyconfig + config-fragment)"
	mkdir -p "$obj"
	make -s -C "$src" O="$obj" tinyconfig >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$here/config-fragment" >/dev/null
	make -s -C "$src" O="$obj" olddefconfig >/dev/null
fi

# BPF headers for selftests programs: libbpf's from the tree, plus generated helper defs.
sel="$src/tools/testing/selftests/bpf"
mkdir -p "$scratch/inc/bpf"
vmlinux_h=""
if [ -f "$obj/vmlinux" ] && command -v bpftool >/dev/null && command -v clang >/dev/null; then
	bpftool btf dump file "$obj/vmlinux" format c > "$scratch/inc/vmlinux.h"
	vmlinux_h="$scratch/inc/vmlinux.h"
fi

n=0
while read -r p; do
	case "$p" in ''|'#'*) continue ;; esac
	n=$((n + 1))
	git -C "$src" -c user.name="CRIB developers" -c user.email=crib@example.invalid \
		am -q --keep-cr "$here/$p" || { log "FAIL: $p does not apply"; exit 1; }
	files="$(git -C "$src" diff-tree --no-commit-id --name-only --diff-filter=AM -r HEAD | grep '\.c$' || true)"
	log "[$n] $p"
	start=$(date +%s)
	kobjs=()
	for f in $files; do
		case "$f" in
		tools/testing/selftests/bpf/progs/*)
			if [ -z "$vmlinux_h" ]; then
				log "    skip $f (no vmlinux yet: run build-kernel.sh)"
				continue
			fi
			cp "$src"/tools/lib/bpf/{bpf_helpers.h,bpf_core_read.h,bpf_tracing.h,bpf_endian.h} "$scratch/inc/bpf/"
			python3 "$src/scripts/bpf_doc.py" --header --file "$src/include/uapi/linux/bpf.h" \
				> "$scratch/inc/bpf/bpf_helper_defs.h"
			b="$(basename "$f" .c)"
			if clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 -I"$scratch/inc" \
				-I"$sel/progs" -I"$sel" -c "$src/$f" -o "$scratch/$b.bpf.o" 2> "$scratch/err"; then
				bpftool gen skeleton "$scratch/$b.bpf.o" name "$b" > "$scratch/inc/$b.skel.h"
				log "    ok   $f (clang -target bpf, skeleton)"
				[ -s "$scratch/err" ] && cat "$scratch/err" >&2
			else
				cat "$scratch/err" >&2; log "    FAIL $f"; fail=1
			fi
			;;
		tools/testing/selftests/bpf/prog_tests/*)
			deferred="${deferred:-} $f"
			;;
		tools/*)
			log "    skip $f (tools file)"
			;;
		*)
			kobjs+=("${f%.c}.o")
			;;
		esac
	done
	for f in ${deferred:-}; do
		missing="$(grep -o '"[a-z0-9_]*\.skel\.h"' "$src/$f" | tr -d '"' | while read -r s; do
			[ -f "$scratch/inc/$s" ] || echo "$s"; done)"
		if [ -n "$missing" ]; then
			log "    skip $f (needs skeletons of the whole selftests build: $(echo $missing | wc -w) missing)"
			continue
		fi
		if gcc -fsyntax-only -Wall -I"$sel" -I"$scratch/inc" -I"$src/tools/include" \
			-I"$src/tools/lib" -I"$src/tools/include/uapi" "$src/$f" 2> "$scratch/err"; then
			log "    ok   $f (gcc -fsyntax-only)"
			[ -s "$scratch/err" ] && cat "$scratch/err" >&2
		else
			cat "$scratch/err" >&2; log "    FAIL $f"; fail=1
		fi
	done
	deferred=""
	if [ ${#kobjs[@]} -gt 0 ]; then
		if make -s -C "$src" O="$obj" -j"$jobs" "${kobjs[@]}" >&2 2> "$scratch/err"; then
			log "    ok   ${kobjs[*]} (make, W=0)"
		else
			cat "$scratch/err" >&2; log "    FAIL ${kobjs[*]}"; fail=1
		fi
		[ -s "$scratch/err" ] && { log "    compiler output:"; cat "$scratch/err" >&2; }
	fi
	log "    $(( $(date +%s) - start )) s"
done < "$here/series"

if [ "$fail" = 0 ]; then
	log "all $n patches apply and compile"
else
	log "FAILED"
	exit 1
fi
