/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * epoll.h: the record of op epoll (ops/registry), BPF to user space: what
 * /proc/PID/fdinfo/FD says of an epoll fd, its targets ("tfd:" lines),
 * in the order the kernel prints them (its tree of targets, by file and
 * fd).  One CRIB_REC_CTX record (crib.h) per epoll fd of the task, fds
 * ascending, each struct crib_epoll followed by its nr targets (the
 * record's extra bytes), then the END record.
 * The one definition: epoll.ts mirrors it, epoll.test.ts checks the
 * mirror against the object's BTF.
 */
#ifndef __CRIB_EPOLL_H__
#define __CRIB_EPOLL_H__

#include "crib.h"

/*
 * The targets one record lists at most: a record must fit the seq
 * iterator's buffer (8 pages).  An epoll fd with more has no
 * CRIB_EPOLL_ALL, and CRIU reads its fdinfo.
 */
#define CRIB_EPOLL_MAX_TFDS 512

/* flags */
#define CRIB_EPOLL_ALL (1u << 0) /* the nr targets after the record are all the fd's */

struct crib_epoll_tfd {
	__s32 tfd;     /* "tfd": the fd the target was added as (it may be closed since) */
	__u32 events;  /* "events": the events asked for, with EPOLLET and the like */
	__u64 data;    /* "data" */
	__s64 pos;     /* "pos": the target file's position */
	__u64 ino;     /* "ino": its inode's number */
	__u32 sdev;    /* "sdev": its superblock's s_dev, as the kernel keeps it (major << 20 | minor) */
	__u32 pad;     /* 0 */
};

struct crib_epoll {
	__s32 pid;     /* the task's, in the caller's pid namespace */
	__s32 fd;
	__u32 nr;      /* targets after this record */
	__u32 flags;   /* CRIB_EPOLL_* */
};

#endif /* __CRIB_EPOLL_H__ */
