// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fds_iter.bpf.c: ops fds and fdinfo for kernels without bpf_task_from_pid
 * (< 6.2), bpf_iter_num or bpf_rdonly_cast (< 6.4): crib_fds_iter is an
 * iter/task_file program (6.1+) that user space attaches to one tid and
 * reads until EOF.  The kernel calls it once per open fd, ascending, with a
 * reference on the file, then once with no file at the end.
 *
 * Each fd becomes a CRIB_REC_FD record (the struct crib_fd of fds.bpf.c),
 * the end a CRIB_REC_END record.  A task without files (a zombie) and a
 * task that does not exist both give no FD record: crib_fds_probe tells
 * them apart.
 */
#include "crib_iter.h"
#include "fd_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define O_CLOEXEC 02000000

/* FD records written by the iterator of session_id (meta->seq_num cannot tell 0 from 1) */
struct fd_count {
	__u64 session;
	__u32 count;
	__s32 err;	/* -ESRCH: the task is not the caller's pid (crib_iter_task_level) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fd_count);
} counts SEC(".maps");

SEC("iter/task_file")
int crib_fds_iter(struct bpf_iter__task_file *ctx)
{
	CRIB_REC(struct crib_fd) r = {};
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	unsigned long *coe, word = 0;
	struct vfsmount *mnt;
	__u32 fd = ctx->fd, zero = 0;
	struct fd_count *c;

	c = bpf_map_lookup_elem(&counts, &zero);
	if (!c)
		return 0;
	if (c->session != ctx->meta->session_id) {
		__u32 inum;

		c->session = ctx->meta->session_id;
		c->count = 0;
		/* the first fd of the task (none: the probe checks it) */
		c->err = file && crib_iter_task_level(task, &inum) < 0 ? -ESRCH : 0;
	}
	if (!file) {
		crib_rec_end(seq, c->err, c->count, c->count, 0, 0);
		return 0;
	}
	if (!task || c->err)
		return 0;
	crib_rec_init(&r.h, CRIB_REC_FD, sizeof(r));
	r.p.fd = fd;
	r.p.pos = file->f_pos;
	r.p.flags = file->f_flags;
	/* the fd's close-on-exec bit, as /proc/PID/fdinfo shows it */
	coe = BPF_CORE_READ(task, files, fdt, close_on_exec);
	if (coe && !bpf_probe_read_kernel(&word, sizeof(word), coe + fd / 64) &&
	    (word & (1UL << (fd & 63))))
		r.p.flags |= O_CLOEXEC;
	mnt = file->f_path.mnt;
	r.p.mnt_id = BPF_CORE_READ(crib_container_of(mnt, struct mount, mnt), mnt_id);
	r.p.locks = crib_file_locks(file);
	/* counted only once written: a full buffer runs us again for this fd */
	if (!bpf_seq_write(seq, &r, sizeof(r)))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_fds_probe)
