/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskmisc.h: the record of op taskmisc (ops/registry), BPF to user space.
 *
 * The small per-task reads of CRIU's dump_task_core_all(): personality,
 * loginuid, oom_score_adj and the rlimits, as /proc/PID/personality,
 * loginuid, oom_score_adj and prlimit64() give them to a reader in the
 * init user namespace.  The one definition: taskmisc.ts mirrors it and
 * taskmisc.test.ts checks that mirror against the object's BTF.
 */
#ifndef __CRIB_TASKMISC_H__
#define __CRIB_TASKMISC_H__

#include "crib.h"
#include "crib_tree.h"

/* RLIM_NLIMITS (include/uapi/asm-generic/resource.h) */
#define CRIB_RLIMITS 16

/* crib_taskmisc.have */
#define CRIB_TASKMISC_LOGINUID (1u << 0) /* the kernel has task->loginuid (CONFIG_AUDIT) */
#define CRIB_TASKMISC_OOM      (1u << 1) /* oom_score_adj is set */

struct crib_taskmisc {
	__u32 have;        /* CRIB_TASKMISC_* */
	__u32 personality; /* task->personality */
	__u32 loginuid;    /* task->loginuid (a kuid): (u32)-1 when unset */
	__s32 oom_score_adj; /* signal->oom_score_adj */
	__u32 nr_rlimits;  /* entries of rlim_cur and rlim_max set */
	__u32 _pad0;
	__u64 rlim_cur[CRIB_RLIMITS]; /* signal->rlim[i].rlim_cur; RLIM_INFINITY is ~0 */
	__u64 rlim_max[CRIB_RLIMITS]; /* as the message carries them: packed, each a copy */
};

/* Context of crib_taskmisc: the request, then the reply. */
struct crib_taskmisc_ctx {
	struct crib_req req;
	struct crib_taskmisc misc;
};

/* The tree pass (crib_taskmisc_tree, crib_tree.h): map "tree_out", one entry. */
struct crib_taskmisc_tree {
	__s32 err[CRIB_TREE_MAX];  /* 0, or -errno for pid[i] (-ESRCH, -EOPNOTSUPP, ...) */
	struct crib_taskmisc rec[CRIB_TREE_MAX];
};

#endif /* __CRIB_TASKMISC_H__ */
