/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_tree.h: one run of a SYSCALL program for many tasks of a frozen
 * tree (the tree pass of a folder op: engine/ops.ts, OpModule.tree).
 *
 * User space writes the pids (and, for a caller in another pid namespace
 * than the engine's, their init-namespace numbers) into map "tree_in",
 * runs the program with a struct crib_tree_req as its context, and reads
 * the op's map "tree_out" through its mapping: err[i] and the op's record
 * i for pid[i].  A tree larger than CRIB_TREE_MAX goes in several runs.
 *
 * Both maps have CRIB_TREE_SLOTS entries, a run uses entry req.slot of
 * each: the engine's own runs slot 0, and each CRIU that runs the tree
 * passes itself (plugin/direct.c) the slot its engine lent it, so that
 * the sessions of one service never write over each other's tables.
 */
#ifndef __CRIB_TREE_H__
#define __CRIB_TREE_H__

#include "crib.h"

#define CRIB_TREE_MAX 1024
/* entries of tree_in and of each op's tree_out: slot 0 the engine's, the others lent to CRIUs */
#define CRIB_TREE_SLOTS 4

struct crib_tree_in {
	__s32 pid[CRIB_TREE_MAX];    /* in the caller's pid namespace (crib_req.ns_inum) */
	__s32 lookup[CRIB_TREE_MAX]; /* 0, or the init-namespace number to find it by (crib_req.lookup) */
};

/*
 * The context: req.pid and req.lookup are unused (0), req.count and
 * req.total come back as the entries done; nr is the entries of tree_in,
 * slot the entry of tree_in and tree_out used.
 */
struct crib_tree_req {
	struct crib_req req;
	__u32 nr;
	__u32 slot;
};

/*
 * The same pass through a ring buffer (map "tree_rb", the op's program
 * crib_NAME_tree_rb): one record per task, this header, then the op's
 * record (zeroed when err is not 0).  bpf/README.md compares the two
 * ways; the engine reads tree_out.
 */
struct crib_tree_rec {
	__u32 idx;   /* i of tree_in */
	__s32 err;   /* 0, or -errno */
};
/* the ring buffer of a tree pass: a pass of CRIB_TREE_MAX records must fit (an op with big records sets its own) */
#ifndef CRIB_TREE_RB_SIZE
#define CRIB_TREE_RB_SIZE (1u << 20)
#endif

#ifdef __VMLINUX_H__
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CRIB_TREE_SLOTS);
	__type(key, __u32);
	__type(value, struct crib_tree_in);
} tree_in SEC(".maps");

/* The request header of a tree run: crib_req_check() without a pid; 0 or -errno */
static __always_inline int crib_tree_check(struct crib_tree_req *t)
{
	if (t->req.version != CRIB_ABI_VERSION || t->req.size != sizeof(*t))
		return -EPROTO;
	if (!t->req.ns_inum || t->nr > CRIB_TREE_MAX || t->slot >= CRIB_TREE_SLOTS)
		return -EINVAL;
	t->req.err = 0;
	t->req.count = 0;
	t->req.total = 0;
	t->req.names_len = 0;
	t->req.flags = 0;
	return 0;
}
#endif

#endif /* __CRIB_TREE_H__ */
