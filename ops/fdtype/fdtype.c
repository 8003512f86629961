// SPDX-License-Identifier: LGPL-2.1
/*
 * fdtype.c: op fdtype in crib.so, the engine's crib.FdType (fdtype.proto)
 * checked and turned into struct cr_eng_fdtype: the fds, in one
 * allocation the caller frees.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "fdtype.pb-c.h"

/* the flags an eventfd's context may have: EFD_SEMAPHORE, O_NONBLOCK, O_CLOEXEC */
#define EFD_FLAGS (01 | 04000 | 02000000)
/* a timerfd's settime flags: TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET */
#define TFD_SETTIME_FLAGS (01 | 02)

/* the clocks timerfd_create() takes: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM */
static bool timerfd_clock(int32_t c)
{
	return c == 0 || c == 1 || c == 7 || c == 8 || c == 9;
}

int crib_fdtype_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	const char *what = crib_op_name(CR_ENGINE_OP_FDTYPE);
	struct cr_eng_fdtype *ft = out;
	struct cr_eng_fdtype_fd *fds = NULL;
	Crib__FdType *m;
	size_t i;
	int ret = -EPROTO;

	m = crib__fd_type__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(what, pid, "the FdType record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	for (i = 0; i < m->n_fd; i++) {
		const Crib__FdTypeFd *f = m->fd[i];
		uint32_t flags = f->has_flags ? f->flags : 0;

		if (f->fd < 0 || (i && f->fd <= m->fd[i - 1]->fd)) {
			crib_bad_answer(what, pid, "fd %d after fd %d", f->fd, i ? m->fd[i - 1]->fd : -1);
			goto out;
		}
		if (f->kind < CR_ENG_FDTYPE_EVENTFD || f->kind > CR_ENG_FDTYPE_TIMERFD ||
		    (flags & ~(f->kind == CR_ENG_FDTYPE_EVENTFD ? EFD_FLAGS :
			       f->kind == CR_ENG_FDTYPE_TIMERFD ? TFD_SETTIME_FLAGS : 0))) {
			crib_bad_answer(what, pid, "fd %d: kind %u with flags %#x", f->fd, f->kind, flags);
			goto out;
		}
		if (f->kind == CR_ENG_FDTYPE_TIMERFD ?
			    !f->has_clockid || !timerfd_clock(f->clockid) || !f->has_it_interval_ns ||
				    f->it_interval_ns < 0 || (f->has_it_value_ns && f->it_value_ns < 0) :
			    f->has_clockid || f->has_it_value_ns || f->has_it_interval_ns) {
			crib_bad_answer(what, pid, "fd %d: kind %u with a clock or times that do not fit it", f->fd, f->kind);
			goto out;
		}
	}
	if (m->n_fd) {
		fds = calloc(m->n_fd, sizeof(*fds));
		if (!fds) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < m->n_fd; i++) {
		fds[i].fd = m->fd[i]->fd;
		fds[i].kind = m->fd[i]->kind;
		fds[i].value = m->fd[i]->value;
		fds[i].flags = m->fd[i]->has_flags ? m->fd[i]->flags : 0;
		fds[i].clockid = m->fd[i]->has_clockid ? m->fd[i]->clockid : 0;
		fds[i].it_value_ns = m->fd[i]->has_it_value_ns ? m->fd[i]->it_value_ns : -1;
		fds[i].it_interval_ns = m->fd[i]->has_it_interval_ns ? m->fd[i]->it_interval_ns : 0;
		if (fds[i].kind != CR_ENG_FDTYPE_TIMERFD)
			fds[i].it_value_ns = 0;
	}
	memset(ft, 0, sizeof(*ft));
	ft->nr = m->n_fd;
	ft->fds = fds;
	ret = 0;
out:
	crib__fd_type__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_fdtype_release(void *rec)
{
	struct cr_eng_fdtype *ft = rec;

	free(ft->fds);
	ft->fds = NULL;
	ft->nr = 0;
}
