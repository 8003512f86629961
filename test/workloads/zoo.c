// A workload with one of each kind of VMA, fd, thread, child and task
// state that the collector tests compare with /proc.
//
// usage: zoo DIR
//
// DIR is a scratch folder for its files.  When everything is set up it
// writes "PID\n" to DIR/ready and waits; the test stops it (SIGSTOP) and
// its children before reading.  The children's pids are in DIR/children,
// one per line.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <unistd.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

#define NTHREADS 3

static const char *dir;
static long page;
static int kids_fd;	/* DIR/children */

static void die(const char *what)
{
	fprintf(stderr, "zoo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void note_child(pid_t pid)
{
	dprintf(kids_fd, "%d\n", pid);
}

static void *map(size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* A file of n pages in folder d. */
static int make_file(const char *d, const char *name, int pages, char *path)
{
	int fd;

	snprintf(path, 4096, "%s/%s", d, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, pages * page))
		die(path);
	return fd;
}

static void make_vmas(void)
{
	char path[4096];
	char *p;
	int fd;

	/* anonymous private, split by mprotect into three */
	p = map(3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mprotect(p + page, page, PROT_READ))
		die("mprotect");
	/* a guard page */
	map(page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* anonymous shared: "/dev/zero (deleted)" */
	map(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	/* file private and shared, at an offset */
	fd = make_file(dir, "mapped", 4, path);
	map(2 * page, PROT_READ, MAP_PRIVATE, fd, page);
	map(page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * page);
	map(page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 3 * page);
	close(fd);
	/* a name that is not UTF-8: 0xff, 0x80, then UTF-8 for U+00E9 */
	fd = make_file(dir, "bytes-\xff\x80\xc3\xa9", 1, path);
	map(page, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	/* a file on another mount (tmpfs) */
	fd = make_file("/dev/shm", "crib-zoo-shm", 1, path);
	map(page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	/* a deleted file */
	fd = make_file(dir, "deleted", 1, path);
	map(page, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	/* memfd: "/memfd:zoo (deleted)" */
	fd = memfd_create("zoo", 0);
	if (fd < 0 || ftruncate(fd, page))
		die("memfd");
	map(page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* keep the fd: a memfd fd in the table too */
	/* SysV shm: "/SYSV00000000 (deleted)" */
	{
		int id = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600);

		if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
			die("shm");
		shmctl(id, IPC_RMID, NULL);
	}
	/* VmFlags: nr, lo (flag and mlock), gd, dp and the madvise ones */
	map(page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	map(page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	p = map(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mlock(p, page))
		die("mlock");
	map(4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
		fprintf(stderr, "zoo: MAP_DROPPABLE: %s (skipped)\n", strerror(errno));
	{
		static const int advice[] = {
			MADV_SEQUENTIAL, MADV_RANDOM, MADV_DONTFORK, MADV_DONTDUMP,
			MADV_MERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_WIPEONFORK,
		};
		unsigned int i;

		/* one region, one advice per page with unadvised pages between */
		p = map(2 * 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		for (i = 0; i < 8; i++)
			if (madvise(p + 2 * i * page, page, advice[i]))
				fprintf(stderr, "zoo: madvise %d: %s (skipped)\n", advice[i], strerror(errno));
	}
}

static void make_fds(void)
{
	char path[4096];
	int fd, p[2], sv[2];
	sigset_t sigs;

	fd = make_file(dir, "fdfile", 1, path);
	close(fd);
	fd = open(path, O_RDWR | O_APPEND);
	lseek(fd, 100, SEEK_SET);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	lseek(fd, 7, SEEK_SET);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_SYNC);
	open("/dev/null", O_WRONLY | O_CLOEXEC);
	open("/dev/null", O_RDONLY);
	open(dir, O_PATH | O_DIRECTORY);
	/* file locks: a flock and a POSIX record lock, each shown in its fd's fdinfo */
	fd = make_file(dir, "flocked", 1, path);
	if (flock(fd, LOCK_SH))
		die("flock");
	fd = make_file(dir, "posix-locked", 1, path);
	if (fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 }))
		die("fcntl lock");
	if (pipe2(p, O_NONBLOCK) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("pipe");
	socket(AF_INET, SOCK_STREAM, 0);
	eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
	epoll_create1(0);
	timerfd_create(CLOCK_MONOTONIC, 0);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGWINCH);
	signalfd(-1, &sigs, SFD_CLOEXEC);
	inotify_init1(0);
	/* a high fd: the table grows past one 512-entry chunk */
	if (dup2(fd, 1000) < 0 || fcntl(1000, F_SETFD, FD_CLOEXEC))
		die("dup2");
}

static void *thread(void *arg)
{
	long i = (long)arg;

	/* a child of a thread other than the leader */
	if (i == 1) {
		pid_t pid = fork();

		if (pid == 0) {
			for (;;)
				pause();
		}
		note_child(pid);
	}
	for (;;)
		pause();
	return NULL;
}

/* A child with a seccomp filter that allows everything: Seccomp 2. */
static void child_seccomp(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		die("seccomp");
	for (;;)
		pause();
}

/* A child with distinct real/effective/saved ids (capabilities drop). */
static void child_ids(void)
{
	if (setresgid(101, 102, 103) || setresuid(201, 202, 203))
		die("setres*id");
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	char path[4096];
	sigset_t block;
	pid_t pid;
	long i;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	page = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "%s/children", dir);
	kids_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (kids_fd < 0)
		die(path);
	/* comm need not be UTF-8 either */
	prctl(PR_SET_NAME, "zoo-\xc3\xa9\x80\xff");

	/* blocked and pending signals: SigBlk, SigPnd (this thread), ShdPnd */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR2);
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);

	make_vmas();
	make_fds();

	if ((pid = fork()) == 0)
		child_seccomp();
	note_child(pid);
	if ((pid = fork()) == 0)
		child_ids();
	note_child(pid);
	/* a zombie: exits at once, never reaped */
	if ((pid = fork()) == 0)
		_exit(7);
	note_child(pid);

	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, thread, (void *)i))
			die("pthread_create");
	usleep(200 * 1000);

	snprintf(path, sizeof(path), "%s/ready.tmp", dir);
	f = fopen(path, "w");
	if (!f)
		die(path);
	fprintf(f, "%d\n", getpid());
	fclose(f);
	{
		char ready[4096];

		snprintf(ready, sizeof(ready), "%s/ready", dir);
		rename(path, ready);
	}
	for (;;)
		pause();
}
