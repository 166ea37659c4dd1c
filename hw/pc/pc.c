/* pc.c: the PC board: guest RAM around the PCI hole, GSIs, i440FX/PIIX and the ISA system devices, firmware or direct kernel boot, reset */
#define LOG_PREFIX "pc: "
#include "hw/pc/pc.h"
#include "hw/core/bus.h"
#include "chardev/chardev.h"
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "hw/core/firmware.h"
#include "hw/pc/fw_cfg.h"
#include "hw/core/guest-mem.h"
#include "hw/pc/i440fx.h"
#include "hw/isa/isa.h"
#include "hw/core/machine.h"
#include "hw/pci/pci.h"
#include "hw/pc/piix.h"
#include "hw/ide/piix-ide.h"
#include "hw/isa/rtc.h"
#include "hw/display/vga.h"
#include "target-x86/acpi-build.h"
#include "target-x86/boot.h"
#include "target-x86/cpu.h"
#include "target-x86/kvm.h"
#include "target-x86/smbios.h"
#include "util/log.h"

#include <sys/mman.h>
#include <unistd.h>

/* Like QEMU's i440FX: RAM of 3.5 GiB or more leaves 3 GiB below the PCI hole. */
#define LOWMEM_SPLIT 0xe0000000ULL
#define LOWMEM_MAX 0xc0000000ULL

static const uint16_t serial_iobase[PC_MAX_SERIAL] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const uint8_t serial_irq[PC_MAX_SERIAL] = { 4, 3, 4, 3 };

/* Where firmware would put PCI resources, for a direct boot without firmware */
#define PC_PCI_IO_BASE 0xc000
#define PC_PCI_MEM_LIMIT 0xfec00000u
/* SeaBIOS's PIRQ[A-D] routing (src/fw/pciinit.c), which we copy so both boots look alike */
static const uint8_t pc_pirq_irqs[4] = { 10, 10, 11, 11 };

static struct {
    struct bus pci_bus, isa_bus;
    struct irq gsi[PC_NUM_GSIS];
    struct device *rtc;
    struct device *acpi_pm;
    struct device *i440fx;
    struct device *fw_cfg;
    struct device *vga;
    struct device *ide;
    struct block_dev *ide_bd[PC_MAX_IDE];
    struct pc_options opts;
    struct e820_table e820;
    uint32_t apic_ids[1024];
    char *cache_dir;
    uint8_t *bios;              /* the firmware ROM, mapped below 4 GiB */
    uint64_t bios_size;
    bool booted;                /* a kernel was loaded once: RAM is no longer all zeros */
} pc;

#define PC_BIOS_DEFAULT "bios-256k.bin"
#define PC_LINUXBOOT_ROM "linuxboot_dma.bin"    /* QEMU's, from Debian's qemu-system-data */
#define PC_BIOS_MAX (16 * MiB)
#define PC_ISA_BIOS_SIZE 0x20000ULL

/* -kernel without -bios: skiff loads the kernel and does what firmware would have done */
static bool pc_direct_boot(void)
{
    return machine_cfg.kernel && !machine_cfg.bios;
}

/* -kernel with -bios: the firmware boots the kernel through fw_cfg and an option ROM */
static bool pc_kernel_by_firmware(void)
{
    return machine_cfg.kernel && machine_cfg.bios;
}

/* The test accelerator runs no CPU; it maps firmware only when a test names it. */
static bool pc_firmware_wanted(void)
{
    return !pc_direct_boot() && (!machine_cfg.qtest || machine_cfg.bios);
}

struct irq *pc_get_gsi(int n)
{
    return n >= 0 && n < PC_NUM_GSIS ? &pc.gsi[n] : NULL;
}

struct irq *isa_get_irq(int n)
{
    return n >= 0 && n < ISA_NUM_IRQS ? &pc.gsi[n] : NULL;
}

struct device *pc_acpi_pm(void)
{
    return pc.acpi_pm;
}

bool pc_ide_drive(int index, bool *cdrom, struct block_dev **bd)
{
    if (index < 0 || index >= PC_MAX_IDE || !pc.opts.ide[index].present || !pc.ide)
        return false;
    *cdrom = pc.opts.ide[index].cdrom;
    *bd = pc.ide_bd[index];
    return true;
}

int pc_cd_change(int index, const char *file, const char *format, bool force, char **err)
{
    struct block_open_opts o = { .read_only = true, .format = format };
    struct block_dev *bd = NULL;
    int r;

    if (index < 0 || index >= PC_MAX_IDE || !pc.opts.ide[index].present || !pc.ide) {
        *err = xstrdup("no such drive");
        return -ENODEV;
    }
    if (file && (r = block_open(&bd, file, &o, err)) < 0)
        return r;
    r = piix_ide_change_medium(pc.ide, index / 2, index % 2, bd, force, err);
    if (r < 0) {
        block_close(bd);
        return r;
    }
    block_close(pc.ide_bd[index]);
    pc.ide_bd[index] = bd;
    return 0;
}

bool pc_cd_tray(int index, bool *locked, bool *open)
{
    if (index < 0 || index >= PC_MAX_IDE || !pc.opts.ide[index].present || !pc.ide)
        return false;
    return piix_ide_tray(pc.ide, index / 2, index % 2, locked, open);
}

struct device *pc_rtc(void)
{
    return pc.rtc;
}

struct device *pc_vga(void)
{
    return pc.vga;
}

static void pc_gsi_handler(void *opaque, int n, int level)
{
    if (accel && accel->gsi_set)
        accel->gsi_set(n, level);
}

static void pc_init_ram(void)
{
    uint64_t size = machine_cfg.ram_size, below, above;
    uint8_t *hva;
    int fd, r;

    below = size >= LOWMEM_SPLIT ? LOWMEM_MAX : size;
    above = size - below;
    r = gmem_alloc("skiff-ram", size, &hva, &fd);
    if (r < 0)
        die("cannot allocate %" PRIu64 " MiB of guest RAM: %s; try a smaller -m",
            size / MiB, strerror(-r));
    machine_ram.hva = hva;
    machine_ram.fd = fd;
    machine_ram.size = size;
    machine_ram.below_4g = below;
    machine_ram.above_4g = above;
    /*
     * Below 1 MiB the legacy VGA window (0xa0000-0xbffff) is not RAM, and what the CPU sees
     * at 0xc0000-0xfffff is up to the i440FX's PAM registers.
     */
    r = gmem_map_block("ram-low", 0, 0xa0000, hva, fd, 0, false, NULL);
    if (r == 0)
        r = gmem_map_block("ram-below-4g", 0x100000, below - 0x100000, hva + 0x100000, fd,
                           0x100000, false, NULL);
    if (r == 0 && above)
        r = gmem_map_block("ram-above-4g", 4 * GiB, above, hva + below, fd, below, false, NULL);
    if (r < 0)
        die("cannot give guest RAM to the accelerator: %s", strerror(-r));
}

static void pc_set_cmos_memory(void)
{
    uint64_t below = machine_ram.below_4g, above = machine_ram.above_4g;
    uint64_t ext = below > 1 * MiB ? MIN(below - 1 * MiB, 63 * MiB) / KiB : 0;
    uint64_t hi = below > 16 * MiB ? MIN((below - 16 * MiB) / (64 * KiB), 0xffffULL) : 0;
    uint64_t over = above / (64 * KiB);

    /* the layout SeaBIOS and QEMU use (SeaBIOS src/fw/paravirt.c, qemu hw/i386/pc.c) */
    rtc_set_cmos(pc.rtc, 0x15, 640 & 0xff);     /* base memory in KiB */
    rtc_set_cmos(pc.rtc, 0x16, 640 >> 8);
    rtc_set_cmos(pc.rtc, 0x17, ext & 0xff);     /* extended memory 1-64 MiB in KiB */
    rtc_set_cmos(pc.rtc, 0x18, ext >> 8);
    rtc_set_cmos(pc.rtc, 0x30, ext & 0xff);
    rtc_set_cmos(pc.rtc, 0x31, ext >> 8);
    rtc_set_cmos(pc.rtc, 0x34, hi & 0xff);      /* memory 16 MiB-4 GiB in 64 KiB units */
    rtc_set_cmos(pc.rtc, 0x35, hi >> 8);
    rtc_set_cmos(pc.rtc, 0x5b, over & 0xff);    /* memory above 4 GiB in 64 KiB units */
    rtc_set_cmos(pc.rtc, 0x5c, (over >> 8) & 0xff);
    rtc_set_cmos(pc.rtc, 0x5d, (over >> 16) & 0xff);
    rtc_set_cmos(pc.rtc, 0x5f, machine_cfg.topo.cpus - 1);
    rtc_set_cmos(pc.rtc, 0x14, 0x06);           /* equipment: VGA, FPU */
}

/*
 * The BIOS ROM at the top of 4 GiB, as the CPU's reset vector finds it; its last 128 KiB
 * also answer at 0xe0000 while the i440FX's PAM registers leave that range to PCI.
 */
static void pc_load_firmware(void)
{
    const char *name = machine_cfg.bios ? machine_cfg.bios : PC_BIOS_DEFAULT;
    uint8_t *img, *rom;
    size_t len;
    char *err = NULL;
    int r;

    if (firmware_load("firmware", name, &img, &len, &err) < 0)
        die("%s", err);
    if (len < 4 * KiB || len > PC_BIOS_MAX)
        die("firmware '%s' is %zu bytes; a PC BIOS image is 4 KiB to 16 MiB", name, len);
    pc.bios_size = MAX(ALIGN_UP((uint64_t)len, GUEST_PAGE_SIZE), PC_ISA_BIOS_SIZE);
    rom = mmap(NULL, pc.bios_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rom == MAP_FAILED)
        die("cannot allocate %" PRIu64 " bytes for the firmware: %s", pc.bios_size, strerror(errno));
    /* the image ends at 4 GiB, where the reset vector is */
    memset(rom, 0xff, pc.bios_size - len);
    memcpy(rom + pc.bios_size - len, img, len);
    free(img);
    pc.bios = rom;
    r = gmem_map_block("bios", 4 * GiB - pc.bios_size, pc.bios_size, rom, -1, 0, true, NULL);
    if (r < 0)
        die("cannot map the firmware: %s", strerror(-r));
    i440fx_set_isa_bios(pc.i440fx, rom + pc.bios_size - PC_ISA_BIOS_SIZE);
}

/* The 8259's edge/level control registers, as firmware sets them for the PCI interrupts. */
static void pc_set_elcr(const uint8_t irqs[4])
{
    uint16_t elcr = 0;

    for (int i = 0; i < 4; i++)
        elcr |= 1u << irqs[i];
    for (int chip = 0; chip < 2; chip++) {
        struct kvm_irqchip c = { .chip_id = chip };
        int r = kvm_vm_ioctl(KVM_GET_IRQCHIP, &c);

        if (r == 0) {
            c.chip.pic.elcr = chip ? elcr >> 8 : elcr & 0xf8;
            r = kvm_vm_ioctl(KVM_SET_IRQCHIP, &c);
        }
        if (r < 0)
            log_warn("cannot set the PIC's edge/level control: %s", strerror(-r));
    }
}

/* What SeaBIOS learns from fw_cfg that does not change while the machine lives. */
static void pc_fw_cfg_init(void)
{
    struct device *f = pc.fw_cfg;
    struct e820_entry e820[3];
    int n = 0;
    uint8_t uuid[16];

    smbios_get_uuid(uuid);
    fw_cfg_add_bytes(f, FW_CFG_UUID, uuid, sizeof(uuid));
    fw_cfg_add_i64(f, FW_CFG_RAM_SIZE, machine_ram.size);
    fw_cfg_add_i16(f, FW_CFG_NOGRAPHIC, pc.opts.nographic);
    fw_cfg_add_i16(f, FW_CFG_NB_CPUS, machine_cfg.topo.cpus);
    fw_cfg_add_i16(f, FW_CFG_MAX_CPUS, machine_cfg.topo.cpus);
    fw_cfg_add_i16(f, FW_CFG_BOOT_MENU, pc.opts.boot_menu);
    /* the timer's ISA IRQ 0 arrives at IOAPIC pin 2, as our MADT says */
    fw_cfg_add_bytes(f, FW_CFG_IRQ0_OVERRIDE, (uint8_t[]){ 1 }, 1);
    {
        uint8_t b[2];

        stw_le(b, machine_cfg.topo.cpus);
        fw_cfg_add_file(f, "etc/boot-cpus", b, sizeof(b), false);
    }
    /* RAM and the pages KVM keeps for real-mode emulation (fw_cfg's "etc/e820" layout) */
    e820[n++] = (struct e820_entry){ 0, machine_ram.below_4g, E820_RAM };
    if (machine_ram.above_4g)
        e820[n++] = (struct e820_entry){ 4 * GiB, machine_ram.above_4g, E820_RAM };
    e820[n++] = (struct e820_entry){ 0xfeffc000, 0x4000, E820_RESERVED };
    fw_cfg_add_file(f, "etc/e820", e820, n * sizeof(e820[0]), false);
    if (pc.opts.nographic && pc.opts.serial[0]) {
        /* like QEMU's -nographic: SeaBIOS and its VGA text output go to COM1 too */
        uint8_t b[2];

        stw_le(b, 0x3f8);
        fw_cfg_add_file(f, "etc/sercon-port", b, sizeof(b), false);
    }
    if (pc.opts.boot_menu_wait >= 0) {
        uint8_t b[2];

        stw_le(b, pc.opts.boot_menu_wait);
        fw_cfg_add_file(f, "etc/boot-menu-wait", b, sizeof(b), false);
    }
    if (pc.opts.boot_fail_wait >= 0) {
        uint8_t b[4];

        stl_le(b, pc.opts.boot_fail_wait);
        fw_cfg_add_file(f, "etc/boot-fail-wait", b, sizeof(b), false);
    }
}

/* The SMBIOS tables (what dmidecode shows) of this machine */
static void pc_smbios_build(struct smbios_tables *t)
{
    struct smbios_config c = {
        .topo = &machine_cfg.topo,
        .ram_below_4g = machine_ram.below_4g,
        .ram_above_4g = machine_ram.above_4g,
    };

    if (kvm.supported_cpuid)
        cpuid_signature(kvm.supported_cpuid, &machine_cfg.topo, &c.cpuid_signature,
                        &c.cpuid_features);
    smbios_build(t, &c);
}

/* The SMBIOS tables, for the firmware to publish: SeaBIOS builds its own without them, which
 * takes it 0.2 s under a software KVM (kvm_pvm): a fifteenth of its whole boot. */
static void pc_fw_cfg_smbios(void)
{
    struct smbios_tables t;

    pc_smbios_build(&t);
    fw_cfg_add_file(pc.fw_cfg, "etc/smbios/smbios-anchor", t.anchor, sizeof(t.anchor), false);
    fw_cfg_add_file(pc.fw_cfg, "etc/smbios/smbios-tables", t.data, t.len, false);
    smbios_tables_free(&t);
}

/* The ACPI tables, for the firmware to place through the table-loader. */
static void pc_fw_cfg_acpi(const struct acpi_config *ac)
{
    struct acpi_tables t;
    uint8_t *loader;
    size_t len;

    acpi_build(&t, ac);
    for (int b = 0; b < ACPI_BLOB_MAX; b++)
        fw_cfg_add_file(pc.fw_cfg, acpi_blob_file[b], t.data[b], t.len[b], false);
    acpi_table_loader(&t, &loader, &len);
    fw_cfg_add_file(pc.fw_cfg, ACPI_FILE_LOADER, loader, len, false);
    free(loader);
    acpi_tables_free(&t);
}

/* One part of the kernel: where it goes, its size, its bytes (fw_cfg.rst's legacy items) */
static void pc_fw_cfg_kernel_part(uint16_t addr_key, uint16_t size_key, uint16_t data_key,
                                  const struct fw_kernel_part *p)
{
    fw_cfg_add_i32(pc.fw_cfg, addr_key, p->addr);
    fw_cfg_add_i32(pc.fw_cfg, size_key, p->len);
    fw_cfg_add_bytes(pc.fw_cfg, data_key, p->data, p->len);
}

/*
 * -kernel with firmware: the kernel's parts in fw_cfg's kernel items (fw_cfg.rst), and the
 * option ROM that copies them into place and enters the kernel, as a file under genroms/
 * that SeaBIOS runs as it runs QEMU's.
 */
static void pc_fw_cfg_kernel(void)
{
    struct boot_request req = {
        .kernel = machine_cfg.kernel,
        .initrd = machine_cfg.initrd,
        .cmdline = machine_cfg.append,
        .ram_below_4g = machine_ram.below_4g,
    };
    struct device *f = pc.fw_cfg;
    struct fw_kernel fk;
    uint8_t *rom, *img;
    size_t len;
    char *err = NULL;
    int r;

    if (boot_read_file("kernel", req.kernel, &img, &len, &err) < 0)
        die("%s", err);
    r = bzimage_for_firmware(&req, img, len, &fk, &err);
    free(img);
    if (r < 0)
        die("%s", err);
    pc_fw_cfg_kernel_part(FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA, &fk.setup);
    pc_fw_cfg_kernel_part(FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA, &fk.kernel);
    pc_fw_cfg_kernel_part(FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA, &fk.initrd);
    pc_fw_cfg_kernel_part(FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE, FW_CFG_CMDLINE_DATA, &fk.cmdline);
    fw_kernel_free(&fk);
    if (firmware_load("Linux loader option ROM", PC_LINUXBOOT_ROM, &rom, &len, &err) < 0)
        die("%s", err);
    if (fw_cfg_add_file(f, "genroms/" PC_LINUXBOOT_ROM, rom, len, false) < 0)
        die("cannot add the Linux loader option ROM to fw_cfg");
    free(rom);
}

#define PC_MAX_BOOT_DEVICES 3

/* The geometry a BIOS sees for a disk: QEMU's guess for a blank disk (16 heads, 63 sectors). */
static void pc_disk_chs(uint64_t sectors, unsigned *cyls, unsigned *heads, unsigned *secs)
{
    uint64_t c = sectors / (16 * 63);

    *cyls = c > 16383 ? 16383 : c < 2 ? 2 : c;
    *heads = 16;
    *secs = 63;
}

/* Open the -drive images and put them on the IDE channels. */
static void pc_init_ide(void)
{
    pc.ide = device_create_simple("piix3-ide", NULL);
    for (int i = 0; i < PC_MAX_IDE; i++) {
        const struct pc_drive *dr = &pc.opts.ide[i];
        struct block_dev *bd = NULL;
        char *err = NULL;

        if (!dr->present)
            continue;
        if (dr->file && block_open(&bd, dr->file, &dr->open, &err) < 0)
            die("%s", err);
        pc.ide_bd[i] = bd;
        if (piix_ide_attach(pc.ide, i / 2, i % 2, bd, dr->cdrom, &err) < 0)
            die("%s", err);
        piix_ide_set_ident(pc.ide, i / 2, i % 2, dr->serial, dr->model);
    }
}

/*
 * What SeaBIOS reads of the disks from the CMOS, in QEMU's layout: the drive types 47
 * (user defined) at 0x12/0x19/0x1a with the geometry at 0x1b and 0x24, and each drive's
 * BIOS translation (0 none, 1 LBA) in two bits of 0x39.
 */
static void pc_set_cmos_disks(void)
{
    uint8_t types = 0, trans = 0;

    for (int i = 0; i < PC_MAX_IDE; i++) {
        unsigned cyls, heads, secs;

        if (!pc.ide_bd[i] || pc.opts.ide[i].cdrom)
            continue;
        pc_disk_chs(block_size(pc.ide_bd[i]) / 512, &cyls, &heads, &secs);
        if (cyls > 1024 || heads > 16 || secs > 63)
            trans |= 1 << (2 * i);
        if (i < 2) {
            unsigned info = i ? 0x24 : 0x1b;

            types |= i ? 0x0f : 0xf0;
            rtc_set_cmos(pc.rtc, i ? 0x1a : 0x19, 47);
            rtc_set_cmos(pc.rtc, info, cyls);
            rtc_set_cmos(pc.rtc, info + 1, cyls >> 8);
            rtc_set_cmos(pc.rtc, info + 2, heads);
            rtc_set_cmos(pc.rtc, info + 3, 0xff);
            rtc_set_cmos(pc.rtc, info + 4, 0xff);
            rtc_set_cmos(pc.rtc, info + 5, 0xc0 | (heads > 8 ? 8 : 0));
            rtc_set_cmos(pc.rtc, info + 6, cyls);
            rtc_set_cmos(pc.rtc, info + 7, cyls >> 8);
            rtc_set_cmos(pc.rtc, info + 8, secs);
        }
    }
    rtc_set_cmos(pc.rtc, 0x12, types);
    rtc_set_cmos(pc.rtc, 0x39, trans);
}

/*
 * fw_cfg "bootorder": the IDE drives in the -boot order (disks for c, CD-ROMs for d), as
 * SeaBIOS names them; it agrees with the CMOS and lets the firmware log what it picked.
 */
/* The firmware's path of the IDE drive at index I (bus * 2 + unit), as a bootorder line */
static size_t pc_bootorder_drive(char *buf, size_t size, int i)
{
    return snprintf(buf, size, "/pci@i0cf8/ide@1,1/drive@%x/disk@%x\n", i / 2, i % 2);
}

/*
 * With bootindex= on any drive, as QEMU: those drives alone, lowest index first, and -boot's
 * order no longer counts for the boot list. Appends to BUF (adding to *LEN); false when no drive
 * has a bootindex.
 */
static bool pc_bootindex_order(char *buf, size_t size, size_t *len)
{
    bool done[PC_MAX_IDE] = { false }, any = false;

    for (;;) {
        int best = -1;

        for (int i = 0; i < PC_MAX_IDE; i++) {
            const struct pc_drive *dr = &pc.opts.ide[i];

            if (dr->present && dr->has_bootindex && !done[i] &&
                (best < 0 || dr->bootindex < pc.opts.ide[best].bootindex))
                best = i;
        }
        if (best < 0)
            return any;
        done[best] = any = true;
        *len += pc_bootorder_drive(buf + *len, size - *len, best);
    }
}

static void pc_fw_cfg_bootorder(const char *order)
{
    char buf[512];
    size_t len = 0;

    /* QEMU's way: the Linux loader ROM boots first (bootindex 0) */
    if (pc_kernel_by_firmware())
        len += snprintf(buf, sizeof(buf), "/rom@genroms/%s\n", PC_LINUXBOOT_ROM);

    if (pc_bootindex_order(buf, sizeof(buf), &len))
        goto out;
    for (const char *c = order; *c; c++) {
        for (int i = 0; i < PC_MAX_IDE; i++) {
            const struct pc_drive *dr = &pc.opts.ide[i];

            if (!dr->present || (*c == 'c' && dr->cdrom) || (*c == 'd' && !dr->cdrom) ||
                (*c != 'c' && *c != 'd'))
                continue;
            len += pc_bootorder_drive(buf + len, sizeof(buf) - len, i);
        }
    }
out:
    /* as QEMU's strict=on: SeaBIOS boots nothing past the list (its "HALT" entry) */
    if (pc.opts.boot_strict)
        len += snprintf(buf + len, sizeof(buf) - len, "HALT\n");
    if (len)
        fw_cfg_add_file(pc.fw_cfg, "bootorder", buf, len + 1, false);
}

const char *pc_boot_order_check(const char *order)
{
    if (strlen(order) > PC_MAX_BOOT_DEVICES)
        return "a PC's CMOS holds at most 3 boot devices";
    for (const char *c = order; *c; c++)
        if (!strchr("abcdn", *c))
            return "boot devices are a, b (floppy), c (disk), d (CD-ROM) and n (network)";
    return NULL;
}

/* The boot sequence as SeaBIOS reads it from the CMOS (QEMU's layout: 0x3d, 0x38 bits 7:4). */
static void pc_set_cmos_boot(const char *order)
{
    uint8_t nib[PC_MAX_BOOT_DEVICES] = { 0 };

    for (int i = 0; i < PC_MAX_BOOT_DEVICES && order[i]; i++)
        nib[i] = order[i] == 'c' ? 2 : order[i] == 'd' ? 3 : order[i] == 'n' ? 4 : 1;
    rtc_set_cmos(pc.rtc, 0x3d, nib[1] << 4 | nib[0]);
    /* bit 0 clear: check the floppy's boot signature */
    rtc_set_cmos(pc.rtc, 0x38, nib[2] << 4);
}

static void pc_reset(void *opaque)
{
    char *err = NULL;
    /* a VM stopped by the monitor (or started with -S) stays stopped through the reset */
    bool running = !machine_cfg.qtest && cpus_running();

    log_debug("system reset");
    if (!machine_cfg.qtest)
        cpus_pause();
    device_reset_all();
    /* -boot once= held for the first boot only */
    if (pc.opts.boot_once) {
        pc_set_cmos_boot(pc.opts.boot_order);
        pc_fw_cfg_bootorder(pc.opts.boot_order);
    }
    if (machine_cfg.qtest)
        return;
    kvm_irqchip_reset();
    cpus_reset();
    if (pc_boot(&err) < 0) {
        log_error("cannot boot again after the reset: %s", err);
        free(err);
        machine_request_exit(EXIT_VM_ERROR);
        return;
    }
    if (running)
        cpus_resume();
}

void pc_init(const struct pc_options *opts)
{
    char props[64];

    pc.opts = *opts;
    if (!pc.opts.boot_order)
        pc.opts.boot_order = "cad";
    for (int i = 0; i < PC_NUM_GSIS; i++)
        irq_init(&pc.gsi[i], pc_gsi_handler, &pc, i);
    pc_init_ram();
    bus_register(&pc.pci_bus, BUS_PCI, "pci.0", NULL, NULL);
    bus_register(&pc.isa_bus, BUS_ISA, "isa.0", NULL, NULL);

    device_create_simple("pc-ports", NULL);
    pc.i440fx = device_create_simple("i440fx", NULL);
    device_create_simple("piix3", NULL);
    /* with no firmware to switch the PM into ACPI mode, it starts there */
    pc.acpi_pm = device_create_simple("piix4-pm", pc_direct_boot() ? "sci-enabled=on" : NULL);
    snprintf(props, sizeof(props), "base=%s", opts->rtc_base ? opts->rtc_base : "utc");
    pc.rtc = device_create_simple("mc146818rtc", props);
    device_create_simple("i8042", NULL);
    pc.fw_cfg = device_create_simple("fw_cfg", NULL);
    pc_init_ide();
    if (opts->vga && !strcmp(opts->vga, "std")) {
        /* a direct boot runs no VGA BIOS, so it needs none */
        pc.vga = device_create_simple("VGA", pc_direct_boot() ? "addr=02.0,romfile=" : "addr=02.0");
    }
    for (int i = 0; i < PC_MAX_SERIAL; i++) {
        struct device *d;
        char *err = NULL;

        if (!opts->serial[i])
            continue;
        d = device_new("isa-serial");
        snprintf(props, sizeof(props), "0x%x", serial_iobase[i]);
        device_set_prop(d, "iobase", props, &err);
        snprintf(props, sizeof(props), "%u", serial_irq[i]);
        device_set_prop(d, "irq", props, &err);
        if (device_set_prop(d, "chardev", chardev_id(opts->serial[i]), &err) < 0 ||
            device_realize(d, &err) < 0)
            die("serial port %d: %s", i, err);
    }
    pc_set_cmos_memory();
    pc_set_cmos_boot(pc.opts.boot_once ? pc.opts.boot_once : pc.opts.boot_order);
    pc_set_cmos_disks();
    pc_fw_cfg_bootorder(pc.opts.boot_once ? pc.opts.boot_once : pc.opts.boot_order);
    pc_fw_cfg_init();
    if (pc_kernel_by_firmware())
        pc_fw_cfg_kernel();
    if (pc_firmware_wanted())
        pc_load_firmware();
    for (int i = 0; i < machine_cfg.topo.cpus; i++)
        pc.apic_ids[i] = cpu_apic_id(&machine_cfg.topo, i);
    if (!pc_direct_boot()) {
        struct acpi_config ac = { .cpus = machine_cfg.topo.cpus, .apic_ids = pc.apic_ids,
                                  .pci_hole_start = machine_ram.below_4g };

        pc_fw_cfg_acpi(&ac);
        pc_fw_cfg_smbios();
    }
    e820_build(&pc.e820, machine_ram.below_4g, machine_ram.above_4g);
    machine_add_reset_hook(pc_reset, NULL);
}

/*
 * What firmware does before it hands over to an OS, for a direct kernel boot: shadow RAM
 * in 0xc0000-0xfffff, PCI interrupt routing and resources, the PM I/O space.
 */
void pc_setup_like_firmware(void)
{
    const int pm = PCI_DEVFN(1, 3), isa = PCI_DEVFN(1, 0), ide = PCI_DEVFN(1, 1);

    pci_config_write(0, I440FX_PAM0, PAM_RW << 4, 1);
    for (int i = 1; i < I440FX_PAM_COUNT; i++)
        pci_config_write(0, I440FX_PAM0 + i, PAM_RW << 4 | PAM_RW, 1);
    for (int i = 0; i < 4; i++)
        pci_config_write(isa, PIIX3_PIRQRC + i, pc_pirq_irqs[i], 1);
    pci_bus_assign(PC_PCI_IO_BASE, machine_ram.below_4g, PC_PCI_MEM_LIMIT, pc_pirq_irqs);
    pci_config_write(pm, PIIX4_PMBA, ACPI_PM_BASE | 1, 4);
    pci_config_write(pm, PIIX4_PMREGMISC, PIIX4_PMIOSE, 1);
    pci_config_write(pm, PCI_INTERRUPT_LINE, ACPI_SCI_IRQ, 1);
    /* both IDE channels decode their legacy ports, as SeaBIOS leaves them */
    pci_config_write(ide, 0x40, 0x8000, 2);
    pci_config_write(ide, 0x42, 0x8000, 2);
    if (!machine_cfg.qtest)
        pc_set_elcr(pc_pirq_irqs);
}

int pc_boot(char **err)
{
    struct acpi_tables t;
    struct smbios_tables smb;
    struct acpi_config ac = {
        .cpus = machine_cfg.topo.cpus,
        .apic_ids = pc.apic_ids,
        .sci_enabled_at_boot = true,
        .pci_hole_start = machine_ram.below_4g,
    };
    const uint64_t base[ACPI_BLOB_MAX] = {
        [ACPI_BLOB_RSDP] = BOOT_ACPI_ADDR,
        [ACPI_BLOB_TABLES] = BOOT_ACPI_ADDR + 0x40,
    };
    struct boot_request req = {
        .kernel = machine_cfg.kernel,
        .initrd = machine_cfg.initrd,
        .cmdline = machine_cfg.append,
        .e820 = &pc.e820,
        .ram_below_4g = machine_ram.below_4g,
        .rsdp_addr = BOOT_ACPI_ADDR,
        .unpack = pc.opts.kernel_unpack,
        .cache_dir = pc.opts.kernel_cache_dir,
        .ram_is_zero = !pc.booted,
    };
    struct cpu_entry entry;
    int r;

    *err = NULL;
    if (!pc_direct_boot()) {
        if (!machine_cfg.qtest) {
            entry.mode = CPU_ENTRY_RESET;
            cpus_set_entry(&entry);
        }
        return 0;
    }
    pc_setup_like_firmware();
    if (pc.vga)
        vga_set_text_mode(pc.vga);
    acpi_build(&t, &ac);
    r = acpi_link_into_guest(&t, base);
    acpi_tables_free(&t);
    if (r < 0) {
        *err = xstrdup("the ACPI tables do not fit in guest RAM");
        return r;
    }
    mptable_write(BOOT_MPTABLE_ADDR, machine_cfg.topo.cpus, pc.apic_ids);
    pc_smbios_build(&smb);
    smbios_place(&smb, BOOT_SMBIOS_ADDR);
    smbios_tables_free(&smb);
    r = boot_load_kernel(&req, &entry, err);
    if (r < 0)
        return r;
    pc.booted = true;
    if (!machine_cfg.qtest)
        cpus_set_entry(&entry);
    return 0;
}

void pc_cleanup(void)
{
    gmem_cleanup();
    if (machine_ram.hva) {
        munmap(machine_ram.hva, machine_ram.size);
        close(machine_ram.fd);
    }
    machine_ram.hva = NULL;
    machine_ram.fd = -1;
    free(pc.cache_dir);
    if (pc.bios)
        munmap(pc.bios, pc.bios_size);
    for (int i = 0; i < PC_MAX_IDE; i++)
        block_close(pc.ide_bd[i]);
    bus_unregister(&pc.pci_bus);
    bus_unregister(&pc.isa_bus);
    memset(&pc, 0, sizeof(pc));
}
