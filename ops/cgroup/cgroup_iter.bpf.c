// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup_iter.bpf.c: the seq-iterator fallback of cgroup.bpf.c for kernels
 * without bpf_task_from_pid (< 6.2), crib_cgroup_iter (crib_task_op.h).
 */
#include "crib_iter.h"
#include "cgroup_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_TASK_OP_ITER(cgroup, struct crib_cgroup, fill_cgroup)
