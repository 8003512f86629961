// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nsids_iter.bpf.c: the seq-iterator fallback of nsids.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2), crib_nsids_iter (crib_task_op.h).
 */
#include "crib_iter.h"
#include "nsids_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_ITER(nsids, struct crib_nsids, fill_nsids)
