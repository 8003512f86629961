/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * criu-engine.h: the interface between CRIU and a process-state engine.
 *
 * An engine answers the dump-side reads of process state that CRIU makes
 * (today through /proc, netlink and syscalls: the built-in "procfs"
 * engine).  A plugin offers an engine through CR_PLUGIN_HOOK__GET_ENGINE.
 *
 * This header is the one definition of the records that cross the
 * engine/CRIU boundary.  It is added to CRIU by criu-patches/ and
 * installed next to criu-plugin.h; the copy in criu-patches/include/ is
 * checked against the patched tree by the test suite.
 *
 * Rules for every op:
 *   - return 0 on success, a negative errno on failure;
 *   - -ENOTSUP means "not served here": CRIU falls back to procfs for
 *     that op (one warning per op, counted in stats);
 *   - any other error fails the dump, as a procfs error would;
 *   - a NULL op pointer is the same as -ENOTSUP;
 *   - arrays returned through pointers are allocated with malloc() and
 *     become the caller's; each result is one allocation (strings of
 *     struct cr_eng_vma live in the same block), released with free().
 */
#ifndef __CRIU_ENGINE_H__
#define __CRIU_ENGINE_H__

#include <stdint.h>
#include <sys/types.h>

/*
 * The layout of struct cr_engine_ops up to its ops and of every record
 * below.  Adding an op at the end of enum cr_engine_op (and of the ops in
 * struct cr_engine_ops) does not change it: cr_engine_ops.nr_ops tells
 * which ops an engine was built with, as criu-plugin.h's max_hooks does
 * for hooks.
 */
#define CR_ENGINE_ABI_VERSION 5

/*
 * A CRIU that can dispatch to engines exports a const unsigned int by this
 * name, equal to its CR_ENGINE_ABI_VERSION.  CRIU without engine support
 * refuses a plugin that declares more hooks than it knows, so a plugin
 * that offers an engine looks this up (dlsym(RTLD_DEFAULT, ...)) and, when
 * it is missing, declares only the hooks before CR_PLUGIN_HOOK__GET_ENGINE.
 */
#define CR_ENGINE_HOST_SYMBOL "criu_engine_abi_version"

/* Op names (options, criu.conf, RPC, stats) follow this order. */
enum cr_engine_op {
	CR_ENGINE_OP_STAT,     /* "stat":     parse_pid_stat()     */
	CR_ENGINE_OP_STATUS,   /* "status":   parse_pid_status()   */
	CR_ENGINE_OP_THREADS,  /* "threads":  parse_threads()      */
	CR_ENGINE_OP_CHILDREN, /* "children": parse_children()     */
	CR_ENGINE_OP_VMA,      /* "vma":      raw VMAs of parse_smaps() */
	CR_ENGINE_OP_FDS,      /* "fds":      collect_fds()        */
	CR_ENGINE_OP_FDINFO,   /* "fdinfo":   common fdinfo fields */
	CR_ENGINE_OP_TASKMISC, /* "taskmisc": personality, loginuid, oom_score_adj, rlimits */
	CR_ENGINE_OP_NSIDS,    /* "nsids":    the namespaces of /proc/PID/ns/ */
	CR_ENGINE_OP_FDMETA,   /* "fdmeta":   readlink() of each fd dumped */
	CR_ENGINE_OP_AUXV,     /* "auxv":     /proc/PID/auxv */
	CR_ENGINE_OP_TASKFS,   /* "taskfs":   /proc/PID/{exe,cwd,root} */
	CR_ENGINE_OP_TIMERS,   /* "timers":   whether /proc/PID/timers lists any */
	CR_ENGINE_OP_CGROUP,   /* "cgroup":   /proc/PID/task/TID/cgroup */
	CR_ENGINE_OP_FDTYPE,   /* "fdtype":   /proc/PID/fdinfo/FD of eventfds, signalfds and timerfds */
	CR_ENGINE_OP_EPOLL,    /* "epoll":    /proc/PID/fdinfo/FD of epoll fds (their targets) */
	CR_ENGINE_OP_PIDFD,    /* "pidfd":    /proc/PID/fdinfo/FD of pidfds (the process, ino) */
	CR_ENGINE_OP_INOTIFY,  /* "inotify":  /proc/PID/fdinfo/FD of inotify fds (their watches) */
	CR_ENGINE_OP_FANOTIFY, /* "fanotify": /proc/PID/fdinfo/FD of fanotify fds (flags, inode and mount marks) */
	CR_ENGINE_OP_MOUNTINFO, /* "mountinfo": /proc/PID/mountinfo (once per mount namespace) */
	CR_ENGINE_OP__MAX      /* only add ops right before this */
};

#define CR_ENG_COMM_LEN 32

/* The fields of /proc/PID/stat that CRIU's dump uses. */
struct cr_eng_stat {
	int32_t pid;
	int32_t ppid;
	int32_t pgid;
	int32_t sid;
	int32_t num_threads;
	int32_t exit_code;  /* as /proc shows it: wait status of a zombie */
	uint32_t flags;     /* task->flags (PF_*) */
	char state;         /* R S D T t Z X ... */
	char comm[CR_ENG_COMM_LEN];
	uint64_t start_time; /* clock ticks since boot */
	uint64_t start_code;
	uint64_t end_code;
	uint64_t start_data;
	uint64_t end_data;
	uint64_t start_brk;
	uint64_t start_stack;
	uint64_t arg_start;
	uint64_t arg_end;
	uint64_t env_start;
	uint64_t env_end;
};

/* The fields of /proc/PID/status that parse_pid_status() reads. */
struct cr_eng_status {
	char state;
	int32_t ppid;
	int32_t vpid;         /* last NSpid entry */
	int32_t seccomp_mode;
	uint64_t sigpnd;      /* SigPnd */
	uint64_t shdpnd;      /* ShdPnd */
	uint64_t sigblk;      /* SigBlk */
	uint32_t uids[4];     /* real, effective, saved, fs */
	uint32_t gids[4];
	uint64_t cap_inh;
	uint64_t cap_prm;
	uint64_t cap_eff;
	uint64_t cap_bnd;
	uint64_t cap_amb;
};

/* VmFlags that are not MAP_* or MADV_* bits */
#define CR_ENG_VMF_IO_PF (1u << 0) /* "io" or "pf": VM_IO / VM_PFNMAP */
#define CR_ENG_VMF_SHSTK (1u << 1) /* "ss": shadow stack */

/* One line of /proc/PID/smaps, with its VmFlags, before CRIU's own handling. */
struct cr_eng_vma {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;     /* file offset in bytes as /proc prints it (0 without a file) */
	uint64_t ino;       /* inode of the mapped file, 0 without a file */
	uint64_t madv;      /* 1 << MADV_* from VmFlags: sr rr dc dd mg hg nh wf */
	uint32_t dev_maj;
	uint32_t dev_min;
	uint32_t prot;      /* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint32_t shared;    /* 1 for 's' (VM_MAYSHARE), 0 for 'p' */
	uint32_t map_flags; /* MAP_GROWSDOWN/LOCKED/NORESERVE/HUGETLB/DROPPABLE from VmFlags gd lo nr ht dp */
	uint32_t vmflags;   /* CR_ENG_VMF_* */
	int32_t mnt_id;     /* the mapped file's mount, as fdinfo of its map_files link says; -1: not known */
	uint32_t fmode;     /* CR_ENG_FMODE_* of the mapped file (its map_files link's mode); 0: not known */
	const char *name;   /* path or [heap]/[stack]/[vdso]/...; "" if none */
};

/*
 * cr_eng_vma.fmode.  With mnt_id, dev and ino they identify a mapped file
 * well enough for CRIU to open each regular file once per dump rather
 * than once per task that maps it (map_files, fstat and fdinfo each time).
 */
#define CR_ENG_FMODE_READ  (1u << 0)
#define CR_ENG_FMODE_WRITE (1u << 1)

/* The common fields of /proc/PID/fdinfo/FD. */
struct cr_eng_fdinfo {
	uint64_t pos;
	uint32_t flags;     /* f_flags, with O_CLOEXEC if the fd has it */
	int32_t mnt_id;
	uint32_t locks;     /* CR_ENG_LOCKS_*: whether the file has locks, from the same read */
	uint32_t reserved;  /* 0 */
};

/*
 * cr_eng_fdinfo.locks.  CRIU reads the locks of a file that has any from
 * the fd's procfs fdinfo ("lock:" lines); an engine that knows which
 * files have none spares CRIU reading /proc/locks to find out, which
 * takes an RCU grace period (milliseconds) while the tree is frozen.
 */
#define CR_ENG_LOCKS_UNKNOWN 0 /* the engine does not say: CRIU finds out */
#define CR_ENG_LOCKS_NONE    1 /* no flock, POSIX, OFD lock or lease on the file */
#define CR_ENG_LOCKS_HELD    2 /* some, whoever holds them */

/*
 * The small per-task reads of dump_task_core_all(): /proc/PID/personality,
 * loginuid and oom_score_adj, and prlimit64() of every resource.  Reading
 * the rlimits of a task of another user needs CAP_SYS_RESOURCE through
 * prlimit64(); an engine that reads them from the task does not.
 */
#define CR_ENG_RLIMITS_MAX 16 /* RLIM_NLIMITS */

#define CR_ENG_TASKMISC_LOGINUID (1u << 0) /* loginuid is set (the kernel has audit) */
#define CR_ENG_TASKMISC_OOM      (1u << 1) /* oom_score_adj is set */

struct cr_eng_taskmisc {
	uint32_t have;          /* CR_ENG_TASKMISC_*: which of the optional fields are set */
	uint32_t personality;   /* task->personality */
	uint32_t loginuid;      /* as /proc/PID/loginuid prints it; (uint32_t)-1 when unset */
	int32_t oom_score_adj;
	uint32_t nr_rlimits;    /* entries of rlimits[] set: RLIM_NLIMITS of the engine's kernel */
	uint32_t reserved;      /* 0 */
	struct {
		uint64_t cur;   /* RLIM_INFINITY as ~0 */
		uint64_t max;
	} rlimits[CR_ENG_RLIMITS_MAX];
};

/* The namespaces dump_task_ns_ids() reads, cr_eng_nsids.kid[] */
enum cr_eng_ns {
	CR_ENG_NS_PID,
	CR_ENG_NS_NET,
	CR_ENG_NS_IPC,
	CR_ENG_NS_UTS,
	CR_ENG_NS_MNT,
	CR_ENG_NS_USER,
	CR_ENG_NS_CGROUP,
	CR_ENG_NS_TIME,
	CR_ENG_NS_TIME_FOR_CHILDREN,
	CR_ENG_NS__MAX
};

/*
 * The namespaces of a task: the inode number of /proc/PID/ns/NAME (the
 * namespace's kid), 0 where /proc has no such file (ENOENT: the kernel
 * lacks that kind of namespace).
 */
struct cr_eng_nsids {
	uint32_t kid[CR_ENG_NS__MAX];
	uint32_t reserved; /* 0 */
};

/*
 * One open file of a task: what fstat() of the fd says of it (to tell it
 * is the same file), what fstatfs() says, and what readlink() of
 * /proc/PID/fd/N gives, relative to CRIU's root.  file_key names the open
 * file (what kcmp(KCMP_FILE) compares) without a kernel address: fds with
 * the same key are one open file, fds with different keys of the same
 * read (the same high 32 bits) are different ones; 0 is no key.
 */
struct cr_eng_fd {
	int32_t fd;
	uint32_t mode;      /* st_mode */
	uint64_t ino;       /* st_ino */
	uint32_t dev_major; /* major(st_dev) */
	uint32_t dev_minor; /* minor(st_dev) */
	uint64_t fs_magic;  /* the superblock's magic (fstatfs() may say another: 9p) */
	int32_t path_err;   /* 0, or why path is NULL (e.g. -ENAMETOOLONG): CRIU reads the link itself */
	uint32_t path_len;  /* strlen(path) */
	const char *path;   /* NUL-terminated; may hold any byte but NUL */
	uint64_t file_key;  /* (ABI 5) the engine's read, high 32 bits, and the file in it; 0: none */
};

/*
 * Every open fd of a task, ascending.  fds[] and the paths are one
 * allocation, released with free(fds); nr 0 and fds NULL for a task
 * without files.
 */
struct cr_eng_fdmeta {
	uint32_t nr;
	uint32_t reserved; /* 0 */
	struct cr_eng_fd *fds;
};

/*
 * The auxiliary vector of a task, as /proc/PID/auxv holds it: key, value
 * pairs up to and including the AT_NULL pair; nr 0 for a task without mm.
 */
#define CR_ENG_AUXV_MAX 64

struct cr_eng_auxv {
	uint32_t nr;       /* words of word[] set */
	uint32_t reserved; /* 0 */
	uint64_t word[CR_ENG_AUXV_MAX];
};

/*
 * One of a task's executable, working directory and root directory: what
 * CRIU learns by opening /proc/PID/{exe,cwd,root}: fstat() (mode, dev,
 * ino), the mount fdinfo shows and readlink(); and the superblock's magic
 * (what fstatfs() says of a local file system; 9p says the server's).
 */
struct cr_eng_taskfs_file {
	uint32_t mode;
	uint32_t dev_major;
	uint32_t dev_minor;
	int32_t mnt_id;
	uint64_t ino;
	uint64_t fs_magic;
	int32_t err;        /* 0; -ENOENT: the task has none (no mm: no exe); else no path (CRIU reads the link) */
	uint32_t path_len;  /* strlen(path) */
	const char *path;   /* NUL-terminated, in taskfs.paths; NULL when err is set */
};

struct cr_eng_taskfs {
	struct cr_eng_taskfs_file exe, cwd, root;
	char *paths; /* the three paths in one allocation, released with free() (NULL: none) */
};

/*
 * Whether a task has POSIX timers (/proc/PID/timers lists some): CRIU
 * reads the file only for a task that has.
 */
struct cr_eng_timers {
	uint32_t any;      /* 1: some; 0: none */
	uint32_t reserved; /* 0 */
};

/*
 * A task's cgroups: the text of /proc/PID/task/TID/cgroup, one
 * "ID:CONTROLLERS:PATH" line per hierarchy, as CRIU would read it.
 */
#define CR_ENG_CGROUP_TEXT_MAX (64 * 1024)
struct cr_eng_cgroup {
	char *text;        /* NUL-terminated, released with free() */
	uint32_t len;      /* strlen(text) */
	uint32_t reserved; /* 0 */
};

/*
 * The fds of a task whose fdinfo has fields of their kind, with those
 * fields: an eventfd's "eventfd-count", a signalfd's "sigmask", a
 * timerfd's clock, ticks, settime flags and times.  An fd of another kind
 * is not listed (CRIU reads its fdinfo).
 */
#define CR_ENG_FDTYPE_EVENTFD  1
#define CR_ENG_FDTYPE_SIGNALFD 2
#define CR_ENG_FDTYPE_TIMERFD  3

struct cr_eng_fdtype_fd {
	int32_t fd;
	uint32_t kind;  /* CR_ENG_FDTYPE_* */
	uint64_t value; /* eventfd: its counter; signalfd: the signals it takes (fdinfo's sigmask); timerfd: ticks */
	uint32_t flags; /* eventfd: its flags (EFD_SEMAPHORE); timerfd: its settime flags; else 0 */
	int32_t clockid; /* timerfd: its clock; else 0 */
	int64_t it_value_ns;    /* timerfd: the time to its next expiry; -1: not known (CRIU reads the fdinfo) */
	int64_t it_interval_ns; /* timerfd: its interval */
};

/* fds[] ascending, released with free(); nr 0 and fds NULL for none */
struct cr_eng_fdtype {
	uint32_t nr;
	uint32_t reserved; /* 0 */
	struct cr_eng_fdtype_fd *fds;
};

/*
 * The epoll fds of a task, each with its targets as its fdinfo lists
 * them ("tfd:" lines, in the kernel's order).  An fd of another kind is
 * not listed.
 */
struct cr_eng_epoll_tfd {
	int32_t tfd;     /* the fd the target was added as (it may be closed since) */
	uint32_t events;
	uint64_t data;
	int64_t pos;     /* the target file's position */
	uint64_t ino;    /* its inode's number */
	uint32_t sdev;   /* its superblock's s_dev, the kernel's encoding (major << 20 | minor), as fdinfo's "sdev" */
	uint32_t reserved; /* 0 */
};

#define CR_ENG_EPOLL_TFDS_UNKNOWN UINT32_MAX

struct cr_eng_epoll_fd {
	int32_t fd;
	uint32_t nr_tfds; /* CR_ENG_EPOLL_TFDS_UNKNOWN: more than the engine lists (CRIU reads the fdinfo) */
	uint32_t first;   /* its targets: tfds[first .. first + nr_tfds) */
	uint32_t reserved; /* 0 */
};

/* fds[] ascending; tfds[] in the same allocation, released with free(fds); nr 0 and fds NULL for none */
struct cr_eng_epoll {
	uint32_t nr;
	uint32_t nr_tfds;
	struct cr_eng_epoll_fd *fds;
	struct cr_eng_epoll_tfd *tfds;
};

/*
 * The pidfds of a task, each with what its fdinfo says: the process it
 * refers to ("Pid" and the last of "NSpid") and its inode ("ino").  An
 * fd of another kind is not listed.
 */
struct cr_eng_pidfd_fd {
	int32_t fd;
	int32_t nr;     /* the process in CRIU's pid namespace; 0: not seen from it; -1: exited */
	int32_t ns_nr;  /* its number in its own pid namespace (nr where nr <= 0) */
	uint32_t reserved; /* 0 */
	uint64_t ino;
};

/* fds[] ascending, released with free(); nr 0 and fds NULL for none */
struct cr_eng_pidfd {
	uint32_t nr;
	uint32_t reserved; /* 0 */
	struct cr_eng_pidfd_fd *fds;
};

/*
 * The inotify fds of a task, each with its watches as its fdinfo lists
 * them ("inotify wd:" lines, in the kernel's order), each with the file
 * handle of the watched inode.  An fd of another kind is not listed.
 */
struct cr_eng_inotify_wd {
	int32_t wd;
	uint32_t mask;
	uint64_t ino;
	uint32_t sdev;       /* the kernel's s_dev (major << 20 | minor), as fdinfo's "sdev" */
	uint32_t ignored_mask;
	uint32_t fh_bytes;   /* 1..16 */
	int32_t fh_type;
	uint8_t fh[16];
};

#define CR_ENG_INOTIFY_WDS_UNKNOWN UINT32_MAX

struct cr_eng_inotify_fd {
	int32_t fd;
	uint32_t nr_wds;  /* CR_ENG_INOTIFY_WDS_UNKNOWN: the engine cannot list them all (CRIU reads the fdinfo) */
	uint32_t first;   /* its watches: wds[first .. first + nr_wds) */
	uint32_t reserved; /* 0 */
};

/* fds[] ascending; wds[] in the same allocation, released with free(fds); nr 0 and fds NULL for none */
struct cr_eng_inotify {
	uint32_t nr;
	uint32_t nr_wds;
	struct cr_eng_inotify_fd *fds;
	struct cr_eng_inotify_wd *wds;
};

/*
 * The fanotify fds of a task, each with its group's flags and its inode
 * and mount marks as its fdinfo lists them (in the kernel's order), an
 * inode mark with the file handle of its inode.  Filesystem marks are not
 * listed (CRIU does not read them); an fd of another kind is not listed.
 */
#define CR_ENG_FANOTIFY_MARK_INODE 1
#define CR_ENG_FANOTIFY_MARK_MOUNT 2

struct cr_eng_fanotify_mark {
	uint32_t type;       /* CR_ENG_FANOTIFY_MARK_* */
	uint32_t mflags;
	uint32_t mask;
	uint32_t ignored_mask;
	uint64_t ino;        /* inode marks */
	uint32_t sdev;       /* inode marks: the kernel's s_dev (major << 20 | minor), as fdinfo's "sdev" */
	uint32_t mnt_id;     /* mount marks */
	uint32_t fh_bytes;   /* inode marks: 1..16 */
	int32_t fh_type;
	uint8_t fh[16];
};

#define CR_ENG_FANOTIFY_MARKS_UNKNOWN UINT32_MAX

struct cr_eng_fanotify_fd {
	int32_t fd;
	uint32_t fa_flags;  /* fdinfo's "fanotify flags" */
	uint32_t ev_flags;  /* and "event-flags" */
	uint32_t nr_marks;  /* CR_ENG_FANOTIFY_MARKS_UNKNOWN: the engine cannot list them all (CRIU reads the fdinfo) */
	uint32_t first;     /* its marks: marks[first .. first + nr_marks) */
	uint32_t reserved;  /* 0 */
};

/* fds[] ascending; marks[] in the same allocation, released with free(fds); nr 0 and fds NULL for none */
struct cr_eng_fanotify {
	uint32_t nr;
	uint32_t nr_marks;
	struct cr_eng_fanotify_fd *fds;
	struct cr_eng_fanotify_mark *marks;
};

/*
 * The mounts of a task's mount namespace: the text of /proc/PID/mountinfo,
 * one line per mount, as CRIU would read it.
 */
#define CR_ENG_MOUNTINFO_TEXT_MAX (16 << 20)
struct cr_eng_mountinfo {
	char *text;        /* NUL-terminated, released with free() */
	uint32_t len;      /* strlen(text) */
	uint32_t reserved; /* 0 */
};

struct cr_engine_ops {
	const char *name;
	unsigned int abi_version; /* CR_ENGINE_ABI_VERSION */
	/*
	 * CR_ENGINE_OP__MAX of the engine's criu-engine.h: the ops it has
	 * slots for.  CRIU treats an op at or past it as absent (procfs
	 * serves it), so an engine built before an op was added still works.
	 */
	unsigned int nr_ops;

	/* Start the engine (dump path only); may be slow, is timed apart. */
	int (*init)(void);
	void (*fini)(void);

	/*
	 * The whole tree is frozen: the engine may snapshot what the ops
	 * below will ask for.  It reports in op_ns (nr_op_ns entries, CRIU's
	 * CR_ENGINE_OP__MAX) how much of its work belongs to each op so that
	 * CRIU can charge the call's wall time to those ops in proportion.
	 */
	int (*prepare)(const pid_t *pids, int nr, uint64_t *op_ns, unsigned int nr_op_ns);

	/*
	 * Optional, after init(): how the engine runs for this dump and why,
	 * one line for the log and stats-dump (e.g. "service at
	 * /run/crib/crib.sock: crib serve pid 812, session 31").  NULL: nothing
	 * to say.
	 */
	const char *(*how)(void);

	/* The ops, in the order of enum cr_engine_op; new ones go at the end. */

	int (*stat)(pid_t pid, struct cr_eng_stat *st);
	int (*status)(pid_t pid, struct cr_eng_status *st);
	int (*threads)(pid_t pid, pid_t **tids, int *nr);
	int (*children)(pid_t pid, pid_t **pids, int *nr);
	int (*vma)(pid_t pid, struct cr_eng_vma **vmas, int *nr);
	int (*fds)(pid_t pid, int **fds, int *nr);
	/*
	 * The common fdinfo of @nr fds of @pid: fi[i] for fds[i].  CRIU asks
	 * for all the fds of a task in one call, before it dumps them.
	 */
	int (*fdinfo)(pid_t pid, const int *fds, int nr, struct cr_eng_fdinfo *fi);
	int (*taskmisc)(pid_t pid, struct cr_eng_taskmisc *tm);
	int (*nsids)(pid_t pid, struct cr_eng_nsids *ns);
	int (*fdmeta)(pid_t pid, struct cr_eng_fdmeta *fm);
	int (*auxv)(pid_t pid, struct cr_eng_auxv *av);
	int (*taskfs)(pid_t pid, struct cr_eng_taskfs *tf);
	int (*timers)(pid_t pid, struct cr_eng_timers *t);
	int (*cgroup)(pid_t tid, struct cr_eng_cgroup *cg);
	int (*fdtype)(pid_t pid, struct cr_eng_fdtype *ft);
	int (*epoll)(pid_t pid, struct cr_eng_epoll *ep);
	int (*pidfd)(pid_t pid, struct cr_eng_pidfd *pf);
	int (*inotify)(pid_t pid, struct cr_eng_inotify *in);
	int (*fanotify)(pid_t pid, struct cr_eng_fanotify *fa);
	int (*mountinfo)(pid_t pid, struct cr_eng_mountinfo *mi);
};

#endif /* __CRIU_ENGINE_H__ */
