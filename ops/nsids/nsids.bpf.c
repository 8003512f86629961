// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nsids.bpf.c: op nsids (nsids.h) by task, crib_nsids, and for many tasks
 * in one run, crib_nsids_tree (crib_task_op.h).
 */
#include "crib_bpf.h"
#include "nsids_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_PROGS(nsids, struct crib_nsids, fill_nsids)
