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

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Output of threads and children. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, CRIB_MAX_TIDS);
	__type(key, __u32);
	__type(value, __s32);
} tids SEC(".maps");

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

/*
 * A kernel_cap_t as the u64 /proc/PID/status prints: 6.3+ has a u64 "val",
 * 6.1 a u32 cap[2], low word first; both are those 8 bytes (x86 is little
 * endian).  Only the field's offset in struct cred is relocated.
 */
static __always_inline __u64 cap_read(const kernel_cap_t *cap)
{
	__u64 v = 0;

	bpf_core_read(&v, sizeof(v), cap);
	return v;
}

/* task.bpf.c crib_task: the task record */
static __always_inline void fill_task(struct crib_task *t, struct task_struct *task)
{
	struct signal_struct *sig;
	struct mm_struct *mm;
	const struct cred *cred;
	__u64 comm[CRIB_COMM_LEN / 8] = {};
	__u32 sflags;

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
	t->cap_inh = cap_read(&cred->cap_inheritable);
	t->cap_prm = cap_read(&cred->cap_permitted);
	t->cap_eff = cap_read(&cred->cap_effective);
	t->cap_bnd = cap_read(&cred->cap_bset);
	t->cap_amb = cap_read(&cred->cap_ambient);

}

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
