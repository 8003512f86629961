// SPDX-License-Identifier: LGPL-2.1
/*
 * taskfs_test.c: the checks of taskfs.c (the plugin's converter) against
 * canned answers, run by test/plugin/ops-test.c with its fake shim.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops-test.h"
#include "taskfs.h"
#include "taskfs.pb-c.h"

static void taskfs_answer(const Crib__TaskFs *m)
{
	Crib__Response r = CRIB__RESPONSE__INIT;
	static uint8_t buf[16384];

	r.resp_case = CRIB__RESPONSE__RESP_RECORD;
	r.record.len = crib__task_fs__pack(m, buf);
	r.record.data = buf;
	answer(&r);
}

static Crib__TaskFsFile file(const char *path, int err)
{
	Crib__TaskFsFile f = CRIB__TASK_FS_FILE__INIT;

	if (err == -ENOENT) {
		f.has_err = 1, f.err = err;
		return f;
	}
	f.mode = 040755, f.ino = 2, f.dev_major = 259, f.dev_minor = 1, f.mnt_id = 25, f.magic = 0xef53;
	if (path)
		f.has_path = 1, f.path = bin(path);
	else
		f.has_err = 1, f.err = err;
	return f;
}

void test_taskfs(void)
{
	Crib__TaskFsFile exe = file("/usr/bin/sleep", 0), cwd = file("/tmp/a dir (deleted)", 0), root = file("/", 0);
	Crib__TaskFs m = CRIB__TASK_FS__INIT;
	struct cr_eng_taskfs tf;

	exe.mode = 0100755;
	m.exe = &exe, m.cwd = &cwd, m.root = &root;
	taskfs_answer(&m);
	calls = 0;
	CHECK(crib_op_get(CR_ENGINE_OP_TASKFS, 80, &tf) == 0 && calls == 1 && !strcmp(tf.exe.path, "/usr/bin/sleep") &&
		      tf.exe.mode == 0100755 && !strcmp(tf.cwd.path, "/tmp/a dir (deleted)") && tf.cwd.path_len == 20 &&
		      !strcmp(tf.root.path, "/") && tf.root.mnt_id == 25 && tf.root.fs_magic == 0xef53 &&
		      tf.exe.path == tf.paths,
	      "taskfs: a good answer, one OpReq, the paths in one block");
	free(tf.paths);

	{
		Crib__TaskFsFile none = file(NULL, -ENOENT), far = file(NULL, -18);
		Crib__TaskFs z = m;

		z.exe = &none, z.cwd = &far;
		taskfs_answer(&z);
		CHECK(crib_op_get(CR_ENGINE_OP_TASKFS, 80, &tf) == 0 && tf.exe.err == -ENOENT && !tf.exe.path &&
			      tf.cwd.err == -18 && !tf.cwd.path && !strcmp(tf.root.path, "/"),
		      "taskfs: no exe, a cwd without a path");
		free(tf.paths);
	}

#define BAD_TASKFS(change, what)                                                                  \
	do {                                                                                      \
		Crib__TaskFsFile b = cwd;                                                         \
		Crib__TaskFs bm = m;                                                              \
		bm.cwd = &b;                                                                      \
		change;                                                                           \
		taskfs_answer(&bm);                                                               \
		memset(&tf, 0xab, sizeof(tf));                                                    \
		CHECK(crib_op_get(CR_ENGINE_OP_TASKFS, 80, &tf) == -EPROTO && untouched(&tf, sizeof(tf)), "taskfs: " what); \
	} while (0)
	BAD_TASKFS((b.has_err = 1, b.err = -36), "a path and an err");
	BAD_TASKFS(b.has_path = 0, "neither a path nor an err");
	BAD_TASKFS(b.path = bin("tmp/a"), "a relative path");
	BAD_TASKFS(b.path = bin(""), "an empty path");
	BAD_TASKFS((b.has_path = 0, b.has_err = 1, b.err = 5), "a positive err");
	BAD_TASKFS(b.dev_minor = 1u << 20, "a minor past 20 bits");
	BAD_TASKFS((b.has_path = 0, b.has_err = 1, b.err = -ENOENT), "no file, but a mode and a mount");

	/* records crib.so reads itself: the iterator's (components after the record) and the tree pass's (a room each) */
	{
		static const uint8_t exe[] = { 5, 's', 'l', 'e', 'e', 'p', 3, 'b', 'i', 'n', 3, 'u', 's', 'r' };
		static const uint8_t tmp[] = { 3, 't', 'm', 'p' };
		struct crib_taskfs_tree_rec t;
		uint8_t it[sizeof(t.t) + sizeof(exe) + sizeof(tmp)];
		int i;

		memset(&t, 0, sizeof(t));
		t.t.pid = 80;
		for (i = 0; i < CRIB_TASKFS_NR; i++)
			t.t.f[i].mode = 040755, t.t.f[i].dev_major = 259, t.t.f[i].mnt_id = 25, t.t.f[i].magic = 0xef53;
		t.t.f[CRIB_TASKFS_EXE].mode = 0100755;
		t.t.f[CRIB_TASKFS_EXE].path_len = sizeof(exe);
		memcpy(t.names[CRIB_TASKFS_EXE], exe, sizeof(exe));
		t.t.f[CRIB_TASKFS_CWD].path_len = sizeof(tmp);
		t.t.f[CRIB_TASKFS_CWD].flags = CRIB_TASKFS_DELETED;
		memcpy(t.names[CRIB_TASKFS_CWD], tmp, sizeof(tmp));
		memcpy(it, &t.t, sizeof(t.t));
		memcpy(it + sizeof(t.t), exe, sizeof(exe));
		memcpy(it + sizeof(t.t) + sizeof(exe), tmp, sizeof(tmp));

		CHECK(crib_taskfs_raw.stream_size == sizeof(struct crib_taskfs) &&
			      crib_taskfs_raw.stream_convert(80, it, sizeof(it), &tf) == 0 && !strcmp(tf.exe.path, "/usr/bin/sleep") &&
			      !strcmp(tf.cwd.path, "/tmp (deleted)") && !strcmp(tf.root.path, "/") && tf.exe.mode == 0100755,
		      "taskfs iterator record: the paths put together");
		free(tf.paths);
		CHECK(crib_taskfs_raw.size == sizeof(t) && crib_taskfs_raw.convert(80, &t, sizeof(t), &tf) == 0 &&
			      !strcmp(tf.exe.path, "/usr/bin/sleep") && !strcmp(tf.cwd.path, "/tmp (deleted)") &&
			      !strcmp(tf.root.path, "/") && tf.root.mnt_id == 25,
		      "taskfs tree record: the same paths from the rooms");
		free(tf.paths);

		memset(&tf, 0xab, sizeof(tf));
		CHECK(crib_taskfs_raw.convert(81, &t, sizeof(t), &tf) == -EPROTO && untouched(&tf, sizeof(tf)),
		      "taskfs tree record: another pid's");
		CHECK(crib_taskfs_raw.convert(80, &t, sizeof(t) - 1, &tf) == -EPROTO && untouched(&tf, sizeof(tf)),
		      "taskfs tree record: short");
		t.t.f[CRIB_TASKFS_CWD].path_len = CRIB_TASKFS_ROOM + 1;
		CHECK(crib_taskfs_raw.convert(80, &t, sizeof(t), &tf) == -EPROTO && untouched(&tf, sizeof(tf)),
		      "taskfs tree record: more components than its room");
		/* a path with no room: err, and CRIU reads that link itself */
		t.t.f[CRIB_TASKFS_CWD].path_len = 0;
		t.t.f[CRIB_TASKFS_CWD].flags = 0;
		t.t.f[CRIB_TASKFS_CWD].err = -36;
		CHECK(crib_taskfs_raw.convert(80, &t, sizeof(t), &tf) == 0 && tf.cwd.err == -36 && !tf.cwd.path &&
			      !strcmp(tf.exe.path, "/usr/bin/sleep"),
		      "taskfs tree record: a file without room for its path");
		free(tf.paths);
	}
}
