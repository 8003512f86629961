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
#include "auxv.h"
#include "auxv.pb-c.h"

/* The @n words of a message, checked, into @av: 0 or -EPROTO */
static int fill(pid_t pid, const uint64_t *word, size_t n, struct cr_eng_auxv *av)
{
	/* pairs, the last one AT_NULL (or none at all: no mm) */
	if (n > CR_ENG_AUXV_MAX || n % 2 || (n && (word[n - 2] != 0 || word[n - 1] != 0))) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_AUXV), pid, "%zu words (at most %d pairs, the last AT_NULL)", n,
				CR_ENG_AUXV_MAX / 2);
		return -EPROTO;
	}
	memset(av, 0, sizeof(*av));
	av->nr = n;
	memcpy(av->word, word, n * sizeof(av->word[0]));
	return 0;
}

int crib_auxv_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	Crib__Auxv *m;
	int ret;

	m = crib__auxv__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_AUXV), pid, "the Auxv record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	ret = fill(pid, m->word, m->n_word, out);
	crib__auxv__free_unpacked(m, NULL);
	return ret;
}

/*
 * A record of the tree pass (direct.c): its nr words hold the vector and
 * what follows it in mm->saved_auxv; /proc prints up to the AT_NULL pair.
 */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	const struct crib_auxv *r = rec;
	uint64_t word[CRIB_AUXV_MAX];
	uint32_t i;

	if (r->nr > CRIB_AUXV_MAX || r->nr % 2) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_AUXV), pid, "nr %u (at most %d, even)", r->nr, CRIB_AUXV_MAX);
		return -EPROTO;
	}
	/* __u64 is not uint64_t's type: copied, not cast */
	for (i = 0; i < r->nr; i += 2) {
		word[i] = r->word[i];
		word[i + 1] = r->word[i + 1];
		if (!word[i])
			return fill(pid, word, i + 2, out);
	}
	if (r->nr) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_AUXV), pid, "no AT_NULL in %u words", r->nr);
		return -EPROTO;
	}
	return fill(pid, word, 0, out); /* no mm: /proc/PID/auxv is empty */
}

const struct crib_raw_op crib_auxv_raw = { .size = sizeof(struct crib_auxv), .convert = from_raw };
