# provium: one top-level build.
#
#   make            build everything into build/ (binaries, static agent, guest image)
#   make check      unit + integration tests, then again under ASan+UBSan
#   make demo       install missing packages, build, run examples/ against real VMs
#   make install PREFIX=/usr/local   (binaries, agent, guest image, man page)
#   scripts/gen-man                   regenerate docs/provium.1 from docs/cli.md
#
# Module layout: every .c under LIB_DIRS is part of libprovium.a, except
# entry points (main.c, *_main.c).  Add a file and it is built; no list to
# edit.  Unit tests are tests/unit/check_*.c (one Check binary each);
# integration suites are tests/<suite>/run.sh.

PREFIX  ?= /usr/local
BUILD   ?= build
SAN     ?= 0
V       ?= 0

CC      ?= cc
MUSLCC  ?= musl-gcc
PKGS     = msgpack lua5.4 libcap jansson libzstd
# Headers only: loaded with dlopen on first use (events/lazylib.h says why).
PKGS_LAZY = sqlite3 readline

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
           -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CPPFLAGS_ALL = -std=c11 -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS) $(PKGS_LAZY) 2>/dev/null)
LDLIBS_ALL   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(FUZZ),1)
CC       = clang
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

ifeq ($(V),0)
Q = @
else
Q =
endif

LIB_DIRS  = events supervisor runner vm fixtures
LIB_SRCS  = $(filter-out %/main.c %_main.c,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       = $(BUILD)/libprovium.a

BIN       = $(BUILD)/bin
PROVIUM   = $(BIN)/provium
COVERAGE  = $(BIN)/provium-coverage
AGENT     = $(BIN)/provium-agent

# The agent is static musl; it shares only the frame codec with the rest.
AGENT_SRCS = $(wildcard agent/*.c) events/frame.c events/mp.c
AGENT_OBJS = $(AGENT_SRCS:%.c=$(BUILD)/agent-obj/%.o)
MUSL_INC   = $(BUILD)/musl-include

UNIT_SRCS  = $(wildcard tests/unit/check_*.c)
UNIT_BINS  = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
SUITES     = $(sort $(wildcard tests/*/run.sh))

FUZZ_SRCS  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_TIME ?= 60
CHECK_FUZZ_TIME ?= 8

TOOLS_SRCS = $(wildcard tests/tools/*.c)
TOOLS_BINS = $(TOOLS_SRCS:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all bins guest check check-run unit integration demo install clean deps bench chaos fuzz fuzz-run
all: bins guest

deps:
	$(Q)./scripts/install-deps

bins: $(PROVIUM) $(COVERAGE) $(AGENT)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PROVIUM): $(BUILD)/obj/supervisor/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(COVERAGE): $(BUILD)/obj/events/coverage_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(MUSL_INC)/.stamp:
	@mkdir -p $(MUSL_INC)
	$(Q)ln -sfn /usr/include/msgpack $(MUSL_INC)/msgpack
	$(Q)ln -sfn /usr/include/msgpack.h $(MUSL_INC)/msgpack.h
	@touch $@

$(BUILD)/agent-obj/%.o: %.c $(MUSL_INC)/.stamp
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  MUSLCC  $<")
	$(Q)$(MUSLCC) -std=c11 -D_GNU_SOURCE -I. -I$(MUSL_INC) $(WARN) -Os -MMD -MP -c -o $@ $<

$(AGENT): $(AGENT_OBJS)
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  LD      $@ (static)")
	$(Q)$(MUSLCC) -static -s -o $@ $^ /usr/lib/x86_64-linux-gnu/libmsgpackc.a

guest:
	$(Q)./scripts/build-guest $(BUILD)/guest

$(BUILD)/tests/check_%: tests/unit/check_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  CHECK   $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) \
		$(LDLIBS_ALL) $(shell pkg-config --libs check)

# It drives the real agent binary.
$(BUILD)/tests/check_agent_client: | $(AGENT)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@mkdir -p $(dir $@)
	$(if $(filter 0,$(V)),@echo "  FUZZ    $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

# fuzz: every target for FUZZ_TIME seconds (make fuzz FUZZ_TIME=600).
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz FUZZ=1 fuzz-run

fuzz-run: $(FUZZ_BINS)
	$(Q)./scripts/run-fuzz $(FUZZ_TIME) $(FUZZ_BINS)

# check: plain build first, then the same tests under ASan+UBSan.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory check-run
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan SAN=1 bins check-run
	$(Q)$(MAKE) --no-print-directory BUILD=build/fuzz FUZZ=1 FUZZ_TIME=$(CHECK_FUZZ_TIME) fuzz-run

check-run: unit integration

unit: $(UNIT_BINS)
	$(Q)./scripts/run-unit $(UNIT_BINS)

integration: bins $(TOOLS_BINS)
	$(Q)BUILD=$(BUILD) SAN=$(SAN) ./scripts/run-suites $(SUITES)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/demo $(BUILD)

# Chaos: a mixed suite under random kills, CHAOS_ITERATIONS times (seeds
# printed; tests/chaos/chaos --seed N replays one).
CHAOS_ITERATIONS ?= 200
chaos: bins
	$(Q)PROVIUM=$(abspath $(PROVIUM)) PROVIUM_AGENT=$(abspath $(AGENT)) \
		CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) ./tests/chaos/chaos

bench: all
	$(Q)for b in bench/*; do [ -x "$$b" ] && "$$b" $(BUILD); done; true

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/provium \
		$(DESTDIR)$(PREFIX)/share/provium/guest
	install -m 0755 $(PROVIUM) $(COVERAGE) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(AGENT) $(DESTDIR)$(PREFIX)/libexec/provium/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/provium.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	if [ -d $(BUILD)/guest/current ]; then \
		cp -RL $(BUILD)/guest/current/. $(DESTDIR)$(PREFIX)/share/provium/guest/; fi

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
