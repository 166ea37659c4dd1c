/* vga.c: the standard VGA (QEMU's "VGA", 1234:1111) at 02.0: registers, four-plane memory in the legacy window, the VGA BIOS as its ROM (IBM VGA Technical Reference) */
#define LOG_PREFIX "vga: "
#include "hw/display/vga.h"
#include "hw/core/guest-mem.h" // ram_region_alloc, ram_region_write
#include "hw/core/accel.h"
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "util/log.h"

#include <sys/mman.h>

#define VGA_WINDOW_BASE     0xa0000
#define VGA_WINDOW_SIZE     0x20000
#define VGA_PLANE_SIZE      0x10000     /* 64 KiB per plane, 256 KiB of planar memory */
#define VGA_VRAM_SIZE       (16 * MiB)  /* BAR 0, as QEMU's std VGA */

/* register indices (VGA Technical Reference, chapters "Sequencer", "Graphics Controller", ...) */
#define SR_MAP_MASK         2
#define SR_MEMORY_MODE      4
#define SR_CHAIN4           0x08
#define GR_SET_RESET        0
#define GR_ENABLE_SET_RESET 1
#define GR_COLOR_COMPARE    2
#define GR_DATA_ROTATE      3
#define GR_READ_MAP         4
#define GR_MODE             5
#define GR_MISC             6
#define GR_COLOR_DONT_CARE  7
#define GR_BIT_MASK         8
#define GR_MODE_ODD_EVEN    0x10
#define GR_MODE_READ1       0x08
#define GR_MISC_GRAPHICS    0x01
#define CR_START_HI         0x0c
#define CR_START_LO         0x0d
#define CR_CURSOR_START     0x0a
#define CR_CURSOR_HI        0x0e
#define CR_CURSOR_LO        0x0f
#define CR_OVERFLOW         0x07
#define CR_MAX_SCAN         0x09
#define CR_VSYNC_END        0x11
#define CR_VDISP_END        0x12
#define CR_OFFSET           0x13
#define CR_PROTECT          0x80
#define MISC_COLOR          0x01        /* CRTC at 0x3d4, status at 0x3da (else 0x3b4/0x3ba) */
#define ST01_TOGGLE         0x09        /* display enable and vertical retrace */

struct vga {
    struct device dev;
    struct pci_device pci;
    struct io_region window, ports_3c0, ports_3b4, ports_3d4;
    struct ram_region *vram_region; /* video memory: BAR 0 maps it, the window reaches it */
    uint8_t *vram;              /* its bytes, planes interleaved: byte 4*i+p is plane p's byte i */
    /* registers */
    uint8_t msr, fcr, st00, st01;
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t ar_index, ar[32], ar_flip_flop;
    uint8_t cr_index, cr[32];
    uint8_t dac_state, dac_sub_index, dac_read_index, dac_write_index, pel_mask;
    uint8_t dac_cache[3];
    uint8_t palette[768];
    uint32_t latch;
};
PCI_DEVICE_CHECK(struct vga);

/* 4 plane-enable bits to a 32-bit mask of bytes */
static uint32_t expand4(unsigned v)
{
    return (v & 1 ? 0x000000ffu : 0) | (v & 2 ? 0x0000ff00u : 0) | (v & 4 ? 0x00ff0000u : 0) |
           (v & 8 ? 0xff000000u : 0);
}

static uint32_t vram_word(struct vga *v, uint32_t i)
{
    return ldl_le(v->vram + 4 * i);
}

/* The window the graphics controller's memory map select decodes (GR6 bits 3:2), or false. */
static bool window_offset(struct vga *v, uint64_t addr, uint32_t *off)
{
    static const uint32_t base[4] = { 0, 0, 0x10000, 0x18000 }, size[4] = { 0x20000, 0x10000, 0x8000, 0x8000 };
    unsigned map = (v->gr[GR_MISC] >> 2) & 3;

    if (addr < base[map] || addr - base[map] >= size[map])
        return false;
    *off = addr - base[map];
    return true;
}

static uint64_t vga_mem_read(void *opaque, uint64_t addr, unsigned size)
{
    struct vga *v = opaque;
    uint32_t off, word;
    unsigned plane;

    if (!window_offset(v, addr, &off))
        return 0xff;
    if (v->sr[SR_MEMORY_MODE] & SR_CHAIN4)
        return v->vram[off];
    if (v->gr[GR_MODE] & GR_MODE_ODD_EVEN) {
        plane = (v->gr[GR_READ_MAP] & 2) | (off & 1);
        return v->vram[((off & ~1u) << 1 | plane) & (4 * VGA_PLANE_SIZE - 1)];
    }
    off &= VGA_PLANE_SIZE - 1;
    v->latch = word = vram_word(v, off);
    if (!(v->gr[GR_MODE] & GR_MODE_READ1))
        return (word >> (8 * (v->gr[GR_READ_MAP] & 3))) & 0xff;
    /* read mode 1: a bit is 1 where all cared-about planes match the compare color */
    word = (word ^ expand4(v->gr[GR_COLOR_COMPARE])) & expand4(v->gr[GR_COLOR_DONT_CARE]);
    word |= word >> 16;
    word |= word >> 8;
    return ~word & 0xff;
}

static void vga_mem_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    struct vga *v = opaque;
    uint32_t off, word, bit_mask, wmask;
    unsigned plane, rot;

    if (!window_offset(v, addr, &off))
        return;
    if (v->sr[SR_MEMORY_MODE] & SR_CHAIN4) {
        if (v->sr[SR_MAP_MASK] & (1u << (off & 3)))
            ram_region_write(v->vram_region, off, &(uint8_t){ val }, 1);
        return;
    }
    if (v->gr[GR_MODE] & GR_MODE_ODD_EVEN) {
        plane = (v->gr[GR_READ_MAP] & 2) | (off & 1);
        if (v->sr[SR_MAP_MASK] & (1u << plane))
            ram_region_write(v->vram_region, ((off & ~1u) << 1 | plane) & (4 * VGA_PLANE_SIZE - 1),
                             &(uint8_t){ val }, 1);
        return;
    }
    off &= VGA_PLANE_SIZE - 1;
    rot = v->gr[GR_DATA_ROTATE] & 7;
    bit_mask = v->gr[GR_BIT_MASK];
    switch (v->gr[GR_MODE] & 3) {
    case 0:     /* rotate, then set/reset where enabled */
        word = ((val >> rot) | (val << (8 - rot))) & 0xff;
        word *= 0x01010101u;
        word = (word & ~expand4(v->gr[GR_ENABLE_SET_RESET])) |
               (expand4(v->gr[GR_SET_RESET]) & expand4(v->gr[GR_ENABLE_SET_RESET]));
        break;
    case 1:     /* the latches, unchanged */
        word = v->latch;
        goto store;
    case 2:     /* the low four bits are the color */
        word = expand4(val & 0x0f);
        break;
    default:    /* rotated data ANDed with the bit mask selects set/reset */
        word = ((val >> rot) | (val << (8 - rot))) & 0xff;
        bit_mask &= word;
        word = expand4(v->gr[GR_SET_RESET]);
        break;
    }
    switch (v->gr[GR_DATA_ROTATE] >> 3 & 3) {
    case 1: word &= v->latch; break;
    case 2: word |= v->latch; break;
    case 3: word ^= v->latch; break;
    }
    bit_mask *= 0x01010101u;
    word = (word & bit_mask) | (v->latch & ~bit_mask);
store:
    wmask = expand4(v->sr[SR_MAP_MASK]);
    stl_le(v->vram + 4 * off, (vram_word(v, off) & ~wmask) | (word & wmask));
    /* what the display and migration will send again */
    ram_region_mark_dirty(v->vram_region, 4 * off, 4);
}

static const struct io_region_ops vga_mem_ops = {
    .read = vga_mem_read,
    .write = vga_mem_write,
    .valid = { .unaligned = true },
    .impl = { .min = 1, .max = 1 },
};

/* ---- I/O ports 0x3b4-0x3ba, 0x3c0-0x3cf, 0x3d4-0x3da ---- */

static bool crtc_port_live(struct vga *v, uint16_t port)
{
    /* the mono and color CRTC/status addresses answer only when the misc register picks them */
    bool color = v->msr & MISC_COLOR;

    if (port >= 0x3b0 && port <= 0x3bf)
        return !color;
    if (port >= 0x3d0 && port <= 0x3df)
        return color;
    return true;
}

static uint8_t vga_port_read(struct vga *v, uint16_t port)
{
    uint8_t r = 0xff;

    if (!crtc_port_live(v, port))
        return 0xff;
    switch (port) {
    case 0x3c0:
        return v->ar_index;
    case 0x3c1:
        return v->ar[v->ar_index & 0x1f];
    case 0x3c2:
        return v->st00;
    case 0x3c4:
        return v->sr_index;
    case 0x3c5:
        return v->sr[v->sr_index & 7];
    case 0x3c6:
        return v->pel_mask;
    case 0x3c7:
        return v->dac_state;
    case 0x3c8:
        return v->dac_write_index;
    case 0x3c9:
        r = v->palette[v->dac_read_index * 3 + v->dac_sub_index];
        if (++v->dac_sub_index == 3) {
            v->dac_sub_index = 0;
            v->dac_read_index++;
        }
        return r;
    case 0x3ca:
        return v->fcr;
    case 0x3cc:
        return v->msr;
    case 0x3ce:
        return v->gr_index;
    case 0x3cf:
        return v->gr[v->gr_index & 15];
    case 0x3b4:
    case 0x3d4:
        return v->cr_index;
    case 0x3b5:
    case 0x3d5:
        return v->cr[v->cr_index & 31];
    case 0x3ba:
    case 0x3da:
        /* reading input status 1 resets the attribute flip-flop; retrace appears to come and go */
        v->st01 ^= ST01_TOGGLE;
        v->ar_flip_flop = 0;
        return v->st01;
    }
    return r;
}

static void vga_port_write(struct vga *v, uint16_t port, uint8_t val)
{
    if (!crtc_port_live(v, port))
        return;
    switch (port) {
    case 0x3c0:
        if (!v->ar_flip_flop) {
            v->ar_index = val & 0x3f;
        } else {
            unsigned i = v->ar_index & 0x1f;

            /* palette 0-0xf, mode control 0x10 .. color select 0x14 */
            if (i <= 0x0f)
                v->ar[i] = val & 0x3f;
            else if (i <= 0x14)
                v->ar[i] = i == 0x12 ? val & 0x3f : i == 0x14 ? val & 0x0f : val;
        }
        v->ar_flip_flop ^= 1;
        break;
    case 0x3c2:
        v->msr = val & ~0x10;
        break;
    case 0x3c4:
        v->sr_index = val & 7;
        break;
    case 0x3c5:
        v->sr[v->sr_index & 7] = val;
        break;
    case 0x3c6:
        v->pel_mask = val;
        break;
    case 0x3c7:
        v->dac_read_index = val;
        v->dac_sub_index = 0;
        v->dac_state = 3;
        break;
    case 0x3c8:
        v->dac_write_index = val;
        v->dac_sub_index = 0;
        v->dac_state = 0;
        break;
    case 0x3c9:
        v->dac_cache[v->dac_sub_index] = val & 0x3f;
        if (++v->dac_sub_index == 3) {
            memcpy(&v->palette[v->dac_write_index * 3], v->dac_cache, 3);
            v->dac_sub_index = 0;
            v->dac_write_index++;
        }
        break;
    case 0x3ce:
        v->gr_index = val & 15;
        break;
    case 0x3cf:
        v->gr[v->gr_index & 15] = val;
        break;
    case 0x3b4:
    case 0x3d4:
        v->cr_index = val;
        break;
    case 0x3b5:
    case 0x3d5:
        if (v->cr_index > 0x18)
            break;
        /* CR11 bit 7 write-protects CR0-7, all but CR7's line compare bit */
        if ((v->cr[CR_VSYNC_END] & CR_PROTECT) && v->cr_index <= CR_OVERFLOW) {
            if (v->cr_index == CR_OVERFLOW)
                v->cr[CR_OVERFLOW] = (v->cr[CR_OVERFLOW] & ~0x10) | (val & 0x10);
            break;
        }
        v->cr[v->cr_index] = val;
        break;
    case 0x3ba:
    case 0x3da:
        v->fcr = val & 0x10;
        break;
    }
}

static uint64_t ports_read(void *opaque, uint64_t off, unsigned size)
{
    return vga_port_read(opaque, off);
}

static void ports_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    vga_port_write(opaque, off, val);
}

/* The three windows share one handler keyed by port number: their offsets are biased. */
static uint64_t ports_3c0_read(void *o, uint64_t off, unsigned s) { return ports_read(o, 0x3c0 + off, s); }
static void ports_3c0_write(void *o, uint64_t off, uint64_t v, unsigned s) { ports_write(o, 0x3c0 + off, v, s); }
static uint64_t ports_3b4_read(void *o, uint64_t off, unsigned s) { return ports_read(o, 0x3b4 + off, s); }
static void ports_3b4_write(void *o, uint64_t off, uint64_t v, unsigned s) { ports_write(o, 0x3b4 + off, v, s); }
static uint64_t ports_3d4_read(void *o, uint64_t off, unsigned s) { return ports_read(o, 0x3d4 + off, s); }
static void ports_3d4_write(void *o, uint64_t off, uint64_t v, unsigned s) { ports_write(o, 0x3d4 + off, v, s); }

/* 16-bit writes (index and data at once) arrive as two byte accesses, low byte first */
#define VGA_PORT_OPS(name) \
    static const struct io_region_ops name##_ops = { \
        .read = name##_read, .write = name##_write, \
        .valid = { .min = 1, .max = 2, .unaligned = true }, .impl = { .min = 1, .max = 1 }, \
    }
VGA_PORT_OPS(ports_3c0);
VGA_PORT_OPS(ports_3b4);
VGA_PORT_OPS(ports_3d4);

/* ---- text screen ---- */

int vga_text_read(struct device *dev, struct vga_text *t)
{
    struct vga *v = container_of(dev, struct vga, dev);
    unsigned start, height, vde, line, cursor, cols, rows;

    if (v->gr[GR_MISC] & GR_MISC_GRAPHICS)
        return -EINVAL;
    cols = v->cr[1] + 1;
    height = (v->cr[CR_MAX_SCAN] & 0x1f) + 1;
    vde = v->cr[CR_VDISP_END] | (v->cr[CR_OVERFLOW] & 0x02) << 7 | (v->cr[CR_OVERFLOW] & 0x40) << 3;
    rows = (vde + 1) / height;
    line = v->cr[CR_OFFSET] * 2;
    start = v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO];
    t->cols = MIN(cols, VGA_TEXT_MAX_COLS);
    t->rows = MIN(rows, VGA_TEXT_MAX_ROWS);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->cols; c++) {
            uint32_t cell = (start + r * line + c) & (VGA_PLANE_SIZE - 1);

            t->ch[r][c] = v->vram[4 * cell];
            t->attr[r][c] = v->vram[4 * cell + 1];
        }
    }
    cursor = (v->cr[CR_CURSOR_HI] << 8 | v->cr[CR_CURSOR_LO]) - start;
    t->cursor_col = t->cursor_row = -1;
    if (!(v->cr[CR_CURSOR_START] & 0x20) && line && cursor / line < (unsigned)t->rows &&
        cursor % line < (unsigned)t->cols) {
        t->cursor_row = cursor / line;
        t->cursor_col = cursor % line;
    }
    return 0;
}

/* Mode 3, 80x25 with 9x16 characters: the register values of the VGA BIOS's mode table */
static const uint8_t mode3_sr[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_cr[25] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
                                      0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
                                      0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
static const uint8_t mode3_gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_ar[21] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39,
                                      0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08,
                                      0x00 };

void vga_set_text_mode(struct device *dev)
{
    struct vga *v = container_of(dev, struct vga, dev);

    v->msr = 0x67;
    memcpy(v->sr, mode3_sr, sizeof(mode3_sr));
    memcpy(v->cr, mode3_cr, sizeof(mode3_cr));
    memcpy(v->gr, mode3_gr, sizeof(mode3_gr));
    memcpy(v->ar, mode3_ar, sizeof(mode3_ar));
    v->ar_index = 0x20;     /* palette address source: the screen is on */
    v->pel_mask = 0xff;
    /* a blank screen of light grey on black */
    for (uint32_t i = 0; i < 80 * 25; i++) {
        v->vram[4 * i] = ' ';
        v->vram[4 * i + 1] = 0x07;
    }
    ram_region_mark_dirty(v->vram_region, 0, 4 * 80 * 25);
}

/* ---- the PCI function ---- */

static const struct pci_id vga_id = {
    .vendor = 0x1234,           /* QEMU's standard VGA, which vgabios-stdvga.bin drives */
    .device = 0x1111,
    .revision = 0x02,
    .class_code = 0x030000,
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .romfile = "vgabios-stdvga.bin",
};

static void vga_reset(struct device *dev)
{
    struct vga *v = container_of(dev, struct vga, dev);

    pci_device_reset(&v->pci);
    /* every register from msr on is zero after a reset, as QEMU's VGA */
    memset(&v->msr, 0, sizeof(*v) - offsetof(struct vga, msr));
    v->pel_mask = 0xff;
}

static int vga_realize(struct device *dev, char **err)
{
    struct vga *v = container_of(dev, struct vga, dev);
    int r;

    v->pci.devfn = -1;
    r = pci_device_register(&v->pci, "VGA", &vga_id, -1, NULL, err);
    if (r < 0)
        return r;
    r = ram_region_alloc(&v->vram_region, "vga.vram", VGA_VRAM_SIZE, false);
    if (r < 0) {
        *err = xasprintf("VGA: cannot allocate video memory: %s", strerror(-r));
        goto fail;
    }
    v->vram = v->vram_region->hva;
    pci_register_bar_ram(&v->pci, 0, PCI_BAR_MEM32 | PCI_BAR_PREFETCH, v->vram_region);
    r = io_region_add(&v->window, IO_SPACE_MMIO, "vga-window", VGA_WINDOW_BASE, VGA_WINDOW_SIZE,
                      &vga_mem_ops, v);
    if (r < 0)
        goto fail_vram;
    /* writes to the window (screen updates, font loads) need not stop the vCPU one by one;
     * a register write or a read exits, and the queued writes are handled first */
    if (accel && accel->coalesce_mmio)
        accel->coalesce_mmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, true);
    if ((r = io_region_add(&v->ports_3c0, IO_SPACE_PIO, "vga", 0x3c0, 16, &ports_3c0_ops, v)) < 0 ||
        (r = io_region_add(&v->ports_3b4, IO_SPACE_PIO, "vga", 0x3b4, 7, &ports_3b4_ops, v)) < 0 ||
        (r = io_region_add(&v->ports_3d4, IO_SPACE_PIO, "vga", 0x3d4, 7, &ports_3d4_ops, v)) < 0)
        goto fail_coalesce;
    vga_reset(dev);
    return 0;
fail_coalesce:
    if (accel && accel->coalesce_mmio)
        accel->coalesce_mmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, false);
fail_vram:
    pci_device_unregister(&v->pci);
    ram_region_free(v->vram_region);
    v->vram_region = NULL;
    v->vram = NULL;
    return r;
fail:
    pci_device_unregister(&v->pci);
    return r;
}

static void vga_unrealize(struct device *dev)
{
    struct vga *v = container_of(dev, struct vga, dev);

    io_region_unmap(&v->window);
    if (accel && accel->coalesce_mmio)
        accel->coalesce_mmio(VGA_WINDOW_BASE, VGA_WINDOW_SIZE, false);
    io_region_unmap(&v->ports_3c0);
    io_region_unmap(&v->ports_3b4);
    io_region_unmap(&v->ports_3d4);
    pci_device_unregister(&v->pci);
    ram_region_free(v->vram_region);
    v->vram_region = NULL;
    v->vram = NULL;
}

static void vga_state_loaded(struct device *dev)
{
    pci_device_state_loaded(&container_of(dev, struct vga, dev)->pci);
}

static const struct vmstate_field vga_fields[] = {
    VMSTATE_STRUCT(pci, struct vga, pci_device_vmsd, struct pci_device),
    VMSTATE_U8(msr, struct vga),
    VMSTATE_U8(fcr, struct vga),
    VMSTATE_U8(st00, struct vga),
    VMSTATE_U8(st01, struct vga),
    VMSTATE_U8_MAX(sr_index, struct vga, 7),
    VMSTATE_U8_ARRAY(sr, struct vga, 8),
    VMSTATE_U8_MAX(gr_index, struct vga, 15),
    VMSTATE_U8_ARRAY(gr, struct vga, 16),
    VMSTATE_U8_MAX(ar_index, struct vga, 0x3f),
    VMSTATE_U8_ARRAY(ar, struct vga, 32),
    VMSTATE_U8_MAX(ar_flip_flop, struct vga, 1),
    VMSTATE_U8(cr_index, struct vga),
    VMSTATE_U8_ARRAY(cr, struct vga, 32),
    VMSTATE_U8_MAX(dac_state, struct vga, 3),
    VMSTATE_U8_MAX(dac_sub_index, struct vga, 2),
    VMSTATE_U8(dac_read_index, struct vga),
    VMSTATE_U8(dac_write_index, struct vga),
    VMSTATE_U8(pel_mask, struct vga),
    VMSTATE_U8_ARRAY(dac_cache, struct vga, 3),
    VMSTATE_U8_ARRAY(palette, struct vga, 768),
    VMSTATE_U32(latch, struct vga),
    VMSTATE_PAGES(vram, struct vga, VGA_VRAM_SIZE),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc vga_vmsd = {
    .name = "VGA",
    .version = 1,
    .min_version = 1,
    .fields = vga_fields,
};


static struct device_type vga_type = {
    .name = "VGA",
    .desc = "standard VGA (text and planar modes; 1234:1111)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct vga),
    .user_creatable = true,
    .realize = vga_realize,
    .reset = vga_reset,
    .unrealize = vga_unrealize,
    .vmsd = &vga_vmsd,
    .state_loaded = vga_state_loaded,
};
DEVICE_TYPE_REGISTER(vga_type)
