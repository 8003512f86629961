// SPDX-License-Identifier: LGPL-2.1
/*
 * taskmisc.c: op taskmisc in crib.so, the engine's crib.TaskMisc
 * (taskmisc.proto) checked and turned into struct cr_eng_taskmisc
 * (ops.c calls it for prepare()'s records and for a single answer).
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "taskmisc.pb-c.h"

/* what /proc/PID/oom_score_adj can say (OOM_SCORE_ADJ_MIN/MAX) */
#define OOM_ADJ_MIN (-1000)
#define OOM_ADJ_MAX 1000

static int check(const char *what, pid_t pid, const Crib__TaskMisc *m)
{
	size_t i;

	if (m->have & ~(CR_ENG_TASKMISC_LOGINUID | CR_ENG_TASKMISC_OOM)) {
		crib_bad_answer(what, pid, "unknown bits in have: %#x", m->have);
		return -EPROTO;
	}
	if ((m->have & CR_ENG_TASKMISC_OOM) && (m->oom_score_adj < OOM_ADJ_MIN || m->oom_score_adj > OOM_ADJ_MAX)) {
		crib_bad_answer(what, pid, "oom_score_adj %d", m->oom_score_adj);
		return -EPROTO;
	}
	if (m->n_rlim_cur != m->n_rlim_max || m->n_rlim_cur > CR_ENG_RLIMITS_MAX) {
		crib_bad_answer(what, pid, "%zu rlimit values and %zu maxima (at most %d)", m->n_rlim_cur,
				m->n_rlim_max, CR_ENG_RLIMITS_MAX);
		return -EPROTO;
	}
	/* the kernel keeps cur <= max (do_prlimit() refuses anything else) */
	for (i = 0; i < m->n_rlim_cur; i++) {
		if (m->rlim_cur[i] > m->rlim_max[i]) {
			crib_bad_answer(what, pid, "rlimit %zu: %#llx above its maximum %#llx", i,
					(unsigned long long)m->rlim_cur[i], (unsigned long long)m->rlim_max[i]);
			return -EPROTO;
		}
	}
	return 0;
}

int crib_taskmisc_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_TASKMISC);
	struct cr_eng_taskmisc *tm = out;
	Crib__TaskMisc *m;
	size_t i;
	int ret;

	m = crib__task_misc__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the TaskMisc record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	ret = check(what, pid, m);
	if (ret)
		goto out;

	memset(tm, 0, sizeof(*tm));
	tm->have = m->have;
	tm->personality = m->personality;
	tm->loginuid = m->loginuid;
	tm->oom_score_adj = m->oom_score_adj;
	tm->nr_rlimits = m->n_rlim_cur;
	for (i = 0; i < m->n_rlim_cur; i++) {
		tm->rlimits[i].cur = m->rlim_cur[i];
		tm->rlimits[i].max = m->rlim_max[i];
	}
out:
	crib__task_misc__free_unpacked(m, NULL);
	return ret;
}
