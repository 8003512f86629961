// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fds_fget.bpf.c: ops fds and fdinfo (crib_fds_fget) through the CRIB
 * kfuncs of kernel-patches/: every open fd of one task, each file taken
 * with a reference by bpf_task_fget() (pidfd_getfd(2)'s permission check)
 * and put back with bpf_put_file(), written as the same columns (map
 * fd_cols) as fds.bpf.c so one decoder serves both.
 *
 * Unlike the fd-table walk of fds.bpf.c, each file is pinned while it is
 * read, so nothing here depends on the task being frozen.  Which fds are
 * open still comes from the fdt's open_fds bitmap (one kfunc call per
 * open fd, not per slot).
 *
 * The kfuncs are declared __weak: on a kernel without them the object
 * still loads, crib_kfunc_probe says which are missing, and crib_fds_fget
 * returns -ENOSYS.  The collector runs the probe once and switches the
 * mechanism off with the names of the missing kfuncs.
 */
#include "crib_bpf.h"
#include "fd_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENOSYS 38
#define O_CLOEXEC 02000000

/* not in the host's vmlinux.h: the kfuncs of kernel-patches/ (Linux 6.12 + series) */
extern struct file *bpf_task_fget(struct task_struct *task, unsigned int fd) __ksym __weak;
extern void bpf_put_file(struct file *file) __ksym __weak;
extern struct sock *bpf_get_file_sock(struct file *file) __ksym __weak;
extern void bpf_put_sock(struct sock *sk) __ksym __weak;
extern int bpf_sock_rcvq_len(struct sock *sk) __ksym __weak;
extern int bpf_sock_rcvq_read(struct sock *sk, __u32 index, __u32 offset,
			      struct bpf_dynptr *dst, __u64 flags) __ksym __weak;

/* crib_kfunc_probe's return value: one bit per kfunc, in this order */
#define CRIB_KF_TASK_FGET      (1 << 0)
#define CRIB_KF_PUT_FILE       (1 << 1)
#define CRIB_KF_GET_FILE_SOCK  (1 << 2)
#define CRIB_KF_PUT_SOCK       (1 << 3)
#define CRIB_KF_SOCK_RCVQ_LEN  (1 << 4)
#define CRIB_KF_SOCK_RCVQ_READ (1 << 5)

/* bitmaps are read in chunks of this many fds */
#define CHUNK 512
#define CHUNK_WORDS (CHUNK / 64)

struct scratch {
	__u64 open[CHUNK_WORDS];
	__u64 cloexec[CHUNK_WORDS];
	/* in map memory, not on the stack: see fds.bpf.c */
	__u32 count;
	__u32 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_fd_cols);
} fd_cols SEC(".maps");

/*
 * Which CRIB kfuncs this kernel has (weak ksyms libbpf resolved against
 * its BTF).  Presence only: bpf_put_file is in upstream kernels too, for
 * LSM programs; SYSCALL programs may call it only with the series.
 */
SEC("syscall")
int crib_kfunc_probe(struct crib_req *req)
{
	int has = 0;

	if (bpf_ksym_exists(bpf_task_fget))
		has |= CRIB_KF_TASK_FGET;
	if (bpf_ksym_exists(bpf_put_file))
		has |= CRIB_KF_PUT_FILE;
	if (bpf_ksym_exists(bpf_get_file_sock))
		has |= CRIB_KF_GET_FILE_SOCK;
	if (bpf_ksym_exists(bpf_put_sock))
		has |= CRIB_KF_PUT_SOCK;
	if (bpf_ksym_exists(bpf_sock_rcvq_len))
		has |= CRIB_KF_SOCK_RCVQ_LEN;
	if (bpf_ksym_exists(bpf_sock_rcvq_read))
		has |= CRIB_KF_SOCK_RCVQ_READ;
	return has;
}

SEC("syscall")
int crib_fds_fget(struct crib_req *req)
{
	struct vfsmount *last_mnt = NULL;
	struct task_struct *task;
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fdarr;
	unsigned long *open, *coe;
	struct crib_fd_cols *cols;
	struct scratch *s;
	struct bpf_iter_num chunks;
	__u32 max_fds, count = 0, total = 0, zero = 0;
	__s32 last_mnt_id = 0;
	int level, err, *c;

	/* a known constant after load: the verifier drops the calls below without the series */
	if (!bpf_ksym_exists(bpf_task_fget) || !bpf_ksym_exists(bpf_put_file)) {
		err = -ENOSYS;
		goto out;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	cols = bpf_map_lookup_elem(&fd_cols, &zero);
	if (!s || !cols) {
		err = -EINVAL;
		goto out;
	}
	task = crib_req_task(req, sizeof(*req), &level, &err);
	if (!task)
		goto out;
	s->count = 0;
	s->total = 0;
	/* an exited task has no files: no fds, as /proc/PID/fd shows */
	files = BPF_CORE_READ(task, files);
	if (!files)
		goto release;
	fdt = BPF_CORE_READ(files, fdt);
	max_fds = BPF_CORE_READ(fdt, max_fds);
	fdarr = BPF_CORE_READ(fdt, fd);
	open = BPF_CORE_READ(fdt, open_fds);
	coe = BPF_CORE_READ(fdt, close_on_exec);

	bpf_iter_num_new(&chunks, 0, (max_fds + CHUNK - 1) / CHUNK);
	while ((c = bpf_iter_num_next(&chunks))) {
		struct bpf_iter_num slots;
		__u32 base = *c * CHUNK;
		__u64 n = max_fds - base;
		int *j;

		/* max_fds is a multiple of BITS_PER_LONG: whole words always */
		if (n > CHUNK)
			n = CHUNK;
		asm volatile("" : "+r"(n));
		if (n < 64 || n > CHUNK)
			break;
		if (bpf_probe_read_kernel(s->open, n / 8, open + base / 64) ||
		    bpf_probe_read_kernel(s->cloexec, n / 8, coe + base / 64)) {
			err = -EINVAL;
			break;
		}
		bpf_iter_num_new(&slots, 0, n);
		while ((j = bpf_iter_num_next(&slots))) {
			__u32 k = *j & (CHUNK - 1), i = s->count;
			struct vfsmount *mnt;
			struct file *f, *slot = NULL;
			__u32 flags;

			if (!(s->open[k / 64] & (1ULL << (k & 63))))
				continue;
			f = bpf_task_fget(task, base + k);
			if (!f) {
				/*
				 * Closed since the bitmap was read: skip it.  Still
				 * installed: the caller may not ptrace the task
				 * (or a fatal signal interrupted the wait).
				 */
				bpf_probe_read_kernel(&slot, sizeof(slot), fdarr + base + k);
				if (slot) {
					err = -EPERM;
					break;
				}
				continue;
			}
			s->total++;
			if (i >= CRIB_MAX_FDS) {
				bpf_put_file(f);
				err = -E2BIG;
				break;
			}
			i &= CRIB_MAX_FDS - 1;
			cols->fd[i] = base + k;
			cols->pos[i] = f->f_pos;
			flags = f->f_flags;
			if (s->cloexec[k / 64] & (1ULL << (k & 63)))
				flags |= O_CLOEXEC;
			cols->flags[i] = flags;
			/* fds mostly share a few mounts: read mnt_id once per run of them */
			mnt = BPF_CORE_READ(f, f_path.mnt);
			if (mnt != last_mnt) {
				struct mount *m = crib_container_of(mnt, struct mount, mnt);

				last_mnt = mnt;
				last_mnt_id = BPF_CORE_READ(m, mnt_id);
			}
			cols->mnt_id[i] = last_mnt_id;
			cols->locks[i] = crib_file_locks(f);
			s->count = i + 1;
			bpf_put_file(f);
		}
		bpf_iter_num_destroy(&slots);
		if (err)
			break;
	}
	bpf_iter_num_destroy(&chunks);
	count = s->count;
	total = s->total;
release:
	bpf_task_release(task);
	req->count = count;
	req->total = total;
out:
	req->err = err;
	return err;
}
