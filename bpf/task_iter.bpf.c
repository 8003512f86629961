// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * task_iter.bpf.c: the seq-iterator fallbacks of task.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2): ops stat/status (crib_task_iter),
 * threads (crib_threads_iter) and children (crib_children_iter).  Each is an
 * iter/task program that user space attaches to one tid
 * (link_info.iter.task.tid), so it runs once, for that task, with the task
 * in its context; the rest is what task.bpf.c does (see crib_iter.h).
 *
 * stat/status write a CRIB_REC_TASK record and a CRIB_REC_END record
 * (none: no such task); threads
 * and children fill map "tids" as task.bpf.o does and write a CRIB_REC_END
 * record with the counts (none: no such task).
 */
#include "crib_iter.h"
#include "task_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Output of threads and children. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, CRIB_MAX_TIDS);
	__type(key, __u32);
	__type(value, __s32);
} tids SEC(".maps");


SEC("iter/task")
int crib_task_iter(struct bpf_iter__task *ctx)
{
	CRIB_REC(struct crib_task) r = {};
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	crib_rec_init(&r.h, CRIB_REC_TASK, sizeof(r));
	fill_task(&r.p, task);
	if (!bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
		crib_rec_end(ctx->meta->seq, 0, 1, 1, 0, 0);
	return 0;
}

/* State of a list walk that appends pids to "tids". */
struct walk {
	struct list_head *head;   /* list head (stop when back here) */
	struct list_head *pos;    /* current node */
	__u32 count;              /* written */
	__u32 total;              /* found */
	int err;
};

/* struct walk over several threads' children lists */
struct kids_walk {
	struct walk w;
	struct list_head *thead;  /* signal->thread_head */
	struct list_head *tpos;   /* current thread's thread_node */
};

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

static __always_inline void emit_tid(struct walk *w, __s32 nr)
{
	__u32 i = w->count;
	__s32 *slot;

	w->total++;
	slot = bpf_map_lookup_elem(&tids, &i);
	if (!slot) {
		w->err = -E2BIG;
		return;
	}
	*slot = nr;
	w->count++;
}

/*
 * fs/proc/base.c first_tid/next_tid: the group leader first, then the
 * signal->thread_head list from the leader on.
 */
static long thread_step(__u64 i, void *arg)
{
	struct kids_walk *k = get_walk();
	struct list_head *pos;
	struct task_struct *t;
	struct walk *w;

	if (!k)
		return 1;
	w = &k->w;
	if (w->pos == w->head)
		return 1;
	pos = w->pos;
	t = crib_container_of(pos, struct task_struct, thread_node);
	emit_tid(w, BPF_CORE_READ(t, pid));
	w->pos = BPF_CORE_READ(pos, next);
	return 0;
}

SEC("iter/task")
int crib_threads_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *leader;
	struct kids_walk *k = get_walk();
	struct walk *w;

	if (!task || !k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	w = &k->w;
	leader = BPF_CORE_READ(task, group_leader);
	w->head = &BPF_CORE_READ(leader, signal)->thread_head;
	w->pos = &leader->thread_node;
	bpf_loop(CRIB_MAX_TIDS + 1, thread_step, NULL, 0);
	if (w->pos != w->head && !w->err)
		w->err = -E2BIG;
	crib_rec_end(ctx->meta->seq, w->err, w->count, w->total, 0, 0);
	return 0;
}


/* fs/proc/array.c get_children_pid: task->children in list order */
static long child_step(__u64 i, void *arg)
{
	struct kids_walk *k = get_walk();
	struct list_head *pos;
	struct task_struct *t;

	if (!k)
		return 1;
	if (k->w.pos == k->w.head) {
		/* this thread's children are done: go to the next thread */
		if (k->tpos == k->thead)
			return 1;
		pos = k->tpos;
		t = crib_container_of(pos, struct task_struct, thread_node);
		k->w.head = &t->children;
		k->w.pos = BPF_CORE_READ(t, children.next);
		k->tpos = BPF_CORE_READ(pos, next);
		return 0;
	}
	pos = k->w.pos;
	t = crib_container_of(pos, struct task_struct, sibling);
	emit_tid(&k->w, BPF_CORE_READ(t, pid));
	k->w.pos = BPF_CORE_READ(pos, next);
	return 0;
}

SEC("iter/task")
int crib_children_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task, *leader;
	struct kids_walk *k = get_walk();

	if (!task || !k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	/* threads in /proc/PID/task order, each thread's children in list order */
	leader = BPF_CORE_READ(task, group_leader);
	k->thead = &BPF_CORE_READ(leader, signal)->thread_head;
	k->tpos = &leader->thread_node;
	bpf_loop(2 * CRIB_MAX_TIDS + 1, child_step, NULL, 0);
	if ((k->w.pos != k->w.head || k->tpos != k->thead) && !k->w.err)
		k->w.err = -E2BIG;
	crib_rec_end(ctx->meta->seq, k->w.err, k->w.count, k->w.total, 0, 0);
	return 0;
}
