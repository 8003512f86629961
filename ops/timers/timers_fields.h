/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * timers_fields.h: filling struct crib_timers from a task, the FILL of
 * crib_task_op.h for timers.bpf.c and timers_iter.bpf.c: whether
 * signal->posix_timers, the list fs/proc/base.c show_timer() walks, has
 * an entry.  (A timer whose signal is ignored is also on
 * ignored_posix_timers, 6.13+, and stays on this list.)
 */
#ifndef __CRIB_TIMERS_FIELDS_H__
#define __CRIB_TIMERS_FIELDS_H__

#include "timers.h"

static __always_inline void fill_timers(struct crib_timers *r, struct task_struct *task, int level, __u32 ns_inum)
{
	struct signal_struct *sig = BPF_CORE_READ(task, signal);

	r->any = sig && BPF_CORE_READ(sig, posix_timers.first) ? 1 : 0;
}

#endif /* __CRIB_TIMERS_FIELDS_H__ */
