# qtest.mk: the qtest client library
$(BUILD)/tests/qtest/libqtest.o: tests/qtest/libqtest.c tests/qtest/libqtest.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# libqos, the driver library (PCI BAR assignment, a guest-memory allocator), goes into every
# device test beside libqtest
$(QTEST_BINS): $(BUILD)/tests/qtest/libqos.o

# libqos-virtio, the virtio driver, goes into the virtio device tests
VIRTIO_QTEST_BINS = $(filter $(BUILD)/tests/qtest/virtio-%,$(QTEST_BINS))
$(BUILD)/tests/qtest/libqos-virtio.o: tests/qtest/libqos-virtio.h tests/qtest/libqos.h
$(VIRTIO_QTEST_BINS): $(BUILD)/tests/qtest/libqos-virtio.o
