// SPDX-License-Identifier: LGPL-2.1
/*
 * nsids.c: op nsids in crib.so, the engine's crib.NsIds (nsids.proto)
 * checked and turned into struct cr_eng_nsids.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "nsids.h"
#include "nsids.pb-c.h"

/* The @n kids of a message or of a BPF record (nsids.h), checked, into @ns: 0 or -EPROTO */
static int fill(pid_t pid, const uint32_t *kid, size_t n, struct cr_eng_nsids *ns)
{
	/* pid, user, net, ipc, uts and mnt namespaces exist in every kernel CRIU runs on */
	if (n != CR_ENG_NS__MAX || !kid[CR_ENG_NS_PID] || !kid[CR_ENG_NS_USER] || !kid[CR_ENG_NS_NET] ||
	    !kid[CR_ENG_NS_IPC] || !kid[CR_ENG_NS_UTS] || !kid[CR_ENG_NS_MNT]) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_NSIDS), pid,
				"%zu namespaces (%d expected), or one CRIU needs is missing", n, CR_ENG_NS__MAX);
		return -EPROTO;
	}
	memset(ns, 0, sizeof(*ns));
	memcpy(ns->kid, kid, sizeof(ns->kid));
	return 0;
}

int crib_nsids_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	Crib__NsIds *m;
	int ret;

	m = crib__ns_ids__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_NSIDS), pid, "the NsIds record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	ret = fill(pid, m->kid, m->n_kid, out);
	crib__ns_ids__free_unpacked(m, NULL);
	return ret;
}

/* A record of the tree pass (direct.c) */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	const struct crib_nsids *r = rec;

	_Static_assert(CRIB_NS_NR == CR_ENG_NS__MAX, "nsids.h and criu-engine.h count namespaces differently");
	return fill(pid, r->kid, CRIB_NS_NR, out);
}

const struct crib_raw_op crib_nsids_raw = { .size = sizeof(struct crib_nsids), .convert = from_raw };
