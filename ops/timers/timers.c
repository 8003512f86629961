// SPDX-License-Identifier: LGPL-2.1
/*
 * timers.c: op timers in crib.so, the engine's crib.Timers (timers.proto)
 * checked and turned into struct cr_eng_timers.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "timers.h"
#include "timers.pb-c.h"

int crib_timers_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	struct cr_eng_timers *t = out;
	Crib__Timers *m;

	m = crib__timers__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TIMERS), pid, "the Timers record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	memset(t, 0, sizeof(*t));
	t->any = m->any;
	crib__timers__free_unpacked(m, NULL);
	return 0;
}

/* A record of the tree pass (direct.c): any is 0 or 1 */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	const struct crib_timers *r = rec;
	struct cr_eng_timers *t = out;

	if (r->any > 1) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TIMERS), pid, "any is %u", r->any);
		return -EPROTO;
	}
	memset(t, 0, sizeof(*t));
	t->any = r->any;
	return 0;
}

const struct crib_raw_op crib_timers_raw = { .size = sizeof(struct crib_timers), .convert = from_raw };
