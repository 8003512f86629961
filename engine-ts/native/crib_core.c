// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * crib_core.c: see crib_core.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "crib_core.h"
/* the record stream of the iterator programs */
#include "../../bpf/crib.h"

#define MAX_MMAPS 16

struct crib_mmap {
	const struct bpf_map *map;
	void *addr;
	size_t size;
};

/* What the ring buffer callback appends to */
struct crib_rb_out {
	char *buf;
	size_t used, size;
	int err;
};

#define MAX_RINGBUFS 4

struct crib_ringbuf {
	const struct bpf_map *map;
	struct ring_buffer *rb;
	struct crib_rb_out out;
};

struct crib_obj {
	struct bpf_object *obj;
	int loaded;
	struct crib_mmap mmaps[MAX_MMAPS];
	unsigned int nr_mmaps;
	struct crib_ringbuf rbs[MAX_RINGBUFS];
	unsigned int nr_rbs;
};

/* ---- libbpf log capture ------------------------------------------------ */

static char *cap_buf;
static size_t cap_len, cap_size;

static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n <= 0)
		return 0;
	if (cap_len + n + 1 > cap_size) {
		size_t size = (cap_len + n + 1) * 2;
		char *buf = realloc(cap_buf, size);

		if (!buf)
			return 0;
		cap_buf = buf;
		cap_size = size;
	}
	vsnprintf(cap_buf + cap_len, cap_size - cap_len, fmt, ap);
	cap_len += n;
	return n;
}

static libbpf_print_fn_t capture_start(void)
{
	cap_len = 0;
	return libbpf_set_print(capture);
}

/* Hands the captured text to *log (if asked) and restores the printer. */
static void capture_end(libbpf_print_fn_t prev, char **log)
{
	libbpf_set_print(prev);
	if (log) {
		*log = NULL;
		if (cap_len)
			*log = strndup(cap_buf, cap_len);
	}
	cap_len = 0;
}

/* ---- objects ----------------------------------------------------------- */

int crib_obj_open(const char *path, struct crib_obj **out, char **log)
{
	libbpf_print_fn_t prev;
	struct crib_obj *o;
	int err;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	prev = capture_start();
	o->obj = bpf_object__open_file(path, NULL);
	err = -errno;
	capture_end(prev, log);
	if (!o->obj) {
		free(o);
		return err ? err : -EINVAL;
	}
	*out = o;
	return 0;
}

const char *crib_obj_prog_name(struct crib_obj *o, unsigned int i)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, o->obj) {
		if (i-- == 0)
			return bpf_program__name(p);
	}
	return NULL;
}

int crib_obj_set_autoload(struct crib_obj *o, const char *prog, int on)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o->obj, prog);

	if (!p)
		return -ENOENT;
	if (o->loaded)
		return -EBUSY;
	return bpf_program__set_autoload(p, !!on);
}

int crib_obj_load(struct crib_obj *o, char **log)
{
	libbpf_print_fn_t prev;
	sigset_t all, old;
	int err;

	if (o->loaded)
		return -EALREADY;
	/*
	 * The verifier gives up with -EAGAIN when a signal is pending, and a
	 * long verification under a profiler's SIGPROF (or a busy SIGCHLD)
	 * never ends: hold signals until the load is done.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	prev = capture_start();
	err = bpf_object__load(o->obj);
	capture_end(prev, log);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err < 0 ? err : -EINVAL;
	o->loaded = 1;
	return 0;
}

/* libbpf's messages while objects load side by side: dropped (a failed one is loaded again alone, for its log) */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

struct load_all {
	struct crib_obj **objs;
	int *err;
	unsigned int n;
	unsigned int next;	/* the next object to take, taken atomically */
};

static void *load_some(void *arg)
{
	struct load_all *la = arg;
	unsigned int i;

	while ((i = __atomic_fetch_add(&la->next, 1, __ATOMIC_RELAXED)) < la->n) {
		struct crib_obj *o = la->objs[i];
		int err;

		if (o->loaded) {
			la->err[i] = -EALREADY;
			continue;
		}
		err = bpf_object__load(o->obj);
		la->err[i] = err ? (err < 0 ? err : -EINVAL) : 0;
		if (!err)
			o->loaded = 1;
	}
	return NULL;
}

int crib_obj_load_all(struct crib_obj **objs, int *err, unsigned int n)
{
	pthread_t th[CRIB_RUN_MAX];
	struct load_all la = { .objs = objs, .err = err, .n = n };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int i, workers;
	bool started[CRIB_RUN_MAX] = { false };
	libbpf_print_fn_t prev;
	sigset_t all, old;

	workers = cpus > 1 ? (unsigned int)cpus : 1;
	if (workers > CRIB_RUN_MAX)
		workers = CRIB_RUN_MAX;
	if (workers > n)
		workers = n;
	/* as crib_obj_load(): no signal may interrupt a verification (threads inherit the mask) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	prev = libbpf_set_print(quiet);
	for (i = 1; i < workers; i++)
		started[i] = pthread_create(&th[i], NULL, load_some, &la) == 0;
	load_some(&la);
	for (i = 1; i < workers; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	libbpf_set_print(prev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/*
	 * Each load parsed the kernel's BTF (~5 MB) and freed it, in the
	 * arena of its thread: give that memory back, or the engine carries
	 * it, and a co-process's end (the kernel freeing it, with the tree
	 * frozen) takes longer.
	 */
	malloc_trim(0);
	return 0;
}

int crib_obj_prog_fd(struct crib_obj *o, const char *prog)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o->obj, prog);
	int fd;

	if (!p)
		return -ENOENT;
	fd = bpf_program__fd(p);
	return fd < 0 ? -ENOEXEC : fd;
}

int crib_obj_map_info(struct crib_obj *o, const char *name, struct crib_map_info *info)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);

	if (!m)
		return -ENOENT;
	info->type = bpf_map__type(m);
	info->key_size = bpf_map__key_size(m);
	info->value_size = bpf_map__value_size(m);
	info->max_entries = bpf_map__max_entries(m);
	info->map_flags = bpf_map__map_flags(m);
	info->fd = bpf_map__fd(m);
	return 0;
}

int crib_obj_map_mmap(struct crib_obj *o, const char *name, void **addr, size_t *size)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);
	long page = sysconf(_SC_PAGESIZE);
	struct crib_mmap *mm;
	unsigned int i;
	size_t len;
	void *p;

	if (!m)
		return -ENOENT;
	for (i = 0; i < o->nr_mmaps; i++) {
		if (o->mmaps[i].map == m) {
			*addr = o->mmaps[i].addr;
			*size = o->mmaps[i].size;
			return 0;
		}
	}
	if (!o->loaded || bpf_map__fd(m) < 0)
		return -ENOEXEC;
	if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY || !(bpf_map__map_flags(m) & BPF_F_MMAPABLE))
		return -EINVAL;
	if (o->nr_mmaps == MAX_MMAPS)
		return -ENOSPC;
	/* array elements are 8-byte aligned in the kernel's layout */
	len = (size_t)((bpf_map__value_size(m) + 7) & ~7u) * bpf_map__max_entries(m);
	len = (len + page - 1) & ~(size_t)(page - 1);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED)
		return -errno;
	mm = &o->mmaps[o->nr_mmaps++];
	mm->map = m;
	mm->addr = p;
	mm->size = len;
	*addr = p;
	*size = len;
	return 0;
}

int crib_map_write(int map_fd, uint32_t index, const void *src)
{
	return bpf_map_update_elem(map_fd, &index, src, BPF_ANY) ? -errno : 0;
}

int crib_map_read(int map_fd, uint32_t value_size, uint32_t first, uint32_t n, void *dst)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, in = first - 1, out, count, done = 0;
	void *inp = first ? &in : NULL;	/* in_batch is the key before the first one */
	int err = 0;

	if (!n)
		return 0;
	keys = malloc((size_t)n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(map_fd, inp, &out, keys + done,
					   (char *)dst + (size_t)done * value_size, &count, &opts);
		done += count;
		in = out;
		inp = &in;
		if (err) {
			if (err == -ENOENT)	/* end of the map */
				err = 0;
			break;
		}
	}
	free(keys);
	return err ? err : (int)done;
}

int crib_prog_run(int prog_fd, void *ctx, size_t ctx_size, uint32_t *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_size);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err < 0 ? err : -EINVAL;
	*retval = opts.retval;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *run_one(void *arg)
{
	struct crib_run *r = arg;
	uint64_t t = mono_ns();

	r->err = crib_prog_run(r->prog_fd, r->ctx, r->ctx_size, &r->retval);
	r->ns = mono_ns() - t;
	return NULL;
}

int crib_prog_run_all(struct crib_run *runs, unsigned int n)
{
	pthread_t th[CRIB_RUN_MAX];
	bool started[CRIB_RUN_MAX] = { false };
	unsigned int i;

	if (n > CRIB_RUN_MAX)
		return -E2BIG;
	for (i = 1; i < n; i++)
		started[i] = pthread_create(&th[i], NULL, run_one, &runs[i]) == 0;
	if (n)
		run_one(&runs[0]);
	for (i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			run_one(&runs[i]);
	}
	return 0;
}

/* Whether the complete records in buf[*scan, used) include a CRIB_REC_END; advances *scan. */
static int saw_end(const char *buf, size_t used, size_t *scan)
{
	struct crib_rec h;

	while (used - *scan >= sizeof(h)) {
		memcpy(&h, buf + *scan, sizeof(h));
		if (h.len < sizeof(h) || h.len > used - *scan)
			return 0;	/* bad framing is left to the decoder; partial: read on */
		*scan += h.len;
		if (h.type == CRIB_REC_END)
			return 1;
	}
	return 0;
}

int crib_obj_iter_read(struct crib_obj *o, const char *prog, uint32_t pid, uint32_t tid,
		       unsigned int flags, void **buf, size_t *len, char **log)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o->obj, prog);
	union bpf_iter_link_info linfo;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo, .link_info_len = sizeof(linfo));
	libbpf_print_fn_t prev;
	struct bpf_link *link;
	size_t size = 64 << 10, used = 0, scan = 0;
	char *out = NULL, *grown;
	ssize_t n;
	int fd = -1, err = 0;

	*buf = NULL;
	*len = 0;
	if (log)
		*log = NULL;
	if (!p)
		return -ENOENT;
	if (!o->loaded || bpf_program__fd(p) < 0)
		return -ENOEXEC;
	memset(&linfo, 0, sizeof(linfo));
	if (tid)
		linfo.task.tid = tid;
	else if (pid)
		linfo.task.pid = pid;
	/* neither: every task */
	prev = capture_start();
	link = bpf_program__attach_iter(p, &opts);
	err = link ? 0 : -errno;
	capture_end(prev, log);
	if (!link)
		return err ? err : -EINVAL;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	out = malloc(size);
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (size - used < 4096) {
			if (size * 2 > CRIB_ITER_MAX_BYTES) {
				err = -E2BIG;
				goto out;
			}
			grown = realloc(out, size * 2);
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			out = grown;
			size *= 2;
		}
		n = read(fd, out + used, size - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		used += n;
		if ((flags & CRIB_ITER_F_UNTIL_END) && saw_end(out, used, &scan))
			break;
	}
	*buf = out;
	*len = used;
	out = NULL;
out:
	free(out);
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	return err;
}

static int rb_append(void *ctx, void *data, size_t size)
{
	struct crib_rb_out *out = ctx;
	size_t need = out->used + 8 + ((size + 7) & ~(size_t)7);
	uint32_t len = size;

	if (need > out->size) {
		size_t n = out->size ? out->size : 64 << 10;
		char *grown;

		while (n < need)
			n *= 2;
		grown = realloc(out->buf, n);
		if (!grown) {
			out->err = -ENOMEM;
			return -ENOMEM; /* stops the consume */
		}
		out->buf = grown;
		out->size = n;
	}
	memcpy(out->buf + out->used, &len, sizeof(len));
	memset(out->buf + out->used + 4, 0, 4);
	memcpy(out->buf + out->used + 8, data, size);
	memset(out->buf + out->used + 8 + size, 0, need - out->used - 8 - size);
	out->used = need;
	return 0;
}

int crib_obj_ringbuf_read(struct crib_obj *o, const char *name, void **buf, size_t *len)
{
	struct bpf_map *map = bpf_object__find_map_by_name(o->obj, name);
	struct crib_ringbuf *r = NULL;
	unsigned int i;
	int n;

	*buf = NULL;
	*len = 0;
	if (!map)
		return -ENOENT;
	if (!o->loaded)
		return -ENOEXEC;
	if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	for (i = 0; i < o->nr_rbs; i++)
		if (o->rbs[i].map == map)
			r = &o->rbs[i];
	if (!r) {
		if (o->nr_rbs == MAX_RINGBUFS)
			return -ENOSPC;
		r = &o->rbs[o->nr_rbs];
		memset(r, 0, sizeof(*r));
		r->rb = ring_buffer__new(bpf_map__fd(map), rb_append, &r->out, NULL);
		if (!r->rb)
			return -errno;
		r->map = map;
		o->nr_rbs++;
	}
	r->out.used = 0;
	r->out.err = 0;
	n = ring_buffer__consume(r->rb);
	if (r->out.err)
		return r->out.err;
	if (n < 0)
		return n;
	if (!r->out.used)
		return 0;
	*buf = malloc(r->out.used);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, r->out.buf, r->out.used);
	*len = r->out.used;
	return 0;
}

void crib_obj_close(struct crib_obj *o)
{
	unsigned int i;

	if (!o)
		return;
	for (i = 0; i < o->nr_rbs; i++) {
		ring_buffer__free(o->rbs[i].rb);
		free(o->rbs[i].out.buf);
	}
	for (i = o->nr_mmaps; i-- > 0;)
		munmap(o->mmaps[i].addr, o->mmaps[i].size);
	bpf_object__close(o->obj);
	free(o);
}

const char *crib_libbpf_version(void)
{
	return libbpf_version_string();
}

long crib_first_unordered(const int32_t *a, size_t n)
{
	size_t i;

	if (n && a[0] < 0)
		return 0;
	for (i = 1; i < n; i++)
		if (a[i] <= a[i - 1])
			return (long)i;
	return -1;
}

int crib_shm_map(int fd, size_t size, int populate, void **addr)
{
	struct stat st;
	void *p;

	if (fd < 0 || !size)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	/* never map past the file: a shorter one would SIGBUS on touch */
	if ((uint64_t)st.st_size < size)
		return -ERANGE;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

int crib_shm_unmap(void *addr, size_t size)
{
	return munmap(addr, size) ? -errno : 0;
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef PIDFD_GET_PID_NAMESPACE
#define PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)
#endif

static int pidfd_ns_inum(int pidfd, pid_t pid, uint64_t *inum)
{
	char path[64];
	struct stat st;
	int nsfd, err;

	nsfd = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
	if (nsfd >= 0) {
		err = fstat(nsfd, &st) ? -errno : 0;
		close(nsfd);
		if (!err)
			*inum = st.st_ino;
		return err;
	}
	/* before 6.11: by pid, then make sure the pidfd's task still runs (so the pid was its) */
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &st))
		return -errno;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0))
		return -errno;
	*inum = st.st_ino;
	return 0;
}

int crib_sock_peer(int sk, struct crib_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd, err;

	memset(peer, 0, sizeof(*peer));
	peer->pidfd = -1;
	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	if (cred.pid <= 0)
		return -ESRCH; /* the peer's process is not in our pid namespace */
	len = sizeof(pidfd);
	if (!getsockopt(sk, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len)) {
		peer->exact = 1;
	} else {
		pidfd = syscall(SYS_pidfd_open, cred.pid, 0);
		if (pidfd < 0)
			return -errno;
	}
	if (fcntl(pidfd, F_SETFD, FD_CLOEXEC)) {
		err = -errno;
		close(pidfd);
		return err;
	}
	err = pidfd_ns_inum(pidfd, cred.pid, &peer->pid_ns);
	if (err) {
		close(pidfd);
		return err;
	}
	peer->pidfd = pidfd;
	return 0;
}

int crib_pidfd_getfd(int pidfd, int fd)
{
	int ret = syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	return ret < 0 ? -errno : ret;
}

/* The mnt_id line of /proc/self/fdinfo/@fd, or -errno; closes @fd. */
static int fd_mnt_id(int fd)
{
	char path[64], line[128];
	int id = -ENOENT;
	FILE *f;

	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f) {
		id = -errno;
		close(fd);
		return id;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &id) == 1)
			break;
	fclose(f);
	close(fd);
	return id;
}

int crib_internal_mounts(int *anon_inode, int *pidfs)
{
	*anon_inode = fd_mnt_id(eventfd(0, EFD_CLOEXEC));
	/* on kernels before pidfs (6.9) a pidfd is an anon-inode file: the same mount */
	*pidfs = fd_mnt_id(syscall(SYS_pidfd_open, getpid(), 0));
	return *anon_inode < 0 ? *anon_inode : 0;
}

#ifndef __NR_statmount
#define __NR_statmount 457
#endif

/* struct mnt_id_req of linux/mount.h (6.11+: mnt_ns_id), which older headers do not have */
struct crib_mnt_id_req {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
	uint64_t mnt_ns_id;
};

int crib_statmount(uint64_t mnt_id, uint64_t ns_id, uint64_t mask, void *buf, size_t size)
{
	struct crib_mnt_id_req req = {
		.size = sizeof(req),
		.mnt_id = mnt_id,
		.param = mask,
		.mnt_ns_id = ns_id,
	};

	return syscall(__NR_statmount, &req, buf, size, 0) < 0 ? -errno : 0;
}

int64_t crib_obj_id(int fd)
{
	/* struct bpf_prog_info and struct bpf_map_info both begin with type, then id */
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return info.id;
}
