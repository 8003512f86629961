// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * task.bpf.c: ops stat/status (crib_task), threads (crib_threads) and
 * children (crib_children) of one task, as /proc prints them for a reader
 * in the init pid and user namespaces.
 */
#include "crib_bpf.h"
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

SEC("syscall")
int crib_task(struct crib_task_ctx *ctx)
{
	struct crib_task *t = &ctx->task;
	struct task_struct *task;
	int err;

	err = crib_req_check(&ctx->req, sizeof(*ctx));
	if (err)
		goto out;
	task = bpf_task_from_pid(ctx->req.pid);
	if (!task) {
		err = -ESRCH;
		goto out;
	}

	/* direct stores into the context: SYSCALL programs may write it */
	fill_task(t, task);

	bpf_task_release(task);
	ctx->req.count = 1;
	ctx->req.total = 1;
out:
	ctx->req.err = err;
	return err;
}

/* State of a list walk that appends pids to "tids". */
struct walk {
	struct list_head *head;   /* list head (stop when back here) */
	struct list_head *pos;    /* current node */
	__u32 count;              /* written */
	__u32 total;              /* found */
	int err;
};

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
	struct walk *w = arg;
	struct list_head *pos;
	struct task_struct *t;

	if (w->pos == w->head)
		return 1;
	pos = w->pos;
	t = crib_container_of(pos, struct task_struct, thread_node);
	emit_tid(w, BPF_CORE_READ(t, pid));
	w->pos = BPF_CORE_READ(pos, next);
	return 0;
}

SEC("syscall")
int crib_threads(struct crib_req *req)
{
	struct task_struct *task, *leader;
	struct walk w = {};
	int err;

	err = crib_req_check(req, sizeof(*req));
	if (err)
		goto out;
	task = bpf_task_from_pid(req->pid);
	if (!task) {
		err = -ESRCH;
		goto out;
	}
	leader = BPF_CORE_READ(task, group_leader);
	w.head = &BPF_CORE_READ(leader, signal)->thread_head;
	w.pos = &leader->thread_node;
	bpf_loop(CRIB_MAX_TIDS + 1, thread_step, &w, 0);
	bpf_task_release(task);
	if (w.pos != w.head && !w.err)
		w.err = -E2BIG;
	err = w.err;
	req->count = w.count;
	req->total = w.total;
out:
	req->err = err;
	return err;
}

/* struct walk over several threads' children lists */
struct kids_walk {
	struct walk w;
	struct list_head *thead;  /* signal->thread_head */
	struct list_head *tpos;   /* current thread's thread_node */
};

/* fs/proc/array.c get_children_pid: task->children in list order */
static long child_step(__u64 i, void *arg)
{
	struct kids_walk *k = arg;
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
	emit_tid(&k->w, BPF_CORE_READ(t, pid));
	k->w.pos = BPF_CORE_READ(pos, next);
	return 0;
}

SEC("syscall")
int crib_children(struct crib_req *req)
{
	struct task_struct *task, *leader;
	struct kids_walk k = {};
	int err;

	err = crib_req_check(req, sizeof(*req));
	if (err)
		goto out;
	task = bpf_task_from_pid(req->pid);
	if (!task) {
		err = -ESRCH;
		goto out;
	}
	/* threads in /proc/PID/task order, each thread's children in list order */
	leader = BPF_CORE_READ(task, group_leader);
	k.thead = &BPF_CORE_READ(leader, signal)->thread_head;
	k.tpos = &leader->thread_node;
	bpf_loop(2 * CRIB_MAX_TIDS + 1, child_step, &k, 0);
	bpf_task_release(task);
	if ((k.w.pos != k.w.head || k.tpos != k.thead) && !k.w.err)
		k.w.err = -E2BIG;
	err = k.w.err;
	req->count = k.w.count;
	req->total = k.w.total;
out:
	req->err = err;
	return err;
}
