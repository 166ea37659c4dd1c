# qtest.mk: the qtest client library
$(BUILD)/tests/qtest/libqtest.o: tests/qtest/libqtest.c tests/qtest/libqtest.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# libqos, the driver library (PCI BAR assignment, a guest-memory allocator), goes into every
# device test beside libqtest
$(QTEST_BINS): $(BUILD)/tests/qtest/libqos.o
