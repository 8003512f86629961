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
#include "nsids.pb-c.h"

int crib_nsids_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_NSIDS);
	struct cr_eng_nsids *ns = out;
	Crib__NsIds *m;
	int ret = 0;

	m = crib__ns_ids__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the NsIds record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	/* pid, user, net, ipc, uts and mnt namespaces exist in every kernel CRIU runs on */
	if (m->n_kid != CR_ENG_NS__MAX || !m->kid[CR_ENG_NS_PID] || !m->kid[CR_ENG_NS_USER] || !m->kid[CR_ENG_NS_NET] ||
	    !m->kid[CR_ENG_NS_IPC] || !m->kid[CR_ENG_NS_UTS] || !m->kid[CR_ENG_NS_MNT]) {
		crib_bad_answer(what, pid, "%zu namespaces (%d expected), or one CRIU needs is missing", m->n_kid,
				CR_ENG_NS__MAX);
		ret = -EPROTO;
		goto out;
	}
	memset(ns, 0, sizeof(*ns));
	memcpy(ns->kid, m->kid, sizeof(ns->kid));
out:
	crib__ns_ids__free_unpacked(m, NULL);
	return ret;
}
