/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_path.h: a path named as fs/d_path.c prepend_path() names it, for
 * programs that cannot call bpf_d_path(): every SYSCALL program, and seq
 * iterators on a struct path the verifier does not trust (task->fs->pwd,
 * mm->exe_file).  bpf_loop() steps (5.17+), no kfunc.
 *
 * crib_path_walk() writes the components leaf first, each as a length
 * byte and the name, into path_walk.name, and stops at @root (the
 * reader's root: a path relative to it) or, with no root, at a mount that
 * has no parent.  User space reverses them.  It says -EXDEV where d_path()
 * would print a path that does not start at the root (unreachable from
 * it: another mount namespace's, or above a chroot), -ENAMETOOLONG past
 * PATH_MAX, -EOPNOTSUPP for a dentry whose fs names it (d_op->d_dname:
 * pipes, sockets, anon inodes, memfds).  Whether the dentry is unlinked
 * (d_path()'s " (deleted)") is path_walk.deleted.
 *
 * The walk's state is in a per-CPU map, not on the stack (the verifier
 * checks a bpf_loop() callback until its state converges and does not
 * track map contents); its pointers are cleared when the walk ends.
 */
#ifndef __CRIB_PATH_H__
#define __CRIB_PATH_H__

#include "crib_bpf.h"

#define EXDEV      18
#define CRIB_PATH_BUF   8192	/* one path: at most CRIB_NAME_MAX bytes plus one component */
#define CRIB_PATH_LIMIT (CRIB_PATH_BUF - 256 - 1)

struct crib_path_walk {
	__u64 dentry;	   /* struct dentry *: where the walk is */
	__u64 mnt;	   /* struct mount * */
	__u64 root_dentry; /* where it stops; 0: at a mount without parent */
	__u64 root_mnt;
	__u64 off;	   /* bytes of name so far */
	__s64 err;
	__u32 deleted;
	__u32 _pad0;
	__u8 name[CRIB_PATH_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_path_walk);
} path_walk SEC(".maps");

static __always_inline struct crib_path_walk *crib_path_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&path_walk, &zero);
}

static long crib_path_step(__u64 i, void *arg)
{
	struct dentry *dentry, *parent;
	struct crib_path_walk *st;
	const unsigned char *name;
	struct mount *mnt;
	__u64 off, len;

	st = crib_path_state();
	if (!st)
		return 1;
	dentry = (void *)st->dentry;
	mnt = (void *)st->mnt;
	if (st->root_dentry && st->dentry == st->root_dentry && st->mnt == st->root_mnt) {
		st->err = 0;	/* at the root */
		return 1;
	}
	if (mnt && dentry == BPF_CORE_READ(mnt, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt) {
			/* a mount without parent: the end, or past the root */
			st->err = st->root_dentry ? -EXDEV : 0;
			return 1;
		}
		st->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		st->mnt = (__u64)up;
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == parent) {
		st->err = st->root_dentry ? -EXDEV : 0;	/* root of a detached tree */
		return 1;
	}
	/* d_path() fails the same way past PATH_MAX */
	if (st->off > CRIB_NAME_MAX)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	if (len > 255)	/* NAME_MAX */
		len = 255;
	off = st->off;
	/* clang 14 may test one register and use another (NOTES): pin the bound */
	asm volatile("" : "+r"(off));
	if (off > CRIB_PATH_LIMIT)
		off = CRIB_PATH_LIMIT;
	st->name[off] = len;
	asm volatile("" : "+r"(len));
	if (len > 255)
		return 1;
	bpf_probe_read_kernel(&st->name[off + 1], len, name);
	st->off = off + 1 + len;
	st->dentry = (__u64)parent;
	return 0;
}

/*
 * @dentry in @vfsmnt named from @root (NULL: from the top of its mount
 * tree) into path_walk.name: the bytes written, or -errno.  @st from
 * crib_path_state().
 */
static __always_inline long crib_path_walk_raw(struct crib_path_walk *st, struct dentry *dentry,
					       struct vfsmount *vfsmnt, const struct path *root);

static __always_inline long crib_path_walk(struct crib_path_walk *st, struct dentry *dentry,
					   struct vfsmount *vfsmnt, const struct path *root)
{
	const struct dentry_operations *dop = BPF_CORE_READ(dentry, d_op);

	if (dop && BPF_CORE_READ(dop, d_dname))
		return -EOPNOTSUPP;
	return crib_path_walk_raw(st, dentry, vfsmnt, root);
}

/*
 * The same walk as __d_path() does it, without d_path()'s d_dname() case
 * (a mount's root in mountinfo's mount point field may be a pseudo file:
 * an nsfs bind mount).
 */
static __always_inline long crib_path_walk_raw(struct crib_path_walk *st, struct dentry *dentry,
					       struct vfsmount *vfsmnt, const struct path *root)
{
	/* d_unlinked(): unhashed and not a root */
	st->deleted = !BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry;
	st->dentry = (__u64)dentry;
	st->mnt = (__u64)crib_container_of(vfsmnt, struct mount, mnt);
	st->root_dentry = root ? (__u64)BPF_CORE_READ(root, dentry) : 0;
	st->root_mnt = root ? (__u64)crib_container_of(BPF_CORE_READ(root, mnt), struct mount, mnt) : 0;
	st->off = 0;
	st->err = -ENAMETOOLONG;
	bpf_loop(CRIB_PATH_DEPTH, crib_path_step, NULL, 0);
	st->dentry = st->mnt = st->root_dentry = st->root_mnt = 0;
	return st->err ? st->err : (long)st->off;
}

/*
 * @dentry named up to the root of its super block, as dentry_path() names
 * it (a mount's root in mountinfo): the bytes written, or -errno.  Whether
 * it is unlinked (dentry_path()'s "//deleted") is path_walk.deleted.
 */
static __always_inline long crib_dentry_walk(struct crib_path_walk *st, struct dentry *dentry)
{
	st->deleted = !BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry;
	st->dentry = (__u64)dentry;
	st->mnt = 0;	/* no mount: the walk stops where d_parent does */
	st->root_dentry = st->root_mnt = 0;
	st->off = 0;
	st->err = -ENAMETOOLONG;
	bpf_loop(CRIB_PATH_DEPTH, crib_path_step, NULL, 0);
	st->dentry = 0;
	return st->err ? st->err : (long)st->off;
}

#endif /* __CRIB_PATH_H__ */
