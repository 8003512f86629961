// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * taskfs.bpf.c: op taskfs, crib_taskfs, an iter/task program that user
 * space attaches to one task, or to none to read every task of a frozen
 * tree at once (prepare(): the pids in map "want", crib_want.h).  The
 * paths are named relative to the root of the task reading the iterator,
 * the engine, which serves the op only to a caller with the same root
 * (taskfs.ts); bpf_d_path() cannot be used on these struct paths, which
 * the verifier does not trust, so crib_path.h walks them.
 */
#include "crib_iter.h"
#include "crib_want.h"
#include "taskfs_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define OUT_NAMES (CRIB_TASKFS_NR * CRIB_PATH_BUF)

/*
 * The walk that named slot i of names last, within one read: the tasks of
 * a tree mostly share their exe, cwd and root, and a file walked for the
 * task before is not walked again (its path is still in the slot).
 */
struct taskfs_last {
	__u64 session;	/* the read (0: none) */
	__u64 dentry;
	__u64 mnt;
	__u64 root_dentry;
	__u64 root_mnt;
	__s64 len;	/* crib_path_walk()'s answer */
	__u32 deleted;
	__u32 _pad0;
};

struct taskfs_out {
	CRIB_REC(struct crib_taskfs) r;
	__u8 names[OUT_NAMES];	/* a slot of CRIB_PATH_BUF per file */
	__u8 pad[8];		/* zeros: the padding written after the paths */
	struct taskfs_last last[CRIB_TASKFS_NR];
};

/* the record is too big for the stack; its value type names struct crib_taskfs in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct taskfs_out);
} out SEC(".maps");

/* the tasks written by the iterator of session_id */
struct taskfs_count {
	__u64 session;
	__u32 count;
	__u32 _pad0;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct taskfs_count);
} counts SEC(".maps");

/*
 * File @i of @o: @dentry in @mnt, named from @root into slot @i of
 * o->names; the length of its path there (0: none).  Each file has a slot
 * of its own, at a constant offset: 6.1's verifier loses a pointer whose
 * variable offset it bounds on a path it cannot see is dead.
 */
static __always_inline __u64 one_file(struct taskfs_out *o, __u32 i, struct dentry *dentry, struct vfsmount *mnt,
				      const struct path *root, __u64 session)
{
	struct crib_path_walk *st = crib_path_state();
	struct crib_taskfs_file *f;
	struct taskfs_last *last;
	long len;

	if (i >= CRIB_TASKFS_NR)
		return 0;
	f = &o->r.p.f[i];
	if (taskfs_stat(f, dentry, mnt))
		return 0;
	if (!st) {
		f->err = -ENOENT;
		return 0;
	}
	last = &o->last[i];
	if (last->session == session && last->dentry == (__u64)dentry && last->mnt == (__u64)mnt &&
	    last->root_dentry == (__u64)root->dentry && last->root_mnt == (__u64)root->mnt) {
		/* the file of the task before: its path is in the slot still */
		len = last->len;
		f->flags = last->deleted ? CRIB_TASKFS_DELETED : 0;
	} else {
		len = crib_path_walk(st, dentry, mnt, root);
		asm volatile("" : "+r"(len));
		if (len > CRIB_PATH_BUF - 1)
			len = CRIB_PATH_BUF - 1;
		if (len > 0)
			bpf_probe_read_kernel(&o->names[i * CRIB_PATH_BUF], len, st->name);
		f->flags = st->deleted ? CRIB_TASKFS_DELETED : 0;
		last->session = session;
		last->dentry = (__u64)dentry;
		last->mnt = (__u64)mnt;
		last->root_dentry = (__u64)root->dentry;
		last->root_mnt = (__u64)root->mnt;
		last->len = len;
		last->deleted = st->deleted;
	}
	if (len < 0) {
		f->err = len;
		f->flags = 0;
		return 0;
	}
	/* clang 14 may test one register and use another (NOTES): pin the bound before its test */
	asm volatile("" : "+r"(len));
	if (len > CRIB_PATH_BUF - 1)
		len = CRIB_PATH_BUF - 1;
	f->path_len = len;
	return len > 0 ? len : 0;
}

/* Slot @i's @len bytes of path into the stream: 0, or bpf_seq_write()'s error */
static __always_inline long write_path(struct seq_file *seq, struct taskfs_out *o, __u32 i, __u64 len)
{
	asm volatile("" : "+r"(len));
	if (len > CRIB_PATH_BUF - 1)
		len = CRIB_PATH_BUF - 1;
	return len ? bpf_seq_write(seq, &o->names[i * CRIB_PATH_BUF], len) : 0;
}

SEC("iter/task")
int crib_taskfs(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_struct *me = bpf_get_current_task_btf();
	struct crib_iter_args *a;
	struct taskfs_count *c;
	struct vfsmount *m[CRIB_TASKFS_NR];
	struct dentry *d[CRIB_TASKFS_NR];
	struct taskfs_out *o;
	struct path root;
	__u64 l0, l1, l2, names, n, pad;
	__u32 zero = 0;
	__s32 pid;

	c = bpf_map_lookup_elem(&counts, &zero);
	o = bpf_map_lookup_elem(&out, &zero);
	a = bpf_map_lookup_elem(&iter_args, &zero);
	if (!c || !o || !a)
		return 0;
	if (c->session != ctx->meta->session_id) {
		c->session = ctx->meta->session_id;
		c->count = 0;
	}
	if (!task) {
		crib_rec_end(seq, 0, c->count, c->count, 0, 0);
		return 0;
	}
	if (a->pid) {
		__u32 inum;

		/* one task: the caller's pid, or nothing (user space says no such task) */
		if (crib_iter_task_level(task, &inum) < 0)
			return 0;
		pid = a->pid;
	} else {
		pid = crib_wanted(task, a->ns_inum);
		if (!pid)
			return 0;
	}

	/* the engine's root: d_path() names paths from the reader's */
	root.dentry = BPF_CORE_READ(me, fs, root.dentry);
	root.mnt = BPF_CORE_READ(me, fs, root.mnt);
	o->r.p.pid = pid;
	taskfs_files(task, d, m);
	l0 = one_file(o, CRIB_TASKFS_EXE, d[CRIB_TASKFS_EXE], m[CRIB_TASKFS_EXE], &root, ctx->meta->session_id);
	l1 = one_file(o, CRIB_TASKFS_CWD, d[CRIB_TASKFS_CWD], m[CRIB_TASKFS_CWD], &root, ctx->meta->session_id);
	l2 = one_file(o, CRIB_TASKFS_ROOT, d[CRIB_TASKFS_ROOT], m[CRIB_TASKFS_ROOT], &root, ctx->meta->session_id);

	/* the record, then the three paths, then the padding to 8, each a write of its own */
	names = l0 + l1 + l2;
	n = (sizeof(o->r) + names + 7) & ~7ULL;
	crib_rec_init(&o->r.h, CRIB_REC_CTX, n);
	o->r.h.extra = names;
	pad = n - sizeof(o->r) - names;
	/* counted only once all is written: a full buffer runs us again for this task */
	if (bpf_seq_write(seq, &o->r, sizeof(o->r)) || write_path(seq, o, CRIB_TASKFS_EXE, l0) ||
	    write_path(seq, o, CRIB_TASKFS_CWD, l1) || write_path(seq, o, CRIB_TASKFS_ROOT, l2) ||
	    (pad && bpf_seq_write(seq, o->pad, pad & 7)))
		return 0;
	c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_taskfs_probe)
