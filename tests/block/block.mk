# block.mk: tests/block/blk-io, the block layer's test driver (a small qemu-io) used by the script suites
BLKIO = $(BUILD)/tests/block/blk-io
$(BLKIO): $(BUILD)/tests/block/blk-io.o $(BUILD)/libskiff.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
all: $(BLKIO)
