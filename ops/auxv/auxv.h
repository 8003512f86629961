/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * auxv.h: the record of op auxv (ops/registry), BPF to user space: the
 * auxiliary vector the kernel saved for a task at exec (mm->saved_auxv),
 * as /proc/PID/auxv prints it.  The one definition: auxv.ts mirrors it,
 * auxv.test.ts checks the mirror against the object's BTF.
 */
#ifndef __CRIB_AUXV_H__
#define __CRIB_AUXV_H__

#include "crib.h"
#include "crib_task_op.h"

/* words of saved_auxv the record holds: AT_VECTOR_SIZE is 52 on x86_64 6.18 */
#define CRIB_AUXV_MAX 64

struct crib_auxv {
	__u32 nr;	/* words of saved_auxv copied (the whole array); 0: no mm (a zombie) */
	__u32 _pad0;
	__u64 word[CRIB_AUXV_MAX]; /* key, value pairs; /proc/PID/auxv ends at the AT_NULL pair (user space finds it) */
};

/* struct crib_auxv_ctx (crib_auxv) and struct crib_auxv_tree (its tree pass) */
CRIB_TASK_OP_TYPES(auxv, struct crib_auxv)

#endif /* __CRIB_AUXV_H__ */
