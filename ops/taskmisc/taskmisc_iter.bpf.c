// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskmisc_iter.bpf.c: the seq-iterator fallback of taskmisc.bpf.c for
 * kernels without bpf_task_from_pid (< 6.2), crib_taskmisc_iter
 * (crib_task_op.h): an iter/task program user space attaches to one tid.
 */
#include "crib_iter.h"
#include "taskmisc_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_ITER(taskmisc, struct crib_taskmisc, fill_taskmisc)
