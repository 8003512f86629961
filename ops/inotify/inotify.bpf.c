// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * inotify.bpf.c: op inotify, crib_inotify, an iter/task_file program
 * (6.1+) that user space attaches to one task and reads until EOF (not
 * for a whole tree at once, for fdtype's reason).
 *
 * An inotify file is the anon-inode file named "inotify"; its
 * private_data is the struct fsnotify_group whose marks inotify_fdinfo()
 * prints, in the order of the group's marks_list: the walk here follows
 * that list, one mark per bpf_loop() step, its state in a map.  As for
 * epoll, the kernel holds the group's mark_mutex and the walk cannot: it
 * counts on the tasks being frozen, reads stale marks at worst (marks are
 * freed after an SRCU grace period; the program runs under RCU) and ends
 * at the loop's bound.
 *
 * Each watch carries the file handle fdinfo prints, which CRIU opens the
 * watched inode by (crib_encode_fh(), crib_fsnotify.h): where the walk
 * cannot encode it (fh_bytes 0), CRIU reads that fd's fdinfo.
 */
#include "crib_iter.h"
#include "crib_fsnotify.h"
#include "inotify.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* what inotify_mark_user_mask() adds to a mark's events: IN_ALL_EVENTS, and two mark flags */
#define IN_ALL_EVENTS				0x00000fff
#define IN_EXCL_UNLINK				0x04000000
#define IN_ONESHOT				0x80000000
#define FSNOTIFY_MARK_FLAG_EXCL_UNLINK		0x0010
#define FSNOTIFY_MARK_FLAG_IN_ONESHOT		0x0020

CRIB_FILE_ITER_COUNTS(counts);

/* the walk of one group's marks, and its record as it is written: rec, then wds[0..rec.p.nr) */
struct inotify_walk {
	struct crib_mark_walk mw;
	CRIB_REC(struct crib_inotify) rec;
	struct crib_inotify_wd wds[CRIB_INOTIFY_MAX_WDS];
};

/* its value type names struct crib_inotify and crib_inotify_wd in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inotify_walk);
} walks SEC(".maps");

static __always_inline struct inotify_walk *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walks, &zero);
}

/* "inotify", compared a character at a time */
static __always_inline bool is_inotify(const char *n)
{
	return n[0] == 'i' && n[1] == 'n' && n[2] == 'o' && n[3] == 't' && n[4] == 'i' && n[5] == 'f' &&
	       n[6] == 'y' && !n[7];
}

/* One mark of the group's list, appended; 1 ends the loop (back at the head, or the record full). */
static long walk_step(__u64 i, void *arg)
{
	struct inotify_walk *w = get_walk();
	struct fsnotify_mark_connector *conn;
	struct inotify_inode_mark *im;
	struct fsnotify_mark *mark;
	struct crib_inotify_wd *d;
	struct inode *inode;
	unsigned int flags;
	__u32 n;

	if (!w)
		return 1;
	mark = crib_mark_walk_next(&w->mw, &conn);
	if (!mark)
		return 1;
	/* inotify_fdinfo() shows inode marks only, and only those whose inode it can grab */
	if (!conn || BPF_CORE_READ(conn, type) != FSNOTIFY_OBJ_TYPE_INODE)
		return 0;
	inode = crib_conn_inode(conn);
	if (!inode)
		return 0;
	n = w->rec.p.nr;
	if (n >= CRIB_INOTIFY_MAX_WDS) {
		crib_mark_walk_back(&w->mw);
		return 1;
	}
	d = &w->wds[n];
	im = crib_container_of(mark, struct inotify_inode_mark, fsn_mark);
	flags = BPF_CORE_READ(mark, flags);
	d->wd = BPF_CORE_READ(im, wd);
	d->mask = BPF_CORE_READ(mark, mask) & IN_ALL_EVENTS;
	if (flags & FSNOTIFY_MARK_FLAG_EXCL_UNLINK)
		d->mask |= IN_EXCL_UNLINK;
	if (flags & FSNOTIFY_MARK_FLAG_IN_ONESHOT)
		d->mask |= IN_ONESHOT;
	d->ino = BPF_CORE_READ(inode, i_ino);
	d->sdev = BPF_CORE_READ(inode, i_sb, s_dev);
	d->ignored_mask = BPF_CORE_READ(mark, ignore_mask);
	d->fh_bytes = crib_encode_fh(inode, d->fh, &d->fh_type);
	w->rec.p.nr = n + 1;
	return 0;
}

SEC("iter/task_file")
int crib_inotify(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct crib_file_iter_count *c;
	struct fsnotify_group *group;
	struct inotify_walk *w;
	char name[16] = {};
	__s32 pid;

	c = crib_file_iter_begin(ctx, &counts, &pid);
	w = get_walk();
	if (!c || !w || !file)
		return 0;
	crib_file_dname(file, ANON_INODE_FS_MAGIC, name, sizeof(name));
	if (!is_inotify(name))
		return 0;

	group = BPF_CORE_READ(file, private_data);
	crib_mark_walk_start(&w->mw, group);
	w->rec.p.pid = pid;
	w->rec.p.fd = ctx->fd;
	w->rec.p.nr = 0;
	bpf_loop(2 * CRIB_INOTIFY_MAX_WDS + 2, walk_step, NULL, 0);
	w->rec.p.flags = w->mw.done ? CRIB_INOTIFY_ALL : 0;

	/* counted only once written: a full buffer runs us again for this fd */
	if (!crib_rec_write_items(ctx->meta->seq, &w->rec.h, sizeof(w->rec), w->rec.p.nr,
				  sizeof(struct crib_inotify_wd), CRIB_INOTIFY_MAX_WDS))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_inotify_probe)
