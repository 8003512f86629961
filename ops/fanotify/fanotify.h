/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fanotify.h: the record of op fanotify (ops/registry), BPF to user
 * space: what /proc/PID/fdinfo/FD says of a fanotify fd, its group's
 * flags ("fanotify flags", "event-flags") and its inode and mount marks
 * ("fanotify ino:" and "fanotify mnt_id:" lines, in the kernel's order:
 * the group's list of marks, newest first), an inode mark with the file
 * handle CRIU opens it by.  Filesystem marks ("fanotify sdev:") are not
 * listed: CRIU 4.2.1 does not read them.  One CRIB_REC_CTX record (crib.h)
 * per fanotify fd of the task, fds ascending, each struct crib_fanotify
 * followed by its nr marks (the record's extra bytes), then the END
 * record.
 * The one definition: fanotify.ts mirrors it, fanotify.test.ts checks the
 * mirror against the object's BTF.
 */
#ifndef __CRIB_FANOTIFY_H__
#define __CRIB_FANOTIFY_H__

#include "crib.h"

/* The marks one record lists at most; an fd with more has no CRIB_FANOTIFY_ALL, and CRIU reads its fdinfo. */
#define CRIB_FANOTIFY_MAX_MARKS 256

/* the bytes of a file handle a mark carries at most: CRIB_FH_MAX of crib_fsnotify.h */
#define CRIB_FANOTIFY_FH_MAX 16

/* flags */
#define CRIB_FANOTIFY_ALL (1u << 0) /* the nr marks after the record are all the fd's inode and mount marks */

/* type */
#define CRIB_FANOTIFY_MARK_INODE 1 /* "fanotify ino:" */
#define CRIB_FANOTIFY_MARK_MOUNT 2 /* "fanotify mnt_id:" */

struct crib_fanotify_mark {
	__u32 type;         /* CRIB_FANOTIFY_MARK_* */
	__u32 mflags;       /* "mflags": FAN_MARK_IGNORED_SURV_MODIFY, FAN_MARK_EVICTABLE, FAN_MARK_IGNORE */
	__u32 mask;         /* "mask" */
	__u32 ignored_mask; /* "ignored_mask" */
	__u64 ino;          /* inode: "ino" */
	__u32 sdev;         /* inode: "sdev", the kernel's s_dev (major << 20 | minor) */
	__u32 mnt_id;       /* mount: "mnt_id" */
	__u32 fh_bytes;     /* inode: "fhandle-bytes"; 0: the engine cannot encode this file system's handles */
	__s32 fh_type;      /* inode: "fhandle-type" */
	__u8 fh[CRIB_FANOTIFY_FH_MAX]; /* inode: "f_handle", fh_bytes of it */
};

struct crib_fanotify {
	__s32 pid;          /* the task's, in the caller's pid namespace */
	__s32 fd;
	__u32 nr;           /* marks after this record */
	__u32 flags;        /* CRIB_FANOTIFY_* */
	__u32 fa_flags;     /* "fanotify flags": fanotify_init()'s flags */
	__u32 ev_flags;     /* "event-flags": fanotify_init()'s event_f_flags */
};

#endif /* __CRIB_FANOTIFY_H__ */
