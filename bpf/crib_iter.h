/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_iter.h: what the seq-iterator fallbacks (*_iter.bpf.c) share.
 *
 * They run where the SYSCALL programs cannot (no bpf_task_from_pid before
 * 6.2, no open-coded VMA iterator before 6.7, no bpf_iter_num before 6.4),
 * so they call no kfunc at all: the task comes from the iterator's context
 * (user space attaches them to one tid) and loops are bpf_loop() (5.17+).
 * Output is the record stream of crib.h (struct crib_rec), written with
 * bpf_seq_write.
 *
 * A seq iterator that fills its buffer drops the partial output of the
 * current object and runs the program again for it on the next read():
 * programs keep their state changes until every write of an object went
 * through, so a re-run sees the state the first run saw.
 */
#ifndef __CRIB_ITER_H__
#define __CRIB_ITER_H__

#include "crib_bpf.h"

#define EOVERFLOW 75

/* the superblock magic of anon-inode files (eventfd, epoll, signalfd, timerfd...) */
#define ANON_INODE_FS_MAGIC 0x09041934
/* and of pidfs, whose files are pidfds (6.9+; before, anon-inode files named "[pidfd]") */
#define PID_FS_MAGIC 0x50494446

/* A record of the stream with a payload of type T. */
#define CRIB_REC(T) struct { struct crib_rec h; T p; }

static __always_inline void crib_rec_init(struct crib_rec *h, __u16 type, __u32 len)
{
	h->type = type;
	h->extra = 0;
	h->len = len;
}

/*
 * The records these objects write, named in their BTF: the streams are
 * built on the stack, which BTF does not describe, and
 * test/bpf/records.test.ts checks the TypeScript layouts against the BTF
 * of each object.  A map's value type is in BTF; this one-entry map is
 * never used otherwise.
 */
struct crib_iter_records {
	struct crib_rec rec;
	struct crib_req req;
	struct crib_task task;
	struct crib_vma vma;
	struct crib_fd fd;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_iter_records);
} crib_btf_records SEC(".maps");

/* The request, as far as a task program needs it (crib.h, struct crib_iter_args) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_iter_args);
} iter_args SEC(".maps");

/*
 * The kernel found @task by the tid user space attached to, in the
 * reader's pid namespace: check it is the caller's pid (crib_task_check)
 * and give the level of the caller's namespace, or -ESRCH.
 */
static __always_inline int crib_iter_task_level(struct task_struct *task, __u32 *inum)
{
	struct crib_iter_args *a;
	__u32 zero = 0;

	a = bpf_map_lookup_elem(&iter_args, &zero);
	if (!a || !task)
		return -ESRCH;
	*inum = a->ns_inum;
	return crib_task_check(task, a->pid, a->ns_inum);
}

/* The END record: the reply header of the SYSCALL programs. */
static __always_inline int crib_rec_end(struct seq_file *seq, int err, __u32 count,
					__u32 total, __u32 names_len, __u32 flags)
{
	CRIB_REC(struct crib_req) r = {};

	crib_rec_init(&r.h, CRIB_REC_END, sizeof(r));
	r.p.size = sizeof(r.p);
	r.p.version = CRIB_ABI_VERSION;
	r.p.err = err;
	r.p.count = count;
	r.p.total = total;
	r.p.names_len = names_len;
	r.p.flags = flags;
	return bpf_seq_write(seq, &r, sizeof(r));
}

/*
 * The iter/task_file programs that user space attaches to one task and
 * that write a record for some of its fds (ops fdtype, epoll, pidfd):
 * what a read has written so far, in a one-entry array map of this type
 * that each declares (CRIB_FILE_ITER_COUNTS).
 */
struct crib_file_iter_count {
	__u64 session;	/* the read these are of */
	__u32 count;	/* records written */
	__s32 err;	/* -ESRCH: the task is not the caller's pid (crib_iter_task_level) */
	__u32 level;	/* the caller's pid namespace: its level among the task's, */
	__u32 inum;	/* and its inode */
};

#define CRIB_FILE_ITER_COUNTS(name)				\
struct {							\
	__uint(type, BPF_MAP_TYPE_ARRAY);			\
	__uint(max_entries, 1);					\
	__type(key, __u32);					\
	__type(value, struct crib_file_iter_count);		\
} name SEC(".maps")

/*
 * The start of such a program's run: the read's count (reset at its first
 * fd, where the task is checked against the request), or NULL when there
 * is nothing to write for @ctx.  At the end of the files (no file) it
 * writes the END record with the count.  @pid: the request's.  (The
 * caller still checks its own copy of ctx->file for NULL: the verifier
 * does not carry this check over.)
 */
static __always_inline struct crib_file_iter_count *
crib_file_iter_begin(struct bpf_iter__task_file *ctx, void *counts, __s32 *pid)
{
	struct crib_file_iter_count *c;
	struct crib_iter_args *a;
	__u32 zero = 0;
	int level;

	c = bpf_map_lookup_elem(counts, &zero);
	a = bpf_map_lookup_elem(&iter_args, &zero);
	if (!c || !a)
		return NULL;
	if (c->session != ctx->meta->session_id) {
		c->session = ctx->meta->session_id;
		c->count = 0;
		c->err = 0;
		/* one task: its first fd (none: the probe checks it) */
		if (a->pid && ctx->file) {
			level = crib_iter_task_level(ctx->task, &c->inum);
			c->err = level < 0 ? -ESRCH : 0;
			c->level = level < 0 ? 0 : level;
		}
	}
	if (!ctx->file) {
		crib_rec_end(ctx->meta->seq, c->err, c->count, c->count, 0, 0);
		return NULL;
	}
	/* one task, the one user space attached the iterator to */
	if (!ctx->task || c->err || !a->pid)
		return NULL;
	*pid = a->pid;
	return c;
}

/*
 * The name of @file's dentry, in @name (@n bytes, NUL-terminated) when
 * its superblock has @magic, else "": how an anon-inode file's kind is
 * told ("[eventfd]", "[eventpoll]"...), since its f_op cannot be compared
 * with eventfd_fops and the like: /proc/kallsyms lists no data symbols
 * without CONFIG_KALLSYMS_ALL.
 */
static __always_inline void crib_file_dname(struct file *file, unsigned long magic, char *name, __u32 n)
{
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);

	name[0] = 0;
	if (BPF_CORE_READ(d, d_sb, s_magic) == magic)
		bpf_probe_read_kernel_str(name, n, BPF_CORE_READ(d, d_name.name));
}

/*
 * Write the CRIB_REC_CTX record at @h: @fixed bytes (this header
 * included), then @n items of @item bytes, at most @max, which follow it
 * in the same map value (the record's extra bytes).  The size is bounded
 * and pinned for the verifier (clang 14 bounds one register and passes
 * another).  0, or what bpf_seq_write() says (-EOVERFLOW: a full buffer,
 * and the kernel runs the program again for this object).
 */
static __always_inline long crib_rec_write_items(struct seq_file *seq, struct crib_rec *h, __u64 fixed, __u64 n,
						 __u64 item, __u64 max)
{
	__u64 size;

	if (n > max)
		return -E2BIG;
	size = fixed + n * item;
	crib_rec_init(h, CRIB_REC_CTX, size);
	h->extra = size - fixed;
	asm volatile("" : "+r"(size));
	if (size > fixed + max * item)
		return -E2BIG;
	return bpf_seq_write(seq, h, size);
}

/*
 * The iterators that walk a task's VMAs or files show nothing both for a
 * task that does not exist and for one without an mm or files (a zombie):
 * each object has this probe (iter/task, same tid) to tell them apart.  It
 * writes an END record with count 1 when the task exists and is the
 * caller's pid (crib_iter_task_level).
 */
#define CRIB_ITER_TASK_PROBE(name)					\
SEC("iter/task")							\
int name(struct bpf_iter__task *ctx)					\
{									\
	__u32 inum;							\
									\
	if (crib_iter_task_level(ctx->task, &inum) < 0)			\
		return 0;						\
	crib_rec_end(ctx->meta->seq, 0, 1, 1, 0, 0);			\
	return 0;							\
}

#endif /* __CRIB_ITER_H__ */
