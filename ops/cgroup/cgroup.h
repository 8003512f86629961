/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup.h: the record of op cgroup (ops/registry), BPF to user space: the
 * cgroups a task is in, one per hierarchy, as /proc/PID/cgroup lists them
 * (kernel/cgroup/cgroup.c proc_cgroup_show()).  The program walks the
 * task's css_set links (one per hierarchy) and each cgroup's kernfs node
 * up to its hierarchy's root, writing the path leaf first; cgroup.ts
 * names each hierarchy (its controllers, "name=") from the engine's own
 * /proc/self/cgroup and reverses the paths.  The one definition:
 * cgroup.ts mirrors it, cgroup.test.ts checks the mirror against the
 * object's BTF.
 */
#ifndef __CRIB_CGROUP_H__
#define __CRIB_CGROUP_H__

#include "crib.h"
#include "crib_task_op.h"

#define CRIB_CGROUP_MAX   16	/* hierarchies (links of a css_set) */
#define CRIB_CGROUP_DEPTH 32	/* levels below a hierarchy's root */
#define CRIB_CGROUP_NAMES 2048	/* the components of every path */

/* struct crib_cgroup.flags */
#define CRIB_CGROUP_EXITING   (1u << 0) /* PF_EXITING: /proc says "/" on a v1 hierarchy */
#define CRIB_CGROUP_TRUNCATED (1u << 1) /* more hierarchies, levels or name bytes than fit */

/* struct crib_cgroup_hier.flags */
#define CRIB_CGROUP_DEAD      (1u << 0) /* the cgroup is not online (" (deleted)" on the default hierarchy) */

struct crib_cgroup_hier {
	__u32 hierarchy_id;	/* cgroup_root.hierarchy_id: 0 is the default (v2) hierarchy */
	__u32 flags;		/* CRIB_CGROUP_DEAD */
	__u16 off;		/* where its components start in names[] */
	__u16 len;		/* their bytes: each a length byte and the name, leaf first; 0: the root */
	__u32 _pad0;
};

struct crib_cgroup {
	__u32 nr;		/* hierarchies in h[] */
	__u32 flags;		/* CRIB_CGROUP_EXITING, CRIB_CGROUP_TRUNCATED */
	struct crib_cgroup_hier h[CRIB_CGROUP_MAX];
	__u8 names[CRIB_CGROUP_NAMES];
};

/* struct crib_cgroup_ctx (crib_cgroup) and struct crib_cgroup_tree (its tree pass) */
CRIB_TASK_OP_TYPES(cgroup, struct crib_cgroup)

#endif /* __CRIB_CGROUP_H__ */
