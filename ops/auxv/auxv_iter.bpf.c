// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * auxv_iter.bpf.c: the seq-iterator fallback of auxv.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2), crib_auxv_iter (crib_task_op.h).
 */
#include "crib_iter.h"
#include "auxv_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_ITER(auxv, struct crib_auxv, fill_auxv)
