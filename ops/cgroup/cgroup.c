// SPDX-License-Identifier: LGPL-2.1
/*
 * cgroup.c: op cgroup in crib.so, the engine's crib.Cgroup (cgroup.proto)
 * checked and turned into struct cr_eng_cgroup: the text of
 * /proc/PID/task/TID/cgroup in an allocation the caller frees.  Or a
 * record of the tree pass crib.so runs itself (cgroup.h, direct.c), whose
 * text is put together here as the engine's cgroup.ts does.
 */
#define LOG_PREFIX "crib: "

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu-log.h"

#include "crib.h"
#include "cgroup.h"
#include "cgroup.pb-c.h"

/* Each line "ID:CONTROLLERS:/PATH\n" */
static bool lines_ok(const char *t, size_t len)
{
	const char *end = t + len, *nl, *c1, *c2;

	for (; t < end; t = nl + 1) {
		nl = memchr(t, '\n', end - t);
		if (!nl || t == nl || *t < '0' || *t > '9')
			return false;
		c1 = memchr(t, ':', nl - t);
		c2 = c1 ? memchr(c1 + 1, ':', nl - c1 - 1) : NULL;
		if (!c2 || c2 + 1 == nl || c2[1] != '/')
			return false;
	}
	return true;
}

/* @n bytes of @text, checked already, into @cg (a copy): 0 or -ENOMEM */
static int copy_text(const char *text, size_t n, struct cr_eng_cgroup *cg)
{
	char *copy = malloc(n + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, n);
	copy[n] = 0;
	memset(cg, 0, sizeof(*cg));
	cg->text = copy;
	cg->len = n;
	return 0;
}

/* @n bytes of @text, checked, into @cg (a copy): 0 or -errno */
static int fill(pid_t pid, const char *text, size_t n, struct cr_eng_cgroup *cg)
{
	if (n >= CR_ENG_CGROUP_TEXT_MAX || !lines_ok(text, n) || memchr(text, 0, n)) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_CGROUP), pid, "a text of %zu bytes that is not /proc/PID/cgroup's", n);
		return -EPROTO;
	}
	return copy_text(text, n, cg);
}

int crib_cgroup_convert(pid_t pid, const uint8_t *msg, size_t len, void *out)
{
	Crib__Cgroup *m;
	int ret;

	m = crib__cgroup__unpack(NULL, len, msg);
	if (!m) {
		crib_bad_answer(crib_op_name(CR_ENGINE_OP_CGROUP), pid, "the Cgroup record (%zu bytes) does not unpack", len);
		return -EPROTO;
	}
	ret = fill(pid, m->text, strlen(m->text), out);
	crib__cgroup__free_unpacked(m, NULL);
	return ret;
}

/* A snapshot record CRIU did not take (plugin/ops.c) */
void crib_cgroup_release(void *rec)
{
	struct cr_eng_cgroup *cg = rec;

	free(cg->text);
	cg->text = NULL;
}

/*
 * The controllers of each hierarchy ("cpu,cpuacct", "name=systemd", ""
 * for the default one), from CRIU's own /proc/self/cgroup, which lists
 * every hierarchy: read again before each pass (begin()).
 */
static struct {
	unsigned int nr;
	struct {
		uint32_t id;
		char ctl[256];
	} h[CRIB_CGROUP_MAX * 2];
} known;

/* The record before in a pass (the bytes its text depends on) and its text: most tasks of a tree share them */
static struct {
	struct crib_cgroup rec;
	size_t used; /* bytes of rec compared; 0: none */
	char text[CR_ENG_CGROUP_TEXT_MAX];
	size_t n;
} memo;

static void begin(void)
{
	char line[4096], *c1, *c2;
	FILE *f;

	memo.used = 0;
	known.nr = 0;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return; /* every hierarchy unknown: procfs serves the op */
	while (known.nr < sizeof(known.h) / sizeof(known.h[0]) && fgets(line, sizeof(line), f)) {
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || (size_t)(c2 - c1 - 1) >= sizeof(known.h[0].ctl))
			continue;
		known.h[known.nr].id = strtoul(line, NULL, 10);
		memcpy(known.h[known.nr].ctl, c1 + 1, c2 - c1 - 1);
		known.h[known.nr].ctl[c2 - c1 - 1] = 0;
		known.nr++;
	}
	fclose(f);
}

static const char *controllers_of(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < known.nr; i++)
		if (known.h[i].id == id)
			return known.h[i].ctl;
	return NULL;
}

/* The bytes of @r its text is made of: the table and the names it uses */
static size_t used_bytes(const struct crib_cgroup *r)
{
	uint32_t i, end = 0;

	for (i = 0; i < r->nr && i < CRIB_CGROUP_MAX; i++)
		if ((uint32_t)r->h[i].off + r->h[i].len > end)
			end = (uint32_t)r->h[i].off + r->h[i].len;
	return offsetof(struct crib_cgroup, names) + (end < CRIB_CGROUP_NAMES ? end : CRIB_CGROUP_NAMES);
}

/* A record of the tree pass (direct.c): its lines, the newest hierarchy (the highest id) first */
static int from_raw(pid_t pid, const void *rec, size_t len, void *out)
{
	char *text = memo.text;
	const struct crib_cgroup *r = rec;
	const char *what = crib_op_name(CR_ENGINE_OP_CGROUP);
	uint32_t order[CRIB_CGROUP_MAX], i, j, k;
	size_t n = 0, used = used_bytes(r);
	int ret;

	/* the text of the record before, checked when it was made */
	if (memo.used && used == memo.used && !memcmp(&memo.rec, r, used))
		return copy_text(memo.text, memo.n, out);
	memo.used = 0;

	if (r->flags & CRIB_CGROUP_TRUNCATED)
		return -ENOTSUP; /* more than the record holds: procfs reads this task's */
	if (r->nr > CRIB_CGROUP_MAX || r->flags & ~(CRIB_CGROUP_EXITING | CRIB_CGROUP_TRUNCATED)) {
		crib_bad_answer(what, pid, "nr %u, flags %#x", r->nr, r->flags);
		return -EPROTO;
	}
	/* /proc lists the newest hierarchy first */
	for (i = 0; i < r->nr; i++) {
		for (j = i; j > 0 && r->h[order[j - 1]].hierarchy_id < r->h[i].hierarchy_id; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (k = 0; k < r->nr; k++) {
		const struct crib_cgroup_hier *h = &r->h[order[k]];
		uint32_t at = h->off, end = (uint32_t)h->off + h->len, parts[CRIB_CGROUP_NAMES / 2], np = 0;
		const char *ctl = controllers_of(h->hierarchy_id);
		int w;

		if (end > CRIB_CGROUP_NAMES || h->flags & ~CRIB_CGROUP_DEAD) {
			crib_bad_answer(what, pid, "hierarchy %u: names %u-%u, flags %#x", h->hierarchy_id, at, end, h->flags);
			return -EPROTO;
		}
		for (; at < end; at += 1 + r->names[at]) {
			if (!r->names[at] || at + 1 + r->names[at] > end) {
				crib_bad_answer(what, pid, "hierarchy %u: a component of %u bytes at %u", h->hierarchy_id,
						r->names[at], at);
				return -EPROTO;
			}
			parts[np++] = at;
		}
		if (!ctl) {
			/* the default hierarchy is listed only once it is mounted (cgrp_dfl_visible) */
			if (h->hierarchy_id == 0)
				continue;
			return -ENOTSUP; /* a hierarchy made since begin(): procfs reads this task's */
		}
		w = snprintf(text + n, sizeof(memo.text) - n, "%u:%s:", h->hierarchy_id, ctl);
		if (w < 0 || (size_t)w >= sizeof(memo.text) - n)
			return -E2BIG;
		n += w;
		/* an exiting task is in the root of every v1 hierarchy, as /proc says; components come leaf first */
		if (h->hierarchy_id != 0 && r->flags & CRIB_CGROUP_EXITING)
			np = 0;
		if (!np && n < sizeof(memo.text))
			text[n++] = '/';
		while (np-- > 0) {
			at = parts[np];
			if (n + 1 + r->names[at] >= sizeof(memo.text))
				return -E2BIG;
			text[n++] = '/';
			memcpy(text + n, &r->names[at + 1], r->names[at]);
			n += r->names[at];
		}
		w = snprintf(text + n, sizeof(memo.text) - n, "%s\n",
			     h->hierarchy_id == 0 && h->flags & CRIB_CGROUP_DEAD ? " (deleted)" : "");
		if (w < 0 || (size_t)w >= sizeof(memo.text) - n)
			return -E2BIG;
		n += w;
	}
	ret = fill(pid, text, n, out);
	if (!ret) {
		memcpy(&memo.rec, r, used);
		memo.used = used;
		memo.n = n;
	}
	return ret;
}

const struct crib_raw_op crib_cgroup_raw = { .size = sizeof(struct crib_cgroup), .convert = from_raw, .begin = begin };
