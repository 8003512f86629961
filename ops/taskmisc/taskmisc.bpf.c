// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskmisc.bpf.c: op taskmisc of one task (taskmisc.h), read from the
 * task itself: no CAP_SYS_RESOURCE, which prlimit64() of a task of
 * another user needs.  The tree is frozen while CRIU asks, so the fields
 * need no lock: /proc takes task_lock() only against concurrent writers.
 */
#include "crib_bpf.h"
#include "taskmisc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("syscall")
int crib_taskmisc(struct crib_taskmisc_ctx *ctx)
{
	struct crib_taskmisc *m = &ctx->misc;
	struct signal_struct *sig;
	struct task_struct *task;
	int level, err, i;

	task = crib_req_task(&ctx->req, sizeof(*ctx), &level, &err);
	if (!task)
		goto out;

	m->have = 0;
	m->personality = BPF_CORE_READ(task, personality);
	if (bpf_core_field_exists(task->loginuid)) {
		m->loginuid = BPF_CORE_READ(task, loginuid.val);
		m->have |= CRIB_TASKMISC_LOGINUID;
	}
	sig = BPF_CORE_READ(task, signal);
	m->oom_score_adj = BPF_CORE_READ(sig, oom_score_adj);
	m->have |= CRIB_TASKMISC_OOM;
	/*
	 * Unrolled: each store into the context needs a constant offset (the
	 * verifier refuses a store through a ctx pointer moved by i).
	 */
#pragma unroll
	for (i = 0; i < CRIB_RLIMITS; i++) {
		m->rlim[i].cur = BPF_CORE_READ(sig, rlim[i].rlim_cur);
		m->rlim[i].max = BPF_CORE_READ(sig, rlim[i].rlim_max);
	}
	m->nr_rlimits = CRIB_RLIMITS;

	bpf_task_release(task);
	ctx->req.count = 1;
	ctx->req.total = 1;
out:
	ctx->req.err = err;
	return err;
}
