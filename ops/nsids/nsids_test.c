// SPDX-License-Identifier: LGPL-2.1
/*
 * nsids_test.c: the checks of nsids.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "nsids.h"
#include "nsids.pb-c.h"

static void nsids_answer(const Crib__NsIds *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	uint8_t buf[128];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__ns_ids__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

void test_nsids(void)
{
	uint32_t kid[CR_ENG_NS__MAX + 1];
	Crib__NsIds m = CRIB__NS_IDS__INIT;
	struct cr_eng_nsids ns;
	int i;

	for (i = 0; i <= CR_ENG_NS__MAX; i++)
		kid[i] = 4026531835u + i;
	kid[CR_ENG_NS_TIME] = kid[CR_ENG_NS_TIME_FOR_CHILDREN] = 0; /* a kernel without time namespaces */
	m.n_kid = CR_ENG_NS__MAX;
	m.kid = kid;

	nsids_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_NSIDS, 50, &ns) == 0 && calls == 1 && last_req == CRIB__REQUEST__REQ_OP &&
		      ns.kid[CR_ENG_NS_PID] == kid[CR_ENG_NS_PID] && ns.kid[CR_ENG_NS_CGROUP] == kid[CR_ENG_NS_CGROUP] &&
		      ns.kid[CR_ENG_NS_TIME] == 0 && ns.reserved == 0,
	      "nsids: a good record, one OpReq");

#define BAD_NS(change, what)                                                                       \
	do {                                                                                       \
		Crib__NsIds b = m;                                                                 \
		uint32_t k[CR_ENG_NS__MAX + 1];                                                    \
		memcpy(k, kid, sizeof(k));                                                         \
		b.kid = k;                                                                         \
		change;                                                                            \
		nsids_answer(&b);                                                                  \
		memset(&ns, 0xab, sizeof(ns));                                                     \
		CHECK(crib_op_get(CR_ENGINE_OP_NSIDS, 50, &ns) == -EPROTO && untouched(&ns, sizeof(ns)), "nsids: " what); \
	} while (0)
	BAD_NS(b.n_kid = CR_ENG_NS__MAX - 1, "a namespace short");
	BAD_NS(b.n_kid = CR_ENG_NS__MAX + 1, "a namespace too many");
	BAD_NS(k[CR_ENG_NS_PID] = 0, "no pid namespace");
	BAD_NS(k[CR_ENG_NS_MNT] = 0, "no mount namespace");

	/* a record of the tree pass crib.so runs itself (crib_nsids_raw) */
	{
		struct crib_nsids r = {};
		struct cr_eng_nsids out;
		int k;

		for (k = 0; k < CRIB_NS_NR; k++)
			r.kid[k] = 0xf0000000u + k;
		r.kid[CRIB_NS_TIME] = 0;
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_nsids_raw.size == sizeof(r) && crib_nsids_raw.convert(40, &r, sizeof(r), &out) == 0 &&
			      out.kid[CR_ENG_NS_MNT] == 0xf0000004u && out.kid[CR_ENG_NS_TIME] == 0 && out.reserved == 0,
		      "nsids raw record: converted whole");
		r.kid[CRIB_NS_MNT] = 0;
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_nsids_raw.convert(40, &r, sizeof(r), &out) == -EPROTO && untouched(&out, sizeof(out)),
		      "nsids raw record: no mount namespace");
	}
}
