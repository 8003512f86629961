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
