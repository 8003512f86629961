#!/bin/bash
# engine-check.sh: the engine with the CRIB kfuncs in use, inside the patched
# kernel (make test-kernel-patches runs it as the guest command of
# run-in-qemu.sh: `run-in-qemu.sh BZIMAGE kernel-patches/tests/engine-check.sh REPO`).
#
#   1. `crib check`: fds must be served by crib, and bpf:task_fget must be
#      shown available: a line "... also available: ..., bpf:task_fget, ..."
#      (crib check prints collector.mechanismsFor(op) that way)
#   2. the collector's own view: every CRIB kfunc found by the weak-ksym
#      probe, bpf:task_fget available for fds and fdinfo
#   3. the BPF agreement tests (test/bpf/collector.test.ts) with
#      CRIB_MECHANISM=fds=bpf:task_fget,fdinfo=bpf:task_fget; ENGINE_CHECK_GREP
#      narrows them (mocha --grep) when the whole file is too slow under TCG
#
# Uses the build tree of REPO (read-only here: everything written goes to
# /tmp).  Prints "engine-check: ..." summary lines; exit status 0 when all
# three passed.
set -uo pipefail
repo="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$repo" || exit 1
# settings from the host (the guest sees none of its environment): make test-kernel-patches writes them
[ -f build/kernel/tests/engine-check.env ] && . build/kernel/tests/engine-check.env
for f in build/ts/engine-ts/src/cli/main.js build/addon/crib_native.node build/bpf/fds_fget.bpf.o build/test/zoo build/ts/test/bpf/collector.test.js; do
	[ -e "$f" ] || { echo "engine-check: $f is missing: run make bpf addon ts workloads" >&2; exit 1; }
done
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export HOME=/tmp/home TMPDIR=/tmp LANG=C.UTF-8
mkdir -p "$HOME"
# the zoo workload maps a file in /dev/shm: a tmpfs there, as on the host
if ! grep -q ' /dev/shm ' /proc/mounts; then
	mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 tmpfs /dev/shm
fi
# the 10,000-fd workload needs more than the default 1024
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
kver=$(uname -r)
uptime() { local u _; read -r u _ < /proc/uptime; echo "$u"; }
fails=0
fail() { echo "engine-check: FAIL: $*"; fails=$((fails + 1)); }

t0=$(uptime)
echo "=== crib check ($kver)"
check=$(node build/ts/engine-ts/src/cli/main.js check 2>&1)
echo "$check"
# "  fds       crib (bpf:fdtable_walk)": served by crib, whichever mechanism
fds_line=$(awk '/^ops:/ { on = 1; next } on && $1 == "fds" { print; exit }' <<<"$check")
case "$fds_line" in
*"crib ("*) echo "engine-check: crib check: fds served by $(sed 's/.*crib (\([^)]*\)).*/\1/' <<<"$fds_line")" ;;
*) fail "crib check does not serve fds by crib: '${fds_line:-no fds line}'" ;;
esac
# crib check lists the other mechanisms that loaded (collector.mechanismsFor)
if grep -q 'also available:.*bpf:task_fget' <<<"$check"; then
	echo "engine-check: crib check: bpf:task_fget shown: $(grep -m1 'bpf:task_fget' <<<"$check" | sed 's/^ *//')"
else
	fail "crib check does not mention bpf:task_fget (its fds/fdinfo alternatives are not printed)"
fi
t1=$(uptime)

echo "=== collector: CRIB kfuncs and the mechanisms of fds ($kver)"
node -e '
const { createCollector } = require("./build/ts/engine-ts/src/bpf/collector");
const { findPaths } = require("./build/ts/engine-ts/src/paths");
const p = findPaths();
const c = createCollector({ objDir: p.objDir, addonPath: p.addon, mechanisms: {} });
let bad = 0;
const k = c.kfuncs();
console.log(`kfuncs (${k.method}): ${Object.entries(k.has).map(([n, v]) => `${n}=${v ? "yes" : "no"}`).join(" ")}`);
if (k.method !== "weak ksym" || !Object.values(k.has).every(Boolean)) { console.log("missing CRIB kfuncs"); bad++; }
for (const op of ["fds", "fdinfo"]) {
  const all = c.mechanismsFor(op);
  console.log(`${op}: ${all.map((m) => `${m.mechanism}${m.serving ? " (serving)" : m.available ? " (available)" : ` (unavailable: ${m.reason})`}`).join(", ")}`);
  if (!all.some((m) => m.mechanism === "bpf:task_fget" && m.available)) bad++;
}
c.close();
process.exit(bad ? 1 : 0);
' || fail "the collector does not have bpf:task_fget available for fds and fdinfo"
t2=$(uptime)

echo "=== BPF agreement tests, CRIB_MECHANISM=fds=bpf:task_fget,fdinfo=bpf:task_fget ($kver)"
mocha_out=/tmp/engine-check-mocha.txt
grep_args=()
[ -n "${ENGINE_CHECK_GREP:-}" ] && grep_args=(--grep "$ENGINE_CHECK_GREP")
CRIB_MECHANISM=fds=bpf:task_fget,fdinfo=bpf:task_fget \
	npx --no-install mocha --no-config --forbid-only --timeout 300000 --reporter spec "${grep_args[@]}" \
	build/ts/test/bpf/collector.test.js 2>&1 | tee "$mocha_out"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || fail "agreement tests exit $rc"
# the kfunc sets must have run their fd tests here, not skipped them
if grep -q 'skipped, not served on this kernel:.*bpf:task_fget' "$mocha_out"; then
	fail "the bpf:task_fget fd tests were skipped on the patched kernel"
fi
t3=$(uptime)

summary=$(grep -E '^\s+[0-9]+ (passing|failing|pending)' "$mocha_out" | sed 's/^ *//' | tr '\n' ' ')
echo "engine-check: $kver: tests: ${summary:-none}(exit $rc); crib check $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s, collector $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')s, tests $(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.1f", b-a}')s"
echo "engine-check: $fails failure(s)"
[ "$fails" = 0 ]
