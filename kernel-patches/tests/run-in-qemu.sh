#!/bin/bash
# Boot a kernel built by build-kernel.sh under qemu (TCG) with this machine's
# root shared read-only over 9p, and run kfunc_test inside as PID 1's child.
#
# usage: run-in-qemu.sh BZIMAGE [TEST_BINARY [OBJ_DIR]]
#   default TEST_BINARY: build/kernel/tests/kfunc_test (make -C kernel-patches/tests)
# Prints the serial console; exits with the test's status (125 if none was seen).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
case "$root/" in
/tmp/*|/run/*)
	# the guest sees the host's root but mounts its own tmpfs there
	echo "run-in-qemu: the checkout $root is under /tmp or /run, which the guest mounts afresh; use one elsewhere" >&2
	exit 2 ;;
esac
bz="${1:?usage: run-in-qemu.sh BZIMAGE [TEST_BINARY [OBJ_DIR]]}"
test_bin="$(realpath "${2:-$root/build/kernel/tests/kfunc_test}")"
obj_dir="$(realpath "${3:-$(dirname "$test_bin")}")"
timeout="${QEMU_TIMEOUT:-600}"

work="$(mktemp -d "${TMPDIR:-/tmp}/crib-qemu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cat > "$work/init.sh" <<INIT
#!/bin/sh
# PID 1 in the guest. Host root is read-only: mount what the test needs.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf
echo "=== guest kernel \$(uname -r)"
"$test_bin" "$obj_dir"
echo "=== kfunc_test exit status \$?"
# init exiting panics the kernel; with panic=-1 and -no-reboot qemu ends.
INIT
chmod +x "$work/init.sh"

timeout "$timeout" qemu-system-x86_64 -m 1G -smp 1 -nographic -no-reboot \
	-kernel "$bz" \
	-append "console=ttyS0 root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144 ro init=$work/init.sh panic=-1" \
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on \
	</dev/null | tee "$work/console.log"
status="$(sed -n 's/.*=== kfunc_test exit status \([0-9]*\).*/\1/p' "$work/console.log" | tail -1)"
exit "${status:-125}"
