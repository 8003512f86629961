/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_fsnotify.h: what the programs of ops inotify and fanotify share:
 * the walk of a group's marks, the object a mark's connector is attached
 * to, and the file handle fdinfo prints for a watched inode.
 */
#ifndef __CRIB_FSNOTIFY_H__
#define __CRIB_FSNOTIFY_H__

#define EXT4_SUPER_MAGIC	0xEF53
#define TMPFS_MAGIC		0x01021994

/* the bytes of a file handle the records carry at most (CRIU's FhEntry keeps 128; these need 12) */
#define CRIB_FH_MAX 16

/*
 * A walk of a group's marks (group->marks_list, the order fdinfo prints
 * them in), one mark per bpf_loop() step, kept in the caller's map value.
 */
struct crib_mark_walk {
	__u64 head;	/* &group->marks_list */
	__u64 pos;	/* the list node of the next mark */
	__u64 cur;	/* the one crib_mark_walk_next() gave last */
	__u32 done;	/* the walk came back to the head */
	__u32 pad;
};

static __always_inline void crib_mark_walk_start(struct crib_mark_walk *mw, struct fsnotify_group *group)
{
	mw->head = (__u64)&group->marks_list;
	mw->pos = (__u64)BPF_CORE_READ(group, marks_list.next);
	mw->cur = 0;
	mw->done = 0;
}

/* The next mark and its connector (NULL for a mark being detached); NULL at the head, with done set */
static __always_inline struct fsnotify_mark *crib_mark_walk_next(struct crib_mark_walk *mw,
								 struct fsnotify_mark_connector **conn)
{
	struct list_head *pos = (void *)mw->pos;
	struct fsnotify_mark *mark;

	if (!pos || mw->pos == mw->head) {
		mw->done = 1;
		return NULL;
	}
	mw->cur = mw->pos;
	mw->pos = (__u64)BPF_CORE_READ(pos, next);
	mark = crib_container_of(pos, struct fsnotify_mark, g_list);
	*conn = BPF_CORE_READ(mark, connector);
	return mark;
}

/* The mark crib_mark_walk_next() gave last is not taken (the record is full): the walk did not end */
static __always_inline void crib_mark_walk_back(struct crib_mark_walk *mw)
{
	mw->pos = mw->cur;
}

/*
 * The inode of @conn: its obj is the inode itself (6.11+) or the inode's
 * i_fsnotify_marks (before); whichever it is, that inode's
 * i_fsnotify_marks points back to @conn.  NULL when neither does.
 */
static __always_inline struct inode *crib_conn_inode(struct fsnotify_mark_connector *conn)
{
	void *obj = BPF_CORE_READ(conn, obj);
	struct inode *inode = obj;

	if ((void *)BPF_CORE_READ(inode, i_fsnotify_marks) == conn)
		return inode;
	inode = crib_container_of(obj, struct inode, i_fsnotify_marks);
	if ((void *)BPF_CORE_READ(inode, i_fsnotify_marks) == conn)
		return inode;
	return NULL;
}

/*
 * The mount of @conn: its obj is the mount's struct vfsmount (6.11+,
 * real_mount()) or the mount's mnt_fsnotify_marks (before); whichever it
 * is, that mount's mnt_fsnotify_marks points back to @conn.
 */
static __always_inline struct mount *crib_conn_mount(struct fsnotify_mark_connector *conn)
{
	void *obj = BPF_CORE_READ(conn, obj);
	struct mount *mnt;

	mnt = crib_container_of(obj, struct mount, mnt);
	if ((void *)BPF_CORE_READ(mnt, mnt_fsnotify_marks) == conn)
		return mnt;
	mnt = crib_container_of(obj, struct mount, mnt_fsnotify_marks);
	if ((void *)BPF_CORE_READ(mnt, mnt_fsnotify_marks) == conn)
		return mnt;
	return NULL;
}

/*
 * The handle fdinfo prints for @inode (show_mark_fhandle():
 * exportfs_encode_inode_fh() through the file system's
 * export_operations, which BPF cannot call), into @fh (CRIB_FH_MAX bytes)
 * and *@type; its length, or 0 where the encoding is not known here:
 *  - ext2/3/4: generic_encode_ino32_fh(), the 32-bit ino and the
 *    generation, 8 bytes, type 1;
 *  - tmpfs and devtmpfs: shmem_encode_fh(), the generation and the 64-bit
 *    ino, 12 bytes, type 1; it also puts an inode that is not in the inode
 *    hash there, where open_by_handle_at() looks it up, which BPF cannot:
 *    an unhashed inode has no handle here (CRIU's fdinfo read hashes it);
 *  - a file system without export_operations (procfs, sysfs, bpffs...)
 *    on kernels with FILEID_INO64_GEN (6.7+): the 64-bit ino and the
 *    generation, 12 bytes, type 0x81.
 */
static __always_inline __u32 crib_encode_fh(struct inode *inode, __u8 *fh, __s32 *type)
{
	__u64 ino = BPF_CORE_READ(inode, i_ino);
	__u32 gen = BPF_CORE_READ(inode, i_generation);
	unsigned long magic = BPF_CORE_READ(inode, i_sb, s_magic);
	__u32 *w = (__u32 *)fh;

	w[0] = w[1] = w[2] = w[3] = 0;
	*type = 0;
	if (magic == EXT4_SUPER_MAGIC) {
		w[0] = ino;
		w[1] = gen;
		*type = FILEID_INO32_GEN;
		return 8;
	}
	if (magic == TMPFS_MAGIC) {
		if (!BPF_CORE_READ(inode, i_hash.pprev))
			return 0;
		w[0] = gen;
		w[1] = ino;
		w[2] = ino >> 32;
		*type = FILEID_INO32_GEN;
		return 12;
	}
	if (!BPF_CORE_READ(inode, i_sb, s_export_op) && bpf_core_enum_value_exists(enum fid_type, FILEID_INO64_GEN)) {
		w[0] = ino;
		w[1] = ino >> 32;
		w[2] = gen;
		*type = bpf_core_enum_value(enum fid_type, FILEID_INO64_GEN);
		return 12;
	}
	return 0;
}

#endif /* __CRIB_FSNOTIFY_H__ */
