/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inotify.h: the record of op inotify (ops/registry), BPF to user space:
 * what /proc/PID/fdinfo/FD says of an inotify fd, its watches ("inotify
 * wd:" lines, in the order the kernel prints them: its group's list of
 * marks, newest first), each with the file handle CRIU opens the watched
 * inode by.  One CRIB_REC_CTX record (crib.h) per inotify fd of the task,
 * fds ascending, each struct crib_inotify followed by its nr watches (the
 * record's extra bytes), then the END record.
 * The one definition: inotify.ts mirrors it, inotify.test.ts checks the
 * mirror against the object's BTF.
 */
#ifndef __CRIB_INOTIFY_H__
#define __CRIB_INOTIFY_H__

#include "crib.h"

/* The watches one record lists at most; an fd with more has no CRIB_INOTIFY_ALL, and CRIU reads its fdinfo. */
#define CRIB_INOTIFY_MAX_WDS 256

/* the bytes of a file handle a watch carries at most (CRIU's FhEntry keeps 16) */
#define CRIB_INOTIFY_FH_MAX 16 /* CRIB_FH_MAX of crib_fsnotify.h */

/* flags */
#define CRIB_INOTIFY_ALL (1u << 0) /* the nr watches after the record are all the fd's */

struct crib_inotify_wd {
	__s32 wd;           /* "wd" */
	__u32 mask;         /* "mask": the events, with IN_EXCL_UNLINK and IN_ONESHOT */
	__u64 ino;          /* "ino": the watched inode's number */
	__u32 sdev;         /* "sdev": its superblock's s_dev, the kernel's encoding (major << 20 | minor) */
	__u32 ignored_mask; /* "ignored_mask" */
	__u32 fh_bytes;     /* "fhandle-bytes"; 0: the engine cannot encode this file system's handles */
	__s32 fh_type;      /* "fhandle-type" */
	__u8 fh[CRIB_INOTIFY_FH_MAX]; /* "f_handle", fh_bytes of it */
};

struct crib_inotify {
	__s32 pid;          /* the task's, in the caller's pid namespace */
	__s32 fd;
	__u32 nr;           /* watches after this record */
	__u32 flags;        /* CRIB_INOTIFY_* */
};

#endif /* __CRIB_INOTIFY_H__ */
