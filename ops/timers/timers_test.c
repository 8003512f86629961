// SPDX-License-Identifier: LGPL-2.1
/*
 * timers_test.c: the checks of timers.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ops-test.h"
#include "timers.h"
#include "timers.pb-c.h"

static void timers_answer(const uint8_t *msg, size_t len)
{
	Crib__Response r = CRIB__RESPONSE__INIT;

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = len;
	r.record.data = (uint8_t *)msg;
	answer(&r);
}

void test_timers(void)
{
	static const uint8_t none[] = { 1 << 3, 0 }, some[] = { 1 << 3, 1 }, missing[] = { 2 << 3, 1 };
	struct cr_eng_timers t;

	timers_answer(some, sizeof(some));
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_TIMERS, 90, &t) == 0 && calls == 1 && t.any == 1 && t.reserved == 0,
	      "timers: a task with timers, one OpReq");
	timers_answer(none, sizeof(none));
	CHECK(crib_op_get(CR_ENGINE_OP_TIMERS, 90, &t) == 0 && t.any == 0, "timers: a task without");
	timers_answer(missing, sizeof(missing));
	memset(&t, 0xab, sizeof(t));
	CHECK(crib_op_get(CR_ENGINE_OP_TIMERS, 90, &t) == -EPROTO && untouched(&t, sizeof(t)),
	      "timers: a record without its required field");

	/* a record of the tree pass crib.so runs itself (crib_timers_raw) */
	{
		struct crib_timers r = { .any = 1 };
		struct cr_eng_timers out;

		memset(&out, 0xab, sizeof(out));
		CHECK(crib_timers_raw.size == sizeof(r) && crib_timers_raw.convert(40, &r, sizeof(r), &out) == 0 && out.any == 1 &&
			      out.reserved == 0,
		      "timers raw record: converted");
		r.any = 2;
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_timers_raw.convert(40, &r, sizeof(r), &out) == -EPROTO && untouched(&out, sizeof(out)), "timers raw record: any is 2");
	}
}
