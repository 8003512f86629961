// SPDX-License-Identifier: LGPL-2.1
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "criu-log.h"

#include "shim.h"

#define SHIM_STOP_MS 1000 /* grace period for a clean exit */

static struct {
	int sk;		/* our end of the socketpair, -1 when none */
	pid_t pid;	/* the engine */
	pid_t helper;	/* its parent, our child (see shim_start) */
	volatile int *exit_code;	/* shared with the helper: the engine's (see helper_main) */
	pid_t owner;	/* the process that started it */
	uint32_t seq;
	int timeout_ms;
	uint8_t *rbuf;	/* the receive buffer, kept from one answer to the next */
	size_t rcap;
	int shm_fd;	/* the shared answer buffer (memfd), -1 when none */
	uint8_t *shm;
	bool service;	/* sk is a session of crib serve: nothing of ours to reap */
	int spin_us;	/* see SHIM_SPIN_US */
} shim = { .sk = -1, .shm_fd = -1 };

/*
 * Answers are unpacked into an arena whose pages are touched when the
 * engine starts, and the receive buffer is kept: on fresh memory every
 * 4 KiB costs a page fault on first touch, several times the copy itself,
 * and a snapshot of 10,000 VMAs is about 1 MB.  What does not fit the
 * arena comes from malloc().  The arena starts over once everything
 * unpacked into it has been released.
 */
#define SHIM_ARENA_SIZE	(8u << 20)
#define SHIM_RBUF_SIZE	(2u << 20)

static struct {
	uint8_t *base;
	size_t used;
	long live;	/* allocations handed out and not yet freed */
} arena;

static bool in_arena(const void *p)
{
	return arena.base && (const uint8_t *)p >= arena.base && (const uint8_t *)p < arena.base + SHIM_ARENA_SIZE;
}

static void *arena_alloc(void *data, size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;
	void *p;

	if (!arena.base || arena.used + n > SHIM_ARENA_SIZE)
		return malloc(size ?: 1);
	p = arena.base + arena.used;
	arena.used += n;
	arena.live++;
	return p;
}

static void arena_free(void *data, void *p)
{
	if (!p)
		return;
	if (!in_arena(p)) {
		free(p);
		return;
	}
	if (--arena.live == 0)
		arena.used = 0;
}

static ProtobufCAllocator shim_alloc = {
	.alloc = arena_alloc,
	.free = arena_free,
};

static int lift(int fd);

/* The buffer shared with the engine: before the helper is cloned, which passes it on. */
static void shim_shared_memory(bool populate)
{
	int fd;
	void *p = MAP_FAILED;

	if (shim.shm_fd >= 0)
		return;
	/* without it answers come over the socket: slower, not wrong */
	fd = lift(memfd_create("crib-answers", MFD_CLOEXEC));
	if (fd >= 0 && !ftruncate(fd, SHIM_SHM_SIZE))
		p = mmap(NULL, SHIM_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
	if (p != MAP_FAILED) {
		shim.shm_fd = fd;
		shim.shm = p;
	} else if (fd >= 0) {
		close(fd);
	}
}

/*
 * The arena and the receive buffer, touched now, at start-up, and only
 * after the helper is cloned.  The helper is a fork of CRIU and lives as
 * long as the engine: every private page CRIU had when it was cloned
 * stays copy-on-write, and the first write to each costs a fault and a
 * 4 KiB copy (unpacking a 10,000-VMA snapshot took ~0.9 ms instead of
 * ~0.1 ms).  Pages mapped after the clone are CRIU's alone.
 */
static void shim_private_memory(void)
{
	if (!arena.base) {
		void *p = mmap(NULL, SHIM_ARENA_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		arena.base = p == MAP_FAILED ? NULL : p;
	}
	if (!shim.rbuf) {
		shim.rbuf = malloc(SHIM_RBUF_SIZE);
		if (shim.rbuf) {
			memset(shim.rbuf, 0, SHIM_RBUF_SIZE);
			shim.rcap = SHIM_RBUF_SIZE;
		}
	}
}

/*
 * A snapshot answer is about 1 MB for 10,000 VMAs; with the default socket
 * buffer (~200 KB) it crosses in five rounds of wake-ups.  CRIU runs with
 * CAP_NET_ADMIN, so the FORCE variants can pass net.core.wmem_max; if they
 * fail the default stays, which is only slower.
 */
static void big_buffers(int sk)
{
	int size = SHIM_RBUF_SIZE * 2;

	if (setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(sk, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

void shim_free(Crib__Response *resp)
{
	if (resp)
		crib__response__free_unpacked(resp, &shim_alloc);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Only async-signal-safe calls from here to execv(): we are a copy of CRIU. */
static void __attribute__((noreturn)) engine_child(int sk, int devnull, int report, pid_t parent, char *const argv[])
{
	int err;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(127);
	/* The helper may have died before prctl(): then nobody would kill us. */
	if (getppid() != parent)
		_exit(127);
	/* sk, devnull, report and the memfd are >= 10, so none of these clobbers another. */
	if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(sk, SHIM_FD) < 0)
		_exit(127);
	if (shim.shm_fd >= 0 ? dup2(shim.shm_fd, SHIM_SHM_FD) < 0 : close(SHIM_SHM_FD) < 0 && errno != EBADF)
		_exit(127);
	/* CRIU keeps service fds without O_CLOEXEC: don't leak them. */
	syscall(SYS_close_range, SHIM_SHM_FD + 1, report - 1, 0);
	syscall(SYS_close_range, report + 1, ~0u, 0);
	execv(argv[0], argv);
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/*
 * The engine's parent.  CRIU reaps with waitpid(-1) and, while a parasite
 * runs, exits on any SIGCHLD: a child of its own must not come and go
 * under it.  This helper is a "clone child" (exit signal 0) that never
 * execs (exec would reset the exit signal to SIGCHLD), so waitpid(-1)
 * without __WALL does not see it and its exit signals nothing; the engine
 * is its child.
 *
 * It must not exit on its own either: compel waits with wait4(-1, __WALL)
 * while it stops a task on a syscall, and reaps any child that has
 * exited, ours included; it then takes that pid for one of the dumped
 * tasks in an unexpected state and gives up before curing the parasite,
 * which stays in the target.  So when the engine ends, the helper writes
 * its exit code (128 + signal if killed) to the word it shares with us
 * and waits to be killed: by reap(), or with CRIU (PDEATHSIG).
 */
static void __attribute__((noreturn)) helper_main(int sk, int devnull, int report, pid_t criu, char *const argv[])
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	pid_t self = getpid(), engine;
	sigset_t none;
	int sig, status = 0;

	/* None of CRIU's signal handlers may run in this copy of it. */
	for (sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != criu)
		_exit(127);

	engine = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (engine == 0)
		engine_child(sk, devnull, report, self, argv);
	if (write(report, &engine, sizeof(engine)) < 0)
		engine = -1;
	syscall(SYS_close_range, 0, ~0u, 0);
	if (engine < 0) {
		*shim.exit_code = 127;
	} else {
		while (waitpid(engine, &status, 0) < 0 && errno == EINTR)
			;
		*shim.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	for (;;)
		pause();
}

/*
 * Wait up to grace_ms for the engine to exit by itself, then SIGKILL it
 * and, either way, the helper, which we reap.  True (and the engine's exit
 * code, 128 + signal if killed) if the engine exited by itself.
 */
static bool reap(int grace_ms, int *code)
{
	int64_t deadline = now_ms() + grace_ms;
	bool own = true;
	int st;

	if (shim.helper <= 0)
		return false;
	while (*shim.exit_code < 0) {
		if (now_ms() >= deadline) {
			if (!own)
				break;	/* the helper did not reap it: it goes with the helper */
			/* never kill(0): that is our whole process group */
			if (shim.pid > 0)
				kill(shim.pid, SIGKILL);
			own = false;
			/* a moment for the helper to reap it, so that no zombie is left */
			deadline = now_ms() + SHIM_STOP_MS;
		}
		usleep(250);
	}
	if (own && code)
		*code = *shim.exit_code;
	/* the engine is gone or dying: its parent goes now, reaped here, not by compel */
	kill(shim.helper, SIGKILL);
	while (waitpid(shim.helper, &st, __WALL) < 0 && errno == EINTR)
		;
	shim.helper = 0;
	shim.pid = 0;
	return own;
}

/*
 * The end of a co-process, after its last answer: every answer was
 * checked as it came, so nothing more is asked (waiting for a reply to
 * Shutdown cost ~0.8 ms), and the engine is killed rather than left to
 * run Node's own teardown.  It is still waited for, with the tree frozen
 * (CRIU stops its engines in cr_plugin_fini()): the kernel freeing a
 * Node process's ~140 MB takes 13-20 ms here.  Not waiting (reaping only
 * the helper, whose death kills the engine) would leave the engine to the
 * init of CRIU's pid namespace, which a container's or ZDTM's may never
 * reap; a zombie keeps its cgroups, and a later CRIU in ZDTM's namespace
 * flavour then could not mount a v1 hierarchy (cgroup_stray: EBUSY).  And
 * CRIU must have no child left when it thaws or kills the tree
 * (pstree_wait() waits for any child), so the helper cannot outlive this.
 */
static void let_go(void)
{
	pid_t pid = shim.pid;

	close(shim.sk);
	shim.sk = -1;
	if (pid > 0)
		kill(pid, SIGKILL);
	reap(SHIM_STOP_MS, NULL);
	pr_info("engine pid %d: stopped and reaped\n", pid);
}

/* The stream is out of step or the engine is gone: drop it for good. */
static void shim_kill(void)
{
	pid_t pid = shim.pid;
	int code;

	if (shim.service) {
		/* not ours to kill: hang up, which ends the session */
		close(shim.sk);
		shim.sk = -1;
		shim.service = false;
		return;
	}
	close(shim.sk);
	shim.sk = -1;
	/* An engine that is exiting by itself gets a moment to say why. */
	if (!reap(100, &code))
		return;
	if (code > 128)
		pr_err("engine pid %d was killed by signal %d\n", pid, code - 128);
	else
		pr_err("engine pid %d exited with status %d%s\n", pid, code,
		       code == 127 ? " (a command in the launcher was not found?)" : "");
}

/* An fd at 10 or above (CLOEXEC), so that the children's dup2()s cannot clobber it. */
static int lift(int fd)
{
	int hi;

	if (fd < 0 || fd >= 10)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return hi;
}

static int read_full(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* The environment's tuning: CRIB_SPIN_US into shim.spin_us; the reply timeout, CRIB_TIMEOUT_MS, returned */
static int timeout_from_env(void)
{
	const char *spin = getenv("CRIB_SPIN_US");
	const char *timeout = getenv("CRIB_TIMEOUT_MS");

	shim.spin_us = spin && atoi(spin) >= 0 ? atoi(spin) : SHIM_SPIN_US;
	return timeout && atoi(timeout) > 0 ? atoi(timeout) : SHIM_TIMEOUT_MS;
}

int shim_start(char *const argv_in[])
{
	int sv[2] = { -1, -1 }, pfd[2] = { -1, -1 }, devnull, err, ret, n = 0;
	pid_t criu = getpid(), helper, engine = -1;
	char shm_fd[16], shm_size[24], *argv[24];

	if (shim.sk >= 0)
		return -EBUSY;
	shim.service = false;
	shim_shared_memory(true);

	/* the caller's arguments, then where the shared answer buffer is */
	while (argv_in[n] && n < 16) {
		argv[n] = argv_in[n];
		n++;
	}
	if (shim.shm_fd >= 0) {
		snprintf(shm_fd, sizeof(shm_fd), "%d", SHIM_SHM_FD);
		snprintf(shm_size, sizeof(shm_size), "%u", SHIM_SHM_SIZE);
		argv[n++] = "--shm-fd";
		argv[n++] = shm_fd;
		argv[n++] = "--shm-size";
		argv[n++] = shm_size;
	}
	argv[n] = NULL;

	shim.timeout_ms = timeout_from_env();

	devnull = lift(open("/dev/null", O_RDWR | O_CLOEXEC));
	if (devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe2(pfd, O_CLOEXEC)) {
		ret = -errno;
		pr_perror("engine: can't set up its fds");
		goto out;
	}
	big_buffers(sv[0]);
	big_buffers(sv[1]);
	sv[1] = lift(sv[1]);
	pfd[1] = lift(pfd[1]);
	if (sv[1] < 0 || pfd[1] < 0) {
		ret = -errno;
		pr_perror("engine: can't set up its fds");
		goto out;
	}

	/* The engine's exit code, written by the helper (see helper_main()). */
	if (!shim.exit_code) {
		void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			ret = -errno;
			pr_perror("engine: can't map the word it reports its exit in");
			goto out;
		}
		shim.exit_code = p;
	}
	*shim.exit_code = -1;

	/* Exit signal 0: see helper_main(). */
	helper = syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
	if (helper < 0) {
		ret = -errno;
		pr_perror("engine: can't clone");
		goto out;
	}
	if (helper == 0)
		helper_main(sv[1], devnull, pfd[1], criu, argv);
	shim_private_memory();
	close(pfd[1]);
	pfd[1] = -1;

	/* The helper reports the engine's pid; the engine, an exec failure. */
	shim.helper = helper;
	if (read_full(pfd[0], &engine, sizeof(engine)) != sizeof(engine) || engine <= 0) {
		pr_err("engine: the helper (pid %d) could not start %s\n", helper, argv[0]);
		ret = -ECHILD;
		reap(0, NULL);
		goto out;
	}
	shim.pid = engine;
	if (read_full(pfd[0], &err, sizeof(err)) == sizeof(err)) {
		pr_err("engine pid %d: can't exec %s: %s\n", engine, argv[0], strerror(err));
		ret = -err;
		reap(SHIM_STOP_MS, NULL);
		goto out;
	}

	shim.sk = sv[0];
	sv[0] = -1;
	shim.owner = criu;
	shim.seq = 0;
	ret = 0;
out:
	if (devnull >= 0)
		close(devnull);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return ret;
}

int shim_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct pollfd p;
	int sk, ret, err;

	if (shim.sk >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	sk = lift(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (sk < 0)
		return -errno;
	ret = connect(sk, (struct sockaddr *)&addr, sizeof(addr));
	if (ret && errno == EAGAIN) {
		/* the backlog is full: a busy service, worth a short wait */
		p = (struct pollfd){ .fd = sk, .events = POLLOUT };
		ret = poll(&p, 1, timeout_ms);
		if (ret == 1) {
			len = sizeof(err);
			ret = getsockopt(sk, SOL_SOCKET, SO_ERROR, &err, &len) ?: (err ? (errno = err, -1) : 0);
		} else {
			errno = ret ? errno : ETIMEDOUT;
			ret = -1;
		}
	}
	if (ret) {
		ret = -errno;
		goto err;
	}
	/* Only root's service is one we hand our pids and our memory to. */
	len = sizeof(cred);
	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		ret = -errno;
		goto err;
	}
	if (cred.uid != 0) {
		pr_err("engine service at %s runs as uid %u, not root: not used\n", path, cred.uid);
		ret = -EPERM;
		goto err;
	}
	/*
	 * Not populated, and no arena touched in advance (shim_private_memory):
	 * with no engine start-up to hide it behind, touching 26 MiB cost a
	 * small dump ~10 ms, and a thread doing it held CRIU's mmap lock for
	 * as long.  Only what is answered gets faulted in.
	 */
	shim_shared_memory(false);
	big_buffers(sk);
	shim.sk = sk;
	shim.service = true;
	shim.pid = cred.pid;
	shim.helper = 0;
	shim.owner = getpid();
	shim.seq = 0;
	shim.timeout_ms = timeout_from_env();
	return 0;
err:
	close(sk);
	return ret;
}

bool shim_is_service(void)
{
	return shim.sk >= 0 && shim.service;
}

int shim_shared_fd(uint32_t *size)
{
	*size = shim.shm ? SHIM_SHM_SIZE : 0;
	return shim.shm ? shim.shm_fd : -1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Readable within @us microseconds, without sleeping: true or false. */
static bool spin_readable(int us)
{
	struct pollfd p = { .fd = shim.sk, .events = POLLIN };
	int64_t end;

	if (us <= 0)
		return false;
	end = now_us() + us;
	do {
		if (poll(&p, 1, 0) > 0)
			return true;
	} while (now_us() < end);
	return false;
}

static int wait_sk(short events, int64_t deadline)
{
	struct pollfd p = { .fd = shim.sk, .events = events };
	int64_t left;
	int ret;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (ret > 0)
			return 0; /* POLLHUP/POLLERR too: send/recv tell what */
		if (ret == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Move all of buf, across short transfers and EINTR, before the deadline. */
static int xfer(bool out, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	ssize_t n;
	int ret;

	while (len) {
		ret = wait_sk(out ? POLLOUT : POLLIN, deadline);
		if (ret)
			return ret;
		if (out)
			n = send(shim.sk, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = recv(shim.sk, p, len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		if (n == 0)
			return -EPIPE; /* the engine closed its end */
		p += n;
		len -= n;
	}
	return 0;
}

static int exchange(Crib__Request *req, Crib__Response **resp, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	Crib__Response *r;
	uint8_t hdr[4], *buf;
	size_t len;
	int ret;

	req->id = ++shim.seq;
	len = crib__request__get_packed_size(req);
	buf = malloc(4 + len);
	if (!buf)
		return -ENOMEM;
	put_le32(buf, len);
	crib__request__pack(req, buf + 4);
	ret = xfer(true, buf, 4 + len, deadline);
	free(buf);
	if (ret)
		return ret;

	spin_readable(shim.spin_us);
	ret = xfer(false, hdr, 4, deadline);
	if (ret)
		return ret;
	len = get_le32(hdr);
	if (len & SHIM_FRAME_IN_SHARED) {
		/* the body waits in the shared buffer: nothing more on the socket */
		len &= ~SHIM_FRAME_IN_SHARED;
		if (!shim.shm || len > SHIM_SHM_SIZE - 4)
			return -EPROTO;
		buf = shim.shm + 4;
	} else {
		if (len > SHIM_MAX_FRAME)
			return -EPROTO;
		if (len > shim.rcap) {
			buf = realloc(shim.rbuf, len);
			if (!buf)
				return -ENOMEM;
			shim.rbuf = buf;
			shim.rcap = len;
		}
		ret = xfer(false, shim.rbuf, len, deadline);
		if (ret)
			return ret;
		buf = shim.rbuf;
	}
	r = crib__response__unpack(&shim_alloc, len, buf);
	if (!r)
		return -EPROTO;
	if (r->id != req->id) {
		shim_free(r);
		return -EPROTO;
	}
	*resp = r;
	return 0;
}

int shim_call(Crib__Request *req, Crib__Response **resp)
{
	int ret;

	/* A forked child of CRIU shares our socket: its answers would be the parent's. */
	if (shim.owner != getpid())
		return -ENOTSUP;
	if (shim.sk < 0)
		return -EPIPE;

	ret = exchange(req, resp, shim.timeout_ms);
	if (ret) {
		pr_err("engine %spid %d: request %u: %s; %s\n", shim.service ? "service " : "", shim.pid, req->id,
		       ret == -EPROTO ? "malformed answer frame" : strerror(-ret),
		       shim.service ? "leaving the session" : "stopping the engine");
		shim_kill();
	}
	return ret;
}

void shim_stop(void)
{
	if (shim.sk < 0)
		return;
	if (shim.owner != getpid()) {
		/* Not ours to stop: just drop the inherited socket. */
		close(shim.sk);
		shim.sk = -1;
		return;
	}
	if (shim.service) {
		/*
		 * Hanging up ends the session; the service and its programs stay
		 * for the next dump.  Nothing to wait for: CRIU calls this with
		 * the tree still frozen.
		 */
		close(shim.sk);
		shim.sk = -1;
		shim.service = false;
		return;
	}
	/* every answer was checked as it came: nothing more to ask */
	let_go();
}

pid_t shim_pid(void)
{
	return shim.sk >= 0 ? shim.pid : 0;
}
