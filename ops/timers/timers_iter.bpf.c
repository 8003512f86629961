// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * timers_iter.bpf.c: the seq-iterator fallback of timers.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2), crib_timers_iter (crib_task_op.h).
 */
#include "crib_iter.h"
#include "timers_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_ITER(timers, struct crib_timers, fill_timers)
