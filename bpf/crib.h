/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib.h: the records that cross the BPF/user-space boundary.
 *
 * This header is the one definition.  The BPF programs include it; the
 * TypeScript decoders (engine-ts/src/bpf/records.ts) mirror it, and
 * test/bpf/records.test.ts checks that mirror against the BTF of the
 * compiled objects, member by member.  Change both sides together and
 * bump CRIB_ABI_VERSION when a layout changes.
 *
 * How a request travels: user space fills a struct crib_req (plus, for the
 * task op, room for the reply) and passes it as ctx_in to
 * BPF_PROG_TEST_RUN.  SYSCALL programs may write their context, and the
 * kernel copies it back, so small replies come back in the context itself
 * and bulk tables go to BPF_F_MMAPABLE array maps that user space reads
 * through its own mapping, with no syscall per entry.
 *
 * All fields are fixed-width with explicit padding; every struct size is a
 * multiple of 8.
 */
#ifndef __CRIB_H__
#define __CRIB_H__

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CRIB_ABI_VERSION 5

/* Capacity of the bulk maps.  A table that does not fit fails with -E2BIG. */
#define CRIB_MAX_TIDS     65536
#define CRIB_MAX_VMAS     65536
#define CRIB_MAX_FDS      262144
/* Bytes of the VMA name buffer (struct crib_names). */
#define CRIB_NAMES_SIZE   (4u << 20)
/* The longest single name entry written into the names buffer. */
#define CRIB_NAME_MAX     4096
/* Path components followed per name, mount crossings included. */
#define CRIB_PATH_DEPTH   256

#define CRIB_COMM_LEN     16

/*
 * Request header, the context of every program.  In: size, version, pid,
 * ns_inum.  Out: err, count, total, names_len, flags.
 *
 * Pids are those of the caller's pid namespace, named by the inode number
 * of its nsfs file (/proc/self/ns/pid of the CRIU that asks): pid in, and
 * every pid out (ppid, pgid, sid, threads, children).  A program finds
 * the task, then checks that its number in that namespace is pid (-ESRCH
 * otherwise: never another task's data), and prints every other pid as
 * that namespace sees it (0 where it cannot see it, as /proc does).
 */
struct crib_req {
	__u32 size;       /* sizeof the whole context (crib_req or crib_task_ctx) */
	__u32 version;    /* CRIB_ABI_VERSION; programs refuse others with -EPROTO */
	__s32 pid;        /* pid/tid in the caller's pid namespace */
	__s32 err;        /* out: 0 or -errno (-ESRCH, -EBUSY, -E2BIG, -EOPNOTSUPP, ...) */
	__u32 count;      /* out: entries written to the op's map */
	__u32 total;      /* out: entries found; > count only together with -E2BIG */
	__u32 names_len;  /* out (vma): bytes used in the names buffer */
	__u32 flags;      /* out: CRIB_REQ_F_* */
	__u32 ns_inum;    /* the caller's pid namespace: inode of its nsfs file */
	__s32 lookup;     /* 0, or the task's number in the init pid namespace to find it by (see crib_ns_tasks) */
};

/*
 * crib_ns_tasks (ns_tasks.bpf.o): every task of the pid namespace
 * crib_req.ns_inum names, as columns in map "ns_task_cols", one entry:
 * nr[i] is its number there, kpid[i] its number in the init namespace.
 * For an engine in another pid namespace than its caller (a service):
 * bpf_task_from_vpid() looks in the engine's, so the engine asks by
 * crib_req.lookup = kpid, and the programs still check that the task
 * found is nr in the caller's.  count: tasks written; -E2BIG past the
 * capacity.
 */
#define CRIB_MAX_NS_TASKS 65536
struct crib_ns_task_cols {
	__s32 nr[CRIB_MAX_NS_TASKS];
	__s32 kpid[CRIB_MAX_NS_TASKS];
};

/* The init pid namespace's inode (PROC_PID_INIT_INO, include/linux/proc_ns.h) */
#define CRIB_INIT_PID_NS_INUM 0xEFFFFFFCu
/* MAX_PID_NS_LEVEL (kernel/pid_namespace.c): the deepest level is 32 */
#define CRIB_MAX_PID_NS_LEVEL 32
/* How many pid namespaces a task may be nested below its caller's (crib_bpf.h) */
#define CRIB_NS_SEARCH 4

/*
 * vma: the mm has the x86 vsyscall gate area.  /proc lists it after the
 * last VMA as [vsyscall], and CRIU records it, but it is not in the VMA
 * tree, so the iterator never sees it: user space adds the entry.
 */
#define CRIB_REQ_F_GATE_VMA 0x1

/*
 * Task record: the fields of /proc/PID/stat and /proc/PID/status that
 * struct cr_eng_stat and struct cr_eng_status carry, as /proc prints them
 * for a reader in the caller's pid namespace (crib_req.ns_inum) and the
 * init user namespace.
 */
struct crib_task {
	__s32 pid;         /* all pids: numbers in the caller's pid namespace */
	__s32 tgid;
	__s32 ppid;        /* real_parent's tgid; 0 where the caller cannot see it */
	__s32 pgid;
	__s32 sid;
	__s32 vpid;        /* last NSpid value */
	__s32 num_threads; /* signal->nr_threads */
	__s32 exit_code;   /* /proc/PID/stat: group_exit_code when the group is stopped or exiting */
	__u32 flags;       /* task->flags (PF_*) */
	__u32 raw_state;   /* task->__state */
	__u32 exit_state;  /* task->exit_state */
	__u32 seccomp_mode;
	__u32 uids[4];     /* real, effective, saved, fs (objective creds) */
	__u32 gids[4];
	__u8  state;       /* letter of fs/proc/array.c task_state_array */
	__u8  has_mm;      /* 0 for kernel threads and zombies: mm fields are 0 */
	__u8  _pad0[6];
	char  comm[CRIB_COMM_LEN];
	__u64 start_boottime; /* ns since boot (task->start_boottime): user space adds the
	                         caller's time namespace offset and makes clock ticks */
	__u64 start_code;
	__u64 end_code;
	__u64 start_data;
	__u64 end_data;
	__u64 start_brk;
	__u64 start_stack;
	__u64 arg_start;
	__u64 arg_end;
	__u64 env_start;
	__u64 env_end;
	__u64 sigpnd;      /* task->pending.signal */
	__u64 shdpnd;      /* signal->shared_pending.signal */
	__u64 sigblk;      /* task->blocked */
	__u64 cap_inh;
	__u64 cap_prm;
	__u64 cap_eff;
	__u64 cap_bnd;
	__u64 cap_amb;
};

/* Context of the task program: the request, then the reply. */
struct crib_task_ctx {
	struct crib_req req;
	struct crib_task task;
};

/*
 * threads and children: map "tids" holds count __s32 pids.  Mapped arrays
 * lay out their elements 8-byte aligned: user space reads every other
 * 32-bit word.
 */

/* crib_vma.name_kind */
#define CRIB_NAME_NONE        0 /* "" */
#define CRIB_NAME_PATH        1 /* path components, see below */
#define CRIB_NAME_STRING      2 /* the bytes as they are: [vdso], [vvar], [uprobes], ... */
#define CRIB_NAME_HEAP        3 /* [heap] */
#define CRIB_NAME_STACK       4 /* [stack] */
#define CRIB_NAME_ANON        5 /* [anon:%s] with the bytes */
#define CRIB_NAME_ANON_SHMEM  6 /* [anon_shmem:%s] with the bytes */
/* files whose name d_path() asks their filesystem for (d_op->d_dname), with the dentry name: */
#define CRIB_NAME_DNAME_SIMPLE 7 /* simple_dname(): "/NAME (deleted)" (shmem: /dev/zero, memfd, SysV) */
#define CRIB_NAME_DNAME_ANON   8 /* anon_inodefs_dname(): "anon_inode:NAME" */
#define CRIB_NAME_DNAME_OTHER  9 /* another d_dname(): not known here, the op reports it unsupported */

/* crib_vma.name_flags */
#define CRIB_NAMEF_DELETED    (1u << 0) /* append " (deleted)" */

/*
 * A CRIB_NAME_PATH name is a list of components, leaf first, each a
 * length byte followed by that many bytes (no NUL), up to the global
 * root; user space reverses it and joins with '/'.  A component may hold
 * a '/' itself (the shmem file behind a shared anonymous mapping is named
 * "dev/zero").
 */

/* crib_vma.vmflags: the CR_ENG_VMF_* bits of criu-engine.h */
#define CRIB_VMF_IO_PF   (1u << 0)
#define CRIB_VMF_SHSTK   (1u << 1)

/* One VMA, in the order of /proc/PID/maps.  Map "vmas", count entries. */
struct crib_vma {
	__u64 start;
	__u64 end;
	__u64 pgoff;       /* bytes: vm_pgoff << PAGE_SHIFT with a file, else 0 */
	__u64 ino;         /* inode of the mapped file, else 0 */
	__u64 madv;        /* 1 << MADV_* for VmFlags sr rr dc dd mg hg nh wf */
	__u64 vm_flags;    /* raw vma->vm_flags, for verification */
	__u32 dev_maj;     /* s_dev >> 20 */
	__u32 dev_min;     /* s_dev & 0xfffff */
	__u32 prot;        /* PROT_READ | PROT_WRITE | PROT_EXEC */
	__u32 shared;      /* VM_MAYSHARE */
	__u32 map_flags;   /* MAP_* for VmFlags gd lo nr ht dp */
	__u32 vmflags;     /* CRIB_VMF_* */
	__u32 name_off;    /* into the names buffer */
	__u16 name_len;    /* bytes at name_off */
	__u8  name_kind;   /* CRIB_NAME_* */
	__u8  name_flags;  /* CRIB_NAMEF_* */
	__s32 mnt_id;      /* of the mapped file's f_path (what /proc/self/fdinfo says of a
			      map_files fd), -1 without a file */
	__u32 fmode;       /* CRIB_FMODE_* of the mapped file (the map_files link's mode) */
};

/* crib_vma.fmode: FMODE_READ, FMODE_WRITE (include/linux/fs.h) */
#define CRIB_FMODE_READ  0x1
#define CRIB_FMODE_WRITE 0x2

/*
 * The VMA table as columns: map "vma_cols", one entry.  Entry i of every
 * array is VMA i (count of them, in the order of /proc/PID/maps), so user
 * space hands each column on as it is, with no work per VMA; named[] lists
 * the VMAs that have a name (nr_named of them, ascending).  The fields are
 * those of struct crib_vma; name_word packs name_len | name_kind << 16 |
 * name_flags << 24.
 */
struct crib_vma_cols {
	__u32 nr_named;
	__u32 _pad0;
	__u64 start[CRIB_MAX_VMAS];
	__u64 end[CRIB_MAX_VMAS];
	__u64 pgoff[CRIB_MAX_VMAS];
	__u64 ino[CRIB_MAX_VMAS];
	__u64 madv[CRIB_MAX_VMAS];
	__u64 vm_flags[CRIB_MAX_VMAS];
	__u32 dev_maj[CRIB_MAX_VMAS];
	__u32 dev_min[CRIB_MAX_VMAS];
	__u32 prot[CRIB_MAX_VMAS];
	__u32 shared[CRIB_MAX_VMAS];
	__u32 map_flags[CRIB_MAX_VMAS];
	__u32 vmflags[CRIB_MAX_VMAS];
	__u32 name_off[CRIB_MAX_VMAS];
	__u32 name_word[CRIB_MAX_VMAS];
	__u32 named[CRIB_MAX_VMAS];
	__s32 mnt_id[CRIB_MAX_VMAS];
	__u32 fmode[CRIB_MAX_VMAS];
};

/* The names buffer: map "names", one entry. */
struct crib_names {
	__u8 buf[CRIB_NAMES_SIZE];
};

/* One open fd, ascending by fd.  Map "fds", count entries. */
struct crib_fd {
	__u64 pos;         /* file->f_pos */
	__s32 fd;
	__u32 flags;       /* f_flags | O_CLOEXEC when set in close_on_exec */
	__s32 mnt_id;      /* real_mount(f_path.mnt)->mnt_id */
	__u32 locks;       /* CRIB_FD_LOCKS_* */
};

/* crib_fd.locks, crib_fd_cols.locks: CR_ENG_LOCKS_* of criu-engine.h */
#define CRIB_FD_LOCKS_NONE 1 /* no flock, POSIX/OFD lock or lease on the file */
#define CRIB_FD_LOCKS_HELD 2 /* some, whoever holds them */


/* The fd table as columns: map "fd_cols", one entry; entry i is fd i of count, ascending. */
struct crib_fd_cols {
	__u64 pos[CRIB_MAX_FDS];
	__s32 fd[CRIB_MAX_FDS];
	__u32 flags[CRIB_MAX_FDS];
	__s32 mnt_id[CRIB_MAX_FDS];
	__u32 locks[CRIB_MAX_FDS];
};

/*
 * ---- Seq-iterator streams (appended; the records above are unchanged) ----
 *
 * Kernels without bpf_task_from_pid (< 6.2) or the open-coded VMA iterator
 * (< 6.7) cannot run the SYSCALL programs above.  There the fallbacks in
 * *_iter.bpf.c are iterator programs (iter/task, iter/task_vma,
 * iter/task_file, 6.1+) attached to one task (link_info.iter.task.tid) and
 * read by user space from the iterator fd until EOF.  Their output is a
 * stream of records, each a struct crib_rec then the payload, len bytes in
 * all (a multiple of 8, zero padding at the end).
 */
/*
 * The kernel finds the task of link_info.iter.task.tid in the pid
 * namespace of the process that reads the iterator (the engine), so user
 * space uses these only for a caller in its own pid namespace.  What the
 * program needs of the request is in map "iter_args" (one entry, written
 * by user space before each read): the task programs check
 * the task against it and print pids in that namespace, as crib_req says.
 */
struct crib_iter_args {
	__s32 pid;        /* crib_req.pid */
	__u32 ns_inum;    /* crib_req.ns_inum */
};

#define CRIB_REC_END   1 /* struct crib_req: err, count, total, names_len, flags */
#define CRIB_REC_TASK  2 /* struct crib_task: the task exists */
#define CRIB_REC_VMA   3 /* struct crib_vma, then `extra` bytes of a new name */
#define CRIB_REC_FD    4 /* struct crib_fd */
/*
 * The ops of a folder (ops/NAME): what the op's SYSCALL program leaves in
 * its context after struct crib_req, the same bytes; the END record that
 * follows is the reply.  One reader serves every such op.
 */
#define CRIB_REC_CTX   5

struct crib_rec {
	__u16 type;       /* CRIB_REC_* */
	__u16 extra;      /* bytes after the fixed payload, before the padding */
	__u32 len;        /* of the whole record, this header included */
};

/*
 * A VMA record's name: vma.name_off is an offset into the concatenation of
 * every record's extra bytes.  A record with extra bytes starts a new name
 * there (name_off == bytes so far); one without reuses an earlier name (the
 * same file) or has none.  User space rebuilds the names buffer of
 * struct crib_names this way and decodes both as for crib_vma.
 */

#endif /* __CRIB_H__ */
