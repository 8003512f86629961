/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * taskfs.h: the record of op taskfs (ops/registry), BPF to user space: the
 * three files a task holds outside its fd table, its executable and its
 * working and root directories, with what CRIU learns of each by opening
 * /proc/PID/{exe,cwd,root}: stat() (mode, dev, ino), the mount fdinfo
 * shows, the fs magic and the path readlink() gives.  One CRIB_REC_CTX
 * record per task: struct crib_taskfs, then the three paths' components
 * (crib_path.h: leaf first, a length byte each; file i's path_len bytes,
 * in order), padded to 8.  The one definition: taskfs.ts mirrors it,
 * taskfs.test.ts checks the mirror against the object's BTF.
 */
#ifndef __CRIB_TASKFS_H__
#define __CRIB_TASKFS_H__

#include "crib.h"
#include "crib_task_op.h"

#define CRIB_TASKFS_EXE  0
#define CRIB_TASKFS_CWD  1
#define CRIB_TASKFS_ROOT 2
#define CRIB_TASKFS_NR   3

#define CRIB_TASKFS_DELETED (1u << 0) /* the dentry is unlinked: d_path() adds " (deleted)" */

struct crib_taskfs_file {
	__u32 mode;      /* i_mode of the dentry's inode, as stat() shows it */
	__u32 dev_major; /* its superblock's s_dev */
	__u32 dev_minor;
	__s32 mnt_id;    /* the mount's id, as fdinfo shows it */
	__u64 ino;
	__u64 magic;     /* the superblock's s_magic */
	__s32 err;       /* 0; -ENOENT: no such file (no mm: no exe); else why there is no path (crib_path.h) */
	__u32 path_len;  /* bytes of components after the record */
	__u32 flags;     /* CRIB_TASKFS_* */
	__u32 _pad0;
};

struct crib_taskfs {
	__s32 pid;       /* the task's, in the caller's pid namespace */
	__u32 _pad0;
	struct crib_taskfs_file f[CRIB_TASKFS_NR];
};

/*
 * The record of the tree pass of every per-task op (bpf/pertask.bpf.c,
 * taskfs_fields.h): struct crib_taskfs, then file i's path_len bytes of
 * components at names[i].  A path with more than CRIB_TASKFS_ROOM bytes of
 * components has err -ENAMETOOLONG: CRIU reads that link itself.
 */
#define CRIB_TASKFS_ROOM 256

struct crib_taskfs_tree_rec {
	struct crib_taskfs t;
	__u8 names[CRIB_TASKFS_NR][CRIB_TASKFS_ROOM];
};

CRIB_TASK_OP_TYPES(taskfs, struct crib_taskfs_tree_rec)

#endif /* __CRIB_TASKFS_H__ */
