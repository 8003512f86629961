/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_core.h: the C core of the native addon.  A thin layer over libbpf:
 * open a BPF object, switch programs off, load it, run SYSCALL programs
 * with a context, and map array maps for reading.
 *
 * Every call returns 0 (or a non-negative value) on success and a negative
 * errno on failure.  Calls that talk to libbpf capture what libbpf prints
 * (the verifier log included) and hand it back through *log, a malloc()ed
 * string the caller frees (NULL when nothing was printed).
 *
 * Not thread-safe: one thread (Node's main thread) drives it.
 */
#ifndef __CRIB_CORE_H__
#define __CRIB_CORE_H__

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct crib_obj;

struct crib_map_info {
	uint32_t type;        /* BPF_MAP_TYPE_* */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	int fd;
};

/* Open (parse, not load) a BPF object file. */
int crib_obj_open(const char *path, struct crib_obj **out, char **log);

/* Names of the object's programs, in section order; NULL past the end. */
const char *crib_obj_prog_name(struct crib_obj *obj, unsigned int i);

/* Load or not load one program at crib_obj_load(); -ENOENT if unknown. */
int crib_obj_set_autoload(struct crib_obj *obj, const char *prog, int on);

/* Create the maps and load the programs that are on; once per object. */
int crib_obj_load(struct crib_obj *obj, char **log);

/* fd of a loaded program, or -ENOENT / -ENOEXEC (not loaded). */
int crib_obj_prog_fd(struct crib_obj *obj, const char *prog);

/* Geometry of a map (after load: fd is valid). */
int crib_obj_map_info(struct crib_obj *obj, const char *map, struct crib_map_info *info);

/*
 * Map a BPF_F_MMAPABLE array read-only; the mapping lives until
 * crib_obj_close().  *addr and *size describe it.
 */
int crib_obj_map_mmap(struct crib_obj *obj, const char *map, void **addr, size_t *size);

/*
 * Copy entries [first, first + n) of an array map into dst (n * value_size
 * bytes) with BPF_MAP_LOOKUP_BATCH, for maps that cannot be mapped.
 * Returns the number of entries copied.
 */
int crib_map_read(int map_fd, uint32_t value_size, uint32_t first, uint32_t n, void *dst);
/* Writes one entry of an array map (for a request a program reads); 0 or -errno. */
int crib_map_write(int map_fd, uint32_t index, const void *src);

/*
 * Run a program once (BPF_PROG_TEST_RUN) with ctx as its context; SYSCALL
 * programs may write ctx, which comes back updated.  *retval gets the
 * program's return value.
 */
int crib_prog_run(int prog_fd, void *ctx, size_t ctx_size, uint32_t *retval);

/* One run of crib_prog_run_all() */
struct crib_run {
	int prog_fd;
	void *ctx;
	size_t ctx_size;
	uint32_t retval;	/* out */
	int err;		/* out: 0 or -errno of BPF_PROG_TEST_RUN */
	uint64_t ns;		/* out: how long the run took (CLOCK_MONOTONIC) */
};

#define CRIB_RUN_MAX 8

/*
 * Run up to CRIB_RUN_MAX programs at once: runs[0] in this thread, each
 * other in a thread of its own (the programs and their maps must be
 * distinct).  Each run reports its own err and time.  Returns 0 when
 * every run could be started, else a negative errno (-E2BIG for too many
 * runs; when a thread cannot be made its run is done here after the
 * others, so the results are still complete and 0 is returned).
 */
int crib_prog_run_all(struct crib_run *runs, unsigned int n);

/*
 * Attach an iterator program (SEC("iter/task*")) to one task, create an
 * iterator from the link and read it: the program's whole output.
 * tid != 0: that task only (link_info.iter.task.tid); else pid != 0: the
 * tasks of that process (.pid); else every task.  With CRIB_ITER_F_UNTIL_END the output is
 * a stream of struct crib_rec (bpf/crib.h) and reading stops after the
 * first CRIB_REC_END record; otherwise at EOF.  (A task_vma iterator
 * filtered by tid whose output takes several read()s starts over after its
 * end, and never returns EOF, on 6.1 to 6.18 at least.)  At most
 * CRIB_ITER_MAX_BYTES are read (-E2BIG past them).  *buf is malloc()ed
 * (the caller frees it), *len its length.
 */
#define CRIB_ITER_F_UNTIL_END 0x1
#define CRIB_ITER_MAX_BYTES   (256u << 20)
int crib_obj_iter_read(struct crib_obj *obj, const char *prog, uint32_t pid, uint32_t tid,
		       unsigned int flags, void **buf, size_t *len, char **log);

/*
 * Drain the BPF_MAP_TYPE_RINGBUF map @map: every record committed so far,
 * in order, each as a u32 length, then its bytes, padded to 8.  The
 * ring_buffer (libbpf) is made on the first call and kept with the
 * object.  *buf is malloc()ed (the caller frees it), *len its length, 0
 * with *buf NULL when the ring is empty.  The reader knows no record
 * type: what the records mean is the op's.
 */
int crib_obj_ringbuf_read(struct crib_obj *obj, const char *map, void **buf, size_t *len);

/* Unmap, unload, free.  NULL is fine. */
void crib_obj_close(struct crib_obj *obj);

/*
 * Map @size bytes of the shared memory file @fd read-write (the plugin's
 * bulk-answer buffer), its pages faulted in now when @populate.  0 and
 * *addr, or a negative errno.
 */
int crib_shm_map(int fd, size_t size, int populate, void **addr);

/* Undo crib_shm_map() (a service unmaps each session's buffer when it ends). */
int crib_shm_unmap(void *addr, size_t size);

/*
 * The peer of a connected unix socket, from the kernel, never from what it
 * sent: its credentials at connect() (SO_PEERCRED, in this process's pid
 * and user namespaces), a pidfd of it (SO_PEERPIDFD, 6.5+; else
 * pidfd_open() of that pid, checked to be alive after the namespace is
 * read) and the inode of its pid namespace (PIDFD_GET_PID_NAMESPACE, 6.11+;
 * else /proc/PID/ns/pid).  The caller closes pidfd.
 */
struct crib_peer {
	int32_t pid;
	uint32_t uid;
	uint32_t gid;
	int pidfd;
	uint64_t pid_ns;
	/* how pidfd was had: 1 SO_PEERPIDFD, 0 pidfd_open() */
	int exact;
};
int crib_sock_peer(int sk, struct crib_peer *peer);

/* A copy of fd @fd of the process @pidfd refers to (pidfd_getfd(2)), CLOEXEC. */
int crib_pidfd_getfd(int pidfd, int fd);

/*
 * The mount ids the kernel gives the files of its internal mounts that
 * the fd-kind ops read: anon-inode files (eventfd, epoll...) and pidfds,
 * as fdinfo's mnt_id shows them, learnt from an eventfd and a pidfd of
 * our own, closed again; each -errno when it cannot be had.  Returns 0,
 * or @anon_inode's error.
 */
int crib_internal_mounts(int *anon_inode, int *pidfs);

/*
 * statmount() (6.8+) of the mount whose unique id is @mnt_id, in the mount
 * namespace whose id is @ns_id (0: the caller's), for the fields of @mask
 * (STATMOUNT_*), into @buf of @size bytes: struct statmount, then its
 * strings.  0, or -errno (-ENOSYS before 6.8).
 */
/*
 * Loads @n opened objects side by side, one thread per CPU taking the next
 * (at most CRIB_RUN_MAX): err[i] is what crib_obj_load() would return for
 * objs[i], without its log (load a failed one again alone for that).
 */
int crib_obj_load_all(struct crib_obj **objs, int *err, unsigned int n);

/* The kernel's id of BPF program or map @fd (bpf_obj_get_info_by_fd()), or -errno */
int64_t crib_obj_id(int fd);

int crib_statmount(uint64_t mnt_id, uint64_t ns_id, uint64_t mask, void *buf, size_t size);

/*
 * The first i with a[i] <= a[i - 1], or with a[0] < 0; -1 when @a is
 * strictly ascending and not negative.  A loop the engine runs on every fd
 * table, here because V8 may still interpret it on the first big one.
 */
long crib_first_unordered(const int32_t *a, size_t n);

/* "libbpf v1.1" */
const char *crib_libbpf_version(void);

#ifdef __cplusplus
}
#endif

#endif /* __CRIB_CORE_H__ */
