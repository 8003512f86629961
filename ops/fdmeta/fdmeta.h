/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fdmeta.h: the record of op fdmeta (ops/registry), BPF to user space:
 * what CRIU learns of each open file of a task beyond its fdinfo: its
 * path, as a readlink() of /proc/self/fd/N gives it, and what tells the
 * file (mode, dev, ino).  One record per
 * fd, in a CRIB_REC_CTX record of the stream (crib.h), the path's bytes
 * right after it (h.extra of them, no NUL), padded to 8; then the END
 * record.  A read of one task (attached to it) or of every task the
 * caller asks for at once (attached to none, the pids in map "want"):
 * each task's fds come together, ascending.  The one definition: fdmeta.ts mirrors it, fdmeta.test.ts checks
 * the mirror against the object's BTF.
 */
#ifndef __CRIB_FDMETA_H__
#define __CRIB_FDMETA_H__

#include "crib.h"

/* the path buffer of bpf_d_path(), its NUL included: PATH_MAX */
#define CRIB_FDMETA_PATH_MAX 4096

struct crib_fdmeta {
	__s32 fd;
	__u32 mode;       /* i_mode of the file's dentry's inode, as fstat() shows it */
	__u64 ino;        /* its i_ino */
	__u32 dev_major;  /* its superblock's s_dev */
	__u32 dev_minor;
	__u64 magic;      /* the superblock's s_magic (fstatfs() says the same but on 9p, the server's) */
	__s32 path_err;   /* 0, or bpf_d_path()'s -errno (no path: readlink serves it) */
	__u32 path_len;   /* bytes of path after the record (no NUL) */
	__s32 pid;        /* the task's, in the caller's pid namespace */
	__u32 _pad0;
};

#endif /* __CRIB_FDMETA_H__ */
