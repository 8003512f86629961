/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * crib.h: what crib-plugin.c (registration, engine start) and ops.c (the
 * cr_engine_ops entries and their answer checks) share.
 */
#ifndef __CRIB_PLUGIN_H__
#define __CRIB_PLUGIN_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "criu-engine.h"
#include "crib_ops.h"

/* ops.c: the engine has been started; say hello and learn its ops. */
int crib_hello(void);
/* What a service called itself in its hello; "" for a co-process. */
const char *crib_service_name(void);
/* How many ops the engine serves after crib_hello(); when none, *why says why. */
int crib_ops_served(const char **why);
/* ops.c: touched blocks for the arrays handed to CRIU (start-up, after the engine's start) */
void crib_ops_reserve(void);
/* ops.c: forget the snapshot, the cached fd tables, the hello and the blocks. */
void crib_ops_reset(void);

int crib_prepare(const pid_t *pids, int nr, uint64_t *op_ns, unsigned int nr_op_ns);
int crib_stat(pid_t pid, struct cr_eng_stat *st);
int crib_status(pid_t pid, struct cr_eng_status *st);
int crib_threads(pid_t pid, pid_t **tids, int *nr);
int crib_children(pid_t pid, pid_t **pids, int *nr);
int crib_vma(pid_t pid, struct cr_eng_vma **vmas, int *nr);
int crib_fds(pid_t pid, int **fds, int *nr);
int crib_fdinfo(pid_t pid, const int *fds, int nr, struct cr_eng_fdinfo *fi);

/*
 * The ops of a folder (ops/NAME, ops/registry): each has a converter in
 * ops/NAME/NAME.c that checks the op's message (ops/NAME/NAME.proto) and
 * fills its struct cr_eng_NAME (@out), touching it only when the message
 * is good: 0, or -EPROTO (logged).  A record that owns memory (a list
 * op's, struct cr_eng_fdmeta) also has crib_NAME_release(), which frees
 * it: ops.c calls it for a snapshot record CRIU never took (a record
 * handed to CRIU is CRIU's to free, and is handed out once).
 *
 * A per-task op whose tree pass or seq iterator crib.so may run itself
 * (direct.c) also has crib_NAME_raw: the size of its tree pass's BPF
 * record (ops/NAME/NAME.h) and convert(), which checks one record of @len
 * bytes as the engine's encoder does and fills @out as crib_NAME_convert()
 * does from the message: 0, -ENOTSUP (procfs serves that task's op, as
 * the engine says of a record it cannot answer exactly) or another
 * -errno; the same for its iterator's records (stream_*: theirs are
 * longer than stream_size, the variable part after it).
 */
struct crib_raw_op {
	size_t size; /* a record of the tree pass (0: none) */
	int (*convert)(pid_t pid, const void *rec, size_t len, void *out);
	size_t stream_size; /* of an iterator's record, the fixed part (the pid first; 0: none) */
	int (*stream_convert)(pid_t pid, const void *rec, size_t len, void *out);
	void (*begin)(void); /* optional: before each pass */
};

#define CRIB_FOLDER_OP_DECL(n, N, id) \
	int crib_##n##_convert(pid_t pid, const uint8_t *msg, size_t len, void *out); \
	void crib_##n##_release(void *rec) __attribute__((weak)); \
	extern const struct crib_raw_op crib_##n##_raw __attribute__((weak));
CRIB_FOLDER_OPS(CRIB_FOLDER_OP_DECL)
#undef CRIB_FOLDER_OP_DECL

/* ops.c: op @op's crib_NAME_raw, or NULL */
const struct crib_raw_op *crib_op_raw(int op);

/* The registry and criu-engine.h agree on every op's number. */
#define CRIB_OP_ID_CHECK(n, N, id) _Static_assert(CR_ENGINE_OP_##N == id, "ops/registry: op " #n " is not " #id " in criu-engine.h");
CRIB_OPS(CRIB_OP_ID_CHECK)
#undef CRIB_OP_ID_CHECK
_Static_assert(CRIB_NR_OPS == CR_ENGINE_OP__MAX, "ops/registry and criu-engine.h have different ops");

/*
 * direct.c: status, threads and children by the engine's programs, run
 * here (a co-process's hello names them: Direct in crib.proto).  Each
 * call is 0 or -errno; on any error the engine is asked instead.
 */
struct Crib__Direct;
struct crib_task;
void crib_direct_open(const struct Crib__Direct *m, uint32_t pid_ns);
void crib_direct_close(void);
/* whether status (@lists false) or threads and children (@lists true) run here */
bool crib_direct_on(bool lists);
int crib_direct_task(pid_t pid, struct crib_task *t);
/* the pids, in an allocation (at least one element) the caller frees */
int crib_direct_pids(bool children, pid_t pid, int32_t **out, int *nr);
/* whether folder op @op's tree pass runs here (Direct.trees) */
bool crib_direct_tree_on(int op);
/* the kernel id of op @op's tree pass (0: none here): ops of the same id share one pass */
uint32_t crib_direct_tree_prog(int op);
/*
 * The tree pass of @ops (@n_ops of them, all of one program) for @pids of
 * CRIU's pid namespace, run once: @each(@arg, op, i, err, record) for
 * pids[i] and each op (err 0: its record, of crib_NAME_raw.size bytes,
 * valid during the call; else -errno), which returns 0 or stops the pass
 * with its error.  ns[k]: the time to charge ops[k] (its share of the
 * run, its records' calls).  0, or -errno: the pass failed (what @each
 * was given is not to be used).
 */
int crib_direct_tree(const int *ops, int n_ops, const pid_t *pids, int nr,
		     int (*each)(void *arg, int op, int i, int err, const void *rec), void *arg, uint64_t *ns);
/* whether folder op @op's seq iterator is read here (Direct.iters) */
bool crib_direct_stream_on(int op);
/*
 * Op @op's iterator over the tasks of @pids (pids below 4M, bpf/crib_want.h):
 * @each(@arg, pid, record, len) for each task it has a record of (a task
 * that is gone has none), which returns 0 or stops the read with its
 * error.  0, or -errno: the read failed.
 */
int crib_direct_stream(int op, const pid_t *pids, int nr, size_t fixed,
		       int (*each)(void *arg, pid_t pid, const void *rec, size_t len), void *arg);

/* ops.c: CLOCK_MONOTONIC in ns */
uint64_t crib_mono_ns(void);
/* ops.c: the name of an op (ops/registry) */
const char *crib_op_name(int op);
/*
 * ops.c: folder op @op of @pid into @out (its struct cr_eng_NAME): from
 * prepare()'s snapshot, or one round trip and the op's converter.  0, or a
 * negative errno (-ENOTSUP: procfs serves it), already logged.
 */
int crib_op_get(int op, pid_t pid, void *out);

/*
 * The code of an ask (the op's slot in crib_engine_ops, crib_op_get(),
 * snap_find()): in .text.hot, which the linker keeps together, so a cold
 * ask misses on one page of code, not on one per function.
 */
#define CRIB_HOT __attribute__((hot))

/* A malformed answer: logged the same way by every op. */
#define crib_bad_answer(what, pid, fmt, ...) \
	pr_err("%s: pid %d: malformed answer from the engine: " fmt "\n", what, pid, ##__VA_ARGS__)

#endif /* __CRIB_PLUGIN_H__ */
