// SPDX-License-Identifier: LGPL-2.1
/*
 * ops.c: the cr_engine_ops entries of the crib engine.
 *
 * Each op builds a crib.Request, makes one round trip through the shim and
 * turns the answer into the struct cr_eng_* CRIU expects.  Answers are
 * checked in full before anything is handed back: a malformed answer is
 * -EPROTO and the caller's out arguments are left alone.
 *
 * prepare() takes one snapshot of the VMAs and fd tables of the frozen
 * tree; vma/fds/fdinfo are then served from it with no round trip.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "criu-log.h"

#include "crib.h"
#include "../bpf/crib.h"
#include "shim.h"

#define CRIB_PAGE_MASK 0xfffULL

static const char *const op_names[CRIB_NR_OPS] = CRIB_OP_NAMES;

/* whether an op lives in a folder (ops/NAME) and travels as an OpReq */
static const bool op_folder[CR_ENGINE_OP__MAX] = {
#define CRIB_FOLDER_OP_FLAG(n, N, id) [id] = true,
	CRIB_FOLDER_OPS(CRIB_FOLDER_OP_FLAG)
#undef CRIB_FOLDER_OP_FLAG
};

/* the ops whose BPF records crib.so converts itself (direct.c runs their tree passes) */
static const struct crib_raw_op *const raw_ops[CR_ENGINE_OP__MAX] = {
#define CRIB_FOLDER_OP_RAW(n, N, id) [id] = &crib_##n##_raw,
	CRIB_FOLDER_OPS(CRIB_FOLDER_OP_RAW)
#undef CRIB_FOLDER_OP_RAW
};

const struct crib_raw_op *crib_op_raw(int op)
{
	return op >= 0 && op < CR_ENGINE_OP__MAX ? raw_ops[op] : NULL;
}

const char *crib_op_name(int op)
{
	return op >= 0 && op < CRIB_NR_OPS ? op_names[op] : "?";
}

static bool engine_up;
/* a round trip failed: the engine is gone (the shim stopped it) */
static bool engine_lost;
static bool op_avail[CR_ENGINE_OP__MAX];
/* why the first unavailable op is, as the engine said (crib_ops_served) */
static char first_reason[256];
/* what a service said it is in its hello (HelloResp.service), "" for a co-process */
static char service_name[128];

/* What prepare() learnt about one pid; vma/fds point into snap_resp. */
struct snap_ent {
	pid_t pid;
	int err; /* positive errno for the parts that are missing */
	const Crib__VmaList *vma;
	const Crib__FdTable *fds;
	const Crib__StatResp *stat;
};

/*
 * The ops of the folders: the size of each one's record and its converter
 * (ops/NAME/NAME.c).  prepare()'s records are converted as they come, in
 * one pass, into snap_ops[op]: for entry i of the snapshot (sn.ent[i]) a
 * slot, its state (snap_st(): SNAP_REC_OK, SNAP_REC_NONE, no record: ask,
 * or the errno to return) and then the record (snap_rec()).
 */
static const struct {
	size_t size;
	int (*convert)(pid_t pid, const uint8_t *msg, size_t len, void *out);
	void (*release)(void *rec); /* NULL: the record owns nothing */
} folder_ops[CR_ENGINE_OP__MAX] = {
#define CRIB_FOLDER_OP_ENTRY(n, N, id) [id] = { sizeof(struct cr_eng_##n), crib_##n##_convert, crib_##n##_release },
	CRIB_FOLDER_OPS(CRIB_FOLDER_OP_ENTRY)
#undef CRIB_FOLDER_OP_ENTRY
};

#define SNAP_REC_NONE (-1)
#define SNAP_REC_OK   0
/* where a slot's record starts, after its state */
#define SNAP_REC_OFF  8

/*
 * CRIU asks the folder ops of a task one after another, with its own work
 * for the task (and, in --engine-verify, a read of /proc) in between: each
 * ask finds the caches and the TLB cold, at about 0.1 us a line on the
 * machine this was measured on.  So what an ask reads sits together: the
 * snapshot's header in one line, an op's in one, a record next to its
 * state, the entries and every op's slots in one mapping (snap_arena()),
 * the code in one page (CRIB_HOT), and no call into libc (rec_copy()).
 * The asks of a 1,001-task tree took 11.9 million cycles in crib.so
 * before the last three, 8.5 million after (medians of six dumps each).
 */
struct snap_op {
	uint8_t *slots;	 /* NULL: no records of this op */
	uint32_t stride; /* bytes of a slot: SNAP_REC_OFF, then the record, to 8 */
	uint32_t size;	 /* the record's: folder_ops[op].size */
	bool release;	 /* the record owns memory (folder_ops[op].release) */
};
static struct snap_op snap_ops[CR_ENGINE_OP__MAX] __attribute__((aligned(64)));

static struct {
	struct snap_ent *ent; /* by pid */
	int nr;
	int hint;			/* the entry found last (snap_find()) */
	const struct snap_ent *fetched; /* the entry prefetched last (snap_prefetch()) */
	int n_live;
	uint8_t live[CR_ENGINE_OP__MAX]; /* the ops with records */
	uint8_t *arena;			 /* every op's slots (snap_build()) */
	size_t arena_len;
	size_t col[CR_ENGINE_OP__MAX];	 /* where op's slots start in it */
} sn __attribute__((aligned(64)));

static inline int *snap_st(int op, size_t i)
{
	return (int *)(snap_ops[op].slots + i * snap_ops[op].stride);
}

static inline uint8_t *snap_rec(int op, size_t i)
{
	return snap_ops[op].slots + i * snap_ops[op].stride + SNAP_REC_OFF;
}

static struct snap_ent *snap_find(pid_t pid);
static void snap_op_drop(int op);

static Crib__Response *snap_resp;

/* FdTables fetched one pid at a time (outside the snapshot), for fdinfo. */
struct fd_cache {
	pid_t pid;
	Crib__Response *resp;
};

static struct fd_cache *fdc;
static int fdc_nr;

#define bad_answer crib_bad_answer

static void snap_drop(void)
{
	int op;

	/* and the records CRIU did not take */
	for (op = 0; op < CR_ENGINE_OP__MAX; op++)
		snap_op_drop(op);
	if (snap_resp)
		shim_free(snap_resp);
	snap_resp = NULL;
	if (sn.arena)
		munmap(sn.arena, sn.arena_len);
	memset(&sn, 0, sizeof(sn));
}

static void fdc_drop(void)
{
	int i;

	for (i = 0; i < fdc_nr; i++)
		shim_free(fdc[i].resp);
	free(fdc);
	fdc = NULL;
	fdc_nr = 0;
}

/*
 * The arrays the ops hand to CRIU are malloc()ed and become CRIU's (it
 * free()s them).  Fresh memory costs a page fault per 4 KiB on first
 * touch: building a 10,000-VMA table (720 KB) took 0.33-0.47 ms with 176
 * faults, ~0.1 ms into touched pages.  glibc does not keep touched heap
 * pages for us (it trims its top), so blocks are malloc()ed and touched
 * at start-up and handed out as they are: the smallest that fits.  Each
 * is used once; what they do not cover comes from malloc().
 */
static const size_t spare_sizes[] = { 1u << 20, 6u << 20 };
static struct {
	void *p;
	size_t size;
} spares[sizeof(spare_sizes) / sizeof(spare_sizes[0])];

void crib_ops_reserve(void)
{
	size_t i;

	for (i = 0; i < sizeof(spares) / sizeof(spares[0]); i++) {
		if (spares[i].p)
			continue;
		spares[i].p = malloc(spare_sizes[i]);
		if (!spares[i].p)
			continue;
		memset(spares[i].p, 0, spare_sizes[i]);
		spares[i].size = spare_sizes[i];
	}
}

/* A block for an array handed to CRIU: a spare if one fits, else malloc(). */
static void *out_alloc(size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(spares) / sizeof(spares[0]); i++) {
		void *p = spares[i].p;

		if (p && size <= spares[i].size) {
			spares[i].p = NULL;
			return p;
		}
	}
	return malloc(size ?: 1);
}

static void spares_free(void)
{
	size_t i;

	for (i = 0; i < sizeof(spares) / sizeof(spares[0]); i++) {
		free(spares[i].p);
		spares[i].p = NULL;
	}
}

void crib_ops_reset(void)
{
	spares_free();
	snap_drop();
	fdc_drop();
	crib_direct_close();
	engine_up = false;
	engine_lost = false;
	memset(op_avail, 0, sizeof(op_avail));
	first_reason[0] = '\0';
	service_name[0] = '\0';
}

/*
 * One round trip.  Returns 0 with the answer in *out (its payload is
 * @want), the engine's own error (already logged), or -EPROTO.
 */
static int call(const char *what, pid_t pid, Crib__Request *req, Crib__Response__RespCase want,
		Crib__Response **out)
{
	Crib__Response *resp;
	int ret;

	ret = shim_call(req, &resp);
	if (ret) {
		pr_err("%s: pid %d: no answer from the engine: %s\n", what, pid, strerror(-ret));
		engine_lost = true;
		return ret;
	}
	ret = resp->err;
	if (ret > 0 || ret < -4095) {
		bad_answer(what, pid, "err %d is not a negative errno", ret);
		ret = -EPROTO;
		goto err;
	}
	if (ret == -ENOTSUP) {
		pr_info("%s: pid %d: not served by the engine (%s), procfs serves it\n", what, pid,
			resp->message ?: "no reason given");
		goto err;
	}
	if (ret) {
		/* A task that went away is the caller's to judge, as with procfs. */
		if (ret == -ESRCH || ret == -ENOENT)
			pr_info("%s: pid %d: %s\n", what, pid, resp->message ?: strerror(-ret));
		else
			pr_err("%s: pid %d: engine error: %s (%s)\n", what, pid, resp->message ?: "", strerror(-ret));
		goto err;
	}
	if (resp->resp_case != want) {
		bad_answer(what, pid, "payload %d where %d was expected", resp->resp_case, want);
		ret = -EPROTO;
		goto err;
	}
	*out = resp;
	return 0;
err:
	shim_free(resp);
	return ret;
}

static int task_call(enum cr_engine_op op, pid_t pid, Crib__Response **out)
{
	Crib__Request req = CRIB__REQUEST__INIT;
	Crib__TaskReq task = CRIB__TASK_REQ__INIT;
	Crib__Response__RespCase want;

	task.pid = pid;
	switch (op) {
	case CR_ENGINE_OP_STAT:
		req.req_case = CRIB__REQUEST__REQ_STAT;
		req.stat = &task;
		want = CRIB__RESPONSE__RESP_STAT;
		break;
	case CR_ENGINE_OP_STATUS:
		req.req_case = CRIB__REQUEST__REQ_STATUS;
		req.status = &task;
		want = CRIB__RESPONSE__RESP_STATUS;
		break;
	case CR_ENGINE_OP_THREADS:
		req.req_case = CRIB__REQUEST__REQ_THREADS;
		req.threads = &task;
		want = CRIB__RESPONSE__RESP_THREADS;
		break;
	case CR_ENGINE_OP_CHILDREN:
		req.req_case = CRIB__REQUEST__REQ_CHILDREN;
		req.children = &task;
		want = CRIB__RESPONSE__RESP_CHILDREN;
		break;
	case CR_ENGINE_OP_VMA:
		req.req_case = CRIB__REQUEST__REQ_VMA;
		req.vma = &task;
		want = CRIB__RESPONSE__RESP_VMA;
		break;
	case CR_ENGINE_OP_FDS:
	case CR_ENGINE_OP_FDINFO: /* both come in an FdTable */
		req.req_case = CRIB__REQUEST__REQ_FDS;
		req.fds = &task;
		want = CRIB__RESPONSE__RESP_FDS;
		break;
	default: /* the ops of the folders go through crib_op_get() */
		pr_err("%s: pid %d: not an op with a request of its own\n", crib_op_name(op), pid);
		return -EINVAL;
	}
	return call(op_names[op], pid, &req, want, out);
}

/*
 * The boottime offset of our time namespace, which /proc adds to the start
 * times it prints (fs/proc/array.c): 0 without time namespaces.
 */
static int boottime_offset(int64_t *ns)
{
	long long sec, nsec;
	char name[32];
	FILE *f;
	int ret = 0;

	*ns = 0;
	f = fopen("/proc/self/timens_offsets", "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fscanf(f, "%31s %lld %lld", name, &sec, &nsec) == 3) {
		if (!strcmp(name, "boottime") || !strcmp(name, "7")) /* 7: CLOCK_BOOTTIME */
			*ns = sec * 1000000000LL + nsec;
	}
	if (ferror(f))
		ret = -EIO;
	fclose(f);
	return ret;
}

const char *crib_service_name(void)
{
	return service_name;
}

int crib_ops_served(const char **why)
{
	int i, n = 0;

	for (i = 0; i < CR_ENGINE_OP__MAX; i++)
		n += op_avail[i];
	if (why)
		*why = n ? NULL : first_reason;
	return n;
}

int crib_hello(void)
{
	Crib__Request req = CRIB__REQUEST__INIT;
	Crib__HelloReq hello = CRIB__HELLO_REQ__INIT;
	Crib__Response *resp;
	Crib__HelloResp *h;
	pid_t epid = shim_pid();
	struct stat ns;
	size_t i;
	int ret;

	crib_ops_reset();
	/*
	 * Every pid we send and get back is a number in CRIU's own pid
	 * namespace (ZDTM and containers run CRIU in a child one): name it
	 * to the engine, which checks each task it reads against it.
	 */
	if (stat("/proc/self/ns/pid", &ns)) {
		pr_perror("hello: engine pid %d: can't stat /proc/self/ns/pid to name our pid namespace", epid);
		return -errno;
	}
	hello.abi_version = CR_ENGINE_ABI_VERSION;
	hello.has_pid_ns = true;
	hello.pid_ns = ns.st_ino;
	ret = boottime_offset(&hello.boottime_offset_ns);
	if (ret) {
		pr_err("hello: engine pid %d: can't read /proc/self/timens_offsets: %s\n", epid, strerror(-ret));
		return ret;
	}
	hello.has_boottime_offset_ns = true;
	/* a service takes its own copy of our shared buffer (a co-process inherited it) */
	if (shim_is_service()) {
		int fd = shim_shared_fd(&hello.shm_size);

		if (fd >= 0) {
			hello.has_shm_fd = hello.has_shm_size = true;
			hello.shm_fd = fd;
		}
	}
	req.req_case = CRIB__REQUEST__REQ_HELLO;
	req.hello = &hello;
	ret = call("hello", epid, &req, CRIB__RESPONSE__RESP_HELLO, &resp);
	if (ret)
		return ret == -ENOTSUP ? -EPROTO : ret;

	h = resp->hello;
	if (h->abi_version != CR_ENGINE_ABI_VERSION) {
		pr_err("hello: engine pid %d: engine %s serves ABI %u, this CRIU speaks %u; rebuild one of them\n",
		       epid, h->engine_version, h->abi_version, CR_ENGINE_ABI_VERSION);
		ret = -EPROTO;
		goto out;
	}
	for (i = 0; i < h->n_ops; i++) {
		const Crib__OpSupport *o = h->ops[i];

		/* an engine newer than this plugin: ops it does not know are not asked for */
		if (o->op >= CR_ENGINE_OP__MAX) {
			pr_info("op #%u of the engine: unknown here, not used\n", o->op);
			continue;
		}
		op_avail[o->op] = o->available;
		if (!o->available && !first_reason[0])
			snprintf(first_reason, sizeof(first_reason), "%s", o->reason ?: "engine says unavailable");
		if (o->available)
			pr_info("op %s: %s\n", op_names[o->op], o->mechanism ?: "engine");
		else
			pr_info("op %s: procfs serves it (%s)\n", op_names[o->op], o->reason ?: "engine says unavailable");
	}
	snprintf(service_name, sizeof(service_name), "%s", h->service ?: "");
	/* the engine's programs for the ops CRIU asks task by task while it seizes, run here */
	if (h->direct && !getenv("CRIB_NO_DIRECT"))
		crib_direct_open(h->direct, ns.st_ino);
	if (h->service)
		pr_info("engine: %s (%s, ABI %u)\n", h->service, h->engine_version, h->abi_version);
	else
		pr_info("engine pid %d: %s, ABI %u\n", epid, h->engine_version, h->abi_version);
	engine_up = true;
out:
	shim_free(resp);
	return ret;
}

static bool state_ok(uint32_t c)
{
	return c > ' ' && c < 0x7f;
}

static int stat_from_pb(pid_t pid, const Crib__StatResp *s, struct cr_eng_stat *out)
{
	const char *what = op_names[CR_ENGINE_OP_STAT];
	struct cr_eng_stat st = {};
	size_t len;

	if (s->pid != pid) {
		bad_answer(what, pid, "answer is for pid %d", s->pid);
		return -EPROTO;
	}
	if (!state_ok(s->state) || s->ppid < 0 || s->pgid < 0 || s->sid < 0 || s->num_threads < 0) {
		bad_answer(what, pid, "state %u ppid %d pgid %d sid %d threads %d", s->state, s->ppid, s->pgid,
			   s->sid, s->num_threads);
		return -EPROTO;
	}
	len = s->comm.len;
	if (len >= CR_ENG_COMM_LEN || (len && memchr(s->comm.data, 0, len))) {
		bad_answer(what, pid, "comm of %zu bytes, or with a NUL in it", len);
		return -EPROTO;
	}

	st.pid = s->pid;
	st.ppid = s->ppid;
	st.pgid = s->pgid;
	st.sid = s->sid;
	st.num_threads = s->num_threads;
	st.exit_code = s->exit_code;
	st.flags = s->flags;
	st.state = s->state;
	if (len)
		memcpy(st.comm, s->comm.data, len);
	st.start_time = s->start_time;
	st.start_code = s->start_code;
	st.end_code = s->end_code;
	st.start_data = s->start_data;
	st.end_data = s->end_data;
	st.start_brk = s->start_brk;
	st.start_stack = s->start_stack;
	st.arg_start = s->arg_start;
	st.arg_end = s->arg_end;
	st.env_start = s->env_start;
	st.env_end = s->env_end;
	*out = st;
	return 0;
}

int crib_stat(pid_t pid, struct cr_eng_stat *st)
{
	Crib__Response *resp;
	struct snap_ent *e;
	int ret;

	if (!engine_up || !op_avail[CR_ENGINE_OP_STAT])
		return -ENOTSUP;
	/* frozen since prepare: the snapshot's stat is the one a read now would give */
	e = snap_find(pid);
	if (e && e->stat)
		return stat_from_pb(pid, e->stat, st);
	ret = task_call(CR_ENGINE_OP_STAT, pid, &resp);
	if (ret)
		return ret;
	ret = stat_from_pb(pid, resp->stat, st);
	shim_free(resp);
	return ret;
}

static int status_from_pb(pid_t pid, const Crib__StatusResp *s, struct cr_eng_status *out)
{
	const char *what = op_names[CR_ENGINE_OP_STATUS];
	struct cr_eng_status st = {};

	if (s->n_uids != 4 || s->n_gids != 4) {
		bad_answer(what, pid, "%zu uids and %zu gids, not 4 each", s->n_uids, s->n_gids);
		return -EPROTO;
	}
	if (!state_ok(s->state) || s->ppid < 0 || s->vpid <= 0 || s->seccomp_mode < 0 || s->seccomp_mode > 2) {
		bad_answer(what, pid, "state %u ppid %d vpid %d seccomp %d", s->state, s->ppid, s->vpid,
			   s->seccomp_mode);
		return -EPROTO;
	}

	st.state = s->state;
	st.ppid = s->ppid;
	st.vpid = s->vpid;
	st.seccomp_mode = s->seccomp_mode;
	st.sigpnd = s->sigpnd;
	st.shdpnd = s->shdpnd;
	st.sigblk = s->sigblk;
	memcpy(st.uids, s->uids, sizeof(st.uids));
	memcpy(st.gids, s->gids, sizeof(st.gids));
	st.cap_inh = s->cap_inh;
	st.cap_prm = s->cap_prm;
	st.cap_eff = s->cap_eff;
	st.cap_bnd = s->cap_bnd;
	st.cap_amb = s->cap_amb;
	*out = st;
	return 0;
}

/* crib.StatusResp of a task record (bpf/crib.h), as the engine writes it from the same record */
static int status_from_task(pid_t pid, const struct crib_task *t, struct cr_eng_status *st)
{
	Crib__StatusResp s = CRIB__STATUS_RESP__INIT;
	uint32_t uids[4], gids[4];

	/* the letters of fs/proc/array.c task_state_array (records.ts stateLetter()) */
	if (!t->state || !strchr("RSDTtXZPI", t->state))
		return -EPROTO;
	memcpy(uids, t->uids, sizeof(uids));
	memcpy(gids, t->gids, sizeof(gids));
	s.state = t->state;
	s.ppid = t->ppid;
	s.vpid = t->vpid;
	s.seccomp_mode = t->seccomp_mode;
	s.sigpnd = t->sigpnd;
	s.shdpnd = t->shdpnd;
	s.sigblk = t->sigblk;
	s.n_uids = 4;
	s.uids = uids;
	s.n_gids = 4;
	s.gids = gids;
	s.cap_inh = t->cap_inh;
	s.cap_prm = t->cap_prm;
	s.cap_eff = t->cap_eff;
	s.cap_bnd = t->cap_bnd;
	s.cap_amb = t->cap_amb;
	return status_from_pb(pid, &s, st);
}

/* Never cached: CRIU polls status while it seizes the tree. */
int crib_status(pid_t pid, struct cr_eng_status *st)
{
	Crib__Response *resp;
	struct crib_task t;
	int ret;

	if (!engine_up || !op_avail[CR_ENGINE_OP_STATUS])
		return -ENOTSUP;
	if (crib_direct_on(false) && !crib_direct_task(pid, &t) && !status_from_task(pid, &t, st))
		return 0;
	ret = task_call(CR_ENGINE_OP_STATUS, pid, &resp);
	if (ret)
		return ret;
	ret = status_from_pb(pid, resp->status, st);
	shim_free(resp);
	return ret;
}

static int pids_from_pb(enum cr_engine_op op, pid_t pid, const Crib__PidList *l, pid_t **out, int *nr)
{
	pid_t *p;
	size_t i;

	if (l->n_pids > INT_MAX / sizeof(pid_t)) {
		bad_answer(op_names[op], pid, "%zu pids", l->n_pids);
		return -EPROTO;
	}
	if (op == CR_ENGINE_OP_THREADS && l->n_pids == 0) {
		bad_answer(op_names[op], pid, "no threads");
		return -EPROTO;
	}
	for (i = 0; i < l->n_pids; i++) {
		if (l->pids[i] <= 0) {
			bad_answer(op_names[op], pid, "entry %zu is pid %d", i, l->pids[i]);
			return -EPROTO;
		}
	}
	/* At least one element: CRIU may read a NULL array as a failure. */
	p = malloc((l->n_pids ?: 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p, l->pids, l->n_pids * sizeof(*p));
	*out = p;
	*nr = l->n_pids;
	return 0;
}

static int pid_list_op(enum cr_engine_op op, pid_t pid, pid_t **out, int *nr)
{
	Crib__Response *resp;
	int ret;

	if (!engine_up || !op_avail[op])
		return -ENOTSUP;
	if (crib_direct_on(true)) {
		Crib__PidList l = CRIB__PID_LIST__INIT;
		int32_t *p;
		int n;

		if (!crib_direct_pids(op == CR_ENGINE_OP_CHILDREN, pid, &p, &n)) {
			l.n_pids = n;
			l.pids = p;
			ret = pids_from_pb(op, pid, &l, out, nr);
			free(p);
			if (!ret)
				return 0;
		}
	}
	ret = task_call(op, pid, &resp);
	if (ret)
		return ret;
	ret = pids_from_pb(op, pid, op == CR_ENGINE_OP_THREADS ? resp->threads : resp->children, out, nr);
	shim_free(resp);
	return ret;
}

int crib_threads(pid_t pid, pid_t **tids, int *nr)
{
	return pid_list_op(CR_ENGINE_OP_THREADS, pid, tids, nr);
}

int crib_children(pid_t pid, pid_t **pids, int *nr)
{
	return pid_list_op(CR_ENGINE_OP_CHILDREN, pid, pids, nr);
}

/*
 * What CRIU can restore of a VMA record (criu/proc_parse.c, criu/mem.c,
 * the restorer): madv holds 1 << MADV_* only for the advice VmFlags can
 * show (sr rr dc dd mg hg nh wf), which the restorer replays with
 * madvise(); map_flags only the MAP_* bits VmFlags can show.
 */
#define VMA_MADV_OK ((1ull << 1) | (1ull << 2) | (1ull << 10) | (1ull << 12) | (1ull << 14) | \
		     (1ull << 15) | (1ull << 16) | (1ull << 18))
#define VMA_MADV_RANDOM_SEQ ((1ull << 1) | (1ull << 2))	/* MADV_RANDOM, MADV_SEQUENTIAL: one at most */
#define VMA_MADV_HUGE_NOHUGE ((1ull << 14) | (1ull << 15)) /* MADV_HUGEPAGE, MADV_NOHUGEPAGE: one at most */
#define VMA_MAP_DROPPABLE 0x08
#define VMA_MAP_OK (MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_HUGETLB | VMA_MAP_DROPPABLE)

/* Why VMA @i cannot be what /proc shows, or NULL. */
static const char *vma_bad(const Crib__VmaList *v, size_t i, uint64_t prev_end)
{
	uint64_t len = v->end[i] - v->start[i];

	if (v->name_idx[i] >= v->n_names)
		return "name index out of range";
	if (v->start[i] >= v->end[i] || ((v->start[i] | v->end[i]) & CRIB_PAGE_MASK))
		return "empty or unaligned";
	if (v->start[i] < prev_end)
		return "overlaps or out of order";
	if ((v->prot[i] & ~7u) || v->shared[i] > 1 || (v->vmflags[i] & ~(CR_ENG_VMF_IO_PF | CR_ENG_VMF_SHSTK)))
		return "prot, shared or vmflags";
	if ((v->madv[i] & ~VMA_MADV_OK) || (v->madv[i] & VMA_MADV_RANDOM_SEQ) == VMA_MADV_RANDOM_SEQ ||
	    (v->madv[i] & VMA_MADV_HUGE_NOHUGE) == VMA_MADV_HUGE_NOHUGE)
		return "madv";
	if ((v->map_flags[i] & ~VMA_MAP_OK) || (v->shared[i] && (v->map_flags[i] & VMA_MAP_DROPPABLE)))
		return "map_flags";
	/* /proc prints a file's offset in bytes: page aligned, and the mapping's end fits a loff_t */
	if ((v->pgoff[i] & CRIB_PAGE_MASK) || v->pgoff[i] > (uint64_t)INT64_MAX - len)
		return "pgoff";
	/* dev_t: 12-bit major, 20-bit minor (MAJOR/MINOR of the kernel's dev_t) */
	if (v->dev_maj[i] >= (1u << 12) || v->dev_min[i] >= (1u << 20))
		return "dev";
	/* no file (no inode, no device): offset 0, as /proc prints it; a file has a name */
	if (!v->ino[i] && !v->dev_maj[i] && !v->dev_min[i] && v->pgoff[i])
		return "pgoff without a file";
	if (v->ino[i] && v->name_idx[i] == 0)
		return "a file with no name";
	/* the mapped file's identity (ino may be 0 for a file: a SysV segment's shmid) */
	if (v->n_mnt_id && ((v->fmode[i] & ~(CR_ENG_FMODE_READ | CR_ENG_FMODE_WRITE)) || v->mnt_id[i] < -1))
		return "mnt_id or fmode";
	return NULL;
}

/* Everything CRIU would trip over, checked before a byte is copied. */
static int vma_check(const char *what, pid_t pid, const Crib__VmaList *v)
{
	size_t n = v->n_start, i;
	uint64_t prev_end = 0;
	const char *why;

	if (v->pid != pid) {
		bad_answer(what, pid, "VMA list is for pid %d", v->pid);
		return -EPROTO;
	}
	if (v->n_end != n || v->n_pgoff != n || v->n_ino != n || v->n_madv != n || v->n_dev_maj != n ||
	    v->n_dev_min != n || v->n_prot != n || v->n_shared != n || v->n_map_flags != n || v->n_vmflags != n ||
	    v->n_name_idx != n || n > INT_MAX / sizeof(struct cr_eng_vma) || v->n_mnt_id != v->n_fmode ||
	    (v->n_mnt_id && v->n_mnt_id != n)) {
		bad_answer(what, pid, "VMA arrays of unequal length (%zu starts)", n);
		return -EPROTO;
	}
	if (v->n_names == 0 || v->names[0].len != 0) {
		bad_answer(what, pid, "VMA names[0] is not \"\"");
		return -EPROTO;
	}
	/* names are bytes on the wire; CRIU takes them as C strings */
	for (i = 0; i < v->n_names; i++) {
		if (v->names[i].len > CRIB_NAME_MAX || (v->names[i].len && memchr(v->names[i].data, 0, v->names[i].len))) {
			bad_answer(what, pid, "VMA name %zu: %zu bytes (at most %d), or a NUL in it", i, v->names[i].len,
				   CRIB_NAME_MAX);
			return -EPROTO;
		}
	}
	for (i = 0; i < n; i++) {
		why = vma_bad(v, i, prev_end);
		if (why) {
			bad_answer(what, pid,
				   "VMA %zu: %s (%#" PRIx64 "-%#" PRIx64 " pgoff %#" PRIx64 " dev %u:%u ino %" PRIu64
				   " name %u prot %#x shared %u madv %#" PRIx64 " map_flags %#x vmflags %#x)",
				   i, why, v->start[i], v->end[i], v->pgoff[i], v->dev_maj[i], v->dev_min[i], v->ino[i],
				   v->name_idx[i], v->prot[i], v->shared[i], v->madv[i], v->map_flags[i], v->vmflags[i]);
			return -EPROTO;
		}
		prev_end = v->end[i];
	}
	return 0;
}

/* One allocation: the entries, then the names they point to. */
static int vma_build(const Crib__VmaList *v, struct cr_eng_vma **out, int *nr)
{
	size_t n = v->n_start, head = n * sizeof(struct cr_eng_vma), size = head, i;
	struct cr_eng_vma *e;
	char **names, *s;

	names = malloc(v->n_names * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (i = 0; i < v->n_names; i++)
		size += v->names[i].len + 1;
	e = out_alloc(size);
	if (!e) {
		free(names);
		return -ENOMEM;
	}
	s = (char *)e + head;
	for (i = 0; i < v->n_names; i++) {
		size_t len = v->names[i].len;

		names[i] = s;
		if (len)
			memcpy(s, v->names[i].data, len);
		s[len] = '\0';
		s += len + 1;
	}
	for (i = 0; i < n; i++) {
		e[i] = (struct cr_eng_vma){
			.start = v->start[i],
			.end = v->end[i],
			.pgoff = v->pgoff[i],
			.ino = v->ino[i],
			.madv = v->madv[i],
			.dev_maj = v->dev_maj[i],
			.dev_min = v->dev_min[i],
			.prot = v->prot[i],
			.shared = v->shared[i],
			.map_flags = v->map_flags[i],
			.vmflags = v->vmflags[i],
			/* an engine that does not say: CRIU asks map_files, as without one */
			.mnt_id = v->n_mnt_id ? v->mnt_id[i] : -1,
			.fmode = v->n_mnt_id ? v->fmode[i] : 0,
			.name = names[v->name_idx[i]],
		};
	}
	free(names);
	*out = e;
	*nr = n;
	return 0;
}

static int fds_check(const char *what, pid_t pid, const Crib__FdTable *t)
{
	size_t n = t->n_fd, i;

	if (t->pid != pid) {
		bad_answer(what, pid, "fd table is for pid %d", t->pid);
		return -EPROTO;
	}
	if (t->n_pos != n || t->n_flags != n || t->n_mnt_id != n || (t->n_locks && t->n_locks != n) ||
	    n > INT_MAX / sizeof(int)) {
		bad_answer(what, pid, "fd arrays of unequal length (%zu fds)", n);
		return -EPROTO;
	}
	for (i = 0; i < n; i++) {
		if (t->fd[i] < 0 || (i && t->fd[i] <= t->fd[i - 1])) {
			bad_answer(what, pid, "fd %d at %zu: not ascending", t->fd[i], i);
			return -EPROTO;
		}
		/* "none" spares CRIU its look for locks: only what the engine can say */
		if (t->n_locks && t->locks[i] != CR_ENG_LOCKS_NONE && t->locks[i] != CR_ENG_LOCKS_HELD) {
			bad_answer(what, pid, "fd %d: lock state %u", t->fd[i], t->locks[i]);
			return -EPROTO;
		}
	}
	return 0;
}

static int snap_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct snap_ent *)a)->pid, y = ((const struct snap_ent *)b)->pid;

	return (x > y) - (x < y);
}

/*
 * CRIU asks for one task after another, each op once per task and the
 * tasks mostly in ascending pid order: the entry found last, or the one
 * after it, before a search.
 */
static CRIB_HOT struct snap_ent *snap_find(pid_t pid)
{
	struct snap_ent key = { .pid = pid }, *e;
	int h = sn.hint;

	if (h < sn.nr && sn.ent[h].pid == pid)
		return &sn.ent[h];
	if (h + 1 < sn.nr && sn.ent[h + 1].pid == pid)
		return &sn.ent[sn.hint = h + 1];
	if (!sn.nr)
		return NULL;
	e = bsearch(&key, sn.ent, sn.nr, sizeof(*sn.ent), snap_cmp);
	if (e)
		sn.hint = e - sn.ent;
	return e;
}

#define SNAP_HUGE (2UL << 20)

static uint32_t snap_stride(int op)
{
	return SNAP_REC_OFF + (folder_ops[op].size + 7) / 8 * 8;
}

/*
 * The entries of @nr pids, then room for the slots of every folder op,
 * column after column, in one mapping, on 2 MiB pages where the kernel
 * gives them (a tree of a few thousand tasks fits one): an ask finds the
 * TLB cold after CRIU's own work, and then walks one page table for the
 * entry and any op's record, not one for each.  0 or -ENOMEM.
 */
static int snap_arena(int nr)
{
	size_t len, huge, lead;
	uint8_t *p, *a;
	int op;

	len = ((size_t)(nr ?: 1) * sizeof(struct snap_ent) + 63) / 64 * 64;
	for (op = 0; op < CR_ENGINE_OP__MAX; op++) {
		sn.col[op] = len;
		len += (size_t)(nr ?: 1) * snap_stride(op);
	}
	huge = (len + SNAP_HUGE - 1) & ~(SNAP_HUGE - 1);
	p = mmap(NULL, huge + SNAP_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	/* a 2 MiB page can only back an aligned range: trim the ends */
	a = (uint8_t *)(((uintptr_t)p + SNAP_HUGE - 1) & ~(SNAP_HUGE - 1));
	lead = a - p;
	if (lead)
		munmap(p, lead);
	munmap(a + huge, SNAP_HUGE - lead);
	madvise(a, huge, MADV_HUGEPAGE); /* a hint: 4 KiB pages serve too */
	sn.arena = a;
	sn.arena_len = huge;
	sn.ent = (struct snap_ent *)a;
	pr_debug("prepare: %d entries, %zu KiB for the slots of every op\n", nr, huge >> 10);
	return 0;
}

/* The snapshot's entries: @pids, sorted, each once */
static int snap_build(const pid_t *pids, int nr)
{
	int j, n = 0;

	if (snap_arena(nr))
		return -ENOMEM;
	for (j = 0; j < nr; j++)
		sn.ent[j].pid = pids[j];
	qsort(sn.ent, nr, sizeof(*sn.ent), snap_cmp);
	for (j = 0; j < nr; j++)
		if (!n || sn.ent[n - 1].pid != sn.ent[j].pid)
			sn.ent[n++] = sn.ent[j];
	sn.nr = n;
	return 0;
}

/* The records of folder op @op, one per entry, none yet; 0 or -ENOMEM */
static int snap_op_alloc(int op)
{
	struct snap_op *so = &snap_ops[op];
	int j;

	if (so->slots)
		return 0;
	if (!sn.arena)
		return -ENOMEM;
	so->size = folder_ops[op].size;
	so->stride = snap_stride(op);
	so->release = folder_ops[op].release != NULL;
	so->slots = sn.arena + sn.col[op];
	for (j = 0; j < sn.nr; j++)
		*snap_st(op, j) = SNAP_REC_NONE;
	sn.live[sn.n_live++] = op;
	return 0;
}

/* Forget op @op's records, releasing what they own */
static void snap_op_drop(int op)
{
	int i;

	if (!snap_ops[op].slots)
		return;
	for (i = 0; snap_ops[op].release && i < sn.nr; i++)
		if (*snap_st(op, i) == SNAP_REC_OK)
			folder_ops[op].release(snap_rec(op, i));
	memset(&snap_ops[op], 0, sizeof(snap_ops[op]));
	for (i = 0; i < sn.n_live; i++) {
		if (sn.live[i] == op) {
			sn.live[i] = sn.live[--sn.n_live];
			break;
		}
	}
}

/* Index a checked PrepareResp by pid (snap_build() done); every entry must be for a pid asked for, once. */
static int snap_index(const Crib__PrepareResp *p, const pid_t *pids, int nr)
{
	const char *what = "prepare";
	struct snap_ent *e;
	size_t i;

	for (i = 0; i < p->n_vmas; i++) {
		e = snap_find(p->vmas[i]->pid);
		if (!e || e->vma) {
			bad_answer(what, p->vmas[i]->pid, "VMA list not asked for or repeated");
			return -EPROTO;
		}
		if (vma_check(what, e->pid, p->vmas[i]))
			return -EPROTO;
		e->vma = p->vmas[i];
	}
	for (i = 0; i < p->n_fds; i++) {
		e = snap_find(p->fds[i]->pid);
		if (!e || e->fds) {
			bad_answer(what, p->fds[i]->pid, "fd table not asked for or repeated");
			return -EPROTO;
		}
		if (fds_check(what, e->pid, p->fds[i]))
			return -EPROTO;
		e->fds = p->fds[i];
	}
	for (i = 0; i < p->n_stats; i++) {
		e = snap_find(p->stats[i]->pid);
		if (!e || e->stat) {
			bad_answer(what, p->stats[i]->pid, "stat not asked for or repeated");
			return -EPROTO;
		}
		e->stat = p->stats[i];
	}
	if (p->n_failed_pid != p->n_failed_errno) {
		bad_answer(what, nr ? pids[0] : 0, "%zu failed pids, %zu errnos", p->n_failed_pid, p->n_failed_errno);
		return -EPROTO;
	}
	for (i = 0; i < p->n_failed_pid; i++) {
		e = snap_find(p->failed_pid[i]);
		if (!e || e->err || p->failed_errno[i] <= 0 || p->failed_errno[i] > 4095 || (e->vma && e->fds)) {
			bad_answer(what, p->failed_pid[i], "failure %d not asked for, repeated or contradicted",
				   p->failed_errno[i]);
			return -EPROTO;
		}
		e->err = p->failed_errno[i];
	}
	/* per op, the last record with a message: what a record that is the same refers to */
	const Crib__OpRecord *last[CR_ENGINE_OP__MAX] = {};
	size_t last_at[CR_ENGINE_OP__MAX];

	for (i = 0; i < p->n_records; i++) {
		const Crib__OpRecord *r = p->records[i];
		size_t at, size;
		int ret;

		e = snap_find(r->pid);
		if (r->op >= CR_ENGINE_OP__MAX || !op_folder[r->op] || !op_avail[r->op]) {
			bad_answer(what, r->pid, "a record of op #%u, which is not a folder op served here", r->op);
			return -EPROTO;
		}
		if (snap_op_alloc(r->op))
			return -ENOMEM;
		at = e ? (size_t)(e - sn.ent) : 0;
		if (!e || *snap_st(r->op, at) != SNAP_REC_NONE) {
			bad_answer(what, r->pid, "%s record not asked for or repeated", op_names[r->op]);
			return -EPROTO;
		}
		if (r->has_record + r->has_err + (r->has_same && r->same) != 1 ||
		    (r->has_err && (r->err <= 0 || r->err > 4095))) {
			bad_answer(what, r->pid, "%s record with %s", op_names[r->op],
				   r->has_err && (r->err <= 0 || r->err > 4095) ? "an errno out of range" :
				   r->has_record || r->has_err ? "more than one of a message, an errno and same" :
				   "neither a message, an errno nor same");
			return -EPROTO;
		}
		if (r->has_err) {
			*snap_st(r->op, at) = r->err;
			continue;
		}
		size = folder_ops[r->op].size;
		if (!r->has_record) {
			if (!last[r->op]) {
				bad_answer(what, r->pid, "%s record the same as none before it", op_names[r->op]);
				return -EPROTO;
			}
			/* a record that owns nothing is copied; else its message is converted again */
			if (!folder_ops[r->op].release) {
				memcpy(snap_rec(r->op, at), snap_rec(r->op, last_at[r->op]), size);
				*snap_st(r->op, at) = SNAP_REC_OK;
				continue;
			}
			r = last[r->op];
		}
		/* converted now, all together: a malformed one fails prepare, as a bad VMA list does */
		ret = folder_ops[r->op].convert(e->pid, r->record.data, r->record.len, snap_rec(r->op, at));
		if (ret)
			return ret;
		*snap_st(r->op, at) = SNAP_REC_OK;
		last[r->op] = r;
		last_at[r->op] = at;
	}
	return 0;
}

/* Whether prepare() has anything to snapshot: the bulk ops or a folder op */
static bool prepare_useful(void)
{
	int op;

	if (op_avail[CR_ENGINE_OP_VMA] || op_avail[CR_ENGINE_OP_FDS])
		return true;
	for (op = 0; op < CR_ENGINE_OP__MAX; op++)
		if (op_folder[op] && op_avail[op])
			return true;
	return false;
}

/* A record of op @op's pass run here into entry @i: a record that does not check out fails that task's op, as the engine's answer would */
static void snap_convert(int op, size_t i, const void *rec, size_t len, bool stream)
{
	const struct crib_raw_op *raw = raw_ops[op];
	int ret = (stream ? raw->stream_convert : raw->convert)(sn.ent[i].pid, rec, len, snap_rec(op, i));

	*snap_st(op, i) = ret ? -ret : SNAP_REC_OK;
}

/* One record of a tree pass run here (direct_read()): op @op's of entry i of the snapshot */
static int direct_rec(void *arg, int op, int i, int err, const void *rec)
{
	if (err == -ESRCH) {
		*snap_st(op, i) = ESRCH; /* gone: CRIU's ask says so */
		return 0;
	}
	/* any other refusal (e.g. -EOPNOTSUPP, no bpf_task_from_vpid()): the engine reads the op */
	if (err)
		return err;
	snap_convert(op, i, rec, raw_ops[op]->size, false);
	return 0;
}

/* One record of an iterator read here (direct_read()): the task of @pid */
static int direct_stream_rec(void *arg, pid_t pid, const void *rec, size_t len)
{
	int op = *(int *)arg;
	struct snap_ent *e = snap_find(pid);

	if (!e || *snap_st(op, e - sn.ent) != SNAP_REC_NONE) {
		bad_answer(op_names[op], pid, "an iterator record not asked for or repeated");
		return -EPROTO;
	}
	snap_convert(op, e - sn.ent, rec, len, true);
	return 0;
}

/*
 * Folder ops @ops for the whole snapshot by their tree pass (one for all
 * of them) or op @ops[0] by its seq iterator (@stream, @n 1), run here:
 * 0, and ns[k] the time of ops[k]; or -errno and nothing kept.  A task
 * without a record from the iterator (gone) is left to CRIU's ask, which
 * the engine answers.
 */
static int direct_read(const int *ops, int n, bool stream, uint64_t *ns)
{
	pid_t *pids;
	int i, k, ret = 0;

	for (k = 0; k < n && !ret; k++)
		ret = snap_op_alloc(ops[k]);
	pids = malloc((sn.nr ?: 1) * sizeof(*pids));
	if (ret || !pids) {
		free(pids);
		for (k = 0; k < n; k++)
			snap_op_drop(ops[k]);
		return -ENOMEM;
	}
	for (i = 0; i < sn.nr; i++)
		pids[i] = sn.ent[i].pid;
	for (k = 0; k < n; k++)
		if (raw_ops[ops[k]]->begin)
			raw_ops[ops[k]]->begin();
	if (stream) {
		uint64_t t = crib_mono_ns();

		ret = crib_direct_stream(ops[0], pids, sn.nr, raw_ops[ops[0]]->stream_size, direct_stream_rec, (void *)ops);
		ns[0] = crib_mono_ns() - t;
	} else {
		ret = crib_direct_tree(ops, n, pids, sn.nr, direct_rec, NULL, ns);
	}
	free(pids);
	for (k = 0; ret && k < n; k++) {
		pr_info("prepare: %s: the %s here failed (%s); the engine reads it\n", op_names[ops[k]],
			stream ? "iterator read" : "tree pass run", strerror(ret < 0 ? -ret : ret));
		snap_op_drop(ops[k]);
	}
	return ret;
}

uint64_t crib_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Whether folder op @op is read here in prepare(): by a tree pass or an iterator the engine lent */
static bool direct_here(int op)
{
	return op_folder[op] && op_avail[op] && (crib_direct_tree_on(op) || crib_direct_stream_on(op));
}

int crib_prepare(const pid_t *pids, int nr, uint64_t *op_ns, unsigned int nr_op_ns)
{
	Crib__Request req = CRIB__REQUEST__INIT;
	Crib__PrepareReq prep = CRIB__PREPARE_REQ__INIT;
	uint64_t direct_ns[CR_ENGINE_OP__MAX] = {}, engine_ns = 0, t;
	bool counted[CR_ENGINE_OP__MAX] = {};
	uint32_t done[CR_ENGINE_OP__MAX];
	Crib__Response *resp;
	size_t i, n_done = 0;
	long double scale = 1;
	int op, ret;

	if (!engine_up || !prepare_useful())
		return -ENOTSUP;
	snap_drop();
	fdc_drop();
	ret = snap_build(pids, nr);
	if (ret)
		return ret;

	/*
	 * The tree passes the engine lent this CRIU: run here, and not asked
	 * for.  Ops lent one pass (that of every per-task op) run it once.
	 */
	for (op = 0; op < CR_ENGINE_OP__MAX; op++) {
		int group[CR_ENGINE_OP__MAX], n = 0, o;
		uint64_t ns[CR_ENGINE_OP__MAX];

		if (!direct_here(op) || counted[op])
			continue;
		/* @op, and the later ops lent the same pass (a program id; 0: an iterator, alone) */
		for (o = op; o < CR_ENGINE_OP__MAX; o++) {
			if (o != op && !(direct_here(o) && crib_direct_tree_prog(op) &&
					 crib_direct_tree_prog(o) == crib_direct_tree_prog(op)))
				continue;
			group[n++] = o;
			counted[o] = true;
		}
		if (direct_read(group, n, !crib_direct_tree_on(op), ns))
			continue;
		for (i = 0; i < (size_t)n; i++) {
			direct_ns[group[i]] = ns[i];
			done[n_done++] = group[i];
		}
	}

	t = crib_mono_ns();
	prep.n_pids = nr;
	prep.pids = (int32_t *)pids;
	prep.has_same_ok = prep.same_ok = 1;
	prep.n_done_ops = n_done;
	prep.done_ops = done;
	req.req_case = CRIB__REQUEST__REQ_PREPARE;
	req.prepare = &prep;
	ret = call("prepare", nr ? pids[0] : 0, &req, CRIB__RESPONSE__RESP_PREPARE, &resp);
	if (ret) {
		snap_drop();
		return ret;
	}

	snap_resp = resp;
	ret = snap_index(resp->prepare, pids, nr);
	if (ret) {
		snap_drop();
		return ret;
	}
	memset(op_ns, 0, nr_op_ns * sizeof(op_ns[0]));
	/*
	 * CRIU shares prepare()'s wall time out in proportion to op_ns: the
	 * round trip's own cost (socket, protobuf, the checks above) goes to
	 * the engine's ops alone, not to the passes run here.
	 */
	for (i = 0; i < resp->prepare->n_op_ns; i++)
		engine_ns += resp->prepare->op_ns[i]->ns;
	if (engine_ns)
		scale = (long double)(crib_mono_ns() - t) / engine_ns;
	for (i = 0; i < resp->prepare->n_op_ns; i++) {
		const Crib__OpTime *ot = resp->prepare->op_ns[i];

		/* ops CRIU does not know are not charged */
		if (ot->op < nr_op_ns)
			op_ns[ot->op] += (uint64_t)(ot->ns * scale);
		pr_debug("prepare: op %s: %" PRIu64 " us of engine work\n", crib_op_name(ot->op), ot->ns / 1000);
	}
	for (i = 0; i < n_done; i++) {
		if (done[i] < nr_op_ns)
			op_ns[done[i]] += direct_ns[done[i]];
		pr_debug("prepare: op %s: %" PRIu64 " us here\n", crib_op_name(done[i]),
			 direct_ns[done[i]] / 1000);
	}
	pr_info("prepare: %d pids: %zu VMA lists, %zu fd tables, %zu op records, %zu failed; %zu ops here\n", nr,
		resp->prepare->n_vmas, resp->prepare->n_fds, resp->prepare->n_records, resp->prepare->n_failed_pid,
		n_done);
	return 0;
}

/*
 * At the first ask for a task, the records of every op for it are fetched
 * ahead (see struct snap_op): the op asks of a 1,001-task tree took 19.6
 * million cycles in crib.so before, 13.9 million after.
 */
static void snap_prefetch(const struct snap_ent *e)
{
	size_t at = e - sn.ent;
	uint32_t off;
	int k;

	if (e == sn.fetched)
		return;
	sn.fetched = e;
	for (k = 0; k < sn.n_live; k++) {
		const struct snap_op *so = &snap_ops[sn.live[k]];
		const uint8_t *slot = so->slots + at * so->stride;

		for (off = 0; off < so->stride; off += 64)
			__builtin_prefetch(slot + off);
		__builtin_prefetch(slot + so->stride - 1);
	}
}

/*
 * A record to CRIU: memcpy() would go through the PLT and the GOT into
 * libc's text, three more pages a cold ask misses on.
 */
static inline void rec_copy(void *to, const void *from, size_t n)
{
#ifdef __x86_64__
	__asm__ volatile("rep movsb" : "+D"(to), "+S"(from), "+c"(n) : : "memory");
#else
	memcpy(to, from, n);
#endif
}

/* What op_direct()'s pass gives for its one pid */
struct direct_one {
	pid_t pid;
	void *out;
	int ret;
};

static int direct_one_rec(void *arg, int op, int i, int err, const void *rec)
{
	struct direct_one *d = arg;

	d->ret = err ?: raw_ops[op]->convert(d->pid, rec, raw_ops[op]->size, d->out);
	return 0;
}

/*
 * An ask past the snapshot (CRIU's own cgroup, asked before prepare(); a
 * task the snapshot does not have) by the op's tree pass for that one pid,
 * run here: tens of microseconds, where a round trip to the engine took
 * 1-5 ms in dumps of a 1,001-task tree.  0, or nonzero: the engine
 * answers it (a task gone, a record that does not convert, no pass).
 */
static int op_direct(int op, pid_t pid, void *out)
{
	struct direct_one d = { .pid = pid, .out = out, .ret = -EAGAIN };
	uint64_t ns;

	/* lent only where raw_ops[op] converts its records (direct.c) */
	if (!crib_direct_tree_on(op))
		return -ENOTSUP;
	if (raw_ops[op]->begin)
		raw_ops[op]->begin();
	if (crib_direct_tree(&op, 1, &pid, 1, direct_one_rec, &d, &ns))
		return -EAGAIN;
	if (!d.ret)
		pr_debug("%s: pid %d: by its tree pass, here\n", op_names[op], pid);
	return d.ret;
}

/* An ask past the snapshot: the op's tree pass here, else the engine's answer */
static int __attribute__((noinline, cold)) op_ask(int op, pid_t pid, void *out)
{
	Crib__Request req = CRIB__REQUEST__INIT;
	Crib__OpReq opreq = CRIB__OP_REQ__INIT;
	Crib__Response *resp;
	int ret;

	if (!op_folder[op] || !engine_up || !op_avail[op])
		return -ENOTSUP;
	/*
	 * Past the snapshot a folder op needs the engine.  Once it is gone
	 * (killed, or stopped by the shim when it stalled), procfs serves
	 * these: the tasks are frozen, CRIU's own reads are as good.
	 */
	if (engine_lost)
		return -ENOTSUP;
	if (!op_direct(op, pid, out))
		return 0;
	opreq.op = op;
	opreq.pid = pid;
	req.req_case = CRIB__REQUEST__REQ_OP;
	req.op = &opreq;
	ret = call(op_names[op], pid, &req, CRIB__RESPONSE__RESP_RECORD, &resp);
	if (ret && engine_lost) {
		pr_warn("%s: pid %d: the engine is gone: procfs serves this op from now on\n", op_names[op], pid);
		return -ENOTSUP;
	}
	if (ret)
		return ret;
	/* the converter checks everything before it writes *out */
	ret = folder_ops[op].convert(pid, resp->record.data, resp->record.len, out);
	shim_free(resp);
	return ret;
}

/* A snapshot's failure for op @op: logged once here, its errno for CRIU */
static int __attribute__((noinline, cold)) op_failed(int op, pid_t pid, int err)
{
	if (err == ESRCH)
		pr_info("%s: pid %d: the task is gone\n", op_names[op], pid);
	else if (err != ENOTSUP)
		pr_err("%s: pid %d: the engine's snapshot failed: %s\n", op_names[op], pid, strerror(err));
	return -err;
}

CRIB_HOT int crib_op_get(int op, pid_t pid, void *out)
{
	const struct snap_op *so;
	struct snap_ent *e;

	if (op < 0 || op >= CR_ENGINE_OP__MAX)
		return -ENOTSUP;
	/*
	 * An op has records only when it was served and asked for in
	 * prepare(), which holds until the reset that drops them.
	 */
	so = &snap_ops[op];
	e = so->slots ? snap_find(pid) : NULL;
	if (e) {
		size_t at = e - sn.ent;
		int *st = snap_st(op, at);

		snap_prefetch(e);
		if (*st == SNAP_REC_OK) {
			rec_copy(out, snap_rec(op, at), so->size);
			/* what the record owns is CRIU's now: a second ask makes a round trip */
			if (so->release)
				*st = SNAP_REC_NONE;
			return 0;
		}
		if (*st != SNAP_REC_NONE)
			return op_failed(op, pid, *st);
	}
	return op_ask(op, pid, out);
}

static int snap_failed(enum cr_engine_op op, const struct snap_ent *e)
{
	if (e->err == ESRCH)
		pr_info("%s: pid %d: the task is gone\n", op_names[op], e->pid);
	else if (e->err != ENOTSUP)
		pr_err("%s: pid %d: the engine's snapshot failed: %s\n", op_names[op], e->pid, strerror(e->err));
	return -e->err;
}

int crib_vma(pid_t pid, struct cr_eng_vma **vmas, int *nr)
{
	const char *what = op_names[CR_ENGINE_OP_VMA];
	struct snap_ent *e;
	Crib__Response *resp;
	int ret;

	if (!engine_up || !op_avail[CR_ENGINE_OP_VMA])
		return -ENOTSUP;
	e = snap_find(pid);
	if (e && e->vma)
		return vma_build(e->vma, vmas, nr);
	if (e && e->err)
		return snap_failed(CR_ENGINE_OP_VMA, e);

	ret = task_call(CR_ENGINE_OP_VMA, pid, &resp);
	if (ret)
		return ret;
	ret = vma_check(what, pid, resp->vma);
	if (!ret)
		ret = vma_build(resp->vma, vmas, nr);
	shim_free(resp);
	return ret;
}

/* The fd table of @pid: snapshot, earlier round trip, or a new one (kept). */
static int fd_table(enum cr_engine_op op, pid_t pid, bool refresh, const Crib__FdTable **out)
{
	struct snap_ent *e = snap_find(pid);
	Crib__Response *resp;
	struct fd_cache *c;
	int i, ret;

	if (e && e->fds) {
		*out = e->fds;
		return 0;
	}
	if (e && e->err)
		return snap_failed(op, e);
	for (i = 0; i < fdc_nr; i++) {
		if (fdc[i].pid != pid)
			continue;
		if (!refresh) {
			*out = fdc[i].resp->fds;
			return 0;
		}
		shim_free(fdc[i].resp);
		fdc[i] = fdc[--fdc_nr];
		break;
	}

	ret = task_call(op, pid, &resp);
	if (ret)
		return ret;
	ret = fds_check(op_names[op], pid, resp->fds);
	if (ret)
		goto err;
	c = realloc(fdc, (fdc_nr + 1) * sizeof(*fdc));
	if (!c) {
		ret = -ENOMEM;
		goto err;
	}
	fdc = c;
	fdc[fdc_nr++] = (struct fd_cache){ .pid = pid, .resp = resp };
	*out = resp->fds;
	return 0;
err:
	shim_free(resp);
	return ret;
}

int crib_fds(pid_t pid, int **fds, int *nr)
{
	const Crib__FdTable *t;
	int *p, ret;

	if (!engine_up || !op_avail[CR_ENGINE_OP_FDS])
		return -ENOTSUP;
	ret = fd_table(CR_ENGINE_OP_FDS, pid, true, &t);
	if (ret)
		return ret;
	p = out_alloc(t->n_fd * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p, t->fd, t->n_fd * sizeof(*p));
	*fds = p;
	*nr = t->n_fd;
	return 0;
}

static int fd_cmp(const void *key, const void *elem)
{
	int32_t x = *(const int32_t *)key, y = *(const int32_t *)elem;

	return (x > y) - (x < y);
}

/*
 * CRIU asks for all the fds of a task at once, in ascending order: the
 * entry after the last one found is tried first, the table searched only
 * when that misses.
 */
int crib_fdinfo(pid_t pid, const int *fds, int nr, struct cr_eng_fdinfo *fi)
{
	const Crib__FdTable *t;
	size_t i = 0;
	int k, ret;

	if (!engine_up || !op_avail[CR_ENGINE_OP_FDINFO])
		return -ENOTSUP;
	if (nr < 0 || (nr && (!fds || !fi)))
		return -EINVAL;
	ret = fd_table(CR_ENGINE_OP_FDINFO, pid, false, &t);
	if (ret)
		return ret;
	for (k = 0; k < nr; k++, i++) {
		int32_t key = fds[k];

		if (i >= t->n_fd || t->fd[i] != key) {
			const int32_t *hit = t->n_fd ? bsearch(&key, t->fd, t->n_fd, sizeof(key), fd_cmp) : NULL;

			if (!hit) {
				pr_err("fdinfo: pid %d: fd %d is not in the engine's fd table\n", pid, key);
				return -ENOENT;
			}
			i = hit - t->fd;
		}
		fi[k] = (struct cr_eng_fdinfo){ .pos = t->pos[i], .flags = t->flags[i], .mnt_id = t->mnt_id[i] };
		if (t->n_locks)
			fi[k].locks = t->locks[i];
	}
	return 0;
}
