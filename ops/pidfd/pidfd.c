// SPDX-License-Identifier: LGPL-2.1
/*
 * pidfd.c: op pidfd in crib.so, the engine's crib.Pidfd (pidfd.proto)
 * checked and turned into struct cr_eng_pidfd: the fds, in one
 * allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "pidfd.pb-c.h"

int crib_pidfd_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_PIDFD);
	struct cr_eng_pidfd *pf = out;
	struct cr_eng_pidfd_fd *fds = NULL;
	Crib__Pidfd *m;
	size_t i;
	int ret = -EPROTO;

	m = crib__pidfd__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the Pidfd record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__PidfdFd *f = m->fd[i];

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		/* a process CRIU sees has a number in its own namespace too; else both say why not */
		if (f->nr < -1 || (f->nr > 0 ? f->ns_nr <= 0 : f->ns_nr != f->nr)) {
			crib_bad_answer(what, pid, "fd %d: pid %d, %d in its own namespace", f->fd, f->nr, f->ns_nr);
			goto out;
		}
	}
	if (m->n_fd) {
		fds = calloc(m->n_fd, sizeof(*fds));
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < m->n_fd; i++) {
		fds[i].fd = m->fd[i]->fd;
		fds[i].nr = m->fd[i]->nr;
		fds[i].ns_nr = m->fd[i]->ns_nr;
		fds[i].ino = m->fd[i]->ino;
	}
	memset(pf, 0, sizeof(*pf));
	pf->nr = m->n_fd;
	pf->fds = fds;
	ret = 0;
out:
	crib__pidfd__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_pidfd_release(void *rec)
{
	struct cr_eng_pidfd *pf = rec;

	free(pf->fds);
	memset(pf, 0, sizeof(*pf));
}
