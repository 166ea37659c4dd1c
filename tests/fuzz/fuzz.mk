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
