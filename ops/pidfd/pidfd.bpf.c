// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pidfd.bpf.c: op pidfd, crib_pidfd, an iter/task_file program (6.1+)
 * that user space attaches to one task and reads until EOF (not for a
 * whole tree at once, for fdtype's reason).  The kernel calls it once per
 * open fd, ascending, with a reference on the file, then once with no
 * file at the end.
 *
 * A pidfd is a file of pidfs (6.9+: its inode's i_private is the struct
 * pid) or, before, an anon-inode file named "[pidfd]" (its private_data
 * is).  The fields are what pidfd_show_fdinfo() prints for a reader in
 * the caller's pid namespace: the process's number there, 0 when that
 * namespace cannot see it, -1 when it has no task left; and, where the
 * number is there, its number in its own namespace.
 */
#include "crib_iter.h"
#include "pidfd.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_FILE_ITER_COUNTS(counts);

/* the record as it is written; its value type names struct crib_pidfd in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, CRIB_REC(struct crib_pidfd));
} out SEC(".maps");

/* "[pidfd]", compared a character at a time */
static __always_inline bool is_pidfd(const char *n)
{
	return n[0] == '[' && n[1] == 'p' && n[2] == 'i' && n[3] == 'd' && n[4] == 'f' && n[5] == 'd' &&
	       n[6] == ']' && !n[7];
}

SEC("iter/task_file")
int crib_pidfd(struct bpf_iter__task_file *ctx)
{
	CRIB_REC(struct crib_pidfd) *o;
	struct file *file = ctx->file;
	struct crib_file_iter_count *c;
	struct inode *inode;
	char name[16] = {};
	struct pid *p;
	__u32 level, zero = 0;
	__s32 pid;

	c = crib_file_iter_begin(ctx, &counts, &pid);
	o = bpf_map_lookup_elem(&out, &zero);
	if (!c || !o || !file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (BPF_CORE_READ(inode, i_sb, s_magic) == PID_FS_MAGIC) {
		p = BPF_CORE_READ(inode, i_private);
	} else {
		crib_file_dname(file, ANON_INODE_FS_MAGIC, name, sizeof(name));
		if (!is_pidfd(name))
			return 0;
		p = BPF_CORE_READ(file, private_data);
	}
	if (!p)
		return 0;
	o->p.pid = pid;
	o->p.fd = ctx->fd;
	o->p.ino = BPF_CORE_READ(inode, i_ino);
	/* pid_has_task(pid, PIDTYPE_PID) */
	if (!BPF_CORE_READ(p, tasks[PIDTYPE_PID].first)) {
		o->p.nr = o->p.ns_nr = -1;
	} else {
		o->p.nr = o->p.ns_nr = crib_pid_nr(p, c->level, c->inum);
		level = BPF_CORE_READ(p, level);
		if (o->p.nr > 0 && level <= CRIB_MAX_PID_NS_LEVEL)
			o->p.ns_nr = BPF_CORE_READ(crib_upid(p, level), nr);
	}
	crib_rec_init(&o->h, CRIB_REC_CTX, sizeof(*o));
	/* counted only once written: a full buffer runs us again for this fd */
	if (!bpf_seq_write(ctx->meta->seq, o, sizeof(*o)))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_pidfd_probe)
