// SPDX-License-Identifier: LGPL-2.1
/*
 * mountinfo.c: op mountinfo in crib.so, the engine's crib.MountInfo
 * (mountinfo.proto) checked and turned into struct cr_eng_mountinfo: the
 * text of /proc/PID/mountinfo in an allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "mountinfo.pb-c.h"

/* Each line "ID PARENT MAJ:MIN ROOT POINT OPTS... - TYPE SOURCE SUPER\n", with no NUL */
static bool lines_ok(const uint8_t *t, size_t len)
{
	const uint8_t *end = t + len, *nl;

	if (memchr(t, 0, len))
		return false;
	for (; t < end; t = nl + 1) {
		nl = memchr(t, '\n', end - t);
		if (!nl || *t < '0' || *t > '9' || !memmem(t, nl - t, " - ", 3))
			return false;
	}
	return true;
}

int crib_mountinfo_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	struct cr_eng_mountinfo *mi = out;
	Crib__MountInfo *m;
	char *text;
	size_t n;

	m = crib__mount_info__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_MOUNTINFO), pid, "the MountInfo record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	n = m->text.len;
	if (!n || n >= CR_ENG_MOUNTINFO_TEXT_MAX || !lines_ok(m->text.data, n)) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_MOUNTINFO), pid, "a text of %zu bytes that is not /proc/PID/mountinfo's", n);
		crib__mount_info__free_unpacked(m, NULL);
		return -EPROTO;
	}
	text = malloc(n + 1);
	if (!text) {
		crib__mount_info__free_unpacked(m, NULL);
		return -ENOMEM;
	}
	memcpy(text, m->text.data, n);
	text[n] = '\0';
	memset(mi, 0, sizeof(*mi));
	mi->text = text;
	mi->len = n;
	crib__mount_info__free_unpacked(m, NULL);
	return 0;
}

void crib_mountinfo_release(void *rec)
{
	struct cr_eng_mountinfo *mi = rec;

	free(mi->text);
	mi->text = NULL;
}
