// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fdtype.bpf.c: op fdtype, crib_fdtype, an iter/task_file program (6.1+)
 * that user space attaches to one task and reads until EOF.  The kernel
 * calls it once per open fd, ascending, with a reference on the file,
 * then once with no file at the end.  (Not read for a whole tree at
 * once: an iterator attached to no task visits every file of the
 * machine, 2-6 ms here, more than the few fdinfo files of most dumps;
 * CRIU asks only for the tasks that have such fds.)
 *
 * An anon-inode file is told by its dentry's name, as CRIU tells it by
 * readlink() (crib_file_dname()).  Its private_data is then the kind's context: the fields are what
 * eventfd_show_fdinfo(), signalfd_show_fdinfo() and timerfd_show() print.
 */
#include "crib_iter.h"
#include "fdtype.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_FILE_ITER_COUNTS(counts);

/* its value type names struct crib_fdtype in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, CRIB_REC(struct crib_fdtype));
} out SEC(".maps");

/* CRIB_FDTYPE_* of an anon-inode dentry named @n, or 0 */
static __always_inline __u32 kind_of(const char *n)
{
	/* "[eventfd]", "[signalfd]": compared a word at a time */
	if (n[0] != '[')
		return 0;
	if (n[1] == 'e' && n[2] == 'v' && n[3] == 'e' && n[4] == 'n' && n[5] == 't' && n[6] == 'f' && n[7] == 'd' &&
	    n[8] == ']' && !n[9])
		return CRIB_FDTYPE_EVENTFD;
	if (n[1] == 's' && n[2] == 'i' && n[3] == 'g' && n[4] == 'n' && n[5] == 'a' && n[6] == 'l' && n[7] == 'f' &&
	    n[8] == 'd' && n[9] == ']' && !n[10])
		return CRIB_FDTYPE_SIGNALFD;
	if (n[1] == 't' && n[2] == 'i' && n[3] == 'm' && n[4] == 'e' && n[5] == 'r' && n[6] == 'f' && n[7] == 'd' &&
	    n[8] == ']' && !n[9])
		return CRIB_FDTYPE_TIMERFD;
	return 0;
}

#define CLOCK_MONOTONIC		1
#define CLOCK_BOOTTIME		7
#define CLOCK_REALTIME_ALARM	8
#define CLOCK_BOOTTIME_ALARM	9

/*
 * What timerfd_show() prints: it_value is the timer's expiry less the
 * time of its clock now (never below 0), as timerfd_get_remaining()
 * computes it.  CLOCK_REALTIME has no helper (the offset from monotonic
 * is the timekeeper's): its it_value is left to the fdinfo.
 */
static __always_inline void fill_timerfd(struct crib_fdtype *r, struct timerfd_ctx *t)
{
	__s32 clk = BPF_CORE_READ(t, clockid);
	__s64 expires, now, rem;

	r->value = BPF_CORE_READ(t, ticks);
	r->flags = BPF_CORE_READ(t, settime_flags);
	r->clockid = clk;
	r->it_interval_ns = BPF_CORE_READ(t, tintv);
	if (clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM)
		expires = BPF_CORE_READ(t, t.alarm.node.expires);
	else
		expires = BPF_CORE_READ(t, t.tmr.node.expires);
	if (clk == CLOCK_MONOTONIC)
		now = bpf_ktime_get_ns();
	else if (clk == CLOCK_BOOTTIME || clk == CLOCK_BOOTTIME_ALARM)
		now = bpf_ktime_get_boot_ns();
	else
		return;
	rem = expires - now;
	r->it_value_ns = rem > 0 ? rem : 0;
	r->have = CRIB_FDTYPE_HAVE_IT_VALUE;
}

SEC("iter/task_file")
int crib_fdtype(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	CRIB_REC(struct crib_fdtype) *o;
	struct crib_file_iter_count *c;
	char name[16] = {};
	__u32 zero = 0, kind;
	void *priv;
	__s32 pid;

	c = crib_file_iter_begin(ctx, &counts, &pid);
	o = bpf_map_lookup_elem(&out, &zero);
	if (!c || !o || !file)
		return 0;
	crib_file_dname(file, ANON_INODE_FS_MAGIC, name, sizeof(name));
	kind = kind_of(name);
	if (!kind)
		return 0;
	o->p.pid = pid;
	o->p.fd = ctx->fd;
	o->p.kind = kind;
	o->p.flags = 0;
	o->p.clockid = 0;
	o->p.have = 0;
	o->p.it_value_ns = 0;
	o->p.it_interval_ns = 0;
	priv = BPF_CORE_READ(file, private_data);
	if (kind == CRIB_FDTYPE_EVENTFD) {
		struct eventfd_ctx *e = priv;

		o->p.value = BPF_CORE_READ(e, count);
		o->p.flags = BPF_CORE_READ(e, flags);
	} else if (kind == CRIB_FDTYPE_SIGNALFD) {
		struct signalfd_ctx *s = priv;

		/* the context keeps the signals it does not take: fdinfo prints the complement */
		o->p.value = ~BPF_CORE_READ(s, sigmask.sig[0]);
	} else {
		fill_timerfd(&o->p, priv);
	}
	crib_rec_init(&o->h, CRIB_REC_CTX, sizeof(*o));
	/* counted only once written: a full buffer runs us again for this fd */
	if (!bpf_seq_write(ctx->meta->seq, o, sizeof(*o)))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_fdtype_probe)
