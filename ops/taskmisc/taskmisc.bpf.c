// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskmisc.bpf.c: op taskmisc of one task (taskmisc.h), read from the
 * task itself: no CAP_SYS_RESOURCE, which prlimit64() of a task of
 * another user needs.  The tree is frozen while CRIU asks, so the fields
 * need no lock: /proc takes task_lock() only against concurrent writers.
 */
#include "crib_bpf.h"
#include "taskmisc_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("syscall")
int crib_taskmisc(struct crib_taskmisc_ctx *ctx)
{
	struct crib_taskmisc *m = &ctx->misc;
	struct task_struct *task;
	int level, err;

	task = crib_req_task(&ctx->req, sizeof(*ctx), &level, &err);
	if (!task)
		goto out;

	fill_taskmisc(m, task);

	bpf_task_release(task);
	ctx->req.count = 1;
	ctx->req.total = 1;
out:
	ctx->req.err = err;
	return err;
}
