# payloads.mk: bare-metal test payloads, freestanding 32-bit multiboot images built with the host gcc

PAYLOAD_CFLAGS = -m32 -march=i686 -ffreestanding -fno-pic -fno-stack-protector -fno-builtin \
                 -nostdlib -O2 -Wall -Wextra -Wno-unused-parameter -Werror -mno-sse -mno-mmx -mgeneral-regs-only \
                 -I tests/payloads
PAYLOAD_SRCS = $(filter-out tests/payloads/lib/%,$(wildcard tests/payloads/*.c))
PAYLOADS = $(PAYLOAD_SRCS:tests/payloads/%.c=build/payloads/%.elf)
PAYLOAD_LIB = build/payloads/lib/head.o build/payloads/lib/payload.o build/payloads/lib/intr.o \
              build/payloads/lib/isr.o

build/payloads/lib/%.o: tests/payloads/lib/%.S
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c -o $@ $<

build/payloads/lib/%.o: tests/payloads/lib/%.c tests/payloads/lib/payload.h tests/payloads/lib/intr.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c -o $@ $<

build/payloads/%.o: tests/payloads/%.c tests/payloads/lib/payload.h tests/payloads/lib/intr.h
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -c -o $@ $<

# a payload linked elsewhere than at 1 MiB sets PAYLOAD_LD to its own link script
PAYLOAD_LD = tests/payloads/lib/link.ld
build/payloads/%.elf: build/payloads/%.o $(PAYLOAD_LIB) tests/payloads/lib/link.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -Wl,-T,$(PAYLOAD_LD) -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack \
	    -o $@ $(filter %.o,$^)

# payloads that need more of the runtime name it here
build/payloads/smp.elf: build/payloads/lib/trampoline.o
# the device's registers, shared with its qtest
build/payloads/msi.o: hw/pci/pci-testdev-msi.h
build/payloads/rtl8139.o: hw/net/rtl8139.h

# multiboot-low: linked at 32 KiB; also as a flat binary loaded through the a.out kludge
build/payloads/multiboot-low.elf: PAYLOAD_LD = tests/payloads/multiboot-low.ld
build/payloads/multiboot-low.elf: tests/payloads/multiboot-low.ld
build/payloads/lib/head-aout.o: tests/payloads/lib/head.S
	@mkdir -p $(dir $@)
	$(quiet) "  CC      $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -DMB_AOUT -c -o $@ $<
build/payloads/multiboot-low-aout.elf: build/payloads/multiboot-low.o build/payloads/lib/head-aout.o \
        $(filter-out %/head.o,$(PAYLOAD_LIB)) tests/payloads/multiboot-low.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -Wl,-T,tests/payloads/multiboot-low.ld -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack \
	    -o $@ $(filter %.o,$^)
build/payloads/multiboot-low.bin: build/payloads/multiboot-low-aout.elf
	$(quiet) "  OBJCOPY $@"
	$(Q)objcopy -O binary $< $@

.PRECIOUS: build/payloads/%.o build/payloads/lib/%.o
payloads: $(PAYLOADS) build/payloads/multiboot-low.bin
all: payloads
.PHONY: payloads
