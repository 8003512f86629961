#!/bin/bash
# run-in-vm.sh [OPTIONS] KERNEL_DIR -- COMMAND [ARG...]
#
# Boot the kernel of KERNEL_DIR (made by fetch-kernel.sh) under
# qemu-system-x86_64 (TCG) with this machine's root filesystem shared read-only
# over 9p, run COMMAND inside as root, and return its exit status; its stdout
# and stderr are streamed to ours. Inside: proc, sysfs, devtmpfs, bpffs on
# /sys/fs/bpf, tracefs, debugfs, cgroup2, a tmpfs on /tmp and /run,
# /sys/kernel/btf from sysfs, the guest kernel's modules for modprobe,
# CRIB_VM=1 and CRIB_VM_RESULTS=the results directory (shared read-write at the
# same path as on the host).
#
# Options:
#   -C DIR    working directory of COMMAND in the guest (default: current one)
#   -o DIR    results directory (kept): stdout, stderr, status, console.log, ...
#             default: a fresh one under $TMPDIR, removed on success
#   -w DIR    also share DIR read-write, at the same path (repeatable)
#   -e N=V    set an environment variable for COMMAND (repeatable)
#   -t SECS   timeout (default $VM_TIMEOUT or 600); qemu is killed, exit 124
#   -m MEM    guest memory (default $VM_MEM or 1G)
#   -s N      guest CPUs (default $VM_SMP or 1)
#   -v        copy the serial console (kernel log) to stderr as it comes
#
# Environment: VM_APPEND adds kernel parameters; VM_BOOT=bzimage boots the package's vmlinuz through the BIOS
# (default: its ELF kernel through the PVH entry, faster under TCG).
#
# Exit status: COMMAND's; 124 on timeout; 125 when the VM ended without one.
set -uo pipefail

die() {
	echo "run-in-vm: $*" >&2
	[ "${keep:-1}" = 0 ] && [ -n "${results:-}" ] && rm -rf "$results"
	exit 125
}
here=$(cd "$(dirname "$0")" && pwd)
case "$here/" in
/tmp/*|/run/*|/dev/shm/*|/boot/*)
	# the guest sees the host's root but mounts its own tmpfs there
	echo "run-in-vm: the checkout $here is under a directory the guest mounts afresh (/tmp, /run, /dev/shm, /boot); use one elsewhere" >&2
	exit 2 ;;
esac

cwd=$PWD results= timeout=${VM_TIMEOUT:-600} mem=${VM_MEM:-1G} smp=${VM_SMP:-1} verbose=0
rw=() envs=()
while getopts "C:o:w:e:t:m:s:vh" opt; do
	case $opt in
		C) cwd=$OPTARG ;;
		o) results=$OPTARG ;;
		w) rw+=("$OPTARG") ;;
		e) envs+=("$OPTARG") ;;
		t) timeout=$OPTARG ;;
		m) mem=$OPTARG ;;
		s) smp=$OPTARG ;;
		v) verbose=1 ;;
		h) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) exit 125 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || die "usage: $0 [OPTIONS] KERNEL_DIR -- COMMAND [ARG...]"
kdir=$1; shift
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || die "no COMMAND given"
[ -r "$kdir/kernel.env" ] || die "$kdir is not a kernel directory (no kernel.env; see fetch-kernel.sh)"
kdir=$(cd "$kdir" && pwd)
# shellcheck disable=SC1091
. "$kdir/kernel.env"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
[[ $timeout =~ ^[0-9]+$ ]] || die "bad timeout: $timeout"
cwd=$(cd "$cwd" 2>/dev/null && pwd) || die "no such directory: $cwd"

initrd=$("$here/mkinitramfs.sh" "$kdir") || die "initramfs build failed"

# The kernel image: by default the ELF inside the bzImage, booted through its PVH
# entry (CONFIG_PVH): no BIOS boot loader, no decompression under TCG, some
# seconds less per boot (and no KASLR). VM_BOOT=bzimage boots the package's
# vmlinuz as it is.
kernel=$kdir/$VMLINUZ
if [ "${VM_BOOT:-pvh}" = pvh ]; then
	if [ ! -s "$kdir/vmlinux.pvh" ] && [ ! -e "$kdir/vmlinux.pvh.none" ]; then
		"$here/extract-vmlinux.py" "$kdir/$VMLINUZ" "$kdir/vmlinux.pvh" || : > "$kdir/vmlinux.pvh.none"
	fi
	[ -s "$kdir/vmlinux.pvh" ] && kernel=$kdir/vmlinux.pvh
fi

rwabs=()
for d in "${rw[@]}"; do
	rwabs+=("$(cd "$d" 2>/dev/null && pwd)") || die "no such directory: $d"
done
rw=("${rwabs[@]}")

keep=1
if [ -z "$results" ]; then
	results=$(mktemp -d "${TMPDIR:-/tmp}/crib-vm.XXXXXX") || die "mktemp failed"
	keep=0
else
	mkdir -p "$results" || die "cannot create $results"
	rm -f "$results"/{qemu.pid,status,status.tmp,stdout,stderr,console.log,init-error,uptime.start,uptime.end,cmd.sh,vm.env}
fi
results=$(cd "$results" && pwd)

# 9p mount options and the guest scripts split on blanks: keep paths simple
for p in "$results" "$kdir" "$cwd" "${rw[@]}"; do
	[[ $p =~ ^/[A-Za-z0-9._+/@%-]*$ ]] || die "unsupported characters in path: $p"
done

# ---- what the guest reads ----------------------------------------------------
sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
rwspec= i=0 virtfs_rw=()
for d in "${rw[@]}"; do
	rwspec+=" rw$i=$d"
	virtfs_rw+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
	i=$((i + 1))
done
{
	echo "VM_RESULTS=$(sq "$results")"
	echo "VM_KMODULES=$(sq "$kdir/$MODULES")"
	echo "VM_KBOOT=$(sq "$(dirname "$kdir/$CONFIG")")"
	echo "VM_RW=$(sq "${rwspec# }")"
} > "$results/vm.env"
{
	echo "# written by run-in-vm.sh"
	for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
	printf 'cd -- %q || exit 125\n' "$cwd"
	printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$results/cmd.sh"
: > "$results/stdout"; : > "$results/stderr"; : > "$results/console.log"

# ---- boot ---------------------------------------------------------------------
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp"
	-nodefaults -no-user-config -nographic -monitor none -no-reboot
	-serial "file:$results/console.log" -pidfile "$results/qemu.pid"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init ${VM_APPEND:-}"
	-virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$results,mount_tag=results,security_model=none,multidevs=remap"
	"${virtfs_rw[@]}")

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "${qpid:-}" ]; then
		# TERM to timeout(1) is passed on to qemu; then make sure qemu is gone
		kill -TERM "$qpid" 2>/dev/null
		local q; q=$(cat "$results/qemu.pid" 2>/dev/null)
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -n "$q" ] && kill -0 "$q" 2>/dev/null || break
			sleep 0.2
		done
		[ -n "$q" ] && kill -KILL "$q" 2>/dev/null
	fi
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'echo "run-in-vm: interrupted" >&2; exit 130' INT TERM HUP

t0=$(date +%s.%N)
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null >"$results/qemu.log" 2>&1 &
qpid=$!
# stream the command's output (and the console with -v) while the VM runs
tail -n +1 -s 0.2 -f --pid=$qpid "$results/stdout" & pids+=($!)
tail -n +1 -s 0.2 -f --pid=$qpid "$results/stderr" >&2 & pids+=($!)
if [ $verbose = 1 ]; then tail -n +1 -s 0.2 -f --pid=$qpid "$results/console.log" >&2 & pids+=($!); fi
wait $qpid
qrc=$?
qpid=
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
t1=$(date +%s.%N)

elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
boot=$(awk '{ printf "%.1f", $1 }' "$results/uptime.start" 2>/dev/null)
if [ -s "$results/status" ]; then
	rc=$(cat "$results/status")
	echo "run-in-vm: $KVER: exit $rc, command started ${boot:-?}s after boot, ${elapsed}s in all" >&2
elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
	echo "run-in-vm: $KVER: TIMEOUT after ${timeout}s: qemu killed (console: $results/console.log)" >&2
	tail -n 20 "$results/console.log" | sed 's/^/  console| /' >&2
	rc=124; keep=1
else
	echo "run-in-vm: $KVER: the VM ended without an exit status (qemu exit $qrc; console: $results/console.log)" >&2
	[ -s "$results/init-error" ] && sed 's/^/  /' "$results/init-error" >&2
	tail -n 30 "$results/console.log" | sed 's/^/  console| /' >&2
	[ -s "$results/qemu.log" ] && sed 's/^/  qemu| /' "$results/qemu.log" >&2
	rc=125; keep=1
fi
[[ $rc =~ ^[0-9]+$ ]] || rc=125
if [ $keep = 0 ] && [ "$rc" = 0 ]; then rm -rf "$results"; else echo "run-in-vm: results in $results" >&2; fi
exit "$rc"
