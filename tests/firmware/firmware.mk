# firmware.mk: the boot image of the native-lane SeaBIOS tests (tests/firmware/t-seabios.sh)
FW_CFLAGS = -m16 -march=i386 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-builtin \
            -nostdlib -Os -Wall -Wextra -Werror -mgeneral-regs-only -fno-asynchronous-unwind-tables \
            -DSTAGE2_MAGIC=0x32475453 -DSTAGE2_SECTORS=23

# (the flags above are in the objects: they follow this file)
build/firmware/%.o: tests/firmware/%.S tests/firmware/firmware.mk
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) -c -o $@ $<

build/firmware/%.o: tests/firmware/%.c tests/firmware/firmware.mk
	@mkdir -p $(dir $@)
	$(CC) $(FW_CFLAGS) -c -o $@ $<

build/firmware/boot.bin: build/firmware/boot.o build/firmware/stage2.o tests/firmware/link.ld
	ld -m elf_i386 -T tests/firmware/link.ld -o $@ build/firmware/boot.o build/firmware/stage2.o

.PRECIOUS: build/firmware/%.o
firmware-tests: build/firmware/boot.bin
all: firmware-tests
.PHONY: firmware-tests
