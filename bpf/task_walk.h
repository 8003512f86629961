/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * task_walk.h: the thread and children lists of a task, as /proc prints
 * them, into map "tids"; shared by task.bpf.c (bpf_task_from_pid) and
 * task_iter.bpf.c (iter/task).  Each is a walk run one list node per
 * bpf_loop() step: *_start sets it up, *_step takes one node (1: done),
 * *_end says whether it ended early.  The programs differ only in where
 * the walk lives (task.bpf.c: the stack; task_iter.bpf.c: a map, for the
 * verifiers before 6.7) and in how the result goes out.
 */
#ifndef __CRIB_TASK_WALK_H__
#define __CRIB_TASK_WALK_H__

/* Output of threads and children. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, CRIB_MAX_TIDS);
	__type(key, __u32);
	__type(value, __s32);
} tids SEC(".maps");

/* State of a list walk that appends pids to "tids". */
struct walk {
	struct list_head *head;   /* list head (stop when back here) */
	struct list_head *pos;    /* current node */
	__u32 count;              /* written */
	__u32 total;              /* found */
	int err;
	__u32 level;              /* pids are written as the namespace at this level, */
	__u32 inum;               /* with this inode, sees them (crib_task_check) */
};

/* struct walk over several threads' children lists */
struct kids_walk {
	struct walk w;
	struct list_head *thead;  /* signal->thread_head */
	struct list_head *tpos;   /* current thread's thread_node */
};

static __always_inline void emit_tid(struct walk *w, struct task_struct *t)
{
	__u32 i = w->count;
	__s32 *slot;
	__s32 nr;

	/* threads and children are in the namespace of the task or below: always seen */
	nr = crib_pid_nr(BPF_CORE_READ(t, thread_pid), w->level, w->inum);

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
static __always_inline void threads_start(struct walk *w, struct task_struct *task,
					  __u32 level, __u32 inum)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	w->level = level;
	w->inum = inum;
	w->head = &BPF_CORE_READ(leader, signal)->thread_head;
	w->pos = &leader->thread_node;
}

static __always_inline long threads_step(struct walk *w)
{
	struct list_head *pos;
	struct task_struct *t;

	if (w->pos == w->head)
		return 1;
	pos = w->pos;
	t = crib_container_of(pos, struct task_struct, thread_node);
	emit_tid(w, t);
	w->pos = BPF_CORE_READ(pos, next);
	return 0;
}

/* 0, or why the walk stopped short (-E2BIG: more threads than CRIB_MAX_TIDS) */
static __always_inline int threads_end(struct walk *w)
{
	if (w->pos != w->head && !w->err)
		w->err = -E2BIG;
	return w->err;
}

/* fs/proc/array.c get_children_pid: threads in /proc/PID/task order, each one's children in list order */
static __always_inline void children_start(struct kids_walk *k, struct task_struct *task,
					   __u32 level, __u32 inum)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	k->w.level = level;
	k->w.inum = inum;
	k->thead = &BPF_CORE_READ(leader, signal)->thread_head;
	k->tpos = &leader->thread_node;
}

static __always_inline long children_step(struct kids_walk *k)
{
	struct list_head *pos;
	struct task_struct *t;

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
	emit_tid(&k->w, t);
	k->w.pos = BPF_CORE_READ(pos, next);
	return 0;
}

static __always_inline int children_end(struct kids_walk *k)
{
	if ((k->w.pos != k->w.head || k->tpos != k->thead) && !k->w.err)
		k->w.err = -E2BIG;
	return k->w.err;
}

#endif /* __CRIB_TASK_WALK_H__ */
