/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_task_op.h: the programs of a per-task op of a folder (ops/NAME),
 * written once.  Such an op fills one record per task:
 *
 *	static __always_inline void FILL(REC *r, struct task_struct *task,
 *					 int level, __u32 ns_inum);
 *
 * (level and ns_inum: the caller's pid namespace, crib_task_check()).
 * FILL may run with r in a SYSCALL program's context, where every store
 * needs a constant offset: loops in it are unrolled.
 *
 *   NAME.h          the record REC, then CRIB_TASK_OP_TYPES(NAME, REC):
 *                   struct crib_NAME_ctx (the request, then the record)
 *                   and struct crib_NAME_tree (map tree_out of the tree pass)
 *   NAME.bpf.c      CRIB_TASK_OP_PROGS(NAME, REC, FILL): crib_NAME, one
 *                   task by pid, and crib_NAME_tree, many (crib_tree.h);
 *                   crib_NAME_tree_rb, the same through a ring buffer
 *   NAME_iter.bpf.c CRIB_TASK_OP_ITER(NAME, REC, FILL): crib_NAME_iter,
 *                   iter/task attached to one task, for kernels without
 *                   bpf_task_from_pid (< 6.2); a CRIB_REC_CTX record
 *
 * An object of SYSCALL programs, which need bpf_task_from_pid() (6.2+),
 * defines CRIB_TASK_FROM_PID before it includes NAME_fields.h: its FILL
 * may then use what 6.2 has (bpf_rdonly_cast()).
 *
 * bpf/pertask.bpf.c runs the FILL of every such op in one tree pass,
 * crib_pertask, each task found once: what crib.so runs in prepare().
 *
 * engine-ts/src/engine/ops.ts taskOp() is the user-space side of the
 * same shape.
 */
#ifndef __CRIB_TASK_OP_H__
#define __CRIB_TASK_OP_H__

#include "crib_tree.h"

#define CRIB_TASK_OP_TYPES(name, rec_t)						\
struct crib_##name##_ctx {							\
	struct crib_req req;							\
	rec_t rec;								\
};										\
struct crib_##name##_tree {							\
	__s32 err[CRIB_TREE_MAX];	/* 0, or -errno for tree_in's pid[i] */	\
	rec_t rec[CRIB_TREE_MAX];						\
};

#ifdef __VMLINUX_H__

/*
 * Which run of a program of this object a FILL is in, per CPU (a run
 * stays on its CPU): bumped at the start of every run, so a FILL may keep
 * what it found for the task before and reuse it within the same run
 * only (cgroup_fields.h: the tasks of a tree mostly share a css_set).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fill_run SEC(".maps");

/* A new run: the count goes up (it is 0 only before the first) */
static __always_inline void crib_fill_begin(void)
{
	__u32 zero = 0;
	__u64 *run = bpf_map_lookup_elem(&fill_run, &zero);

	if (run)
		*run += 1;
}

/* The run a FILL is in: 0 when unknown (keep nothing) */
static __always_inline __u64 crib_fill_run(void)
{
	__u32 zero = 0;
	__u64 *run = bpf_map_lookup_elem(&fill_run, &zero);

	return run ? *run : 0;
}

/*
 * Zeroes a record of @size bytes (a multiple of 8) at @p: clang expands a
 * memset() of up to 1 KiB and fails on a bigger one (ops/cgroup's record
 * is 2.3 KiB), so past that a loop of volatile stores, which clang does
 * not turn back into memset().
 */
static __always_inline void crib_zero_rec(void *p, const __u32 size)
{
	int k;

	if (size <= 1024) {
		__builtin_memset(p, 0, size);
		return;
	}
	for (k = 0; k < size / 8; k++)
		*(volatile __u64 *)(p + k * 8) = 0;
}

/* The output map @map of a tree pass: CRIB_TREE_SLOTS entries of @value_t, mapped by user space */
#define CRIB_TREE_OUT(map, value_t)						\
struct {									\
	__uint(type, BPF_MAP_TYPE_ARRAY);					\
	__uint(max_entries, CRIB_TREE_SLOTS);					\
	__uint(map_flags, BPF_F_MMAPABLE);					\
	__type(key, __u32);							\
	__type(value, value_t);							\
} map SEC(".maps");

/* A tree pass (crib_tree.h): @step for each entry of tree_in, with a @walk_t on the stack */
#define CRIB_TREE_PROG(prog, walk_t, step)					\
SEC("syscall")									\
int prog(struct crib_tree_req *ctx)						\
{										\
	struct walk_t w = {};							\
	int err;								\
										\
	crib_fill_begin();							\
	err = crib_tree_check(ctx);						\
	if (!err) {								\
		w.ns_inum = ctx->req.ns_inum;					\
		w.slot = ctx->slot;						\
		bpf_loop(ctx->nr, step, &w, 0);					\
		ctx->req.count = w.done;					\
		ctx->req.total = w.done;					\
	}									\
	ctx->req.err = err;							\
	return err;								\
}

#define CRIB_TASK_OP_PROGS(name, rec_t, fill)					\
SEC("syscall")									\
int crib_##name(struct crib_##name##_ctx *ctx)					\
{										\
	struct task_struct *task;						\
	int level, err;								\
										\
	crib_fill_begin();							\
	task = crib_req_task(&ctx->req, sizeof(*ctx), &level, &err);		\
	if (task) {								\
		fill(&ctx->rec, task, level, ctx->req.ns_inum);			\
		bpf_task_release(task);						\
		ctx->req.count = 1;						\
		ctx->req.total = 1;						\
	}									\
	ctx->req.err = err;							\
	return err;								\
}										\
										\
CRIB_TREE_OUT(tree_out, struct crib_##name##_tree)				\
										\
struct crib_##name##_walk {							\
	__u32 ns_inum;								\
	__u32 slot;	/* crib_tree_req.slot: the entry of tree_in and tree_out */	\
	__u32 done;								\
};										\
										\
/* Entry i of tree_in into @rec and @err: the task found exactly, or why not */	\
static __always_inline void crib_##name##_one(__u64 i, struct crib_##name##_walk *w,	\
					      rec_t *rec, __s32 *err)		\
{										\
	struct crib_tree_in *in;						\
	struct task_struct *task;						\
	int level, e;								\
										\
	in = bpf_map_lookup_elem(&tree_in, &w->slot);				\
	if (!in || i >= CRIB_TREE_MAX) {					\
		*err = -EINVAL;							\
		return;								\
	}									\
	task = crib_find_task(in->pid[i], in->lookup[i], w->ns_inum, &level, &e);	\
	*err = e;								\
	if (task) {								\
		fill(rec, task, level, w->ns_inum);				\
		bpf_task_release(task);						\
	}									\
	w->done++;								\
}										\
										\
static long crib_##name##_step(__u64 i, void *arg)				\
{										\
	struct crib_##name##_walk *w = arg;					\
	struct crib_##name##_tree *out;						\
										\
	out = bpf_map_lookup_elem(&tree_out, &w->slot);				\
	if (!out || i >= CRIB_TREE_MAX)						\
		return 1;							\
	crib_##name##_one(i, w, &out->rec[i], &out->err[i]);			\
	return 0;								\
}										\
										\
CRIB_TREE_PROG(crib_##name##_tree, crib_##name##_walk, crib_##name##_step)	\
										\
struct {									\
	__uint(type, BPF_MAP_TYPE_RINGBUF);					\
	__uint(max_entries, CRIB_TREE_RB_SIZE);					\
} tree_rb SEC(".maps");								\
										\
struct crib_##name##_rb_rec {							\
	struct crib_tree_rec h;							\
	rec_t rec;								\
};										\
										\
static long crib_##name##_rb_step(__u64 i, void *arg)				\
{										\
	struct crib_##name##_rb_rec *r;						\
										\
	if (i >= CRIB_TREE_MAX)							\
		return 1;							\
	r = bpf_ringbuf_reserve(&tree_rb, sizeof(*r), 0);			\
	if (!r)									\
		return 1; /* full: done stays short of nr */			\
	crib_zero_rec(&r->rec, sizeof(r->rec));					\
	r->h.idx = i;								\
	crib_##name##_one(i, arg, &r->rec, &r->h.err);				\
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);				\
	return 0;								\
}										\
										\
CRIB_TREE_PROG(crib_##name##_tree_rb, crib_##name##_walk, crib_##name##_rb_step)

#define CRIB_TASK_OP_ITER(name, rec_t, fill)					\
/* the record in a map: a record of a few hundred bytes does not fit the stack */	\
struct {									\
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);				\
	__uint(max_entries, 1);							\
	__type(key, __u32);							\
	__type(value, CRIB_REC(rec_t));						\
} iter_rec SEC(".maps");							\
										\
SEC("iter/task")								\
int crib_##name##_iter(struct bpf_iter__task *ctx)				\
{										\
	struct task_struct *task = ctx->task;					\
	__u32 inum, zero = 0;							\
	int level;								\
	CRIB_REC(rec_t) *r = bpf_map_lookup_elem(&iter_rec, &zero);		\
										\
	if (!r)									\
		return 0;							\
	crib_fill_begin();							\
	level = crib_iter_task_level(task, &inum);				\
	if (level < 0)								\
		return 0;							\
	crib_zero_rec(&r->p, sizeof(r->p));					\
	crib_rec_init(&r->h, CRIB_REC_CTX, sizeof(*r));				\
	fill(&r->p, task, level, inum);						\
	if (!bpf_seq_write(ctx->meta->seq, r, sizeof(*r)))			\
		crib_rec_end(ctx->meta->seq, 0, 1, 1, 0, 0);			\
	return 0;								\
}

#endif /* __VMLINUX_H__ */

#endif /* __CRIB_TASK_OP_H__ */
