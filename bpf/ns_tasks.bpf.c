// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ns_tasks.bpf.c: every task (thread) of one pid namespace with its
 * number there and in the init namespace (struct crib_ns_task_cols), for
 * an engine service whose caller's pids are numbers of another namespace
 * than its own.  One walk of all tasks with the open-coded task iterator
 * (6.7+); user space keeps the table per namespace and walks again when a
 * number is not in it, or finds another task than the one it names.
 */
#include "crib_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* kernel/bpf/task_iter.c enum bpf_iter_task_type */
#define CRIB_TASK_ITER_ALL_THREADS 1

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym __weak;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym __weak;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct crib_ns_task_cols);
} ns_task_cols SEC(".maps");

/* the walk's counters live in a map: on the stack each value would be a state of its own to the verifier */
struct walk_state {
	__u32 count;
	__u32 total;
	__s32 err;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} ns_walk SEC(".maps");

/* crib_req.pid: any positive number (the walk is of the whole namespace) */
SEC("syscall")
int crib_ns_tasks(struct crib_req *req)
{
	struct crib_ns_task_cols *cols;
	struct walk_state *w;
	struct bpf_iter_task it;
	struct task_struct *t;
	__u32 zero = 0, inum;
	int err;

	err = crib_req_check(req, sizeof(*req));
	if (err)
		goto out;
	if (!bpf_ksym_exists(bpf_iter_task_new)) {
		err = -EOPNOTSUPP;
		goto out;
	}
	cols = bpf_map_lookup_elem(&ns_task_cols, &zero);
	w = bpf_map_lookup_elem(&ns_walk, &zero);
	if (!cols || !w) {
		err = -EINVAL;
		goto out;
	}
	w->count = 0;
	w->total = 0;
	w->err = 0;
	inum = req->ns_inum;
	bpf_rcu_read_lock();
	bpf_iter_task_new(&it, NULL, CRIB_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		struct pid *pid = BPF_CORE_READ(t, thread_pid);
		int level = crib_ns_level(pid, inum);
		__u32 i = w->count;

		if (level < 0)
			continue;
		w->total++;
		if (i >= CRIB_MAX_NS_TASKS) {
			w->err = -E2BIG;
			continue;
		}
		i &= CRIB_MAX_NS_TASKS - 1;
		cols->nr[i] = BPF_CORE_READ(crib_upid(pid, level), nr);
		cols->kpid[i] = BPF_CORE_READ(t, pid);
		w->count = i + 1;
	}
	bpf_iter_task_destroy(&it);
	bpf_rcu_read_unlock();
	req->count = w->count;
	req->total = w->total;
	err = w->err;
out:
	req->err = err;
	return err;
}
