/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * timers_fields.h: filling struct crib_timers from a task, the FILL of
 * crib_task_op.h for timers.bpf.c and timers_iter.bpf.c: whether
 * signal->posix_timers, the list fs/proc/base.c show_timer() walks, has
 * an entry, whichever kind of list head this kernel has.  (A timer whose signal is ignored is also on
 * ignored_posix_timers, 6.13+, and stays on this list.)
 */
#ifndef __CRIB_TIMERS_FIELDS_H__
#define __CRIB_TIMERS_FIELDS_H__

#include "timers.h"

static __always_inline void fill_timers(struct crib_timers *r, struct task_struct *task, int level, __u32 ns_inum)
{
#ifdef CRIB_TASK_FROM_PID
	struct signal_struct *sig = task->signal; /* typed: a plain load (6.2+; the 6.1 iterator keeps the probe read) */
#else
	struct signal_struct *sig = BPF_CORE_READ(task, signal);
#endif
	/* an hlist_head since 6.13 (its first entry), a list_head before (its next) */
	__u32 off = bpf_core_field_offset(struct signal_struct, posix_timers);
	__u32 size = bpf_core_field_size(struct signal_struct, posix_timers);
	__u64 first = 0;

	r->any = 0;
	if (!sig || bpf_probe_read_kernel(&first, sizeof(first), (void *)sig + off))
		return;
	if (size == sizeof(struct hlist_head))
		r->any = first != 0;
	else
		r->any = first && first != (__u64)sig + off; /* an empty list points at itself */
}

#endif /* __CRIB_TIMERS_FIELDS_H__ */
