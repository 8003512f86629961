// A tree of tasks sharing many open files that only kcmp() tells apart,
// for the file-key tests (fdmeta's file_key, CRIU's fd ids).
//
// usage: files [-n N] [-c CHILDREN] -r READY_FILE
//
// The parent opens /dev/null N times (N files of one gen id: dev, ino and
// position 0), dups a quarter of them, opens N/4 eventfds (one anon inode:
// one gen id again) and an epoll that watches them and a dup of some, and
// a pipe.  Each child inherits all of it, closes a few, opens /dev/null
// and eventfds of its own, and the last one an epoll of its own watching
// an inherited eventfd.  When all are set up the parent writes its pid to
// READY_FILE and every task sleeps.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int must(int fd, const char *what)
{
	if (fd < 0)
		die(what);
	return fd;
}

static void watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		die("epoll_ctl");
}

static void child(int i, int last, int n, const int *nulls, const int *evs, int nev, int ready)
{
	int k, ep;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* some inherited files go, some stay shared with the parent */
	for (k = i; k < n; k += 7)
		close(nulls[k]);
	for (k = 0; k < n / 8; k++)
		must(open("/dev/null", k & 1 ? O_RDONLY : O_WRONLY), "open /dev/null");
	for (k = 0; k < nev / 4; k++)
		must(eventfd(k, 0), "eventfd");
	if (i == last) {
		ep = must(epoll_create1(0), "epoll_create1");
		watch(ep, evs[0]);
		watch(ep, must(dup(evs[1]), "dup"));
	}
	if (write(ready, "", 1) != 1)
		die("write");
	close(ready);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int n = 200, nchildren = 3, c, i, ep, p[2], sync[2];
	const char *readyf = NULL;
	int *nulls, *evs, nev;
	struct rlimit rl;
	char b;
	FILE *f;

	while ((c = getopt(argc, argv, "n:c:r:")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'c':
			nchildren = atoi(optarg);
			break;
		case 'r':
			readyf = optarg;
			break;
		default:
			fprintf(stderr, "usage: files [-n N] [-c CHILDREN] -r READY_FILE\n");
			return 2;
		}
	}
	if (!readyf || n < 8 || nchildren < 1) {
		fprintf(stderr, "usage: files [-n N>=8] [-c CHILDREN>=1] -r READY_FILE\n");
		return 2;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	nev = n / 4;
	nulls = calloc(n, sizeof(int));
	evs = calloc(nev, sizeof(int));
	if (!nulls || !evs)
		die("calloc");
	for (i = 0; i < n; i++)
		nulls[i] = must(open("/dev/null", i & 1 ? O_RDONLY : O_WRONLY), "open /dev/null");
	for (i = 0; i < n; i += 4)
		must(dup(nulls[i]), "dup");
	ep = must(epoll_create1(0), "epoll_create1");
	for (i = 0; i < nev; i++) {
		evs[i] = must(eventfd(i, 0), "eventfd");
		watch(ep, evs[i]);
		if (i % 5 == 0)
			watch(ep, must(dup(evs[i]), "dup"));
	}
	if (pipe(p) || pipe(sync))
		die("pipe");
	for (i = 0; i < nchildren; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(sync[0]);
			child(i, nchildren - 1, n, nulls, evs, nev, sync[1]);
		}
	}
	close(sync[1]);
	for (i = 0; i < nchildren; i++)
		if (read(sync[0], &b, 1) != 1)
			die("a child did not set up");
	close(sync[0]);
	f = fopen(readyf, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		die(readyf);
	for (;;)
		pause();
}
