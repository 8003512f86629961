// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fanotify.bpf.c: op fanotify, crib_fanotify, an iter/task_file program
 * (6.1+) that user space attaches to one task and reads until EOF (not
 * for a whole tree at once, for fdtype's reason).
 *
 * A fanotify file is the anon-inode file named "[fanotify]"; its
 * private_data is the struct fsnotify_group whose flags and marks
 * fanotify_show_fdinfo() prints.  The marks are walked as op inotify
 * walks its own (the group's marks_list, one mark per bpf_loop() step,
 * with the same caveats about the group's mutex); an inode mark carries
 * its inode's file handle (crib_encode_fh(), crib_fsnotify.h), and where
 * the walk cannot encode it the record says so and CRIU reads that fd's
 * fdinfo.  Filesystem marks are skipped: CRIU 4.2.1's fdinfo parser
 * does not read their lines.
 */
#include "crib_iter.h"
#include "crib_fsnotify.h"
#include "fanotify.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* fanotify_mark_user_flags(): the mark's flags as FAN_MARK_* (the same bits: 0x100, 0x200, 0x400 both ways) */
#define FSNOTIFY_MARK_FLAG_IGNORED_SURV_MODIFY	0x0100
#define FSNOTIFY_MARK_FLAG_NO_IREF		0x0200
#define FSNOTIFY_MARK_FLAG_HAS_IGNORE_FLAGS	0x0400
#define FAN_MARK_IGNORED_SURV_MODIFY		0x00000040
#define FAN_MARK_EVICTABLE			0x00000200
#define FAN_MARK_IGNORE				0x00000400

CRIB_FILE_ITER_COUNTS(counts);

/* the walk of one group's marks, and its record as it is written: rec, then marks[0..rec.p.nr) */
struct fanotify_walk {
	struct crib_mark_walk mw;
	__u32 bad;	/* a mark without a handle, or whose object the walk could not find */
	__u32 pad;
	CRIB_REC(struct crib_fanotify) rec;
	struct crib_fanotify_mark marks[CRIB_FANOTIFY_MAX_MARKS];
};

/* its value type names struct crib_fanotify and crib_fanotify_mark in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fanotify_walk);
} walks SEC(".maps");

static __always_inline struct fanotify_walk *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walks, &zero);
}

/* "[fanotify]", compared a character at a time */
static __always_inline bool is_fanotify(const char *n)
{
	return n[0] == '[' && n[1] == 'f' && n[2] == 'a' && n[3] == 'n' && n[4] == 'o' && n[5] == 't' &&
	       n[6] == 'i' && n[7] == 'f' && n[8] == 'y' && n[9] == ']' && !n[10];
}

/* One mark of the group's list, appended; 1 ends the loop (back at the head, or the record full). */
static long walk_step(__u64 i, void *arg)
{
	struct fanotify_walk *w = get_walk();
	struct fsnotify_mark_connector *conn;
	struct crib_fanotify_mark *d;
	struct fsnotify_mark *mark;
	struct inode *inode;
	struct mount *mnt;
	unsigned int flags;
	__u32 n, type;

	if (!w)
		return 1;
	mark = crib_mark_walk_next(&w->mw, &conn);
	if (!mark)
		return 1;
	if (!conn)
		return 0;
	type = BPF_CORE_READ(conn, type);
	if (type != FSNOTIFY_OBJ_TYPE_INODE && type != FSNOTIFY_OBJ_TYPE_VFSMOUNT)
		return 0;	/* a filesystem mark: CRIU does not read it */
	n = w->rec.p.nr;
	if (n >= CRIB_FANOTIFY_MAX_MARKS) {
		crib_mark_walk_back(&w->mw);
		return 1;
	}
	d = &w->marks[n];
	flags = BPF_CORE_READ(mark, flags);
	d->mflags = 0;
	if (flags & FSNOTIFY_MARK_FLAG_IGNORED_SURV_MODIFY)
		d->mflags |= FAN_MARK_IGNORED_SURV_MODIFY;
	if (flags & FSNOTIFY_MARK_FLAG_NO_IREF)
		d->mflags |= FAN_MARK_EVICTABLE;
	if (flags & FSNOTIFY_MARK_FLAG_HAS_IGNORE_FLAGS)
		d->mflags |= FAN_MARK_IGNORE;
	d->mask = BPF_CORE_READ(mark, mask);
	d->ignored_mask = BPF_CORE_READ(mark, ignore_mask);
	d->ino = 0;
	d->sdev = 0;
	d->mnt_id = 0;
	d->fh_bytes = 0;
	d->fh_type = 0;
	if (type == FSNOTIFY_OBJ_TYPE_INODE) {
		inode = crib_conn_inode(conn);
		if (!inode) {
			w->bad = 1;
			return 0;
		}
		d->type = CRIB_FANOTIFY_MARK_INODE;
		d->ino = BPF_CORE_READ(inode, i_ino);
		d->sdev = BPF_CORE_READ(inode, i_sb, s_dev);
		d->fh_bytes = crib_encode_fh(inode, d->fh, &d->fh_type);
		if (!d->fh_bytes)
			w->bad = 1;
	} else {
		mnt = crib_conn_mount(conn);
		if (!mnt) {
			w->bad = 1;
			return 0;
		}
		d->type = CRIB_FANOTIFY_MARK_MOUNT;
		d->mnt_id = BPF_CORE_READ(mnt, mnt_id);
	}
	w->rec.p.nr = n + 1;
	return 0;
}

SEC("iter/task_file")
int crib_fanotify(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct crib_file_iter_count *c;
	struct fsnotify_group *group;
	struct fanotify_walk *w;
	char name[16] = {};
	__s32 pid;

	c = crib_file_iter_begin(ctx, &counts, &pid);
	w = get_walk();
	if (!c || !w || !file)
		return 0;
	crib_file_dname(file, ANON_INODE_FS_MAGIC, name, sizeof(name));
	if (!is_fanotify(name))
		return 0;

	group = BPF_CORE_READ(file, private_data);
	crib_mark_walk_start(&w->mw, group);
	w->bad = 0;
	w->rec.p.pid = pid;
	w->rec.p.fd = ctx->fd;
	w->rec.p.nr = 0;
	w->rec.p.fa_flags = BPF_CORE_READ(group, fanotify_data.flags);
	w->rec.p.ev_flags = BPF_CORE_READ(group, fanotify_data.f_flags);
	bpf_loop(2 * CRIB_FANOTIFY_MAX_MARKS + 2, walk_step, NULL, 0);
	w->rec.p.flags = w->mw.done && !w->bad ? CRIB_FANOTIFY_ALL : 0;

	/* counted only once written: a full buffer runs us again for this fd */
	if (!crib_rec_write_items(ctx->meta->seq, &w->rec.h, sizeof(w->rec), w->rec.p.nr,
				  sizeof(struct crib_fanotify_mark), CRIB_FANOTIFY_MAX_MARKS))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_fanotify_probe)
