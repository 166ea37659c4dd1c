# qtest.mk: the qtest client library
$(BUILD)/tests/qtest/libqtest.o: tests/qtest/libqtest.c tests/qtest/libqtest.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<
