/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * timers.h: the record of op timers (ops/registry), BPF to user space:
 * whether a task has POSIX timers (signal->posix_timers, which
 * /proc/PID/timers lists).  Most tasks have none, and then CRIU need not
 * read the file; a task with some is read from /proc as before.  The one
 * definition: timers.ts mirrors it, timers.test.ts checks the mirror
 * against the object's BTF.
 */
#ifndef __CRIB_TIMERS_H__
#define __CRIB_TIMERS_H__

#include "crib.h"
#include "crib_task_op.h"

struct crib_timers {
	__u32 any;	/* 1: the task has POSIX timers; 0: none (or no signal_struct: exiting) */
	__u32 _pad0;
};

/* struct crib_timers_ctx (crib_timers) and struct crib_timers_tree (its tree pass) */
CRIB_TASK_OP_TYPES(timers, struct crib_timers)

#endif /* __CRIB_TIMERS_H__ */
