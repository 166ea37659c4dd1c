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

build/payloads/%.elf: build/payloads/%.o $(PAYLOAD_LIB) tests/payloads/lib/link.ld
	$(quiet) "  LINK    $@"
	$(Q)$(CC) $(PAYLOAD_CFLAGS) -Wl,-T,tests/payloads/lib/link.ld -Wl,--build-id=none -static \
	    -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack \
	    -o $@ $(filter %.o,$^)

# payloads that need more of the runtime name it here
build/payloads/smp.elf: build/payloads/lib/trampoline.o

.PRECIOUS: build/payloads/%.o build/payloads/lib/%.o
payloads: $(PAYLOADS)
all: payloads
.PHONY: payloads
