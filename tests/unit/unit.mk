# unit.mk: unit tests that need more than the pattern rule in the Makefile

# test-monitor runs the board in its process: the whole archive, as the device types register
# themselves from constructors that nothing else would pull in
$(BUILD)/tests/unit/test-monitor: $(BUILD)/tests/unit/test-monitor.o $(BUILD)/tests/unit/tap.o $(BUILD)/libskiff.a
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--whole-archive $(BUILD)/libskiff.a \
	    -Wl,--no-whole-archive $(LIBS)

# test-net-socket drives -netdev socket, whose type registers itself from a constructor
$(BUILD)/tests/unit/test-net-socket: $(BUILD)/tests/unit/test-net-socket.o $(BUILD)/tests/unit/tap.o $(BUILD)/libskiff.a
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--whole-archive $(BUILD)/libskiff.a \
	    -Wl,--no-whole-archive $(LIBS)

# test-net-tap and test-net-slirp drive -netdev tap and user, whose types register themselves too
$(BUILD)/tests/unit/test-net-tap $(BUILD)/tests/unit/test-net-slirp: $(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o \
		$(BUILD)/tests/unit/tap.o $(BUILD)/libskiff.a
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--whole-archive $(BUILD)/libskiff.a \
	    -Wl,--no-whole-archive $(LIBS)
