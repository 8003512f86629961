// SPDX-License-Identifier: LGPL-2.1
/*
 * taskmisc_test.c: the checks of taskmisc.c (the plugin's converter)
 * against canned answers, run by test/plugin/ops-test.c with its fake
 * shim: good records come through whole, malformed ones are -EPROTO with
 * the out argument untouched, snapshot records make no round trip.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "taskmisc.h"
#include "taskmisc.pb-c.h"

/* An answer to an OpReq: @m packed into Response.record. */
static void taskmisc_answer(const Crib__TaskMisc *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	size_t len = crib__task_misc__get_packed_size(m);
	uint8_t *buf = malloc(len);

	crib__task_misc__pack(m, buf);
	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = len;
	r.record.data = buf;
	answer(&r);
	free(buf);
}

static ProtobufCBinaryData taskmisc_bytes(const Crib__TaskMisc *m, uint8_t *buf)
{
	return (ProtobufCBinaryData){ crib__task_misc__pack(m, buf), buf };
}

void test_taskmisc(void)
{
	uint64_t cur[CR_ENG_RLIMITS_MAX + 1], max[CR_ENG_RLIMITS_MAX + 1];
	Crib__TaskMisc m = CRIB__TASK_MISC__INIT;
	struct cr_eng_taskmisc tm;
	uint8_t packed[512];
	int i;

	for (i = 0; i <= CR_ENG_RLIMITS_MAX; i++) {
		cur[i] = i;
		max[i] = i ? 2ULL * i : ~0ULL;
	}
	m.have = CR_ENG_TASKMISC_LOGINUID | CR_ENG_TASKMISC_OOM;
	m.personality = 0x0040000; /* ADDR_NO_RANDOMIZE */
	m.loginuid = 1000;
	m.oom_score_adj = -500;
	m.n_rlim_cur = m.n_rlim_max = CR_ENG_RLIMITS_MAX;
	m.rlim_cur = cur;
	m.rlim_max = max;

	taskmisc_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == 0 && calls == 1 && last_req == CRIB__REQUEST__REQ_OP && tm.personality == 0x40000 &&
		      tm.have == m.have && tm.loginuid == 1000 && tm.oom_score_adj == -500 &&
		      tm.nr_rlimits == CR_ENG_RLIMITS_MAX && tm.rlimits[0].max == ~0ULL && tm.rlimits[5].cur == 5 &&
		      tm.rlimits[5].max == 10,
	      "taskmisc: a good record, one OpReq");

#define BAD_MISC(change, what)                                                                   \
	do {                                                                                     \
		Crib__TaskMisc b = m;                                                            \
		change;                                                                          \
		taskmisc_answer(&b);                                                             \
		memset(&tm, 0xab, sizeof(tm));                                                   \
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == -EPROTO && untouched(&tm, sizeof(tm)), "taskmisc: " what); \
	} while (0)
	BAD_MISC(b.have |= 4, "unknown bits in have");
	BAD_MISC(b.oom_score_adj = 1001, "oom_score_adj past OOM_SCORE_ADJ_MAX");
	BAD_MISC(b.oom_score_adj = -1001, "oom_score_adj below OOM_SCORE_ADJ_MIN");
	BAD_MISC(b.n_rlim_max = CR_ENG_RLIMITS_MAX - 1, "rlimit arrays of different lengths");
	BAD_MISC(b.n_rlim_cur = b.n_rlim_max = CR_ENG_RLIMITS_MAX + 1, "more rlimits than RLIM_NLIMITS");
	BAD_MISC(b.rlim_cur = max; b.rlim_max = cur, "a limit above its maximum");
	{
		Crib__Response r = CRIB__RESPONSE__INIT;

		r.resp_case = CRIB__RESPONSE__RESP_RECORD;
		r.record = bin("\xff\xff\xff");
		answer(&r);
		memset(&tm, 0xab, sizeof(tm));
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == -EPROTO && untouched(&tm, sizeof(tm)), "taskmisc: a record that does not unpack");
	}
	{
		Crib__StatResp st = good_stat(40);

		stat_answer(&st);
		memset(&tm, 0xab, sizeof(tm));
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == -EPROTO && untouched(&tm, sizeof(tm)), "taskmisc: a stat payload instead of a record");
	}

	/* from prepare()'s snapshot: no round trip */
	{
		Crib__OpRecord r40 = CRIB__OP_RECORD__INIT, r41 = CRIB__OP_RECORD__INIT, *recs[] = { &r40, &r41 };
		pid_t pids[] = { 40, 41, 42 };
		uint64_t ns[CR_ENGINE_OP__MAX];

		r40.op = CR_ENGINE_OP_TASKMISC, r40.pid = 40, r40.has_record = 1, r40.record = taskmisc_bytes(&m, packed);
		r41.op = CR_ENGINE_OP_TASKMISC, r41.pid = 41, r41.has_err = 1, r41.err = ESRCH;
		prep_records = recs, n_prep_records = 2;
		prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
		CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == 0, "taskmisc: prepare with records");
		calls = 0;
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == 0 && calls == 0 && tm.oom_score_adj == -500, "taskmisc: from the snapshot");
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 41, &tm) == -ESRCH && calls == 0, "taskmisc: the snapshot's errno");
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 42, &tm) == -ENOTSUP && calls == 1,
		      "taskmisc: a pid not in the snapshot: a round trip; no answer (the engine is gone): procfs serves it");
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 42, &tm) == -ENOTSUP && calls == 1,
		      "taskmisc: the engine gone, no more round trips");
		CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 40, &tm) == 0 && calls == 1, "taskmisc: the snapshot still serves");
		{
			/* "same": the record of 40 again, copied */
			Crib__OpRecord r42 = CRIB__OP_RECORD__INIT, *three[] = { &r40, &r41, &r42 };

			r42.op = CR_ENGINE_OP_TASKMISC, r42.pid = 42, r42.has_same = 1, r42.same = 1;
			prep_records = three, n_prep_records = 3;
			prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
			CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == 0, "taskmisc: prepare with a record the same as one before");
			calls = 0;
			memset(&tm, 0, sizeof(tm));
			CHECK(crib_op_get(CR_ENGINE_OP_TASKMISC, 42, &tm) == 0 && calls == 0 && tm.oom_score_adj == -500 &&
				      tm.nr_rlimits == m.n_rlim_cur,
			      "taskmisc: the same record, past an errno, from the snapshot");
			prep_records = recs, n_prep_records = 2;
		}

#define BAD_REC(change, what)                                                                     \
	do {                                                                                      \
		Crib__OpRecord keep40 = r40, keep41 = r41;                                        \
		change;                                                                           \
		prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);                      \
		CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == -EPROTO, "taskmisc: " what); \
		r40 = keep40, r41 = keep41;                                                       \
	} while (0)
		BAD_REC(r41.op = CR_ENGINE_OP_VMA, "a record of a core op");
		BAD_REC(r41.op = 99, "a record of an op this plugin does not know");
		BAD_REC(r41.pid = 40, "two records for one pid");
		BAD_REC(r41.pid = 77, "a record for a pid not asked for");
		BAD_REC(r41.has_record = 1, "a record with both a message and an errno");
		BAD_REC(r41.has_err = 0, "a record with neither");
		BAD_REC(r41.err = 0, "errno 0");
		BAD_REC(r41.has_err = 0; r41.has_same = r41.same = 1; r40.has_record = 0; r40.has_err = 1; r40.err = ESRCH,
			"a record the same as none before it");
		BAD_REC(r41.has_same = r41.same = 1, "a record with an errno and same");
		BAD_REC(r40.has_same = r40.same = 1, "a record with a message and same");
		{
			/* a snapshot record that is no good fails prepare(), as a bad VMA list does */
			Crib__TaskMisc b = m;
			uint8_t bad[512];

			b.oom_score_adj = 5000;
			BAD_REC(r40.record = taskmisc_bytes(&b, bad), "a malformed message in the snapshot");
		}
		prep_records = NULL, n_prep_records = 0;
		crib_ops_reset();
	}

	/* a record of the tree pass crib.so runs itself (crib_taskmisc_raw) */
	{
		struct crib_taskmisc r = { .have = CRIB_TASKMISC_LOGINUID, .personality = 8, .loginuid = 7, .nr_rlimits = 2 };

		r.rlim_cur[0] = 1, r.rlim_max[0] = 2, r.rlim_cur[1] = 3, r.rlim_max[1] = ~0ULL;
		memset(&tm, 0xab, sizeof(tm));
		CHECK(crib_taskmisc_raw.size == sizeof(r) && crib_taskmisc_raw.convert(40, &r, sizeof(r), &tm) == 0 && tm.have == r.have &&
			      tm.personality == 8 && tm.loginuid == 7 && tm.nr_rlimits == 2 && tm.rlimits[1].cur == 3 &&
			      tm.rlimits[1].max == ~0ULL && tm.reserved == 0,
		      "taskmisc raw record: converted whole");
		r.rlim_cur[1] = 5, r.rlim_max[1] = 4;
		memset(&tm, 0xab, sizeof(tm));
		CHECK(crib_taskmisc_raw.convert(40, &r, sizeof(r), &tm) == -EPROTO && untouched(&tm, sizeof(tm)),
		      "taskmisc raw record: an rlimit above its maximum");
		r.rlim_max[1] = 5, r.nr_rlimits = CRIB_RLIMITS + 1;
		CHECK(crib_taskmisc_raw.convert(40, &r, sizeof(r), &tm) == -EPROTO && untouched(&tm, sizeof(tm)),
		      "taskmisc raw record: more rlimits than there are");
		r.nr_rlimits = 2, r.have = 4;
		CHECK(crib_taskmisc_raw.convert(40, &r, sizeof(r), &tm) == -EPROTO && untouched(&tm, sizeof(tm)),
		      "taskmisc raw record: unknown bits in have");
	}
}

