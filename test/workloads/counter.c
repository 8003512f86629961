// A workload whose progress is visible from outside: every 50 ms it
// increments a counter kept in memory and writes it to a file (pwrite at
// offset 0), so a restored copy shows that it went on from where it was.
// It holds an eventfd and a signalfd too, an epoll fd watching both and a
// pidfd of itself, and, given WATCH, an inotify fd watching it and a
// fanotify fd marking it, so that a dump has every kind of state CRIB
// reads (ops fdtype, epoll, pidfd, inotify, fanotify).  WATCH must be a
// file CRIU can open by its handle (ext4 here: not a fresh tmpfs file,
// whose handle only an fdinfo read makes usable).
//
// usage: counter FILE [WATCH]
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned long n = 0;
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, len, efd, sfd, ep;
	sigset_t sigs;
	char buf[32];

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s FILE [WATCH]\n", argv[0]);
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR2);
	if ((efd = eventfd(3, 0)) < 0 || sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0 || (ep = epoll_create1(0)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) || (ev.data.u64 = 42, epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev)) ||
	    syscall(SYS_pidfd_open, getpid(), 0) < 0) {
		perror("eventfd/signalfd/epoll/pidfd");
		return 1;
	}
	if (argc == 3 && ((fd = inotify_init1(0)) < 0 || inotify_add_watch(fd, argv[2], IN_DELETE_SELF | IN_MOVE_SELF) < 0 ||
			  (fd = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY)) < 0 ||
			  fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, argv[2]))) {
		perror(argv[2]);
		return 1;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		/* fixed width: the file keeps its size, which CRIU checks on restore */
		len = snprintf(buf, sizeof(buf), "%019lu\n", ++n);
		if (pwrite(fd, buf, len, 0) != len || ftruncate(fd, len))
			return 1;
		nanosleep(&tick, NULL);
	}
}
