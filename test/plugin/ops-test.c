// SPDX-License-Identifier: LGPL-2.1
/*
 * ops-test: plugin/ops.c against a fake shim.  Each case hands ops.c one
 * canned crib.Response and checks what CRIU would get: malformed answers
 * must be -EPROTO with the out arguments untouched, good ones must come
 * through whole, and snapshot-served ops must make no round trip.
 * The real transport and engine are exercised with real CRIU, not here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crib.h"
#include "shim.h"
#include "ops-test.h"

/* ---- what CRIU and shim.c would provide ---- */

static int quiet = 1;

void print_on_level(unsigned int lvl, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

unsigned int log_get_loglevel(void)
{
	return 4;
}

Crib__Response *next;	/* the canned answer, packed/unpacked like a real one */
int calls;
Crib__Request__ReqCase last_req;

int shim_call(Crib__Request *req, Crib__Response **resp)
{
	calls++;
	last_req = req->req_case;
	if (!next)
		return -EPIPE;
	next->id = req->id;
	*resp = next;
	next = NULL;
	return 0;
}

pid_t shim_pid(void)
{
	return 4242;
}

/* a co-process: hello names no shared buffer */
bool shim_is_service(void)
{
	return false;
}

int shim_shared_fd(uint32_t *size)
{
	*size = 0;
	return -1;
}

/* answers here are unpacked with protobuf-c's default allocator */
void shim_free(Crib__Response *resp)
{
	if (resp)
		crib__response__free_unpacked(resp, NULL);
}

/* Round-trip @r through the wire format so that ops.c frees what protobuf-c allocated. */
void answer(Crib__Response *r)
{
	size_t len = crib__response__get_packed_size(r);
	uint8_t *buf = malloc(len);

	crib__response__pack(r, buf);
	next = crib__response__unpack(NULL, len, buf);
	free(buf);
	if (!next) {
		fprintf(stderr, "test bug: answer does not unpack\n");
		exit(2);
	}
}

/* ---- checks ---- */

int failed, passed;


int untouched(const void *p, size_t size)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < size; i++)
		if (c[i] != 0xab)
			return 0;
	return 1;
}

/* ---- canned answers ---- */

static void hello(uint32_t abi, int nops)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__HelloResp h = CRIB__HELLO_RESP__INIT;
	Crib__OpSupport o[CR_ENGINE_OP__MAX], *op[CR_ENGINE_OP__MAX];
	int i;

	for (i = 0; i < nops; i++) {
		crib__op_support__init(&o[i]);
		o[i].op = i;
		o[i].available = 1;
		op[i] = &o[i];
	}
	h.abi_version = abi;
	h.engine_version = "test";
	h.n_ops = nops;
	h.ops = op;
	r.resp_case = CRIB__RESPONSE__RESP_HELLO;
	r.hello = &h;
	answer(&r);
}

/* A bytes field holding s, without its NUL. */
ProtobufCBinaryData bin(const char *s)
{
	return (ProtobufCBinaryData){ strlen(s), (uint8_t *)s };
}

Crib__StatResp good_stat(pid_t pid)
{
	Crib__StatResp s = CRIB__STAT_RESP__INIT;

	s.pid = pid;
	s.ppid = 1;
	s.pgid = pid;
	s.sid = pid;
	s.num_threads = 1;
	s.state = 'S';
	s.comm = bin("worker");
	s.start_time = 1ULL << 40;
	s.env_end = ~0ULL;
	return s;
}

void stat_answer(Crib__StatResp *s)
{
	Crib__Response r = CRIB__RESPONSE__INIT;

	r.resp_case = CRIB__RESPONSE__RESP_STAT;
	r.stat = s;
	answer(&r);
}

static uint32_t uids4[4] = { 0, 1, 2, 3 };

static void status_answer(size_t nuids)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__StatusResp s = CRIB__STATUS_RESP__INIT;

	s.state = 'S';
	s.vpid = 7;
	s.n_uids = nuids;
	s.uids = uids4;
	s.n_gids = 4;
	s.gids = uids4;
	r.resp_case = CRIB__RESPONSE__RESP_STATUS;
	r.status = &s;
	answer(&r);
}

static void err_answer(int err)
{
	Crib__Response r = CRIB__RESPONSE__INIT;

	r.err = err;
	r.message = "canned error";
	answer(&r);
}

/* A VmaList of 3 good entries, which a case then breaks. */
struct vmas {
	uint64_t start[3], end[3], pgoff[3], ino[3], madv[3];
	uint32_t maj[3], min[3], prot[3], shared[3], flags[3], vmf[3], idx[3], fmode[3];
	int32_t mnt_id[3];
	ProtobufCBinaryData names[3];
	Crib__VmaList l;
};

static void vmas_init(struct vmas *v, pid_t pid)
{
	int i;

	memset(v, 0, sizeof(*v));
	crib__vma_list__init(&v->l);
	for (i = 0; i < 3; i++) {
		v->start[i] = 0x10000 + i * 0x2000;
		v->end[i] = v->start[i] + 0x1000;
		v->prot[i] = i;
		v->idx[i] = i % 3;
	}
	v->shared[1] = 1;
	v->names[0] = bin("");
	v->names[1] = bin("[heap]");
	v->names[2] = bin("/usr/bin/c\xc3\xa9t-\xff\x80"); /* a name need not be UTF-8 */
	v->l.pid = pid;
	v->l.n_start = v->l.n_end = v->l.n_pgoff = v->l.n_ino = v->l.n_madv = 3;
	v->l.n_dev_maj = v->l.n_dev_min = v->l.n_prot = v->l.n_shared = v->l.n_map_flags = v->l.n_vmflags = 3;
	v->l.n_name_idx = 3;
	v->l.start = v->start, v->l.end = v->end, v->l.pgoff = v->pgoff, v->l.ino = v->ino, v->l.madv = v->madv;
	v->l.dev_maj = v->maj, v->l.dev_min = v->min, v->l.prot = v->prot, v->l.shared = v->shared;
	v->l.map_flags = v->flags, v->l.vmflags = v->vmf, v->l.name_idx = v->idx;
	v->l.n_names = 3;
	v->l.names = v->names;
	/* the file of VMA 2: its mount and open mode; none for the others */
	v->ino[2] = 7;
	v->mnt_id[0] = v->mnt_id[1] = -1;
	v->mnt_id[2] = 22;
	v->fmode[2] = CR_ENG_FMODE_READ;
	v->l.n_mnt_id = v->l.n_fmode = 3;
	v->l.mnt_id = v->mnt_id, v->l.fmode = v->fmode;
}

static void vma_answer(struct vmas *v)
{
	Crib__Response r = CRIB__RESPONSE__INIT;

	r.resp_case = CRIB__RESPONSE__RESP_VMA;
	r.vma = &v->l;
	answer(&r);
}

struct fdt {
	int32_t fd[3], mnt[3];
	uint64_t pos[3];
	uint32_t flags[3], locks[3];
	Crib__FdTable t;
};

static void fdt_init(struct fdt *f, pid_t pid)
{
	int i;

	crib__fd_table__init(&f->t);
	for (i = 0; i < 3; i++) {
		f->fd[i] = i * 5;
		f->mnt[i] = 20 + i;
		f->pos[i] = 100 * i;
		f->flags[i] = 02 | (i << 16);
		f->locks[i] = i == 1 ? CR_ENG_LOCKS_HELD : CR_ENG_LOCKS_NONE;
	}
	f->t.pid = pid;
	f->t.n_fd = f->t.n_pos = f->t.n_flags = f->t.n_mnt_id = f->t.n_locks = 3;
	f->t.fd = f->fd, f->t.pos = f->pos, f->t.flags = f->flags, f->t.mnt_id = f->mnt, f->t.locks = f->locks;
}

static void fds_answer(struct fdt *f)
{
	Crib__Response r = CRIB__RESPONSE__INIT;

	r.resp_case = CRIB__RESPONSE__RESP_FDS;
	r.fds = &f->t;
	answer(&r);
}

/* folder-op records the next prepare_answer() carries */
Crib__OpRecord **prep_records;
size_t n_prep_records;

void prepare_answer(Crib__VmaList **v, size_t nv, Crib__FdTable **f, size_t nf, int32_t *fp, size_t nfp,
			   int32_t *fe, size_t nfe, Crib__OpTime **t, size_t nt)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__PrepareResp p = CRIB__PREPARE_RESP__INIT;

	p.n_vmas = nv, p.vmas = v;
	p.n_fds = nf, p.fds = f;
	p.n_failed_pid = nfp, p.failed_pid = fp;
	p.n_failed_errno = nfe, p.failed_errno = fe;
	p.n_op_ns = nt, p.op_ns = t;
	p.n_records = n_prep_records, p.records = prep_records;
	r.resp_case = CRIB__RESPONSE__RESP_PREPARE;
	r.prepare = &p;
	answer(&r);
}

/* ---- cases ---- */

static void test_stat(void)
{
	struct cr_eng_stat st;
	Crib__StatResp s;
	char comm[CR_ENG_COMM_LEN + 1];

	s = good_stat(10);
	stat_answer(&s);
	memset(&st, 0xab, sizeof(st));
	CHECK(crib_stat(10, &st) == 0 && st.pid == 10 && st.state == 'S' && !strcmp(st.comm, "worker") &&
		      st.env_end == ~0ULL && st.start_time == 1ULL << 40,
	      "good stat");

#define BAD_STAT(mod, what)                                                          \
	do {                                                                         \
		s = good_stat(10);                                                   \
		mod;                                                                 \
		stat_answer(&s);                                                     \
		memset(&st, 0xab, sizeof(st));                                       \
		CHECK(crib_stat(10, &st) == -EPROTO && untouched(&st, sizeof(st)), what); \
	} while (0)
	BAD_STAT(s.pid = 11, "stat for another pid");
	BAD_STAT(s.state = 0, "state 0");
	BAD_STAT(s.state = 0x1234, "state not a char");
	BAD_STAT(s.ppid = -1, "negative ppid");
	memset(comm, 'x', CR_ENG_COMM_LEN);
	comm[CR_ENG_COMM_LEN] = 0;
	BAD_STAT(s.comm = bin(comm), "comm of 32 bytes");
	BAD_STAT(s.comm = ((ProtobufCBinaryData){ 3, (uint8_t *)"a\0b" }), "a NUL inside comm");
	comm[CR_ENG_COMM_LEN - 1] = 0;
	s = good_stat(10);
	s.comm = bin(comm);
	stat_answer(&s);
	CHECK(crib_stat(10, &st) == 0 && strlen(st.comm) == CR_ENG_COMM_LEN - 1, "comm of 31 bytes");
	s = good_stat(10);
	s.comm = bin("w\xc3\xa9\x80\xff");
	stat_answer(&s);
	CHECK(crib_stat(10, &st) == 0 && !strcmp(st.comm, "w\xc3\xa9\x80\xff"), "comm not UTF-8, byte for byte");

	status_answer(4); /* a status payload for a stat request */
	memset(&st, 0xab, sizeof(st));
	CHECK(crib_stat(10, &st) == -EPROTO && untouched(&st, sizeof(st)), "wrong payload");

	err_answer(5); /* positive: not an errno */
	CHECK(crib_stat(10, &st) == -EPROTO && untouched(&st, sizeof(st)), "positive err");
	err_answer(-EBUSY);
	CHECK(crib_stat(10, &st) == -EBUSY && untouched(&st, sizeof(st)), "engine error passes through");
	err_answer(-ENOTSUP);
	CHECK(crib_stat(10, &st) == -ENOTSUP, "ENOTSUP passes through");
	CHECK(crib_stat(10, &st) == -EPIPE, "no engine: transport error");
}

static void test_status(void)
{
	struct cr_eng_status st;

	status_answer(4);
	CHECK(crib_status(7, &st) == 0 && st.uids[3] == 3 && st.vpid == 7, "good status");
	status_answer(3);
	memset(&st, 0xab, sizeof(st));
	CHECK(crib_status(7, &st) == -EPROTO && untouched(&st, sizeof(st)), "3 uids");
	status_answer(5);
	CHECK(crib_status(7, &st) == -EPROTO && untouched(&st, sizeof(st)), "5 uids");
}

static void pids_answer(int threads, int32_t *p, size_t n)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__PidList l = CRIB__PID_LIST__INIT;

	l.n_pids = n;
	l.pids = p;
	r.resp_case = threads ? CRIB__RESPONSE__RESP_THREADS : CRIB__RESPONSE__RESP_CHILDREN;
	if (threads)
		r.threads = &l;
	else
		r.children = &l;
	answer(&r);
}

static void test_pids(void)
{
	int32_t good[] = { 5, 6 }, bad[] = { 5, -1 };
	pid_t *p = (pid_t *)0xab, *q;
	int nr = 0xab;

	pids_answer(1, good, 2);
	CHECK(crib_threads(5, &q, &nr) == 0 && nr == 2 && q[1] == 6, "good threads");
	free(q);
	pids_answer(1, good, 0);
	CHECK(crib_threads(5, &p, &nr) == -EPROTO && p == (pid_t *)0xab, "no threads");
	pids_answer(0, good, 0);
	CHECK(crib_children(5, &q, &nr) == 0 && nr == 0 && q, "no children is fine");
	free(q);
	pids_answer(0, bad, 2);
	nr = 0xab;
	CHECK(crib_children(5, &p, &nr) == -EPROTO && p == (pid_t *)0xab && nr == 0xab, "negative child pid");
	pids_answer(1, good, 2); /* threads payload for a children request */
	CHECK(crib_children(5, &p, &nr) == -EPROTO, "children answered with threads");
}

static char long_name[PATH_MAX + 2];

static void test_vma(void)
{
	struct cr_eng_vma *e = (void *)0xab;
	struct vmas v;
	int nr = 0xab;

	memset(long_name, 'a', sizeof(long_name) - 1);
	vmas_init(&v, 3);
	vma_answer(&v);
	CHECK(crib_vma(3, &e, &nr) == 0 && nr == 3 && !strcmp(e[1].name, "[heap]") && e[1].shared == 1 &&
		      !strcmp(e[2].name, "/usr/bin/c\xc3\xa9t-\xff\x80") && !strcmp(e[0].name, "") &&
		      e[2].mnt_id == 22 && e[2].fmode == CR_ENG_FMODE_READ && e[0].mnt_id == -1 && e[0].fmode == 0 &&
		      (char *)e[2].name > (char *)&e[2] && (char *)e[2].name < (char *)e + 3 * sizeof(*e) + 64,
	      "good vma list, names byte for byte in the same block");
	free(e);

#define BAD_VMA(mod, what)                                                                           \
	do {                                                                                         \
		vmas_init(&v, 3);                                                                    \
		mod;                                                                                 \
		vma_answer(&v);                                                                      \
		e = (void *)0xab;                                                                    \
		nr = 0xab;                                                                           \
		CHECK(crib_vma(3, &e, &nr) == -EPROTO && e == (void *)0xab && nr == 0xab, what);     \
	} while (0)
	BAD_VMA(v.l.n_ino = 2, "short ino column");
	BAD_VMA(v.l.n_name_idx = 4, "long name_idx column");
	BAD_VMA(v.idx[2] = 3, "name index out of range");
	BAD_VMA(v.names[0] = bin("x"), "names[0] not empty");
	BAD_VMA(v.names[2] = ((ProtobufCBinaryData){ 4, (uint8_t *)"/a\0b" }), "a NUL inside a name");
	BAD_VMA(v.names[2] = ((ProtobufCBinaryData){ PATH_MAX + 1, (uint8_t *)long_name }), "a name of PATH_MAX + 1 bytes");
	BAD_VMA(v.l.n_names = 0; v.idx[0] = v.idx[1] = v.idx[2] = 0, "no names");
	BAD_VMA(v.end[1] = v.start[1], "empty VMA");
	BAD_VMA(v.start[1] = v.start[0] + 0x800, "unaligned start");
	BAD_VMA(v.start[1] = v.start[0], "overlap");
	BAD_VMA(v.prot[0] = 8, "prot bit 3");
	BAD_VMA(v.shared[0] = 2, "shared 2");
	BAD_VMA(v.vmf[0] = 4, "unknown vmflags");
	BAD_VMA(v.l.pid = 4, "list for another pid");
	/* what madvise() and mmap() refuse at restore (a bit flipped in a good answer) */
	BAD_VMA(v.madv[0] = 1ull << 0, "madv bit 0 (MADV_NORMAL is not a VmFlag)");
	BAD_VMA(v.madv[0] = 1ull << 3, "madv bit 3 (MADV_WILLNEED is not a VmFlag)");
	BAD_VMA(v.madv[0] = 1ull << 40, "madv bit 40");
	BAD_VMA(v.madv[0] = (1ull << 1) | (1ull << 2), "MADV_RANDOM and MADV_SEQUENTIAL");
	BAD_VMA(v.madv[0] = (1ull << 14) | (1ull << 15), "MADV_HUGEPAGE and MADV_NOHUGEPAGE");
	BAD_VMA(v.flags[0] = 0x1, "map_flags MAP_SHARED");
	BAD_VMA(v.flags[1] = 0x08, "MAP_DROPPABLE on a shared VMA");
	BAD_VMA(v.ino[2] = 7; v.pgoff[2] = 0x800, "unaligned pgoff");
	BAD_VMA(v.ino[2] = 7; v.pgoff[2] = 1ull << 63, "pgoff beyond loff_t");
	BAD_VMA(v.pgoff[0] = 0x1000, "pgoff without a file");
	BAD_VMA(v.ino[0] = 7, "a file with no name");
	BAD_VMA(v.l.n_fmode = 2, "short fmode column");
	BAD_VMA(v.l.n_mnt_id = v.l.n_fmode = 2, "short mnt_id and fmode columns");
	BAD_VMA(v.fmode[2] = 4, "fmode bit 2");
	BAD_VMA(v.mnt_id[2] = -2, "mnt_id -2");
	/* an engine that does not say: CRIU asks map_files, as without one */
	vmas_init(&v, 3);
	v.l.n_mnt_id = v.l.n_fmode = 0;
	vma_answer(&v);
	CHECK(crib_vma(3, &e, &nr) == 0 && e[2].mnt_id == -1 && e[2].fmode == 0, "no mnt_id and fmode columns: not known");
	free(e);
	BAD_VMA(v.ino[2] = 7; v.maj[2] = 4096, "dev major of 13 bits");
	BAD_VMA(v.ino[2] = 7; v.min[2] = 1u << 20, "dev minor of 21 bits");
	/* and what CRIU does see: the advice and flags VmFlags shows */
	vmas_init(&v, 3);
	v.madv[0] = (1ull << 2) | (1ull << 10) | (1ull << 12) | (1ull << 14) | (1ull << 16) | (1ull << 18);
	v.flags[0] = 0x0100 | 0x2000 | 0x4000 | 0x40000 | 0x08; /* GROWSDOWN LOCKED NORESERVE HUGETLB DROPPABLE */
	v.ino[2] = 7, v.maj[2] = 8, v.min[2] = 1, v.pgoff[2] = 0x3000;
	vma_answer(&v);
	CHECK(crib_vma(3, &e, &nr) == 0 && nr == 3 && e[0].madv == v.madv[0] && e[0].map_flags == v.flags[0] &&
		      e[2].pgoff == 0x3000 && e[2].ino == 7,
	      "every VmFlag CRIU reads comes through");
	free(e);
}

/*
 * What CRIU's restore accepts of a VMA, stated from its side (the
 * restorer's madvise() of each bit of madv, mmap() of the flags, offset
 * and protection): a test-side oracle for the mutation test, not a copy of
 * vma_check().
 */
static const char *restorable(const struct cr_eng_vma *e, int nr)
{
	static const int advice[] = { 1, 2, 10, 12, 14, 15, 16, 18 }; /* sr rr dc dd mg hg nh wf */
	uint64_t known = 0, prev = 0;
	int i, j;

	for (j = 0; j < (int)(sizeof(advice) / sizeof(advice[0])); j++)
		known |= 1ull << advice[j];
	for (i = 0; i < nr; i++) {
		if (e[i].madv & ~known)
			return "madvise() of an advice CRIU never records";
		if (e[i].map_flags & ~(0x0100u | 0x2000 | 0x4000 | 0x40000 | 0x08))
			return "a MAP_* flag CRIU never records";
		if (e[i].start % 4096 || e[i].end % 4096 || e[i].start >= e[i].end || e[i].start < prev)
			return "bad range";
		if (e[i].pgoff % 4096 || e[i].pgoff > (uint64_t)INT64_MAX - (e[i].end - e[i].start))
			return "mmap() offset";
		if (e[i].prot & ~7u || e[i].shared > 1)
			return "prot";
		if (!e[i].name)
			return "no name";
		prev = e[i].end;
	}
	return NULL;
}

/*
 * A seeded mutation test of the decoding of answers: a good prepare answer
 * with one to three bits flipped, many times.  Each must be refused
 * (-EPROTO, nothing handed to CRIU) or give what CRIU can restore.
 */
static void test_mutations(void)
{
	pid_t pids[] = { 30 };
	uint64_t ns[CR_ENGINE_OP__MAX];
	struct vmas v;
	struct fdt f;
	Crib__VmaList *vl[1] = { &v.l };
	Crib__FdTable *fl[1] = { &f.t };
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__PrepareResp p = CRIB__PREPARE_RESP__INIT;
	struct cr_eng_vma *e;
	uint8_t *good, *buf;
	size_t len;
	int round, taken = 0, refused = 0, bad = 0, nr, ret;
	unsigned int seed = 20261204;

	vmas_init(&v, 30);
	v.madv[0] = (1ull << 12) | (1ull << 14);
	v.ino[2] = 1234, v.maj[2] = 8, v.min[2] = 1, v.pgoff[2] = 0x5000;
	fdt_init(&f, 30);
	p.n_vmas = 1, p.vmas = vl;
	p.n_fds = 1, p.fds = fl;
	r.resp_case = CRIB__RESPONSE__RESP_PREPARE;
	r.prepare = &p;
	len = crib__response__get_packed_size(&r);
	good = malloc(len);
	buf = malloc(len);
	crib__response__pack(&r, good);

	for (round = 0; round < 20000; round++) {
		int flips = 1 + rand_r(&seed) % 3, k;

		memcpy(buf, good, len);
		for (k = 0; k < flips; k++) {
			size_t bit = rand_r(&seed) % (len * 8);

			buf[bit / 8] ^= 1u << (bit % 8);
		}
		next = crib__response__unpack(NULL, len, buf);
		if (!next)
			continue;	/* the shim refuses what does not unpack */
		ret = crib_prepare(pids, 1, ns, CR_ENGINE_OP__MAX);
		if (next) {		/* not taken: a request went out? */
			crib__response__free_unpacked(next, NULL);
			next = NULL;
		}
		if (ret) {
			refused++;
			continue;
		}
		taken++;
		calls = 0;
		ret = crib_vma(30, &e, &nr);
		if (ret == 0) {
			const char *why = restorable(e, nr);

			if (why && bad++ < 5)
				fprintf(stderr, "FAIL mutation round %d: accepted a VMA list CRIU cannot restore: %s\n", round, why);
			free(e);
		}
		crib_ops_reset();
		hello(CR_ENGINE_ABI_VERSION, CR_ENGINE_OP__MAX);
		crib_hello();
	}
	CHECK(bad == 0, "%d mutated answers accepted that CRIU cannot restore", bad);
	CHECK(taken > 100 && refused > 100, "mutations both taken (%d) and refused (%d)", taken, refused);
	if (!quiet)
		fprintf(stderr, "mutations: %d taken, %d refused\n", taken, refused);
	free(good);
	free(buf);
}

static void test_fds(void)
{
	struct cr_eng_fdinfo fi;
	struct fdt f;
	int *fds = (int *)0xab, nr = 0xab;

	fdt_init(&f, 8);
	fds_answer(&f);
	CHECK(crib_fds(8, &fds, &nr) == 0 && nr == 3 && fds[2] == 10, "good fd table");
	free(fds);
	/* fdinfo after a round-trip fds: from the kept table, no call */
	calls = 0;
	CHECK(crib_fdinfo(8, (int[]){ 5 }, 1, &fi) == 0 && fi.pos == 100 && fi.mnt_id == 21 && calls == 0,
	      "fdinfo from kept table");
	CHECK(fi.locks == CR_ENG_LOCKS_HELD, "fdinfo says which file has locks");
	CHECK(crib_fdinfo(8, (int[]){ 10 }, 1, &fi) == 0 && fi.locks == CR_ENG_LOCKS_NONE, "and which has none");
	CHECK(crib_fdinfo(8, (int[]){ 6 }, 1, &fi) == -ENOENT, "fdinfo of a missing fd");
	CHECK(crib_fdinfo(8, (int[]){ 0, 5, 6 }, 3, (struct cr_eng_fdinfo[3]){}) == -ENOENT,
	      "fdinfo of a missing fd after good ones");
	CHECK(crib_fdinfo(8, NULL, 0, NULL) == 0, "fdinfo of no fds");
	CHECK(crib_fdinfo(8, (int[]){ 0 }, -1, &fi) == -EINVAL, "fdinfo of a negative count");
	/* ascending (the guess hits), backwards, repeated, skipping: each its own entry */
	{
		static const int order[] = { 0, 5, 10, 0, 10, 10, 5, 0 };
		struct cr_eng_fdinfo out[8];
		size_t k;
		bool ok;

		ok = crib_fdinfo(8, order, 8, out) == 0;
		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
			ok &= out[k].pos == (uint64_t)order[k] * 20 && out[k].mnt_id == 20 + order[k] / 5 &&
			      out[k].flags == (02u | (order[k] / 5) << 16);
		CHECK(ok && calls == 0, "fdinfo in any order");
	}

	fdt_init(&f, 9);
	f.fd[2] = 5;
	fds_answer(&f);
	fds = (int *)0xab;
	CHECK(crib_fds(9, &fds, &nr) == -EPROTO && fds == (int *)0xab, "fds not ascending");
	fdt_init(&f, 9);
	f.t.n_mnt_id = 2;
	fds_answer(&f);
	CHECK(crib_fds(9, &fds, &nr) == -EPROTO && fds == (int *)0xab, "short mnt_id column");
	fdt_init(&f, 9);
	f.t.n_locks = 2;
	fds_answer(&f);
	CHECK(crib_fds(9, &fds, &nr) == -EPROTO && fds == (int *)0xab, "short locks column");
	fdt_init(&f, 9);
	f.locks[2] = 0;
	fds_answer(&f);
	CHECK(crib_fds(9, &fds, &nr) == -EPROTO && fds == (int *)0xab, "lock state \"unknown\" from the engine");
	fdt_init(&f, 9);
	f.t.n_locks = 0;
	fds_answer(&f);
	CHECK(crib_fds(9, &fds, &nr) == 0, "no locks column (an older engine)");
	free(fds);
	CHECK(crib_fdinfo(9, (int[]){ 5 }, 1, &fi) == 0 && fi.locks == CR_ENG_LOCKS_UNKNOWN, "then CRIU finds out itself");
	fdt_init(&f, 9);
	f.fd[0] = -1;
	fds_answer(&f);
	CHECK(crib_fds(9, &fds, &nr) == -EPROTO, "negative fd");
}

static void test_prepare(void)
{
	pid_t pids[] = { 30, 31, 32 };
	uint64_t ns[CR_ENGINE_OP__MAX];
	Crib__OpTime t1 = CRIB__OP_TIME__INIT, t2 = CRIB__OP_TIME__INIT, *times[] = { &t1, &t2 };
	struct vmas v30, v31;
	struct fdt f30;
	Crib__VmaList *vl[2] = { &v30.l, &v31.l };
	Crib__FdTable *fl[1] = { &f30.t };
	int32_t fp[] = { 31 }, fe[] = { ESRCH }, fe2[] = { ESRCH, EIO };
	struct cr_eng_vma *e;
	struct cr_eng_fdinfo fi;
	int *fds, nr;

	vmas_init(&v30, 30);
	vmas_init(&v31, 31);
	fdt_init(&f30, 30);
	t1.op = CR_ENGINE_OP_VMA, t1.ns = 700;
	t2.op = CR_ENGINE_OP_FDS, t2.ns = 300;

	prepare_answer(vl, 1, fl, 1, fp, 1, fe, 1, times, 2);
	memset(ns, 0xab, sizeof(ns));
	/* the round trip's wall time, shared out as the engine's times are: 7 to 3 */
	CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == 0 && last_req == CRIB__REQUEST__REQ_PREPARE &&
		      ns[CR_ENGINE_OP_FDS] > 0 && ns[CR_ENGINE_OP_VMA] * 3 / 7 >= ns[CR_ENGINE_OP_FDS] - 1 &&
		      ns[CR_ENGINE_OP_VMA] * 3 / 7 <= ns[CR_ENGINE_OP_FDS] + 1 && ns[CR_ENGINE_OP_STAT] == 0,
	      "good prepare, op_ns");
	calls = 0;
	CHECK(crib_vma(30, &e, &nr) == 0 && nr == 3 && calls == 0, "vma from the snapshot");
	free(e);
	CHECK(crib_fds(30, &fds, &nr) == 0 && nr == 3 && calls == 0, "fds from the snapshot");
	free(fds);
	CHECK(crib_fdinfo(30, (int[]){ 10 }, 1, &fi) == 0 && fi.pos == 200 && calls == 0, "fdinfo from the snapshot");
	CHECK(crib_vma(31, &e, &nr) == -ESRCH && calls == 0, "failed pid: its errno");
	CHECK(crib_fdinfo(31, (int[]){ 0 }, 1, &fi) == -ESRCH && calls == 0, "failed pid: fdinfo too");
	CHECK(crib_vma(32, &e, &nr) == -EPIPE && calls == 1, "pid not in the snapshot: a round trip");

#define BAD_PREP(answer_call, what)                                                              \
	do {                                                                                     \
		answer_call;                                                                     \
		memset(ns, 0xab, sizeof(ns));                                                    \
		CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == -EPROTO && untouched(ns, sizeof(ns)), what); \
		calls = 0;                                                                       \
		CHECK(crib_vma(30, &e, &nr) == -EPIPE && calls == 1, what ": no snapshot left");   \
	} while (0)
	BAD_PREP(prepare_answer(vl, 1, fl, 1, fp, 1, fe2, 2, times, 2), "failed_pid/failed_errno lengths differ");
	v31.l.pid = 30;
	BAD_PREP(prepare_answer(vl, 2, fl, 1, NULL, 0, NULL, 0, times, 2), "two VMA lists for one pid");
	v31.l.pid = 99;
	BAD_PREP(prepare_answer(vl, 2, fl, 1, NULL, 0, NULL, 0, times, 2), "VMA list for a pid not asked for");
	v31.l.pid = 31;
	fe[0] = 0;
	BAD_PREP(prepare_answer(vl, 1, fl, 1, fp, 1, fe, 1, times, 2), "failed errno 0");
	fe[0] = ESRCH;
	t2.op = 99; /* an op of a newer engine: not charged, not refused */
	prepare_answer(vl, 1, fl, 1, fp, 1, fe, 1, times, 2);
	memset(ns, 0xab, sizeof(ns));
	CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == 0 && ns[CR_ENGINE_OP_VMA] > 0 && ns[CR_ENGINE_OP_FDS] == 0,
	      "time for an op this plugin does not know: ignored");
	t2.op = CR_ENGINE_OP_FDS;
	prepare_answer(vl, 1, fl, 1, fp, 1, fe, 1, times, 2);
	memset(ns, 0xab, sizeof(ns));
	CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP_FDS) == 0 && ns[CR_ENGINE_OP_VMA] > 0 &&
		      untouched(&ns[CR_ENGINE_OP_FDS], sizeof(ns) - CR_ENGINE_OP_FDS * sizeof(ns[0])),
	      "a CRIU with fewer ops: op_ns written only as far as it has room");
	v30.idx[0] = 9;
	BAD_PREP(prepare_answer(vl, 1, fl, 1, fp, 1, fe, 1, times, 2), "bad VMA inside the snapshot");
}

/* An engine that knows more ops than this plugin: they are not used, the rest is. */
static void test_newer_engine(void)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__HelloResp h = CRIB__HELLO_RESP__INIT;
	Crib__OpSupport o[CR_ENGINE_OP__MAX + 1], *op[CR_ENGINE_OP__MAX + 1];
	struct cr_eng_stat st;
	int i;

	for (i = 0; i <= CR_ENGINE_OP__MAX; i++) {
		crib__op_support__init(&o[i]);
		o[i].op = i == CR_ENGINE_OP__MAX ? 1000 : i;
		o[i].available = 1;
		op[i] = &o[i];
	}
	h.abi_version = CR_ENGINE_ABI_VERSION;
	h.engine_version = "newer";
	h.n_ops = CR_ENGINE_OP__MAX + 1;
	h.ops = op;
	r.resp_case = CRIB__RESPONSE__RESP_HELLO;
	r.hello = &h;
	answer(&r);
	CHECK(crib_hello() == 0 && crib_ops_served(NULL) == CR_ENGINE_OP__MAX, "hello naming an op this plugin does not know");
	calls = 0;
	CHECK(crib_stat(1, &st) == -EPIPE && calls == 1, "and the ops it knows are asked for");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-v"))
		quiet = 0;

	/* Before hello every op is "not served here". */
	{
		struct cr_eng_stat st;

		CHECK(crib_stat(1, &st) == -ENOTSUP && calls == 0, "no hello: ENOTSUP, no round trip");
	}
	hello(CR_ENGINE_ABI_VERSION + 1, CR_ENGINE_OP__MAX);
	CHECK(crib_hello() == -EPROTO, "ABI mismatch refused");
	hello(CR_ENGINE_ABI_VERSION, CR_ENGINE_OP_FDINFO); /* fdinfo and later not listed: unavailable */
	CHECK(crib_hello() == 0, "hello");
	{
		struct cr_eng_fdinfo fi;

		calls = 0;
		CHECK(crib_fdinfo(1, (int[]){ 0 }, 1, &fi) == -ENOTSUP && calls == 0, "unavailable op: ENOTSUP, no round trip");
	}
	hello(CR_ENGINE_ABI_VERSION, CR_ENGINE_OP__MAX);
	CHECK(crib_hello() == 0, "hello, all ops");

	test_stat();
	test_status();
	test_pids();
	test_vma();
	test_fds();
	test_prepare();
	test_mutations();
	crib_ops_reset();
	hello(CR_ENGINE_ABI_VERSION, CR_ENGINE_OP__MAX);
	CHECK(crib_hello() == 0, "hello, all ops");
	/* each op folder's converter checks (ops/NAME/NAME_test.c), each after a hello of its own */
#define CRIB_FOLDER_OP_TEST(n, N, id)                                    \
	hello(CR_ENGINE_ABI_VERSION, CR_ENGINE_OP__MAX);                 \
	CHECK(crib_hello() == 0, "hello, all ops, before " #n "'s checks"); \
	test_##n();
	CRIB_FOLDER_OPS(CRIB_FOLDER_OP_TEST)
#undef CRIB_FOLDER_OP_TEST
	test_newer_engine();
	crib_ops_reset();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
