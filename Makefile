# pgimg - reproducible PostgreSQL images.  See README.md.
#
#   make              build ./pgimg
#   make test         everything CI runs (unit, ASan, fuzz replay, shape, integration)
#   make check-shape  no C file over 800 lines, no function over 80, no include cycle
#   make unit         the cmocka unit tests
#   make check-asan   the unit tests under ASan and UBSan
#   make deps         install what building and running images needs (no service)
#   make test-deps    install what the tests need (no service left enabled or running)
#   make help         what each target does and what each set-up step installs
#   make fuzz CC=clang   the libFuzzer targets (tools/fuzz.sh runs them)
#   make fuzz-replay      every fuzz corpus replayed under ASan and UBSan
.DELETE_ON_ERROR:
.SUFFIXES:

CC ?= cc
PKG_CONFIG ?= pkg-config
LIBS_PC = libarchive libcrypto libcurl jansson libzstd zlib

CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wwrite-strings \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -I. $(WARNINGS) $(CFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(LIBS_PC))
LDLIBS = $(shell $(PKG_CONFIG) --libs $(LIBS_PC)) -lpthread

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Objects go to a separate tree per flavour so that an ASan build never
# mixes with a normal one.
BUILD ?= build
LIB_SRC = $(sort $(wildcard common/*.c builder/*.c layers/*.c oci/*.c registry/*.c runner/*.c sandbox/*.c))
CLI_SRC = $(sort $(wildcard cli/*.c))
LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:%.c=$(BUILD)/%)

PREFIX ?= /usr/local
DATADIR ?= $(PREFIX)/share/pgimg

all: pgimg

pgimg: $(BUILD)/pgimg
	$(Q)cp $< $@.tmp && mv -f $@.tmp $@

$(BUILD)/pgimg: $(CLI_OBJ) $(BUILD)/libpgimg.a
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libpgimg.a: $(LIB_OBJ)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# V=1 shows the full command lines.
Q = $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libpgimg.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka) $(LDLIBS)

# Without libFuzzer a fuzz target is a replayer of saved inputs
# (tests/fuzz/replay.h); with it (make fuzz) a fuzzer.
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/libpgimg.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD $(LDFLAGS) -o $@ $< $(BUILD)/libpgimg.a $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libpgimg.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -fsanitize=fuzzer -DPGIMG_LIBFUZZER $(LDFLAGS) -o $@ $< \
		$(BUILD)/libpgimg.a $(LDLIBS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

integration: pgimg
	@tests/run-integration.sh

# The test tools come with the test command: a user who only builds images
# never gets a registry or an S3 server on the machine.
test: test-deps
	$(MAKE) unit test-asan check-shape integration

# No C file over 800 lines, no function over 80, no include cycle.
check-shape:
	@tools/code-shape.sh

# check-asan and fuzz-replay in one make: two would build build-asan at
# the same time under -j.
test-asan:
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined unit fuzz-replay-run

check-asan:
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined unit

# One fuzz target per parser of outside input, each with its corpus in
# tests/fuzz/corpus/<target>/ (docs/fuzzing.md).  The variables below are
# expanded in the make that builds the targets, with its own $(BUILD).
FUZZ_NAMES = $(sort $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAY = $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/%)

ifdef FUZZ
ALL_CFLAGS += -fsanitize=fuzzer-no-link
endif

fuzz:
	$(MAKE) BUILD=build-fuzz SANITIZE=address,undefined FUZZ=1 CFLAGS="-O1 -g" fuzz-targets

fuzz-targets: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)

fuzz-replay:
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined fuzz-replay-run

# The archive seeds (tarballs, .debs, compressed indexes) are written by
# the seed scripts, not kept in the repository.
FUZZ_SEEDS = $(BUILD)/fuzz-seeds
fuzz-replay-run: $(FUZZ_REPLAY)
	$(Q)rm -rf $(FUZZ_SEEDS) && python3 tests/fuzz/seed-deb.py $(FUZZ_SEEDS) \
		&& python3 tests/fuzz/seed-image.py $(FUZZ_SEEDS)
	$(Q)for t in $(FUZZ_NAMES); do \
		dirs=; for d in tests/fuzz/corpus/$$t $(FUZZ_SEEDS)/$$t; do [ ! -d $$d ] || dirs="$$dirs $$d"; done; \
		[ -n "$$dirs" ] || { echo "fuzz-replay: $$t has no seed"; exit 1; }; \
		$(BUILD)/tests/fuzz/$$t $$dirs || exit 1; \
	done

deps:
	./tools/install-deps.sh

test-deps:
	./tools/install-test-deps.sh

help:
	@sed -n '3,/^$$/s/^#//p' Makefile
	@echo
	@echo 'Set-up steps (Debian packages need root or sudo; no service is left enabled or running):'
	@echo '  make deps       a C toolchain, pkg-config, the libraries pgimg links (libarchive,'
	@echo '                  OpenSSL, libcurl, jansson, zstd, zlib), gpgv and Debian'"'"'s keyring'
	@echo '                  (pgimg checks the archive'"'"'s signatures), CA certificates'
	@echo '  make test-deps  cmocka, python3, bc, curl, psql, skopeo, umoci, Debian'"'"'s'
	@echo '                  docker-registry and htpasswd (installed with starts denied and'
	@echo '                  its unit disabled), xfsprogs; then versitygw, crane, cosign and'
	@echo '                  syft built from the Go module proxy into ~/.cache/pgimg-test-tools'
	@echo '  See docs/setup.md.'

install: pgimg
	install -D -m 0755 pgimg $(DESTDIR)$(PREFIX)/bin/pgimg

clean:
	rm -rf build build-asan build-fuzz pgimg

.PHONY: all unit integration test test-deps help test-asan check-asan check-shape fuzz fuzz-targets fuzz-replay fuzz-replay-run deps install clean

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(wildcard $(BUILD)/tests/fuzz/*.d $(BUILD)/fuzz/*.d)
