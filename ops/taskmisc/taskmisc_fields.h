/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskmisc_fields.h: filling struct crib_taskmisc from a task, the FILL of
 * crib_task_op.h for the programs of taskmisc.bpf.c and taskmisc_iter.bpf.c.
 */
#ifndef __CRIB_TASKMISC_FIELDS_H__
#define __CRIB_TASKMISC_FIELDS_H__

#include "taskmisc.h"

static __always_inline void fill_taskmisc(struct crib_taskmisc *m, struct task_struct *task, int level, __u32 ns_inum)
{
	struct signal_struct *sig;
	int i;

	m->have = 0;
	m->personality = task->personality;
	if (bpf_core_field_exists(task->loginuid)) {
		m->loginuid = task->loginuid.val;
		m->have |= CRIB_TASKMISC_LOGINUID;
	}
	sig = task->signal;
	m->oom_score_adj = sig->oom_score_adj;
	m->have |= CRIB_TASKMISC_OOM;
	/*
	 * Unrolled: a SYSCALL program writes m in its context, and each store
	 * there needs a constant offset (the verifier refuses a store through
	 * a ctx pointer moved by i).
	 */
#pragma unroll
	for (i = 0; i < CRIB_RLIMITS; i++) {
		m->rlim_cur[i] = sig->rlim[i].rlim_cur;
		m->rlim_max[i] = sig->rlim[i].rlim_max;
	}
	m->nr_rlimits = CRIB_RLIMITS;
}

#endif /* __CRIB_TASKMISC_FIELDS_H__ */
