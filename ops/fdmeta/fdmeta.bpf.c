// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fdmeta.bpf.c: op fdmeta, crib_fdmeta, an iter/task_file program (6.1+)
 * that user space attaches to one task, or to none to read every task of
 * a frozen tree at once (prepare(): the pids in map "want"), and reads
 * until EOF.  The kernel calls it once per open fd, task by task, fds
 * ascending, with a reference on the file, then once with no file at the
 * end.
 *
 * The path is bpf_d_path(), which seq iterators may call (SYSCALL
 * programs may not): d_path() as readlink() of /proc/PID/fd/N runs it,
 * relative to the root of the task reading the iterator, the engine.  So
 * the engine serves this op only to a caller with the same root
 * (fdmeta.ts).
 *
 * File keys: map file_keys numbers each open file (struct file) the read
 * meets, in order, so that user space learns which fds are one file
 * without kcmp() and without a kernel address: the map is BPF_F_WRONLY
 * (no read from user space).  An entry holds the read it was made in, so
 * one left by an earlier read (or by a file since closed whose memory a
 * new file got) is made anew, not taken.  The map is emptied only when
 * it is half full, at the start of a read: a walk of all its buckets
 * costs ~1 ms, more than a dump's read of a small tree.  A full map gives
 * no key (CRIU then compares with kcmp()), never a wrong one.  A file
 * named once in the read is not named again (its record says
 * CRIB_FDMETA_PATH_OF_KEY): in a tree of tasks most fds are inherited.
 */
#include "crib_iter.h"
#include "crib_want.h"
#include "fdmeta.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define S_IFMT 00170000

struct fdmeta_out {
	CRIB_REC(struct crib_fdmeta) r;
	char path[CRIB_FDMETA_PATH_MAX];
	char pad[8];	/* the verifier's bound of the rounded length (clang 14 drops a clamp it proves) */
};

/* the record is too big for the stack; its value type names struct crib_fdmeta in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fdmeta_out);
} out SEC(".maps");

struct file_key {
	__u64 read;	/* the read's session_id */
	__u32 nr;	/* 1...: the file's number in that read */
	__u32 named;	/* a record with its path has been written */
};

#define FILE_KEYS_MAX (1 << 17)

/* struct file * -> its number in the read, for files of the tasks read */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FILE_KEYS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_WRONLY);
	__type(key, __u64);
	__type(value, struct file_key);
} file_keys SEC(".maps");

static long forget_key(struct bpf_map *map, __u64 *key, struct file_key *val, void *ctx)
{
	bpf_map_delete_elem(&file_keys, key);
	return 0;
}

/* records written by the iterator of session_id (as fds_iter.bpf.c counts them) */
struct fdmeta_count {
	__u64 session;
	__u32 keys;	/* file numbers given in this read */
	__u32 entries;	/* in file_keys, over all reads since it was emptied */
	__u32 count;
	__s32 err;	/* -ESRCH: the task is not the caller's pid (crib_iter_task_level) */
	__s32 last_tgid; /* every task: the task the last fd was of (init namespace) */
	__s32 last_pid;  /* and its pid in the caller's namespace, 0: not asked for */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fdmeta_count);
} counts SEC(".maps");

SEC("iter/task_file")
int crib_fdmeta(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct crib_iter_args *a;
	struct fdmeta_count *c;
	struct fdmeta_out *o;
	struct file_key *k, nk = {};
	struct inode *inode;
	__u64 fp;
	struct super_block *sb;
	__u32 zero = 0, n;
	long len;

	c = bpf_map_lookup_elem(&counts, &zero);
	o = bpf_map_lookup_elem(&out, &zero);
	a = bpf_map_lookup_elem(&iter_args, &zero);
	if (!c || !o || !a)
		return 0;
	if (c->session != ctx->meta->session_id) {
		__u32 inum;

		c->session = ctx->meta->session_id;
		c->keys = 0;
		c->count = 0;
		c->last_tgid = 0;
		c->last_pid = 0;
		/* one task: its first fd (none: the probe checks it) */
		c->err = a->pid && file && crib_iter_task_level(task, &inum) < 0 ? -ESRCH : 0;
		if (c->entries >= FILE_KEYS_MAX / 2) {
			bpf_for_each_map_elem(&file_keys, forget_key, NULL, 0);
			c->entries = 0;
		}
	}
	if (!file) {
		crib_rec_end(seq, c->err, c->count, c->count, 0, 0);
		return 0;
	}
	if (!task || c->err)
		return 0;
	if (a->pid) {
		o->r.p.pid = a->pid;
	} else {
		/* every task: the fds of each task come together */
		__s32 tgid = BPF_CORE_READ(task, tgid);

		if (tgid != c->last_tgid) {
			c->last_tgid = tgid;
			c->last_pid = crib_wanted(task, a->ns_inum);
		}
		if (!c->last_pid)
			return 0;
		o->r.p.pid = c->last_pid;
	}

	/* what fstat() and fstatfs() of the fd report: the path's dentry, not f_inode (overlayfs) */
	inode = BPF_CORE_READ(file, f_path.dentry, d_inode);
	sb = BPF_CORE_READ(file, f_path.dentry, d_sb);
	o->r.p.fd = ctx->fd;
	o->r.p.mode = BPF_CORE_READ(inode, i_mode);
	o->r.p.ino = BPF_CORE_READ(inode, i_ino);
	n = BPF_CORE_READ(sb, s_dev);
	o->r.p.dev_major = n >> 20;
	o->r.p.dev_minor = n & ((1U << 20) - 1);
	o->r.p.magic = BPF_CORE_READ(sb, s_magic);
	/* pidfs_getattr(): user space expects a pidfd's inode to have no file type (6.9+) */
	if (o->r.p.magic == PID_FS_MAGIC)
		o->r.p.mode &= ~S_IFMT;

	/* a full buffer runs us again for this fd: its number is kept from the first run */
	fp = (__u64)file;
	k = bpf_map_lookup_elem(&file_keys, &fp);
	if (!k || k->read != c->session) {
		/* new, or an earlier read's entry: made anew */
		nk.read = c->session;
		nk.nr = c->keys + 1;
		if (!bpf_map_update_elem(&file_keys, &fp, &nk, k ? BPF_EXIST : BPF_NOEXIST)) {
			c->keys++;
			c->entries += !k;
			k = bpf_map_lookup_elem(&file_keys, &fp);
		} else {
			k = NULL;
		}
	}
	/* map full: no key, and CRIU compares the file with kcmp() */
	o->r.p.file_key = k ? (ctx->meta->session_id << 32) | k->nr : 0;
	o->r.p.flags = 0;
	if (k && k->named) {
		o->r.p.flags = CRIB_FDMETA_PATH_OF_KEY;
		o->r.p.path_err = 0;
		o->r.p.path_len = 0;
		crib_rec_init(&o->r.h, CRIB_REC_CTX, sizeof(o->r));
		o->r.h.extra = 0;
		if (!bpf_seq_write(seq, o, sizeof(o->r)))
			c->count++;
		return 0;
	}

	len = bpf_d_path((struct path *)&file->f_path, o->path, CRIB_FDMETA_PATH_MAX);
	if (len <= 0) {
		o->r.p.path_err = len < 0 ? len : -ENAMETOOLONG;
		len = 0;
	} else {
		o->r.p.path_err = 0;
		len--; /* the NUL */
	}
	if (len > CRIB_FDMETA_PATH_MAX - 1)
		len = CRIB_FDMETA_PATH_MAX - 1;
	o->r.p.path_len = len;
	n = (sizeof(o->r) + len + 7) & ~7U;
	crib_rec_init(&o->r.h, CRIB_REC_CTX, n);
	o->r.h.extra = len;
	/* counted only once written: a full buffer runs us again for this fd */
	if (!bpf_seq_write(seq, o, n)) {
		c->count++;
		if (k && !o->r.p.path_err)
			k->named = 1;
	}
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_fdmeta_probe)
