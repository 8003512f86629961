// SPDX-License-Identifier: LGPL-2.1
/*
 * fdmeta.c: op fdmeta in crib.so, the engine's crib.FdMeta (fdmeta.proto)
 * checked and turned into struct cr_eng_fdmeta: the fds, then their
 * paths, in one allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "fdmeta.pb-c.h"

int crib_fdmeta_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_FDMETA);
	struct cr_eng_fdmeta *fm = out;
	struct cr_eng_fd *fds = NULL;
	size_t i, names = 0;
	char *at;
	Crib__FdMeta *m;
	int ret = -EPROTO;

	m = crib__fd_meta__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the FdMeta record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__FdMetaFd *f = m->fd[i];

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		if (f->has_path == (f->has_path_err && f->path_err) || (f->has_path_err && f->path_err > 0) ||
		    (f->has_path && (f->path.len >= PATH_MAX || memchr(f->path.data, 0, f->path.len)))) {
			crib_bad_answer(what, pid, "fd %d: a path of %zu bytes and path_err %d", f->fd,
					f->has_path ? f->path.len : 0, f->has_path_err ? f->path_err : 0);
			goto out;
		}
		if (f->dev_major >= (1u << 12) || f->dev_minor >= (1u << 20)) {
			crib_bad_answer(what, pid, "fd %d: device %u:%u", f->fd, f->dev_major, f->dev_minor);
			goto out;
		}
		if (f->has_path)
			names += f->path.len + 1;
	}
	if (m->n_fd) {
		fds = malloc(m->n_fd * sizeof(*fds) + names);
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	at = (char *)(fds + m->n_fd);
	for (i = 0; i < m->n_fd; i++) {
		const Crib__FdMetaFd *f = m->fd[i];
		struct cr_eng_fd *d = &fds[i];

		memset(d, 0, sizeof(*d));
		d->fd = f->fd;
		d->mode = f->mode;
		d->ino = f->ino;
		d->dev_major = f->dev_major;
		d->dev_minor = f->dev_minor;
		d->fs_magic = f->magic;
		d->file_key = f->has_file_key ? f->file_key : 0;
		if (f->has_path) {
			memcpy(at, f->path.data, f->path.len);
			at[f->path.len] = 0;
			d->path = at;
			d->path_len = f->path.len;
			at += f->path.len + 1;
		} else {
			d->path_err = f->path_err;
		}
	}
	memset(fm, 0, sizeof(*fm));
	fm->nr = m->n_fd;
	fm->fds = fds;
	ret = 0;
out:
	crib__fd_meta__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_fdmeta_release(void *rec)
{
	struct cr_eng_fdmeta *fm = rec;

	free(fm->fds);
	fm->fds = NULL;
	fm->nr = 0;
}
