# trove: top-level build. `make` builds the library, the CLI and the tests;
# `make demo`, `make check`, `make bench`, `make fuzz`, `make install` (see README.md).
# Source lists are globs: a new src/<layer>/*.c, cli/*.c or tests/unit/test_*.c needs no edit.

PREFIX   ?= /usr/local
CC       ?= cc
B        := build
PY       := /usr/bin/python3
FUZZ_SECONDS ?= 600
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKGS     := libzstd libxxhash libsodium sqlite3 zlib hdf5-serial jansson libzip
WARN     := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wconversion -Wno-sign-conversion \
            -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2
CSTD     := -std=c11 -D_GNU_SOURCE
OPT      ?= -O2 -g
PC_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PC_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_PUB = $(CSTD) $(OPT) $(WARN) -Iinclude $(PC_CFLAGS) $(CFLAGS)
CFLAGS_ALL = $(CFLAGS_PUB) -fPIC -fvisibility=hidden -Isrc
LIBS      = $(PC_LIBS) -lpthread -lm

SRC      := $(sort $(wildcard src/*/*.c src/*/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_LIB := $(sort $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c)))
EX_SRC   := $(sort $(wildcard examples/*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

OBJ      := $(SRC:%.c=$(B)/obj/%.o)
ASAN_OBJ := $(SRC:%.c=$(B)/asan/%.o)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_A    := $(B)/libtrove.a
LIB_SO   := $(B)/libtrove.so
TROVE    := $(B)/trove
TESTS    := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)
ATESTS   := $(TEST_SRC:tests/unit/%.c=$(B)/asan-tests/%)
EXAMPLES := $(EX_SRC:examples/%.c=$(B)/examples/%)
REPLAY   := $(FUZZ_SRC:fuzz/%.c=$(B)/asan-fuzz/%)

.PHONY: all deps deps-build demo check check-bigendian check-unit check-asan check-cli check-python check-fuzz \
        check-header bench fuzz install uninstall clean
.DEFAULT_GOAL := all

all: deps-build $(LIB_A) $(LIB_SO) $(TROVE) $(TESTS) $(EXAMPLES) $(B)/trove.pc

deps-build:
	@tools/deps.sh build
deps:
	@tools/deps.sh all

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -O1 -MMD -MP -c $< -o $@

$(LIB_A): $(OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)rm -f $@ && ar rcs $@ $^
$(B)/libtrove-asan.a: $(ASAN_OBJ)
	@echo "  LD      $@"
	$(Q)rm -f $@ && ar rcs $@ $^
$(LIB_SO): $(OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,-soname,libtrove.so.0 -o $@ $^ $(LIBS)

$(TROVE): $(CLI_SRC) $(LIB_A) $(wildcard cli/*.h)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_PUB) -Icli -o $@ $(CLI_SRC) $(LIB_A) $(LIBS)

$(B)/tests/%: tests/unit/%.c $(TEST_LIB) $(LIB_A) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(TEST_LIB) $(LIB_A) $(LIBS)
$(B)/asan-tests/%: tests/unit/%.c $(TEST_LIB) $(B)/libtrove-asan.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -O1 -Itests/unit -o $@ $< $(TEST_LIB) $(B)/libtrove-asan.a $(LIBS)
$(B)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_PUB) -o $@ $< $(LIB_A) $(LIBS)
# Fuzz targets built with gcc + sanitizers and a replay main: every make check replays the corpus.
$(B)/asan-fuzz/%: fuzz/%.c fuzz/replay.c $(B)/libtrove-asan.a $(wildcard fuzz/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS_ALL) $(SAN) -O1 -o $@ $< fuzz/replay.c $(B)/libtrove-asan.a $(LIBS)
$(B)/asan-fuzz/fuzz_table: cli/io_table.c cli/io_table.h   # compiled in whole by the target

$(B)/trove.pc: FORCE
	@mkdir -p $(B)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: trove\nDescription: safe, fast, portable file format for trained models\nVersion: 0.1.0\nRequires.private: %s\nLibs: -L$${libdir} -ltrove\nLibs.private: -lpthread -lm\nCflags: -I$${includedir}\n' '$(PREFIX)' '$(PKGS)' > $@

demo: all
	@sh examples/demo.sh

check: deps all check-header $(ATESTS) $(REPLAY)
	@sh tools/check.sh $(B)

check-header:
	@mkdir -p $(B)
	$(CC) -std=c99 -pedantic -Werror -Wall -Wextra -Iinclude -fsyntax-only -x c include/trove.h
	@if command -v c++ >/dev/null; then c++ -std=c++11 -pedantic -Werror -Wall -Iinclude -fsyntax-only -x c++ include/trove.h; fi

check-unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done
check-asan: $(ATESTS)
	@set -e; for t in $(ATESTS); do echo "== $$t (asan+ubsan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done
check-fuzz: $(REPLAY)
	@set -e; for t in $(REPLAY); do n=$$(basename $$t); echo "== replay $$n"; \
	  ASAN_OPTIONS=detect_leaks=1 $$t fuzz/corpus/$${n#fuzz_}; done
check-cli: $(TROVE)
	@set -e; for t in $(sort $(wildcard tests/cli/test_*.sh)); do echo "== $$t"; TROVE=$(abspath $(TROVE)) sh $$t; done
check-python: $(LIB_SO) $(TROVE)
	@if [ -d python/tests ] || [ -d tests/python ]; then \
	  TROVE_LIB=$(abspath $(LIB_SO)) TROVE=$(abspath $(TROVE)) PYTHONPATH=$(abspath python):$(abspath tools) \
	  $(PY) -m pytest -q -p no:cacheprovider $(wildcard python/tests tests/python); fi

check-bigendian: deps-build
	@tools/deps.sh bigendian
	@sh tests/bigendian/run.sh

bench: deps all
	@sh bench/run.sh

fuzz: deps-build
	@sh fuzz/run.sh $(FUZZ_SECONDS)

install: $(LIB_A) $(LIB_SO) $(TROVE) $(B)/trove.pc
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/trove $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/trove.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/trove/*.h $(DESTDIR)$(PREFIX)/include/trove/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libtrove.so.0
	ln -sf libtrove.so.0 $(DESTDIR)$(PREFIX)/lib/libtrove.so
	install -m 644 $(B)/trove.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 755 $(TROVE) $(DESTDIR)$(PREFIX)/bin/
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libtrove.a $(DESTDIR)$(PREFIX)/lib/libtrove.so* \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/trove.pc $(DESTDIR)$(PREFIX)/bin/trove $(DESTDIR)$(PREFIX)/include/trove.h
	rm -rf $(DESTDIR)$(PREFIX)/include/trove

clean:
	rm -rf $(B)

FORCE:

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
