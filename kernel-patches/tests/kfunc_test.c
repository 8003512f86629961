// SPDX-License-Identifier: GPL-2.0
/*
 * kfunc_test: exercise the CRIB kfunc series (bpf_task_fget, bpf_put_file,
 * bpf_get_file_sock, bpf_put_sock, bpf_sock_rcvq_len, bpf_sock_rcvq_read)
 * from user space, inside the patched kernel. Run as root.
 *
 * 1. Every program of verifier_task_fget.bpf.o is loaded on its own and the
 *    verifier's verdict and log are checked against the program's
 *    __success / __failure / __msg("...") annotations (BTF decl tags, the
 *    same ones the selftests' test_loader reads).
 * 2. task_fget_sock_rcvq.bpf.o's SYSCALL programs run with BPF_PROG_RUN on
 *    this process's own fds: a UDP socket with queued datagrams, a regular
 *    file, a closed fd, and a file on a tmpfs that must unmount afterwards.
 *
 * Ends with "N passed, N failed"; exits non-zero if anything failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "task_fget_sock_rcvq.skel.h"

#ifndef OBJ_DIR
#define OBJ_DIR "."
#endif

static int passed, failed;
static int verbose;

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

#define CHECK(cond, ...) result(!!(cond), __VA_ARGS__)

/* ---- 1. verifier expectations from BTF decl tags ---- */

#define MAX_MSGS 8

struct expect {
	int failure;		/* 1: __failure, 0: __success, -1: none */
	int nmsgs;
	const char *msgs[MAX_MSGS];
};

static void read_expectations(struct btf *btf, const char *func, struct expect *e)
{
	int id, n = btf__type_cnt(btf);

	memset(e, 0, sizeof(*e));
	e->failure = -1;
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_type *target;
		const char *tag;

		if (!btf_is_decl_tag(t) || btf_decl_tag(t)->component_idx != -1)
			continue;
		target = btf__type_by_id(btf, t->type);
		if (!btf_is_func(target) ||
		    strcmp(btf__name_by_offset(btf, target->name_off), func))
			continue;
		tag = btf__name_by_offset(btf, t->name_off);
		if (!strcmp(tag, "comment:test_expect_failure")) {
			e->failure = 1;
		} else if (!strcmp(tag, "comment:test_expect_success")) {
			e->failure = 0;
		} else if (!strncmp(tag, "comment:test_expect_msg=", 24)) {
			/* "comment:test_expect_msg=<counter>=<msg>" */
			const char *msg = strchr(tag + 24, '=');

			if (msg && e->nmsgs < MAX_MSGS)
				e->msgs[e->nmsgs++] = msg + 1;
		}
	}
}

static void test_verifier_annotations(const char *path)
{
	static char log[1 << 20];
	struct bpf_object *obj;
	struct bpf_program *prog;
	char names[64][64];
	int nprogs = 0, i;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		result(0, "open %s: %s", path, strerror(errno));
		return;
	}
	bpf_object__for_each_program(prog, obj)
		if (nprogs < 64)
			snprintf(names[nprogs++], sizeof(names[0]), "%s",
				 bpf_program__name(prog));
	bpf_object__close(obj);

	for (i = 0; i < nprogs; i++) {
		struct bpf_program *p, *target = NULL;
		struct expect e;
		int err, ok, m;

		obj = bpf_object__open_file(path, NULL);
		if (!obj) {
			result(0, "reopen %s", path);
			return;
		}
		bpf_object__for_each_program(p, obj) {
			if (!strcmp(bpf_program__name(p), names[i]))
				target = p;
			else
				bpf_program__set_autoload(p, false);
		}
		read_expectations(bpf_object__btf(obj), names[i], &e);
		log[0] = 0;
		bpf_program__set_log_buf(target, log, sizeof(log));
		bpf_program__set_log_level(target, 1);
		err = bpf_object__load(obj);

		if (e.failure < 0) {
			result(0, "verifier: %s has no __success/__failure", names[i]);
		} else {
			ok = e.failure ? err != 0 : err == 0;
			for (m = 0; ok && m < e.nmsgs; m++)
				if (!strstr(log, e.msgs[m]))
					ok = 0;
			result(ok, "verifier: %s %s%s%s%s", names[i],
			       e.failure ? "rejected" : "accepted",
			       e.nmsgs ? " with \"" : "", e.nmsgs ? e.msgs[0] : "",
			       e.nmsgs ? "\"" : "");
			if (!ok || verbose) {
				const char *tail = log;
				size_t len = strlen(log);

				if (len > 3000)
					tail = log + len - 3000;
				printf("  load %s (err %d); verifier log tail:\n%s\n",
				       err ? "failed" : "succeeded", err, tail);
			}
		}
		bpf_object__close(obj);
	}
}

/* ---- 2. running the programs ---- */

static int run_prog(struct bpf_program *prog)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts);
	int err;

	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &topts);
	if (err)
		return -errno;
	return topts.retval;
}

static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return;
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
}

static int ringbuf_len;
static char ringbuf_data[64];

static int on_sample(void *ctx, void *data, size_t len)
{
	ringbuf_len = len;
	memcpy(ringbuf_data, data, len < sizeof(ringbuf_data) ? len : sizeof(ringbuf_data));
	return 0;
}

static const char *const dgrams[] = { "first datagram", "second", "3" };
#define NDGRAMS 3

static void test_udp_rcvq(void)
{
	struct task_fget_sock_rcvq *skel;
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	struct ring_buffer *rb = NULL;
	int rx = -1, tx = -1, i, ret;
	unsigned int tx_port, src_port;
	char buf[64];

	skel = task_fget_sock_rcvq__open_and_load();
	if (!skel) {
		result(0, "udp_rcvq: open_and_load: %s", strerror(errno));
		return;
	}
	loopback_up();
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (rx < 0 || tx < 0 || bind(rx, (void *)&addr, sizeof(addr)) ||
	    getsockname(rx, (void *)&addr, &len) ||
	    connect(tx, (void *)&addr, sizeof(addr))) {
		result(0, "udp_rcvq: socket setup: %s", strerror(errno));
		goto out;
	}
	len = sizeof(addr);
	getsockname(tx, (void *)&addr, &len);
	tx_port = ntohs(addr.sin_port);
	for (i = 0; i < NDGRAMS; i++)
		if (send(tx, dgrams[i], strlen(dgrams[i]), 0) != (ssize_t)strlen(dgrams[i])) {
			result(0, "udp_rcvq: send: %s", strerror(errno));
			goto out;
		}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rcvq_ringbuf), on_sample, NULL, NULL);
	skel->bss->target_pid = getpid();
	skel->bss->target_fd = rx;
	ret = run_prog(skel->progs.read_udp_rcvq);
	CHECK(ret == 0, "udp_rcvq: read_udp_rcvq returned %d", ret);
	CHECK(skel->bss->fget_ok && skel->bss->sock_ok,
	      "udp_rcvq: bpf_task_fget + bpf_get_file_sock on a UDP socket fd");
	CHECK(skel->bss->rcvq_len == NDGRAMS, "udp_rcvq: bpf_sock_rcvq_len = %d (want %d)",
	      skel->bss->rcvq_len, NDGRAMS);
	for (i = 0; i < NDGRAMS; i++)
		CHECK(skel->bss->read_ret[i] == (int)strlen(dgrams[i]) &&
		      !memcmp(skel->bss->data[i], dgrams[i], strlen(dgrams[i])),
		      "udp_rcvq: datagram %d: ret %d, data \"%.*s\"", i, skel->bss->read_ret[i],
		      (int)strlen(dgrams[i]), skel->bss->data[i]);
	CHECK(skel->bss->read_ret[3] == -ENOENT, "udp_rcvq: index past the end: %d (want -ENOENT)",
	      skel->bss->read_ret[3]);
	src_port = (skel->bss->hdr[20] << 8) | skel->bss->hdr[21];
	CHECK(skel->bss->hdr_ret == 28 + (int)strlen(dgrams[0]) &&
	      (skel->bss->hdr[0] >> 4) == 4 && skel->bss->hdr[9] == IPPROTO_UDP &&
	      src_port == tx_port,
	      "udp_rcvq: BPF_SOCK_RCVQ_F_NETWORK: ret %d, IP version %d, protocol %d, source port %u (want %u)",
	      skel->bss->hdr_ret, skel->bss->hdr[0] >> 4, skel->bss->hdr[9], src_port, tx_port);
	CHECK(skel->bss->part_ret == (int)strlen(dgrams[1]) &&
	      !memcmp(skel->bss->part, dgrams[1] + 2, 4),
	      "udp_rcvq: read at offset 2: ret %d, \"%.4s\"", skel->bss->part_ret, skel->bss->part);
	CHECK(skel->bss->enoent_ret == -ENOENT, "udp_rcvq: -ENOENT: %d", skel->bss->enoent_ret);
	CHECK(skel->bss->erange_ret == -ERANGE, "udp_rcvq: -ERANGE: %d", skel->bss->erange_ret);
	CHECK(skel->bss->einval_ret == -EINVAL, "udp_rcvq: -EINVAL for unknown flags: %d",
	      skel->bss->einval_ret);
	if (rb)
		ring_buffer__consume(rb);
	CHECK(skel->bss->ringbuf_ret == (int)strlen(dgrams[0]) && ringbuf_len == 64 &&
	      !memcmp(ringbuf_data, dgrams[0], strlen(dgrams[0])),
	      "udp_rcvq: ring buffer dynptr: ret %d, sample %d bytes \"%.*s\"",
	      skel->bss->ringbuf_ret, ringbuf_len, (int)strlen(dgrams[0]), ringbuf_data);

	/* The queue is as it was: recv gets every datagram, in order. */
	ret = 1;
	for (i = 0; i < NDGRAMS; i++) {
		ssize_t n;

		memset(buf, 0, sizeof(buf));
		n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != (ssize_t)strlen(dgrams[i]) || strcmp(buf, dgrams[i]))
			ret = 0;
	}
	if (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) != -1)
		ret = 0;
	CHECK(ret, "udp_rcvq: queue unchanged after the BPF reads (recv gets all %d datagrams)",
	      NDGRAMS);

	/* Peeked datagrams sit on the reader queue: they are counted too. */
	send(tx, "a", 1, 0);
	send(tx, "b", 1, 0);
	recv(rx, buf, sizeof(buf), MSG_PEEK);	/* moves both to reader_queue */
	send(tx, "c", 1, 0);			/* stays on sk_receive_queue */
	ret = run_prog(skel->progs.read_udp_rcvq);
	CHECK(ret == 0 && skel->bss->rcvq_len == 3 &&
	      skel->bss->data[0][0] == 'a' && skel->bss->data[1][0] == 'b' &&
	      skel->bss->data[2][0] == 'c',
	      "udp_rcvq: reader_queue then sk_receive_queue, in order: len %d, \"%c%c%c\"",
	      skel->bss->rcvq_len, skel->bss->data[0][0], skel->bss->data[1][0],
	      skel->bss->data[2][0]);
out:
	ring_buffer__free(rb);
	if (tx >= 0)
		close(tx);
	if (rx >= 0)
		close(rx);
	task_fget_sock_rcvq__destroy(skel);
}

/* enum bpf_sock_rcvq_flags of the kernel (kfunc flags are not UAPI) */
#define BPF_SOCK_RCVQ_F_NETWORK (1ULL << 0)

static int read_at(struct task_fget_sock_rcvq *skel, __u32 index, __u32 offset, __u64 flags)
{
	skel->bss->at_index = index;
	skel->bss->at_offset = offset;
	skel->bss->at_flags = flags;
	skel->bss->at_ret = -12345;
	if (run_prog(skel->progs.read_at))
		return -12345;
	return skel->bss->at_ret;
}

#define BIG_LEN 40000

static unsigned char big_byte(int i)
{
	return (i * 7 + 3) & 0xff;
}

/* A datagram too large for one read, over IPv6: chunks at offsets, headers. */
static void test_udp6_big(void)
{
	static const unsigned int offsets[] = { 0, 1000, 32768, BIG_LEN - 10 };
	static unsigned char big[BIG_LEN];
	struct task_fget_sock_rcvq *skel;
	struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(addr);
	int rx = -1, tx = -1, i, j, ret, ok;
	unsigned int tx_port;
	unsigned char *hdr;

	skel = task_fget_sock_rcvq__open_and_load();
	if (!skel) {
		result(0, "udp6_big: open_and_load: %s", strerror(errno));
		return;
	}
	rx = socket(AF_INET6, SOCK_DGRAM, 0);
	tx = socket(AF_INET6, SOCK_DGRAM, 0);
	if (rx < 0 || tx < 0 || bind(rx, (void *)&addr, sizeof(addr)) ||
	    getsockname(rx, (void *)&addr, &len) ||
	    connect(tx, (void *)&addr, sizeof(addr))) {
		result(0, "udp6_big: socket setup: %s", strerror(errno));
		goto out;
	}
	len = sizeof(addr);
	getsockname(tx, (void *)&addr, &len);
	tx_port = ntohs(addr.sin6_port);
	for (i = 0; i < BIG_LEN; i++)
		big[i] = big_byte(i);
	if (send(tx, big, BIG_LEN, 0) != BIG_LEN) {
		result(0, "udp6_big: send: %s", strerror(errno));
		goto out;
	}
	skel->bss->target_pid = getpid();
	skel->bss->target_fd = rx;
	for (i = 0; i < (int)(sizeof(offsets) / sizeof(offsets[0])); i++) {
		int n = BIG_LEN - offsets[i] < 64 ? BIG_LEN - offsets[i] : 64;

		ret = read_at(skel, 0, offsets[i], 0);
		ok = ret == BIG_LEN;
		for (j = 0; ok && j < n; j++)
			ok = (unsigned char)skel->bss->at_buf[j] == big_byte(offsets[i] + j);
		CHECK(ok, "udp6_big: %d-byte datagram, %d bytes at offset %u: ret %d", BIG_LEN, n,
		      offsets[i], ret);
	}
	ret = read_at(skel, 0, BIG_LEN, 0);
	CHECK(ret == BIG_LEN, "udp6_big: offset at the end: ret %d (nothing copied)", ret);
	ret = read_at(skel, 0, BIG_LEN + 1, 0);
	CHECK(ret == -ERANGE, "udp6_big: offset past the end: %d (want -ERANGE)", ret);

	hdr = (unsigned char *)skel->bss->at_buf;
	ret = read_at(skel, 0, 0, BPF_SOCK_RCVQ_F_NETWORK);
	CHECK(ret == 48 + BIG_LEN && hdr[0] >> 4 == 6 && hdr[6] == IPPROTO_UDP &&
	      ((hdr[40] << 8) | hdr[41]) == tx_port,
	      "udp6_big: IPv6 + UDP headers: ret %d, version %d, next header %d, source port %u (want %u)",
	      ret, hdr[0] >> 4, hdr[6], (hdr[40] << 8) | hdr[41], tx_port);
	ret = read_at(skel, 0, 40, BPF_SOCK_RCVQ_F_NETWORK);
	CHECK(ret == 48 + BIG_LEN && ((hdr[0] << 8) | hdr[1]) == tx_port && hdr[8] == big_byte(0),
	      "udp6_big: read across the header/payload boundary: ret %d", ret);
out:
	if (tx >= 0)
		close(tx);
	if (rx >= 0)
		close(rx);
	task_fget_sock_rcvq__destroy(skel);
}

static void test_other_fds(void)
{
	struct task_fget_sock_rcvq *skel;
	char dir[] = "/tmp/kfunc_test_mntXXXXXX";
	char path[64];
	int fd, ret, s;

	skel = task_fget_sock_rcvq__open_and_load();
	if (!skel) {
		result(0, "fds: open_and_load: %s", strerror(errno));
		return;
	}
	skel->bss->target_pid = getpid();

	fd = open("/proc/self/exe", O_RDONLY);
	skel->bss->target_fd = fd;
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->fget_ok == 1 && skel->bss->sock_ok == 0,
	      "fds: regular file: taken (%d), not a socket (sock_ok %d)",
	      skel->bss->fget_ok, skel->bss->sock_ok);
	close(fd);
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->fget_ok == 0, "fds: closed fd: NULL (fget_ok %d)",
	      skel->bss->fget_ok);

	skel->bss->target_fd = 100000;
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->fget_ok == 0, "fds: fd beyond the table: NULL");

	skel->bss->target_pid = 0x3fffffff;
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 1, "fds: no such pid: program returns 1 (got %d)", ret);
	skel->bss->target_pid = getpid();

	/* A TCP socket: taken, but its receive queue is not supported (yet). */
	s = socket(AF_INET, SOCK_STREAM, 0);
	skel->bss->target_fd = s;
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->sock_ok == 1 && skel->bss->rcvq_len == -EOPNOTSUPP,
	      "fds: TCP socket: sock taken, bpf_sock_rcvq_len = %d (want -EOPNOTSUPP)",
	      skel->bss->rcvq_len);
	close(s);

	/* Brauner's concern: a reference taken by a program must not keep a
	 * mount busy. Take and put a file on a fresh tmpfs, close the fd:
	 * the unmount must succeed.
	 */
	if (!mkdtemp(dir) || mount("none", dir, "tmpfs", 0, NULL)) {
		result(0, "fds: tmpfs mount: %s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	skel->bss->target_fd = fd;
	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->fget_ok == 1, "fds: file on tmpfs taken and put");
	close(fd);
	ret = umount2(dir, 0);
	CHECK(ret == 0, "fds: tmpfs unmounts right after (no EBUSY): %s",
	      ret ? strerror(errno) : "ok");
	if (ret)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
out:
	task_fget_sock_rcvq__destroy(skel);
}

/* Drop (on = 0) or raise (on = 1) CAP_SYS_PTRACE in the effective set. */
static int set_cap_sys_ptrace(int on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	if (on)
		data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective |= CAP_TO_MASK(CAP_SYS_PTRACE);
	else
		data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
	return syscall(SYS_capset, &hdr, data);
}

/*
 * bpf_task_fget() follows pidfd_getfd(2): the caller of BPF_PROG_RUN must be
 * allowed to ptrace the task. A child running as another user is reachable
 * with CAP_SYS_PTRACE and not without it.
 */
static void test_ptrace_permission(void)
{
	struct task_fget_sock_rcvq *skel;
	int go[2], ready[2], ret;
	pid_t child;
	char c;

	skel = task_fget_sock_rcvq__open_and_load();
	if (!skel) {
		result(0, "ptrace: open_and_load: %s", strerror(errno));
		return;
	}
	if (pipe(go) || pipe(ready)) {
		result(0, "ptrace: pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child == 0) {
		close(go[1]);
		close(ready[0]);
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		write(ready[1], "r", 1);
		read(go[0], &c, 1);	/* wait until the parent is done */
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		result(0, "ptrace: child did not become uid 65534");
		goto reap;
	}
	skel->bss->target_pid = child;
	skel->bss->target_fd = go[0];	/* still open in the child */

	ret = run_prog(skel->progs.fget_file);
	CHECK(ret == 0 && skel->bss->fget_ok == 1,
	      "ptrace: other user's task, caller has CAP_SYS_PTRACE: file taken (%d)",
	      skel->bss->fget_ok);
	if (set_cap_sys_ptrace(0)) {
		result(0, "ptrace: capset: %s", strerror(errno));
		goto reap;
	}
	skel->bss->fget_ok = -1;
	ret = run_prog(skel->progs.fget_file);
	set_cap_sys_ptrace(1);
	CHECK(ret == 0 && skel->bss->fget_ok == 0,
	      "ptrace: other user's task, caller without CAP_SYS_PTRACE: NULL (%d)",
	      skel->bss->fget_ok);
reap:
	close(go[1]);
	close(ready[0]);
	waitpid(child, NULL, 0);
out:
	task_fget_sock_rcvq__destroy(skel);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : OBJ_DIR;
	char path[4096];

	verbose = getenv("KFUNC_TEST_VERBOSE") != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof(path), "%s/verifier_task_fget.bpf.o", dir);
	test_verifier_annotations(path);
	test_udp_rcvq();
	test_udp6_big();
	test_other_fds();
	test_ptrace_permission();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
