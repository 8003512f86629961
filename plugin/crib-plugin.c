// SPDX-License-Identifier: LGPL-2.1
/*
 * crib.so: offers CRIU the "crib" engine (Checkpoint/Restore In eBPF).
 *
 * The engine itself is a Node.js co-process (engine-ts/) that runs the BPF
 * programs; this plugin starts it on the dump path only (ops->init), talks
 * to it through the shim and checks every answer (ops.c).
 */
#define LOG_PREFIX "crib: "

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "criu-plugin.h"
#include "criu-log.h"
#include "criu-engine.h"

#include "crib.h"
#include "shim.h"

#ifdef CRIB_STOCK_HEADERS
/*
 * Stock criu-plugin.h has no GET_ENGINE hook, and its hooks[] has no slot
 * for one: build the hook for direct calls (tests dlsym() it), don't register.
 */
DECLARE_PLUGIN_HOOK_ARGS(CR_PLUGIN_HOOK__GET_ENGINE, const char *name, const struct cr_engine_ops **ops);
#endif

#define CRIB_ENGINE_NAME "crib"
#define CRIB_LAUNCHER "crib-engine"
#define CRIB_BTF "/sys/kernel/btf/vmlinux"

static bool plugin_disabled;
static char launcher[PATH_MAX];
/* why the co-process cannot start here, empty when it can */
static char no_coprocess[PATH_MAX + 64];

/* $CRIB_ENGINE, else crib-engine next to this crib.so. */
static int find_launcher(char *buf, size_t size)
{
	const char *env = getenv("CRIB_ENGINE");
	Dl_info info;
	const char *slash;

	if (env && *env) {
		if (snprintf(buf, size, "%s", env) >= (int)size)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!dladdr((void *)find_launcher, &info) || !info.dli_fname)
		return -ENOENT;
	slash = strrchr(info.dli_fname, '/');
	if (!slash) /* dlopen()ed by bare name: the libdir is not known */
		return -ENOENT;
	if (snprintf(buf, size, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname, CRIB_LAUNCHER) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static bool node_in_path(void)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX];
	const char *p, *end;

	for (p = path ?: "/usr/local/bin:/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		if (snprintf(dir, sizeof(dir), "%.*s/node", (int)(end - p), p) >= (int)sizeof(dir))
			continue;
		if (access(dir, X_OK) == 0)
			return true;
	}
	return false;
}

/* Cheap checks only: CRIU loads plugins for every command, not just dump. */
static int crib_plugin_init(int stage)
{
	plugin_disabled = true;
	if (stage == CR_PLUGIN_STAGE__RESTORE)
		return 0; /* the engine reads a live tree: nothing to do on restore */

	if (access(CRIB_BTF, R_OK)) {
		pr_warn("engine disabled: kernel BTF (%s) is missing; --engine=crib cannot be used\n", CRIB_BTF);
		return 0;
	}
	plugin_disabled = false;
	/* without these, only an engine service can serve (engine_init) */
	no_coprocess[0] = '\0';
	if (find_launcher(launcher, sizeof(launcher)))
		snprintf(no_coprocess, sizeof(no_coprocess), "the engine launcher (set CRIB_ENGINE or install %s next to crib.so)",
			 CRIB_LAUNCHER);
	else if (access(launcher, X_OK))
		snprintf(no_coprocess, sizeof(no_coprocess), "the engine launcher %s", launcher);
	else if (!node_in_path())
		snprintf(no_coprocess, sizeof(no_coprocess), "node in PATH");
	return 0;
}

static void crib_plugin_fini(int stage, int ret)
{
	/* Normally ops->fini stopped it; this is for a dump that failed early. */
	shim_stop();
	crib_ops_reset();
}

CR_PLUGIN_REGISTER("crib", crib_plugin_init, crib_plugin_fini)

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define CRIB_SOCKET_DEFAULT "/run/crib/crib.sock"
#define CRIB_CONNECT_MS 100

/* ops->how: which engine serves this dump and why (the log and stats-dump) */
static char how[512];

/*
 * The engine service (crib serve) at $CRIB_SOCKET, else at the default
 * path; CRIB_SOCKET=none (or empty) skips it.  0 when a session with it
 * serves this dump; otherwise the reason is logged and the co-process
 * takes over.
 */
static int use_service(void)
{
	const char *path = getenv("CRIB_SOCKET");
	const char *why = NULL;
	int64_t t0 = now_us(), t1, t2;
	int ret;

	if (path && (!*path || !strcmp(path, "none"))) {
		snprintf(how, sizeof(how), "CRIB_SOCKET=%s", path);
		return -ENOENT;
	}
	if (!path)
		path = CRIB_SOCKET_DEFAULT;
	ret = shim_connect(path, CRIB_CONNECT_MS);
	if (ret) {
		pr_info("init: no engine service at %s (%s); starting the co-process\n", path, strerror(-ret));
		snprintf(how, sizeof(how), "no service at %s: %s", path, strerror(-ret));
		return ret;
	}
	t1 = now_us();
	ret = crib_hello();
	if (!ret && !crib_ops_served(&why)) {
		pr_warn("init: the engine service at %s serves no op for this CRIU (%s); starting the co-process\n",
			path, why ?: "no reason given");
		snprintf(how, sizeof(how), "the service at %s serves no op for this CRIU: %s", path, why ?: "no reason given");
		ret = -ENOTSUP;
	} else if (ret) {
		pr_warn("init: the engine service at %s did not say hello: %s; starting the co-process\n", path,
			strerror(-ret));
		snprintf(how, sizeof(how), "the service at %s did not say hello: %s", path, strerror(-ret));
	}
	if (ret) {
		shim_stop();
		crib_ops_reset();
		return ret;
	}
	crib_ops_reserve();
	t2 = now_us();
	snprintf(how, sizeof(how), "service at %s: %s", path, crib_service_name());
	crib_ops_reserve();
	pr_info("engine service at %s (pid %d) ready in %.3f ms: connect %.3f, hello %.3f, buffers %.3f\n", path, shim_pid(),
		(now_us() - t0) / 1000.0, (t1 - t0) / 1000.0, (t2 - t1) / 1000.0, (now_us() - t2) / 1000.0);
	return 0;
}

static int engine_init(void)
{
	char *argv[] = { launcher, "--fd", "3", NULL };
	int64_t t0;
	pid_t epid;
	int ret;

	if (plugin_disabled)
		return -ENOTSUP;
	how[0] = '\0';
	if (!use_service())
		return 0;
	if (no_coprocess[0]) {
		pr_err("init: can't start the engine co-process: %s is missing or not executable\n", no_coprocess);
		return -ENOTSUP;
	}
	t0 = now_us();
	ret = shim_start(argv);
	if (ret) {
		pr_err("init: can't start the engine %s: %s\n", launcher, strerror(-ret));
		return ret;
	}
	epid = shim_pid();
	ret = crib_hello();
	if (ret) {
		pr_err("init: engine pid %d (%s) did not say hello: %s\n", epid, launcher, strerror(-ret));
		shim_stop();
		return ret;
	}
	/* after the start: pages touched before the helper was cloned stay copy-on-write (shim.c) */
	crib_ops_reserve();
	pr_info("engine pid %d ready in %.1f ms\n", shim_pid(), (now_us() - t0) / 1000.0);
	{
		char why[sizeof(how) - 64];

		snprintf(why, sizeof(why), "%s", how);
		snprintf(how, sizeof(how), "co-process pid %d (%s)", epid, why[0] ? why : "no service asked");
	}
	return 0;
}

static const char *engine_how(void)
{
	return how[0] ? how : NULL;
}

static void engine_fini(void)
{
	shim_stop();
	crib_ops_reset();
}

/* Each op of a folder: its answer from ops.c, converted by ops/NAME/NAME.c */
#define CRIB_FOLDER_OP_FN(n, N, id)                                      \
	static CRIB_HOT int crib_##n(pid_t pid, struct cr_eng_##n *rec)  \
	{                                                                \
		return crib_op_get(CR_ENGINE_OP_##N, pid, rec);          \
	}
CRIB_FOLDER_OPS(CRIB_FOLDER_OP_FN)
#undef CRIB_FOLDER_OP_FN

static const struct cr_engine_ops crib_engine_ops = {
	.name = CRIB_ENGINE_NAME,
	.abi_version = CR_ENGINE_ABI_VERSION,
	.nr_ops = CR_ENGINE_OP__MAX,
	.init = engine_init,
	.fini = engine_fini,
	.prepare = crib_prepare,
	.how = engine_how,
	.stat = crib_stat,
	.status = crib_status,
	.threads = crib_threads,
	.children = crib_children,
	.vma = crib_vma,
	.fds = crib_fds,
	.fdinfo = crib_fdinfo,
#define CRIB_FOLDER_OP_SLOT(n, N, id) .n = crib_##n,
	CRIB_FOLDER_OPS(CRIB_FOLDER_OP_SLOT)
#undef CRIB_FOLDER_OP_SLOT
};

CR_PLUGIN_HOOK__GET_ENGINE_t crib_get_engine;

int crib_get_engine(const char *name, const struct cr_engine_ops **ops)
{
	if (plugin_disabled || !name || strcmp(name, CRIB_ENGINE_NAME))
		return -ENOTSUP;
	*ops = &crib_engine_ops;
	return 0;
}
#ifndef CRIB_STOCK_HEADERS
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__GET_ENGINE, crib_get_engine)
#endif

#ifndef CRIB_STOCK_HEADERS
/*
 * A CRIU without engine support (stock 4.2.1) refuses a plugin that
 * declares more hooks than it knows ("Corrupted plugin"), and it loads every
 * plugin of its plugin directory, on restore too.  Where the host CRIU does
 * not export CR_ENGINE_HOST_SYMBOL, declare only the hooks that came before
 * GET_ENGINE: crib.so then loads there as an inert plugin, and images
 * restore with stock CRIU even with crib.so installed next to it.
 */
static void __attribute__((constructor)) crib_fit_host(void)
{
	if (!dlsym(RTLD_DEFAULT, CR_ENGINE_HOST_SYMBOL))
		CR_PLUGIN_DESC.max_hooks = CR_PLUGIN_HOOK__GET_ENGINE;
}
#endif
