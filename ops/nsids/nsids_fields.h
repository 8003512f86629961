/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nsids_fields.h: filling struct crib_nsids from a task, the FILL of
 * crib_task_op.h for nsids.bpf.c and nsids_iter.bpf.c.  Each kid is the
 * one fs/proc/namespaces.c shows: pid from task_active_pid_ns(), user
 * from the objective credentials, the rest from task->nsproxy, which an
 * exiting task no longer has (/proc then has no file for them either).
 */
#ifndef __CRIB_NSIDS_FIELDS_H__
#define __CRIB_NSIDS_FIELDS_H__

#include "nsids.h"

static __always_inline void fill_nsids(struct crib_nsids *r, struct task_struct *task, int level, __u32 ns_inum)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct nsproxy *nsp = task->nsproxy;
	__u32 l = pid ? BPF_CORE_READ(pid, level) : 0;

	r->kid[CRIB_NS_PID] = pid && l <= CRIB_MAX_PID_NS_LEVEL ? BPF_CORE_READ(crib_upid(pid, l), ns, ns.inum) : 0;
	r->kid[CRIB_NS_USER] = task->real_cred->user_ns->ns.inum;
	if (nsp) {
		r->kid[CRIB_NS_NET] = nsp->net_ns->ns.inum;
		r->kid[CRIB_NS_IPC] = nsp->ipc_ns->ns.inum;
		r->kid[CRIB_NS_UTS] = nsp->uts_ns->ns.inum;
		r->kid[CRIB_NS_MNT] = nsp->mnt_ns->ns.inum;
		if (bpf_core_field_exists(nsp->cgroup_ns))
			r->kid[CRIB_NS_CGROUP] = nsp->cgroup_ns->ns.inum;
		if (bpf_core_field_exists(nsp->time_ns)) {
			r->kid[CRIB_NS_TIME] = nsp->time_ns->ns.inum;
			r->kid[CRIB_NS_TIME_FOR_CHILDREN] = nsp->time_ns_for_children->ns.inum;
		}
	}
}

#endif /* __CRIB_NSIDS_FIELDS_H__ */
