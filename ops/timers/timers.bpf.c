// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timers.bpf.c: op timers (timers.h) by task, crib_timers, and for many
 * tasks in one run, crib_timers_tree (crib_task_op.h).
 */
#include "crib_bpf.h"
#include "timers_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_PROGS(timers, struct crib_timers, fill_timers)
