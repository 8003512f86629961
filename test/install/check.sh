#!/bin/bash
# After `make install`: criu, crib and the plugin work from PREFIX with no
# extra flags.  A live workload is dumped with --engine=crib, restored with
# plain `criu restore`, and must go on; `crib check` and `crib ab` run from
# the installed copy.
#
# usage: test/install/check.sh PREFIX WORKLOADS_DIR
set -euo pipefail

prefix=$1 workloads=$2
criu=$prefix/sbin/criu
crib=$prefix/bin/crib
dir=$(mktemp -d /tmp/crib-install-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "test-install: FAIL: $*" >&2
	[ -f "$dir/img/dump.log" ] && tail -20 "$dir/img/dump.log" >&2
	exit 1
}

count() { tr -d '\n' < "$dir/counter.txt" | sed 's/^0*//'; }

setsid "$workloads/counter" "$dir/counter.txt" </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$dir/counter.txt" ] && break; sleep 0.05; done

mkdir "$dir/img"
"$criu" dump --engine=crib -t "$pid" -D "$dir/img" -o dump.log -v4 || fail "criu dump --engine=crib"
grep -q "engine: op vma: crib" "$dir/img/dump.log" || fail "the dump log does not show vma served by crib"
at_dump=$(count)
wait "$pid" 2>/dev/null || true
for _ in $(seq 200); do [ -d "/proc/$pid" ] || break; sleep 0.05; done

"$criu" restore -D "$dir/img" -d -o restore.log || fail "criu restore"
before=$(count)
sleep 0.5
after=$(count)
[ "$after" -gt "$before" ] && [ "$before" -ge "$at_dump" ] ||
	fail "restored workload did not go on ($at_dump at dump, $before -> $after)"
echo "test-install: dumped at $at_dump, restored and went on to $after"
kill -9 "$pid"
pid=

"$crib" check >/dev/null || fail "crib check"
"$crib" ab --settle 800 -- "$workloads/many" -v 200 -f 100 >"$dir/ab.txt" 2>&1 || { cat "$dir/ab.txt"; fail "crib ab"; }
grep -q "no differences" "$dir/ab.txt" || { cat "$dir/ab.txt"; fail "crib ab found differences"; }
echo "test-install: 3 passed, 0 failed"
