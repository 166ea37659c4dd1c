/* pc-firmware.c: what the PC's firmware learns of the machine once every device exists: fw_cfg's files (e820, boot order, ACPI and SMBIOS tables, the kernel), the CMOS (memory, disks, boot devices), and the BIOS image itself */
#define LOG_PREFIX "pc: "
#include "hw/pc/pc-internal.h"
#include "hw/core/bootdev.h" // bootdev_order
#include "hw/core/firmware.h"
#include "hw/core/guest-mem.h"
#include "hw/pc/extboot.h"
#include "hw/pc/fw_cfg.h"
#include "hw/pc/i440fx.h"
#include "hw/ide/piix-ide.h"
#include "hw/isa/rtc.h"
#include "target-x86/acpi-build.h"
#include "target-x86/boot.h"
#include "target-x86/cpuid.h"
#include "target-x86/smbios.h"
#include "util/log.h"

#include <sys/mman.h>

#define PC_BIOS_DEFAULT "bios-256k.bin"
#define PC_LINUXBOOT_ROM "linuxboot_dma.bin"    /* QEMU's, from Debian's qemu-system-data */
#define PC_BIOS_MAX (16 * MiB)
#define PC_ISA_BIOS_SIZE 0x20000ULL

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
    struct ram_region *rom;
    uint8_t *img;
    size_t len;
    char *err = NULL;
    int r;

    if (firmware_load("firmware", name, &img, &len, &err) < 0)
        die("%s", err);
    if (len < 4 * KiB || len > PC_BIOS_MAX)
        die("firmware '%s' is %zu bytes; a PC BIOS image is 4 KiB to 16 MiB", name, len);
    pc.bios_size = MAX(ALIGN_UP((uint64_t)len, GUEST_PAGE_SIZE), PC_ISA_BIOS_SIZE);
    r = ram_region_alloc(&rom, "pc.bios", pc.bios_size, true);
    if (r < 0)
        die("cannot allocate %" PRIu64 " bytes for the firmware: %s", pc.bios_size, strerror(-r));
    /* the image ends at 4 GiB, where the reset vector is */
    memset(rom->hva, 0xff, pc.bios_size - len);
    memcpy(rom->hva + pc.bios_size - len, img, len);
    free(img);
    pc.bios = rom;
    r = gmem_map(rom, 0, 4 * GiB - pc.bios_size, pc.bios_size, true, "bios", NULL);
    if (r < 0)
        die("cannot map the firmware: %s", strerror(-r));
    i440fx_set_isa_bios(pc.i440fx, rom, pc.bios_size - PC_ISA_BIOS_SIZE);
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
void pc_smbios_build(struct smbios_tables *t)
{
    struct smbios_config c = {
        .topo = &machine_cfg.topo,
        .ram_below_4g = machine_ram.below_4g,
        .ram_above_4g = machine_ram.above_4g,
    };

    cpuid_guest_signature(&machine_cfg.topo, &c.cpuid_signature,
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
        struct block_dev *bd;
        bool cd;

        if (!piix_ide_drive(pc.ide, i / 2, i % 2, &cd, &bd, NULL) || cd || !bd)
            continue;
        pc_disk_chs(block_size(bd) / 512, &cyls, &heads, &secs);
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

static void pc_fw_cfg_bootorder(const char *order)
{
    char buf[1024];
    size_t len = 0;

    /* QEMU's way: the Linux loader ROM boots first (bootindex 0) */
    if (pc_kernel_by_firmware())
        len += snprintf(buf, sizeof(buf), "/rom@genroms/%s\n", PC_LINUXBOOT_ROM);
    /* qemu-kvm's -drive boot=on: extboot's drive next, before any bootindex or -boot order */
    if (extboot_boot_first())
        len += snprintf(buf + len, sizeof(buf) - len, "%s\n", EXTBOOT_BOOT_PATH);
    /* with bootindex= on any device, as QEMU: those alone, lowest first; -boot's order no longer counts */
    if (bootdev_order(buf, sizeof(buf), &len) > 0)
        goto out;
    for (const char *c = order; *c; c++) {
        for (int i = 0; i < PC_MAX_IDE; i++) {
            struct block_dev *bd;
            bool cd;

            if (!piix_ide_drive(pc.ide, i / 2, i % 2, &cd, &bd, NULL) || (*c == 'c' && cd) ||
                (*c == 'd' && !cd) || (*c != 'c' && *c != 'd'))
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


/*
 * extboot's option ROM, for SeaBIOS to run as a boot connection vector (roms/extboot.S): it
 * serves int 13h for the extboot device's drive, which boots as the boot order places it.
 */
static void pc_fw_cfg_extboot(void)
{
    size_t len;
    const uint8_t *rom = extboot_rom(&len);

    if (fw_cfg_add_file(pc.fw_cfg, EXTBOOT_ROM_FILE, rom, len, false) < 0)
        die("cannot add the extboot option ROM to fw_cfg");
}

/* At machine-done: every device is there, so the firmware can be told of them all. */
void pc_firmware_done(void)
{
    const char *order = pc.opts.boot_once ? pc.opts.boot_once : pc.opts.boot_order;

    /* -drive boot=on's device first: the boot order and the ROM follow from it */
    extboot_machine_done();
    pc_set_cmos_memory();
    pc_set_cmos_boot(order);
    pc_set_cmos_disks();
    pc_fw_cfg_bootorder(order);
    pc_fw_cfg_init();
    if (pc_kernel_by_firmware())
        pc_fw_cfg_kernel();
    if (extboot_present() && !pc_direct_boot())
        pc_fw_cfg_extboot();
    if (pc_firmware_wanted())
        pc_load_firmware();
    if (!pc_direct_boot()) {
        struct acpi_config ac = { .cpus = machine_cfg.topo.cpus, .apic_ids = pc.apic_ids,
                                  .pci_hole_start = machine_ram.below_4g,
                                  .disable_s3 = pc.opts.disable_s3,
                                  .disable_s4 = pc.opts.disable_s4 };

        pc_fw_cfg_acpi(&ac);
        pc_fw_cfg_smbios();
    }
}

void pc_firmware_reset(void)
{
    /* -boot once= held for the first boot only */
    if (pc.opts.boot_once) {
        pc_set_cmos_boot(pc.opts.boot_order);
        pc_fw_cfg_bootorder(pc.opts.boot_order);
    }
}

void pc_firmware_cleanup(void)
{
    /* the BIOS region went with the machine's memory (gmem_cleanup) */
    pc.bios = NULL;
}
