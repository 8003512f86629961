// SPDX-License-Identifier: LGPL-2.1
/*
 * inotify_test.c: the checks of inotify.c (the plugin's converter)
 * against canned answers, run by test/plugin/ops-test.c with its fake
 * shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "inotify.pb-c.h"

static void inotify_answer(const Crib__Inotify *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[4096];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__inotify__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static uint8_t fh8[8] = { 0x2f, 0xc0, 0x20, 0x00, 0xe2, 0x2a, 0x8d, 0x42 };
static uint8_t fh12[12] = { 0x7a, 0xc6, 0x04, 0, 0, 0, 0, 0, 1, 0, 0, 0 };

static Crib__InotifyWatch watch(int wd, uint32_t mask, uint8_t *fh, size_t len, int type)
{
	Crib__InotifyWatch w = CRIB__INOTIFY_WATCH__INIT;

	w.wd = wd;
	w.mask = mask;
	w.ino = 0x20c02f;
	w.sdev = 0xfe00000;
	w.fh_type = type;
	w.fh.data = fh;
	w.fh.len = len;
	return w;
}

void test_inotify(void)
{
	Crib__InotifyWatch w[2] = { watch(2, 0x80000002, fh8, 8, 1), watch(1, 0xfff, fh12, 12, 0x81) };
	Crib__InotifyWatch *wp[2] = { &w[0], &w[1] };
	Crib__InotifyFd f[2] = { CRIB__INOTIFY_FD__INIT, CRIB__INOTIFY_FD__INIT };
	Crib__InotifyFd *fp[2] = { &f[0], &f[1] };
	Crib__Inotify m = CRIB__INOTIFY__INIT;
	struct cr_eng_inotify in;

	/* fd 4: two watches; fd 6: more than the engine lists */
	f[0].fd = 4, f[0].all = 1, f[0].n_wd = 2, f[0].wd = wp;
	f[1].fd = 6, f[1].all = 0;
	m.n_fd = 2;
	m.fd = fp;
	inotify_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_INOTIFY, 70, &in) == 0 && calls == 1 && in.nr == 2 && in.nr_wds == 2 &&
		      in.fds[0].fd == 4 && in.fds[0].nr_wds == 2 && in.fds[0].first == 0 && in.fds[1].fd == 6 &&
		      in.fds[1].nr_wds == CR_ENG_INOTIFY_WDS_UNKNOWN && in.wds == (void *)(in.fds + 2) &&
		      in.wds[0].wd == 2 && in.wds[0].mask == 0x80000002 && in.wds[0].ino == 0x20c02f &&
		      in.wds[0].sdev == 0xfe00000 && in.wds[0].fh_bytes == 8 && in.wds[0].fh_type == 1 &&
		      !memcmp(in.wds[0].fh, fh8, 8) && in.wds[1].fh_bytes == 12 && in.wds[1].fh_type == 0x81 &&
		      !memcmp(in.wds[1].fh, fh12, 12),
	      "inotify: two inotify fds (one not listed whole), one OpReq, the watches in one block after the fds");
	free(in.fds);

	m.n_fd = 0;
	inotify_answer(&m);
	memset(&in, 0xab, sizeof(in));
	CHECK(crib_op_get(CR_ENGINE_OP_INOTIFY, 70, &in) == 0 && in.nr == 0 && in.fds == NULL && in.wds == NULL,
	      "inotify: a task without inotify fds");
	m.n_fd = 2;

#define BAD_INOTIFY(change, what)                                                                 \
	do {                                                                                      \
		Crib__InotifyWatch bw[2] = { w[0], w[1] };                                        \
		Crib__InotifyWatch *bwp[2] = { &bw[0], &bw[1] };                                  \
		Crib__InotifyFd b[2] = { f[0], f[1] };                                            \
		Crib__InotifyFd *bp[2] = { &b[0], &b[1] };                                        \
		Crib__Inotify bm = m;                                                             \
		b[0].wd = bwp;                                                                    \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		inotify_answer(&bm);                                                              \
		memset(&in, 0xab, sizeof(in));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_INOTIFY, 70, &in) == -EPROTO && untouched(&in, sizeof(in)), "inotify: " what); \
	} while (0)
	BAD_INOTIFY(b[1].fd = 4, "fds not ascending");
	BAD_INOTIFY(b[0].fd = -1, "a negative fd");
	BAD_INOTIFY((b[1].n_wd = 1, b[1].wd = bwp), "watches on an fd not listed whole");
	BAD_INOTIFY(bw[0].wd = 0, "wd 0");
	BAD_INOTIFY(bw[1].fh.len = 0, "a watch without a handle");
	{
		uint8_t big[17] = { 0 };

		BAD_INOTIFY((bw[1].fh.data = big, bw[1].fh.len = sizeof(big)), "a handle longer than 16 bytes");
	}
#undef BAD_INOTIFY
}
