#!/bin/sh
# PID 1 in the guest after switch_root into the host's (read-only) root; runs
# under the initramfs' busybox sh, copied to /run/vm. Runs the command that
# run-in-vm.sh wrote to the results share (cmd.sh, a bash script that cd's to
# the requested directory), stdout/stderr into the share, writes its exit
# status there and powers the VM off.
BB=/run/vm/busybox
R=$(cat /run/vm/results)
export PATH=/run/vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/home TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb
export CRIB_VM=1 CRIB_VM_RESULTS="$R"
$BB mkdir -p "$HOME"
$BB hostname crib-vm 2>/dev/null
$BB cat /proc/uptime > "$R/uptime.start"

/bin/bash "$R/cmd.sh" > "$R/stdout" 2> "$R/stderr" < /dev/null &
child=$!
# while waiting, PID 1 (this shell) also reaps orphans
wait $child
rc=$?
$BB cat /proc/uptime > "$R/uptime.end"
echo $rc > "$R/status.tmp" && $BB mv "$R/status.tmp" "$R/status"
$BB sync
$BB poweroff -f
# poweroff did not stop the machine: init exiting panics, and with panic=-1 and
# qemu -no-reboot that ends qemu
exit $rc
