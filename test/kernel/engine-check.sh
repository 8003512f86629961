#!/bin/bash
# engine-check.sh: the engine's own checks, run inside the guest by
# `make test-kernels` (KERNEL_CHECK_CMD) against this build tree (read-only
# in the guest: everything written goes to /tmp).
#
#   1. `crib check`: which ops crib serves on this kernel and by which
#      mechanism, or why not (exit status not used: it fails where an op
#      falls back to procfs, which is allowed)
#   2. the BPF agreement tests (test/bpf/*.test.ts: every mechanism that
#      loads here against /proc, the probing and record layout tests); an op
#      a mechanism cannot serve here is skipped with its reason printed;
#      the pid-namespace tests: CRIU inside a child pid namespace dumps its
#      pid 2 with crib + verify and restores it (test/e2e/pidns.test.ts)
#
# Prints "engine-check: KERNEL: op=mechanism ..." and the mocha summary;
# writes both to $CRIB_VM_RESULTS/engine-check.txt when that is set.  Exit
# status: mocha's.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
build=build
for f in "$build/ts/engine-ts/src/cli/main.js" "$build/addon/crib_native.node" "$build/bpf/vma_iter.bpf.o" "$build/test/zoo"; do
	[ -e "$f" ] || { echo "engine-check: $f is missing: run make bpf addon ts workloads" >&2; exit 1; }
done
export TMPDIR=/tmp
# the 10,000-fd workload needs more than the default 1024
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
kver=$(uname -r)
uptime() { local u _; read -r u _ < /proc/uptime; echo "$u"; }

t0=$(uptime)
echo "=== crib check ($kver)"
check=$(node "$build/ts/engine-ts/src/cli/main.js" check 2>&1)
echo "$check"
# "  vma       crib (bpf:iter/task_vma)" / "  vma       procfs fallback: why"
ops=$(awk '/^ops:/ { on = 1; next } on && NF { m = $2 == "crib" ? $3 : "procfs"; gsub(/[()]/, "", m); printf "%s%s=%s", sep, $1, m; sep = " " }' <<<"$check")
t1=$(uptime)

echo "=== BPF agreement tests ($kver)"
mocha_out=/tmp/engine-check-mocha.txt
# A hung test would only end with the VM's timeout, telling nothing: past
# ENGINE_CHECK_TIMEOUT seconds (900: the agreement tests of 18 ops take 7 min
# under TCG), show what every process waits on, then stop.
stuck() {
	echo "engine-check: the tests did not end in ${ENGINE_CHECK_TIMEOUT:-900}s; processes:"
	ps -eo pid,ppid,stat,wchan:32,args | grep -v ' \[' | cut -c1-160
	for p in /proc/[0-9]*; do
		case $(cat "$p/stat" 2>/dev/null | awk '{ print $3 }') in
		D | T | t) ;;
		*) grep -q node "$p/comm" 2>/dev/null || continue ;;
		esac
		echo "--- $(basename "$p") $(cat "$p/comm" 2>/dev/null): kernel stack"
		cat "$p/stack" 2>/dev/null | head -12
	done
}
# (no process substitution: the guest has no /dev/fd)
(
	npx --no-install mocha --no-config --forbid-only --timeout 300000 --reporter spec \
		build/ts/test/bpf/records.test.js build/ts/test/bpf/probe.test.js build/ts/test/bpf/collector.test.js \
		build/ts/test/bpf/pidns.test.js build/ts/test/e2e/pidns.test.js build/ts/ops/*/*.test.js \
		build/ts/test/bpf/tree.test.js build/ts/test/bpf/vma-files.test.js \
		2>&1 | tee "$mocha_out"
	exit "${PIPESTATUS[0]}"
) &
mocha_pid=$!
( sleep "${ENGINE_CHECK_TIMEOUT:-900}"; stuck; pkill -TERM -f "mocha --no-config" ) &
watchdog=$!
wait "$mocha_pid"
rc=$?
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
t2=$(uptime)

summary=$(grep -E '^\s+[0-9]+ (passing|failing|pending)' "$mocha_out" | sed 's/^ *//' | tr '\n' ' ')
skips=$(grep -c 'skipped, not served on this kernel' "$mocha_out")
line="engine-check: $kver: $ops"
res="engine-check: $kver: tests: ${summary:-none}($skips skipped for unsupported ops), exit $rc; check $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s, tests $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')s"
echo "$line"
echo "$res"
if [ -n "${CRIB_VM_RESULTS:-}" ]; then
	{ echo "$check"; echo "$line"; echo "$res"; } > "$CRIB_VM_RESULTS/engine-check.txt"
fi
exit "$rc"
