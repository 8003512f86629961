// SPDX-License-Identifier: LGPL-2.1
/*
 * taskfs.c: op taskfs in crib.so, the engine's crib.TaskFs (taskfs.proto)
 * checked and turned into struct cr_eng_taskfs: the three paths in one
 * allocation the caller frees (taskfs.paths).
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "taskfs.pb-c.h"

/* One file's message checked; its path's bytes added to *names */
static int check_file(pid_t pid, const char *name, const Crib__TaskFsFile *f, size_t *names)
{
	const char *what = crib_op_name(CR_ENGINE_OP_TASKFS);
	int err = f->has_err ? f->err : 0;

	if (f->has_path == (err != 0) || err > 0 ||
	    (f->has_path && (!f->path.len || f->path.len >= PATH_MAX || f->path.data[0] != '/' ||
			     memchr(f->path.data, 0, f->path.len)))) {
		crib_bad_answer(what, pid, "%s: a path of %zu bytes and err %d", name, f->has_path ? f->path.len : 0, err);
		return -EPROTO;
	}
	if (f->dev_major >= (1u << 12) || f->dev_minor >= (1u << 20) || (err == -ENOENT && (f->mode || f->mnt_id))) {
		crib_bad_answer(what, pid, "%s: device %u:%u, mode %o, mount %d", name, f->dev_major, f->dev_minor,
				f->mode, f->mnt_id);
		return -EPROTO;
	}
	if (f->has_path)
		*names += f->path.len + 1;
	return 0;
}

static void put_file(struct cr_eng_taskfs_file *d, const Crib__TaskFsFile *f, char **at)
{
	memset(d, 0, sizeof(*d));
	d->mode = f->mode;
	d->dev_major = f->dev_major;
	d->dev_minor = f->dev_minor;
	d->mnt_id = f->mnt_id;
	d->ino = f->ino;
	d->fs_magic = f->magic;
	if (!f->has_path) {
		d->err = f->err;
		return;
	}
	memcpy(*at, f->path.data, f->path.len);
	(*at)[f->path.len] = 0;
	d->path = *at;
	d->path_len = f->path.len;
	*at += f->path.len + 1;
}

int crib_taskfs_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	struct cr_eng_taskfs *tf = out;
	size_t names = 0;
	char *paths = NULL, *at;
	Crib__TaskFs *m;
	int ret;

	m = crib__task_fs__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TASKFS), pid, "the TaskFs record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	ret = check_file(pid, "exe", m->exe, &names);
	if (!ret)
		ret = check_file(pid, "cwd", m->cwd, &names);
	if (!ret)
		ret = check_file(pid, "root", m->root, &names);
	if (ret)
		goto out;
	if (names) {
		paths = malloc(names);
		if (!paths) {
			ret = -ENOMEM;
			goto out;
		}
	}
	at = paths;
	put_file(&tf->exe, m->exe, &at);
	put_file(&tf->cwd, m->cwd, &at);
	put_file(&tf->root, m->root, &at);
	tf->paths = paths;
out:
	crib__task_fs__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_taskfs_release(void *rec)
{
	struct cr_eng_taskfs *tf = rec;

	free(tf->paths);
	tf->paths = NULL;
}
