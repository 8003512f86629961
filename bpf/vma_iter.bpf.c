// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vma_iter.bpf.c: op vma for kernels without the open-coded VMA iterator
 * (< 6.7) or bpf_task_from_pid (< 6.2): crib_vma_iter is an iter/task_vma
 * program (6.1+) that user space attaches to one tid and reads until EOF.
 * The kernel calls it once per VMA, in address order, under the mmap lock,
 * then once more with no VMA at the end.
 *
 * Each VMA becomes a CRIB_REC_VMA record: the struct crib_vma of vma.bpf.c,
 * field for field, followed by its name's bytes when it is a new name (the
 * names buffer of vma.bpf.c, streamed; see crib.h).  The end is a
 * CRIB_REC_END record with the counts and CRIB_REQ_F_GATE_VMA.  A task
 * with no VMAs (no mm) and a task that does not exist both give no VMA
 * record: crib_vma_probe tells them apart.
 *
 * The fields and names follow vma.bpf.c (fs/proc/task_mmu.c show_map_vma
 * and get_vma_name); only the loops differ (bpf_loop for bpf_iter_num) and
 * the names go to a per-VMA scratch buffer before the stream.
 */
#include "crib_iter.h"
#include "vma_fields.h"
#include "vma_ksyms.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";


/* vma->anon_name exists only with CONFIG_ANON_VMA_NAME */
struct vm_area_struct___anon {
	struct anon_vma_name *anon_name;
} __attribute__((preserve_access_index));

/* One name: at most CRIB_NAME_MAX bytes plus one component. */
#define NAME_BUF   8192
#define NAME_ROOM  256
#define NAME_LIMIT (NAME_BUF - NAME_ROOM - 1)

/*
 * What the walk carries from one VMA to the next, and the record being
 * built.  A map, not the stack: the record and the name do not fit there.
 * One iteration at a time per loaded object (user space is single-threaded).
 */
struct vma_walk {
	/* committed once a VMA's record is written */
	__u64 session;      /* meta->session_id of the iterator this state is for */
	__u64 prev_file;    /* the last file named, its name reused below */
	__u64 brk;
	__u64 start_brk;
	__u64 start_stack;
	__u32 count;
	__u32 names_len;    /* bytes of names streamed so far */
	__u32 prev_off;
	__u32 prev_len;
	__u8  prev_kind;
	__u8  prev_flags;
	__u8  _pad0[2];
	__u32 flags;        /* CRIB_REQ_F_* */
	__s32 err;          /* -ESRCH: the task is not the caller's pid (crib_iter_task_level) */
	__u32 _pad1;
	/* the path walk of this VMA's name (path_step) */
	__u64 pw_dentry;    /* struct dentry * */
	__u64 pw_mnt;       /* struct mount * */
	__u64 pw_off;       /* next free byte of name */
	__s64 pw_err;
	/* this VMA's record and name */
	CRIB_REC(struct crib_vma) rec;
	__u8 name[NAME_BUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vma_walk);
} state SEC(".maps");

static __always_inline struct vma_walk *get_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&state, &zero);
}

/* Bound an offset into the name buffer so the verifier sees it (NOTES: clang 14). */
static __always_inline __u64 bound_off(__u64 off)
{
	asm volatile("" : "+r"(off));
	if (off > NAME_LIMIT)
		off = NAME_LIMIT;
	return off;
}

/*
 * One step of fs/d_path.c prepend_path() (see vma.bpf.c emit_path).  The
 * walk's state is in the map, not on the stack: the verifier checks a
 * bpf_loop callback until its state converges, and it does not track map
 * contents (vma.bpf.c does the same for its iterator loop).
 */
static long path_step(__u64 i, void *arg)
{
	struct dentry *dentry, *parent, *root;
	const unsigned char *name;
	struct vma_walk *st;
	struct mount *mnt;
	__u64 off, len;

	st = get_state();
	if (!st)
		return 1;
	dentry = (void *)st->pw_dentry;
	mnt = (void *)st->pw_mnt;
	root = BPF_CORE_READ(mnt, mnt.mnt_root);
	if (dentry == root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt) {
			st->pw_err = 0;	/* the global root */
			return 1;
		}
		st->pw_dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		st->pw_mnt = (__u64)up;
		return 0;
	}
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == parent) {
		st->pw_err = 0;	/* root of a detached tree */
		return 1;
	}
	/* d_path() fails the same way past PATH_MAX */
	if (st->pw_off > CRIB_NAME_MAX)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len);
	name = BPF_CORE_READ(dentry, d_name.name);
	/* NAME_MAX is 255; pseudo names are shorter still */
	if (len > 255)
		len = 255;
	off = bound_off(st->pw_off);
	st->name[off] = len;
	asm volatile("" : "+r"(len));
	if (len > 255)
		return 1;
	bpf_probe_read_kernel(&st->name[off + 1], len, name);
	st->pw_off = off + 1 + len;
	st->pw_dentry = (__u64)parent;
	return 0;
}

/* The path's components, leaf first, into st->name from 0; their length or -errno. */
static __always_inline long emit_path(struct vma_walk *st, struct dentry *dentry,
				      struct vfsmount *vfsmnt)
{
	st->pw_dentry = (__u64)dentry;
	st->pw_mnt = (__u64)crib_container_of(vfsmnt, struct mount, mnt);
	st->pw_off = 0;
	st->pw_err = -ENAMETOOLONG;
	bpf_loop(CRIB_PATH_DEPTH, path_step, NULL, 0);
	return st->pw_err ? st->pw_err : (long)st->pw_off;
}

/* A NUL-terminated kernel string (without the NUL) into st->name; its length. */
static __always_inline long emit_str(struct vma_walk *st, const void *src)
{
	long n = bpf_probe_read_kernel_str(st->name, NAME_ROOM, src);

	return n <= 0 ? 0 : n - 1;
}

/*
 * vma->anon_name, NULL where the kernel has no CONFIG_ANON_VMA_NAME.
 * Before 6.2 (6.1 here) it shares a union with vma->shared, the i_mmap
 * tree node of file mappings: only anonymous VMAs have it there
 * (mm_inline.h anon_vma_name() checks vm_file).
 */
static __always_inline struct anon_vma_name *anon_vma_name(struct vm_area_struct *vma)
{
	struct vm_area_struct___anon *a = (void *)vma;

	if (!bpf_core_field_exists(a->anon_name))
		return NULL;
	if (bpf_core_field_exists(vma->shared) &&
	    bpf_core_field_offset(a->anon_name) == bpf_core_field_offset(vma->shared) &&
	    vma->vm_file)
		return NULL;
	return BPF_CORE_READ(a, anon_name);
}

/*
 * fs/proc/task_mmu.c get_vma_name(), in its order (vma.bpf.c name_vma):
 * sets v's name fields, leaves a new name's bytes in st->name and returns
 * their length (0: none or reused), or -errno.
 */
static __always_inline long name_vma(struct vma_walk *st, struct crib_vma *v,
				     struct vm_area_struct *vma, struct file *file)
{
	struct anon_vma_name *anon;
	long n;

	v->name_off = st->names_len;
	if (file && (__u64)file == st->prev_file) {
		v->name_off = st->prev_off;
		v->name_len = st->prev_len;
		v->name_kind = st->prev_kind;
		v->name_flags = st->prev_flags;
		return 0;
	}
	anon = anon_vma_name(vma);
	/* a name given with prctl(PR_SET_VMA_ANON_NAME) to shared anonymous memory */
	if (file && anon) {
		v->name_kind = CRIB_NAME_ANON_SHMEM;
		n = emit_str(st, &anon->name);
		goto named;
	}
	if (file) {
		struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
		const struct dentry_operations *dop = BPF_CORE_READ(dentry, d_op);
		void *dname = dop ? BPF_CORE_READ(dop, d_dname) : NULL;

		if (dname) {
			/* pseudo files: d_path() asks the fs, which prints from the dentry name */
			if (ksym_simple_dname && (__u64)dname == ksym_simple_dname)
				v->name_kind = CRIB_NAME_DNAME_SIMPLE;
			else if (ksym_anon_inodefs_dname && (__u64)dname == ksym_anon_inodefs_dname)
				v->name_kind = CRIB_NAME_DNAME_ANON;
			else
				v->name_kind = CRIB_NAME_DNAME_OTHER;
			n = emit_str(st, BPF_CORE_READ(dentry, d_name.name));
		} else {
			/* unhashed and not a root: d_unlinked() */
			if (!BPF_CORE_READ(dentry, d_hash.pprev) &&
			    BPF_CORE_READ(dentry, d_parent) != dentry)
				v->name_flags |= CRIB_NAMEF_DELETED;
			v->name_kind = CRIB_NAME_PATH;
			n = emit_path(st, dentry, BPF_CORE_READ(file, f_path.mnt));
		}
		goto named;
	}
	if (vma->vm_ops) {
		void *fn = BPF_CORE_READ(vma->vm_ops, name);

		if (fn && (!ksym_special_mapping_name || (__u64)fn == ksym_special_mapping_name)) {
			struct vm_special_mapping *sm = vma->vm_private_data;

			v->name_kind = CRIB_NAME_STRING;
			n = emit_str(st, BPF_CORE_READ(sm, name));
			goto named;
		}
	}
	if (v->start <= st->brk && v->end >= st->start_brk) {
		v->name_kind = CRIB_NAME_HEAP;
		return 0;
	}
	if (v->start <= st->start_stack && v->end >= st->start_stack) {
		v->name_kind = CRIB_NAME_STACK;
		return 0;
	}
	if (anon) {
		v->name_kind = CRIB_NAME_ANON;
		n = emit_str(st, &anon->name);
		goto named;
	}
	return 0;
named:
	if (n < 0)
		return n;
	v->name_len = n;
	return n;
}

/* The stream's bytes after a record: a new name and the zeroes up to a multiple of 8. */
static __always_inline int write_name(struct seq_file *seq, struct vma_walk *st, __u64 n)
{
	__u64 zero = 0, pad = (8 - (n & 7)) & 7;

	asm volatile("" : "+r"(n));
	if (n > NAME_BUF)
		return -E2BIG;
	if (n && bpf_seq_write(seq, st->name, n))
		return -EOVERFLOW;
	asm volatile("" : "+r"(pad));
	if (pad > 7)
		return -EINVAL;
	if (pad && bpf_seq_write(seq, &zero, pad))
		return -EOVERFLOW;
	return 0;
}

SEC("iter/task_vma")
int crib_vma_iter(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct vma_walk *st;
	struct crib_vma *v;
	struct file *file;
	long n;

	st = get_state();
	if (!st)
		return 0;
	/*
	 * The end.  No VMA seen in this session: no mm or no task
	 * (crib_vma_probe).  (meta->seq_num cannot tell: it is 0 both
	 * before the first object and after the first one alone.)
	 */
	if (!vma) {
		if (st->session != ctx->meta->session_id)
			crib_rec_end(seq, 0, 0, 0, 0, 0);
		else
			crib_rec_end(seq, st->err, st->count, st->count, st->names_len, st->flags);
		return 0;
	}
	if (!task)
		return 0;
	/* the first VMA of this iterator: start afresh */
	if (st->session != ctx->meta->session_id) {
		struct mm_struct *mm = task->mm;
		__u32 inum;

		__builtin_memset(st, 0, __builtin_offsetof(struct vma_walk, rec));
		st->session = ctx->meta->session_id;
		if (crib_iter_task_level(task, &inum) < 0)
			st->err = -ESRCH;
		st->brk = BPF_CORE_READ(mm, brk);
		st->start_brk = BPF_CORE_READ(mm, start_brk);
		st->start_stack = BPF_CORE_READ(mm, start_stack);
		/* get_gate_vma(): see vma.bpf.c */
		if (mm && (BPF_CORE_READ(mm, context.flags) & (1u << 1)))
			st->flags |= CRIB_REQ_F_GATE_VMA;
	}

	if (st->err)
		return 0;
	v = &st->rec.p;
	file = vma->vm_file;
	vma_fields(v, vma, NULL);
	n = name_vma(st, v, vma, file);
	if (n < 0) {
		/* the stream ends here: user space reports the error */
		crib_rec_end(seq, n, st->count, st->count + 1, st->names_len, st->flags);
		return 0;
	}
	crib_rec_init(&st->rec.h, CRIB_REC_VMA, sizeof(st->rec) + ((n + 7) & ~7));
	st->rec.h.extra = n;
	if (bpf_seq_write(seq, &st->rec, sizeof(st->rec)) || write_name(seq, st, n))
		return 0;	/* the buffer is full: the kernel runs us again for this VMA */

	/* written: commit */
	if (file && n) {
		st->prev_file = (__u64)file;
		st->prev_off = v->name_off;
		st->prev_len = n;
		st->prev_kind = v->name_kind;
		st->prev_flags = v->name_flags;
	}
	st->names_len += n;
	st->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_vma_probe)
