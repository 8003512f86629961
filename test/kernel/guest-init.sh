#!/bin/sh
# /init of the initramfs built by mkinitramfs.sh (runs under busybox sh).
# Loads the 9p/virtio modules, mounts the host's root (9p tag "root", read
# only) and the results share (tag "results", read-write), sets up the pseudo
# filesystems and a tmpfs /tmp and /run, then switch_root's into the host's
# root with guest-stage2.sh (kept in /run/vm) as the new init.
# Parameters come from the results share's vm.env (written by run-in-vm.sh).
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "vm-init: $*" >&2
	# leave a trace the host can read, then end: init exiting stops the VM
	# (panic=-1 and qemu -no-reboot)
	[ -d /results/. ] && echo "init: $*" > /results/init-error 2>/dev/null
	sync
	poweroff -f
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs -o mode=0755 tmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "vm-init: kernel $(uname -r), initramfs for $(cat /etc/kver)"

for m in $(cat /modules/order); do
	insmod "/modules/$m.ko" || fail "insmod $m failed"
done

mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /results ||
	fail "cannot mount the results share"
[ -r /results/vm.env ] || fail "no vm.env on the results share"
# shellcheck disable=SC1091
. /results/vm.env

# The host's root, read only. cache=loose: no revalidation, faster under TCG.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro root /newroot ||
	fail "cannot mount the 9p root"

R=/newroot
mount -t tmpfs -o mode=1777,size=${VM_TMP_SIZE:-50%} tmpfs $R/tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=0755 tmpfs $R/run || fail "tmpfs /run"
mkdir -p $R/run/vm $R/run/lock $R/run/shm
mount --move /proc $R/proc
mount --move /sys $R/sys
mount --move /dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t bpf -o mode=0700 bpf $R/sys/fs/bpf || echo "vm-init: no bpffs" >&2
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mount -t securityfs securityfs $R/sys/kernel/security 2>/dev/null

# the guest kernel's own modules for modprobe (also the kernel's request_module):
# the host's root may have no /usr/lib/modules to mount on, so modprobe gets a
# module root of its own in /run/vm (wrapper first in PATH)
if [ -n "$VM_KMODULES" ] && [ -d "$R$VM_KMODULES" ]; then
	kv=$(uname -r)
	mkdir -p "$R/run/vm/modroot/lib/modules/$kv" $R/run/vm/bin
	mount --bind "$R$VM_KMODULES" "$R/run/vm/modroot/lib/modules/$kv"
	# (absolute symlinks such as /usr/sbin/modprobe -> /bin/kmod do not resolve
	# from here, before switch_root: test with -L too)
	mp=
	for c in /usr/sbin/modprobe /sbin/modprobe /usr/bin/kmod /bin/kmod; do
		if [ -x "$R$c" ] || [ -L "$R$c" ]; then mp=$c; break; fi
	done
	if [ -n "$mp" ]; then
		# kmod picks its applet by argv[0]'s name
		ln -s "$mp" $R/run/vm/modroot/modprobe
		printf '#!/bin/sh\nexec /run/vm/modroot/modprobe -d /run/vm/modroot "$@"\n' > $R/run/vm/bin/modprobe
		chmod 0755 $R/run/vm/bin/modprobe
		echo /run/vm/bin/modprobe > $R/proc/sys/kernel/modprobe
	fi
fi

# /boot as the guest kernel's package has it (its config, for bpftool & co.)
if [ -n "$VM_KBOOT" ] && [ -d "$R$VM_KBOOT" ] && [ -d $R/boot ]; then
	mount -t tmpfs -o mode=0755 tmpfs $R/boot && cp -p "$R$VM_KBOOT"/config-* "$R$VM_KBOOT"/System.map-* $R/boot/ 2>/dev/null
fi

# the results share at its host path (under the tmpfs /tmp or /run it is made here)
mkdir -p "$R$VM_RESULTS" 2>/dev/null
mount --move /results "$R$VM_RESULTS" || fail "cannot place the results share at $VM_RESULTS"

# further read-write shares: "TAG=PATH ..."
for s in $VM_RW; do
	tag=${s%%=*}; p=${s#*=}
	mkdir -p "$R$p" 2>/dev/null
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$tag" "$R$p" ||
		fail "cannot mount read-write share $tag at $p"
done

cp /bin/busybox /stage2 $R/run/vm/
echo "$VM_RESULTS" > $R/run/vm/results
exec switch_root $R /run/vm/busybox sh /run/vm/stage2
fail "switch_root failed"
