/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vma_ksyms.h: the kernel functions VMA naming compares pointers with,
 * shared by vma.bpf.c and vma_iter.bpf.c.
 *
 * As `extern const void x __ksym` libbpf would resolve them at load by
 * reading all of /proc/kallsyms (~65 ms of a ~120 ms load here).  Instead
 * crib_ksyms_init, a SYSCALL program user space runs once right after
 * loading the object (every program named *_init is, see collector.ts),
 * asks the kernel with bpf_kallsyms_lookup_name() (5.16+).  A symbol the
 * kernel does not have stays 0, as an unresolved weak ksym would; any
 * other failure (-EPERM where kernel addresses are hidden) fails the init,
 * and user space does not use the object.
 */
#ifndef __CRIB_VMA_KSYMS_H__
#define __CRIB_VMA_KSYMS_H__

#ifndef ENOENT
#define ENOENT 2
#endif

/* mm/mmap.c: vm_ops->name of the special mappings ([vdso], [vvar], [uprobes], ...) */
__u64 ksym_special_mapping_name;
/* fs/d_path.c and fs/anon_inodes.c: the d_dname() of pseudo files one can map */
__u64 ksym_simple_dname;
__u64 ksym_anon_inodefs_dname;

#define crib_ksym_lookup(name, addr) ({						\
	long __err = bpf_kallsyms_lookup_name(name, sizeof(name), 0, addr);	\
	__err == -ENOENT ? 0 : __err;						\
})

SEC("syscall")
int crib_ksyms_init(void *ctx)
{
	long err;

	err = crib_ksym_lookup("special_mapping_name", &ksym_special_mapping_name);
	if (!err)
		err = crib_ksym_lookup("simple_dname", &ksym_simple_dname);
	if (!err)
		err = crib_ksym_lookup("anon_inodefs_dname", &ksym_anon_inodefs_dname);
	return err;
}

#endif /* __CRIB_VMA_KSYMS_H__ */
