// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fds.bpf.c: ops fds and fdinfo (crib_fds): every open fd of one task with
 * the common fields of /proc/PID/fdinfo/FD, from a walk of its fd table.
 *
 * The walk takes no file references: it is consistent only while the
 * task is frozen, as it is inside a CRIU dump.
 */
#include "crib_bpf.h"
#include "fd_fields.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define O_CLOEXEC 02000000

/* fd[] is read in chunks of this many pointers: fewer helper calls than one per fd */
#define CHUNK 512
#define CHUNK_WORDS (CHUNK / 64)

struct scratch {
	struct file *fd[CHUNK];
	__u64 cloexec[CHUNK_WORDS];
	/*
	 * Carried from one fd to the next in map memory, not on the stack:
	 * the verifier then need not tell apart states that differ only in
	 * how many fds were seen, and the walk converges.
	 */
	__u32 count;
	__u32 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* the table, as columns user space sends on without touching each fd */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crib_fd_cols);
} fd_cols SEC(".maps");

SEC("syscall")
int crib_fds(struct crib_req *req)
{
	struct vfsmount *last_mnt = NULL;
	struct task_struct *task;
	struct files_struct *files;
	struct fdtable *fdt;
	struct file **fdarr;
	unsigned long *coe;
	struct crib_fd_cols *cols;
	struct scratch *s;
	struct bpf_iter_num chunks;
	__u32 max_fds, count = 0, total = 0, zero = 0;
	__s32 last_mnt_id = 0;
	int level, err, *c;

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
		if (bpf_probe_read_kernel(s->fd, n * sizeof(s->fd[0]), fdarr + base) ||
		    bpf_probe_read_kernel(s->cloexec, n / 8, coe + base / 64)) {
			err = -EINVAL;
			break;
		}
		bpf_iter_num_new(&slots, 0, n);
		while ((j = bpf_iter_num_next(&slots))) {
			__u32 k = *j & (CHUNK - 1), i = s->count;
			struct vfsmount *mnt;
			struct file *f;
			__u32 flags;

			f = s->fd[k];
			if (!f)
				continue;
			s->total++;
			if (i >= CRIB_MAX_FDS) {
				err = -E2BIG;
				break;
			}
			i &= CRIB_MAX_FDS - 1;
			f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
			cols->fd[i] = base + k;
			cols->pos[i] = f->f_pos;
			flags = f->f_flags;
			if (s->cloexec[k / 64] & (1ULL << (k & 63)))
				flags |= O_CLOEXEC;
			cols->flags[i] = flags;
			/* fds mostly share a few mounts: read mnt_id once per run of them */
			mnt = f->f_path.mnt;
			if (mnt != last_mnt) {
				struct mount *m = crib_container_of(mnt, struct mount, mnt);

				last_mnt = mnt;
				last_mnt_id = BPF_CORE_READ(m, mnt_id);
			}
			cols->mnt_id[i] = last_mnt_id;
			cols->locks[i] = crib_file_locks(f);
			s->count = i + 1;
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
