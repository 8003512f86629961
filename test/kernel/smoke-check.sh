#!/bin/bash
# smoke-check.sh: the default check of `make test-kernels`, run inside the guest
# by run-in-vm.sh. Prints the kernel release, BTF presence, a bpftool feature
# probe summary (bpftool loads a small program of each type to probe it, so this
# proves BPF is usable as root), that Node.js runs, and writes smoke.txt to the
# results share. Exit status 0 only if all of that holds.
set -u
fail=0
uptime() { local u _; read -r u _ < /proc/uptime; echo "$u"; }
last=$(uptime)
check() { # NAME OK(0/1) DETAIL; the time since the previous check goes last
	local now d; now=$(uptime); d=$(awk -v a="$last" -v b="$now" 'BEGIN { printf "%.1fs", b - a }'); last=$now
	if [ "$2" = 0 ]; then echo "  ok    $1: $3 ($d)"; else echo "  FAIL  $1: $3 ($d)"; fail=1; fi
}

echo "uname -r: $(uname -r)"
[ "${CRIB_VM:-}" = 1 ]; check "in VM" $? "CRIB_VM=${CRIB_VM:-unset}"

if [ -r /sys/kernel/btf/vmlinux ]; then
	check "BTF" 0 "/sys/kernel/btf/vmlinux $(stat -c %s /sys/kernel/btf/vmlinux) bytes"
else
	check "BTF" 1 "/sys/kernel/btf/vmlinux missing"
fi

grep -q ' /sys/fs/bpf bpf ' /proc/mounts; check "bpffs" $? "/sys/fs/bpf"

if command -v bpftool >/dev/null; then
	probe=$(bpftool feature probe kernel 2>/dev/null)
	avail=$(grep -c 'eBPF program_type .* is available' <<<"$probe")
	total=$(grep -c 'eBPF program_type ' <<<"$probe")
	helpers=$(grep -c '^	- bpf_' <<<"$probe")
	[ "$avail" -gt 0 ]; check "BPF prog load" $? "$avail/$total program types load, $helpers helper entries"
	for t in syscall tracing kprobe tracepoint; do
		grep -q "eBPF program_type $t is available" <<<"$probe"; check "  program_type $t" $? ""
	done
	grep -qE 'eBPF map_type (ringbuf|array) is available' <<<"$probe"; check "  map types" $? "array/ringbuf"
	# grep -m1 ends the dump early (the whole raw dump takes seconds under TCG)
	bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2>/dev/null | grep -qm1 "STRUCT 'task_struct'"
	check "BTF parse" $? "task_struct found by bpftool btf dump"
else
	check "bpftool" 1 "not found in PATH"
fi

if v=$(node -e 'console.log(process.version)' 2>&1); then check "node" 0 "$v"; else check "node" 1 "$v"; fi

if [ -n "${CRIB_VM_RESULTS:-}" ] && echo "$(uname -r) $(date +%s)" > "$CRIB_VM_RESULTS/smoke.txt"; then
	check "results share" 0 "wrote $CRIB_VM_RESULTS/smoke.txt"
else
	check "results share" 1 "cannot write to CRIB_VM_RESULTS=${CRIB_VM_RESULTS:-unset}"
fi
exit $fail
