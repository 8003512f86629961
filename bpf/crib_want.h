/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_want.h: which tasks a seq iterator attached to no task reports
 * (a list op read for a whole frozen tree at once: Collector.runStreamAll).
 * Map "want" holds a bit per pid of the caller's namespace, up to
 * PID_MAX_LIMIT on 64-bit; user space writes it whole before the read.
 * The program finds each task's pid in the caller's namespace itself, so a
 * caller of another pid namespace needs no lookup.
 */
#ifndef __CRIB_WANT_H__
#define __CRIB_WANT_H__

#include "crib_bpf.h"

#define CRIB_WANT_PID_LIMIT (4u << 20)

struct crib_want {
	__u64 bits[CRIB_WANT_PID_LIMIT / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_want);
} want SEC(".maps");

/*
 * The pid in the caller's namespace @inum of @task when the caller asked
 * for it (a process: its thread group leader), else 0.
 */
static __always_inline __s32 crib_wanted(struct task_struct *task, __u32 inum)
{
	struct crib_want *w;
	struct pid *pid;
	__u32 zero = 0, word;
	__s32 nr;
	int level;

	w = bpf_map_lookup_elem(&want, &zero);
	if (!w || task != BPF_CORE_READ(task, group_leader))
		return 0;
	pid = BPF_CORE_READ(task, thread_pid);
	level = crib_ns_level(pid, inum);
	if (level < 0)
		return 0;
	nr = BPF_CORE_READ(crib_upid(pid, level), nr);
	if (nr <= 0 || nr >= CRIB_WANT_PID_LIMIT)
		return 0;
	word = (__u32)nr >> 6;
	/* clang 14 may test one register and use another (NOTES): pin the bound */
	asm volatile("" : "+r"(word));
	word &= CRIB_WANT_PID_LIMIT / 64 - 1;
	return w->bits[word] & (1ULL << (nr & 63)) ? nr : 0;
}

#endif /* __CRIB_WANT_H__ */
