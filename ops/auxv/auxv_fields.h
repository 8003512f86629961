/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * auxv_fields.h: filling struct crib_auxv from a task, the FILL of
 * crib_task_op.h for auxv.bpf.c and auxv_iter.bpf.c: the task's
 * mm->saved_auxv, whole (fs/proc/base.c auxv_read() prints it up to its
 * AT_NULL pair; auxv.ts does the same cut).  A task without mm (a zombie)
 * has an empty /proc/PID/auxv: nr 0.
 */
#ifndef __CRIB_AUXV_FIELDS_H__
#define __CRIB_AUXV_FIELDS_H__

#include "auxv.h"

/* saved_auxv read in one go, then copied into the record */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[CRIB_AUXV_MAX]);
} auxv_scratch SEC(".maps");

static __always_inline void fill_auxv(struct crib_auxv *r, struct task_struct *task, int level, __u32 ns_inum)
{
#ifdef CRIB_TASK_FROM_PID
	struct mm_struct *mm = task->mm; /* typed: a plain load (6.2+; the 6.1 iterator keeps the probe read) */
#else
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
#endif
	__u32 size = bpf_core_field_size(mm->saved_auxv), zero = 0;
	__u64 *w = bpf_map_lookup_elem(&auxv_scratch, &zero);

	r->nr = 0;
	if (!mm || !w)
		return;
	if (size > sizeof(r->word))
		size = sizeof(r->word);
	__builtin_memset(w, 0, sizeof(r->word));
	if (bpf_probe_read_kernel(w, size, &mm->saved_auxv))
		return;
	/* a copy of constant size: @r may be a SYSCALL program's context, which helpers do not write */
	__builtin_memcpy(r->word, w, sizeof(r->word));
	r->nr = size / sizeof(r->word[0]);
}

#endif /* __CRIB_AUXV_FIELDS_H__ */
