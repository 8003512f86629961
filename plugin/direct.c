// SPDX-License-Identifier: LGPL-2.1
/*
 * direct.c: status, threads and children run here, in CRIU, by the
 * engine's own BPF programs, instead of a round trip to the engine each.
 *
 * CRIU asks these three for every task while it seizes the tree, before
 * prepare(): three round trips a task, 130-220 us each on the machine this
 * was measured on, where BPF_PROG_RUN of the same program costs a few.
 * The engine names its programs by kernel id in its hello (Direct in
 * proto/crib.proto): crib_task, which writes nothing but its context, and
 * from a co-process also crib_threads and crib_children with their output
 * map tids, which are its one CRIU's (a service's map is shared by every
 * session, so a service does not offer them).  Each is opened by id and
 * checked by type and name before it is used, so an id the kernel gave to
 * something else after the engine went away is refused.
 *
 * The records are bpf/crib.h's, the one definition the engine's decoder
 * mirrors; ops.c turns them into CRIU's structs through the same checks
 * as the engine's answers.  Any failure here (a task gone, a table too
 * big, a refused request) is left to the engine, which answers it as it
 * did before: this path only ever answers what the engine would.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "criu-log.h"

#include "crib.h"
#include "crib.pb-c.h"
#include "../bpf/crib.h"

static struct {
	int task, threads, children; /* program fds, -1: not open */
	int tids;		     /* map fd */
	const int32_t *map;	     /* tids, mapped: one __s32 per 8 bytes */
	size_t map_len;
	uint32_t pid_ns;	     /* CRIU's pid namespace: crib_req.ns_inum */
	unsigned long calls[3], fallbacks;
} d = { .task = -1, .threads = -1, .children = -1, .tids = -1 };

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* The fd of program @id if it is the SYSCALL program @name; -errno */
static int prog_by_id(uint32_t id, const char *name)
{
	struct bpf_prog_info info = {};
	union bpf_attr a = {};
	int fd;

	a.prog_id = id;
	fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) || info.type != BPF_PROG_TYPE_SYSCALL ||
	    strncmp(info.name, name, sizeof(info.name))) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The fd of map @id if it is the engine's "tids" (bpf/task_walk.h); -errno */
static int tids_by_id(uint32_t id, struct bpf_map_info *info)
{
	union bpf_attr a = {};
	int fd;

	a.map_id = id;
	fd = sys_bpf(BPF_MAP_GET_FD_BY_ID, &a);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	memset(info, 0, sizeof(*info));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(*info);
	a.info.info = (uintptr_t)info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) || info->type != BPF_MAP_TYPE_ARRAY || strcmp(info->name, "tids") ||
	    info->value_size != 4 || info->max_entries != CRIB_MAX_TIDS || !(info->map_flags & BPF_F_MMAPABLE)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

void crib_direct_close(void)
{
	if (d.calls[0] + d.calls[1] + d.calls[2])
		pr_info("direct: status %lu, threads %lu, children %lu calls run here; %lu left to the engine\n",
			d.calls[0], d.calls[1], d.calls[2], d.fallbacks);
	if (d.map)
		munmap((void *)d.map, d.map_len);
	if (d.task >= 0)
		close(d.task);
	if (d.threads >= 0)
		close(d.threads);
	if (d.children >= 0)
		close(d.children);
	if (d.tids >= 0)
		close(d.tids);
	memset(&d, 0, sizeof(d));
	d.task = d.threads = d.children = d.tids = -1;
}

bool crib_direct_on(bool lists)
{
	return lists ? d.map != NULL : d.task >= 0;
}

void crib_direct_open(const Crib__Direct *m, uint32_t pid_ns)
{
	struct bpf_map_info info;
	void *map;

	crib_direct_close();
	if (m->abi_version != CRIB_ABI_VERSION) {
		pr_info("direct: the engine's programs speak record ABI %u, this plugin %u: not run here\n", m->abi_version,
			CRIB_ABI_VERSION);
		return;
	}
	d.pid_ns = pid_ns;
	d.task = prog_by_id(m->task_prog, "crib_task");
	if (d.task < 0) {
		pr_info("direct: program %u is not the engine's crib_task (or not ours to open): %s; the engine answers\n",
			m->task_prog, strerror(-d.task));
		crib_direct_close();
		return;
	}
	if (!m->has_threads_prog || !m->has_children_prog || !m->has_tids_map) {
		pr_info("direct: status runs here (program %u); threads and children are the engine's\n", m->task_prog);
		return;
	}
	d.threads = prog_by_id(m->threads_prog, "crib_threads");
	d.children = prog_by_id(m->children_prog, "crib_children");
	d.tids = tids_by_id(m->tids_map, &info);
	map = MAP_FAILED;
	if (d.threads >= 0 && d.children >= 0 && d.tids >= 0) {
		d.map_len = (size_t)info.max_entries * 8;
		map = mmap(NULL, d.map_len, PROT_READ, MAP_SHARED, d.tids, 0);
	}
	if (map == MAP_FAILED) {
		pr_info("direct: status runs here (program %u); threads and children are the engine's: their programs or map are not ours to use\n",
			m->task_prog);
		return;
	}
	d.map = map;
	pr_info("direct: status, threads and children run here (programs %u, %u, %u, map %u)\n", m->task_prog,
		m->threads_prog, m->children_prog, m->tids_map);
}

/* @prog with @ctx (struct crib_req first, @size bytes) for @pid: 0, or why not */
static int run(int prog, struct crib_req *req, size_t size, pid_t pid)
{
	union bpf_attr a = {};

	memset(req, 0, sizeof(*req));
	req->size = size;
	req->version = CRIB_ABI_VERSION;
	req->pid = pid;
	req->ns_inum = d.pid_ns;
	a.test.prog_fd = prog;
	a.test.ctx_in = (uintptr_t)req;
	a.test.ctx_size_in = size;
	if (sys_bpf(BPF_PROG_TEST_RUN, &a))
		return -errno;
	if ((int)a.test.retval != req->err)
		return -EPROTO;
	if (req->err)
		return req->err;
	return req->count > req->total ? -EPROTO : 0;
}

int crib_direct_task(pid_t pid, struct crib_task *t)
{
	struct crib_task_ctx ctx;
	int ret;

	ret = run(d.task, &ctx.req, sizeof(ctx), pid);
	if (ret || ctx.req.count != 1 || ctx.task.pid != pid) {
		d.fallbacks++;
		return ret ?: -EPROTO;
	}
	*t = ctx.task;
	d.calls[0]++;
	return 0;
}

int crib_direct_pids(bool children, pid_t pid, int32_t **out, int *nr)
{
	struct crib_req req;
	int32_t *p;
	uint32_t i;
	int ret;

	ret = run(children ? d.children : d.threads, &req, sizeof(req), pid);
	if (ret || req.count > CRIB_MAX_TIDS) {
		d.fallbacks++;
		return ret ?: -E2BIG;
	}
	/* at least one element: CRIU may read a NULL array as a failure */
	p = malloc((req.count ?: 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < req.count; i++)
		p[i] = d.map[2 * i];
	*out = p;
	*nr = req.count;
	d.calls[children ? 2 : 1]++;
	return 0;
}
