// SPDX-License-Identifier: LGPL-2.1
/*
 * epoll.c: op epoll in crib.so, the engine's crib.Epoll (epoll.proto)
 * checked and turned into struct cr_eng_epoll: the fds and their
 * targets, in one allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "epoll.pb-c.h"

/* the targets one record lists at most: CRIB_EPOLL_MAX_TFDS of epoll.h */
#define EPOLL_MAX_TFDS 512

int crib_epoll_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_EPOLL);
	struct cr_eng_epoll *ep = out;
	struct cr_eng_epoll_tfd *tfds;
	struct cr_eng_epoll_fd *fds = NULL;
	Crib__Epoll *m;
	size_t i, j, n = 0;
	int ret = -EPROTO;

	m = crib__epoll__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the Epoll record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__EpollFd *f = m->fd[i];

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		if (f->n_tfd > EPOLL_MAX_TFDS || (!f->all && f->n_tfd != EPOLL_MAX_TFDS)) {
			crib_bad_answer(what, pid, "fd %d: %zu targets, %s", f->fd, f->n_tfd, f->all ? "all" : "not all");
			goto out;
		}
		for (j = 0; j < f->n_tfd; j++) {
			if (f->tfd[j]->tfd < 0) {
				crib_bad_answer(what, pid, "fd %d: target %zu: tfd %d", f->fd, j, f->tfd[j]->tfd);
				goto out;
			}
		}
		if (f->all)
			n += f->n_tfd;
	}
	if (m->n_fd) {
		fds = calloc(1, m->n_fd * sizeof(*fds) + n * sizeof(*tfds));
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* the fds are 16 bytes each: the targets after them are aligned */
	tfds = fds ? (struct cr_eng_epoll_tfd *)(fds + m->n_fd) : NULL;
	for (i = 0, n = 0; i < m->n_fd; i++) {
		const Crib__EpollFd *f = m->fd[i];

		fds[i].fd = f->fd;
		fds[i].first = n;
		if (!f->all) {
			/* more than the engine lists: CRIU reads the fdinfo, none are kept */
			fds[i].nr_tfds = CR_ENG_EPOLL_TFDS_UNKNOWN;
			continue;
		}
		fds[i].nr_tfds = f->n_tfd;
		for (j = 0; j < f->n_tfd; j++, n++) {
			tfds[n].tfd = f->tfd[j]->tfd;
			tfds[n].events = f->tfd[j]->events;
			tfds[n].data = f->tfd[j]->data;
			tfds[n].pos = f->tfd[j]->pos;
			tfds[n].ino = f->tfd[j]->ino;
			tfds[n].sdev = f->tfd[j]->sdev;
		}
	}
	memset(ep, 0, sizeof(*ep));
	ep->nr = m->n_fd;
	ep->nr_tfds = n;
	ep->fds = fds;
	ep->tfds = n ? tfds : NULL;
	ret = 0;
out:
	crib__epoll__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_epoll_release(void *rec)
{
	struct cr_eng_epoll *ep = rec;

	free(ep->fds);
	memset(ep, 0, sizeof(*ep));
}
