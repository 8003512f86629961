// SPDX-License-Identifier: LGPL-2.1
/*
 * taskfs.c: op taskfs in crib.so, the engine's crib.TaskFs (taskfs.proto)
 * checked and turned into struct cr_eng_taskfs: the three paths in one
 * allocation the caller frees (taskfs.paths).  Or a record of its
 * iterator or of the tree pass of every per-task op, read by crib.so
 * itself (taskfs.h, direct.c), whose paths are put together here as the
 * engine's taskfs.ts does: named from CRIU's root, the reader's.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "../../bpf/crib.h"
#include "taskfs.h"
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

/* What stat(), fdinfo and statfs() say of a file, into @d (the rest zeroed) */
static void put_stat(struct cr_eng_taskfs_file *d, uint32_t mode, uint32_t major, uint32_t minor, int32_t mnt_id,
		     uint64_t ino, uint64_t magic)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->dev_major = major;
	d->dev_minor = minor;
	d->mnt_id = mnt_id;
	d->ino = ino;
	d->fs_magic = magic;
}

static void put_file(struct cr_eng_taskfs_file *d, const Crib__TaskFsFile *f, char **at)
{
	put_stat(d, f->mode, f->dev_major, f->dev_minor, f->mnt_id, f->ino, f->magic);
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

/* " (deleted)": what d_path() adds for an unlinked dentry */
static const char deleted[] = " (deleted)";

/*
 * File @i of record @r: its path from @n bytes of components at @c (leaf
 * first, a length byte each) into @d, at *at; 0 or -EPROTO
 */
static int raw_file(pid_t pid, const struct crib_taskfs_file *f, const uint8_t *c, uint32_t n, const char *name,
		    struct cr_eng_taskfs_file *d, char **at)
{
	const char *what = crib_op_name(CR_ENGINE_OP_TASKFS);
	uint32_t parts[PATH_MAX / 2], np = 0, p;
	size_t len = 0;
	char *o;

	if (f->err > 0 || (f->err < 0 && n) || f->flags & ~CRIB_TASKFS_DELETED || (f->err == -ENOENT && f->mnt_id) ||
	    f->dev_major >= (1u << 12) || f->dev_minor >= (1u << 20)) {
		crib_bad_answer(what, pid, "%s: err %d, %u bytes of path, flags %#x, mount %d", name, f->err, n, f->flags,
				f->mnt_id);
		return -EPROTO;
	}
	put_stat(d, f->mode, f->dev_major, f->dev_minor, f->mnt_id, f->ino, f->magic);
	if (f->err) {
		d->err = f->err;
		return 0;
	}
	for (p = 0; p < n; p += 1 + c[p]) {
		if (!c[p] || p + 1 + c[p] > n || np == sizeof(parts) / sizeof(parts[0])) {
			crib_bad_answer(what, pid, "%s: a path component of %u bytes at %u of %u", name, c[p], p, n);
			return -EPROTO;
		}
		parts[np++] = p;
		len += 1 + c[p];
	}
	len = (len ?: 1) + (f->flags & CRIB_TASKFS_DELETED ? sizeof(deleted) - 1 : 0);
	if (len >= PATH_MAX) {
		d->err = -ENAMETOOLONG; /* CRIU reads the link itself */
		return 0;
	}
	o = *at;
	if (!np)
		*o++ = '/';
	while (np-- > 0) {
		p = parts[np];
		*o++ = '/';
		memcpy(o, c + p + 1, c[p]);
		o += c[p];
	}
	if (f->flags & CRIB_TASKFS_DELETED) {
		memcpy(o, deleted, sizeof(deleted) - 1);
		o += sizeof(deleted) - 1;
	}
	*o = 0;
	if (memchr(*at, 0, len)) {
		crib_bad_answer(what, pid, "%s: a NUL in the path", name);
		return -EPROTO;
	}
	d->path = *at;
	d->path_len = len;
	*at = o + 1;
	return 0;
}

/* A record of the iterator (direct.c): struct crib_taskfs, then the three files' components */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	static const char *const names[CRIB_TASKFS_NR] = { "exe", "cwd", "root" };
	const struct crib_taskfs *r = rec;
	const uint8_t *c = (const uint8_t *)(r + 1);
	struct cr_eng_taskfs tf = {};
	size_t comp = 0, room;
	char *paths, *at;
	int i, ret = 0;

	for (i = 0; i < CRIB_TASKFS_NR; i++)
		comp += r->f[i].path_len;
	if (len < sizeof(*r) || r->pid != pid || comp > len - sizeof(*r)) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TASKFS), pid, "a record of %zu bytes, for pid %d, %zu bytes of paths",
				len, len >= sizeof(*r) ? r->pid : 0, comp);
		return -EPROTO;
	}
	/* each path: its components with a '/' for each length byte, " (deleted)", a NUL */
	room = comp + CRIB_TASKFS_NR * (1 + sizeof(deleted));
	paths = at = malloc(room);
	if (!paths)
		return -ENOMEM;
	for (i = 0; i < CRIB_TASKFS_NR && !ret; i++) {
		struct cr_eng_taskfs_file *d = i == CRIB_TASKFS_EXE ? &tf.exe : i == CRIB_TASKFS_CWD ? &tf.cwd : &tf.root;

		ret = raw_file(pid, &r->f[i], c, r->f[i].path_len, names[i], d, &at);
		c += r->f[i].path_len;
	}
	if (ret) {
		free(paths);
		return ret;
	}
	tf.paths = paths;
	*(struct cr_eng_taskfs *)out = tf;
	return 0;
}

/* A record of the tree pass (direct.c): struct crib_taskfs, each file's components in a room of its own */
static int from_tree(pid_t pid, const void *rec, size_t len, void *out)
{
	const struct crib_taskfs_tree_rec *r = rec;
	uint8_t flat[sizeof(r->t) + sizeof(r->names)];
	size_t at = sizeof(r->t);
	int i;

	if (len != sizeof(*r)) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_TASKFS), pid, "a tree record of %zu bytes, %zu expected", len,
				sizeof(*r));
		return -EPROTO;
	}
	/* the iterator's layout: the record, then the components one file after the other */
	memcpy(flat, &r->t, sizeof(r->t));
	for (i = 0; i < CRIB_TASKFS_NR; i++) {
		if (r->t.f[i].path_len > CRIB_TASKFS_ROOM) {
			crib_bad_answer(crib_op_name(CR_ENGINE_OP_TASKFS), pid, "%u bytes of components in a room of %d",
					r->t.f[i].path_len, CRIB_TASKFS_ROOM);
			return -EPROTO;
		}
		memcpy(flat + at, r->names[i], r->t.f[i].path_len);
		at += r->t.f[i].path_len;
	}
	return from_raw(pid, flat, at, out);
}

const struct crib_raw_op crib_taskfs_raw = {
	.size = sizeof(struct crib_taskfs_tree_rec),
	.convert = from_tree,
	.stream_size = sizeof(struct crib_taskfs),
	.stream_convert = from_raw,
};
