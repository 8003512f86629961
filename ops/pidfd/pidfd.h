/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pidfd.h: the record of op pidfd (ops/registry), BPF to user space: what
 * /proc/PID/fdinfo/FD says of a pidfd beyond the fields every file has,
 * the process it refers to ("Pid", "NSpid"), and its inode ("ino").  One
 * CRIB_REC_CTX record (crib.h) per pidfd of the task, fds ascending, then
 * the END record.
 * The one definition: pidfd.ts mirrors it, pidfd.test.ts checks the
 * mirror against the object's BTF.
 */
#ifndef __CRIB_PIDFD_H__
#define __CRIB_PIDFD_H__

#include "crib.h"

struct crib_pidfd {
	__s32 pid;     /* the task's, in the caller's pid namespace */
	__s32 fd;
	__s32 nr;      /* "Pid": the process in the caller's pid namespace; 0: that namespace cannot see it; -1: it has exited */
	__s32 ns_nr;   /* the last of "NSpid": its number in its own pid namespace (nr where nr <= 0) */
	__u64 ino;     /* "ino": the pidfd's inode */
};

#endif /* __CRIB_PIDFD_H__ */
