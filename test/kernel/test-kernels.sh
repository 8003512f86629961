#!/bin/bash
# test-kernels.sh [SUITE/PACKAGE...]
#
# For each kernel (default: $KERNEL_SPECS, else Debian 12's and Debian 13's
# linux-image-amd64): fetch it (fetch-kernel.sh), build its initramfs, boot it
# under qemu and run $KERNEL_CHECK_CMD (a bash command line, run as root in the
# repository's top directory; default: test/kernel/smoke-check.sh) inside.
# Prints a PASS/FAIL line with timings per kernel and "kernels: N passed, N
# failed" at the end; exit status 0 only if all passed.
#
# Environment: KERNEL_SPECS, KERNEL_CHECK_CMD, KERNELS_DIR (default
# build/kernels), KERNEL_VM_TIMEOUT (seconds per kernel, default 1200), VM_MEM,
# VM_SMP, VM_BOOT, VM_APPEND (see run-in-vm.sh). Each run's files (stdout,
# stderr, console.log, status) stay in KERNELS_DIR/runs/PACKAGE_VERSION/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kernels_dir=${KERNELS_DIR:-$repo/build/kernels}
case $kernels_dir in /*) ;; *) kernels_dir=$repo/$kernels_dir ;; esac
default_check=test/kernel/smoke-check.sh
check=${KERNEL_CHECK_CMD:-$default_check}
timeout=${KERNEL_VM_TIMEOUT:-1200}
if [ $# -gt 0 ]; then specs=("$@"); else
	read -r -a specs <<<"${KERNEL_SPECS:-bookworm/linux-image-amd64 trixie/linux-image-amd64}"
fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# A signal to this script (a CI job's timeout, a kill of it alone) stops the
# VM running and the kernels after it: the VM runs in the background, so
# that the trap runs at once, not when the VM ends.
vm=
stop() {
	echo "test-kernels: interrupted; stopping the VM${vm:+ (run-in-vm pid $vm)}" >&2
	if [ -n "$vm" ]; then
		kill -TERM "$vm" 2>/dev/null
		wait "$vm" 2>/dev/null
	fi
	exit 130
}
trap stop INT TERM HUP

passed=0 failed=0 summary=()
for spec in "${specs[@]}"; do
	echo "=== $spec"
	t0=$(now)
	if ! out=$("$here/fetch-kernel.sh" "$spec" "$kernels_dir"); then
		echo "$out"
		line="FAIL $spec: fetch or kernel config check failed"
		echo "test-kernels: $line"; summary+=("$line"); failed=$((failed + 1)); continue
	fi
	echo "$out" | sed '$d'
	kdir=$(tail -n1 <<<"$out")
	# shellcheck disable=SC1091
	. "$kdir/kernel.env"
	if ! "$here/mkinitramfs.sh" "$kdir" >/dev/null; then
		line="FAIL $spec ($PKG $VERSION): initramfs build failed"
		echo "test-kernels: $line"; summary+=("$line"); failed=$((failed + 1)); continue
	fi
	t1=$(now)
	res=$kernels_dir/runs/${PKG}_$VERSION
	rm -rf "$res"; mkdir -p "$res"
	echo "--- check in the guest: $check"
	"$here/run-in-vm.sh" -t "$timeout" -o "$res" -C "$repo" "$kdir" -- bash -c "$check" &
	vm=$!
	wait "$vm"
	rc=$?
	vm=
	t2=$(now)
	boot=$(awk '{ printf "%.1f", $1 }' "$res/uptime.start" 2>/dev/null)
	ran=$(awk 'NR == FNR { a = $1; next } { printf "%.1f", $1 - a }' "$res/uptime.start" "$res/uptime.end" 2>/dev/null)
	why=
	if [ $rc = 0 ] && [ "$check" = "$default_check" ] && [ ! -s "$res/smoke.txt" ]; then
		rc=1 why=" (smoke.txt from the guest is missing on the host)"
	fi
	timing="fetch+initramfs $(secs "$t0" "$t1")s, boot ${boot:-?}s, check ${ran:-?}s, VM total $(secs "$t1" "$t2")s"
	if [ $rc = 0 ]; then
		line="PASS $spec ($PKG $VERSION, $KVER): $timing"; passed=$((passed + 1))
	else
		[ $rc = 124 ] && why=" (timeout after ${timeout}s)"
		line="FAIL $spec ($PKG $VERSION, $KVER): exit $rc$why; $timing; see $res"; failed=$((failed + 1))
	fi
	echo "test-kernels: $line"
	summary+=("$line")
done
echo "=== summary"
printf '  %s\n' "${summary[@]}"
echo "kernels: $passed passed, $failed failed"
[ $failed = 0 ]
