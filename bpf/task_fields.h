/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * task_fields.h: struct crib_task from a task_struct, as /proc/PID/stat and
 * /proc/PID/status print it; shared by task.bpf.c (bpf_task_from_pid) and
 * task_iter.bpf.c (iter/task).
 */
#ifndef __CRIB_TASK_FIELDS_H__
#define __CRIB_TASK_FIELDS_H__

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

/* The number in the pid's own (deepest) namespace: the last NSpid value. */
static __always_inline __s32 pid_nr_last(struct pid *pid)
{
	__u32 level;

	if (!pid)
		return 0;
	level = BPF_CORE_READ(pid, level);
	if (level > CRIB_MAX_PID_NS_LEVEL)
		return 0;
	return BPF_CORE_READ(crib_upid(pid, level), nr);
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

/*
 * The task record: what /proc/PID/stat and status show of @task to a
 * reader in the pid namespace at @level with inode @inum (crib_task_check)
 */
static __always_inline void fill_task(struct crib_task *t, struct task_struct *task,
				      __u32 level, __u32 inum)
{
	struct signal_struct *sig;
	struct mm_struct *mm;
	const struct cred *cred;
	__u64 comm[CRIB_COMM_LEN / 8] = {};
	__u32 sflags;

	sig = BPF_CORE_READ(task, signal);
	/* task_pid_nr_ns(), task_tgid_nr_ns(), task_pgrp_nr_ns(), task_session_nr_ns() */
	t->pid = crib_pid_nr(BPF_CORE_READ(task, thread_pid), level, inum);
	t->tgid = crib_pid_nr(BPF_CORE_READ(sig, pids[PIDTYPE_TGID]), level, inum);
	t->ppid = crib_pid_nr(BPF_CORE_READ(task, real_parent, signal, pids[PIDTYPE_TGID]), level, inum);
	t->pgid = crib_pid_nr(BPF_CORE_READ(sig, pids[PIDTYPE_PGID]), level, inum);
	t->sid = crib_pid_nr(BPF_CORE_READ(sig, pids[PIDTYPE_SID]), level, inum);
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
	t->start_boottime = BPF_CORE_READ(task, start_boottime);

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

#endif /* __CRIB_TASK_FIELDS_H__ */
