// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pertask.bpf.c: one tree pass (crib_tree.h) for every per-task op of a
 * folder (crib_task_op.h: ops/NAME/NAME_fields.h), crib_pertask.  Each
 * task of tree_in is found once, then each op's FILL writes its record
 * into that op's own map out_NAME, laid out as its crib_NAME_tree (the
 * tree_out of the op's own pass).  The ops are build/bpf/pertask_ops.h's,
 * made from ops/registry by bpf.mk.
 *
 * Finding a task (crib_find_task()) is most of a per-task op's pass: 0.6
 * of 0.7 us a task, its fields a few cache misses away.  crib.so runs
 * this pass in prepare() where it would run five (plugin/direct.c); the
 * engine's own passes stay per op (engine-ts/src/engine/ops.ts).
 */
#include "crib_bpf.h"
#define CRIB_TASK_FROM_PID
/* each FILL writes a map value (out_NAME), never a context: it may copy a record with a helper */
#define CRIB_FILL_MAP_VALUE
#include "pertask_ops.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PERTASK_OUT(name) CRIB_TREE_OUT(out_##name, struct crib_##name##_tree)

CRIB_PERTASK_OPS(PERTASK_OUT)

struct pertask_walk {
	__u32 ns_inum;
	__u32 slot;	/* crib_tree_req.slot: the entry of tree_in and of each out_NAME */
	__u32 done;
};

/*
 * Each op's FILL in a function of its own: inlined one after the other,
 * the branches of one (cgroup's walk) multiplied the verifier's states in
 * the next (taskfs's three paths): 310,000 instructions processed and
 * 0.95 s to load.  Called, each is verified on its own path and the step
 * goes on from one state: 82,000 instructions, 0.36-0.49 s.
 */
#define PERTASK_FILL_FN(name)							\
static __noinline void pertask_##name(struct crib_##name##_tree *o, __u64 i,	\
				      struct task_struct *task, int level,	\
				      __u32 ns_inum)				\
{										\
	if (o && task && i < CRIB_TREE_MAX)					\
		fill_##name(&o->rec[i], task, level, ns_inum);			\
}

CRIB_PERTASK_OPS(PERTASK_FILL_FN)

/* The task's record (or why there is none) into entry @i of out_NAME */
#define PERTASK_FILL(name)							\
	{									\
		struct crib_##name##_tree *o;					\
										\
		o = bpf_map_lookup_elem(&out_##name, &w->slot);			\
		if (o) {							\
			o->err[i] = err;					\
			if (task)						\
				pertask_##name(o, i, task, level, w->ns_inum);	\
		}								\
	}

static long pertask_step(__u64 i, void *arg)
{
	struct pertask_walk *w = arg;
	struct crib_tree_in *in;
	struct task_struct *task;
	int level = 0, err;

	in = bpf_map_lookup_elem(&tree_in, &w->slot);
	if (!in || i >= CRIB_TREE_MAX)
		return 1;
	task = crib_find_task(in->pid[i], in->lookup[i], w->ns_inum, &level, &err);
	CRIB_PERTASK_OPS(PERTASK_FILL)
	if (task)
		bpf_task_release(task);
	w->done++;
	return 0;
}

CRIB_TREE_PROG(crib_pertask, pertask_walk, pertask_step)
