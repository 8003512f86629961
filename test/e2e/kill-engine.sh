#!/bin/bash
# kill-engine.sh CRIU LIBDIR MANY DIR [SIGNAL [WHEN]]
#
# A fault of the engine mid-dump: dumps `many -v 10000 -f 10000` with
# --engine=crib --leave-running and sends the engine SIGNAL (default KILL;
# STOP stalls it, CRIB_TIMEOUT_MS bounds the wait) as soon as dump.log
# shows WHEN: "prepared" (default: the snapshot is in CRIU's hands, the
# parasite in the target) or "ready" (the engine has just started, the
# tasks are being seized).  Prints key=value lines for
# test/e2e/faults.test.ts: CRIU's exit status, and what the target looks
# like afterwards (CRIU mappings left, state, tracer).  Leaves the target
# running; its pid is printed.
set -u
criu=$1 libdir=$2 many=$3 dir=$4 sig=${5:-KILL} when=${6:-prepared}
case $when in
prepared) mark="engine crib: prepared" ;;
ready) mark="engine pid [0-9]* ready" ;;
*) echo "kill-engine.sh: WHEN is prepared or ready" >&2; exit 2 ;;
esac
mkdir -p "$dir/img"
setsid "$many" -v 10000 -f 10000 -r "$dir/ready" </dev/null >/dev/null 2>&1 &
pid=$!
echo "pid=$pid"
for _ in $(seq 200); do
	[ -e "$dir/ready" ] && break
	sleep 0.05
done
"$criu" dump -t "$pid" -D "$dir/img" -L "$libdir" --engine=crib -o dump.log -v4 --leave-running &
cpid=$!
log=$dir/img/dump.log
killed=
for _ in $(seq 200000); do
	if grep -q "$mark" "$log" 2>/dev/null; then
		epid=$(grep -o "engine pid [0-9]* ready" "$log" | awk '{ print $3 }')
		kill -"$sig" "$epid" && killed=$epid
		break
	fi
	kill -0 "$cpid" 2>/dev/null || break
done
wait "$cpid"
echo "dump=$?"
echo "killed=$killed"
echo "criu_maps=$(grep -c CRIU /proc/$pid/maps)"
echo "state=$(awk '/^State:/ { print $2 }' /proc/$pid/status)"
echo "tracer=$(awk '/^TracerPid:/ { print $2 }' /proc/$pid/status)"
# a stopped engine is CRIU's to kill: none may be left
[ -n "$killed" ] && echo "engine_left=$(kill -0 "$killed" 2>/dev/null && echo yes || echo no)"
