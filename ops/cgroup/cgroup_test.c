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
}
