# bpf.mk: the BPF objects of CRIB.  Included by the top-level Makefile;
# paths are relative to the repository root.
#
#   make bpf        build/bpf/vmlinux.h and build/bpf/*.bpf.o
#   make bpf-clean
#
# vmlinux.h is generated from the running kernel's BTF (override VMLINUX_BTF
# to build against another kernel's); objects are CO-RE and load on any
# kernel with BTF that has the features each program needs.

BUILD        ?= build
BPF_SRC      := bpf
BPF_OUT      := $(BUILD)/bpf
BPF_CLANG    ?= clang
BPFTOOL      ?= bpftool
VMLINUX_BTF  ?= /sys/kernel/btf/vmlinux
BPF_CFLAGS   ?= -g -O2 -Wall -Werror

BPF_PROGS    := task vma fds task_iter vma_iter fds_iter fds_fget ns_tasks
# each op folder's programs (ops/NAME/*.bpf.c), built with its headers and bpf/'s
BPF_OP_SRCS  := $(wildcard ops/*/*.bpf.c)
BPF_OBJS     := $(patsubst %,$(BPF_OUT)/%.bpf.o,$(BPF_PROGS)) \
		$(patsubst %.bpf.c,$(BPF_OUT)/%.bpf.o,$(notdir $(BPF_OP_SRCS))) \
		$(BPF_OUT)/pertask.bpf.o
BPF_HDRS     := $(wildcard $(BPF_SRC)/*.h)

.PHONY: bpf bpf-clean

bpf: $(BPF_OBJS)

$(BPF_OUT)/vmlinux.h: | $(BPF_OUT)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: $(BPF_SRC)/%.bpf.c $(BPF_HDRS) $(BPF_OUT)/vmlinux.h
	$(BPF_CLANG) $(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_x86 \
		-I$(BPF_OUT) -I$(BPF_SRC) -c $< -o $@

# pertask.bpf.o: the per-task ops of the registry, those whose folder has
# a FILL (ops/NAME/NAME_fields.h, bpf/crib_task_op.h), in one tree pass
BPF_FIELDS   := $(wildcard ops/*/*_fields.h)

$(BPF_OUT)/pertask_ops.h: ops/registry bpf/gen-pertask.awk $(BPF_FIELDS) | $(BPF_OUT)
	awk -f bpf/gen-pertask.awk -v fields="$(BPF_FIELDS)" ops/registry > $@.tmp
	mv $@.tmp $@

$(BPF_OUT)/pertask.bpf.o: $(BPF_SRC)/pertask.bpf.c $(BPF_OUT)/pertask_ops.h $(BPF_FIELDS) \
		$(wildcard ops/*/*.h) $(BPF_HDRS) $(BPF_OUT)/vmlinux.h
	$(BPF_CLANG) $(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_x86 \
		-I$(BPF_OUT) -I$(BPF_SRC) -I. -c $< -o $@

define bpf_op_rule
$(BPF_OUT)/$(notdir $(1:.bpf.c=.bpf.o)): $(1) $(wildcard $(dir $(1))*.h) $(BPF_HDRS) $(BPF_OUT)/vmlinux.h
	$$(BPF_CLANG) $$(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_x86 \
		-I$$(BPF_OUT) -I$(dir $(1)) -I$$(BPF_SRC) -c $$< -o $$@
endef
$(foreach src,$(BPF_OP_SRCS),$(eval $(call bpf_op_rule,$(src))))

$(BPF_OUT):
	mkdir -p $@

bpf-clean:
	rm -rf $(BPF_OUT)
