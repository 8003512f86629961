// SPDX-License-Identifier: LGPL-2.1
/*
 * cgroup_test.c: the checks of cgroup.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "cgroup.h"
#include "cgroup.pb-c.h"

static void cgroup_answer(const char *text)
{
	static uint8_t msg[512];
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__Cgroup cg = CRIB__CGROUP__INIT;

	cg.text = (char *)text;
	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__cgroup__pack(&cg, msg);
	r.record.data = msg;
	answer(&r);
}

void test_cgroup(void)
{
	static const char good[] = "9:name=systemd:/\n8:pids:/a/b\n1:cpu,cpuacct:/\n0::/user.slice\n";
	static const char *bad[] = { "0::user.slice\n", "0::/x", "pids:/\n", "\n" };
	struct cr_eng_cgroup cg;
	unsigned int i;

	cgroup_answer(good);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_CGROUP, 90, &cg) == 0 && calls == 1 && cg.text && !strcmp(cg.text, good) &&
		      cg.len == strlen(good) && cg.reserved == 0,
	      "cgroup: four hierarchies, one OpReq, the text as sent");
	free(cg.text);
	cgroup_answer("");
	CHECK(crib_op_get(CR_ENGINE_OP_CGROUP, 90, &cg) == 0 && cg.text && cg.len == 0, "cgroup: no hierarchy visible");
	free(cg.text);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cgroup_answer(bad[i]);
		memset(&cg, 0xab, sizeof(cg));
		CHECK(crib_op_get(CR_ENGINE_OP_CGROUP, 90, &cg) == -EPROTO && untouched(&cg, sizeof(cg)),
		      "cgroup: a text that is not /proc/PID/cgroup's");
	}

	/* prepare()'s "same" records: a record that owns memory gets a text of its own */
	{
		Crib__Cgroup m = CRIB__CGROUP__INIT;
		Crib__OpRecord r90 = CRIB__OP_RECORD__INIT, r91 = CRIB__OP_RECORD__INIT, r92 = CRIB__OP_RECORD__INIT;
		Crib__OpRecord *recs[] = { &r90, &r91, &r92 };
		struct cr_eng_cgroup c92;
		pid_t pids[] = { 90, 91, 92 };
		uint64_t ns[CR_ENGINE_OP__MAX];
		uint8_t buf[512];

		m.text = (char *)good;
		r90.op = CR_ENGINE_OP_CGROUP, r90.pid = 90, r90.has_record = 1;
		r90.record = (ProtobufCBinaryData){ crib__cgroup__pack(&m, buf), buf };
		r91.op = CR_ENGINE_OP_CGROUP, r91.pid = 91, r91.has_err = 1, r91.err = ESRCH;
		r92.op = CR_ENGINE_OP_CGROUP, r92.pid = 92, r92.has_same = 1, r92.same = 1;
		prep_records = recs, n_prep_records = 3;
		prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
		CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == 0, "cgroup: prepare with a record the same as one before");
		calls = 0;
		CHECK(crib_op_get(CR_ENGINE_OP_CGROUP, 90, &cg) == 0 && crib_op_get(CR_ENGINE_OP_CGROUP, 92, &c92) == 0 &&
			      calls == 0 && cg.text != c92.text && !strcmp(cg.text, good) && !strcmp(c92.text, good),
		      "cgroup: the same record, past an errno, with a text of its own");
		free(cg.text);
		free(c92.text);
		/* the one before is a failure, or there is none */
		r90.has_record = 0, r90.has_same = 1, r90.same = 1;
		prepare_answer(NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0);
		CHECK(crib_prepare(pids, 3, ns, CR_ENGINE_OP__MAX) == -EPROTO, "cgroup: a record the same as none before it");
		prep_records = NULL, n_prep_records = 0;
		crib_ops_reset();
	}

	/*
	 * a record of the tree pass crib.so runs itself (crib_cgroup_raw):
	 * its lines newest hierarchy first, components leaf first, the
	 * controllers from this process's own /proc/self/cgroup (v2 only
	 * here: hierarchy 0, "")
	 */
	{
		static struct crib_cgroup r;
		struct cr_eng_cgroup out;
		static const uint8_t names[] = { 1, 'b', 3, 'a', '.', 'x' };

		memset(&r, 0, sizeof(r));
		r.nr = 1;
		r.h[0].len = sizeof(names);
		memcpy(r.names, names, sizeof(names));
		crib_cgroup_raw.begin();
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_cgroup_raw.size == sizeof(r) && crib_cgroup_raw.convert(40, &r, sizeof(r), &out) == 0 && out.text &&
			      !strcmp(out.text, "0::/a.x/b\n") && out.len == 10,
		      "cgroup raw record: the text /proc would give");
		crib_cgroup_release(&out);
		CHECK(crib_cgroup_raw.convert(41, &r, sizeof(r), &out) == 0 && out.text && !strcmp(out.text, "0::/a.x/b\n"),
		      "cgroup raw record: the same record again, the same text");
		crib_cgroup_release(&out);
		r.h[0].flags = CRIB_CGROUP_DEAD;
		CHECK(crib_cgroup_raw.convert(40, &r, sizeof(r), &out) == 0 && out.text && !strcmp(out.text, "0::/a.x/b (deleted)\n"),
		      "cgroup raw record: a dead cgroup of the default hierarchy");
		crib_cgroup_release(&out);
		r.h[0].flags = 0;
		r.names[2] = 9; /* runs past the hierarchy's bytes */
		memset(&out, 0xab, sizeof(out));
		CHECK(crib_cgroup_raw.convert(40, &r, sizeof(r), &out) == -EPROTO && untouched(&out, sizeof(out)),
		      "cgroup raw record: a component past its hierarchy's names");
		r.names[2] = 3;
		r.flags = CRIB_CGROUP_TRUNCATED;
		CHECK(crib_cgroup_raw.convert(40, &r, sizeof(r), &out) == -ENOTSUP && untouched(&out, sizeof(out)),
		      "cgroup raw record: truncated, procfs reads it");
		r.flags = 0;
		r.h[0].hierarchy_id = 1000000; /* not in /proc/self/cgroup */
		CHECK(crib_cgroup_raw.convert(40, &r, sizeof(r), &out) == -ENOTSUP && untouched(&out, sizeof(out)),
		      "cgroup raw record: a hierarchy this process does not see");
	}
}
