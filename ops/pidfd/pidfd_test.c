// SPDX-License-Identifier: LGPL-2.1
/*
 * pidfd_test.c: the checks of pidfd.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "pidfd.pb-c.h"

static void pidfd_answer(const Crib__Pidfd *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[1024];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__pidfd__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static Crib__PidfdFd fd_of(int fd, int nr, int ns_nr, uint64_t ino)
{
	Crib__PidfdFd f = CRIB__PIDFD_FD__INIT;

	f.fd = fd;
	f.nr = nr;
	f.ns_nr = ns_nr;
	f.ino = ino;
	return f;
}

void test_pidfd(void)
{
	/* a process in CRIU's namespace, one in a child namespace (1 there), one that exited */
	Crib__PidfdFd f[3] = { fd_of(3, 70, 70, 39479), fd_of(4, 81, 1, 0x100000002ull), fd_of(9, -1, -1, 5) };
	Crib__PidfdFd *fp[3] = { &f[0], &f[1], &f[2] };
	Crib__Pidfd m = CRIB__PIDFD__INIT;
	struct cr_eng_pidfd pf;

	m.n_fd = 3;
	m.fd = fp;
	pidfd_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_PIDFD, 70, &pf) == 0 && calls == 1 && pf.nr == 3 && pf.reserved == 0 &&
		      pf.fds[0].fd == 3 && pf.fds[0].nr == 70 && pf.fds[0].ns_nr == 70 && pf.fds[0].ino == 39479 &&
		      pf.fds[1].fd == 4 && pf.fds[1].nr == 81 && pf.fds[1].ns_nr == 1 &&
		      pf.fds[1].ino == 0x100000002ull && pf.fds[1].reserved == 0 && pf.fds[2].fd == 9 &&
		      pf.fds[2].nr == -1 && pf.fds[2].ns_nr == -1,
	      "pidfd: three pidfds, one OpReq, the fields as sent");
	free(pf.fds);

	m.n_fd = 0;
	pidfd_answer(&m);
	memset(&pf, 0xab, sizeof(pf));
	CHECK(crib_op_get(CR_ENGINE_OP_PIDFD, 70, &pf) == 0 && pf.nr == 0 && pf.fds == NULL, "pidfd: a task without pidfds");
	m.n_fd = 3;

#define BAD_PIDFD(change, what)                                                                   \
	do {                                                                                      \
		Crib__PidfdFd b[3] = { f[0], f[1], f[2] };                                        \
		Crib__PidfdFd *bp[3] = { &b[0], &b[1], &b[2] };                                   \
		Crib__Pidfd bm = m;                                                               \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		pidfd_answer(&bm);                                                                \
		memset(&pf, 0xab, sizeof(pf));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_PIDFD, 70, &pf) == -EPROTO && untouched(&pf, sizeof(pf)), "pidfd: " what); \
	} while (0)
	BAD_PIDFD(b[1].fd = 3, "fds not ascending");
	BAD_PIDFD(b[0].fd = -1, "a negative fd");
	BAD_PIDFD(b[2].nr = b[2].ns_nr = -2, "a pid below -1");
	BAD_PIDFD(b[1].ns_nr = 0, "a process seen from CRIU without a number in its own namespace");
	BAD_PIDFD(b[2].ns_nr = 5, "an exited process with a number in its own namespace");
#undef BAD_PIDFD
}
