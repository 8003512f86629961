// SPDX-License-Identifier: LGPL-2.1
/*
 * fdtype_test.c: the checks of fdtype.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "fdtype.pb-c.h"

static void fdtype_answer(const Crib__FdType *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[1024];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__fd_type__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static Crib__FdTypeFd fd_of(int fd, uint32_t kind, uint64_t value, uint32_t flags)
{
	Crib__FdTypeFd f = CRIB__FD_TYPE_FD__INIT;

	f.fd = fd;
	f.kind = kind;
	f.value = value;
	if (flags) {
		f.has_flags = 1;
		f.flags = flags;
	}
	return f;
}

void test_fdtype(void)
{
	Crib__FdTypeFd f[2] = { fd_of(3, CR_ENG_FDTYPE_EVENTFD, 0xfffffffffffffffeull, 01),
				fd_of(9, CR_ENG_FDTYPE_SIGNALFD, 0x201, 0) };
	Crib__FdTypeFd *fp[2] = { &f[0], &f[1] };
	Crib__FdType m = CRIB__FD_TYPE__INIT;
	struct cr_eng_fdtype ft;

	m.n_fd = 2;
	m.fd = fp;
	fdtype_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_FDTYPE, 70, &ft) == 0 && calls == 1 && ft.nr == 2 && ft.reserved == 0 &&
		      ft.fds[0].fd == 3 && ft.fds[0].kind == CR_ENG_FDTYPE_EVENTFD &&
		      ft.fds[0].value == 0xfffffffffffffffeull && ft.fds[0].flags == 01 && ft.fds[1].fd == 9 &&
		      ft.fds[1].kind == CR_ENG_FDTYPE_SIGNALFD && ft.fds[1].value == 0x201 && ft.fds[1].flags == 0 &&
		      ft.fds[1].clockid == 0 && ft.fds[1].it_value_ns == 0 && ft.fds[1].it_interval_ns == 0,
	      "fdtype: an eventfd and a signalfd, one OpReq, the fields as sent");
	free(ft.fds);

	{
		/* timerfds: CLOCK_MONOTONIC with its times; CLOCK_REALTIME without it_value (not known) */
		Crib__FdTypeFd t[2] = { fd_of(4, CR_ENG_FDTYPE_TIMERFD, 3, 01), fd_of(5, CR_ENG_FDTYPE_TIMERFD, 0, 0) };
		Crib__FdTypeFd *tp[2] = { &t[0], &t[1] };
		Crib__FdType tm = CRIB__FD_TYPE__INIT;

		t[0].has_clockid = t[0].has_it_value_ns = t[0].has_it_interval_ns = 1;
		t[0].clockid = 1, t[0].it_value_ns = 1500000000, t[0].it_interval_ns = 2000000000;
		t[1].has_clockid = t[1].has_it_interval_ns = 1;
		tm.n_fd = 2, tm.fd = tp;
		fdtype_answer(&tm);
		CHECK(crib_op_get(CR_ENGINE_OP_FDTYPE, 70, &ft) == 0 && ft.nr == 2 && ft.fds[0].kind == CR_ENG_FDTYPE_TIMERFD &&
			      ft.fds[0].clockid == 1 && ft.fds[0].value == 3 && ft.fds[0].flags == 01 &&
			      ft.fds[0].it_value_ns == 1500000000 && ft.fds[0].it_interval_ns == 2000000000 &&
			      ft.fds[1].clockid == 0 && ft.fds[1].it_value_ns == -1,
		      "fdtype: timerfds, an it_value not known is -1");
		free(ft.fds);
#define BAD_TIMERFD(change, what)                                                                 \
	do {                                                                                      \
		Crib__FdTypeFd b[2] = { t[0], t[1] };                                             \
		Crib__FdTypeFd *bp[2] = { &b[0], &b[1] };                                         \
		Crib__FdType bm = tm;                                                             \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		fdtype_answer(&bm);                                                               \
		memset(&ft, 0xab, sizeof(ft));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_FDTYPE, 70, &ft) == -EPROTO && untouched(&ft, sizeof(ft)), "fdtype: " what); \
	} while (0)
		BAD_TIMERFD(b[0].clockid = 2, "a timerfd of CLOCK_PROCESS_CPUTIME_ID");
		BAD_TIMERFD(b[1].has_clockid = 0, "a timerfd without its clock");
		BAD_TIMERFD(b[0].it_value_ns = -5, "a negative it_value");
		BAD_TIMERFD(b[0].flags = 04, "a settime flag that is not one");
#undef BAD_TIMERFD
	}

	m.n_fd = 0;
	fdtype_answer(&m);
	memset(&ft, 0xab, sizeof(ft));
	CHECK(crib_op_get(CR_ENGINE_OP_FDTYPE, 70, &ft) == 0 && ft.nr == 0 && ft.fds == NULL, "fdtype: a task without such fds");
	m.n_fd = 2;

#define BAD_FDTYPE(change, what)                                                                  \
	do {                                                                                      \
		Crib__FdTypeFd b[2] = { f[0], f[1] };                                             \
		Crib__FdTypeFd *bp[2] = { &b[0], &b[1] };                                         \
		Crib__FdType bm = m;                                                              \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		fdtype_answer(&bm);                                                               \
		memset(&ft, 0xab, sizeof(ft));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_FDTYPE, 70, &ft) == -EPROTO && untouched(&ft, sizeof(ft)), "fdtype: " what); \
	} while (0)
	BAD_FDTYPE(b[1].fd = 3, "fds not ascending");
	BAD_FDTYPE(b[0].fd = -1, "a negative fd");
	BAD_FDTYPE(b[1].kind = 0, "kind 0 (a task's beginning, not an fd)");
	BAD_FDTYPE(b[1].kind = 4, "a kind this plugin does not know");
	BAD_FDTYPE((b[1].has_clockid = 1, b[1].clockid = 1), "a clock on a signalfd");
	BAD_FDTYPE((b[1].has_flags = 1, b[1].flags = 01), "flags on a signalfd");
	BAD_FDTYPE(b[0].flags = 0100, "an eventfd flag that is not one");
#undef BAD_FDTYPE
}
