/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskfs_fields.h: what taskfs.bpf.c's iterator and the tree pass of every
 * per-task op (bpf/pertask.bpf.c) share: a task's three files and what
 * stat() shows of each, and fill_taskfs(), the FILL of crib_task_op.h for
 * the tree pass.  Its record, struct crib_taskfs_tree_rec (taskfs.h), has
 * room for CRIB_TASKFS_ROOM bytes of each file's components; a path with
 * more has err -ENAMETOOLONG there, and CRIU reads that link itself.  The
 * paths are named from the root of the task running the pass: crib.so's,
 * CRIU's, as the iterator names them from its reader's.
 */
#ifndef __CRIB_TASKFS_FIELDS_H__
#define __CRIB_TASKFS_FIELDS_H__

#include "crib_path.h"
#include "taskfs.h"

#ifndef ENOENT
#define ENOENT 2
#endif

/*
 * @task's executable, working and root directories: dentry and mount each,
 * NULL where it has none.  Where @task comes from bpf_task_from_pid()
 * (CRIB_TASK_FROM_PID, 6.2+), plain loads (bpf/README.md, "Loads"); the
 * iterator, which 6.1 runs, keeps the probe reads it was tested with there.
 */
static __always_inline void taskfs_files(struct task_struct *task, struct dentry *d[CRIB_TASKFS_NR],
					 struct vfsmount *m[CRIB_TASKFS_NR])
{
#ifdef CRIB_TASK_FROM_PID
	struct mm_struct *mm = task->mm;
	struct file *exe = mm ? mm->exe_file : NULL;
	struct fs_struct *fs = task->fs;

	d[CRIB_TASKFS_EXE] = exe ? exe->f_path.dentry : NULL;
	m[CRIB_TASKFS_EXE] = exe ? exe->f_path.mnt : NULL;
	d[CRIB_TASKFS_CWD] = fs ? fs->pwd.dentry : NULL;
	m[CRIB_TASKFS_CWD] = fs ? fs->pwd.mnt : NULL;
	d[CRIB_TASKFS_ROOT] = fs ? fs->root.dentry : NULL;
	m[CRIB_TASKFS_ROOT] = fs ? fs->root.mnt : NULL;
#else
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct fs_struct *fs = BPF_CORE_READ(task, fs);

	d[CRIB_TASKFS_EXE] = exe ? BPF_CORE_READ(exe, f_path.dentry) : NULL;
	m[CRIB_TASKFS_EXE] = exe ? BPF_CORE_READ(exe, f_path.mnt) : NULL;
	d[CRIB_TASKFS_CWD] = fs ? BPF_CORE_READ(fs, pwd.dentry) : NULL;
	m[CRIB_TASKFS_CWD] = fs ? BPF_CORE_READ(fs, pwd.mnt) : NULL;
	d[CRIB_TASKFS_ROOT] = fs ? BPF_CORE_READ(fs, root.dentry) : NULL;
	m[CRIB_TASKFS_ROOT] = fs ? BPF_CORE_READ(fs, root.mnt) : NULL;
#endif
}

/* What stat(), fdinfo and statfs() say of @dentry in @mnt into @f, the rest zeroed; 0, or -ENOENT: no file */
static __always_inline int taskfs_stat(struct crib_taskfs_file *f, struct dentry *dentry, struct vfsmount *mnt)
{
	struct super_block *sb;
	struct inode *inode;
	__u32 dev;

	__builtin_memset(f, 0, sizeof(*f));
	if (!dentry || !mnt) {
		f->err = -ENOENT;
		return -ENOENT;
	}
	inode = BPF_CORE_READ(dentry, d_inode);
	sb = BPF_CORE_READ(dentry, d_sb);
	f->mode = BPF_CORE_READ(inode, i_mode);
	f->ino = BPF_CORE_READ(inode, i_ino);
	dev = BPF_CORE_READ(sb, s_dev);
	f->dev_major = dev >> 20;
	f->dev_minor = dev & ((1U << 20) - 1);
	f->magic = BPF_CORE_READ(sb, s_magic);
	f->mnt_id = BPF_CORE_READ(crib_container_of(mnt, struct mount, mnt), mnt_id);
	return 0;
}

#ifdef CRIB_TASK_FROM_PID
/*
 * The files of the run before (crib_fill_run()): the tasks of a tree
 * mostly share their files, and a file seen for a task before in this run
 * (the same dentry in the same mount) is neither stat()ed nor walked
 * again: its record and components are copied from here.
 */
struct taskfs_memo {
	__u64 run;
	__u64 dentry[CRIB_TASKFS_NR];
	__u64 mnt[CRIB_TASKFS_NR];
	struct crib_taskfs_file f[CRIB_TASKFS_NR];
	__u8 names[CRIB_TASKFS_NR][CRIB_TASKFS_ROOM];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct taskfs_memo);
} taskfs_memo SEC(".maps");

/* File @i of the record: its stat and its components, named from @root */
static __always_inline void taskfs_one(struct crib_taskfs_tree_rec *r, struct taskfs_memo *memo, __u32 i,
				       struct dentry *dentry, struct vfsmount *mnt, const struct path *root)
{
	struct crib_taskfs_file *f, *mf;
	struct crib_path_walk *st;
	long len;

	if (i >= CRIB_TASKFS_NR)
		return;
	f = &r->t.f[i];
	mf = &memo->f[i];
	if (!dentry || !mnt) {
		taskfs_stat(f, dentry, mnt); /* -ENOENT */
		return;
	}
	if (memo->dentry[i] != (__u64)dentry || memo->mnt[i] != (__u64)mnt) {
		st = crib_path_state();
		taskfs_stat(mf, dentry, mnt);
		if (!st) {
			__builtin_memcpy(f, mf, sizeof(*f));
			return;
		}
		len = crib_path_walk(st, dentry, mnt, root);
		if (len > CRIB_TASKFS_ROOM)
			len = -ENAMETOOLONG;	/* no room: CRIU reads the link */
		/* clang 14 may test one register and use another (NOTES): pin the bound before its test */
		asm volatile("" : "+r"(len));
		if (len > 0 && len <= CRIB_TASKFS_ROOM)
			bpf_probe_read_kernel(memo->names[i], len, st->name);
		if (len < 0) {
			mf->err = len;
		} else {
			mf->path_len = len;
			mf->flags = st->deleted ? CRIB_TASKFS_DELETED : 0;
		}
		memo->dentry[i] = (__u64)dentry;
		memo->mnt[i] = (__u64)mnt;
	}
	__builtin_memcpy(f, mf, sizeof(*f));
	len = mf->path_len;
	asm volatile("" : "+r"(len));
	if (len > CRIB_TASKFS_ROOM)
		len = CRIB_TASKFS_ROOM;
	if (len > 0)
		bpf_probe_read_kernel(r->names[i], len, memo->names[i]);
}

static __always_inline void fill_taskfs(struct crib_taskfs_tree_rec *r, struct task_struct *task, int level,
					__u32 ns_inum)
{
	struct task_struct *me = bpf_get_current_task_btf();
	struct vfsmount *m[CRIB_TASKFS_NR];
	struct dentry *d[CRIB_TASKFS_NR];
	struct taskfs_memo *memo;
	__u64 run = crib_fill_run();
	struct path root;
	__u32 zero = 0;
	int i;

	r->t.pid = crib_pid_nr(BPF_CORE_READ(task, thread_pid), level, ns_inum);
	r->t._pad0 = 0;
	memo = bpf_map_lookup_elem(&taskfs_memo, &zero);
	if (!memo)
		return;
	if (!run || memo->run != run) {
		__builtin_memset(memo->dentry, 0, sizeof(memo->dentry));
		__builtin_memset(memo->mnt, 0, sizeof(memo->mnt));
		memo->run = run;
	}
	/* the reader's root: d_path() names paths from it */
	root.dentry = me->fs->root.dentry;
	root.mnt = me->fs->root.mnt;
	taskfs_files(task, d, m);
#pragma clang loop unroll(full)
	for (i = 0; i < CRIB_TASKFS_NR; i++)
		taskfs_one(r, memo, i, d[i], m[i], &root);
}
#endif /* CRIB_TASK_FROM_PID */

#endif /* __CRIB_TASKFS_FIELDS_H__ */
