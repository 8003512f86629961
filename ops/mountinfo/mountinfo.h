/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mountinfo.h: the records of op mountinfo (ops/registry), BPF to user
 * space: the mounts of a task's mount namespace, one record each, as
 * /proc/PID/mountinfo lists them (fs/proc_namespace.c show_mountinfo()),
 * in its order (the namespace's tree of mounts, by unique id).  The one
 * definition: mountinfo.ts mirrors it, mountinfo.test.ts checks the
 * mirror against the object's BTF.
 *
 * The program (mountinfo.bpf.c) writes what the kernel's structures hold;
 * what a file system prints itself (its options, and the root or source
 * of one with show_path or show_devname) comes from statmount() in
 * mountinfo.ts: the flags below say which.
 */
#ifndef __CRIB_MOUNTINFO_H__
#define __CRIB_MOUNTINFO_H__

#include "crib.h"

#define CRIB_MOUNTINFO_MAX    8192	/* mounts one read lists at most */
#define CRIB_MOUNTINFO_PATH   4352	/* one path's components: CRIB_NAME_MAX plus one */
#define CRIB_MOUNTINFO_SOURCE 4096	/* mnt_devname, with its NUL */
#define CRIB_MOUNTINFO_TYPE   64	/* file_system_type.name, s_subtype: each with its NUL */

/* struct crib_mountinfo.flags */
#define CRIB_MNT_SHARED       (1u << 0)	/* IS_MNT_SHARED(): " shared:ID" */
#define CRIB_MNT_UNBINDABLE   (1u << 1)	/* IS_MNT_UNBINDABLE(): " unbindable" */
#define CRIB_MNT_ROOT_DELETED (1u << 2)	/* the root dentry is unlinked: dentry_path()'s "//deleted" */
#define CRIB_MNT_SHOW_PATH    (1u << 3)	/* s_op->show_path(): the root from statmount() */
#define CRIB_MNT_SHOW_DEVNAME (1u << 4)	/* s_op->show_devname(): the source from statmount() */
#define CRIB_MNT_NO_DEVNAME   (1u << 5)	/* mnt_devname is NULL: "none" */
#define CRIB_MNT_DOM_UNKNOWN  (1u << 6)	/* a slave whose master chain is longer than the walk looks */

/*
 * One mount.  After it, in this order and without padding between them:
 * root_len bytes of the root's components (leaf first, each a length
 * byte and the name: crib_path.h), point_len of the mount point's (from
 * the task's root), source_len of mnt_devname, type_len of the file
 * system's name, subtype_len of its subtype; then zeros to a multiple of 8.
 */
struct crib_mountinfo {
	__u64 unique_id;	/* mnt_id_unique: statmount()'s id of the mount */
	__s32 mnt_id;		/* the id mountinfo shows */
	__s32 parent_id;	/* the parent's */
	__u32 dev_major;	/* the super block's s_dev */
	__u32 dev_minor;
	__u32 mnt_flags;	/* vfsmount.mnt_flags: MNT_READONLY, MNT_NOSUID, ... */
	__u32 sb_flags;		/* super_block.s_flags: SB_RDONLY, SB_SYNCHRONOUS, ... */
	__s32 shared;		/* the peer group's id, with CRIB_MNT_SHARED */
	__s32 master;		/* the master's peer group, 0: not a slave */
	__s32 dominating;	/* get_dominating_id(): the peer group it gets events from here, or 0 */
	__u32 flags;		/* CRIB_MNT_* */
	__u16 root_len;
	__u16 point_len;
	__u16 source_len;
	__u16 type_len;
	__u16 subtype_len;
	__u16 _pad0;
	__u32 _pad1;
};

/* The program's context: the request, then what the read found */
struct crib_mountinfo_ctx {
	struct crib_req req;	/* count: records written to ring "mounts"; total: mounts walked */
	__u64 ns_id;		/* the mount namespace's id (statmount()'s mnt_ns_id), 0 where the kernel has none */
	__u32 ns_inum;		/* its nsfs inode, as /proc/PID/ns/mnt names it */
	__u32 _pad0;
};

#endif /* __CRIB_MOUNTINFO_H__ */
