# guest.mk: the svm lane's helper that L1 runs beside the scenarios (tests/guest/l1-kvm-hold.c)
$(BUILD)/tests/guest/l1-kvm-hold: tests/guest/l1-kvm-hold.c config.mak
	@mkdir -p $(dir $@)
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<
