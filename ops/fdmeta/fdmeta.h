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
 * each task's fds come together, ascending.
 *
 * file_key names the open file (the struct file) within one read: two fds
 * with the same key are one open file (what kcmp(KCMP_FILE) tells), and
 * its high 32 bits tell the read, so keys of two reads are never mixed up.
 * A file already named in the read comes with CRIB_FDMETA_PATH_OF_KEY and
 * no path bytes: its path is that of the earlier record with its key.  The one definition: fdmeta.ts mirrors it, fdmeta.test.ts checks
 * the mirror against the object's BTF.
 */
#ifndef __CRIB_FDMETA_H__
#define __CRIB_FDMETA_H__

#include "crib.h"

/* the path buffer of bpf_d_path(), its NUL included: PATH_MAX */
#define CRIB_FDMETA_PATH_MAX 4096

/* flags */
#define CRIB_FDMETA_PATH_OF_KEY (1u << 0) /* path: that of the read's earlier record with file_key */

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
	__u32 flags;      /* CRIB_FDMETA_* */
	__u64 file_key;   /* the read's number (high 32 bits) and the file's in it (1...); 0: none */
};

#endif /* __CRIB_FDMETA_H__ */
