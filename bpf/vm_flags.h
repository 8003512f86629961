/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vm_flags.h: the vma->vm_flags bits CRIB translates, and what
 * /proc/PID/smaps prints for each.
 *
 * VM_* are #defines in include/linux/mm.h, not in BTF, so CO-RE cannot
 * relocate them.  These are the values of Linux 6.18 on x86_64 (64-bit,
 * 4 KiB pages); the low 32 bits have not moved since v5.x, the high ones
 * depend on the version and the config.  Each bit is checked against
 * /proc/PID/smaps VmFlags on real mappings by test/bpf/collector.test.ts
 * (the table of mnemonics there must agree with this one).
 */
#ifndef __CRIB_VM_FLAGS_H__
#define __CRIB_VM_FLAGS_H__

#define VM_READ         0x00000001ULL /* "rd" */
#define VM_WRITE        0x00000002ULL /* "wr" */
#define VM_EXEC         0x00000004ULL /* "ex" */
#define VM_SHARED       0x00000008ULL /* "sh" */
#define VM_MAYSHARE     0x00000080ULL /* "ms": the 's' of the maps permissions */
#define VM_GROWSDOWN    0x00000100ULL /* "gd" */
#define VM_PFNMAP       0x00000400ULL /* "pf" */
#define VM_LOCKED       0x00002000ULL /* "lo" */
#define VM_IO           0x00004000ULL /* "io" */
#define VM_SEQ_READ     0x00008000ULL /* "sr" */
#define VM_RAND_READ    0x00010000ULL /* "rr" */
#define VM_DONTCOPY     0x00020000ULL /* "dc" */
#define VM_NORESERVE    0x00200000ULL /* "nr" */
#define VM_HUGETLB      0x00400000ULL /* "ht" */
#define VM_WIPEONFORK   0x02000000ULL /* "wf" */
#define VM_DONTDUMP     0x04000000ULL /* "dd" */
#define VM_HUGEPAGE     0x20000000ULL /* "hg" */
#define VM_NOHUGEPAGE   0x40000000ULL /* "nh" */
#define VM_MERGEABLE    0x80000000ULL /* "mg" */
/* x86: VM_HIGH_ARCH_5, only with CONFIG_X86_USER_SHADOW_STACK (else 0, never set) */
#define VM_SHADOW_STACK (1ULL << 37)  /* "ss" */
/* 64-bit kernels: VM_DROPPABLE_BIT 40 (mm.h since 6.11) */
#define VM_DROPPABLE    (1ULL << 40)  /* "dp" */

/*
 * The high bits meant other things on older kernels: bit 37 was
 * VM_UFFD_MINOR until 6.6 made it x86's shadow stack, and bit 40 became
 * VM_DROPPABLE in 6.11.  Only bits known for the running kernel's version
 * are translated; libbpf fills LINUX_KERNEL_VERSION from uname.
 */
extern int LINUX_KERNEL_VERSION __kconfig;

static __always_inline __u64 vm_flags_known(__u64 f)
{
	__u64 high = 0;

	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 6, 0))
		high |= VM_SHADOW_STACK;
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 11, 0))
		high |= VM_DROPPABLE;
	return f & (0xffffffffULL | high);
}

/* uapi values, as CRIU expects them in cr_eng_vma.map_flags / madv */
#define CRIB_PROT_READ      0x1
#define CRIB_PROT_WRITE     0x2
#define CRIB_PROT_EXEC      0x4
#define CRIB_MAP_DROPPABLE  0x08
#define CRIB_MAP_GROWSDOWN  0x0100
#define CRIB_MAP_LOCKED     0x2000
#define CRIB_MAP_NORESERVE  0x4000
#define CRIB_MAP_HUGETLB    0x40000
#define CRIB_MADV_RANDOM      1
#define CRIB_MADV_SEQUENTIAL  2
#define CRIB_MADV_DONTFORK    10
#define CRIB_MADV_MERGEABLE   12
#define CRIB_MADV_HUGEPAGE    14
#define CRIB_MADV_NOHUGEPAGE  15
#define CRIB_MADV_DONTDUMP    16
#define CRIB_MADV_WIPEONFORK  18

#endif /* __CRIB_VM_FLAGS_H__ */
