#!/bin/bash
# pidns.sh CRIU LIBDIR COUNTER DIR [CRIU OPTIONS...]
#
# Run as the first process of a new pid namespace (unshare --pid --fork
# --mount-proc --net), as ZDTM and containers run CRIU: starts COUNTER, dumps it
# with CRIU from inside the namespace (the options given, e.g.
# --engine=crib --engine-verify), restores it, and prints what happened as
# key=value lines for test/e2e/pidns.test.ts.  The workload's number here
# (2: this shell is 1) is also a task of the init namespace (kthreadd).
set -u
criu=$1 libdir=$2 counter=$3 dir=$4
shift 4

# CRIU's kernel-feature probe connects over loopback (tcp repair)
ip link set lo up

# nothing but fds 0-2 goes to the workload: CRIU cannot dump fds of files
# on mounts this new mount namespace does not show
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] && eval "exec $fd>&-"
done 2>/dev/null

: >"$dir/in"
setsid "$counter" "$dir/count" <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
echo "vpid=$pid"
for _ in $(seq 100); do
	[ -s "$dir/count" ] && break
	sleep 0.05
done

mkdir -p "$dir/img"
"$criu" dump -t "$pid" -D "$dir/img" -L "$libdir" -o dump.log -v4 "$@"
rc=$?
echo "dump=$rc"
if [ $rc -ne 0 ]; then
	kill -9 "$pid"
	exit 0
fi
wait "$pid" 2>/dev/null

"$criu" restore -D "$dir/img" -L "$libdir" -o restore.log -v4 -d
echo "restore=$?"
before=$(cat "$dir/count")
sleep 0.5
echo "before=$before"
echo "after=$(cat "$dir/count")"
echo "restored_comm=$(cat /proc/$pid/comm 2>/dev/null)"
kill -9 "$pid" 2>/dev/null
