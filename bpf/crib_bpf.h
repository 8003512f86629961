/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_bpf.h: what every CRIB BPF program shares: includes, the kfuncs
 * (clang 14's bpftool-made vmlinux.h does not declare them) and helpers.
 */
#ifndef __CRIB_BPF_H__
#define __CRIB_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "crib.h"

#define EPERM    1
#define ESRCH    3
#define E2BIG    7
#define EBUSY    16
#define EINVAL   22
#define ENAMETOOLONG 36
#define EPROTO   71
#define EOPNOTSUPP 95

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
/* 6.13+: the task of a pid in the pid namespace of the task running the program */
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void *bpf_rdonly_cast(const void *obj, u32 btf_id) __ksym;

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it,
				 struct task_struct *task, u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;

/* libbpf 1.2's bpf_ksym_exists(); Debian's libbpf 1.1 lacks it */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) ({								\
	_Static_assert(!__builtin_constant_p(!!sym), #sym " should be marked as __weak");	\
	!!sym;										\
})
#endif

/* container_of with the member offset relocated against the running kernel */
#define crib_container_of(ptr, type, member) \
	((type *)((void *)(ptr) - bpf_core_field_offset(type, member)))

/*
 * Check the request header that every program gets as its context.
 * Returns 0 or the negative errno to report.
 */
static __always_inline int crib_req_check(struct crib_req *req, __u32 size)
{
	if (req->version != CRIB_ABI_VERSION || req->size != size)
		return -EPROTO;
	if (req->pid <= 0)
		return -ESRCH;
	if (!req->ns_inum)
		return -EINVAL;
	req->err = 0;
	req->count = 0;
	req->total = 0;
	req->names_len = 0;
	req->flags = 0;
	return 0;
}

/*
 * ---- Pid namespaces ----
 *
 * Every pid a program takes or gives is a number in the caller's pid
 * namespace (crib_req.ns_inum), as pid_nr_ns() would give it there.  A
 * struct pid carries its number at each level from the init namespace
 * (0) down to its own (pid->level); the caller's namespace is found among
 * them by its inode number, which no two live namespaces share.
 */

/* upid @level of @pid: the number and namespace at that level */
static __always_inline struct upid *crib_upid(struct pid *pid, __u32 level)
{
	struct upid *u = &pid->numbers[0];

	return u + level;
}

/*
 * The level of the namespace @inum among @pid's (the NSpid list), or -1
 * when @pid is not in it.  Searched from the deepest up, CRIB_NS_SEARCH
 * levels at most: a caller is in the task's own namespace or a few above
 * (CRIU in a container: 1 or 2).  Every level more costs each program
 * ~3 ms of verification at start-up (all 33 took task.bpf.o from 21 to
 * 117 ms).  A task nested deeper below its caller is "no such task": the
 * dump fails, it is never read as another.
 */
static __always_inline int crib_ns_level(struct pid *pid, __u32 inum)
{
	__u32 level;
	int i, l;

	if (!pid)
		return -1;
	level = BPF_CORE_READ(pid, level);
	if (level > CRIB_MAX_PID_NS_LEVEL)
		return -1;
	for (i = 0; i < CRIB_NS_SEARCH; i++) {
		l = (int)level - i;
		if (l < 0)
			break;
		if (BPF_CORE_READ(crib_upid(pid, l), ns, ns.inum) == inum)
			return l;
	}
	return -1;
}

/*
 * pid_nr_ns(): the number of @pid in the namespace at @level with inode
 * @inum, 0 when that namespace cannot see @pid (an ancestor's task, or a
 * sibling namespace's).
 */
static __always_inline __s32 crib_pid_nr(struct pid *pid, __u32 level, __u32 inum)
{
	struct upid *u;

	if (!pid || level > CRIB_MAX_PID_NS_LEVEL || BPF_CORE_READ(pid, level) < level)
		return 0;
	u = crib_upid(pid, level);
	if (BPF_CORE_READ(u, ns, ns.inum) != inum)
		return 0;
	return BPF_CORE_READ(u, nr);
}

/*
 * The level of the caller's namespace for @task, which the request named
 * as @nr there: -ESRCH unless @task's number in namespace @inum is @nr.
 * This is what makes every lookup exact: whichever way the task was found
 * (another namespace's numbering, a pid recycled since), a task that is
 * not the caller's @nr is never read.
 */
static __always_inline int crib_task_check(struct task_struct *task, __s32 nr, __u32 inum)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	int level = crib_ns_level(pid, inum);

	/* crib_ns_level() found the namespace at that level: only the number is left */
	if (level < 0 || BPF_CORE_READ(crib_upid(pid, level), nr) != nr)
		return -ESRCH;
	return level;
}

/*
 * The task @pid of the caller's namespace @ns_inum (found by @lookup, its
 * init-namespace number, when that is set), with a reference the
 * caller drops with bpf_task_release(), and the level of the caller's
 * namespace in *level; NULL with *err set when there is none (-ESRCH: no
 * such task in the caller's namespace; -EOPNOTSUPP: this kernel cannot
 * look it up from here, see below).
 *
 * 6.13+ has bpf_task_from_vpid(), which looks in the namespace of the
 * task running the program: the engine, which is the caller's child.  Older
 * kernels have only bpf_task_from_pid() (init namespace numbers), exact
 * for a caller in the init namespace, and for any caller when the engine
 * names the task by its init-namespace number (req->lookup, from
 * crib_ns_tasks: an engine service in another namespace than its caller); for any other caller the program
 * answers -EOPNOTSUPP and user space uses the seq iterators, which the
 * kernel resolves in the reader's namespace.  Either way
 * crib_task_check() confirms the task before anything is read.
 */
static __always_inline struct task_struct *crib_find_task(__s32 pid, __s32 lookup, __u32 ns_inum,
							  int *level, int *err)
{
	struct task_struct *task;
	int l;

	if (lookup > 0) {
		/* the init namespace's number crib_ns_tasks gave (a service): checked below */
		task = bpf_task_from_pid(lookup);
	} else if (bpf_ksym_exists(bpf_task_from_vpid)) {
		task = bpf_task_from_vpid(pid);
	} else if (ns_inum == CRIB_INIT_PID_NS_INUM) {
		task = bpf_task_from_pid(pid);
	} else {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	if (!task) {
		*err = -ESRCH;
		return NULL;
	}
	l = crib_task_check(task, pid, ns_inum);
	if (l < 0) {
		bpf_task_release(task);
		*err = l;
		return NULL;
	}
	*err = 0;
	*level = l;
	return task;
}

/* crib_find_task() for the task a request names, after crib_req_check() */
static __always_inline struct task_struct *crib_req_task(struct crib_req *req, __u32 size,
							 int *level, int *err)
{
	*err = crib_req_check(req, size);
	if (*err)
		return NULL;
	return crib_find_task(req->pid, req->lookup, req->ns_inum, level, err);
}

#endif /* __CRIB_BPF_H__ */
