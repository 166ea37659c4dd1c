/* i440fx.c: the 82441FX host bridge at 00.0: configuration mechanism #1, PAM shadow RAM and the SMRAM window (82441FX PMC datasheet) */
#define LOG_PREFIX "i440fx: "
#include "hw/pc/i440fx.h"
#include "hw/core/guest-mem.h"
#include "hw/core/machine.h"
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "util/log.h"

#define CONF1_ADDR_PORT     0xcf8
#define CONF1_DATA_PORT     0xcfc
#define CONF1_ENABLE        0x80000000u

/* 0xc0000-0xeffff in twelve 16 KiB pieces (PAM1-PAM6, two nibbles each), 0xf0000-0xfffff (PAM0) */
#define PAM_SEGS            13
#define ISA_BIOS_BASE       0xe0000ULL
#define SMRAM_BASE          0xa0000ULL
#define SMRAM_SIZE          0x20000ULL

struct pam_seg {
    uint8_t mode;               /* the attribute mapped now; 0xff before the first mapping */
    struct io_region wo;        /* write-only: reads go to PCI, writes to DRAM */
};

struct i440fx {
    struct device dev;
    struct pci_device pci;
    struct io_region conf_addr_io, conf_data_io;
    uint32_t conf_addr;
    struct ram_region *isa_bios;    /* its last 128 KiB answer at 0xe0000 while PAM sends it to PCI */
    uint64_t isa_bios_off;
    struct pam_seg seg[PAM_SEGS];
    struct ram_mapping *pam[PAM_SEGS];  /* the slots mapped now, one per run of an attribute */
    int npam;
    struct ram_mapping *smram_block;
};
PCI_DEVICE_CHECK(struct i440fx);

static struct i440fx *the_i440fx;

static uint64_t seg_base(int i)
{
    return i < 12 ? 0xc0000 + 0x4000ULL * i : 0xf0000;
}

static uint64_t seg_size(int i)
{
    return i < 12 ? 0x4000 : 0x10000;
}

static unsigned seg_attr(const struct i440fx *s, int i)
{
    if (i == 12)
        return (s->pci.config[I440FX_PAM0] >> 4) & PAM_RW;
    return (s->pci.config[I440FX_PAM0 + 1 + i / 2] >> (4 * (i % 2))) & PAM_RW;
}

/* What PCI answers in a segment: the ISA BIOS alias for 0xe0000-0xfffff (its offset in the BIOS
 * region in *off), else nothing. */
static struct ram_region *seg_pci_side(const struct i440fx *s, int i, uint64_t *off)
{
    uint64_t base = seg_base(i);

    if (base < ISA_BIOS_BASE || !s->isa_bios)
        return NULL;
    *off = s->isa_bios_off + (base - ISA_BIOS_BASE);
    return s->isa_bios;
}

static uint64_t pam_wo_read(void *opaque, uint64_t off, unsigned size)
{
    struct pam_seg *g = opaque;
    struct i440fx *s = the_i440fx;
    uint64_t roff, v = ~0ULL;
    struct ram_region *rom = seg_pci_side(s, g - s->seg, &roff);

    if (rom)
        memcpy(&v, rom->hva + roff + off, size);
    return v;
}

static void pam_wo_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pam_seg *g = opaque;
    struct i440fx *s = the_i440fx;
    uint64_t gpa = seg_base(g - s->seg) + off;

    /* the shadow copy lands in RAM, marked like every other write to it */
    ram_region_write(machine_ram.region, gpa, &val, size);
}

static const struct io_region_ops pam_wo_ops = {
    .read = pam_wo_read,
    .write = pam_wo_write,
    .valid = { .unaligned = true },
    .impl = { .min = 1, .max = 1 },
};

/*
 * Map 0xc0000-0xfffff as the PAM registers say. Neighbouring pieces with the same attribute
 * share one accelerator slot: every slot change costs the accelerator a flush of its
 * shadow mappings, and firmware flips all thirteen pieces at once.
 */
static void i440fx_update_pam(struct i440fx *s, bool force)
{
    uint8_t want[PAM_SEGS];
    bool same = !force;
    int r = 0;

    for (int i = 0; i < PAM_SEGS; i++) {
        want[i] = seg_attr(s, i);
        same &= want[i] == s->seg[i].mode;
    }
    if (same)
        return;
    for (int k = 0; k < s->npam; k++)
        gmem_unmap(s->pam[k]);
    s->npam = 0;
    for (int i = 0; i < PAM_SEGS; i++)
        io_region_unmap(&s->seg[i].wo);
    for (int i = 0, j; i < PAM_SEGS; i = j) {
        uint64_t base = seg_base(i), size, roff = 0;
        struct ram_region *rom;

        /* a run of one attribute; "to PCI" changes from nothing to the BIOS alias at 0xe0000 */
        for (j = i + 1; j < PAM_SEGS && want[j] == want[i] &&
                        !(want[i] == 0 && seg_base(j) == ISA_BIOS_BASE); j++)
            ;
        size = seg_base(j - 1) + seg_size(j - 1) - base;
        switch (want[i]) {
        case PAM_RW:
        case PAM_RE:
            /* read-only DRAM: the accelerator sends writes to us, and nothing claims them */
            r = gmem_map(machine_ram.region, base, base, size, want[i] == PAM_RE, "pam", &s->pam[s->npam]);
            break;
        case PAM_WE:
            for (int k = i; k < j; k++)
                r |= io_region_map(&s->seg[k].wo, seg_base(k));
            break;
        default:
            rom = seg_pci_side(s, i, &roff);
            if (rom)
                r = gmem_map(rom, roff, base, size, true, "pam-rom", &s->pam[s->npam]);
            break;
        }
        if (r < 0)
            log_error("cannot map 0x%" PRIx64 "-0x%" PRIx64 " as PAM asks (%u): %s", base,
                      base + size - 1, want[i], strerror(-r));
        else if (want[i] != PAM_WE && (want[i] != 0 || seg_pci_side(s, i, &roff)))
            s->npam++;
    }
    for (int i = 0; i < PAM_SEGS; i++)
        s->seg[i].mode = want[i];
}

/* SMRAM open shows DRAM in the VGA window 0xa0000-0xbffff (what is there otherwise is PCI's). */
static void smram_update(struct i440fx *s)
{
    bool open = s->pci.config[I440FX_SMRAM] & SMRAM_D_OPEN;
    int r;

    if (open == !!s->smram_block)
        return;
    if (!open) {
        gmem_unmap(s->smram_block);
        s->smram_block = NULL;
        return;
    }
    r = gmem_map(machine_ram.region, SMRAM_BASE, SMRAM_BASE, SMRAM_SIZE, false, "smram", &s->smram_block);
    if (r < 0)
        log_error("cannot open SMRAM: %s", strerror(-r));
}

static void i440fx_update_memory(struct i440fx *s, bool force)
{
    i440fx_update_pam(s, force);
    smram_update(s);
}

/* Once D_LCK is set, D_OPEN is cleared and only D_CLS stays writable until reset (3.2.26). */
static void smram_apply_lock(struct i440fx *s)
{
    if (s->pci.config[I440FX_SMRAM] & SMRAM_D_LCK) {
        s->pci.config[I440FX_SMRAM] &= ~SMRAM_D_OPEN;
        s->pci.wmask[I440FX_SMRAM] = SMRAM_D_CLS;
    } else {
        s->pci.wmask[I440FX_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
    }
}

static void i440fx_config_write(struct pci_device *d, unsigned off, uint32_t val, unsigned size)
{
    struct i440fx *s = container_of(d, struct i440fx, pci);

    if (off <= I440FX_SMRAM && off + size > I440FX_SMRAM)
        smram_apply_lock(s);
    if ((off < I440FX_PAM0 + I440FX_PAM_COUNT && off + size > I440FX_PAM0) ||
        (off <= I440FX_SMRAM && off + size > I440FX_SMRAM))
        i440fx_update_memory(s, false);
}

static const struct pci_device_ops i440fx_pci_ops = {
    .config_write = i440fx_config_write,
};

void i440fx_set_isa_bios(struct device *dev, struct ram_region *bios, uint64_t offset)
{
    struct i440fx *s = container_of(dev, struct i440fx, dev);

    s->isa_bios = bios;
    s->isa_bios_off = offset;
    i440fx_update_pam(s, true);
}

/* ---- configuration mechanism #1 (PCI 3.0 section 3.2.2.3.2) ---- */

static uint64_t conf_addr_read(void *opaque, uint64_t off, unsigned size)
{
    struct i440fx *s = opaque;

    return s->conf_addr >> (8 * off);
}

static void conf_addr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i440fx *s = opaque;

    /* only a dword write at 0xcf8 is the address register; narrower ones are other I/O */
    if (off == 0 && size == 4)
        s->conf_addr = val & 0x80fffffc;
}

static const struct io_region_ops conf_addr_ops = {
    .read = conf_addr_read,
    .write = conf_addr_write,
    .valid = { .min = 1, .max = 4 },
};

static bool conf_target(const struct i440fx *s, int *devfn, unsigned *reg)
{
    if (!(s->conf_addr & CONF1_ENABLE) || ((s->conf_addr >> 16) & 0xff) != 0)
        return false;
    *devfn = (s->conf_addr >> 8) & 0xff;
    *reg = s->conf_addr & 0xfc;
    return true;
}

static uint64_t conf_data_read(void *opaque, uint64_t off, unsigned size)
{
    struct i440fx *s = opaque;
    unsigned reg;
    int devfn;

    if (!conf_target(s, &devfn, &reg))
        return ~0ULL;
    return pci_config_read(devfn, reg + off, size);
}

static void conf_data_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i440fx *s = opaque;
    unsigned reg;
    int devfn;

    if (conf_target(s, &devfn, &reg))
        pci_config_write(devfn, reg + off, val, size);
}

static const struct io_region_ops conf_data_ops = {
    .read = conf_data_read,
    .write = conf_data_write,
    .valid = { .min = 1, .max = 4 },
};

/* ---- life cycle ---- */

static const struct pci_id i440fx_id = {
    .vendor = 0x8086,
    .device = 0x1237,
    .revision = 0x02,
    .class_code = 0x060000,     /* host bridge */
    /* what SeaBIOS checks to know it runs on QEMU's board and may use fw_cfg */
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
};

static void i440fx_reset(struct device *dev)
{
    struct i440fx *s = container_of(dev, struct i440fx, dev);

    s->conf_addr = 0;
    s->pci.wmask[I440FX_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
    pci_device_reset(&s->pci);
    /* PAM all zero: 0xc0000-0xfffff goes to PCI, so the CPU starts in the BIOS ROM */
    i440fx_update_memory(s, false);
}

static int i440fx_realize(struct device *dev, char **err)
{
    struct i440fx *s = container_of(dev, struct i440fx, dev);
    int r;

    if (the_i440fx) {
        *err = xstrdup("i440fx: the board has one host bridge already");
        return -EEXIST;
    }
    s->pci.devfn = -1;
    r = pci_device_register(&s->pci, "i440fx", &i440fx_id, PCI_DEVFN(0, 0), &i440fx_pci_ops, err);
    if (r < 0)
        return r;
    the_i440fx = s;
    pci_config_set_wmask(&s->pci, I440FX_PAM0, 1, 0x30);
    pci_config_set_wmask(&s->pci, I440FX_PAM0 + 1, I440FX_PAM_COUNT - 1, 0x33);
    s->pci.config[I440FX_SMRAM] = SMRAM_C_BASE_SEG;
    for (int i = 0; i < PAM_SEGS; i++) {
        struct pam_seg *g = &s->seg[i];

        g->mode = 0xff;
        io_region_init(&g->wo, IO_SPACE_MMIO, "pam-write-only", seg_size(i), &pam_wo_ops, g);
    }
    if ((r = io_region_add(&s->conf_addr_io, IO_SPACE_PIO, "pci-conf-addr", CONF1_ADDR_PORT, 4,
                           &conf_addr_ops, s)) < 0 ||
        (r = io_region_add(&s->conf_data_io, IO_SPACE_PIO, "pci-conf-data", CONF1_DATA_PORT, 4,
                           &conf_data_ops, s)) < 0)
        goto fail;
    i440fx_reset(dev);
    return 0;
fail:
    pci_device_unregister(&s->pci);
    the_i440fx = NULL;
    return r;
}

static void i440fx_unrealize(struct device *dev)
{
    struct i440fx *s = container_of(dev, struct i440fx, dev);

    io_region_unmap(&s->conf_addr_io);
    io_region_unmap(&s->conf_data_io);
    for (int k = 0; k < s->npam; k++)
        gmem_unmap(s->pam[k]);
    for (int i = 0; i < PAM_SEGS; i++)
        io_region_unmap(&s->seg[i].wo);
    gmem_unmap(s->smram_block);
    pci_device_unregister(&s->pci);
    the_i440fx = NULL;
}

static void i440fx_state_loaded(struct device *dev)
{
    struct i440fx *s = container_of(dev, struct i440fx, dev);

    smram_apply_lock(s);
    pci_device_state_loaded(&s->pci);
    i440fx_update_memory(s, false);
}

static const struct vmstate_field i440fx_fields[] = {
    VMSTATE_STRUCT(pci, struct i440fx, pci_device_vmsd, struct pci_device),
    VMSTATE_U32(conf_addr, struct i440fx),
    VMSTATE_END_OF_LIST,
};

static int i440fx_post_load(void *opaque, int version)
{
    struct i440fx *s = opaque;

    /* the C_BASE_SEG bits are hard-wired; a stream without them did not come from us */
    if ((s->pci.config[I440FX_SMRAM] & 7) != SMRAM_C_BASE_SEG || (s->conf_addr & 0x7f000003))
        return -EINVAL;
    return 0;
}

static const struct vmstate_desc i440fx_vmsd = {
    .name = "i440fx",
    .version = 1,
    .min_version = 1,
    .fields = i440fx_fields,
    .post_load = i440fx_post_load,
};

static struct device_type i440fx_type = {
    .name = "i440fx",
    .desc = "Intel 82441FX host bridge (PAM, SMRAM, PCI configuration)",
    .bus = BUS_PCI,
    .instance_size = sizeof(struct i440fx),
    .realize = i440fx_realize,
    .reset = i440fx_reset,
    .unrealize = i440fx_unrealize,
    .vmsd = &i440fx_vmsd,
    .state_loaded = i440fx_state_loaded,
};
DEVICE_TYPE_REGISTER(i440fx_type)
