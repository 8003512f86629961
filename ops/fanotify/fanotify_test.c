// SPDX-License-Identifier: LGPL-2.1
/*
 * fanotify_test.c: the checks of fanotify.c (the plugin's converter)
 * against canned answers, run by test/plugin/ops-test.c with its fake
 * shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "fanotify.pb-c.h"

static void fanotify_answer(const Crib__Fanotify *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[4096];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__fanotify__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static uint8_t fh8[8] = { 0xa2, 0xe5, 0x20, 0x00, 0xb5, 0x4e, 0x3c, 0x6c };

static Crib__FanotifyMark inode_mark(uint32_t mflags, uint32_t mask, uint32_t ignored)
{
	Crib__FanotifyMark k = CRIB__FANOTIFY_MARK__INIT;

	k.type = CR_ENG_FANOTIFY_MARK_INODE;
	k.mflags = mflags;
	k.mask = mask;
	k.ignored_mask = ignored;
	k.has_ino = k.has_sdev = k.has_fh_type = k.has_fh = 1;
	k.ino = 0x20e5a2;
	k.sdev = 0xfe00000;
	k.fh_type = 1;
	k.fh.data = fh8;
	k.fh.len = sizeof(fh8);
	return k;
}

static Crib__FanotifyMark mount_mark(uint32_t mnt_id, uint32_t mask)
{
	Crib__FanotifyMark k = CRIB__FANOTIFY_MARK__INIT;

	k.type = CR_ENG_FANOTIFY_MARK_MOUNT;
	k.mask = mask;
	k.has_mnt_id = 1;
	k.mnt_id = mnt_id;
	return k;
}

void test_fanotify(void)
{
	Crib__FanotifyMark k[2] = { mount_mark(29, 0x28), inode_mark(0x40, 0, 0x20) };
	Crib__FanotifyMark *kp[2] = { &k[0], &k[1] };
	Crib__FanotifyFd f[2] = { CRIB__FANOTIFY_FD__INIT, CRIB__FANOTIFY_FD__INIT };
	Crib__FanotifyFd *fp[2] = { &f[0], &f[1] };
	Crib__Fanotify m = CRIB__FANOTIFY__INIT;
	struct cr_eng_fanotify fa;

	/* fd 3: a mount and an inode mark; fd 7: not listed whole */
	f[0].fd = 3, f[0].fa_flags = 0x14, f[0].ev_flags = 0x8000, f[0].all = 1, f[0].n_mark = 2, f[0].mark = kp;
	f[1].fd = 7, f[1].fa_flags = 0, f[1].ev_flags = 2, f[1].all = 0;
	m.n_fd = 2;
	m.fd = fp;
	fanotify_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_FANOTIFY, 70, &fa) == 0 && calls == 1 && fa.nr == 2 && fa.nr_marks == 2 &&
		      fa.fds[0].fd == 3 && fa.fds[0].fa_flags == 0x14 && fa.fds[0].ev_flags == 0x8000 &&
		      fa.fds[0].nr_marks == 2 && fa.fds[0].first == 0 && fa.fds[1].fd == 7 && fa.fds[1].ev_flags == 2 &&
		      fa.fds[1].nr_marks == CR_ENG_FANOTIFY_MARKS_UNKNOWN && fa.marks == (void *)(fa.fds + 2) &&
		      fa.marks[0].type == CR_ENG_FANOTIFY_MARK_MOUNT && fa.marks[0].mnt_id == 29 &&
		      fa.marks[0].mask == 0x28 && fa.marks[0].fh_bytes == 0 && fa.marks[1].type == CR_ENG_FANOTIFY_MARK_INODE &&
		      fa.marks[1].mflags == 0x40 && fa.marks[1].ignored_mask == 0x20 && fa.marks[1].ino == 0x20e5a2 &&
		      fa.marks[1].sdev == 0xfe00000 && fa.marks[1].fh_bytes == 8 && fa.marks[1].fh_type == 1 &&
		      !memcmp(fa.marks[1].fh, fh8, 8),
	      "fanotify: two fanotify fds (one not listed whole), one OpReq, the marks in one block after the fds");
	free(fa.fds);

	m.n_fd = 0;
	fanotify_answer(&m);
	memset(&fa, 0xab, sizeof(fa));
	CHECK(crib_op_get(CR_ENGINE_OP_FANOTIFY, 70, &fa) == 0 && fa.nr == 0 && fa.fds == NULL && fa.marks == NULL,
	      "fanotify: a task without fanotify fds");
	m.n_fd = 2;

#define BAD_FANOTIFY(change, what)                                                                \
	do {                                                                                      \
		Crib__FanotifyMark bk[2] = { k[0], k[1] };                                        \
		Crib__FanotifyMark *bkp[2] = { &bk[0], &bk[1] };                                  \
		Crib__FanotifyFd b[2] = { f[0], f[1] };                                           \
		Crib__FanotifyFd *bp[2] = { &b[0], &b[1] };                                       \
		Crib__Fanotify bm = m;                                                            \
		b[0].mark = bkp;                                                                  \
		bm.fd = bp;                                                                       \
		change;                                                                           \
		fanotify_answer(&bm);                                                             \
		memset(&fa, 0xab, sizeof(fa));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_FANOTIFY, 70, &fa) == -EPROTO && untouched(&fa, sizeof(fa)), "fanotify: " what); \
	} while (0)
	BAD_FANOTIFY(b[1].fd = 3, "fds not ascending");
	BAD_FANOTIFY(b[0].fd = -1, "a negative fd");
	BAD_FANOTIFY((b[1].n_mark = 1, b[1].mark = bkp), "marks on an fd not listed whole");
	BAD_FANOTIFY(bk[0].type = 3, "a filesystem mark (CRIU does not read them)");
	BAD_FANOTIFY(bk[1].fh.len = 0, "an inode mark without a handle");
	BAD_FANOTIFY((bk[0].has_ino = 1, bk[0].ino = 5), "a mount mark with an inode");
	BAD_FANOTIFY(bk[1].has_mnt_id = 1, "an inode mark with a mount");
#undef BAD_FANOTIFY
}
