# plugin/plugin.mk: crib.so, the CRIU plugin that offers the "crib" engine.
# Included by the top-level Makefile; paths are relative to the repo root.
#
#   make plugin             build/lib/criu/crib.so, and for test/plugin/: ops-test
#                           (answer checks, fake transport) and plugin-driver
#   make crib-plugin-test   run that test (ops.c against a fake transport)
#
# Against stock CRIU headers (no GET_ENGINE hook), for local testing only:
#   make plugin CRIU_INC=/path/to/criu/include CRIB_PLUGIN_DEFS=-DCRIB_STOCK_HEADERS

BUILD ?= build
CRIU_INC ?= $(BUILD)/criu-src/criu-4.2.1/criu/include
CRIB_PLUGIN_DEFS ?=
CRIB_PLUGIN_CFLAGS ?= -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror

CRIB_PLUGIN_SO := $(BUILD)/lib/criu/crib.so
CRIB_PLUGIN_GEN := $(BUILD)/plugin
CRIB_PLUGIN_PB := $(CRIB_PLUGIN_GEN)/crib.pb-c.c
# each op folder's converter (ops/NAME/NAME.c) and message (ops/NAME/NAME.proto)
CRIB_OP_DIRS := $(patsubst %/,%,$(dir $(wildcard ops/*/*.proto)))
CRIB_OP_SRCS := $(filter-out %.bpf.c %_test.c,$(wildcard ops/*/*.c))
# each op folder's converter checks (ops/NAME/NAME_test.c), run by ops-test
CRIB_OP_TESTS := $(wildcard ops/*/*_test.c)
CRIB_PLUGIN_SRCS := $(wildcard plugin/*.c) $(CRIB_OP_SRCS)
CRIB_PLUGIN_HDRS := $(wildcard plugin/*.h) $(wildcard $(CRIU_INC)/criu-plugin.h $(CRIU_INC)/criu-engine.h) \
		    $(CRIB_PLUGIN_GEN)/crib_ops.h $(wildcard ops/*/*.h)
# criu-engine.h comes from the patched tree; criu-patches/include is the fallback.
CRIB_PLUGIN_INC := -iquote plugin -iquote $(CRIB_PLUGIN_GEN) $(addprefix -iquote ,$(CRIB_OP_DIRS)) -iquote $(CRIU_INC) -iquote criu-patches/include -idirafter bpf
CRIB_PLUGIN_TEST := $(CRIB_PLUGIN_GEN)/ops-test
CRIB_PLUGIN_DRIVER := $(CRIB_PLUGIN_GEN)/plugin-driver

CRIB_OP_PB := $(foreach d,$(CRIB_OP_DIRS),$(CRIB_PLUGIN_GEN)/$(notdir $(d)).pb-c.c)
CRIB_PLUGIN_PB := $(CRIB_PLUGIN_PB) $(CRIB_OP_PB)

$(CRIB_PLUGIN_GEN)/crib.pb-c.c: proto/crib.proto
	@mkdir -p $(CRIB_PLUGIN_GEN)
	protoc-c --proto_path=proto --c_out=$(CRIB_PLUGIN_GEN) proto/crib.proto

define crib_op_pb_rule
$(CRIB_PLUGIN_GEN)/$(notdir $(1)).pb-c.c: $(1)/$(notdir $(1)).proto
	@mkdir -p $(CRIB_PLUGIN_GEN)
	protoc-c --proto_path=$(1) --c_out=$(CRIB_PLUGIN_GEN) $$<
endef
$(foreach d,$(CRIB_OP_DIRS),$(eval $(call crib_op_pb_rule,$(d))))

$(CRIB_PLUGIN_GEN)/crib.pb-c.h: $(CRIB_PLUGIN_GEN)/crib.pb-c.c

# the op table (names, ids, folder ops) from the registry
$(CRIB_PLUGIN_GEN)/crib_ops.h: ops/registry plugin/gen-ops.awk
	@mkdir -p $(CRIB_PLUGIN_GEN)
	awk -f plugin/gen-ops.awk ops/registry > $@.tmp && mv $@.tmp $@

# The patched tree's headers (the top-level Makefile's criu-headers), unless
# building against other headers.
CRIB_PLUGIN_HEADERS_DEP ?= $(if $(CRIB_PLUGIN_DEFS),,criu-headers)

$(CRIB_PLUGIN_SO): $(CRIB_PLUGIN_SRCS) $(CRIB_PLUGIN_HDRS) $(CRIB_PLUGIN_PB) $(CRIB_PLUGIN_GEN)/crib.pb-c.h \
		plugin/crib.map | $(CRIB_PLUGIN_HEADERS_DEP)
	@mkdir -p $(@D)
	$(CC) $(CRIB_PLUGIN_CFLAGS) $(CRIB_PLUGIN_DEFS) -D_GNU_SOURCE -fPIC -shared -Wl,--version-script=plugin/crib.map \
		$(CRIB_PLUGIN_INC) $(CRIB_PLUGIN_SRCS) $(CRIB_PLUGIN_PB) -o $@ -lprotobuf-c

# ops.c against a fake shim: the checks of malformed answers, nothing else.
$(CRIB_PLUGIN_TEST): test/plugin/ops-test.c test/plugin/ops-test.h plugin/ops.c plugin/direct.c $(CRIB_OP_SRCS) $(CRIB_OP_TESTS) $(CRIB_PLUGIN_HDRS) $(CRIB_PLUGIN_PB) \
		| $(CRIB_PLUGIN_HEADERS_DEP)
	@mkdir -p $(@D)
	$(CC) $(CRIB_PLUGIN_CFLAGS) -D_GNU_SOURCE $(CRIB_PLUGIN_INC) -iquote test/plugin test/plugin/ops-test.c plugin/ops.c plugin/direct.c \
		$(CRIB_OP_SRCS) $(CRIB_OP_TESTS) $(CRIB_PLUGIN_PB) -o $@ -lprotobuf-c

# dlopen()s crib.so and calls the engine ops as CRIU would (real shim and engine).
$(CRIB_PLUGIN_DRIVER): test/plugin/plugin-driver.c $(CRIB_PLUGIN_HDRS) | $(CRIB_PLUGIN_HEADERS_DEP)
	@mkdir -p $(@D)
	$(CC) $(CRIB_PLUGIN_CFLAGS) -D_GNU_SOURCE -rdynamic $(CRIB_PLUGIN_INC) $< -o $@ -ldl

.PHONY: plugin crib-plugin-test
plugin: $(CRIB_PLUGIN_SO) $(CRIB_PLUGIN_TEST) $(CRIB_PLUGIN_DRIVER)

crib-plugin-test: $(CRIB_PLUGIN_TEST)
	$(CRIB_PLUGIN_TEST)
