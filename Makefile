# CRIB: Checkpoint/Restore In eBPF.
#
#   make demo    install what is missing, build, checkpoint/restore a sample
#                workload with the crib engine, print the A/B table
#   make test    the default test suite (CI runs it through .ci/run)
#   make bench   per-op and end-to-end figures at 10,000 VMAs / fds
#   make install criu, crib and the plugin where `criu dump --engine=crib` finds them
#
# Everything built lands under build/.

SHELL := /bin/bash
BUILD := build
NPROC := $(shell nproc 2>/dev/null || echo 2)

CRIU_VERSION := 4.2.1
CRIU_SHA256 := 29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
CRIU_TARBALL := $(BUILD)/cache/criu_$(CRIU_VERSION).orig.tar.xz
CRIU_SRC := $(BUILD)/criu-src/criu-$(CRIU_VERSION)
CRIU_STOCK_SRC := $(BUILD)/criu-src/stock/criu-$(CRIU_VERSION)
CRIU_PATCHES := $(shell sed -e '/^\s*\#/d' -e '/^\s*$$/d' criu-patches/series 2>/dev/null | sed 's|^|criu-patches/|')
CRIU_INC := $(CRIU_SRC)/criu/include

PREFIX ?= /usr/local
# CRIU's built-in plugin directory (CR_PLUGIN_DEFAULT), where it looks with no --libdir
CRIU_PLUGIN_DIR ?= /usr/lib/criu

# Debian packages the build, the tests and the benchmark need (postgresql
# and nginx-light: test/e2e/nonroot.test.ts dumps both servers; strace:
# make bench counts /proc lookups)
DEB_PACKAGES := clang llvm libbpf-dev bpftool pkg-config make gcc g++ cmake \
	protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev python3-protobuf \
	libnl-3-dev libnl-route-3-dev libnet1-dev libcap-dev libaio-dev uuid-dev \
	libgnutls28-dev libnftables-dev libdrm-dev iproute2 python3-yaml xz-utils patch \
	iptables util-linux \
	postgresql nginx-light strace

.PHONY: test-install workloads bpffs criu-headers all deps deps-deb deps-npm criu criu-stock bpf addon plugin ts cli \
	install uninstall test test-unit demo bench clean distclean

all: criu criu-stock bpf addon plugin cli workloads

# ---- dependencies -------------------------------------------------------

deps: deps-deb deps-npm

deps-deb:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing Debian packages:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

deps-npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# ---- CRIU 4.2.1: stock and patched --------------------------------------

$(CRIU_TARBALL):
	criu-patches/fetch-criu.sh $(BUILD)/cache $(CRIU_VERSION) $(CRIU_SHA256)

$(CRIU_STOCK_SRC)/.extracted: $(CRIU_TARBALL)
	rm -rf $(BUILD)/criu-src/stock && mkdir -p $(BUILD)/criu-src/stock
	tar -C $(BUILD)/criu-src/stock -xf $<
	touch $@

$(CRIU_SRC)/.patched: $(CRIU_TARBALL) $(CRIU_PATCHES) criu-patches/series
	rm -rf $(CRIU_SRC) && mkdir -p $(BUILD)/criu-src
	tar -C $(BUILD)/criu-src -xf $<
	set -e; for p in $(CRIU_PATCHES); do \
		echo "  PATCH  $$p"; patch -d $(CRIU_SRC) -p1 -s --no-backup-if-mismatch < $$p; \
	done
	touch $@

$(BUILD)/bin/criu-stock: $(CRIU_STOCK_SRC)/.extracted
	$(MAKE) -C $(CRIU_STOCK_SRC) -j$(NPROC) criu
	mkdir -p $(BUILD)/bin && cp $(CRIU_STOCK_SRC)/criu/criu $@

$(BUILD)/bin/criu: $(CRIU_SRC)/.patched
	$(MAKE) -C $(CRIU_SRC) -j$(NPROC) criu
	$(MAKE) -C $(CRIU_SRC) -j$(NPROC) lib crit
	mkdir -p $(BUILD)/bin && cp $(CRIU_SRC)/criu/criu $@

criu: deps-deb $(BUILD)/bin/criu
criu-stock: deps-deb $(BUILD)/bin/criu-stock
# the plugin builds against the patched headers
criu-headers: $(CRIU_SRC)/.patched

# ---- BPF, addon, plugin, TypeScript -------------------------------------

-include bpf/bpf.mk
-include plugin/plugin.mk
-include test/kernel/kernels.mk
-include kernel-patches/kernel.mk

# the engine's checks run inside each kernel against this build tree
test-kernels: deps all

ADDON := $(BUILD)/addon/crib_native.node
addon: deps-npm $(ADDON)
$(ADDON): $(wildcard engine-ts/native/*) node_modules/.package-lock.json
	npx cmake-js compile -d engine-ts/native -O $(BUILD)/addon-build --CDCMAKE_LIBRARY_OUTPUT_DIRECTORY=$(abspath $(BUILD)/addon) >$(BUILD)/addon-build.log 2>&1 || { cat $(BUILD)/addon-build.log; exit 1; }
	@test -f $@ || { echo "addon: $@ was not produced"; exit 1; }

TS_OUT := $(BUILD)/ts
ts: deps-npm
	npx tsc -p tsconfig.json
	node $(TS_OUT)/engine-ts/src/engine/proto.js --json

# build/bin/crib and the engine launcher next to the plugin, pointing at this tree
cli: ts
	mkdir -p $(BUILD)/bin $(BUILD)/lib/criu
	printf '#!/bin/sh\nexec node "%s" "$$@"\n' "$(abspath $(TS_OUT))/engine-ts/src/cli/main.js" > $(BUILD)/bin/crib
	printf '#!/bin/sh\nCRIB_OBJ_DIR="$${CRIB_OBJ_DIR:-%s}" CRIB_ADDON="$${CRIB_ADDON:-%s}" exec node "%s" "$$@"\n' \
		"$(abspath $(BUILD)/bpf)" "$(abspath $(ADDON))" "$(abspath $(TS_OUT))/engine-ts/src/engine/main.js" \
		> $(BUILD)/lib/criu/crib-engine
	chmod +x $(BUILD)/bin/crib $(BUILD)/lib/criu/crib-engine

# ---- install ------------------------------------------------------------

LIBEXEC := $(PREFIX)/lib/crib
# what the engine and the CLI require at run time (protobufjs and its dependencies)
ENGINE_RUNTIME_MODULES := protobufjs @protobufjs long
install: all systemd-units
	install -D -m 755 $(BUILD)/bin/criu $(DESTDIR)$(PREFIX)/sbin/criu
	install -D -m 755 $(BUILD)/bin/criu-stock $(DESTDIR)$(LIBEXEC)/criu-stock
	rm -rf $(DESTDIR)$(LIBEXEC)/ts $(DESTDIR)$(LIBEXEC)/bpf
	mkdir -p $(DESTDIR)$(LIBEXEC)
	cp -r $(TS_OUT) $(DESTDIR)$(LIBEXEC)/ts
	mkdir -p $(DESTDIR)$(LIBEXEC)/bpf && cp $(BUILD)/bpf/*.bpf.o $(DESTDIR)$(LIBEXEC)/bpf/
	install -D -m 644 $(ADDON) $(DESTDIR)$(LIBEXEC)/crib_native.node
	install -D -m 644 proto/crib.proto $(DESTDIR)$(LIBEXEC)/proto/crib.proto
	rm -rf $(DESTDIR)$(LIBEXEC)/ops && install -D -m 644 ops/registry $(DESTDIR)$(LIBEXEC)/ops/registry
	for p in ops/*/*.proto; do install -D -m 644 $$p $(DESTDIR)$(LIBEXEC)/$$p; done
	mkdir -p $(DESTDIR)$(LIBEXEC)/criu-images && cp $(CRIU_SRC)/images/*.proto $(DESTDIR)$(LIBEXEC)/criu-images/
	rm -rf $(DESTDIR)$(LIBEXEC)/node_modules && mkdir -p $(DESTDIR)$(LIBEXEC)/node_modules
	cp -r $(addprefix node_modules/,$(ENGINE_RUNTIME_MODULES)) $(DESTDIR)$(LIBEXEC)/node_modules/
	install -D -m 644 $(BUILD)/lib/criu/crib.so $(DESTDIR)$(CRIU_PLUGIN_DIR)/crib.so
	printf '#!/bin/sh\nCRIB_OBJ_DIR="$${CRIB_OBJ_DIR:-%s}" CRIB_ADDON="$${CRIB_ADDON:-%s}" exec node "%s" "$$@"\n' \
		"$(LIBEXEC)/bpf" "$(LIBEXEC)/crib_native.node" "$(LIBEXEC)/ts/engine-ts/src/engine/main.js" \
		> $(DESTDIR)$(CRIU_PLUGIN_DIR)/crib-engine
	printf '#!/bin/sh\nCRIB_PREFIX="%s" exec node "%s" "$$@"\n' "$(LIBEXEC)" "$(LIBEXEC)/ts/engine-ts/src/cli/main.js" \
		> $(DESTDIR)$(PREFIX)/bin/crib
	chmod +x $(DESTDIR)$(CRIU_PLUGIN_DIR)/crib-engine $(DESTDIR)$(PREFIX)/bin/crib
	install -D -m 644 $(BUILD)/systemd/crib.socket $(DESTDIR)$(SYSTEMD_UNIT_DIR)/crib.socket
	install -D -m 644 $(BUILD)/systemd/crib.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/crib.service
	@echo "installed: $(PREFIX)/sbin/criu, $(PREFIX)/bin/crib, $(CRIU_PLUGIN_DIR)/crib.so, $(SYSTEMD_UNIT_DIR)/crib.{socket,service}"

# the service's units: socket activation on /run/crib/crib.sock
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSTEMD_UNITS := crib.socket crib.service
$(BUILD)/systemd/%: systemd/%.in
	mkdir -p $(dir $@)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' $< > $@

.PHONY: systemd-units systemd-verify
systemd-units: $(addprefix $(BUILD)/systemd/,$(SYSTEMD_UNITS))

# where systemd-analyze is there (it needs no running systemd)
systemd-verify: systemd-units
	@if command -v systemd-analyze >/dev/null; then \
		out=$$(cd $(BUILD)/systemd && systemd-analyze verify --man=no $(addprefix ./,$(SYSTEMD_UNITS)) 2>&1); rc=$$?; \
		if [ $$rc -ne 0 ] || [ -n "$$out" ]; then echo "$$out"; echo "systemd-verify: the units do not verify"; exit 1; fi; \
		echo "systemd-verify: $(SYSTEMD_UNITS) verified"; \
	else echo "systemd-verify: no systemd-analyze here; units not checked"; fi

# criu dump --engine=crib from the installed copy, no extra flags
test-install: install bpffs
	test/install/check.sh $(PREFIX) $(abspath $(BUILD)/test)
	$(MAKE) systemd-verify

uninstall:
	rm -rf $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(CRIU_PLUGIN_DIR)/crib.so $(DESTDIR)$(CRIU_PLUGIN_DIR)/crib-engine
	rm -f $(DESTDIR)$(PREFIX)/sbin/criu $(DESTDIR)$(PREFIX)/bin/crib
	rm -f $(addprefix $(DESTDIR)$(SYSTEMD_UNIT_DIR)/,$(SYSTEMD_UNITS))

# ---- tests, demo, figures -----------------------------------------------

bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

test: deps all bpffs zdtm-build
	npx mocha

# ---- CRIU's own test suite, ZDTM (test/zdtm/) ------------------------------

ZDTM_STAMP := $(CRIU_SRC)/test/zdtm/.built
ZDTM_RUN := test/zdtm/zdtm-run.py --tree $(CRIU_SRC) --criu $(BUILD)/bin/criu \
	--criu-stock $(BUILD)/bin/criu-stock --libdir $(BUILD)/lib/criu --out $(BUILD)/zdtm
ZDTM_FLAVORS ?= h ns
.PHONY: zdtm zdtm-build
zdtm-build: $(ZDTM_STAMP)
$(ZDTM_STAMP): $(BUILD)/bin/criu
	$(MAKE) -C $(CRIU_SRC)/test/zdtm -j$(NPROC) >$(BUILD)/zdtm-build.log 2>&1 || { tail -30 $(BUILD)/zdtm-build.log; exit 1; }
	touch $@

# test/zdtm/static.list in each flavour, with stock CRIU (procfs), crib, crib + verify;
# ZDTM_SERVICE=1: the crib modes through an engine service (crib serve) started for the run
ZDTM_SERVICE ?=
zdtm: deps all bpffs zdtm-build
	@mkdir -p $(BUILD)/zdtm; rc=0; for f in $(ZDTM_FLAVORS); do \
		$(ZDTM_RUN) --list test/zdtm/static.list --flavor $$f $(if $(ZDTM_SERVICE),--service $(abspath $(BUILD)/bin/crib)) 2>&1 | tee $(BUILD)/zdtm/zdtm-$$f.txt; \
		[ $${PIPESTATUS[0]} -eq 0 ] || rc=1; \
	done; \
	for f in $(ZDTM_FLAVORS); do \
		$(ZDTM_RUN) --out $(BUILD)/zdtm/crib-only --list test/zdtm/crib-only.list --flavor $$f --modes crib $(if $(ZDTM_SERVICE),--service $(abspath $(BUILD)/bin/crib)) 2>&1 | tee $(BUILD)/zdtm/zdtm-crib-only-$$f.txt; \
		[ $${PIPESTATUS[0]} -eq 0 ] || rc=1; \
	done; \
	exit $$rc

demo: deps all bpffs
	$(BUILD)/bin/crib demo

bench: deps all bpffs
	$(BUILD)/bin/crib bench

clean:
	rm -rf $(BUILD)/ts $(BUILD)/bpf $(BUILD)/addon $(BUILD)/addon-build $(BUILD)/plugin $(BUILD)/lib $(BUILD)/bin

distclean:
	rm -rf $(BUILD) node_modules

# ---- test workloads -----------------------------------------------------

WORKLOADS := $(patsubst test/workloads/%.c,$(BUILD)/test/%,$(wildcard test/workloads/*.c))
workloads: $(WORKLOADS)
$(BUILD)/test/%: test/workloads/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Werror -o $@ $<

# With make -j, nothing that runs an installed tool or links an installed
# library may start before deps-deb (and deps-npm) has finished.
$(BPF_OUT)/vmlinux.h $(BPF_OBJS) $(CRIB_PLUGIN_PB) $(CRIB_PLUGIN_SO) $(CRIB_PLUGIN_TEST) \
	$(CRIB_PLUGIN_DRIVER) $(ADDON) $(WORKLOADS) $(CRIU_TARBALL): | deps-deb
$(ADDON): | deps-npm
