# Makefile: the one non-recursive build of skiff, skiff-img, the tests and the payloads
#
#   make                  build ./skiff and ./skiff-img
#   make SANITIZE=1       build the same under ASan/UBSan into build-san/
#   make check            build both and run every test (tests/run), ending "N passed, N failed"
#   make install          PREFIX=/usr/local DESTDIR=
#
# Sources are found by folder; a folder that needs more rules adds a *.mk file that is included here.

ifeq ($(wildcard config.mak),)
$(error run ./configure first)
endif
include config.mak

SANITIZE ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# libFuzzer targets: everything built by clang with coverage and sanitizers into build-fuzz/
CC = clang
BUILD ?= build-fuzz
SAN_FLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
BIN = $(BUILD)
else ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
BIN = $(BUILD)
else
BUILD ?= build
SAN_FLAGS =
BIN = .
endif

WARN = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
       -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wvla
# gcc's -Wshadow=local; compilers without it (clang) get nothing in its place
SHADOW_FLAG := $(shell $(CC) -Werror -Wshadow=local -E -x c /dev/null >/dev/null 2>&1 && echo -Wshadow=local)
WARN += $(SHADOW_FLAG)
ifeq ($(WERROR),yes)
WARN += -Werror
endif

OPT ?= -O2 -g
# quiet by default; make V=1 shows the commands
ifeq ($(V),1)
Q =
quiet = @:
else
Q = @
quiet = @echo
endif
CFLAGS = -std=gnu11 $(OPT) $(WARN) $(SAN_FLAGS) -D_GNU_SOURCE -I. -include config-host.h \
         -MMD -MP $(CONFIG_CFLAGS)
LDFLAGS = $(SAN_FLAGS) $(CONFIG_LDFLAGS)
ifeq ($(STATIC),yes)
LDFLAGS += -static
endif
LIBS = $(CONFIG_LIBS)

# everything skiff is made of, but its main
CORE_DIRS = util chardev hw target-x86 migration block net rng ui monitor
CORE_SRCS = $(sort $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c $(d)/*/*.c)))
CORE_OBJS = $(CORE_SRCS:%.c=$(BUILD)/%.o)

# what skiff-img needs: the event loop and the block layer
IMG_SRCS = $(sort $(wildcard util/*.c block/*.c tools/img-*.c))
IMG_OBJS = $(IMG_SRCS:%.c=$(BUILD)/%.o)

SKIFF = $(BIN)/skiff
SKIFF_IMG = $(BIN)/skiff-img

# unit tests: tests/unit/test-NAME.c, each a program printing TAP lines
UNIT_SRCS = $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
# device tests without a guest: tests/qtest/NAME-test.c, each linked with the qtest client
QTEST_SRCS = $(sort $(wildcard tests/qtest/*-test.c))
QTEST_BINS = $(QTEST_SRCS:tests/qtest/%.c=$(BUILD)/tests/qtest/%)
QTEST_LIB = $(BUILD)/tests/qtest/libqtest.o

.PHONY: all check install clean distclean
all: $(SKIFF) $(SKIFF_IMG) $(UNIT_BINS) $(QTEST_BINS)

$(BUILD)/%.o: %.c config.mak
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(SKIFF): $(BUILD)/main.o $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(SKIFF_IMG): $(BUILD)/tools/skiff-img.o $(IMG_OBJS)
	@mkdir -p $(dir $@)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# unit tests link the core objects through an archive, so each takes only what it uses
$(BUILD)/libskiff.a: $(CORE_OBJS)
	@rm -f $@
	$(quiet) "  AR      $@"
	$(Q)ar rcs $@ $^

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/tap.o $(BUILD)/libskiff.a
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/qtest/%-test: $(BUILD)/tests/qtest/%-test.o $(QTEST_LIB) $(BUILD)/tests/unit/tap.o
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

include $(wildcard */*.mk tests/*/*.mk)

check:
	scripts/check

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/skiff
	install -m 755 skiff skiff-img $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/*.md $(DESTDIR)$(PREFIX)/share/skiff/

clean:
	rm -rf build build-san build-fuzz build-static skiff skiff-img

distclean: clean
	rm -f config.mak config-host.h

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
