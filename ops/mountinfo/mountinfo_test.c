// SPDX-License-Identifier: LGPL-2.1
/*
 * mountinfo_test.c: the checks of mountinfo.c (the plugin's converter)
 * against canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "mountinfo.pb-c.h"

static void mountinfo_answer(const char *text, size_t len)
{
	static uint8_t msg[1024];
	Crib__Response r = CRIB__RESPONSE__INIT;
	Crib__MountInfo mi = CRIB__MOUNT_INFO__INIT;

	mi.text.data = (uint8_t *)text;
	mi.text.len = len;
	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__mount_info__pack(&mi, msg);
	r.record.data = msg;
	answer(&r);
}

void test_mountinfo(void)
{
	static const char good[] = "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
				   "23 22 0:5 / /a\\040b rw master:1 propagate_from:2 - tmpfs x rw,size=1024k\n";
	static const char *bad[] = { "22 1 0:21 / / rw - ext4 /dev/vda rw", "x 1 0:21 / / rw - ext4 a rw\n",
				     "22 1 0:21 / / rw ext4 a rw\n", "\n", "" };
	struct cr_eng_mountinfo mi;
	unsigned int i;

	mountinfo_answer(good, strlen(good));
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_MOUNTINFO, 90, &mi) == 0 && calls == 1 && mi.text && !strcmp(mi.text, good) &&
		      mi.len == strlen(good) && mi.reserved == 0,
	      "mountinfo: two mounts, one OpReq, the text as sent");
	free(mi.text);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mountinfo_answer(bad[i], strlen(bad[i]));
		memset(&mi, 0xab, sizeof(mi));
		CHECK(crib_op_get(CR_ENGINE_OP_MOUNTINFO, 90, &mi) == -EPROTO && untouched(&mi, sizeof(mi)),
		      "mountinfo: a text that is not /proc/PID/mountinfo's");
	}
	mountinfo_answer("22 1 0:21 / / rw - ext4 a\0b rw\n", 32);
	memset(&mi, 0xab, sizeof(mi));
	CHECK(crib_op_get(CR_ENGINE_OP_MOUNTINFO, 90, &mi) == -EPROTO && untouched(&mi, sizeof(mi)),
	      "mountinfo: a text with a NUL in it");
}
