/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * crib_bpf.h: what every CRIB BPF program shares: includes, the kfuncs
 * (clang 14's bpftool-made vmlinux.h does not declare them) and helpers.
 */
#ifndef __CRIB_BPF_H__
#define __CRIB_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "crib.h"

#define EPERM    1
#define ESRCH    3
#define E2BIG    7
#define EBUSY    16
#define EINVAL   22
#define ENAMETOOLONG 36
#define EPROTO   71

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void *bpf_rdonly_cast(const void *obj, u32 btf_id) __ksym;

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it,
				 struct task_struct *task, u64 addr) __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __ksym;

/* container_of with the member offset relocated against the running kernel */
#define crib_container_of(ptr, type, member) \
	((type *)((void *)(ptr) - bpf_core_field_offset(type, member)))

/*
 * Check the request header that every program gets as its context.
 * Returns 0 or the negative errno to report.
 */
static __always_inline int crib_req_check(struct crib_req *req, __u32 size)
{
	if (req->version != CRIB_ABI_VERSION || req->size != size)
		return -EPROTO;
	if (req->pid <= 0)
		return -ESRCH;
	req->err = 0;
	req->count = 0;
	req->total = 0;
	req->names_len = 0;
	req->flags = 0;
	return 0;
}

/*
 * The task a request names, after crib_req_check(), with a reference the
 * caller drops with bpf_task_release(); NULL with *err set when there is
 * none (-ESRCH: no such task).
 */
static __always_inline struct task_struct *crib_req_task(struct crib_req *req, __u32 size, int *err)
{
	struct task_struct *task;

	*err = crib_req_check(req, size);
	if (*err)
		return NULL;
	task = bpf_task_from_pid(req->pid);
	if (!task)
		*err = -ESRCH;
	return task;
}

#endif /* __CRIB_BPF_H__ */
