// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskmisc_iter.bpf.c: the seq-iterator fallback of taskmisc.bpf.c for
 * kernels without bpf_task_from_pid (< 6.2): an iter/task program that
 * user space attaches to one tid.  It writes the record the SYSCALL
 * program would leave in its context (CRIB_REC_CTX) and an END record;
 * nothing for a task that is not the caller's pid (crib_iter.h).
 */
#include "crib_iter.h"
#include "taskmisc_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int crib_taskmisc_iter(struct bpf_iter__task *ctx)
{
	CRIB_REC(struct crib_taskmisc) r = {};
	struct task_struct *task = ctx->task;
	__u32 inum;

	if (crib_iter_task_level(task, &inum) < 0)
		return 0;
	crib_rec_init(&r.h, CRIB_REC_CTX, sizeof(r));
	fill_taskmisc(&r.p, task);
	if (!bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
		crib_rec_end(ctx->meta->seq, 0, 1, 1, 0, 0);
	return 0;
}
