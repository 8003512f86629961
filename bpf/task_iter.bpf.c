// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * task_iter.bpf.c: the seq-iterator fallbacks of task.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2): ops stat/status (crib_task_iter),
 * threads (crib_threads_iter) and children (crib_children_iter).  Each is an
 * iter/task program that user space attaches to one tid
 * (link_info.iter.task.tid), so it runs once, for that task, with the task
 * in its context; the rest is what task.bpf.c does (see crib_iter.h).
 *
 * Each checks the task against map "iter_args" (crib_iter.h): a task that
 * is not the caller's pid writes nothing, as one that does not exist.
 *
 * stat/status write a CRIB_REC_TASK record and a CRIB_REC_END record
 * (none: no such task); threads
 * and children fill map "tids" as task.bpf.o does and write a CRIB_REC_END
 * record with the counts (none: no such task).
 */
#include "crib_iter.h"
#include "task_fields.h"
#include "task_walk.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("iter/task")
int crib_task_iter(struct bpf_iter__task *ctx)
{
	CRIB_REC(struct crib_task) r = {};
	struct task_struct *task = ctx->task;
	__u32 inum;
	int level;

	level = crib_iter_task_level(task, &inum);
	if (level < 0)
		return 0;
	crib_rec_init(&r.h, CRIB_REC_TASK, sizeof(r));
	fill_task(&r.p, task, level, inum);
	if (!bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
		crib_rec_end(ctx->meta->seq, 0, 1, 1, 0, 0);
	return 0;
}

/*
 * The walk lives in a map, not on the stack: before 6.7 the verifier
 * checked a bpf_loop callback once, with the state of the call, and
 * hard-wired the branches it did not take then (the children walk starts
 * with pos == head == 0); it does not track map contents.  One walk at a
 * time per loaded object (user space is single-threaded).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kids_walk);
} walks SEC(".maps");

static __always_inline struct kids_walk *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walks, &zero);
}

static long thread_step(__u64 i, void *arg)
{
	struct kids_walk *k = get_walk();

	return k ? threads_step(&k->w) : 1;
}

SEC("iter/task")
int crib_threads_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct kids_walk *k = get_walk();
	__u32 inum;
	int level;

	level = crib_iter_task_level(task, &inum);
	if (level < 0 || !k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	threads_start(&k->w, task, level, inum);
	bpf_loop(CRIB_MAX_TIDS + 1, thread_step, NULL, 0);
	crib_rec_end(ctx->meta->seq, threads_end(&k->w), k->w.count, k->w.total, 0, 0);
	return 0;
}

static long child_step(__u64 i, void *arg)
{
	struct kids_walk *k = get_walk();

	return k ? children_step(k) : 1;
}

SEC("iter/task")
int crib_children_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct kids_walk *k = get_walk();
	__u32 inum;
	int level;

	level = crib_iter_task_level(task, &inum);
	if (level < 0 || !k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	children_start(k, task, level, inum);
	bpf_loop(2 * CRIB_MAX_TIDS + 1, child_step, NULL, 0);
	crib_rec_end(ctx->meta->seq, children_end(k), k->w.count, k->w.total, 0, 0);
	return 0;
}
