// SPDX-License-Identifier: LGPL-2.1
/*
 * direct.c: status, threads and children run here, in CRIU, by the
 * engine's own BPF programs, instead of a round trip to the engine each.
 *
 * CRIU asks these three for every task while it seizes the tree, before
 * prepare(): three round trips a task, 130-220 us each on the machine this
 * was measured on, where BPF_PROG_RUN of the same program costs a few.
 * The engine names its programs by kernel id in its hello (Direct in
 * proto/crib.proto): crib_task, which writes nothing but its context, and
 * from a co-process also crib_threads and crib_children with their output
 * map tids, which are its one CRIU's (a service's map is shared by every
 * session, so a service does not offer them).  Each is opened by id and
 * checked by type and name before it is used, so an id the kernel gave to
 * something else after the engine went away is refused.
 *
 * The records are bpf/crib.h's, the one definition the engine's decoder
 * mirrors; ops.c turns them into CRIU's structs through the same checks
 * as the engine's answers.  Any failure here (a task gone, a table too
 * big, a refused request) is left to the engine, which answers it as it
 * did before: this path only ever answers what the engine would.
 *
 * The same holds for the tree passes of the per-task folder ops
 * (bpf/crib_tree.h, Direct.trees): prepare() runs each one the engine
 * offers and ops/NAME/NAME.c can convert (crib_NAME_raw) here, in the
 * entry of the maps the engine lent this CRIU (Direct.tree_slot), and
 * asks the engine only for the rest.  For 1,000 tasks that is the BPF
 * pass and a conversion in C, where the engine's answer costs its
 * JavaScript, protobuf and a round trip on top: 2-8 ms an op.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "criu-log.h"

#include "crib.h"
#include "crib.pb-c.h"
#include "../bpf/crib.h"
#include "../bpf/crib_tree.h"

/* CRIB_WANT_PID_LIMIT of bpf/crib_want.h (a BPF-only header): map want's bits */
#define WANT_PID_LIMIT (4u << 20)

static struct {
	int task, threads, children; /* program fds, -1: not open */
	int tids;		     /* map fd */
	const int32_t *map;	     /* tids, mapped: one __s32 per 8 bytes */
	size_t map_len;
	uint32_t pid_ns;	     /* CRIU's pid namespace: crib_req.ns_inum */
	unsigned long calls[3], fallbacks;
} d = { .task = -1, .threads = -1, .children = -1, .tids = -1 };

/*
 * The tree passes lent by the engine (Direct.trees), by op; prog 0: none.
 * The pass of every per-task op (DirectTree.pertask) is lent for each of
 * them, with its own out map each: one program id, run once for all.
 */
static struct tree {
	int prog, in;	      /* fds */
	uint32_t prog_id;     /* the program's kernel id */
	uint8_t *out;	      /* tree_out (out_NAME), mapped */
	size_t out_len;	      /* the mapping's bytes */
	size_t rec_size;      /* the op's record: sizeof(struct crib_NAME) */
	unsigned long passes; /* runs of the program for this op */
} trees[CR_ENGINE_OP__MAX];
static uint32_t tree_slot;

/* The seq iterators lent by the engine (Direct.iters), by op; prog 0: none */
static struct stream {
	int prog, want, args; /* fds */
	unsigned long reads;
} streams[CR_ENGINE_OP__MAX];
/* map want's value, kept: only the bits set are cleared after a read */
static uint64_t *want_bits;

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* The fd of program @id if it is the program @name of @type; -errno */
static int prog_by_id_type(uint32_t id, const char *name, uint32_t type)
{
	struct bpf_prog_info info = {};
	union bpf_attr a = {};
	int fd;

	a.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) || info.type != type || strncmp(info.name, name, sizeof(info.name))) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The fd of program @id if it is the SYSCALL program @name; -errno */
static int prog_by_id(uint32_t id, const char *name)
{
	return prog_by_id_type(id, name, BPF_PROG_TYPE_SYSCALL);
}

/*
 * The fd of map @id if it is the array @name of @value_size-byte values
 * and @max_entries entries (mapped: @mmapable); -errno
 */
static int map_by_id(uint32_t id, const char *name, uint32_t value_size, uint32_t max_entries, bool mmapable)
{
	struct bpf_map_info info = {};
	union bpf_attr a = {};
	int fd;

	a.map_id = id;
	fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) || info.type != BPF_MAP_TYPE_ARRAY ||
	    strncmp(info.name, name, sizeof(info.name)) || info.value_size != value_size ||
	    info.max_entries != max_entries || !(info.map_flags & BPF_F_MMAPABLE) != !mmapable) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Entry @key of array map @fd set to @value: 0, or -1 with errno set */
static int map_set(int fd, uint32_t key, const void *value)
{
	union bpf_attr a = {};

	a.map_fd = fd;
	a.key = (uintptr_t)&key;
	a.value = (uintptr_t)value;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) ? -1 : 0;
}

/* Closes the fds of @n that are open (> 0) */
static void close_open(int *fds[], int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (*fds[i] > 0)
			close(*fds[i]);
		*fds[i] = 0;
	}
}

static void trees_close(void)
{
	int op;

	for (op = 0; op < CR_ENGINE_OP__MAX; op++) {
		struct tree *t = &trees[op];

		if (t->passes)
			pr_info("direct: %s: %lu tree passes run here\n", crib_op_name(op), t->passes);
		if (t->out)
			munmap(t->out, t->out_len);
		close_open((int *[]){ &t->prog, &t->in }, 2);
	}
	memset(trees, 0, sizeof(trees));
	for (op = 0; op < CR_ENGINE_OP__MAX; op++) {
		struct stream *st = &streams[op];

		if (st->reads)
			pr_info("direct: %s: %lu iterator reads here\n", crib_op_name(op), st->reads);
		close_open((int *[]){ &st->prog, &st->want, &st->args }, 3);
	}
	memset(streams, 0, sizeof(streams));
	free(want_bits);
	want_bits = NULL;
}

/* The iterator @m of op @m->op, if ops/NAME/NAME.c converts its records and it is what the engine says */
static void stream_open(const Crib__DirectIter *m)
{
	const struct crib_raw_op *raw = m->op < CR_ENGINE_OP__MAX ? crib_op_raw(m->op) : NULL;
	const char *name = crib_op_name(m->op);
	struct stream *st;
	char prog[BPF_OBJ_NAME_LEN];

	if (!raw || !raw->stream_convert || streams[m->op].prog > 0) {
		pr_info("direct: the iterator of op %s (#%u) is the engine's: %s\n", name, m->op,
			!raw || !raw->stream_convert ? "this plugin has no converter of its records" : "offered twice");
		return;
	}
	st = &streams[m->op];
	snprintf(prog, sizeof(prog), "crib_%s", name);
	st->prog = prog_by_id_type(m->prog, prog, BPF_PROG_TYPE_TRACING);
	st->want = map_by_id(m->want_map, "want", WANT_PID_LIMIT / 8, 1, false);
	st->args = map_by_id(m->args_map, "iter_args", sizeof(struct crib_iter_args), 1, false);
	if (st->prog <= 0 || st->want <= 0 || st->args <= 0) {
		pr_info("direct: the iterator of op %s (program %u, maps %u, %u) is the engine's: not ours to use\n", name,
			m->prog, m->want_map, m->args_map);
		close_open((int *[]){ &st->prog, &st->want, &st->args }, 3);
		return;
	}
	pr_info("direct: op %s: its iterator is read here (program %u)\n", name, m->prog);
}

/* The tree pass @m of op @m->op, if ops/NAME/NAME.c converts its records and it is what the engine says */
static void tree_open(const Crib__DirectTree *m)
{
	const struct crib_raw_op *raw = m->op < CR_ENGINE_OP__MAX ? crib_op_raw(m->op) : NULL;
	const char *name = crib_op_name(m->op);
	struct tree *t = m->op < CR_ENGINE_OP__MAX ? &trees[m->op] : NULL;
	char prog[BPF_OBJ_NAME_LEN], out_name[BPF_OBJ_NAME_LEN];
	size_t value_size;
	int out = -1;
	void *map;

	if (!raw || !raw->convert || t->prog > 0 || m->record_size != raw->size) {
		pr_info("direct: the tree pass of op %s (#%u, %u-byte records) is the engine's: %s\n", name, m->op,
			m->record_size, !raw || !raw->convert ? "this plugin has no converter of its records" :
			t->prog > 0	     ? "offered twice" : "its records are not this plugin's size");
		return;
	}
	/* the kernel keeps BPF_OBJ_NAME_LEN - 1 bytes of a name */
	if (m->has_pertask && m->pertask) {
		snprintf(prog, sizeof(prog), "crib_pertask");
		snprintf(out_name, sizeof(out_name), "out_%s", name);
	} else {
		snprintf(prog, sizeof(prog), "crib_%s_tree", name);
		snprintf(out_name, sizeof(out_name), "tree_out");
	}
	value_size = sizeof(int32_t) * CRIB_TREE_MAX + raw->size * CRIB_TREE_MAX;
	t->prog = prog_by_id(m->prog, prog);
	t->in = map_by_id(m->in_map, "tree_in", sizeof(struct crib_tree_in), CRIB_TREE_SLOTS, false);
	out = map_by_id(m->out_map, out_name, value_size, CRIB_TREE_SLOTS, true);
	map = MAP_FAILED;
	if (t->prog > 0 && t->in > 0 && out > 0) {
		/* an array's entries are 8-byte aligned in its mapping */
		t->out_len = ((value_size + 7) & ~(size_t)7) * CRIB_TREE_SLOTS;
		map = mmap(NULL, t->out_len, PROT_READ, MAP_SHARED, out, 0);
	}
	close_open((int *[]){ &out }, 1); /* the mapping keeps the map */
	if (map == MAP_FAILED) {
		pr_info("direct: the tree pass of op %s (program %u, maps %u, %u) is the engine's: not ours to use\n", name,
			m->prog, m->in_map, m->out_map);
		close_open((int *[]){ &t->prog, &t->in }, 2);
		memset(t, 0, sizeof(*t));
		return;
	}
	t->out = map;
	t->rec_size = raw->size;
	t->prog_id = m->prog;
	pr_info("direct: op %s: its tree pass runs here (program %u%s, slot %u)\n", name, m->prog,
		m->has_pertask && m->pertask ? ", every per-task op's" : "", tree_slot);
}

void crib_direct_close(void)
{
	trees_close();
	if (d.calls[0] + d.calls[1] + d.calls[2])
		pr_info("direct: status %lu, threads %lu, children %lu calls run here; %lu left to the engine\n",
			d.calls[0], d.calls[1], d.calls[2], d.fallbacks);
	if (d.map)
		munmap((void *)d.map, d.map_len);
	if (d.task >= 0)
		close(d.task);
	if (d.threads >= 0)
		close(d.threads);
	if (d.children >= 0)
		close(d.children);
	if (d.tids >= 0)
		close(d.tids);
	memset(&d, 0, sizeof(d));
	d.task = d.threads = d.children = d.tids = -1;
}

bool crib_direct_on(bool lists)
{
	return lists ? d.map != NULL : d.task >= 0;
}

void crib_direct_open(const Crib__Direct *m, uint32_t pid_ns)
{
	size_t i;
	void *map;

	crib_direct_close();
	if (m->abi_version != CRIB_ABI_VERSION) {
		pr_info("direct: the engine's programs speak record ABI %u, this plugin %u: not run here\n", m->abi_version,
			CRIB_ABI_VERSION);
		return;
	}
	d.pid_ns = pid_ns;
	if (m->n_trees && m->has_tree_slot && m->tree_slot > 0 && m->tree_slot < CRIB_TREE_SLOTS) {
		tree_slot = m->tree_slot;
		for (i = 0; i < m->n_trees; i++)
			tree_open(m->trees[i]);
	}
	for (i = 0; i < m->n_iters; i++)
		stream_open(m->iters[i]);
	d.task = prog_by_id(m->task_prog, "crib_task");
	if (d.task < 0) {
		pr_info("direct: program %u is not the engine's crib_task (or not ours to open): %s; the engine answers\n",
			m->task_prog, strerror(-d.task));
		crib_direct_close();
		return;
	}
	if (!m->has_threads_prog || !m->has_children_prog || !m->has_tids_map) {
		pr_info("direct: status runs here (program %u); threads and children are the engine's\n", m->task_prog);
		return;
	}
	d.threads = prog_by_id(m->threads_prog, "crib_threads");
	d.children = prog_by_id(m->children_prog, "crib_children");
	d.tids = map_by_id(m->tids_map, "tids", sizeof(int32_t), CRIB_MAX_TIDS, true);
	map = MAP_FAILED;
	if (d.threads >= 0 && d.children >= 0 && d.tids >= 0) {
		d.map_len = (size_t)CRIB_MAX_TIDS * 8;
		map = mmap(NULL, d.map_len, PROT_READ, MAP_SHARED, d.tids, 0);
	}
	if (map == MAP_FAILED) {
		pr_info("direct: status runs here (program %u); threads and children are the engine's: their programs or map are not ours to use\n",
			m->task_prog);
		return;
	}
	d.map = map;
	pr_info("direct: status, threads and children run here (programs %u, %u, %u, map %u)\n", m->task_prog,
		m->threads_prog, m->children_prog, m->tids_map);
}

/* @prog with @ctx (struct crib_req first, @size bytes) for @pid: 0, or why not */
static int run(int prog, struct crib_req *req, size_t size, pid_t pid)
{
	union bpf_attr a = {};

	memset(req, 0, sizeof(*req));
	req->size = size;
	req->version = CRIB_ABI_VERSION;
	req->pid = pid;
	req->ns_inum = d.pid_ns;
	a.test.prog_fd = prog;
	a.test.ctx_in = (uintptr_t)req;
	a.test.ctx_size_in = size;
	if (sys_bpf(BPF_PROG_TEST_RUN, &a))
		return -errno;
	if ((int)a.test.retval != req->err)
		return -EPROTO;
	if (req->err)
		return req->err;
	return req->count > req->total ? -EPROTO : 0;
}

int crib_direct_task(pid_t pid, struct crib_task *t)
{
	struct crib_task_ctx ctx;
	int ret;

	ret = run(d.task, &ctx.req, sizeof(ctx), pid);
	if (ret || ctx.req.count != 1 || ctx.task.pid != pid) {
		d.fallbacks++;
		return ret ?: -EPROTO;
	}
	*t = ctx.task;
	d.calls[0]++;
	return 0;
}

int crib_direct_pids(bool children, pid_t pid, int32_t **out, int *nr)
{
	struct crib_req req;
	int32_t *p;
	uint32_t i;
	int ret;

	ret = run(children ? d.children : d.threads, &req, sizeof(req), pid);
	if (ret || req.count > CRIB_MAX_TIDS) {
		d.fallbacks++;
		return ret ?: -E2BIG;
	}
	/* at least one element: CRIU may read a NULL array as a failure */
	p = malloc((req.count ?: 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < req.count; i++)
		p[i] = d.map[2 * i];
	*out = p;
	*nr = req.count;
	d.calls[children ? 2 : 1]++;
	return 0;
}

bool crib_direct_tree_on(int op)
{
	return op >= 0 && op < CR_ENGINE_OP__MAX && trees[op].out;
}

uint32_t crib_direct_tree_prog(int op)
{
	return crib_direct_tree_on(op) ? trees[op].prog_id : 0;
}

int crib_direct_tree(const int *ops, int n_ops, const pid_t *pids, int nr,
		     int (*each)(void *arg, int op, int i, int err, const void *rec), void *arg, uint64_t *ns)
{
	struct crib_tree_req req;
	struct crib_tree_in in;
	const uint8_t *out;
	int at, i, k, n, ret;
	uint64_t t;

	if (n_ops < 1)
		return -EINVAL;
	for (k = 0; k < n_ops; k++) {
		if (crib_direct_tree_prog(ops[k]) != crib_direct_tree_prog(ops[0]) || !crib_direct_tree_prog(ops[k]))
			return -EINVAL;
		ns[k] = 0;
	}
	for (at = 0; at < nr; at += n) {
		struct tree *t0 = &trees[ops[0]];

		n = nr - at < CRIB_TREE_MAX ? nr - at : CRIB_TREE_MAX;
		t = crib_mono_ns();
		memset(&in, 0, sizeof(in));
		memcpy(in.pid, pids + at, n * sizeof(in.pid[0]));
		if (map_set(t0->in, tree_slot, &in))
			return -errno;
		memset(&req, 0, sizeof(req));
		req.nr = n;
		req.slot = tree_slot;
		ret = run(t0->prog, &req.req, sizeof(req), 0);
		if (ret)
			return ret;
		if (req.req.count != (uint32_t)n)
			return -EPROTO;
		/* the run is every op's: each is charged its share */
		t = crib_mono_ns() - t;
		for (k = 0; k < n_ops; k++) {
			struct tree *tk = &trees[ops[k]];
			uint64_t t1 = crib_mono_ns();

			tk->passes++;
			out = tk->out + ((sizeof(int32_t) + tk->rec_size) * CRIB_TREE_MAX + 7) / 8 * 8 * tree_slot;
			for (i = 0; i < n; i++) {
				ret = each(arg, ops[k], at + i, ((const int32_t *)out)[i],
					   out + sizeof(int32_t) * CRIB_TREE_MAX + tk->rec_size * i);
				if (ret)
					return ret;
			}
			ns[k] += t / n_ops + (crib_mono_ns() - t1);
		}
	}
	return 0;
}

bool crib_direct_stream_on(int op)
{
	return op >= 0 && op < CR_ENGINE_OP__MAX && streams[op].prog > 0;
}

/* All of iterator @fd into a buffer of ours (*len bytes); NULL, errno set, when the read fails */
static uint8_t *read_all(int fd, size_t *len)
{
	size_t cap = 256 << 10, n = 0;
	uint8_t *buf = malloc(cap), *more;
	ssize_t r;

	while (buf) {
		if (cap - n < (64 << 10)) {
			more = realloc(buf, cap * 2);
			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r == 0) {
			*len = n;
			return buf;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += r;
	}
	free(buf);
	if (!errno)
		errno = ENOMEM;
	return NULL;
}

int crib_direct_stream(int op, const pid_t *pids, int nr, size_t fixed,
		       int (*each)(void *arg, pid_t pid, const void *rec, size_t len), void *arg)
{
	struct stream *st = &streams[op];
	struct crib_iter_args args = { .pid = 0, .ns_inum = d.pid_ns };
	const struct crib_rec *h;
	const struct crib_req *end = NULL;
	uint32_t count = 0;
	int link = -1, iter = -1, i, ret = 0;
	uint8_t *buf = NULL;
	union bpf_attr a;
	size_t len = 0, at;

	if (!crib_direct_stream_on(op))
		return -ENOTSUP;
	if (!want_bits && !(want_bits = calloc(WANT_PID_LIMIT / 64, sizeof(*want_bits))))
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (pids[i] <= 0 || (uint32_t)pids[i] >= WANT_PID_LIMIT) {
			ret = -E2BIG; /* the bitmap cannot hold it: the engine reads the op */
			goto out;
		}
		want_bits[pids[i] / 64] |= 1ULL << (pids[i] % 64);
	}
	if (map_set(st->want, 0, want_bits) || map_set(st->args, 0, &args))
		goto fail;

	/* attached to no task: every task of CRIU's pid namespace, the wanted ones written */
	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = st->prog;
	a.link_create.attach_type = BPF_TRACE_ITER;
	link = sys_bpf(BPF_LINK_CREATE, &a);
	if (link < 0)
		goto fail;
	memset(&a, 0, sizeof(a));
	a.iter_create.link_fd = link;
	iter = sys_bpf(BPF_ITER_CREATE, &a);
	if (iter < 0)
		goto fail;
	buf = read_all(iter, &len);
	if (!buf)
		goto fail;
	st->reads++;

	for (at = 0; at + sizeof(*h) <= len; at += (h->len + 7) & ~7u) {
		h = (const struct crib_rec *)(buf + at);
		if (h->len < sizeof(*h) || h->len > len - at) {
			ret = -EPROTO;
			goto out;
		}
		if (h->type == CRIB_REC_END && h->len >= sizeof(*h) + sizeof(*end)) {
			end = (const struct crib_req *)(h + 1);
			at += (h->len + 7) & ~7u;
			break;
		}
		if (h->type != CRIB_REC_CTX || h->len < sizeof(*h) + fixed || h->extra > h->len - sizeof(*h) - fixed) {
			ret = -EPROTO;
			goto out;
		}
		count++;
		ret = each(arg, *(const int32_t *)(h + 1), h + 1, fixed + h->extra);
		if (ret)
			goto out;
	}
	/* the end record last, with the count of what came before it */
	if (!end || at != len || end->err || end->count != count)
		ret = end && end->err ? end->err : -EPROTO;
	goto out;
fail:
	ret = -errno;
out:
	for (i = 0; i < nr; i++)
		if (pids[i] > 0 && (uint32_t)pids[i] < WANT_PID_LIMIT)
			want_bits[pids[i] / 64] = 0;
	free(buf);
	if (iter >= 0)
		close(iter);
	if (link >= 0)
		close(link);
	return ret;
}
