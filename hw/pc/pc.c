/* pc.c: the PC board: guest RAM around the PCI hole, GSIs, buses, i440FX/PIIX and the ISA system devices, the drives' IDE devices, direct kernel boot, reset (what the firmware is told is pc-firmware.c's) */
#define LOG_PREFIX "pc: "
#include "hw/pc/pc-internal.h"
#include "block/blockdev.h"
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

struct pc_board pc;


/* -kernel without -bios: skiff loads the kernel and does what firmware would have done */
bool pc_direct_boot(void)
{
    return machine_cfg.kernel && !machine_cfg.bios;
}

/* -kernel with -bios: the firmware boots the kernel through fw_cfg and an option ROM */
bool pc_kernel_by_firmware(void)
{
    return machine_cfg.kernel && machine_cfg.bios;
}

/* The test accelerator runs no CPU; it maps firmware only when a test names it. */
bool pc_firmware_wanted(void)
{
    return !pc_direct_boot() && (!machine_cfg.qtest || machine_cfg.bios);
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
    struct ram_region *ram;
    int r;

    below = size >= LOWMEM_SPLIT ? LOWMEM_MAX : size;
    above = size - below;
    r = ram_region_alloc(&ram, "pc.ram", size, false);
    if (r < 0)
        die("cannot allocate %" PRIu64 " MiB of guest RAM: %s; try a smaller -m",
            size / MiB, strerror(-r));
    machine_ram.region = ram;
    machine_ram.hva = ram->hva;
    machine_ram.fd = ram->fd;
    machine_ram.size = size;
    machine_ram.below_4g = below;
    machine_ram.above_4g = above;
    /*
     * Below 1 MiB the legacy VGA window (0xa0000-0xbffff) is not RAM, and what the CPU sees
     * at 0xc0000-0xfffff is up to the i440FX's PAM registers.
     */
    r = gmem_map(ram, 0, 0, 0xa0000, false, "ram-low", NULL);
    if (r == 0)
        r = gmem_map(ram, 0x100000, 0x100000, below - 0x100000, false, "ram-below-4g", NULL);
    if (r == 0 && above)
        r = gmem_map(ram, below, 4 * GiB, above, false, "ram-above-4g", NULL);
    if (r < 0)
        die("cannot give guest RAM to the accelerator: %s", strerror(-r));
}

/* The 8259's edge/level control registers, as firmware sets them for the PCI interrupts. */
static void pc_set_elcr(const uint8_t irqs[4])
{
    uint16_t elcr = 0;
    int r;

    for (int i = 0; i < 4; i++)
        elcr |= 1u << irqs[i];
    if (accel && accel->pic_set_elcr && (r = accel->pic_set_elcr(elcr)) < 0)
        log_warn("cannot set the PIC's edge/level control: %s", strerror(-r));
}

/* The PIIX3's IDE function, and an ide-hd or ide-cd on it for each -drive if=ide (-hda, -cdrom...). */
static void pc_init_ide(void)
{
    pc.ide = device_create_simple("piix3-ide", NULL);
    for (struct blockdev *b = blockdev_next(NULL); b; b = blockdev_next(b)) {
        struct device *d;
        char *err = NULL, pos[16];

        if (b->iface != BLOCKDEV_IF_IDE)
            continue;
        d = device_new(b->cdrom ? "ide-cd" : "ide-hd");
        snprintf(pos, sizeof(pos), "%d", b->unit);
        if (device_set_prop(d, "drive", b->id, &err) < 0 || device_set_prop(d, "unit", pos, &err) < 0)
            die("%s", err);
        snprintf(pos, sizeof(pos), "ide.%d", b->bus);
        if (device_set_prop(d, "bus", pos, &err) < 0 || device_realize(d, &err) < 0)
            die("%s: %s", b->id, err);
    }
}

static int pc_wake_direct(char **err);

/*
 * What firmware puts back before it jumps to a waking OS, which the wake-up's reset cleared: the
 * PAM shadow RAM, where SeaBIOS's resume code and its data live (QEMU never resets PAM), and the
 * PM's I/O space, where the OS finds its ACPI registers.
 */
struct pc_chipset {
    uint8_t pam[I440FX_PAM_COUNT];
    uint32_t pmba;
    uint8_t pmregmisc;
};

static void pc_chipset_save(struct pc_chipset *c)
{
    const int pm = PCI_DEVFN(1, 3);

    for (int i = 0; i < I440FX_PAM_COUNT; i++)
        c->pam[i] = pci_config_read(0, I440FX_PAM0 + i, 1);
    c->pmba = pci_config_read(pm, PIIX4_PMBA, 4);
    c->pmregmisc = pci_config_read(pm, PIIX4_PMREGMISC, 1);
}

static void pc_chipset_restore(const struct pc_chipset *c)
{
    const int pm = PCI_DEVFN(1, 3);

    for (int i = 0; i < I440FX_PAM_COUNT; i++)
        pci_config_write(0, I440FX_PAM0 + i, c->pam[i], 1);
    pci_config_write(pm, PIIX4_PMBA, c->pmba, 4);
    pci_config_write(pm, PIIX4_PMREGMISC, c->pmregmisc, 1);
}

static void pc_reset(void *opaque)
{
    char *err = NULL;
    /* a VM stopped by the monitor (or started with -S) stays stopped through the reset */
    bool running = !machine_cfg.qtest && cpus_running();
    bool waking = machine_waking();
    struct pc_chipset chipset;
    int r;

    log_debug(waking ? "system reset for the wake-up" : "system reset");
    if (!machine_cfg.qtest) {
        cpus_pause();
        /* -d cpu_reset, as QEMU's: where the guest was when it reset */
        if (log_items & LOG_CPU_RESET)
            cpus_dump_reset(stderr);
    }
    if (waking)
        pc_chipset_save(&chipset);
    device_reset_all();
    /* firmware boot: SeaBIOS finds the CMOS resume flag at its reset vector and resumes */
    if (waking && !pc_direct_boot())
        pc_chipset_restore(&chipset);
    pc_firmware_reset();
    if (machine_cfg.qtest)
        return;
    if (accel->irqchip_reset)
        accel->irqchip_reset();
    r = cpus_reset();
    if (r == 0)
        r = waking && pc_direct_boot() ? pc_wake_direct(&err) : pc_boot(&err);
    if (r < 0) {
        /* a guest's reset never ends the process: the VM stops where the monitor can see it */
        log_error("cannot boot again after the reset%s%s; the VM stops (info status: internal-error)",
                  err ? ": " : "", err ? err : "");
        free(err);
        machine_stop_error(RUN_STATE_INTERNAL_ERROR);
        return;
    }
    if (running)
        cpus_resume();
}

static void pc_machine_done(void *opaque)
{
    pc_firmware_done();
}

void pc_init(const struct pc_options *opts)
{
    char props[64];

    pc.opts = *opts;
    if (!pc.opts.boot_order)
        pc.opts.boot_order = "cad";
    for (int i = 0; i < PC_NUM_GSIS; i++)
        irq_init(&pc.gsi[i], pc_gsi_handler, &pc, i);
    /* ISA IRQ n is GSI n: the IOAPIC's first 16 pins (and the PICs') */
    isa_bus_set_irqs(pc.gsi);
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
    for (int i = 0; i < machine_cfg.topo.cpus; i++)
        pc.apic_ids[i] = cpu_apic_id(&machine_cfg.topo, i);
    e820_build(&pc.e820, machine_ram.below_4g, machine_ram.above_4g);
    machine_add_reset_hook(pc_reset, NULL);
    /* the firmware hears of every device, -device's included, once they are all there */
    machine_add_done_hook(pc_machine_done, NULL);
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
        .disable_s3 = pc.opts.disable_s3,
        .disable_s4 = pc.opts.disable_s4,
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
            if ((r = cpus_set_entry(&entry)) < 0) {
                *err = xstrdup("KVM refused the boot CPU's registers");
                return r;
            }
        }
        return 0;
    }
    pc_setup_like_firmware();
    if (pc.vga)
        vga_set_text_mode(pc.vga);
    acpi_build(&t, &ac);
    r = acpi_link_into_guest(&t, base);
    pc.facs_addr = base[ACPI_BLOB_TABLES] + t.facs;
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
    if (!machine_cfg.qtest && (r = cpus_set_entry(&entry)) < 0) {
        *err = xstrdup("KVM refused the boot CPU's registers");
        return r;
    }
    return 0;
}

/*
 * The wake-up of a direct boot: skiff does what SeaBIOS's resume does. The CMOS shutdown status
 * says resume (0xfe, set when the guest went to sleep; cleared now, as the BIOS does): after the
 * chipset set-up a firmware leaves, the boot CPU starts in real mode at the FACS's waking vector,
 * with RAM as the guest left it. Without a waking vector (or a status) the guest boots afresh,
 * as SeaBIOS reboots then. SeaBIOS takes the 32-bit real-mode vector only, and so does skiff.
 */
static int pc_wake_direct(char **err)
{
    struct cpu_entry entry = { .mode = CPU_ENTRY_REAL };
    uint8_t status = rtc_get_cmos(pc.rtc, CMOS_SHUTDOWN_STATUS), facs[ACPI_FACS_LEN];
    uint32_t vector;

    *err = NULL;
    rtc_set_cmos(pc.rtc, CMOS_SHUTDOWN_STATUS, 0);
    /* the FACS is in the shadow RAM at 0xe0000, there again once PAM says so */
    pc_setup_like_firmware();
    if (status != CMOS_SHUTDOWN_S3_RESUME || !pc.facs_addr ||
        gmem_read(pc.facs_addr, facs, sizeof(facs)) < 0 || memcmp(facs, "FACS", 4)) {
        log_guest_error("no FACS to resume from: the guest boots afresh");
        return pc_boot(err);
    }
    vector = ldl_le(facs + ACPI_FACS_WAKING_VECTOR);
    if (!vector) {
        log_guest_error("the guest left no waking vector in the FACS: it boots afresh");
        return pc_boot(err);
    }
    if (vector >= 1 * MiB) {
        log_guest_error("the FACS's waking vector 0x%x is above 1 MiB, no real-mode address: the "
                        "guest boots afresh", vector);
        return pc_boot(err);
    }
    entry.rip = vector;
    log_debug("resuming at the waking vector 0x%x", vector);
    if (!machine_cfg.qtest && cpus_set_entry(&entry) < 0) {
        *err = xstrdup("KVM refused the boot CPU's registers");
        return -EIO;
    }
    return 0;
}

void pc_cleanup(void)
{
    /* the mappings go, then the regions: main RAM, the BIOS image, video memory */
    gmem_cleanup();
    machine_ram.region = NULL;
    machine_ram.hva = NULL;
    machine_ram.fd = -1;
    free(pc.cache_dir);
    pc_firmware_cleanup();
    bus_unregister(&pc.pci_bus);
    bus_unregister(&pc.isa_bus);
    isa_bus_set_irqs(NULL);
    memset(&pc, 0, sizeof(pc));
}
