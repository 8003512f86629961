// A workload with many VMAs and many fds, for tests and benchmarks.
//
// usage: many [-v NVMAS] [-k anon|shared|file] [-f NFDS] [-r READY_FILE] [-b] [-i PATH]
//
// -i: an inotify fd watching PATH and a fanotify fd marking it too (ops
// inotify, fanotify; CRIU must be able to open the file by its handle:
// ext4, not a fresh tmpfs file).
// -b: bytes that are not UTF-8 in its comm and in the name of a mapped
// (then deleted) file.
// VMAs: one region whose pages alternate between two protections, so every
// page is a VMA of its own; each page is touched so that smaps has
// something to count.  -k: private anonymous memory (the default), shared
// anonymous memory (a file to the kernel), or a shared mapping of a file
// made next to READY_FILE (in /tmp without one), left for the caller to
// remove: CRIU would have to copy a deleted one into the image.  fds: an
// eventfd, a signalfd, a timerfd, an epoll fd watching them and a pidfd of
// itself first, then /dev/null, a regular file at varied offsets and
// flags, pipe ends and sockets (a few hundred of each), until NFDS are
// open.  When all is set up it writes its pid to READY_FILE (if given) and
// sleeps.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int make_vmas(long n, const char *kind, const char *ready)
{
	long page = sysconf(_SC_PAGESIZE), i;
	const char *slash = ready ? strrchr(ready, '/') : NULL;
	char path[4096];
	int flags = MAP_PRIVATE | MAP_ANONYMOUS, fd = -1;
	char *base;

	if (n <= 0)
		return 0;
	if (!strcmp(kind, "shared")) {
		flags = MAP_SHARED | MAP_ANONYMOUS;
	} else if (!strcmp(kind, "file")) {
		flags = MAP_SHARED;
		snprintf(path, sizeof(path), "%.*s/crib-many-map-XXXXXX", slash ? (int)(slash - ready) : 4,
			 slash ? ready : "/tmp");
		fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, n * page)) {
			perror("map file");
			return -1;
		}
	} else if (strcmp(kind, "anon")) {
		fprintf(stderr, "-k: anon, shared or file, not %s\n", kind);
		return -1;
	}
	base = mmap(NULL, n * page, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	if (base == MAP_FAILED) {
		perror("mmap");
		return -1;
	}
	for (i = 0; i < n; i++)
		base[i * page] = (char)i;
	/* odd pages read-only: neighbours cannot merge, one VMA per page */
	for (i = 1; i < n; i += 2)
		if (mprotect(base + i * page, page, PROT_READ)) {
			perror("mprotect");
			return -1;
		}
	return 0;
}

/* CRIU keeps at most 1024 pipes with data per dump (NR_PIPES_WITH_DATA) */
#define MAX_PIPES	200
#define MAX_SOCKPAIRS	200

static int make_fds(long n, const char *scratch)
{
	long i, npipes = 0, nsocks = 0;
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		/* a raised hard limit needs CAP_SYS_RESOURCE; else take what it allows */
		struct rlimit want = { (rlim_t)n + 64, (rlim_t)n + 64 };

		if (rl.rlim_max >= want.rlim_max || setrlimit(RLIMIT_NOFILE, &want)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (n >= 5) {
		/*
		 * an fd of each kind ops fdtype, epoll and pidfd read: an eventfd with a count, a
		 * signalfd with a mask, a timerfd, an epoll fd watching the three, a pidfd of itself
		 */
		struct itimerspec in1000 = { .it_value = { 1000, 0 }, .it_interval = { 7, 5 } };
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 0xfeedface };
		int efd, sfd, tfd, ep;
		sigset_t sigs;

		sigemptyset(&sigs);
		sigaddset(&sigs, SIGUSR2);
		sigaddset(&sigs, SIGWINCH);
		if ((efd = eventfd(5, EFD_SEMAPHORE)) < 0 || sigprocmask(SIG_BLOCK, &sigs, NULL) ||
		    (sfd = signalfd(-1, &sigs, 0)) < 0 || (tfd = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 ||
		    timerfd_settime(tfd, 0, &in1000, NULL) || (ep = epoll_create1(0)) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) || syscall(SYS_pidfd_open, getpid(), 0) < 0) {
			perror("eventfd/signalfd/timerfd/epoll/pidfd");
			return -1;
		}
		n -= 5;
	}
	for (i = 0; i < n;) {
		switch (i % 8) {
		case 0: case 1: case 2: case 3:
			fd = open("/dev/null", (i & 1) ? O_RDONLY | O_CLOEXEC : O_WRONLY);
			i++;
			break;
		case 4: case 5:
			fd = open(scratch, (i & 2) ? O_RDWR | O_APPEND : O_RDONLY | O_NONBLOCK);
			if (fd >= 0)
				lseek(fd, i, SEEK_SET);
			i++;
			break;
		case 6: {
			int p[2];

			if (npipes++ >= MAX_PIPES || i + 2 > n) {
				fd = open("/dev/null", O_RDWR);
				i++;
				break;
			}
			fd = pipe2(p, O_NONBLOCK);
			i += 2;
			break;
		}
		default: {
			int sv[2];

			if (nsocks++ >= MAX_SOCKPAIRS || i + 2 > n) {
				fd = open("/dev/null", O_RDWR);
				i++;
				break;
			}
			fd = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
			i += 2;
			break;
		}
		}
		if (fd < 0) {
			perror("fd");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long nvmas = 0, nfds = 0;
	const char *ready = NULL, *kind = "anon", *watch = NULL;
	char plain[] = "/tmp/crib-many-XXXXXX", bytes[] = "/tmp/crib-many-\xff\x80\xc3\xa9-XXXXXX";
	char *scratch = plain;
	int opt, fd, odd = 0;

	while ((opt = getopt(argc, argv, "v:k:f:r:bi:")) != -1) {
		switch (opt) {
		case 'v': nvmas = atol(optarg); break;
		case 'k': kind = optarg; break;
		case 'f': nfds = atol(optarg); break;
		case 'r': ready = optarg; break;
		case 'b': odd = 1; break;
		case 'i': watch = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-v NVMAS] [-k anon|shared|file] [-f NFDS] [-r READY_FILE] [-b] [-i PATH]\n", argv[0]);
			return 2;
		}
	}
	if (watch) {
		/* two of the NFDS */
		fd = inotify_init1(0);
		if (fd < 0 || inotify_add_watch(fd, watch, IN_DELETE_SELF | IN_MOVE_SELF) < 0 ||
		    (fd = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY)) < 0 ||
		    fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, watch)) {
			perror(watch);
			return 1;
		}
		nfds -= 2;
	}
	if (odd) {
		scratch = bytes;
		prctl(PR_SET_NAME, "many-\xc3\xa9\x80\xff");
	}
	fd = mkstemp(scratch);
	if (fd < 0 || write(fd, "crib", 4) != 4) {
		perror("mkstemp");
		return 1;
	}
	if (odd && mmap(NULL, 4, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	if (make_vmas(nvmas, kind, ready) || make_fds(nfds, scratch))
		return 1;
	unlink(scratch);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f)
			return 1;
		fprintf(f, "%d\n", getpid());
		fclose(f);
	}
	for (;;)
		pause();
}
