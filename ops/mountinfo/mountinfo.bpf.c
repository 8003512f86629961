// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mountinfo.bpf.c: op mountinfo (mountinfo.h), crib_mountinfo, a SYSCALL
 * program run once per read: it finds the task by pid (crib_find_task()),
 * walks its mount namespace's tree of mounts in order, by parent pointers,
 * one node per bpf_loop() step (as ops/epoll walks an epoll's tree), and
 * sends one record per mount through ring buffer "mounts", which user
 * space drains after the run.
 *
 * What show_mountinfo() prints, and where it comes from here:
 *   mnt_id, the parent's, s_dev        struct mount, super_block
 *   root                               the root dentry named up to its super
 *                                      block's root, as dentry_path() names it
 *   mount point                        named from the task's root (crib_path.h);
 *                                      a mount the root cannot reach is not
 *                                      listed, as seq_path_root() skips it
 *   mount flags                        vfsmount.mnt_flags
 *   shared, master, propagate_from     the peer groups (fs/pnode.c)
 *   type, source, ro/rw and sb flags   file_system_type, mnt_devname, s_flags
 * A file system's show_options(), show_path() and show_devname() are
 * calls BPF cannot make: the flags tell user space when to ask statmount().
 *
 * Without namespace_sem: the tasks of the namespace CRIU dumps are frozen,
 * and a mount or umount by another task while the walk runs reads stale
 * nodes (struct mount is freed after an RCU grace period, and the program
 * runs under rcu_read_lock()), bounded by the loops' counts.
 * Kernels 6.8+ (the namespace's mounts in a tree); 6.17+ keep the shared
 * and unbindable bits in mnt_t_flags, older ones in mnt_flags.
 */
#include "crib_bpf.h"
#include "crib_path.h"
#include "mountinfo.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENOENT 2
#define ENOSPC 28

/* vfsmount.mnt_flags before 6.17; after, mount.mnt_t_flags T_SHARED, T_UNBINDABLE */
#define MNT_SHARED     0x1000
#define MNT_UNBINDABLE 0x2000
#define T_SHARED       1
#define T_UNBINDABLE   2

/* a mount with the longest paths, source and names */
#define REC_MAX (sizeof(struct crib_mountinfo) + 2 * CRIB_MOUNTINFO_PATH + CRIB_MOUNTINFO_SOURCE + 2 * CRIB_MOUNTINFO_TYPE)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4u << 20);
} mounts SEC(".maps");

enum { DESCEND, RIGHT, ASCEND };

/* The walk of one namespace, and the record being written: rec, then its bytes */
struct mnt_walk {
	__u64 node;		/* struct rb_node *: where the walk is */
	__u64 ns;		/* struct mnt_namespace * */
	__u64 root_dentry;	/* the task's root */
	__u64 root_mnt;		/* struct vfsmount * */
	__u64 dom_master;	/* get_dominating_id(): the master whose peers are looked at */
	__u64 dom_peer;		/* the peer looked at */
	__u32 step;		/* DESCEND, RIGHT, ASCEND (ops/epoll) */
	__u32 done;		/* the walk came back to the root */
	__u32 count;		/* records sent */
	__u32 total;		/* mounts met */
	__s32 err;		/* the first failure: the read fails */
	__u32 root_is_ns_root;	/* the task's root is its namespace's root: every mount is reachable */
	struct crib_mountinfo rec;
	__u8 bytes[REC_MAX - sizeof(struct crib_mountinfo) + 8];
};

/* its value type names struct crib_mountinfo in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mnt_walk);
} walks SEC(".maps");

static __always_inline struct mnt_walk *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walks, &zero);
}

/*
 * is_path_reachable(@m, its root, the task's root): every mount of the
 * namespace is when the task's root is the namespace's; else a walk of
 * the path from the root (crib_path.h) tells, as prepend_path() would.
 */
static __always_inline bool reachable(struct mnt_walk *w, struct mount *m)
{
	struct crib_path_walk *st;
	struct path root;

	if (w->root_is_ns_root)
		return true;
	st = crib_path_state();
	if (!st)
		return false;
	root.dentry = (void *)w->root_dentry;
	root.mnt = (void *)w->root_mnt;
	return crib_path_walk_raw(st, BPF_CORE_READ(m, mnt.mnt_root), &m->mnt, &root) >= 0;
}

/*
 * One step of get_dominating_id(): the first master, up the chain, with a
 * peer in this namespace that the task's root reaches (fs/pnode.c
 * get_peer_under_root()).
 */
static long dom_step(__u64 i, void *arg)
{
	struct mnt_walk *w = get_walk();
	struct mount *m, *p;

	if (!w)
		return 1;
	m = (void *)w->dom_master;
	p = (void *)w->dom_peer;
	if (!m) {
		w->rec.dominating = 0;
		return 1;
	}
	if ((__u64)BPF_CORE_READ(p, mnt_ns) == w->ns && reachable(w, p)) {
		w->rec.dominating = BPF_CORE_READ(p, mnt_group_id);
		return 1;
	}
	p = crib_container_of(BPF_CORE_READ(p, mnt_share.next), struct mount, mnt_share);
	if (p == m) {
		m = BPF_CORE_READ(m, mnt_master);
		p = m;
	}
	w->dom_master = (__u64)m;
	w->dom_peer = (__u64)p;
	return 0;
}

/* @len bytes of path_walk.name at @off of the record's bytes: how many were put */
static __always_inline __u32 put_path(struct mnt_walk *w, struct crib_path_walk *st, __u32 off, long len)
{
	asm volatile("" : "+r"(len));
	if (len <= 0 || len > CRIB_MOUNTINFO_PATH)
		return 0;
	asm volatile("" : "+r"(off));
	if (off > CRIB_MOUNTINFO_PATH)
		return 0;
	bpf_probe_read_kernel(&w->bytes[off], len, st->name);
	return len;
}

/* The string at @src (at most @max bytes with its NUL) at @off of the record's bytes; its length */
static __always_inline __u32 put_str(struct mnt_walk *w, __u32 off, const char *src, __u32 max)
{
	long n;

	asm volatile("" : "+r"(off));
	if (!src || off > sizeof(w->bytes) - CRIB_MOUNTINFO_SOURCE - 8)
		return 0;
	n = bpf_probe_read_kernel_str(&w->bytes[off], max, src);
	return n > 0 ? n - 1 : 0;
}

/* Mount @mnt into a record, sent through "mounts"; 1 ends the walk */
static __always_inline int list_mount(struct mnt_walk *w, struct mount *mnt)
{
	struct crib_path_walk *st = crib_path_state();
	struct crib_mountinfo *r = &w->rec;
	const struct super_operations *sop;
	struct dentry *mnt_root;
	struct super_block *sb;
	struct mount *master;
	struct path root;
	__u32 off, dev;
	long len;
	__u64 n;

	if (!st) {
		w->err = -ENOENT;
		return 1;
	}
	w->total++;
	__builtin_memset(r, 0, sizeof(*r));
	mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);

	/* the root: its dentry named up to the top of its super block (dentry_path()) */
	len = crib_dentry_walk(st, mnt_root);
	if (len < 0) {
		w->err = len;
		return 1;
	}
	if (st->deleted)
		r->flags |= CRIB_MNT_ROOT_DELETED;
	r->root_len = put_path(w, st, 0, len);

	/* the mount point, from the task's root: not listed if the root cannot reach it */
	root.dentry = (void *)w->root_dentry;
	root.mnt = (void *)w->root_mnt;
	len = crib_path_walk_raw(st, mnt_root, &mnt->mnt, &root);
	if (len == -EXDEV)
		return 0;
	if (len < 0) {
		w->err = len;
		return 1;
	}
	r->point_len = put_path(w, st, r->root_len, len);
	off = r->root_len + r->point_len;

	sb = BPF_CORE_READ(mnt, mnt.mnt_sb);
	sop = BPF_CORE_READ(sb, s_op);
	r->unique_id = BPF_CORE_READ(mnt, mnt_id_unique);
	r->mnt_id = BPF_CORE_READ(mnt, mnt_id);
	r->parent_id = BPF_CORE_READ(mnt, mnt_parent, mnt_id);
	dev = BPF_CORE_READ(sb, s_dev);
	r->dev_major = dev >> 20;
	r->dev_minor = dev & ((1U << 20) - 1);
	r->mnt_flags = BPF_CORE_READ(mnt, mnt.mnt_flags);
	r->sb_flags = BPF_CORE_READ(sb, s_flags);
	if (bpf_core_field_exists(mnt->mnt_t_flags)) {
		int t = BPF_CORE_READ(mnt, mnt_t_flags);

		r->flags |= (t & T_SHARED ? CRIB_MNT_SHARED : 0) | (t & T_UNBINDABLE ? CRIB_MNT_UNBINDABLE : 0);
	} else {
		r->flags |= (r->mnt_flags & MNT_SHARED ? CRIB_MNT_SHARED : 0) |
			    (r->mnt_flags & MNT_UNBINDABLE ? CRIB_MNT_UNBINDABLE : 0);
	}
	if (r->flags & CRIB_MNT_SHARED)
		r->shared = BPF_CORE_READ(mnt, mnt_group_id);
	master = BPF_CORE_READ(mnt, mnt_master);
	if (master) {
		r->master = BPF_CORE_READ(master, mnt_group_id);
		w->dom_master = w->dom_peer = (__u64)master;
		r->dominating = -1;
		bpf_loop(1024, dom_step, NULL, 0);
		if (r->dominating < 0)
			r->flags |= CRIB_MNT_DOM_UNKNOWN;	/* the loop ran out */
		w->dom_master = w->dom_peer = 0;
	}
	if (sop && BPF_CORE_READ(sop, show_path))
		r->flags |= CRIB_MNT_SHOW_PATH;
	if (sop && BPF_CORE_READ(sop, show_devname))
		r->flags |= CRIB_MNT_SHOW_DEVNAME;

	{
		const char *devname = BPF_CORE_READ(mnt, mnt_devname);

		if (!devname)
			r->flags |= CRIB_MNT_NO_DEVNAME;
		r->source_len = put_str(w, off, devname, CRIB_MOUNTINFO_SOURCE);
		off += r->source_len;
		r->type_len = put_str(w, off, BPF_CORE_READ(sb, s_type, name), CRIB_MOUNTINFO_TYPE);
		off += r->type_len;
		r->subtype_len = put_str(w, off, BPF_CORE_READ(sb, s_subtype), CRIB_MOUNTINFO_TYPE);
		off += r->subtype_len;
	}

	/* the record and its bytes, zeros to a multiple of 8 */
	asm volatile("" : "+r"(off));
	if (off > sizeof(w->bytes) - 8)
		return 1;
	*(__u64 *)&w->bytes[off] = 0;
	n = (sizeof(*r) + off + 7) & ~7UL;
	if (bpf_ringbuf_output(&mounts, r, n, BPF_RB_NO_WAKEUP)) {
		w->err = -ENOSPC;
		return 1;
	}
	w->count++;
	return w->total >= CRIB_MOUNTINFO_MAX;
}

/* One step of the in-order walk by parent pointers (ops/epoll walk_step()); 1 ends the loop. */
static long walk_step(__u64 i, void *arg)
{
	struct mnt_walk *w = get_walk();
	struct rb_node *node, *next;

	if (!w)
		return 1;
	node = (void *)w->node;
	if (!node) {
		w->done = 1;
		return 1;
	}
	if (w->step == DESCEND) {
		next = BPF_CORE_READ(node, rb_left);
		if (next) {
			w->node = (__u64)next;
			return 0;
		}
		w->step = RIGHT;
		return list_mount(w, crib_container_of(node, struct mount, mnt_node));
	}
	if (w->step == RIGHT) {
		next = BPF_CORE_READ(node, rb_right);
		if (next) {
			w->node = (__u64)next;
			w->step = DESCEND;
		} else {
			w->step = ASCEND;
		}
		return 0;
	}
	next = (void *)(BPF_CORE_READ(node, __rb_parent_color) & ~3UL);
	if (!next) {
		w->done = 1;
		return 1;
	}
	w->node = (__u64)next;
	if (BPF_CORE_READ(next, rb_right) == node)
		return 0;
	w->step = RIGHT;
	return list_mount(w, crib_container_of(next, struct mount, mnt_node));
}

/* The walk of @task's namespace; 0 or -errno */
static __always_inline int walk_ns(struct crib_mountinfo_ctx *ctx, struct task_struct *task)
{
	struct mnt_namespace *ns;
	struct mount *nsroot;
	struct mnt_walk *w;
	struct fs_struct *fs;
	int err;

	w = get_walk();
	ns = BPF_CORE_READ(task, nsproxy, mnt_ns);
	fs = BPF_CORE_READ(task, fs);
	if (!w || !ns || !fs)
		return -ENOENT;	/* exiting: /proc/PID/mountinfo has no namespace to show either */
	w->ns = (__u64)ns;
	w->root_dentry = (__u64)BPF_CORE_READ(fs, root.dentry);
	w->root_mnt = (__u64)BPF_CORE_READ(fs, root.mnt);
	nsroot = BPF_CORE_READ(ns, root);
	w->root_is_ns_root = w->root_mnt == (__u64)&nsroot->mnt &&
			     w->root_dentry == (__u64)BPF_CORE_READ(nsroot, mnt.mnt_root);
	ctx->ns_inum = BPF_CORE_READ(ns, ns.inum);
	ctx->ns_id = bpf_core_field_exists(ns->ns.ns_id) ? BPF_CORE_READ(ns, ns.ns_id) : 0;
	w->node = (__u64)BPF_CORE_READ(ns, mounts.rb_node);
	w->step = DESCEND;
	w->done = 0;
	w->count = w->total = 0;
	w->err = 0;
	w->dom_master = w->dom_peer = 0;
	/* every node is left, listed and climbed past once: under 4 steps a mount */
	bpf_loop(4 * CRIB_MOUNTINFO_MAX + 4, walk_step, NULL, 0);
	w->node = w->ns = w->root_dentry = w->root_mnt = 0;

	err = w->err;
	if (!err && !w->done)
		err = -E2BIG;	/* more mounts than one read lists */
	ctx->req.count = w->count;
	ctx->req.total = w->total;
	return err;
}

SEC("syscall")
int crib_mountinfo(struct crib_mountinfo_ctx *ctx)
{
	struct task_struct *task;
	int level, err;

	task = crib_req_task(&ctx->req, sizeof(*ctx), &level, &err);
	if (task) {
		err = walk_ns(ctx, task);
		bpf_task_release(task);
	}
	ctx->req.err = err;
	return err;
}
