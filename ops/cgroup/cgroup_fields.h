/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgroup_fields.h: filling struct crib_cgroup from a task, the FILL of
 * crib_task_op.h for cgroup.bpf.c and cgroup_iter.bpf.c.
 *
 * A css_set links to one cgroup in every hierarchy (cgrp_links, one
 * struct cgrp_cset_link each, also for a hierarchy mounted after the set
 * was made), which is what proc_cgroup_show() prints per root.  Each
 * path is named from its hierarchy's root, as /proc names it for a
 * reader in the initial cgroup namespace: cgroup.ts refuses other
 * callers.  The hierarchies are bpf_loop() steps (nested in the tree
 * pass's), each cgroup's levels an unrolled loop.
 */
#ifndef __CRIB_CGROUP_FIELDS_H__
#define __CRIB_CGROUP_FIELDS_H__

#include "cgroup.h"

#define CRIB_PF_EXITING 0x00000004	/* include/linux/sched.h */
#define CRIB_CSS_ONLINE (1 << 1)	/* include/linux/cgroup-defs.h, an anonymous enum */
#define CRIB_CGROUP_NAME_MAX 255	/* a kernfs name (NAME_MAX) */
/* where a component may start: its length byte, the name and the NUL fit after it */
#define CRIB_CGROUP_LIMIT (CRIB_CGROUP_NAMES - CRIB_CGROUP_NAME_MAX - 2)

/*
 * The walk's state and the record it builds, in a per-CPU map: @r may be
 * a SYSCALL program's context, which helpers do not write and which takes
 * no variable offset; fill_cgroup() copies the record over at the end.
 */
struct crib_cg_walk {
	__u64 head;	/* &cset->cgrp_links */
	__u64 pos;	/* the next link's cgrp_link */
	__u32 off;	/* bytes of rec.names used */
	__u32 _pad0;
	__u64 memo_run;	 /* crib_fill_run() of the walk rec holds, 0: none */
	__u64 memo_cset; /* the css_set it walked */
	struct crib_cgroup rec;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_cg_walk);
} cgroup_walk SEC(".maps");

/* kernfs_node.parent before 6.15 (then __parent, RCU-protected) */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *crib_kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___old, parent))
		return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
	return BPF_CORE_READ(kn, __parent);
}

/* @kn's components up to its root into @names from @off, leaf first: the new offset, or -1 if they do not fit */
static __always_inline int crib_cgroup_name(__u8 *names, struct kernfs_node *kn, __u32 off)
{
	struct kernfs_node *up;
	const char *name;
	__u64 at;
	long n;
	int i;

	/*
	 * Unrolled: 6.1's verifier refuses a loop whose back-edge is the
	 * fall-through of a call ("back-edge from insn N to N+1"), which is
	 * how clang lays this one out.
	 */
#pragma clang loop unroll(full)
	for (i = 0; i < CRIB_CGROUP_DEPTH + 1; i++) {
		if (!kn)
			return -1;
		up = crib_kn_parent(kn);
		if (!up)
			return off;	/* the hierarchy's root: named "" */
		if (i == CRIB_CGROUP_DEPTH || off > CRIB_CGROUP_LIMIT)
			return -1;
		/* clang 14 may test one register and use another (NOTES): clamp the one used */
		at = off;
		asm volatile("" : "+r"(at));
		if (at > CRIB_CGROUP_LIMIT)
			at = CRIB_CGROUP_LIMIT;
		name = BPF_CORE_READ(kn, name);
		n = bpf_probe_read_kernel_str(&names[at + 1], CRIB_CGROUP_NAME_MAX + 1, name);
		if (n < 2)
			return -1;	/* unreadable, or an empty name below the root */
		names[at] = n - 1;
		off = at + n;
		kn = up;
	}
	return -1;
}

/* One hierarchy: the cgroup of link st->pos (a bpf_loop() step) */
static long crib_cg_step(__u64 i, void *arg)
{
	struct crib_cg_walk *st;
	struct cgrp_cset_link *link;
	struct crib_cgroup_hier *h;
	struct kernfs_node *kn;
	struct cgroup *cgrp;
	__u32 hier, cflags, zero = 0;
	__u64 next;
	int end;

	st = bpf_map_lookup_elem(&cgroup_walk, &zero);
	if (!st || !st->pos || st->pos == st->head)
		return 1;
	if (st->rec.nr >= CRIB_CGROUP_MAX) {
		st->rec.flags |= CRIB_CGROUP_TRUNCATED;
		return 1;
	}
	/* the link's cgroup: its name, hierarchy and state, and the next link */
#ifdef CRIB_TASK_FROM_PID
	/* the link as a typed pointer: its fields and the cgroup's are direct loads (bpf/README.md) */
	link = bpf_rdonly_cast((void *)(st->pos - bpf_core_field_offset(struct cgrp_cset_link, cgrp_link)),
			       bpf_core_type_id_kernel(struct cgrp_cset_link));
	cgrp = link->cgrp;
	kn = cgrp->kn;
	hier = cgrp->root->hierarchy_id;
	cflags = cgrp->self.flags;
	next = (__u64)link->cgrp_link.next;
#else
	{
		struct list_head *pos = (void *)st->pos;

		link = crib_container_of(pos, struct cgrp_cset_link, cgrp_link);
		next = (__u64)BPF_CORE_READ(pos, next);
	}
	cgrp = BPF_CORE_READ(link, cgrp);
	kn = BPF_CORE_READ(cgrp, kn);
	hier = BPF_CORE_READ(cgrp, root, hierarchy_id);
	cflags = BPF_CORE_READ(cgrp, self.flags);
#endif
	end = crib_cgroup_name(st->rec.names, kn, st->off);
	if (end < 0) {
		st->rec.flags |= CRIB_CGROUP_TRUNCATED;
		return 1;
	}
	h = &st->rec.h[st->rec.nr & (CRIB_CGROUP_MAX - 1)];
	h->hierarchy_id = hier;
	h->flags = cflags & CRIB_CSS_ONLINE ? 0 : CRIB_CGROUP_DEAD;
	h->off = st->off;
	h->len = end - st->off;
	h->_pad0 = 0;
	st->off = end;
	st->pos = next;
	st->rec.nr++;
	return 0;
}

static __always_inline void fill_cgroup(struct crib_cgroup *r, struct task_struct *task, int level, __u32 ns_inum)
{
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	__u64 run = crib_fill_run();
	struct crib_cg_walk *st;
	__u32 zero = 0;
	int i;

	r->nr = 0;
	r->flags = CRIB_CGROUP_TRUNCATED;
	st = bpf_map_lookup_elem(&cgroup_walk, &zero);
	if (!cset || !st)
		return;
	/*
	 * The tasks of a tree mostly share their css_set: one walked before
	 * in this run (a task of the tree holds it) is not walked again.
	 */
	if (!run || st->memo_run != run || st->memo_cset != (__u64)cset) {
		st->memo_run = 0;
		st->rec.nr = 0;
		st->rec.flags = 0;
		st->off = 0;
		st->head = (__u64)&cset->cgrp_links;
		st->pos = (__u64)BPF_CORE_READ(cset, cgrp_links.next);
		bpf_loop(CRIB_CGROUP_MAX + 1, crib_cg_step, NULL, 0);
		st->head = st->pos = 0;
		st->memo_run = run;
		st->memo_cset = (__u64)cset;
	}
	st->rec.flags &= ~CRIB_CGROUP_EXITING;
	if (BPF_CORE_READ(task, flags) & CRIB_PF_EXITING)
		st->rec.flags |= CRIB_CGROUP_EXITING;
#ifdef CRIB_FILL_MAP_VALUE
	/* the bytes in use (its table, the names of the first st->off bytes); the rest is not read */
	{
		long used = offsetof(struct crib_cgroup, names) + st->off;

		/* clang 14 may test one register and use another (NOTES): pin the bound before its test */
		asm volatile("" : "+r"(used));
		if (used > sizeof(*r))
			used = sizeof(*r);
		if (used > 0)
			bpf_probe_read_kernel(r, used, &st->rec);
		return;
	}
#endif
	/*
	 * The record, a word at a time, unrolled: a context is only written
	 * at constant offsets from its own pointer (volatile: clang would
	 * make it a memcpy() too big to expand).
	 */
#pragma clang loop unroll(full)
	for (i = 0; i < sizeof(*r) / 8; i++)
		((volatile __u64 *)r)[i] = ((__u64 *)&st->rec)[i];
}

#endif /* __CRIB_CGROUP_FIELDS_H__ */
