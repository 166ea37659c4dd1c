/* fw_cfg.c: the firmware configuration device at 0x510: selector, data port and the DMA interface (QEMU docs/specs/fw_cfg.rst) */
#define LOG_PREFIX "fw_cfg: "
#include "hw/pc/fw_cfg.h"
#include "hw/core/device.h"
#include "hw/core/guest-mem.h"
#include "hw/core/ioregion.h"
#include "migration/vmstate.h"
#include "util/log.h"

/* DMA control bits (fw_cfg.rst, "DMA interface") */
#define DMA_CTL_ERROR   0x01
#define DMA_CTL_READ    0x02
#define DMA_CTL_SKIP    0x04
#define DMA_CTL_SELECT  0x08
#define DMA_CTL_WRITE   0x10

#define SEL_WRITE       0x4000      /* the legacy write channel bit, ignored */
#define ARCH_ENTRIES    8

static const uint8_t dma_signature[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };

struct fw_cfg_entry {
    uint8_t *data;
    uint32_t len;
    bool writable;
    char name[FW_CFG_MAX_FILE_PATH];
};

struct fw_cfg {
    struct device dev;
    uint32_t iobase;
    uint32_t dma_base;
    bool dma_enabled;
    struct io_region io, dma_io;
    struct fw_cfg_entry std[FW_CFG_FILE_FIRST];
    struct fw_cfg_entry files[FW_CFG_MAX_FILES];   /* sorted by name, as their keys */
    struct fw_cfg_entry arch[ARCH_ENTRIES];
    int nfiles;
    /* guest-visible state */
    uint16_t cur_key;
    uint32_t cur_offset;
    uint64_t dma_addr;
};

static struct fw_cfg *to_fw_cfg(struct device *dev)
{
    return container_of(dev, struct fw_cfg, dev);
}

static struct fw_cfg_entry *entry_of(struct fw_cfg *s, uint16_t key)
{
    uint16_t k = key & ~(FW_CFG_ARCH_LOCAL | SEL_WRITE);

    if (key & FW_CFG_ARCH_LOCAL)
        return k < ARCH_ENTRIES ? &s->arch[k] : NULL;
    if (k < FW_CFG_FILE_FIRST)
        return &s->std[k];
    if (k - FW_CFG_FILE_FIRST < s->nfiles)
        return &s->files[k - FW_CFG_FILE_FIRST];
    return NULL;
}

static void entry_set(struct fw_cfg_entry *e, const void *data, size_t len, bool writable)
{
    free(e->data);
    e->data = len ? xmalloc(len) : NULL;
    if (len)
        memcpy(e->data, data, len);
    e->len = len;
    e->writable = writable;
}

void fw_cfg_add_bytes(struct device *dev, uint16_t key, const void *data, size_t len)
{
    struct fw_cfg_entry *e = entry_of(to_fw_cfg(dev), key);

    if (!e || (key & ~FW_CFG_ARCH_LOCAL) >= FW_CFG_FILE_FIRST)
        die("internal error: fw_cfg key 0x%x is not a plain entry", key);
    entry_set(e, data, len, false);
}

void fw_cfg_add_i16(struct device *dev, uint16_t key, uint16_t v)
{
    uint8_t b[2];

    stw_le(b, v);
    fw_cfg_add_bytes(dev, key, b, sizeof(b));
}

void fw_cfg_add_i32(struct device *dev, uint16_t key, uint32_t v)
{
    uint8_t b[4];

    stl_le(b, v);
    fw_cfg_add_bytes(dev, key, b, sizeof(b));
}

void fw_cfg_add_i64(struct device *dev, uint16_t key, uint64_t v)
{
    uint8_t b[8];

    stq_le(b, v);
    fw_cfg_add_bytes(dev, key, b, sizeof(b));
}

/* The directory (fw_cfg.rst, "File Directory"): a big-endian count, then one entry per file. */
static void fw_cfg_update_dir(struct fw_cfg *s)
{
    size_t len = 4 + 64 * s->nfiles;
    uint8_t *d = xzalloc(len);

    stl_be(d, s->nfiles);
    for (int i = 0; i < s->nfiles; i++) {
        uint8_t *f = d + 4 + 64 * i;

        stl_be(f, s->files[i].len);
        stw_be(f + 4, FW_CFG_FILE_FIRST + i);
        memcpy(f + 8, s->files[i].name, FW_CFG_MAX_FILE_PATH);
    }
    entry_set(&s->std[FW_CFG_FILE_DIR], d, len, false);
    free(d);
}

int fw_cfg_add_file(struct device *dev, const char *name, const void *data, size_t len,
                    bool writable)
{
    struct fw_cfg *s = to_fw_cfg(dev);
    int i;

    if (strlen(name) >= FW_CFG_MAX_FILE_PATH || len > UINT32_MAX)
        return -EINVAL;
    for (i = 0; i < s->nfiles; i++) {
        int c = strcmp(name, s->files[i].name);

        if (c == 0) {
            entry_set(&s->files[i], data, len, writable);
            fw_cfg_update_dir(s);
            return 0;
        }
        if (c < 0)
            break;
    }
    if (s->nfiles == FW_CFG_MAX_FILES)
        return -ENOSPC;
    memmove(&s->files[i + 1], &s->files[i], (s->nfiles - i) * sizeof(s->files[0]));
    memset(&s->files[i], 0, sizeof(s->files[i]));
    snprintf(s->files[i].name, sizeof(s->files[i].name), "%s", name);
    entry_set(&s->files[i], data, len, writable);
    s->nfiles++;
    fw_cfg_update_dir(s);
    return 0;
}

const uint8_t *fw_cfg_file_data(struct device *dev, const char *name, size_t *len)
{
    struct fw_cfg *s = to_fw_cfg(dev);

    for (int i = 0; i < s->nfiles; i++) {
        if (!strcmp(s->files[i].name, name)) {
            *len = s->files[i].len;
            return s->files[i].data;
        }
    }
    return NULL;
}

static void fw_cfg_select(struct fw_cfg *s, uint16_t key)
{
    s->cur_key = key;
    s->cur_offset = 0;
}

/* ---- the traditional interface: selector at 0x510 (16 bits), data at 0x511 (8 bits) ---- */

static uint64_t fw_cfg_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct fw_cfg *s = opaque;
    struct fw_cfg_entry *e;

    if (off != 1 || size != 1)
        return 0;
    e = entry_of(s, s->cur_key);
    if (!e || s->cur_offset >= e->len)
        return 0;
    return e->data[s->cur_offset++];
}

static void fw_cfg_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fw_cfg *s = opaque;

    /* data port writes are ignored since QEMU 2.4; only DMA writes */
    if (off == 0 && size == 2)
        fw_cfg_select(s, val);
}

static const struct io_region_ops fw_cfg_io_ops = {
    .read = fw_cfg_io_read,
    .write = fw_cfg_io_write,
    .valid = { .min = 1, .max = 2 },
};

/* ---- DMA (fw_cfg.rst, "DMA interface") ---- */

/* Fill guest memory with zeros: what a read past the end of an item returns. */
static int dma_zero(uint64_t gpa, uint64_t len)
{
    static const uint8_t zero[4096];

    while (len) {
        size_t n = MIN(len, sizeof(zero));

        if (gmem_write(gpa, zero, n) < 0)
            return -EFAULT;
        gpa += n;
        len -= n;
    }
    return 0;
}

static void fw_cfg_dma_transfer(struct fw_cfg *s)
{
    uint64_t desc = s->dma_addr, addr;
    uint8_t hdr[16], done[4];
    uint32_t control, length, avail, n;
    struct fw_cfg_entry *e;
    bool error = false;

    s->dma_addr = 0;
    if (gmem_read(desc, hdr, sizeof(hdr)) < 0) {
        log_guest_error("DMA descriptor at 0x%" PRIx64 " is not in RAM", desc);
        return;
    }
    control = ldl_be(hdr);
    length = ldl_be(hdr + 4);
    addr = ldq_be(hdr + 8);
    if (control & DMA_CTL_SELECT)
        fw_cfg_select(s, control >> 16);
    e = entry_of(s, s->cur_key);
    avail = e && s->cur_offset < e->len ? e->len - s->cur_offset : 0;
    n = MIN(length, avail);
    if (control & DMA_CTL_READ) {
        if ((n && gmem_write(addr, e->data + s->cur_offset, n) < 0) ||
            (length > n && dma_zero(addr + n, length - n) < 0))
            error = true;
        s->cur_offset += n;
    } else if (control & DMA_CTL_WRITE) {
        /* only an item the board made writable takes writes, and only within its size */
        if (!e || !e->writable || length > avail ||
            (length && gmem_read(addr, e->data + s->cur_offset, length) < 0))
            error = true;
        else
            s->cur_offset += length;
    } else if (control & DMA_CTL_SKIP) {
        s->cur_offset += n;
    }
    if (error)
        log_guest_error("DMA %s of %u bytes at 0x%" PRIx64 " (item 0x%x) failed",
                        control & DMA_CTL_WRITE ? "write" : "read", length, addr, s->cur_key);
    stl_be(done, error ? DMA_CTL_ERROR : 0);
    gmem_write(desc, done, sizeof(done));
}

static uint64_t fw_cfg_dma_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    /* the address register reads back "QEMU CFG" so firmware can probe for DMA */
    memcpy(&v, dma_signature + off, size);
    return v;
}

static void fw_cfg_dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fw_cfg *s = opaque;

    /* the register is big-endian; writing its low half (or all of it) starts the transfer */
    if (size == 8 && off == 0) {
        s->dma_addr = __builtin_bswap64(val);
        fw_cfg_dma_transfer(s);
    } else if (size == 4 && off == 0) {
        s->dma_addr = (uint64_t)__builtin_bswap32(val) << 32;
    } else if (size == 4 && off == 4) {
        s->dma_addr |= __builtin_bswap32(val);
        fw_cfg_dma_transfer(s);
    }
}

static const struct io_region_ops fw_cfg_dma_ops = {
    .read = fw_cfg_dma_read,
    .write = fw_cfg_dma_write,
    .valid = { .min = 1, .max = 8 },
};

/* ---- life cycle ---- */

static void fw_cfg_reset(struct device *dev)
{
    struct fw_cfg *s = to_fw_cfg(dev);

    fw_cfg_select(s, FW_CFG_SIGNATURE);
    s->dma_addr = 0;
}

static int fw_cfg_realize(struct device *dev, char **err)
{
    struct fw_cfg *s = to_fw_cfg(dev);
    int r;

    if (s->iobase > 0xfffe || s->dma_base > 0xfff8) {
        *err = xstrdup("fw_cfg: iobase or dma_iobase outside the port space");
        return -EINVAL;
    }
    fw_cfg_add_bytes(dev, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(dev, FW_CFG_ID, FW_CFG_VERSION | (s->dma_enabled ? FW_CFG_VERSION_DMA : 0));
    fw_cfg_update_dir(s);
    r = io_region_add(&s->io, IO_SPACE_PIO, "fw_cfg", s->iobase, 2, &fw_cfg_io_ops, s);
    if (r == 0 && s->dma_enabled)
        r = io_region_add(&s->dma_io, IO_SPACE_PIO, "fw_cfg-dma", s->dma_base, 8,
                          &fw_cfg_dma_ops, s);
    if (r < 0)
        return r;
    fw_cfg_reset(dev);
    return 0;
}

static void fw_cfg_unrealize(struct device *dev)
{
    struct fw_cfg *s = to_fw_cfg(dev);

    io_region_unmap(&s->io);
    io_region_unmap(&s->dma_io);
    for (int i = 0; i < FW_CFG_FILE_FIRST; i++)
        free(s->std[i].data);
    for (int i = 0; i < s->nfiles; i++)
        free(s->files[i].data);
    for (int i = 0; i < ARCH_ENTRIES; i++)
        free(s->arch[i].data);
}

static const struct vmstate_field fw_cfg_fields[] = {
    VMSTATE_U16(cur_key, struct fw_cfg),
    VMSTATE_U32(cur_offset, struct fw_cfg),
    VMSTATE_U64(dma_addr, struct fw_cfg),
    VMSTATE_END_OF_LIST,
};

/* The data position stays inside the selected item (reads and DMA never pass its end). */
static int fw_cfg_post_load(void *opaque, int version)
{
    struct fw_cfg *s = opaque;
    struct fw_cfg_entry *e = entry_of(s, s->cur_key);

    return s->cur_offset > (e ? e->len : 0) ? -EINVAL : 0;
}

static const struct vmstate_desc fw_cfg_vmsd = {
    .name = "fw_cfg",
    .version = 1,
    .min_version = 1,
    .fields = fw_cfg_fields,
    .post_load = fw_cfg_post_load,
};

static const struct prop_desc fw_cfg_props[] = {
    DEFINE_PROP("iobase", struct fw_cfg, iobase, PROP_U32, "0x510", "selector and data ports"),
    DEFINE_PROP("dma_iobase", struct fw_cfg, dma_base, PROP_U32, "0x514", "DMA address register"),
    DEFINE_PROP("dma_enabled", struct fw_cfg, dma_enabled, PROP_BOOL, "on", "offer the DMA interface"),
    DEFINE_PROP_END,
};

static struct device_type fw_cfg_type = {
    .name = "fw_cfg",
    .desc = "QEMU firmware configuration interface",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct fw_cfg),
    .props = fw_cfg_props,
    .realize = fw_cfg_realize,
    .reset = fw_cfg_reset,
    .unrealize = fw_cfg_unrealize,
    .vmsd = &fw_cfg_vmsd,
};
DEVICE_TYPE_REGISTER(fw_cfg_type)
