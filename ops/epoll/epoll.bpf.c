// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * epoll.bpf.c: op epoll, crib_epoll, an iter/task_file program (6.1+)
 * that user space attaches to one task and reads until EOF.  The kernel
 * calls it once per open fd, ascending, with a reference on the file,
 * then once with no file at the end.  (Not read for a whole tree at once,
 * for fdtype's reason: an iterator attached to no task visits every file
 * of the machine, where a dump has a few epoll fds.)
 *
 * An epoll file is told by its anon-inode dentry's name, "[eventpoll]",
 * as CRIU tells it by readlink() (crib_file_dname()).  Its private_data is the struct
 * eventpoll whose tree of struct epitem ep_show_fdinfo() prints, in
 * order: the walk here is the same in-order walk, one node per bpf_loop()
 * step, with its state in a map (the verifier does not track map
 * contents, so the callback converges at once).  ep_show_fdinfo() holds
 * ep->mtx; the walk cannot, and counts on the tasks being frozen: the
 * epitems themselves are freed after an RCU grace period, and the
 * program runs under rcu_read_lock(), so a walk raced by an epoll_ctl()
 * of a task CRIU did not freeze reads stale nodes, never freed memory,
 * and is bounded by the loop's count.
 */
#include "crib_iter.h"
#include "epoll.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

CRIB_FILE_ITER_COUNTS(counts);

enum { DESCEND, RIGHT, ASCEND };

/* the walk of one epoll fd's tree, and its record as it is written: rec, then tfds[0..rec.p.nr) */
struct epoll_walk {
	__u64 node;	/* struct rb_node * */
	__u32 step;	/* DESCEND: go left while we can; RIGHT: the node is listed, take its right subtree; ASCEND */
	__u32 done;	/* the walk came back to the root */
	CRIB_REC(struct crib_epoll) rec;
	struct crib_epoll_tfd tfds[CRIB_EPOLL_MAX_TFDS];
};

/* its value type names struct crib_epoll and crib_epoll_tfd in BTF */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct epoll_walk);
} walks SEC(".maps");

static __always_inline struct epoll_walk *get_walk(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&walks, &zero);
}

/* "[eventpoll]", compared a character at a time */
static __always_inline bool is_eventpoll(const char *n)
{
	return n[0] == '[' && n[1] == 'e' && n[2] == 'v' && n[3] == 'e' && n[4] == 'n' && n[5] == 't' &&
	       n[6] == 'p' && n[7] == 'o' && n[8] == 'l' && n[9] == 'l' && n[10] == ']' && !n[11];
}

/* The target of @node as ep_show_fdinfo() prints it, appended; 1 if the record is full. */
static __always_inline int list_node(struct epoll_walk *w, struct rb_node *node)
{
	struct epitem *epi = crib_container_of(node, struct epitem, rbn);
	struct crib_epoll_tfd *t;
	struct inode *inode;
	struct file *file;
	__u32 n = w->rec.p.nr;

	if (n >= CRIB_EPOLL_MAX_TFDS)
		return 1;
	t = &w->tfds[n];
	file = BPF_CORE_READ(epi, ffd.file);
	inode = BPF_CORE_READ(file, f_inode);
	t->tfd = BPF_CORE_READ(epi, ffd.fd);
	t->events = BPF_CORE_READ(epi, event.events);
	t->data = BPF_CORE_READ(epi, event.data);
	t->pos = BPF_CORE_READ(file, f_pos);
	t->ino = BPF_CORE_READ(inode, i_ino);
	t->sdev = BPF_CORE_READ(inode, i_sb, s_dev);
	t->pad = 0;
	w->rec.p.nr = n + 1;
	return 0;
}

/*
 * One step of an in-order walk by parent pointers (rb_first(), then
 * rb_next() as lib/rbtree.c has it); 1 ends the loop.
 */
static long walk_step(__u64 i, void *arg)
{
	struct epoll_walk *w = get_walk();
	struct rb_node *node, *next;

	if (!w)
		return 1;
	node = (void *)w->node;
	if (!node) {
		w->done = 1;	/* an empty tree */
		return 1;
	}
	if (w->step == DESCEND) {
		next = BPF_CORE_READ(node, rb_left);
		if (next) {
			w->node = (__u64)next;
			return 0;
		}
		w->step = RIGHT;
		return list_node(w, node);
	}
	if (w->step == RIGHT) {
		next = BPF_CORE_READ(node, rb_right);
		if (next) {
			w->node = (__u64)next;
			w->step = DESCEND;
		} else {
			w->step = ASCEND;
		}
		return 0;
	}
	/* ASCEND: up while we come from the right; the first parent we reach from its left is next */
	next = (void *)(BPF_CORE_READ(node, __rb_parent_color) & ~3UL);
	if (!next) {
		w->done = 1;
		return 1;
	}
	w->node = (__u64)next;
	if (BPF_CORE_READ(next, rb_right) == node)
		return 0;
	w->step = RIGHT;
	return list_node(w, next);
}

SEC("iter/task_file")
int crib_epoll(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct crib_file_iter_count *c;
	struct eventpoll *ep;
	struct epoll_walk *w;
	char name[16] = {};
	__s32 pid;

	c = crib_file_iter_begin(ctx, &counts, &pid);
	w = get_walk();
	if (!c || !w || !file)
		return 0;
	crib_file_dname(file, ANON_INODE_FS_MAGIC, name, sizeof(name));
	if (!is_eventpoll(name))
		return 0;

	ep = BPF_CORE_READ(file, private_data);
	w->node = (__u64)BPF_CORE_READ(ep, rbr.rb_root.rb_node);
	w->step = DESCEND;
	w->done = 0;
	w->rec.p.pid = pid;
	w->rec.p.fd = ctx->fd;
	w->rec.p.nr = 0;
	/* every node is left, listed and climbed past once: under 4 steps a target */
	bpf_loop(4 * CRIB_EPOLL_MAX_TFDS + 4, walk_step, NULL, 0);
	w->rec.p.flags = w->done ? CRIB_EPOLL_ALL : 0;

	/* counted only once written: a full buffer runs us again for this fd */
	if (!crib_rec_write_items(ctx->meta->seq, &w->rec.h, sizeof(w->rec), w->rec.p.nr,
				  sizeof(struct crib_epoll_tfd), CRIB_EPOLL_MAX_TFDS))
		c->count++;
	return 0;
}

CRIB_ITER_TASK_PROBE(crib_epoll_probe)
