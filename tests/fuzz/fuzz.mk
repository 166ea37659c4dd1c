# fuzz.mk: libFuzzer targets, tests/fuzz/fuzz-NAME.c, built with "make FUZZ=1 fuzz"
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

# the whole archive: device types register themselves from constructors
$(BUILD)/tests/fuzz/fuzz-%: $(BUILD)/tests/fuzz/fuzz-%.o $(BUILD)/libskiff.a
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--whole-archive $(BUILD)/libskiff.a \
	    -Wl,--no-whole-archive $(LIBS)

fuzz: $(FUZZ_BINS)
.PHONY: fuzz

# make fuzz-long: a campaign, FUZZ_SECONDS (default 600) per target, one after the other, that
# keeps what it finds in build-fuzz/corpus/NAME/ (crashes in build-fuzz/corpus/NAME-crashes/)
# for the next campaign; FUZZ_TARGETS="qcow2 devices" picks targets
FUZZ_SECONDS ?= 600
fuzz-long:
	$(MAKE) FUZZ=1 fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CORPUS_DIR=$(CURDIR)/build-fuzz/corpus tests/fuzz/t-fuzz.sh
.PHONY: fuzz-long
