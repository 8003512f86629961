# CRIB kfuncs for Linux 6.12: build the patched kernel and test it under qemu.
# Included from the top-level Makefile; see kernel-patches/README.md.
#
#   make kernel               fetch Debian's linux 6.12.95 source, apply the series,
#                             build a small bzImage; cached outside the work tree
#                             (/var/cache/crib-kernel/<hash of the series>)
#   make test-kernel-patches  boot it under qemu and run the series' selftests
#                             programs (verifier verdicts and messages) and the
#                             functional kfunc checks; then boot it again and run
#                             the engine there with the kfuncs in use
#                             (tests/engine-check.sh: crib check, the collector's
#                             kfunc probe, the agreement tests with
#                             CRIB_MECHANISM=fds=bpf:task_fget,fdinfo=bpf:task_fget;
#                             ENGINE_CHECK_GREP=pattern narrows those)
#   make check-kernel-series  each patch applied in turn, every touched file compiled

KERNEL_BUILD_DEB_PACKAGES := build-essential flex bison bc dwarves libelf-dev libssl-dev \
	qemu-system-x86 cpio xz-utils
CRIB_KERNEL_CACHE ?= /var/cache/crib-kernel

.PHONY: kernel kernel-deps test-kernel-patches check-kernel-series

kernel-deps:
	@missing=$$(for p in $(KERNEL_BUILD_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "kernel-deps: installing Debian packages:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

kernel: kernel-deps
	CRIB_KERNEL_CACHE=$(CRIB_KERNEL_CACHE) kernel-patches/build-kernel.sh

# (the engine check needs the build tree: BPF objects, addon, TypeScript, workloads)
test-kernel-patches: kernel deps-deb bpf addon ts workloads
	@set -e; \
	bz=$$(CRIB_KERNEL_CACHE=$(CRIB_KERNEL_CACHE) kernel-patches/build-kernel.sh 2>/dev/null | tail -n1); \
	echo "test-kernel-patches: kernel $$bz"; \
	$(MAKE) -C kernel-patches/tests VMLINUX=$$(dirname $$bz)/vmlinux SELFTESTS=$$(dirname $$bz)/selftests-bpf; \
	kernel-patches/tests/run-in-qemu.sh $$bz; \
	echo "test-kernel-patches: the engine with the kfuncs in use"; \
	printf 'ENGINE_CHECK_GREP=%q\n' "$${ENGINE_CHECK_GREP:-}" > build/kernel/tests/engine-check.env; \
	QEMU_TIMEOUT=$${QEMU_TIMEOUT:-1200} kernel-patches/tests/run-in-qemu.sh $$bz $(CURDIR)/kernel-patches/tests/engine-check.sh $(CURDIR)

check-kernel-series: kernel-deps
	kernel-patches/check-series.sh
