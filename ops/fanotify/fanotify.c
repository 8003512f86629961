// SPDX-License-Identifier: LGPL-2.1
/*
 * fanotify.c: op fanotify in crib.so, the engine's crib.Fanotify
 * (fanotify.proto) checked and turned into struct cr_eng_fanotify: the fds
 * and their marks, in one allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "fanotify.pb-c.h"

/* the marks one record lists at most: CRIB_FANOTIFY_MAX_MARKS of fanotify.h */
#define FANOTIFY_MAX_MARKS 256

/* A mark fits its type: an inode mark has its inode and handle and no mount, a mount mark only its mount */
static bool mark_ok(const Crib__FanotifyMark *k)
{
	if (k->type == CR_ENG_FANOTIFY_MARK_INODE)
		return k->has_ino && k->has_sdev && k->has_fh_type && k->has_fh && k->fh.len &&
		       k->fh.len <= sizeof(((struct cr_eng_fanotify_mark *)0)->fh) && !k->has_mnt_id;
	if (k->type == CR_ENG_FANOTIFY_MARK_MOUNT)
		return k->has_mnt_id && !k->has_ino && !k->has_sdev && !k->has_fh_type && !k->has_fh;
	return false;
}

int crib_fanotify_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_FANOTIFY);
	struct cr_eng_fanotify *fa = out;
	struct cr_eng_fanotify_mark *marks;
	struct cr_eng_fanotify_fd *fds = NULL;
	Crib__Fanotify *m;
	size_t i, j, n = 0;
	int ret = -EPROTO;

	m = crib__fanotify__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the Fanotify record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__FanotifyFd *f = m->fd[i];

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		/* an fd the engine could not list whole comes without marks */
		if (f->n_mark > FANOTIFY_MAX_MARKS || (!f->all && f->n_mark)) {
			crib_bad_answer(what, pid, "fd %d: %zu marks, %s", f->fd, f->n_mark, f->all ? "all" : "not all");
			goto out;
		}
		for (j = 0; j < f->n_mark; j++) {
			if (!mark_ok(f->mark[j])) {
				crib_bad_answer(what, pid, "fd %d: mark %zu of type %u does not fit its type", f->fd, j,
						f->mark[j]->type);
				goto out;
			}
		}
		n += f->n_mark;
	}
	if (m->n_fd) {
		fds = calloc(1, m->n_fd * sizeof(*fds) + n * sizeof(*marks));
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/* the fds are 24 bytes each and the marks start 8-aligned after them */
	marks = fds ? (struct cr_eng_fanotify_mark *)(fds + m->n_fd) : NULL;
	for (i = 0, n = 0; i < m->n_fd; i++) {
		const Crib__FanotifyFd *f = m->fd[i];

		fds[i].fd = f->fd;
		fds[i].fa_flags = f->fa_flags;
		fds[i].ev_flags = f->ev_flags;
		fds[i].first = n;
		if (!f->all) {
			/* CRIU reads the fdinfo */
			fds[i].nr_marks = CR_ENG_FANOTIFY_MARKS_UNKNOWN;
			continue;
		}
		fds[i].nr_marks = f->n_mark;
		for (j = 0; j < f->n_mark; j++, n++) {
			const Crib__FanotifyMark *k = f->mark[j];

			marks[n].type = k->type;
			marks[n].mflags = k->mflags;
			marks[n].mask = k->mask;
			marks[n].ignored_mask = k->ignored_mask;
			marks[n].ino = k->ino;
			marks[n].sdev = k->sdev;
			marks[n].mnt_id = k->mnt_id;
			marks[n].fh_type = k->fh_type;
			marks[n].fh_bytes = k->fh.len;
			if (k->fh.len)
				memcpy(marks[n].fh, k->fh.data, k->fh.len);
		}
	}
	memset(fa, 0, sizeof(*fa));
	fa->nr = m->n_fd;
	fa->nr_marks = n;
	fa->fds = fds;
	fa->marks = n ? marks : NULL;
	ret = 0;
out:
	crib__fanotify__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_fanotify_release(void *rec)
{
	struct cr_eng_fanotify *fa = rec;

	free(fa->fds);
	memset(fa, 0, sizeof(*fa));
}
