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
#include "crib_task_op.h"

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

/* struct crib_taskmisc_ctx (crib_taskmisc) and struct crib_taskmisc_tree (its tree pass) */
CRIB_TASK_OP_TYPES(taskmisc, struct crib_taskmisc)

#endif /* __CRIB_TASKMISC_H__ */
