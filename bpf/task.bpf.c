// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * task.bpf.c: ops stat/status (crib_task), threads (crib_threads) and
 * children (crib_children) of one task, as /proc prints them for a reader
 * in the init pid and user namespaces.
 */
#include "crib_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* include/linux/sched.h task states (#defines, stable since 5.x) */
#define TASK_REPORT         0x7f
#define TASK_UNINTERRUPTIBLE 0x2
#define TASK_NOLOAD         0x400
#define TASK_IDLE           (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)
#define TASK_RTLOCK_WAIT    0x1000
#define TASK_FROZEN         0x8000
#define TASK_REPORT_IDLE    0x80
/* include/linux/sched/signal.h */
#define SIGNAL_STOP_STOPPED 0x1
#define SIGNAL_GROUP_EXIT   0x4

#define NSEC_PER_USER_HZ    (1000000000ULL / 100)

/* Output of threads and children. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, CRIB_MAX_TIDS);
	__type(key, __u32);
	__type(value, __s32);
} tids SEC(".maps");

/* fs/proc/array.c: task_state_array[task_state_index()] */
static __always_inline __u8 state_letter(__u32 st, __u32 ex)
{
	__u32 s = (st | ex) & TASK_REPORT;

	if ((st & TASK_IDLE) == TASK_IDLE)
		s = TASK_REPORT_IDLE;
	/* frozen and rtlock waiters are reported as D */
	if (st & (TASK_RTLOCK_WAIT | TASK_FROZEN))
		s = TASK_UNINTERRUPTIBLE;
	/* "RSDTtXZPI"[fls(s)] */
	if (s & 0x80) return 'I';
	if (s & 0x40) return 'P';
	if (s & 0x20) return 'Z';
	if (s & 0x10) return 'X';
	if (s & 0x08) return 't';
	if (s & 0x04) return 'T';
	if (s & 0x02) return 'D';
	if (s & 0x01) return 'S';
	return 'R';
}

/* The number of a struct pid as seen from the init namespace (level 0). */
static __always_inline __s32 pid_nr0(struct pid *pid)
{
	return pid ? BPF_CORE_READ(pid, numbers[0].nr) : 0;
}

/* The number in the pid's own (deepest) namespace: the last NSpid value. */
static __always_inline __s32 pid_nr_last(struct pid *pid)
{
	struct upid *u;
	__u32 level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	if (level > 32)
		return 0;
	u = &pid->numbers[0];
	return BPF_CORE_READ(u + level, nr);
}

SEC("syscall")
int crib_task(struct crib_task_ctx *ctx)
{
	struct crib_task *t = &ctx->task;
	struct task_struct *task;
	struct signal_struct *sig;
	struct mm_struct *mm;
	const struct cred *cred;
	__u64 comm[CRIB_COMM_LEN / 8] = {};
	__u32 sflags;
	int err;

	err = crib_req_check(&ctx->req, sizeof(*ctx));
	if (err)
		goto out;
	task = bpf_task_from_pid(ctx->req.pid);
	if (!task) {
		err = -ESRCH;
		goto out;
	}

	sig = BPF_CORE_READ(task, signal);
	t->pid = BPF_CORE_READ(task, pid);
	t->tgid = BPF_CORE_READ(task, tgid);
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->pgid = pid_nr0(BPF_CORE_READ(sig, pids[PIDTYPE_PGID]));
	t->sid = pid_nr0(BPF_CORE_READ(sig, pids[PIDTYPE_SID]));
	t->vpid = pid_nr_last(BPF_CORE_READ(task, thread_pid));
	t->num_threads = BPF_CORE_READ(sig, nr_threads);
	t->flags = BPF_CORE_READ(task, flags);
	t->raw_state = BPF_CORE_READ(task, __state);
	t->exit_state = BPF_CORE_READ(task, exit_state);
	t->state = state_letter(t->raw_state, t->exit_state);

	/* /proc/PID/stat is the "whole" view: a stopped or exiting group shows its group exit code */
	t->exit_code = BPF_CORE_READ(task, exit_code);
	sflags = BPF_CORE_READ(sig, flags);
	if (sflags & (SIGNAL_GROUP_EXIT | SIGNAL_STOP_STOPPED))
		t->exit_code = BPF_CORE_READ(sig, group_exit_code);

	/* helpers may not write the context: go through the stack */
	bpf_probe_read_kernel(comm, sizeof(comm), &task->comm);
	__builtin_memcpy(t->comm, comm, sizeof(comm));
	t->start_time = BPF_CORE_READ(task, start_boottime) / NSEC_PER_USER_HZ;

	mm = BPF_CORE_READ(task, mm);
	t->has_mm = mm != NULL;
	if (mm) {
		t->start_code = BPF_CORE_READ(mm, start_code);
		t->end_code = BPF_CORE_READ(mm, end_code);
		t->start_data = BPF_CORE_READ(mm, start_data);
		t->end_data = BPF_CORE_READ(mm, end_data);
		t->start_brk = BPF_CORE_READ(mm, start_brk);
		t->start_stack = BPF_CORE_READ(mm, start_stack);
		t->arg_start = BPF_CORE_READ(mm, arg_start);
		t->arg_end = BPF_CORE_READ(mm, arg_end);
		t->env_start = BPF_CORE_READ(mm, env_start);
		t->env_end = BPF_CORE_READ(mm, env_end);
	}

	t->seccomp_mode = BPF_CORE_READ(task, seccomp.mode);
	t->sigpnd = BPF_CORE_READ(task, pending.signal.sig[0]);
	t->shdpnd = BPF_CORE_READ(sig, shared_pending.signal.sig[0]);
	t->sigblk = BPF_CORE_READ(task, blocked.sig[0]);

	/* /proc/PID/status shows the objective credentials */
	cred = BPF_CORE_READ(task, real_cred);
	t->uids[0] = BPF_CORE_READ(cred, uid.val);
	t->uids[1] = BPF_CORE_READ(cred, euid.val);
	t->uids[2] = BPF_CORE_READ(cred, suid.val);
	t->uids[3] = BPF_CORE_READ(cred, fsuid.val);
	t->gids[0] = BPF_CORE_READ(cred, gid.val);
	t->gids[1] = BPF_CORE_READ(cred, egid.val);
	t->gids[2] = BPF_CORE_READ(cred, sgid.val);
	t->gids[3] = BPF_CORE_READ(cred, fsgid.val);
	t->cap_inh = BPF_CORE_READ(cred, cap_inheritable.val);
	t->cap_prm = BPF_CORE_READ(cred, cap_permitted.val);
	t->cap_eff = BPF_CORE_READ(cred, cap_effective.val);
	t->cap_bnd = BPF_CORE_READ(cred, cap_bset.val);
	t->cap_amb = BPF_CORE_READ(cred, cap_ambient.val);

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
