# roms.mk: the extboot option ROM: roms/extboot.S assembled by binutils (as, ld, objcopy) into a flat
# image, which romsum pads to 512-byte blocks and checksums; hw/pc/extboot.c carries the result in skiff
ROMS_OUT = $(BUILD)/roms

$(ROMS_OUT)/romsum: roms/romsum.c
	@mkdir -p $(dir $@)
	$(quiet) "  HOSTCC  $@"
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

$(ROMS_OUT)/extboot.o: roms/extboot.S
	@mkdir -p $(dir $@)
	$(quiet) "  AS      $@"
	$(Q)as --32 -o $@ $<

$(ROMS_OUT)/extboot.bin: $(ROMS_OUT)/extboot.o $(ROMS_OUT)/romsum
	$(quiet) "  ROM     $@"
	$(Q)ld -m elf_i386 -Ttext=0 -e 0 -o $(ROMS_OUT)/extboot.elf $<
	$(Q)objcopy -O binary -j .text $(ROMS_OUT)/extboot.elf $(ROMS_OUT)/extboot.raw
	$(Q)$(ROMS_OUT)/romsum $(ROMS_OUT)/extboot.raw $@

# the device's object holds the image (.incbin)
$(BUILD)/hw/pc/extboot.o: $(ROMS_OUT)/extboot.bin
$(BUILD)/hw/pc/extboot.o: CFLAGS += -DEXTBOOT_ROM_IMAGE='"$(ROMS_OUT)/extboot.bin"'
