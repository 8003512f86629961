/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fd_fields.h: what the fd walks (fds.bpf.c, fds_fget.bpf.c,
 * fds_iter.bpf.c) read of one open file beyond fdinfo's common fields.
 */
#ifndef __CRIB_FD_FIELDS_H__
#define __CRIB_FD_FIELDS_H__

/*
 * CRIB_FD_LOCKS_HELD when the file's inode has a lock context with any
 * flock, POSIX/OFD lock or lease in it, whoever holds them; else
 * CRIB_FD_LOCKS_NONE.  /proc/locks lists the same lists, but reading it
 * waits for an RCU grace period; CRIU reads the locks themselves from the
 * fdinfo of the fds this marks.  A context, once made, lives as long as
 * the inode: only the lists change, and the tasks are frozen.
 */
static __always_inline __u32 crib_file_locks(struct file *f)
{
	struct file_lock_context *ctx = BPF_CORE_READ(f, f_inode, i_flctx);
	struct list_head *next;

	if (!ctx)
		return CRIB_FD_LOCKS_NONE;
	next = BPF_CORE_READ(ctx, flc_flock.next);
	if (next && next != &ctx->flc_flock)
		return CRIB_FD_LOCKS_HELD;
	next = BPF_CORE_READ(ctx, flc_posix.next);
	if (next && next != &ctx->flc_posix)
		return CRIB_FD_LOCKS_HELD;
	next = BPF_CORE_READ(ctx, flc_lease.next);
	if (next && next != &ctx->flc_lease)
		return CRIB_FD_LOCKS_HELD;
	return CRIB_FD_LOCKS_NONE;
}

#endif /* __CRIB_FD_FIELDS_H__ */
