# linux.mk: a synthetic Linux kernel for the boot-protocol tests: a bzImage whose 64-bit entry
# checks boot_params, carrying as payload a PVH ELF (gzip/xz/lz4/zstd) that checks start_info;
# its real-mode setup code lets firmware's Linux loader boot it too.
LB = build/payloads/linux
LINUX64_CFLAGS = -m64 -mno-red-zone -mcmodel=kernel -ffreestanding -fno-pic -fno-stack-protector \
                 -fno-builtin -nostdlib -O2 -Wall -Wextra -Wno-unused-parameter -Werror \
                 -mgeneral-regs-only -I tests/payloads

$(LB)/head64.o: tests/payloads/linux/head64.S
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(LINUX64_CFLAGS) -c -o $@ $<
$(LB)/kernel64.o: tests/payloads/linux/kernel64.c tests/payloads/lib/payload.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(LINUX64_CFLAGS) -c -o $@ $<
$(LB)/payload64.o: tests/payloads/lib/payload.c tests/payloads/lib/payload.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(LINUX64_CFLAGS) -c -o $@ $<
$(LB)/kernel64.elf: $(LB)/head64.o $(LB)/kernel64.o $(LB)/payload64.o tests/payloads/linux/kernel64.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(LINUX64_CFLAGS) -Wl,-T,tests/payloads/linux/kernel64.ld -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack -o $@ $(filter %.o,$^)
$(LB)/kernel64.bin: $(LB)/kernel64.elf
	$(Q)objcopy -O binary $< $@

$(LB)/pvh.o: tests/payloads/linux/pvh.S
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c -o $@ $<
$(LB)/pvh_main.o: tests/payloads/linux/pvh_main.c tests/payloads/lib/payload.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c -o $@ $<
$(LB)/vmlinux: $(LB)/pvh.o $(LB)/pvh_main.o build/payloads/lib/payload.o tests/payloads/linux/pvh.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -Wl,-T,tests/payloads/linux/pvh.ld -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack -o $@ $(filter %.o,$^)

# the same linked at 32 KiB: skiff must place start_info and the rest where it is not
$(LB)/vmlinux-low: $(LB)/pvh.o $(LB)/pvh_main.o build/payloads/lib/payload.o tests/payloads/linux/pvh-low.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -Wl,-T,tests/payloads/linux/pvh-low.ld -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack -o $@ $(filter %.o,$^)

# the real-mode setup code, run at offset 0x80 of its code segment (setup16.S)
$(LB)/setup16.o: tests/payloads/linux/setup16.S
	@mkdir -p $(dir $@)
	$(quiet) "  AS      $@"
	$(Q)$(CC) -m32 -c -o $@ $<
$(LB)/setup16.bin: $(LB)/setup16.o
	$(Q)ld -m elf_i386 -e setup16 -Ttext=0x80 --oformat binary -o $@ $<

$(LB)/mkbzimage: tests/payloads/linux/mkbzimage.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -Wall -o $@ $<

# the compressed payloads, each ending in the unpacked size as the kernel build appends it
$(LB)/vmlinux.gz: $(LB)/vmlinux
	$(Q)gzip -n -9 -c $< >$@
$(LB)/vmlinux.xz: $(LB)/vmlinux
	$(Q)(xz --check=crc32 --x86 --lzma2=dict=1MiB -c $< && stat -c %s $< | tr -d '\n' | \
	    xargs printf '%08x' | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/' | xargs -0 printf) >$@
$(LB)/vmlinux.lz4: $(LB)/vmlinux
	$(Q)(lz4 -l -9 -c $< && stat -c %s $< | tr -d '\n' | \
	    xargs printf '%08x' | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/' | xargs -0 printf) >$@
$(LB)/vmlinux.zst: $(LB)/vmlinux
	$(Q)(zstd -q -19 -c $< && stat -c %s $< | tr -d '\n' | \
	    xargs printf '%08x' | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/' | xargs -0 printf) >$@

$(LB)/bzImage.%: $(LB)/kernel64.bin $(LB)/vmlinux.% $(LB)/mkbzimage $(LB)/setup16.bin
	$(quiet) "  BZIMAGE $@"
	$(Q)$(LB)/mkbzimage $(LB)/kernel64.bin $(LB)/vmlinux.$* 0x020f $@ $(LB)/setup16.bin

linux-payloads: $(LB)/bzImage.gz $(LB)/bzImage.xz $(LB)/bzImage.lz4 $(LB)/bzImage.zst $(LB)/vmlinux \
                $(LB)/vmlinux-low
payloads: linux-payloads
.PHONY: linux-payloads
