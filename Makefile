# shardctl build. Everything lands in $(O)/ (default build/); SAN=1 builds an
# AddressSanitizer/UBSan variant into build-san/ so both can coexist.
#
#   make            shardctl, BPF objects, skeletons, testbed tools
#   make deps       apt-get the Debian bookworm packages the build and tests need
#   make test       the test suite (real kernel, real frames; needs root)
#   make demo       the namespace testbed demo (needs root)

SAN ?= 0
ifeq ($(SAN),1)
O ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
O ?= build
SANFLAGS :=
endif

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libbpf libnl-3.0 libnl-route-3.0 libnl-genl-3.0 json-c libsystemd
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers -Wno-format-truncation \
           -I. -I$(O) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(SANFLAGS) \
           -DSHARDCTL_VERSION=\"$(VERSION)\"
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lm
LDFLAGS += $(SANFLAGS)

BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror -I$(O) -I. \
              -I/usr/include/$(shell uname -m)-linux-gnu

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS    := $(patsubst bpf/%.bpf.c,$(O)/%.skel.h,$(BPF_SRCS))
DP_SRCS  := $(wildcard dataplane/*/*.c)
DP_OBJS  := $(patsubst %.c,$(O)/%.o,$(DP_SRCS))
CTL_SRCS := $(wildcard ctl/*.c)
CTL_OBJS := $(patsubst %.c,$(O)/%.o,$(CTL_SRCS))
# A netns tool is one file, netns/NAME.c, or a directory, netns/NAME/*.c,
# linked into $(O)/netns/NAME (its objects go to $(O)/netns/obj/NAME/, since
# the binary takes the name). netns/frames.c is no tool: it is code the tools
# share, through $(O)/netns/libnetns.a.
NETNS_LIB_SRCS := netns/frames.c
NETNS_LIB_OBJS := $(patsubst netns/%.c,$(O)/netns/obj/%.o,$(NETNS_LIB_SRCS))
NETNS_SRCS  := $(filter-out $(NETNS_LIB_SRCS),$(wildcard netns/*.c))
NETNS_DIRS  := $(patsubst netns/%/,%,$(sort $(dir $(wildcard netns/*/*.c))))
NETNS_OBJS  := $(patsubst netns/%.c,$(O)/netns/obj/%.o,$(wildcard $(NETNS_DIRS:%=netns/%/*.c))) \
               $(NETNS_LIB_OBJS)
NETNS_ONE   := $(patsubst netns/%.c,$(O)/netns/%,$(NETNS_SRCS))
NETNS_MULTI := $(NETNS_DIRS:%=$(O)/netns/%)
NETNS_BINS  := $(NETNS_ONE) $(NETNS_MULTI)
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test demo bench clean install uninstall
all: $(O)/shardctl $(NETNS_BINS) $(UNIT_BINS)

# One list of packages, used by `make deps`, the README's two commands and CI.
DEB_PKGS := build-essential clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
            libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libjson-c-dev libsystemd-dev \
            pkg-config iproute2 util-linux jq bc valgrind gnuplot-nox strace libclang-rt-14-dev \
            libcap2-bin groff-base time ethtool
# The VM harness (netns/vm/): QEMU, a static busybox for the guest's
# initramfs, kmod for depmod/modprobe on Debian's kernel package, udev for
# the guest that boots systemd (shardctl@.service binds to the NIC's .device
# unit, which only udev makes). Operators' own clients check what shardctl
# exports: promtool (package prometheus) and node_exporter, scraped with curl.
# Without recommends: QEMU's would pull in a desktop's worth of display
# libraries.
VM_PKGS  := qemu-system-x86 busybox-static kmod udev \
            prometheus prometheus-node-exporter curl
deps:
	@for list in "$(DEB_PKGS)" "--no-install-recommends $(VM_PKGS)"; do \
		missing=$$(for p in $$list; do case $$p in -*) continue;; esac; \
			dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
		[ -n "$$missing" ] || continue; \
		echo "installing:" $$missing; \
		opts=$$(case "$$list" in --no-install-recommends*) echo --no-install-recommends;; esac); \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$opts $$missing >/dev/null; } || exit 1; \
	done

$(O)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Each object waits only for the skeletons it includes (found by grep), so
# one program that does not build yet blocks nobody else; -MMD tracks headers.
skels_of = $(patsubst %,$(O)/%.skel.h,$(shell grep -ho '"[a-z0-9_]*\.skel\.h"' $(1) 2>/dev/null | tr -d '"' | sed 's/\.skel\.h$$//'))
.SECONDEXPANSION:
$(O)/dataplane/%.o: dataplane/%.c $$(call skels_of,dataplane/$$*.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/libshardctl.a: $(DP_OBJS)
	$(AR) rcs $@ $^

$(O)/ctl/%.o: ctl/%.c $$(call skels_of,ctl/$$*.c)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/shardctl: $(CTL_OBJS) $(O)/libshardctl.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/netns/obj/%.o: netns/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(O)/netns/libnetns.a: $(NETNS_LIB_OBJS)
	$(AR) rcs $@ $^

$(NETNS_ONE): $(O)/netns/%: netns/%.c $(wildcard netns/*.h) $(O)/netns/libnetns.a $(O)/libshardctl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/netns/libnetns.a $(O)/libshardctl.a $(LDLIBS) -lpthread

netns_objs = $(patsubst netns/%.c,$(O)/netns/obj/%.o,$(wildcard netns/$(1)/*.c))
$(NETNS_MULTI): $(O)/netns/%: $$(call netns_objs,$$*) $(O)/netns/libnetns.a $(O)/libshardctl.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(O)/netns/libnetns.a $(O)/libshardctl.a $(LDLIBS) -lpthread

-include $(NETNS_OBJS:.o=.d)

$(O)/tests/%: tests/unit/%.c $(O)/libshardctl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libshardctl.a $(LDLIBS)

-include $(DP_OBJS:.o=.d) $(CTL_OBJS:.o=.d)

test: deps
	tests/run

demo: deps
	netns/demo

clean:
	rm -rf build build-san

# --- Operator files: install, man page, Debian package ------------------------
# `make install PREFIX=/usr/local DESTDIR=...` installs the binary (the BPF
# objects are inside it, through the skeletons), the man page and the bash
# completion; `make uninstall` removes exactly those three files.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL     ?= install

.PHONY: man deb
install: $(O)/shardctl
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(O)/shardctl $(DESTDIR)$(SBINDIR)/shardctl
	$(INSTALL) -m 0644 man/shardctl.8 $(DESTDIR)$(MANDIR)/man8/shardctl.8
	$(INSTALL) -m 0644 completion/shardctl.bash $(DESTDIR)$(BASHCOMPDIR)/shardctl

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/shardctl $(DESTDIR)$(MANDIR)/man8/shardctl.8 \
	      $(DESTDIR)$(BASHCOMPDIR)/shardctl

# Rewrite the man page's generated blocks (synopsis, options, notes) from --help.
man: $(O)/shardctl
	man/update $(O)/shardctl

# Binary package from a copy of the tree (in a git checkout: tracked and
# untracked-but-not-ignored files), so no build output lands in the checkout:
# $(DEB_DIR)/shardctl_*.deb. The copy builds with its own defaults (O=build,
# no sanitizers). dpkg-buildpackage -us -uc -b also works in the tree itself.
DEB_DIR ?= $(O)/deb
deb:
	rm -rf $(DEB_DIR)/src $(DEB_DIR)/shardctl_* $(DEB_DIR)/shardctl-dbgsym_* && mkdir -p $(DEB_DIR)/src
	if [ -e .git ]; then \
		git ls-files -z -co --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done; true' sh; \
	else \
		find . \( -path ./build -o -path ./build-san -o -path ./$(O) \) -prune -o -type f -print0; \
	fi | tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u O -u SAN \
		dpkg-buildpackage -us -uc -b -Jauto
	@ls $(DEB_DIR)/*.deb

# The figures the README records (needs root, about 55 minutes on 2 CPUs):
# bench/run, converge, hold, sweep and hop, results in bench/results/.
# shard.bpf.o is named so make keeps it: the benchmark's per-command script
# loads it with tc.
# bench/hop profiles with perf (cpu-clock call graphs): only make bench needs it.
BENCH_PKGS := linux-perf
bench: deps
	$(MAKE) deps DEB_PKGS="$(BENCH_PKGS)" VM_PKGS=
	$(MAKE) all $(O)/bpf/shard.bpf.o
	O=$(O) bench/run
	O=$(O) bench/converge
	O=$(O) bench/hold
	O=$(O) bench/sweep
	O=$(O) bench/hop

# libFuzzer harnesses, one per parser of outside input (tests/fuzz/NAME.c),
# built with clang into $(O)/fuzz/. `make fuzz` runs each for FUZZ_SECONDS
# from its corpus tests/fuzz/corpus/NAME/ (seeds, and every crash found so
# far as a regression input); tests/t_fuzz.sh runs them briefly.
FUZZ_O       := $(O)/fuzz
FUZZ_SECONDS ?= 300
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(FUZZ_O)/bin/%,$(wildcard tests/fuzz/*.c))
FUZZ_OBJS    := $(patsubst %.c,$(FUZZ_O)/%.o,$(DP_SRCS) $(filter-out ctl/main.c,$(CTL_SRCS)))
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -I. -I$(O) \
                $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -DSHARDCTL_VERSION=\"$(VERSION)\" \
                -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FUZZ_O)/%.o: %.c $$(call skels_of,$$*.c)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_O)/libshardctl.a: $(FUZZ_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_O)/bin/%: tests/fuzz/%.c $(FUZZ_O)/libshardctl.a
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_O)/libshardctl.a $(LDLIBS)

-include $(FUZZ_OBJS:.o=.d)

fuzz: fuzz-build
	@for f in $(FUZZ_BINS); do n=$${f##*/}; mkdir -p $(FUZZ_O)/corpus/$$n tests/fuzz/corpus/$$n; \
		echo "== $$n: $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=3 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_O)/$$n- $(FUZZ_O)/corpus/$$n tests/fuzz/corpus/$$n || \
			{ echo "$$n: crash input in $(FUZZ_O)/$$n-*; add it to tests/fuzz/corpus/$$n/"; exit 1; }; \
	done
