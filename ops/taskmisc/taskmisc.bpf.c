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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct crib_taskmisc_tree);
} tree_out SEC(".maps");

struct tree_walk {
	__u32 ns_inum;
	__u32 done;
};

static long tree_step(__u64 i, void *arg)
{
	struct tree_walk *w = arg;
	struct crib_taskmisc_tree *out;
	struct crib_tree_in *in;
	struct task_struct *task;
	__u32 zero = 0;
	int level, err;

	in = bpf_map_lookup_elem(&tree_in, &zero);
	out = bpf_map_lookup_elem(&tree_out, &zero);
	if (!in || !out || i >= CRIB_TREE_MAX)
		return 1;
	task = crib_find_task(in->pid[i], in->lookup[i], w->ns_inum, &level, &err);
	out->err[i] = err;
	if (task) {
		fill_taskmisc(&out->rec[i], task);
		bpf_task_release(task);
	}
	w->done++;
	return 0;
}

/*
 * The tree pass: op taskmisc for the nr tasks of map tree_in in one run
 * (crib_tree.h), into map tree_out.
 */
SEC("syscall")
int crib_taskmisc_tree(struct crib_tree_req *ctx)
{
	struct tree_walk w = {};
	int err;

	err = crib_tree_check(ctx);
	if (err)
		goto out;
	w.ns_inum = ctx->req.ns_inum;
	bpf_loop(ctx->nr, tree_step, &w, 0);
	ctx->req.count = w.done;
	ctx->req.total = w.done;
out:
	ctx->req.err = err;
	return err;
}
