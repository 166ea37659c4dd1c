# bench.mk: bench/boot's helper, the probe that times a VMM and measures its memory
$(BUILD)/bench/probe: bench/probe.c config.mak
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

all: $(BUILD)/bench/probe
