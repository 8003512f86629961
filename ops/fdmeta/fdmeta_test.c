// SPDX-License-Identifier: LGPL-2.1
/*
 * fdmeta_test.c: the checks of fdmeta.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "fdmeta.pb-c.h"

static void fdmeta_answer(const Crib__FdMeta *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[16384];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__fd_meta__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static Crib__FdMetaFd good_fd(int fd, const char *path)
{
	Crib__FdMetaFd f = CRIB__FD_META_FD__INIT;

	f.fd = fd;
	f.mode = 0100644;
	f.ino = 1234567890123ull;
	f.dev_major = 8;
	f.dev_minor = 1;
	f.magic = 0xef53;
	if (path) {
		f.has_path = 1;
		f.path = bin(path);
	} else {
		f.has_path_err = 1;
		f.path_err = -ENAMETOOLONG;
	}
	return f;
}

void test_fdmeta(void)
{
	Crib__FdMetaFd f[3] = { good_fd(0, "/dev/pts/0"), good_fd(3, "/tmp/a file (deleted)"), good_fd(7, NULL) };
	Crib__FdMetaFd *fp[3] = { &f[0], &f[1], &f[2] };
	Crib__FdMeta m = CRIB__FD_META__INIT;
	static const char nul[] = "/tmp/a\0b";
	static char long_path[4096];
	struct cr_eng_fdmeta fm;

	memset(long_path, 'x', sizeof(long_path));
	f[1].has_file_key = 1;
	f[1].file_key = 0xfedcba9800000007ull; /* a read's number above 2^31 */
	m.n_fd = 3;
	m.fd = fp;
	fdmeta_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_FDMETA, 60, &fm) == 0 && calls == 1 && last_req == CRIB__REQUEST__REQ_OP &&
		      fm.nr == 3 && fm.fds[0].fd == 0 && !strcmp(fm.fds[0].path, "/dev/pts/0") &&
		      fm.fds[0].path_len == 10 && fm.fds[1].fd == 3 && !strcmp(fm.fds[1].path, "/tmp/a file (deleted)") &&
		      fm.fds[1].ino == 1234567890123ull && fm.fds[1].dev_major == 8 && fm.fds[1].dev_minor == 1 &&
		      fm.fds[1].fs_magic == 0xef53 && fm.fds[1].mode == 0100644 && fm.fds[2].path == NULL &&
		      fm.fds[2].path_err == -ENAMETOOLONG && fm.reserved == 0,
	      "fdmeta: a good answer, one OpReq, the paths in the block");
	CHECK(fm.fds[1].file_key == 0xfedcba9800000007ull && fm.fds[0].file_key == 0 && fm.fds[2].file_key == 0,
	      "fdmeta: a file key as given, 0 without one");
	/* the paths live in the same block as the fds */
	CHECK((char *)fm.fds[1].path > (char *)&fm.fds[2] && (char *)fm.fds[1].path < (char *)fm.fds + 3 * sizeof(fm.fds[0]) + 64,
	      "fdmeta: paths follow the fds");
	free(fm.fds);

	m.n_fd = 0;
	fdmeta_answer(&m);
	memset(&fm, 0xab, sizeof(fm));
	CHECK(crib_op_get(CR_ENGINE_OP_FDMETA, 60, &fm) == 0 && fm.nr == 0 && fm.fds == NULL, "fdmeta: a task without files");
	m.n_fd = 3;

#define BAD_FDMETA(change, what)                                                                  \
	do {                                                                                      \
		Crib__FdMetaFd b[3] = { f[0], f[1], f[2] };                                       \
		Crib__FdMetaFd *bp[3] = { &b[0], &b[1], &b[2] };                                  \
		Crib__FdMeta bm = m;                                                              \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		fdmeta_answer(&bm);                                                               \
		memset(&fm, 0xab, sizeof(fm));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_FDMETA, 60, &fm) == -EPROTO && untouched(&fm, sizeof(fm)), "fdmeta: " what); \
	} while (0)
	BAD_FDMETA(b[1].fd = 0, "fds not ascending");
	BAD_FDMETA(b[0].fd = -1, "a negative fd");
	BAD_FDMETA((b[0].has_path_err = 1, b[0].path_err = -ENAMETOOLONG), "a path and path_err");
	BAD_FDMETA(b[2].path_err = 0, "neither a path nor path_err");
	BAD_FDMETA((b[2].path_err = 5), "a positive path_err");
	BAD_FDMETA((b[1].path.data = (uint8_t *)nul, b[1].path.len = sizeof(nul) - 1), "a NUL in a path");
	BAD_FDMETA((b[1].path.data = (uint8_t *)long_path, b[1].path.len = sizeof(long_path)), "a path of PATH_MAX bytes");
	BAD_FDMETA(b[0].dev_minor = 1u << 20, "a minor past 20 bits");

	/* from prepare()'s snapshot: handed out once (CRIU frees it), asked again by a round trip */
	{
		Crib__OpRecord r60 = CRIB__OP_RECORD__INIT, r61 = CRIB__OP_RECORD__INIT, *recs[] = { &r60, &r61 };
		static uint8_t b60[16384], b61[16384];
		pid_t pids[] = { 60, 61 };
		uint64_t ns[CR_ENGINE_OP__MAX];

		r60.op = r61.op = CR_ENGINE_OP_FDMETA;
		r60.pid = 60, r60.has_record = 1, r60.record.data = b60, r60.record.len = crib__fd_meta__pack(&m, b60);
		r61.pid = 61, r61.has_record = 1, r61.record.data = b61, r61.record.len = crib__fd_meta__pack(&m, b61);
		prep_records = recs, n_prep_records = 2;
		prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
		CHECK(crib_prepare(pids, 2, ns, CR_ENGINE_OP__MAX) == 0, "fdmeta: prepare with records");
		calls = 0;
		CHECK(crib_op_get(CR_ENGINE_OP_FDMETA, 60, &fm) == 0 && calls == 0 && fm.nr == 3 &&
			      !strcmp(fm.fds[1].path, "/tmp/a file (deleted)"),
		      "fdmeta: from the snapshot");
		free(fm.fds);
		fdmeta_answer(&m);
		CHECK(crib_op_get(CR_ENGINE_OP_FDMETA, 60, &fm) == 0 && calls == 1 && fm.nr == 3,
		      "fdmeta: the same pid again: a round trip, not the record CRIU freed");
		free(fm.fds);
		prep_records = NULL, n_prep_records = 0;
		/* pid 61's record, never taken, is released here */
		crib_ops_reset();
	}
}
