# Kernel test bed: run checks under Debian's distribution kernels with qemu (TCG).
# Included from the top-level Makefile. See test/kernel/README.md.
#
#   make test-kernels    fetch each kernel of KERNEL_SPECS, build its initramfs,
#                        boot it and run KERNEL_CHECK_CMD inside; PASS/FAIL per kernel
#   make kernels-fetch   only download/unpack the kernels (cached in KERNELS_DIR)
#   make kernels-deps    install the Debian packages the test bed needs
#   make kernels-clean   remove KERNELS_DIR
#
#   KERNEL_SPECS      SUITE/PACKAGE list (metapackages resolve to the current image)
#   KERNEL_CHECK_CMD  bash command line run as root in the guest, in the repo's top
#                     directory (default: the smoke check: uname, BTF, bpftool probe,
#                     node, results share; then the engine's checks, engine-check.sh:
#                     `crib check` and the BPF agreement tests on this build tree)
#   KERNEL_VM_TIMEOUT seconds per kernel

KERNEL_SPECS ?= bookworm/linux-image-amd64 trixie/linux-image-amd64
KERNEL_CHECK_CMD ?= test/kernel/smoke-check.sh && test/kernel/engine-check.sh
KERNEL_VM_TIMEOUT ?= 1200
KERNELS_DIR ?= $(or $(BUILD),build)/kernels
KERNEL_DEB_PACKAGES := qemu-system-x86 busybox-static cpio kmod python3 xz-utils zstd

.PHONY: test-kernels kernels-fetch kernels-deps kernels-clean

kernels-deps:
	@missing=$$(for p in $(KERNEL_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "kernels-deps: installing Debian packages:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

kernels-fetch: kernels-deps
	@set -e; for s in $(KERNEL_SPECS); do test/kernel/fetch-kernel.sh $$s $(KERNELS_DIR); done

# (engine-check.sh: then which mechanism serves each op, per kernel)
test-kernels: kernels-deps
	@mkdir -p '$(KERNELS_DIR)/runs' && touch '$(KERNELS_DIR)/runs/.started'; \
	KERNELS_DIR='$(KERNELS_DIR)' KERNEL_VM_TIMEOUT='$(KERNEL_VM_TIMEOUT)' \
	KERNEL_CHECK_CMD="$$KERNEL_CHECK_CMD_" test/kernel/test-kernels.sh $(KERNEL_SPECS); rc=$$?; \
	for f in $$(find '$(KERNELS_DIR)/runs' -name engine-check.txt -newer '$(KERNELS_DIR)/runs/.started'); do \
		grep -h '^engine-check:' "$$f"; done; exit $$rc

# the check command goes through the environment, so it may hold any quotes
test-kernels: export KERNEL_CHECK_CMD_ = $(KERNEL_CHECK_CMD)

kernels-clean:
	rm -rf $(KERNELS_DIR)
