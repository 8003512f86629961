// SPDX-License-Identifier: LGPL-2.1
/*
 * epoll_test.c: the checks of epoll.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "epoll.pb-c.h"

static void epoll_answer(const Crib__Epoll *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[64 * 1024];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__epoll__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static Crib__EpollTarget target(int tfd, uint32_t events, uint64_t data)
{
	Crib__EpollTarget t = CRIB__EPOLL_TARGET__INIT;

	t.tfd = tfd;
	t.events = events;
	t.data = data;
	t.pos = -2;
	t.ino = 0x100000001ull;
	t.sdev = 0xe00005;
	return t;
}

void test_epoll(void)
{
	Crib__EpollTarget t[3] = { target(7, 0x80000001, 0xdeadbeefcafef00dull), target(9, 4, 1), target(7, 1, 2) };
	Crib__EpollTarget *tp[3] = { &t[0], &t[1], &t[2] };
	Crib__EpollTarget *many[513];
	Crib__EpollFd f[3] = { CRIB__EPOLL_FD__INIT, CRIB__EPOLL_FD__INIT, CRIB__EPOLL_FD__INIT };
	Crib__EpollFd *fp[3] = { &f[0], &f[1], &f[2] };
	Crib__Epoll m = CRIB__EPOLL__INIT;
	struct cr_eng_epoll ep;
	int i;

	/* fd 3: two targets; fd 5: none; fd 8: one */
	f[0].fd = 3, f[0].all = 1, f[0].n_tfd = 2, f[0].tfd = tp;
	f[1].fd = 5, f[1].all = 1;
	f[2].fd = 8, f[2].all = 1, f[2].n_tfd = 1, f[2].tfd = &tp[2];
	m.n_fd = 3;
	m.fd = fp;
	epoll_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_EPOLL, 70, &ep) == 0 && calls == 1 && ep.nr == 3 && ep.nr_tfds == 3 &&
		      ep.fds[0].fd == 3 && ep.fds[0].nr_tfds == 2 && ep.fds[0].first == 0 && ep.fds[1].fd == 5 &&
		      ep.fds[1].nr_tfds == 0 && ep.fds[2].fd == 8 && ep.fds[2].nr_tfds == 1 && ep.fds[2].first == 2 &&
		      ep.tfds == (void *)(ep.fds + 3) && ep.tfds[0].tfd == 7 && ep.tfds[0].events == 0x80000001 &&
		      ep.tfds[0].data == 0xdeadbeefcafef00dull && ep.tfds[0].pos == -2 && ep.tfds[0].ino == 0x100000001ull &&
		      ep.tfds[0].sdev == 0xe00005 && ep.tfds[0].reserved == 0 && ep.tfds[1].tfd == 9 &&
		      ep.tfds[2].tfd == 7 && ep.tfds[2].data == 2,
	      "epoll: three epoll fds (one empty), one OpReq, the targets in one block after the fds");
	free(ep.fds);

	/* more targets than a record holds: none kept, CRIU reads the fdinfo */
	for (i = 0; i < 513; i++)
		many[i] = &t[1];
	f[1].all = 0, f[1].n_tfd = 512, f[1].tfd = many;
	epoll_answer(&m);
	CHECK(crib_op_get(CR_ENGINE_OP_EPOLL, 70, &ep) == 0 && ep.nr == 3 && ep.nr_tfds == 3 &&
		      ep.fds[1].nr_tfds == CR_ENG_EPOLL_TFDS_UNKNOWN && ep.fds[2].first == 2,
	      "epoll: an fd with more targets than the engine lists is marked unknown");
	free(ep.fds);
	f[1].all = 1, f[1].n_tfd = 0, f[1].tfd = NULL;

	m.n_fd = 0;
	epoll_answer(&m);
	memset(&ep, 0xab, sizeof(ep));
	CHECK(crib_op_get(CR_ENGINE_OP_EPOLL, 70, &ep) == 0 && ep.nr == 0 && ep.nr_tfds == 0 && ep.fds == NULL &&
		      ep.tfds == NULL,
	      "epoll: a task without epoll fds");
	m.n_fd = 3;

#define BAD_EPOLL(change, what)                                                                   \
	do {                                                                                      \
		Crib__EpollFd b[3] = { f[0], f[1], f[2] };                                        \
		Crib__EpollFd *bp[3] = { &b[0], &b[1], &b[2] };                                   \
		Crib__Epoll bm = m;                                                               \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		epoll_answer(&bm);                                                                \
		memset(&ep, 0xab, sizeof(ep));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_EPOLL, 70, &ep) == -EPROTO && untouched(&ep, sizeof(ep)), "epoll: " what); \
	} while (0)
	BAD_EPOLL(b[1].fd = 3, "fds not ascending");
	BAD_EPOLL(b[0].fd = -1, "a negative fd");
	BAD_EPOLL((b[1].n_tfd = 513, b[1].tfd = many), "more targets than a record holds");
	BAD_EPOLL(b[0].all = 0, "not all targets, but fewer than a record holds");
	{
		Crib__EpollTarget neg = target(-1, 1, 0);
		Crib__EpollTarget *negp = &neg;

		BAD_EPOLL((b[2].tfd = &negp), "a negative tfd");
	}
#undef BAD_EPOLL
}
