# pgimg - reproducible PostgreSQL images.  See README.md.
#
#   make              build ./pgimg
#   make test         everything CI runs (unit, then integration)
#   make unit         the cmocka unit tests
#   make check-asan   the unit tests under ASan and UBSan
#   make deps         install the Debian packages a fresh machine lacks
#   make fuzz CC=clang
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

# Without libFuzzer a fuzz target is a replayer of saved inputs.
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(BUILD)/libpgimg.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

integration: pgimg
	@tests/run-integration.sh

test: unit check-asan integration

check-asan:
	$(MAKE) BUILD=build-asan SANITIZE=address,undefined unit

FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	$(MAKE) BUILD=build-fuzz CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" $(BUILD)/libpgimg.a
	@mkdir -p build-fuzz/fuzz
	for f in $(FUZZ_SRC); do \
		$(CC) $(ALL_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -DPGIMG_LIBFUZZER -o build-fuzz/fuzz/$$(basename $$f .c) \
			$$f build-fuzz/libpgimg.a $(LDLIBS) || exit 1; \
	done

deps:
	./tools/install-deps.sh

install: pgimg
	install -D -m 0755 pgimg $(DESTDIR)$(PREFIX)/bin/pgimg

clean:
	rm -rf build build-asan build-fuzz pgimg

.PHONY: all unit integration test check-asan fuzz deps install clean

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
