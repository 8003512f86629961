/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vma_fields.h: what /proc/PID/maps and the VmFlags line say of one VMA,
 * name aside, as struct crib_vma; shared by vma.bpf.c (open-coded VMA
 * iterator) and vma_iter.bpf.c (iter/task_vma).
 */
#ifndef __CRIB_VMA_FIELDS_H__
#define __CRIB_VMA_FIELDS_H__

#include "vm_flags.h"

#ifndef PAGE_SHIFT
#define PAGE_SHIFT 12
#endif

static __always_inline __u32 vm_map_flags(__u64 f)
{
	__u32 m = 0;

	if (f & VM_GROWSDOWN)  m |= CRIB_MAP_GROWSDOWN;
	if (f & VM_LOCKED)     m |= CRIB_MAP_LOCKED;
	if (f & VM_NORESERVE)  m |= CRIB_MAP_NORESERVE;
	if (f & VM_HUGETLB)    m |= CRIB_MAP_HUGETLB;
	if (f & VM_DROPPABLE)  m |= CRIB_MAP_DROPPABLE;
	return m;
}

static __always_inline __u64 vm_madv(__u64 f)
{
	__u64 m = 0;

	if (f & VM_SEQ_READ)   m |= 1ULL << CRIB_MADV_SEQUENTIAL;
	if (f & VM_RAND_READ)  m |= 1ULL << CRIB_MADV_RANDOM;
	if (f & VM_DONTCOPY)   m |= 1ULL << CRIB_MADV_DONTFORK;
	if (f & VM_DONTDUMP)   m |= 1ULL << CRIB_MADV_DONTDUMP;
	if (f & VM_MERGEABLE)  m |= 1ULL << CRIB_MADV_MERGEABLE;
	if (f & VM_HUGEPAGE)   m |= 1ULL << CRIB_MADV_HUGEPAGE;
	if (f & VM_NOHUGEPAGE) m |= 1ULL << CRIB_MADV_NOHUGEPAGE;
	if (f & VM_WIPEONFORK) m |= 1ULL << CRIB_MADV_WIPEONFORK;
	return m;
}

/*
 * The inode fields of the file last read, for the next VMA of the same
 * file: a library maps 4-5 VMAs, and a file or shared memory mapped page
 * by page thousands (four probe reads a VMA saved, ~20% of a file-backed
 * VMA's cost).  The mmap lock is held across the walk, and each VMA holds
 * its file: the same pointer is the same file.
 */
struct vma_file_cache {
	__u64 file;
	__u64 ino;
	__u32 dev;
	__s32 mnt_id;
	__u32 fmode;
	__u32 _pad;
};

/* Every field of @v but the name's; the name is cleared for name_vma().  @fc may be NULL. */
static __always_inline void vma_fields(struct crib_vma *v, struct vm_area_struct *vma,
				       struct vma_file_cache *fc)
{
	struct file *file = vma->vm_file;
	__u64 f = vma->vm_flags;

	v->start = vma->vm_start;
	v->end = vma->vm_end;
	v->vm_flags = f;
	v->prot = (f & VM_READ ? CRIB_PROT_READ : 0) |
		  (f & VM_WRITE ? CRIB_PROT_WRITE : 0) |
		  (f & VM_EXEC ? CRIB_PROT_EXEC : 0);
	v->shared = !!(f & VM_MAYSHARE);
	v->map_flags = vm_map_flags(vm_flags_known(f));
	v->madv = vm_madv(vm_flags_known(f));
	v->vmflags = (f & (VM_IO | VM_PFNMAP) ? CRIB_VMF_IO_PF : 0) |
		     (vm_flags_known(f) & VM_SHADOW_STACK ? CRIB_VMF_SHSTK : 0);
	v->name_flags = 0;
	v->name_kind = CRIB_NAME_NONE;
	v->name_len = 0;
	if (file) {
		__u32 dev;

		if (fc && fc->file == (__u64)file) {
			dev = fc->dev;
			v->ino = fc->ino;
			v->mnt_id = fc->mnt_id;
			v->fmode = fc->fmode;
		} else {
			struct inode *inode = BPF_CORE_READ(file, f_inode);
			struct vfsmount *mnt = BPF_CORE_READ(file, f_path.mnt);

			dev = BPF_CORE_READ(inode, i_sb, s_dev);
			v->ino = BPF_CORE_READ(inode, i_ino);
			/* real_mount(): the mount of the path map_files and fdinfo show */
			v->mnt_id = mnt ? BPF_CORE_READ(crib_container_of(mnt, struct mount, mnt), mnt_id) : -1;
			v->fmode = BPF_CORE_READ(file, f_mode) & (CRIB_FMODE_READ | CRIB_FMODE_WRITE);
			if (fc) {
				fc->file = (__u64)file;
				fc->dev = dev;
				fc->ino = v->ino;
				fc->mnt_id = v->mnt_id;
				fc->fmode = v->fmode;
			}
		}
		v->pgoff = vma->vm_pgoff << PAGE_SHIFT;
		v->dev_maj = dev >> 20;
		v->dev_min = dev & 0xfffff;
	} else {
		v->pgoff = 0;
		v->ino = 0;
		v->dev_maj = 0;
		v->dev_min = 0;
		v->mnt_id = -1;
		v->fmode = 0;
	}
}

#endif /* __CRIB_VMA_FIELDS_H__ */
