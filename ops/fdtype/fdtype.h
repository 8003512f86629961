/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fdtype.h: the record of op fdtype (ops/registry), BPF to user space:
 * what /proc/PID/fdinfo/FD says of an fd beyond the fields every file
 * has, for the kinds of file the engine knows (CRIB_FDTYPE_*): an
 * eventfd's counter, a signalfd's mask, a timerfd's clock, ticks and
 * times.  One record per such fd, in a
 * CRIB_REC_CTX record of the stream (crib.h); fds of other kinds have
 * none.  A read of one task (the iterator attached to it): its records,
 * fds ascending, then the END record.
 * The one definition: fdtype.ts mirrors it, fdtype.test.ts checks the
 * mirror against the object's BTF.
 */
#ifndef __CRIB_FDTYPE_H__
#define __CRIB_FDTYPE_H__

#include "crib.h"

/* kind: the anon-inode file, as readlink() names it */
#define CRIB_FDTYPE_EVENTFD  1 /* anon_inode:[eventfd] */
#define CRIB_FDTYPE_SIGNALFD 2 /* anon_inode:[signalfd] */
#define CRIB_FDTYPE_TIMERFD  3 /* anon_inode:[timerfd] */

/* have */
#define CRIB_FDTYPE_HAVE_IT_VALUE (1u << 0) /* timerfd: it_value_ns is known (not for CLOCK_REALTIME) */

struct crib_fdtype {
	__s32 pid;     /* the task's, in the caller's pid namespace */
	__s32 fd;
	__u32 kind;    /* CRIB_FDTYPE_* */
	__u32 flags;   /* eventfd: its context's flags (EFD_SEMAPHORE); timerfd: "settime flags"; else 0 */
	__u64 value;   /* eventfd: "eventfd-count"; signalfd: "sigmask", the signals it takes; timerfd: "ticks" */
	__s32 clockid; /* timerfd: "clockid"; else 0 */
	__u32 have;    /* CRIB_FDTYPE_HAVE_* */
	__s64 it_value_ns;    /* timerfd: "it_value", the time to its next expiry (0: disarmed or due) */
	__s64 it_interval_ns; /* timerfd: "it_interval" */
};

#endif /* __CRIB_FDTYPE_H__ */
