// SPDX-License-Identifier: LGPL-2.1
/*
 * auxv.c: op auxv in crib.so, the engine's crib.Auxv (auxv.proto) checked
 * and turned into struct cr_eng_auxv.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "auxv.pb-c.h"

int crib_auxv_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_AUXV);
	struct cr_eng_auxv *av = out;
	Crib__Auxv *m;
	int ret = 0;

	m = crib__auxv__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the Auxv record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	/* pairs, the last one AT_NULL (or none at all: no mm) */
	if (m->n_word > CR_ENG_AUXV_MAX || m->n_word % 2 ||
	    (m->n_word && (m->word[m->n_word - 2] != 0 || m->word[m->n_word - 1] != 0))) {
		crib_bad_answer(what, pid, "%zu words (at most %d pairs, the last AT_NULL)", m->n_word,
				CR_ENG_AUXV_MAX / 2);
		ret = -EPROTO;
		goto out;
	}
	memset(av, 0, sizeof(*av));
	av->nr = m->n_word;
	memcpy(av->word, m->word, m->n_word * sizeof(av->word[0]));
out:
	crib__auxv__free_unpacked(m, NULL);
	return ret;
}
