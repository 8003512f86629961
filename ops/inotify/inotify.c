// SPDX-License-Identifier: LGPL-2.1
/*
 * inotify.c: op inotify in crib.so, the engine's crib.Inotify
 * (inotify.proto) checked and turned into struct cr_eng_inotify: the fds
 * and their watches, in one allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "inotify.pb-c.h"

/* the watches one record lists at most: CRIB_INOTIFY_MAX_WDS of inotify.h */
#define INOTIFY_MAX_WDS 256

int crib_inotify_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_INOTIFY);
	struct cr_eng_inotify *in = out;
	struct cr_eng_inotify_wd *wds;
	struct cr_eng_inotify_fd *fds = NULL;
	Crib__Inotify *m;
	size_t i, j, n = 0;
	int ret = -EPROTO;

	m = crib__inotify__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the Inotify record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__InotifyFd *f = m->fd[i];

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		/* an fd the engine could not list whole comes without watches */
		if (f->n_wd > INOTIFY_MAX_WDS || (!f->all && f->n_wd)) {
			crib_bad_answer(what, pid, "fd %d: %zu watches, %s", f->fd, f->n_wd, f->all ? "all" : "not all");
			goto out;
		}
		for (j = 0; j < f->n_wd; j++) {
			const Crib__InotifyWatch *w = f->wd[j];

			if (w->wd <= 0 || !w->fh.len || w->fh.len > sizeof(((struct cr_eng_inotify_wd *)0)->fh)) {
				crib_bad_answer(what, pid, "fd %d: watch %zu: wd %d with a handle of %zu bytes", f->fd, j,
						w->wd, w->fh.len);
				goto out;
			}
		}
		n += f->n_wd;
	}
	if (m->n_fd) {
		fds = calloc(1, m->n_fd * sizeof(*fds) + n * sizeof(*wds));
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* the fds are 16 bytes each: the watches after them are aligned */
	wds = fds ? (struct cr_eng_inotify_wd *)(fds + m->n_fd) : NULL;
	for (i = 0, n = 0; i < m->n_fd; i++) {
		const Crib__InotifyFd *f = m->fd[i];

		fds[i].fd = f->fd;
		fds[i].first = n;
		if (!f->all) {
			/* CRIU reads the fdinfo */
			fds[i].nr_wds = CR_ENG_INOTIFY_WDS_UNKNOWN;
			continue;
		}
		fds[i].nr_wds = f->n_wd;
		for (j = 0; j < f->n_wd; j++, n++) {
			const Crib__InotifyWatch *w = f->wd[j];

			wds[n].wd = w->wd;
			wds[n].mask = w->mask;
			wds[n].ino = w->ino;
			wds[n].sdev = w->sdev;
			wds[n].ignored_mask = w->ignored_mask;
			wds[n].fh_type = w->fh_type;
			wds[n].fh_bytes = w->fh.len;
			memcpy(wds[n].fh, w->fh.data, w->fh.len);
		}
	}
	memset(in, 0, sizeof(*in));
	in->nr = m->n_fd;
	in->nr_wds = n;
	in->fds = fds;
	in->wds = n ? wds : NULL;
	ret = 0;
out:
	crib__inotify__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_inotify_release(void *rec)
{
	struct cr_eng_inotify *in = rec;

	free(in->fds);
	memset(in, 0, sizeof(*in));
}
