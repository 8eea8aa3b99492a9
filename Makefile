# SPDX-License-Identifier: GPL-2.0-only
#
# iotgate: one entry point. Targets: all test unit sanitize bench install vm-test clean
#
# Variables honoured (Yocto/cross friendly):
#   CROSS_COMPILE  toolchain prefix (aarch64-linux-gnu-, arm-linux-gnueabihf-)
#   CC CFLAGS LDFLAGS CPPFLAGS  userspace compiler and flags
#   AR             archiver (default $(CROSS_COMPILE)ar with CROSS_COMPILE)
#   CLANG BPFTOOL LLVM_STRIP    BPF toolchain
#   BPF_CFLAGS     extra clang flags for the BPF objects (e.g. -fdebug-prefix-map=...)
#   VMLINUX_H      vmlinux.h to build BPF against (default: checked-in per arch)
#   VMLINUX_BTF    a kernel BTF blob or vmlinux ELF to generate vmlinux.h from
#   KDIR           kernel build tree: also build kmod/ against it
#   DESTDIR PREFIX SYSCONFDIR  install locations
#   SBINDIR DATADIR MANDIR UNITDIR  (default PREFIX/sbin, PREFIX/share, DATADIR/man,
#                  PREFIX/lib/systemd/system)
#   BUILD          output directory (default build; build/<arch> with CROSS_COMPILE)
#   TPM            auto (default), 1 or 0: the TPM anchor of the log (tpm2-tss headers)

ifeq ($(CROSS_COMPILE),)
BUILD ?= build
endif
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

ifneq ($(CROSS_COMPILE),)
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
endif
CLANG ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip

TARGET_TRIPLE := $(shell $(CC) -dumpmachine 2>/dev/null)
ifeq ($(TARGET_TRIPLE),)
$(error cannot run the C compiler '$(CC)': install it (for cross builds: scripts/install-deps --cross))
endif
ifneq ($(filter x86_64%,$(TARGET_TRIPLE)),)
BPF_ARCH := x86
else ifneq ($(filter aarch64%,$(TARGET_TRIPLE)),)
BPF_ARCH := arm64
else ifneq ($(filter arm%,$(TARGET_TRIPLE)),)
BPF_ARCH := arm
else
$(error unsupported target '$(TARGET_TRIPLE)': iotgate builds for x86_64, aarch64 and arm)
endif
BUILD ?= build/$(BPF_ARCH)

ifneq ($(VMLINUX_BTF),)
VMLINUX_H := $(BUILD)/vmlinux/vmlinux.h
endif
VMLINUX_H ?= bpf/vmlinux/$(BPF_ARCH)/vmlinux.h

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CFLAGS ?= -O2 -g
# _FILE_OFFSET_BITS: 64-bit inode numbers and offsets on 32-bit ARM too.
IG_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DIG_VERSION='"$(VERSION)"' \
	-DIG_SYSCONFDIR='"$(SYSCONFDIR)"' -I$(BUILD) -Ibpf -Iuserspace
# libcrypto is dlopen()ed (userspace/crypto.h); the unit tests also link it as a reference.
LIBS := -lbpf -lelf -lz -ljson-c -lpthread -ldl
# TPM anchoring of the measurement log (userspace/tpm.h): tpm2-tss's headers at build
# time only (libtss2-dev; the libraries are dlopen()ed where a TPM exists).
# TPM=auto (default) builds it when the headers are there, TPM=1 insists, TPM=0 omits it.
TPM ?= auto
ifeq ($(TPM),auto)
override TPM := $(shell printf '\043include <tss2/tss2_esys.h>\n\043include <tss2/tss2_tctildr.h>\n' | \
	$(CC) $(CPPFLAGS) -E -x c - >/dev/null 2>&1 && echo 1 || echo 0)
endif
IG_CFLAGS += -DIG_TPM=$(TPM)

ifeq ($(SANITIZE),1)
IG_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(filter-out userspace/iotgated.c userspace/iotgatectl.c,$(wildcard userspace/*.c))
LIB_OBJS := $(patsubst userspace/%.c,$(BUILD)/userspace/%.o,$(LIB_SRCS))
# The daemon's own modules (userspace/daemon/daemon.h), linked into iotgated only.
DAEMON_OBJS := $(patsubst userspace/%.c,$(BUILD)/userspace/%.o,userspace/iotgated.c \
	$(wildcard userspace/daemon/*.c))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%.o,$(UNIT_SRCS))
# Small programs the bats suites run (test-only, never installed).
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(wildcard tests/helpers/*.c))
# Load generators and probes of bench/ (also run by the bats suites).
BENCH_HELPERS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
# Do-nothing programs on the hooks of the interface and device rules (the
# floor under bench/net.sh's ratios).
BENCH_BPF := $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.bpf.o,$(wildcard bench/bpf/*.bpf.c))

.PHONY: all test unit sanitize bench install vm-test host-test clean format-check kmod
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)

all: $(BUILD)/iotgated $(BUILD)/iotgatectl $(BUILD)/unit-tests $(TEST_HELPERS) $(BENCH_HELPERS) \
	$(BENCH_BPF) kmod

$(BUILD)/vmlinux/vmlinux.h: $(VMLINUX_BTF)
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

BPF_CC = $(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) $(BPF_CFLAGS) \
	-I$(dir $(VMLINUX_H))

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX_H)
	@mkdir -p $(@D)
	$(BPF_CC) -Ibpf -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bench/%.bpf.o: bench/bpf/%.bpf.c $(VMLINUX_H)
	@mkdir -p $(@D)
	$(BPF_CC) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name ig_$* > $@

# Target libraries (header:library:Debian package): checked once per build
# directory, so a missing one fails early and names what to install.
TARGET_LIBS := bpf/libbpf.h:bpf:libbpf-dev gelf.h:elf:libelf-dev zlib.h:z:zlib1g-dev \
	openssl/evp.h:crypto:libssl-dev json-c/json.h:json-c:libjson-c-dev
DEB_ARCH_x86 := amd64
DEB_ARCH_arm64 := arm64
DEB_ARCH_arm := armhf

$(BUILD)/.target-libs-ok:
	@mkdir -p $(@D)
	@for t in $(TARGET_LIBS); do \
		h=$${t%%:*}; r=$${t#*:}; l=$${r%%:*}; p=$${r#*:}; \
		printf '#include <%s>\nint main(void)\n{\n\treturn 0;\n}\n' "$$h" >$@.c; \
		if ! $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $@.c -o $@.out -l$$l >$@.log 2>&1; then \
			echo "Makefile: $(CC) cannot build for $(TARGET_TRIPLE) against <$$h> and -l$$l:" \
				"install $$p$(if $(CROSS_COMPILE),:$(DEB_ARCH_$(BPF_ARCH))) (Debian:" \
				"scripts/install-deps$(if $(CROSS_COMPILE), --cross))" >&2; \
			sed -n '1,5s/^/  /p' $@.log >&2; rm -f $@.c $@.out $@.log; exit 1; \
		fi; \
	done; rm -f $@.c $@.out $@.log; touch $@

$(BUILD)/userspace/%.o: userspace/%.c $(wildcard userspace/*.h userspace/daemon/*.h) bpf/iotgate.h \
		$(SKELS) | $(BUILD)/.target-libs-ok
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(IG_CFLAGS) -Iuserspace/daemon -c $< -o $@

$(BUILD)/tests/unit/%.o: tests/unit/%.c $(wildcard userspace/*.h tests/unit/*.h) $(SKELS) \
		| $(BUILD)/.target-libs-ok
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(IG_CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(LDFLAGS) -o $@ $<

# progload loads BPF objects with libbpf; bpfls lists the kernel's programs and links.
$(BUILD)/tests/progload $(BUILD)/tests/bpfls: $(BUILD)/tests/%: tests/helpers/%.c | $(BUILD)/.target-libs-ok
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(LDFLAGS) -o $@ $< \
		-lbpf -lelf -lz

# netdiff runs the BPF programs against the reference model (tests/unit/netmodel.c).
$(BUILD)/tests/netdiff: tests/helpers/netdiff.c $(BUILD)/tests/unit/netmodel.o $(BUILD)/libiotgate.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(IG_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(BUILD)/tests/unit/netmodel.o $(BUILD)/libiotgate.a $(LIBS)

# Benchmarks that measure the daemon's own code link its library.
$(BUILD)/bench/mapapply: bench/mapapply.c $(BUILD)/libiotgate.a $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(IG_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libiotgate.a $(LIBS)

# bench/exec.sh's floor attaches LSM programs, which takes libbpf.
$(BUILD)/bench/progs: bench/progs.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(LDFLAGS) -o $@ $< -lbpf -lelf -lz

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE $(LDFLAGS) -o $@ $<

$(BUILD)/libiotgate.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/iotgated: $(DAEMON_OBJS) $(BUILD)/libiotgate.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/iotgatectl: $(BUILD)/userspace/iotgatectl.o $(BUILD)/libiotgate.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libiotgate.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcrypto

kmod:
ifneq ($(KDIR),)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules
else
	@echo "kmod: skipped (set KDIR=/path/to/kernel/build to build iotgate_measure.ko)"
endif

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests tests/unit/data

# Unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize:
	$(MAKE) BUILD=$(BUILD)/san SANITIZE=1 unit

# libFuzzer targets (tests/fuzz/README.md), built with clang under ASan and UBSan
# against their own build of the library; 'make fuzz' runs each for FUZZ_SECONDS
# (FUZZ_TARGETS=NAME...: a subset).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# deviceid.c ends an ethtool request with a flexible array, which clang calls a GNU extension.
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wno-gnu-variable-sized-type-not-at-end
FUZZ_LIB_OBJS := $(patsubst userspace/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))

$(BUILD)/fuzz/.fuzzer-ok:
	@mkdir -p $(@D)
	@printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)\n{\n\treturn d && n;\n}\n' >$@.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $@.c -o $@.out >$@.log 2>&1 || { \
		echo "Makefile: '$(FUZZ_CC) -fsanitize=fuzzer' cannot link: install libclang-rt-dev (scripts/install-deps)" >&2; \
		rm -f $@.c $@.out $@.log; exit 1; }
	@rm -f $@.c $@.out $@.log; touch $@

$(BUILD)/fuzz/obj/%.o: userspace/%.c $(wildcard userspace/*.h) bpf/iotgate.h $(SKELS) \
		| $(BUILD)/.target-libs-ok $(BUILD)/fuzz/.fuzzer-ok
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(IG_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/libiotgate.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libiotgate.a \
		$(wildcard userspace/*.[ch]) | $(BUILD)/fuzz/.fuzzer-ok
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(IG_CFLAGS) -Iuserspace/daemon -o $@ $< \
		$(BUILD)/fuzz/libiotgate.a $(LIBS)

.PHONY: fuzz
fuzz: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
	tests/fuzz/run $(FUZZ_SECONDS) $(BUILD)/fuzz $(FUZZ_TARGETS)

host-test: all
	bats tests/host

vm-test: all
	scripts/vm-run bats tests/vm

test: all unit sanitize host-test vm-test

# BENCH="net exec": only those groups of bench/run
bench: all
	bench/run $(BENCH)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/iotgate/keys \
		$(DESTDIR)$(DATADIR)/iotgate/policies $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/iotgated $(BUILD)/iotgatectl $(DESTDIR)$(SBINDIR)/
	install -m 0644 policies/*.conf $(DESTDIR)$(DATADIR)/iotgate/policies/
	test -e $(DESTDIR)$(SYSCONFDIR)/iotgate/iotgate.conf || \
		install -m 0644 policies/default.conf $(DESTDIR)$(SYSCONFDIR)/iotgate/iotgate.conf
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		scripts/iotgated.service.in > $(DESTDIR)$(UNITDIR)/iotgated.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/iotgated.service
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' scripts/iotgate-metrics.service.in \
		> $(DESTDIR)$(UNITDIR)/iotgate-metrics.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/iotgate-metrics.service
	install -m 0644 scripts/iotgate-metrics.timer $(DESTDIR)$(UNITDIR)/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions
	install -m 0644 userspace/man/iotgated.8 userspace/man/iotgatectl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 userspace/man/iotgate.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 scripts/iotgatectl.bash-completion \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/iotgatectl

format-check:
	clang-format --dry-run --Werror bpf/*.[ch] userspace/*.[ch] userspace/daemon/*.[ch] tests/unit/*.[ch] \
		tests/helpers/*.c tests/fuzz/*.[ch] bench/*.c bench/bpf/*.c

clean:
	rm -rf $(BUILD)
ifneq ($(KDIR),)
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
endif
