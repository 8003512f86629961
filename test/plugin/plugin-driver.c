// SPDX-License-Identifier: LGPL-2.1
/*
 * plugin-driver: what CRIU does with crib.so, without CRIU.  dlopen()s the
 * plugin, runs its init, asks GET_ENGINE for "crib", and calls the engine
 * ops on PID; prints key=value lines for test/plugin/plugin.test.ts and
 * the per-call figures.
 *
 *   plugin-driver CRIB_SO PID [ITERATIONS]
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "criu-plugin.h"
#include "criu-engine.h"

/* What CRIU exports to plugins; the log goes to stderr. */
void print_on_level(unsigned int lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

unsigned int log_get_loglevel(void)
{
	return 4;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int (*get_engine)(const char *, const struct cr_engine_ops **);
	const struct cr_engine_ops *ops;
	uint64_t op_ns[CR_ENGINE_OP__MAX];
	struct cr_eng_status sts;
	struct cr_eng_fdinfo fi;
	struct cr_eng_stat st;
	struct cr_eng_vma *v = NULL;
	cr_plugin_desc_t *d;
	int *fds = NULL, nr = 0, i, iters;
	pid_t pid, *tids = NULL;
	double t;
	void *h;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CRIB_SO PID [ITERATIONS]\n", argv[0]);
		return 2;
	}
	pid = atoi(argv[2]);
	iters = argc > 3 ? atoi(argv[3]) : 200;
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 2;
	}
	d = dlsym(h, "CR_PLUGIN_DESC");
	get_engine = dlsym(h, "crib_get_engine");
	if (!d || !get_engine)
		return 2;
	printf("plugin=%s init=%d\n", d->name, d->init(CR_PLUGIN_STAGE__DUMP));
	printf("get_engine_procfs=%d\n", get_engine("procfs", &ops));
	printf("get_engine_crib=%d\n", get_engine("crib", &ops));
	t = now_us();
	printf("engine_init=%d\n", ops->init());
	printf("engine_init_ms=%.1f\n", (now_us() - t) / 1000);

	/* one call per printf: argument evaluation order is unspecified */
	printf("stat=%d", ops->stat(pid, &st));
	printf(" stat_pid=%d stat_state=%c\n", st.pid, st.state);
	printf("status=%d", ops->status(pid, &sts));
	printf(" status_vpid=%d\n", sts.vpid);
	printf("threads=%d", ops->threads(pid, &tids, &nr));
	printf(" threads_nr=%d\n", nr);
	free(tids);
	printf("stat_gone=%d\n", ops->stat(0x3fffffff, &st));

	t = now_us();
	for (i = 0; i < iters; i++)
		ops->stat(pid, &st);
	printf("stat_rtt_us=%.1f\n", (now_us() - t) / iters);

	t = now_us();
	printf("vma_rt=%d", ops->vma(pid, &v, &nr));
	printf(" vma_nr=%d vma_rt_us=%.0f\n", nr, now_us() - t);
	free(v);
	t = now_us();
	printf("fds_rt=%d", ops->fds(pid, &fds, &nr));
	printf(" fds_nr=%d fds_rt_us=%.0f\n", nr, now_us() - t);
	free(fds);

	t = now_us();
	printf("prepare=%d", ops->prepare(&pid, 1, op_ns, CR_ENGINE_OP__MAX));
	printf(" prepare_us=%.0f prepare_vma_ns=%llu\n", now_us() - t, (unsigned long long)op_ns[CR_ENGINE_OP_VMA]);
	t = now_us();
	printf("vma_snap=%d", ops->vma(pid, &v, &nr));
	printf(" vma_snap_nr=%d vma_snap_us=%.0f\n", nr, now_us() - t);
	free(v);
	printf("fds_snap=%d", ops->fds(pid, &fds, &nr));
	printf(" fds_snap_nr=%d\n", nr);
	if (nr > 0) {
		struct cr_eng_fdinfo *all = calloc(nr, sizeof(*all));

		/* all of them in one call, as CRIU asks */
		printf("fdinfo=%d", all ? ops->fdinfo(pid, fds, nr, all) : -ENOMEM);
		fi = all ? all[nr - 1] : (struct cr_eng_fdinfo){ .mnt_id = -1 };
		printf(" fdinfo_mnt=%d\n", fi.mnt_id);
		free(all);
	}
	free(fds);

	ops->fini();
	d->exit(CR_PLUGIN_STAGE__DUMP, 0);
	printf("done=1\n");
	return 0;
}
