// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup.bpf.c: op cgroup (cgroup.h) by task, crib_cgroup, and for many
 * tasks in one run, crib_cgroup_tree (crib_task_op.h).
 */
/* 1,024 records of 2.3 KiB and their headers */
#define CRIB_TREE_RB_SIZE (4u << 20)
#include "crib_bpf.h"
/* 6.2+ (bpf_task_from_pid): bpf_rdonly_cast() is there too; the iterator fallback reads by probe reads */
#define CRIB_TASK_FROM_PID
#include "cgroup_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_PROGS(cgroup, struct crib_cgroup, fill_cgroup)
