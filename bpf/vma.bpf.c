// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vma.bpf.c: op vma (crib_vma): every VMA of one task with what
 * /proc/PID/smaps shows for it (the maps line and the VmFlags CRIU reads),
 * through the open-coded VMA iterator (bpf_iter_task_vma_*, 6.7+).
 *
 * Names are written to the "names" buffer: paths as components for user
 * space to join (see crib.h), other names as bytes.  A VMA whose file is
 * the previous VMA's file reuses that name (libraries map 4-5 VMAs each).
 */
#include "crib_bpf.h"
#include "vma_fields.h"
#include "vma_ksyms.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";


/* vma->anon_name exists only with CONFIG_ANON_VMA_NAME */
struct vm_area_struct___anon {
	struct anon_vma_name *anon_name;
} __attribute__((preserve_access_index));

/* the table, as columns user space sends on without touching each VMA */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_vma_cols);
} vma_cols SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_names);
} names SEC(".maps");

/* Room a name entry may need past its offset; the buffer keeps this much spare. */
#define NAME_ROOM 256
#define NAMES_LIMIT (CRIB_NAMES_SIZE - NAME_ROOM - 1)

/*
 * Bound an offset into the names buffer so the verifier sees it: clang 14
 * may test one register and use another (NOTES), the empty asm pins it.
 */
static __always_inline __u64 bound_off(__u64 off)
{
	asm volatile("" : "+r"(off));
	if (off > NAMES_LIMIT)
		off = NAMES_LIMIT;
	return off;
}

/*
 * fs/d_path.c prepend_path() for a reader at the global root: the dentry
 * names from the leaf up to the root of its mount, then on from the
 * mountpoint in the parent mount, until a mount that has no parent.
 * Writes the components at *off (leaf first) and advances it.
 */
static __always_inline int emit_path(struct crib_names *nb, __u32 *offp,
				     struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct mount *mnt = crib_container_of(vfsmnt, struct mount, mnt);
	struct bpf_iter_num it;
	__u64 off = *offp, start = *offp;
	int err = -ENAMETOOLONG;
	int *i;

	bpf_iter_num_new(&it, 0, CRIB_PATH_DEPTH);
	while ((i = bpf_iter_num_next(&it))) {
		struct dentry *parent, *root;
		const unsigned char *name;
		__u64 len;

		root = BPF_CORE_READ(mnt, mnt.mnt_root);
		if (dentry == root) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt) {
				err = 0;	/* the global root */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == parent) {
			err = 0;	/* root of a detached tree */
			break;
		}
		if (off >= NAMES_LIMIT) {
			err = -E2BIG;
			break;
		}
		/* d_path() fails the same way past PATH_MAX */
		if (off - start > CRIB_NAME_MAX)
			break;
		len = BPF_CORE_READ(dentry, d_name.len);
		name = BPF_CORE_READ(dentry, d_name.name);
		/* NAME_MAX is 255; pseudo names are shorter still */
		if (len > 255)
			len = 255;
		off = bound_off(off);
		nb->buf[off] = len;
		asm volatile("" : "+r"(len));
		if (len > 255)
			break;
		bpf_probe_read_kernel(&nb->buf[off + 1], len, name);
		off += 1 + len;
		dentry = parent;
	}
	bpf_iter_num_destroy(&it);
	*offp = off;
	return err;
}

/* Copy a NUL-terminated kernel string (without the NUL) to *off. */
static __always_inline int emit_str(struct crib_names *nb, __u32 *offp, const void *src)
{
	__u64 off = *offp;
	long n;

	if (off >= NAMES_LIMIT)
		return -E2BIG;
	off = bound_off(off);
	n = bpf_probe_read_kernel_str(&nb->buf[off], NAME_ROOM, src);
	if (n <= 0)
		return 0;
	*offp = off + n - 1;
	return 0;
}

/*
 * What the walk carries from one VMA to the next.  It lives in a map, not
 * on the stack: the verifier does not track map contents, so every pass of
 * the iterator loop looks the same to it and the loop converges.
 */
struct walk_state {
	__u64 prev_file;    /* the last file named, its name reused below */
	struct vma_file_cache fc; /* and its inode fields (vma_fields()) */
	__u64 brk;
	__u64 start_brk;
	__u64 start_stack;
	__u32 count;
	__u32 total;
	__u32 off;          /* next free byte of the names buffer */
	__u32 prev_off;
	__u32 prev_len;
	__u8  prev_kind;
	__u8  prev_flags;
	__u8  _pad0[2];
	struct crib_vma cur; /* the VMA being read, scattered into the columns after */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} walk SEC(".maps");

/* vma->anon_name, NULL where the kernel has no CONFIG_ANON_VMA_NAME */
static __always_inline struct anon_vma_name *anon_vma_name(struct vm_area_struct *vma)
{
	struct vm_area_struct___anon *a = (void *)vma;

	if (!bpf_core_field_exists(a->anon_name))
		return NULL;
	return BPF_CORE_READ(a, anon_name);
}

/* fs/proc/task_mmu.c get_vma_name(), in its order; 0 or -errno */
static __always_inline int name_vma(struct walk_state *st, struct crib_names *nb,
				    struct crib_vma *v, struct vm_area_struct *vma,
				    struct file *file)
{
	__u32 name_start = st->off;
	int err = 0;

	v->name_off = name_start;
	if (file && (__u64)file == st->prev_file) {
		v->name_off = st->prev_off;
		v->name_len = st->prev_len;
		v->name_kind = st->prev_kind;
		v->name_flags = st->prev_flags;
		return 0;
	}
	/* a name given with prctl(PR_SET_VMA_ANON_NAME) to shared anonymous memory */
	if (file && anon_vma_name(vma)) {
		v->name_kind = CRIB_NAME_ANON_SHMEM;
		err = emit_str(nb, &st->off, &anon_vma_name(vma)->name);
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
			err = emit_str(nb, &st->off, BPF_CORE_READ(dentry, d_name.name));
		} else {
			/* unhashed and not a root: d_unlinked() */
			if (!BPF_CORE_READ(dentry, d_hash.pprev) &&
			    BPF_CORE_READ(dentry, d_parent) != dentry)
				v->name_flags |= CRIB_NAMEF_DELETED;
			v->name_kind = CRIB_NAME_PATH;
			err = emit_path(nb, &st->off, dentry, BPF_CORE_READ(file, f_path.mnt));
		}
		st->prev_file = (__u64)file;
		st->prev_off = name_start;
		st->prev_len = st->off - name_start;
		st->prev_kind = v->name_kind;
		st->prev_flags = v->name_flags;
		goto named;
	}
	if (vma->vm_ops) {
		void *fn = BPF_CORE_READ(vma->vm_ops, name);

		if (fn && (!ksym_special_mapping_name || (__u64)fn == ksym_special_mapping_name)) {
			struct vm_special_mapping *sm = vma->vm_private_data;

			v->name_kind = CRIB_NAME_STRING;
			err = emit_str(nb, &st->off, BPF_CORE_READ(sm, name));
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
	if (anon_vma_name(vma)) {
		v->name_kind = CRIB_NAME_ANON;
		err = emit_str(nb, &st->off, &anon_vma_name(vma)->name);
		goto named;
	}
	return 0;
named:
	v->name_len = st->off - name_start;
	return err;
}

/* VMA i into the columns; i < CRIB_MAX_VMAS (checked by the caller) */
static __always_inline void put_vma(struct crib_vma_cols *c, __u32 i, const struct crib_vma *v)
{
	__u32 k;

	i &= CRIB_MAX_VMAS - 1;
	c->start[i] = v->start;
	c->end[i] = v->end;
	c->pgoff[i] = v->pgoff;
	c->ino[i] = v->ino;
	c->madv[i] = v->madv;
	c->vm_flags[i] = v->vm_flags;
	c->dev_maj[i] = v->dev_maj;
	c->dev_min[i] = v->dev_min;
	c->prot[i] = v->prot;
	c->shared[i] = v->shared;
	c->map_flags[i] = v->map_flags;
	c->vmflags[i] = v->vmflags;
	c->name_off[i] = v->name_off;
	c->name_word[i] = v->name_len | (__u32)v->name_kind << 16 | (__u32)v->name_flags << 24;
	c->mnt_id[i] = v->mnt_id;
	c->fmode[i] = v->fmode;
	if (v->name_kind == CRIB_NAME_NONE)
		return;
	k = c->nr_named;
	c->named[k & (CRIB_MAX_VMAS - 1)] = i;
	c->nr_named = k + 1;
}

SEC("syscall")
int crib_vma(struct crib_req *req)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct task_struct *task;
	struct crib_vma_cols *cols;
	struct walk_state *st;
	struct crib_names *nb;
	struct mm_struct *mm;
	__u32 zero = 0;
	int level, err;

	nb = bpf_map_lookup_elem(&names, &zero);
	st = bpf_map_lookup_elem(&walk, &zero);
	cols = bpf_map_lookup_elem(&vma_cols, &zero);
	if (!nb || !st || !cols) {
		err = -EINVAL;
		goto out;
	}
	task = crib_req_task(req, sizeof(*req), &level, &err);
	if (!task)
		goto out;
	__builtin_memset(st, 0, sizeof(*st));
	cols->nr_named = 0;
	mm = BPF_CORE_READ(task, mm);
	st->brk = BPF_CORE_READ(mm, brk);
	st->start_brk = BPF_CORE_READ(mm, start_brk);
	st->start_stack = BPF_CORE_READ(mm, start_stack);

	/* takes the mmap lock with a trylock: -EBUSY is reported, not waited on */
	err = bpf_iter_task_vma_new(&it, task, 0);
	while (!err && (vma = bpf_iter_task_vma_next(&it))) {
		struct crib_vma *v;
		struct file *file;
		__u32 i = st->count;

		st->total++;
		if (i >= CRIB_MAX_VMAS) {
			err = -E2BIG;
			break;
		}
		v = &st->cur;
		file = vma->vm_file;
		vma_fields(v, vma, &st->fc);
		st->count++;
		err = name_vma(st, nb, v, vma, file);
		put_vma(cols, i, v);
	}
	bpf_iter_task_vma_destroy(&it);
	/*
	 * get_gate_vma(): 64-bit tasks have the gate area; the bit is
	 * MM_CONTEXT_HAS_VSYSCALL (bit 1 both as 6.1's mask and 6.4+'s bit
	 * number).  Whether the kernel maps it at all (vsyscall=none) is
	 * learnt by user space from its own maps.
	 */
	if (mm && (BPF_CORE_READ(mm, context.flags) & (1u << 1)))
		req->flags |= CRIB_REQ_F_GATE_VMA;
	bpf_task_release(task);
	req->count = st->count;
	req->total = st->total;
	req->names_len = st->off;
out:
	req->err = err;
	return err;
}
