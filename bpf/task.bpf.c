// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * task.bpf.c: ops stat/status (crib_task), threads (crib_threads) and
 * children (crib_children) of one task, as /proc prints them for a reader
 * in the caller's pid namespace (crib_req.ns_inum) and the init user
 * namespace.
 */
#include "crib_bpf.h"
#include "task_fields.h"
#include "task_walk.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("syscall")
int crib_task(struct crib_task_ctx *ctx)
{
	struct crib_task *t = &ctx->task;
	struct task_struct *task;
	int level, err;

	task = crib_req_task(&ctx->req, sizeof(*ctx), &level, &err);
	if (!task)
		goto out;

	/* direct stores into the context: SYSCALL programs may write it */
	fill_task(t, task, level, ctx->req.ns_inum);

	bpf_task_release(task);
	ctx->req.count = 1;
	ctx->req.total = 1;
out:
	ctx->req.err = err;
	return err;
}

/*
 * How long the vma and fds walks of a task will be: mm->map_count in
 * req->count, the fd table's max_fds in req->total.  A hint: user space
 * runs the two walks side by side only when both are long enough to pay
 * for a second thread (collector.ts, prefetch).
 */
SEC("syscall")
int crib_sizes(struct crib_req *req)
{
	struct task_struct *task;
	int level, err;

	task = crib_req_task(req, sizeof(*req), &level, &err);
	if (!task)
		goto out;
	req->count = BPF_CORE_READ(task, mm, map_count);
	req->total = BPF_CORE_READ(task, files, fdt, max_fds);
	bpf_task_release(task);
out:
	req->err = err;
	return err;
}

static long thread_step(__u64 i, void *arg)
{
	return threads_step(arg);
}

SEC("syscall")
int crib_threads(struct crib_req *req)
{
	struct task_struct *task;
	struct walk w = {};
	int level, err;

	task = crib_req_task(req, sizeof(*req), &level, &err);
	if (!task)
		goto out;
	threads_start(&w, task, level, req->ns_inum);
	bpf_loop(CRIB_MAX_TIDS + 1, thread_step, &w, 0);
	bpf_task_release(task);
	err = threads_end(&w);
	req->count = w.count;
	req->total = w.total;
out:
	req->err = err;
	return err;
}

static long child_step(__u64 i, void *arg)
{
	return children_step(arg);
}

SEC("syscall")
int crib_children(struct crib_req *req)
{
	struct task_struct *task;
	struct kids_walk k = {};
	int level, err;

	task = crib_req_task(req, sizeof(*req), &level, &err);
	if (!task)
		goto out;
	children_start(&k, task, level, req->ns_inum);
	bpf_loop(2 * CRIB_MAX_TIDS + 1, child_step, &k, 0);
	bpf_task_release(task);
	err = children_end(&k);
	req->count = k.w.count;
	req->total = k.w.total;
out:
	req->err = err;
	return err;
}
