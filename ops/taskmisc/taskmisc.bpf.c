// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskmisc.bpf.c: op taskmisc (taskmisc.h) by task, crib_taskmisc, and for
 * many tasks in one run, crib_taskmisc_tree (crib_task_op.h), read from
 * the task itself: no CAP_SYS_RESOURCE, which prlimit64() of a task of
 * another user needs.  The tree is frozen while CRIU asks, so the fields
 * need no lock: /proc takes task_lock() only against concurrent writers.
 */
#include "crib_bpf.h"
#include "taskmisc_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_PROGS(taskmisc, struct crib_taskmisc, fill_taskmisc)
