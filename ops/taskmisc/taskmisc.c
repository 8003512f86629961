// SPDX-License-Identifier: LGPL-2.1
/*
 * taskmisc.c: op taskmisc in crib.so, the engine's crib.TaskMisc
 * (taskmisc.proto) checked and turned into struct cr_eng_taskmisc
 * (ops.c calls it for prepare()'s records and for a single answer), or
 * a record of the tree pass crib.so runs itself (taskmisc.h, direct.c).
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "taskmisc.h"
#include "taskmisc.pb-c.h"

/* what /proc/PID/oom_score_adj can say (OOM_SCORE_ADJ_MIN/MAX) */
#define OOM_ADJ_MIN (-1000)
#define OOM_ADJ_MAX 1000

/*
 * The fields of a message or of a BPF record (taskmisc.h), checked, into
 * @tm (untouched unless they are good): 0 or -EPROTO
 */
static int fill(pid_t pid, uint32_t have, uint32_t personality, uint32_t loginuid, int32_t oom, size_t n_cur,
		const uint64_t *cur, size_t n_max, const uint64_t *max, struct cr_eng_taskmisc *tm)
{
	const char *what = crib_op_name(CR_ENGINE_OP_TASKMISC);
	size_t i;

	if (have & ~(CR_ENG_TASKMISC_LOGINUID | CR_ENG_TASKMISC_OOM)) {
		crib_bad_answer(what, pid, "unknown bits in have: %#x", have);
		return -EPROTO;
	}
	if ((have & CR_ENG_TASKMISC_OOM) && (oom < OOM_ADJ_MIN || oom > OOM_ADJ_MAX)) {
		crib_bad_answer(what, pid, "oom_score_adj %d", oom);
		return -EPROTO;
	}
	if (n_cur != n_max || n_cur > CR_ENG_RLIMITS_MAX) {
		crib_bad_answer(what, pid, "%zu rlimit values and %zu maxima (at most %d)", n_cur, n_max,
				CR_ENG_RLIMITS_MAX);
		return -EPROTO;
	}
	/* the kernel keeps cur <= max (do_prlimit() refuses anything else) */
	for (i = 0; i < n_cur; i++) {
		if (cur[i] > max[i]) {
			crib_bad_answer(what, pid, "rlimit %zu: %#llx above its maximum %#llx", i,
					(unsigned long long)cur[i], (unsigned long long)max[i]);
			return -EPROTO;
		}
	}

	memset(tm, 0, sizeof(*tm));
	tm->have = have;
	tm->personality = personality;
	tm->loginuid = loginuid;
	tm->oom_score_adj = oom;
	tm->nr_rlimits = n_cur;
	for (i = 0; i < n_cur; i++) {
		tm->rlimits[i].cur = cur[i];
		tm->rlimits[i].max = max[i];
	}
	return 0;
}

int crib_taskmisc_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	Crib__TaskMisc *m;
	int ret;

	m = crib__task_misc__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TASKMISC), pid, "the TaskMisc record (%zu bytes) does not unpack",
				len);
		return -EPROTO;
	}
	ret = fill(pid, m->have, m->personality, m->loginuid, m->oom_score_adj, m->n_rlim_cur, m->rlim_cur,
		   m->n_rlim_max, m->rlim_max, out);
	crib__task_misc__free_unpacked(m, NULL);
	return ret;
}

/* A record of the tree pass (direct.c) */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	const struct crib_taskmisc *r = rec;
	uint64_t cur[CRIB_RLIMITS], max[CRIB_RLIMITS];
	uint32_t i, n = r->nr_rlimits < CRIB_RLIMITS ? r->nr_rlimits : CRIB_RLIMITS;

	/* __u64 is not uint64_t's type: copied, not cast */
	for (i = 0; i < n; i++) {
		cur[i] = r->rlim_cur[i];
		max[i] = r->rlim_max[i];
	}
	return fill(pid, r->have, r->personality, r->loginuid, r->oom_score_adj, r->nr_rlimits, cur, r->nr_rlimits,
		    max, out);
}

const struct crib_raw_op crib_taskmisc_raw = { .size = sizeof(struct crib_taskmisc), .convert = from_raw };
