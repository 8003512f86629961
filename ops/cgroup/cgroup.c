// SPDX-License-Identifier: LGPL-2.1
/*
 * cgroup.c: op cgroup in crib.so, the engine's crib.Cgroup (cgroup.proto)
 * checked and turned into struct cr_eng_cgroup: the text of
 * /proc/PID/task/TID/cgroup in an allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "cgroup.pb-c.h"

/* Each line "ID:CONTROLLERS:/PATH\n" */
static bool lines_ok(const char *t, size_t len)
{
	const char *end = t + len, *nl, *c1, *c2;

	for (; t < end; t = nl + 1) {
		nl = memchr(t, '\n', end - t);
		if (!nl || t == nl || *t < '0' || *t > '9')
			return false;
		c1 = memchr(t, ':', nl - t);
		c2 = c1 ? memchr(c1 + 1, ':', nl - c1 - 1) : NULL;
		if (!c2 || c2 + 1 == nl || c2[1] != '/')
			return false;
	}
	return true;
}

int crib_cgroup_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	struct cr_eng_cgroup *cg = out;
	Crib__Cgroup *m;
	size_t n;
	char *text;

	m = crib__cgroup__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_CGROUP), pid, "the Cgroup record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	n = strlen(m->text);
	if (n >= CR_ENG_CGROUP_TEXT_MAX || !lines_ok(m->text, n)) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_CGROUP), pid, "a text of %zu bytes that is not /proc/PID/cgroup's", n);
		crib__cgroup__free_unpacked(m, NULL);
		return -EPROTO;
	}
	text = malloc(n + 1);
	if (!text) {
		crib__cgroup__free_unpacked(m, NULL);
		return -ENOMEM;
	}
	memcpy(text, m->text, n + 1);
	memset(cg, 0, sizeof(*cg));
	cg->text = text;
	cg->len = n;
	crib__cgroup__free_unpacked(m, NULL);
	return 0;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_cgroup_release(void *rec)
{
	struct cr_eng_cgroup *cg = rec;

	free(cg->text);
	cg->text = NULL;
}
