// SPDX-License-Identifier: LGPL-2.1
/*
 * auxv_test.c: the checks of auxv.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "auxv.h"
#include "auxv.pb-c.h"

static void auxv_answer(const Crib__Auxv *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	uint8_t buf[1024];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__auxv__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

void test_auxv(void)
{
	uint64_t w[CR_ENG_AUXV_MAX + 2] = { 33, 0x7ffd1000, 16, 0x178bfbff, 6, 4096, 0, 0 };
	Crib__Auxv m = CRIB__AUXV__INIT;
	struct cr_eng_auxv av;

	m.n_word = 8;
	m.word = w;
	auxv_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_AUXV, 70, &av) == 0 && calls == 1 && last_req == CRIB__REQUEST__REQ_OP &&
		      av.nr == 8 && av.word[0] == 33 && av.word[5] == 4096 && av.word[7] == 0 && av.reserved == 0,
	      "auxv: a good record, one OpReq");

	m.n_word = 0;
	auxv_answer(&m);
	memset(&av, 0xab, sizeof(av));
	CHECK(crib_op_get(CR_ENGINE_OP_AUXV, 70, &av) == 0 && av.nr == 0, "auxv: a task without mm");

#define BAD_AUXV(change, what)                                                                       \
	do {                                                                                         \
		Crib__Auxv b = m;                                                                    \
		uint64_t k[CR_ENG_AUXV_MAX + 2];                                                     \
		memcpy(k, w, sizeof(k));                                                             \
		b.word = k;                                                                          \
		b.n_word = 8;                                                                        \
		change;                                                                              \
		auxv_answer(&b);                                                                     \
		memset(&av, 0xab, sizeof(av));                                                       \
		CHECK(crib_op_get(CR_ENGINE_OP_AUXV, 70, &av) == -EPROTO && untouched(&av, sizeof(av)), "auxv: " what); \
	} while (0)
	BAD_AUXV(b.n_word = 7, "an odd number of words");
	BAD_AUXV(k[6] = 3, "no AT_NULL at the end");
	BAD_AUXV(b.n_word = CR_ENG_AUXV_MAX + 2, "more words than the record holds");

	/* a record of the tree pass crib.so runs itself (crib_auxv_raw): nr words, /proc's up to AT_NULL */
	{
		struct crib_auxv r = { .nr = 8 };
		struct cr_eng_auxv out;

		r.word[0] = 6, r.word[1] = 4096, r.word[2] = 0, r.word[3] = 0, r.word[4] = 9, r.word[5] = 9;
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_auxv_raw.size == sizeof(r) && crib_auxv_raw.convert(40, &r, sizeof(r), &out) == 0 && out.nr == 4 &&
			      out.word[1] == 4096 && out.word[3] == 0 && out.reserved == 0,
		      "auxv raw record: the words up to AT_NULL");
		r.word[2] = 7;
		r.word[4] = 7;
		r.word[6] = 7;
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_auxv_raw.convert(40, &r, sizeof(r), &out) == -EPROTO && untouched(&out, sizeof(out)), "auxv raw record: no AT_NULL");
		r.nr = 7;
		CHECK(crib_auxv_raw.convert(40, &r, sizeof(r), &out) == -EPROTO && untouched(&out, sizeof(out)), "auxv raw record: odd nr");
		r.nr = 0;
		CHECK(crib_auxv_raw.convert(40, &r, sizeof(r), &out) == 0 && out.nr == 0, "auxv raw record: no mm, no words");
	}
}
