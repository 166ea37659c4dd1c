/* piix-ide.c: the PIIX3 IDE function at 01.1: legacy ports, IRQ 14/15, and the bus master DMA engine (82371SB datasheet 2.4 and 2.7; SFF-8038i) */
#define LOG_PREFIX "piix-ide: "
#include "hw/ide/piix-ide.h"
#include "hw/core/guest-mem.h"
#include "hw/ide/ide.h"
#include "hw/isa/isa.h"
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "util/log.h"

#define IDETIM              0x40    /* primary at 0x40, secondary at 0x42 */
#define IDETIM_DECODE       0x8000  /* IDE decode enable (82371SB 2.4.5) */

/* Bus master registers, 8 bytes per channel (SFF-8038i section 2) */
#define BM_CMD              0
#define BM_STATUS           2
#define BM_PRD              4
#define BM_CMD_START        0x01
#define BM_CMD_TO_MEM       0x08    /* "bus master write": the disk's data goes to memory */
#define BM_ST_ACTIVE        0x01
#define BM_ST_ERROR         0x02
#define BM_ST_IRQ           0x04
#define BM_ST_CAPABLE       0x60    /* drive 0/1 DMA capable: scratch bits for the BIOS */
#define PRD_EOT             0x8000
/* the PRD table may not cross a 64 KiB boundary (SFF-8038i 2.3): at most 8192 entries */
#define PRD_TABLE_LIMIT     0x10000

static const uint16_t cmd_ports[2] = { 0x1f0, 0x170 };
static const uint16_t ctl_ports[2] = { 0x3f6, 0x376 };
static const uint8_t legacy_irqs[2] = { 14, 15 };
static const char *const channel_names[2] = { "ide0", "ide1" };

struct bmdma {
    struct piix_ide *s;
    int n;
    uint8_t cmd, status;
    uint32_t prd_addr;
    struct iovec *iov;
    int iov_cap;
    /* what a transfer to memory writes, marked dirty when it completes (not when mapped) */
    struct { uint64_t gpa, len; } *written;
    int nwritten, written_cap;
};

struct piix_ide {
    struct device dev;
    struct pci_device pci;
    struct ide_channel ch[2];
    struct bmdma bm[2];
    struct io_region cmd_io[2], ctl_io[2], bm_io;
    struct ide_bus bus[2];      /* ide.0 and ide.1, as QEMU names the PIIX's */
};
PCI_DEVICE_CHECK(struct piix_ide);

/* ---- bus master DMA ---- */

static void iov_add(struct bmdma *bm, int *niov, void *p, size_t len)
{
    struct iovec *last = *niov ? &bm->iov[*niov - 1] : NULL;

    if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
        last->iov_len += len;
        return;
    }
    if (*niov == bm->iov_cap) {
        bm->iov_cap = bm->iov_cap ? 2 * bm->iov_cap : 64;
        bm->iov = xrealloc(bm->iov, bm->iov_cap * sizeof(*bm->iov));
    }
    bm->iov[(*niov)++] = (struct iovec){ p, len };
}

static void written_add(struct bmdma *bm, uint64_t gpa, uint64_t len)
{
    if (bm->nwritten && bm->written[bm->nwritten - 1].gpa + bm->written[bm->nwritten - 1].len == gpa) {
        bm->written[bm->nwritten - 1].len += len;
        return;
    }
    if (bm->nwritten == bm->written_cap) {
        bm->written_cap = bm->written_cap ? 2 * bm->written_cap : 16;
        bm->written = xrealloc(bm->written, bm->written_cap * sizeof(*bm->written));
    }
    bm->written[bm->nwritten].gpa = gpa;
    bm->written[bm->nwritten].len = len;
    bm->nwritten++;
}

/* Guest memory [addr, addr+len) as host pieces; a range crossing RAM blocks goes page by page. */
static int map_guest(struct bmdma *bm, int *niov, uint64_t addr, uint32_t len, bool to_mem)
{
    while (len) {
        uint32_t piece = len;
        void *p = to_mem ? gmem_ptr_dma(addr, piece) : gmem_ptr(addr, piece);

        if (!p) {
            piece = MIN(len, GUEST_PAGE_SIZE - (addr & (GUEST_PAGE_SIZE - 1)));
            p = to_mem ? gmem_ptr_dma(addr, piece) : gmem_ptr(addr, piece);
            if (!p)
                return -EFAULT;
        }
        if (to_mem)
            written_add(bm, addr, piece);
        iov_add(bm, niov, p, piece);
        addr += piece;
        len -= piece;
    }
    return 0;
}

/* Walk the PRD table for `len` bytes (SFF-8038i 2.3: base, byte count with 0 = 64 KiB, EOT). */
static int bmdma_map(void *opaque, uint32_t len, bool to_mem, struct iovec **iov, int *niov,
                     bool *prd_end)
{
    struct bmdma *bm = opaque;
    uint32_t prd = bm->prd_addr;
    int n = 0;

    *prd_end = false;
    bm->nwritten = 0;
    if (to_mem != !!(bm->cmd & BM_CMD_TO_MEM)) {
        log_guest_error("ide%d: the bus master's direction does not match the command", bm->n);
        return -EFAULT;
    }
    for (unsigned i = 0; len; i++) {
        uint8_t e[8];
        uint32_t base, cnt, take;
        bool eot;

        if (i >= PRD_TABLE_LIMIT / 8)
            return -ENOSPC;
        if (gmem_read(prd + 8 * i, e, sizeof(e)) < 0)
            return -EFAULT;
        base = ldl_le(e) & ~1u;
        cnt = lduw_le(e + 4) & ~1u;
        if (!cnt)
            cnt = 0x10000;
        eot = lduw_le(e + 6) & PRD_EOT;
        take = MIN(cnt, len);
        if (map_guest(bm, &n, base, take, to_mem) < 0)
            return -EFAULT;
        len -= take;
        if (!len) {
            *prd_end = eot && take == cnt;
            break;
        }
        if (eot)
            return -ENOSPC;
    }
    *iov = bm->iov;
    *niov = n;
    return 0;
}

static void bmdma_ready(void *opaque)
{
    struct bmdma *bm = opaque;

    if (bm->cmd & BM_CMD_START)
        ide_dma_start(&bm->s->ch[bm->n]);
}

static void bmdma_done(void *opaque, bool error, bool prd_end)
{
    struct bmdma *bm = opaque;

    /* the data is in guest memory now (or as much as arrived, on an error) */
    for (int i = 0; i < bm->nwritten; i++)
        gmem_mark_dirty(bm->written[i].gpa, bm->written[i].len);
    bm->nwritten = 0;

    if (error)
        bm->status |= BM_ST_ERROR;
    /* the engine stays active when the table had room left over (SFF-8038i 3.1) */
    if (error || prd_end)
        bm->status &= ~BM_ST_ACTIVE;
}

static void bmdma_irq(void *opaque)
{
    ((struct bmdma *)opaque)->status |= BM_ST_IRQ;
}

static const struct ide_dma_ops piix_dma_ops = {
    .ready = bmdma_ready,
    .map = bmdma_map,
    .done = bmdma_done,
    .irq = bmdma_irq,
};

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
    struct piix_ide *s = opaque;
    struct bmdma *bm = &s->bm[off >> 3];
    unsigned reg = off & 7;

    switch (reg) {
    case BM_CMD:
        return bm->cmd;
    case BM_STATUS:
        return bm->status;
    case BM_PRD: case BM_PRD + 1: case BM_PRD + 2: case BM_PRD + 3:
        return bm->prd_addr >> (8 * (reg - BM_PRD));
    default:
        return 0;
    }
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct piix_ide *s = opaque;
    struct bmdma *bm = &s->bm[off >> 3];
    unsigned reg = off & 7, shift;
    uint8_t old;

    switch (reg) {
    case BM_CMD:
        old = bm->cmd;
        /* the direction may not change while the engine runs */
        if (bm->status & BM_ST_ACTIVE)
            val = (val & BM_CMD_START) | (old & BM_CMD_TO_MEM);
        bm->cmd = val & (BM_CMD_START | BM_CMD_TO_MEM);
        if (!(old & BM_CMD_START) && (val & BM_CMD_START)) {
            bm->status |= BM_ST_ACTIVE;
            ide_dma_start(&s->ch[bm->n]);
        } else if ((old & BM_CMD_START) && !(val & BM_CMD_START)) {
            bm->status &= ~BM_ST_ACTIVE;
            ide_dma_stop(&s->ch[bm->n]);
        }
        break;
    case BM_STATUS:
        bm->status = (bm->status & ~(val & (BM_ST_ERROR | BM_ST_IRQ)) & ~BM_ST_CAPABLE) |
                     (val & BM_ST_CAPABLE);
        break;
    case BM_PRD: case BM_PRD + 1: case BM_PRD + 2: case BM_PRD + 3:
        shift = 8 * (reg - BM_PRD);
        bm->prd_addr = ((bm->prd_addr & ~(0xffu << shift)) | ((uint32_t)(val & 0xff) << shift)) & ~3u;
        break;
    }
}

static const struct io_region_ops bm_ops = {
    .read = bm_read,
    .write = bm_write,
    .valid = { .min = 1, .max = 4 },
    .impl = { .min = 1, .max = 1 },
};

/* ---- legacy ports ---- */

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
    struct ide_channel *ch = opaque;
    uint32_t v = 0;

    if (off == 0)
        return ide_cmd_read(ch, 0, size == 4 ? 4 : 2);
    /* a wider access elsewhere reads consecutive registers */
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= ide_cmd_read(ch, off + i, 1) << (8 * i);
    return v;
}

static void cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ide_channel *ch = opaque;

    if (off == 0) {
        ide_cmd_write(ch, 0, val, size == 4 ? 4 : 2);
        return;
    }
    for (unsigned i = 0; i < size && off + i < 8; i++)
        ide_cmd_write(ch, off + i, (val >> (8 * i)) & 0xff, 1);
}

static const struct io_region_ops cmd_ops = {
    .read = cmd_read,
    .write = cmd_write,
    .valid = { .min = 1, .max = 4, .unaligned = true },
};

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    return ide_altstatus_read(opaque);
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    ide_devctl_write(opaque, val);
}

static const struct io_region_ops ctl_ops = {
    .read = ctl_read,
    .write = ctl_write,
    .impl = { .min = 1, .max = 1 },
};

/* The legacy ports decode while I/O space is on and the channel's IDETIM says so. */
static void piix_ide_update_decode(struct piix_ide *s)
{
    bool io = pci_get_word(s->pci.config + PCI_COMMAND) & PCI_COMMAND_IO;

    for (int c = 0; c < 2; c++) {
        bool on = io && (pci_get_word(s->pci.config + IDETIM + 2 * c) & IDETIM_DECODE);

        if (on && !s->cmd_io[c].mapped) {
            io_region_map(&s->cmd_io[c], cmd_ports[c]);
            io_region_map(&s->ctl_io[c], ctl_ports[c]);
        } else if (!on && s->cmd_io[c].mapped) {
            io_region_unmap(&s->cmd_io[c]);
            io_region_unmap(&s->ctl_io[c]);
        }
    }
}

static void piix_ide_config_write(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    if (off < PCI_COMMAND + 2 || (off < IDETIM + 4 && off + size > IDETIM))
        piix_ide_update_decode(container_of(d, struct piix_ide, pci));
}

static const struct pci_device_ops piix_ide_pci_ops = {
    .config_write = piix_ide_config_write,
};

/* ---- the function ---- */

bool piix_ide_drive(struct device *dev, int bus, int unit, bool *cdrom, struct block_dev **bd,
                    struct blockdev **blk)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);

    if (bus < 0 || bus > 1 || unit < 0 || unit > 1)
        return false;
    return ide_drive_info(&s->ch[bus], unit, cdrom, bd, blk);
}

static const struct pci_id piix_ide_id = {
    .vendor = 0x8086,
    .device = 0x7010,
    .class_code = 0x010180,     /* IDE, bus master capable, both channels in legacy mode */
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
};

static void piix_ide_reset(struct device *dev)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);

    pci_device_reset(&s->pci);
    piix_ide_update_decode(s);
    for (int c = 0; c < 2; c++) {
        s->bm[c].cmd = 0;
        s->bm[c].status = 0;
        s->bm[c].prd_addr = 0;
        ide_channel_reset(&s->ch[c]);
    }
}

static int piix_ide_realize(struct device *dev, char **err)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);
    int r;

    s->pci.devfn = -1;
    r = pci_device_register(&s->pci, "piix-ide", &piix_ide_id, PCI_DEVFN(1, 1), &piix_ide_pci_ops, err);
    if (r < 0)
        return r;
    pci_config_set_wmask(&s->pci, IDETIM, 8, 0xff);
    for (int c = 0; c < 2; c++) {
        s->bm[c].s = s;
        s->bm[c].n = c;
        ide_channel_init(&s->ch[c], channel_names[c], isa_get_irq(legacy_irqs[c]), &piix_dma_ops,
                         &s->bm[c]);
        io_region_init(&s->cmd_io[c], IO_SPACE_PIO, channel_names[c], 8, &cmd_ops, &s->ch[c]);
        io_region_init(&s->ctl_io[c], IO_SPACE_PIO, channel_names[c], 1, &ctl_ops, &s->ch[c]);
    }
    io_region_init(&s->bm_io, IO_SPACE_PIO, "piix-ide-bmdma", 16, &bm_ops, s);
    pci_register_bar(&s->pci, 4, PCI_BAR_IO, &s->bm_io);
    for (int c = 0; c < 2; c++) {
        char path[64];

        snprintf(path, sizeof(path), "/pci@i0cf8/ide@%x,%x/drive@%x", PCI_SLOT(s->pci.devfn),
                 PCI_FUNC(s->pci.devfn), c);
        ide_bus_register(&s->bus[c], c, dev, &s->ch[c], path);
    }
    piix_ide_reset(dev);
    return 0;
}

static void piix_ide_drain(struct device *dev)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);

    for (int c = 0; c < 2; c++)
        ide_channel_drain(&s->ch[c]);
}

static void piix_ide_unrealize(struct device *dev)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);

    for (int c = 0; c < 2; c++) {
        bus_unregister(&s->bus[c].bus);
        ide_channel_cleanup(&s->ch[c]);
        io_region_unmap(&s->cmd_io[c]);
        io_region_unmap(&s->ctl_io[c]);
        free(s->bm[c].iov);
        free(s->bm[c].written);
    }
    pci_device_unregister(&s->pci);
}

static void piix_ide_state_loaded(struct device *dev)
{
    struct piix_ide *s = container_of(dev, struct piix_ide, dev);

    pci_device_state_loaded(&s->pci);
    piix_ide_update_decode(s);
    for (int c = 0; c < 2; c++)
        ide_channel_state_loaded(&s->ch[c]);
}

static const struct vmstate_field bmdma_fields[] = {
    VMSTATE_U8_MAX(cmd, struct bmdma, BM_CMD_START | BM_CMD_TO_MEM),
    VMSTATE_U8_MAX(status, struct bmdma, 0x67),
    VMSTATE_U32(prd_addr, struct bmdma),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc bmdma_vmsd = {
    .name = "bmdma",
    .version = 1,
    .min_version = 1,
    .fields = bmdma_fields,
};

static const struct vmstate_field piix_ide_fields[] = {
    VMSTATE_STRUCT(pci, struct piix_ide, pci_device_vmsd, struct pci_device),
    VMSTATE_STRUCT_ARRAY(ch, struct piix_ide, 2, ide_channel_vmsd, struct ide_channel),
    VMSTATE_STRUCT_ARRAY(bm, struct piix_ide, 2, bmdma_vmsd, struct bmdma),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc piix_ide_vmsd = {
    .name = "piix-ide",
    .version = 1,
    .min_version = 1,
    .fields = piix_ide_fields,
};

static struct device_type piix_ide_type = {
    .name = "piix3-ide",
    .desc = "Intel PIIX3 IDE controller (two channels, bus master DMA)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct piix_ide),
    .realize = piix_ide_realize,
    .reset = piix_ide_reset,
    .drain = piix_ide_drain,
    .unrealize = piix_ide_unrealize,
    .vmsd = &piix_ide_vmsd,
    .state_loaded = piix_ide_state_loaded,
};
DEVICE_TYPE_REGISTER(piix_ide_type)
