// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * auxv.bpf.c: op auxv (auxv.h) by task, crib_auxv, and for many tasks in
 * one run, crib_auxv_tree (crib_task_op.h).
 */
#include "crib_bpf.h"
#include "auxv_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_PROGS(auxv, struct crib_auxv, fill_auxv)
