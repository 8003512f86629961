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
}
