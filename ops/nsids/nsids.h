/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * nsids.h: the record of op nsids (ops/registry), BPF to user space: the
 * namespaces of a task as /proc/PID/ns/ names them to user space, by the
 * inode number of each nsfs file (the namespace's ns.inum).  The one
 * definition: nsids.ts mirrors it, nsids.test.ts checks the mirror
 * against the object's BTF.
 */
#ifndef __CRIB_NSIDS_H__
#define __CRIB_NSIDS_H__

#include "crib.h"
#include "crib_task_op.h"

/* kid[] index: enum cr_eng_ns of criu-engine.h */
#define CRIB_NS_PID               0
#define CRIB_NS_NET               1
#define CRIB_NS_IPC               2
#define CRIB_NS_UTS               3
#define CRIB_NS_MNT               4
#define CRIB_NS_USER              5
#define CRIB_NS_CGROUP            6
#define CRIB_NS_TIME              7
#define CRIB_NS_TIME_FOR_CHILDREN 8
#define CRIB_NS_NR                9

struct crib_nsids {
	__u32 kid[CRIB_NS_NR]; /* 0: no such file in /proc/PID/ns/ (the kernel lacks the kind, or the task has no nsproxy) */
	__u32 _pad0;
};

/* struct crib_nsids_ctx (crib_nsids) and struct crib_nsids_tree (its tree pass) */
CRIB_TASK_OP_TYPES(nsids, struct crib_nsids)

#endif /* __CRIB_NSIDS_H__ */
