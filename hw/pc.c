/* pc.c: the PC board: guest RAM around the PCI hole, GSIs, the ISA system devices, direct kernel boot, reset */
#define LOG_PREFIX "pc: "
#include "hw/pc.h"
#include "chardev/chardev.h"
#include "hw/accel.h"
#include "hw/device.h"
#include "hw/guest-mem.h"
#include "hw/isa.h"
#include "hw/machine.h"
#include "hw/rtc.h"
#include "target-x86/acpi-build.h"
#include "target-x86/boot.h"
#include "target-x86/cpu.h"
#include "target-x86/kvm.h"
#include "util/log.h"

#include <sys/mman.h>
#include <unistd.h>

/* Like QEMU's i440FX: RAM of 3.5 GiB or more leaves 3 GiB below the PCI hole. */
#define LOWMEM_SPLIT 0xe0000000ULL
#define LOWMEM_MAX 0xc0000000ULL

static const uint16_t serial_iobase[PC_MAX_SERIAL] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const uint8_t serial_irq[PC_MAX_SERIAL] = { 4, 3, 4, 3 };

static struct {
    struct irq gsi[PC_NUM_GSIS];
    struct device *rtc;
    struct device *acpi_pm;
    struct pc_options opts;
    struct e820_table e820;
    uint32_t apic_ids[1024];
    char *cache_dir;
} pc;

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

struct device *pc_rtc(void)
{
    return pc.rtc;
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
     * Below 1 MiB the legacy VGA window (0xa0000-0xbffff) is not RAM. The BIOS area
     * 0xc0000-0xfffff is RAM for direct boot (it holds the ACPI and MP tables).
     */
    r = gmem_map_block("ram-low", 0, 0xa0000, hva, fd, 0, false, NULL);
    if (r == 0)
        r = gmem_map_block("ram-bios", 0xc0000, 0x40000, hva + 0xc0000, fd, 0xc0000, false, NULL);
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

static void pc_reset(void *opaque)
{
    char *err = NULL;

    log_debug("system reset");
    if (!machine_cfg.qtest)
        cpus_pause();
    device_reset_all();
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
    cpus_resume();
}

void pc_init(const struct pc_options *opts)
{
    char props[64];

    pc.opts = *opts;
    for (int i = 0; i < PC_NUM_GSIS; i++)
        irq_init(&pc.gsi[i], pc_gsi_handler, &pc, i);
    pc_init_ram();

    device_create_simple("pc-ports", NULL);
    pc.rtc = device_create_simple("mc146818rtc", NULL);
    device_create_simple("i8042", NULL);
    /* with no firmware to switch the PM into ACPI mode, it starts there */
    pc.acpi_pm = device_create_simple("acpi-pm", machine_cfg.kernel ? "sci-enabled=on" : NULL);
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
    for (int i = 0; i < machine_cfg.topo.cpus; i++)
        pc.apic_ids[i] = cpu_apic_id(&machine_cfg.topo, i);
    e820_build(&pc.e820, machine_ram.below_4g, machine_ram.above_4g);
    machine_add_reset_hook(pc_reset, NULL);
}

int pc_boot(char **err)
{
    struct acpi_tables t;
    struct acpi_config ac = {
        .cpus = machine_cfg.topo.cpus,
        .apic_ids = pc.apic_ids,
        .sci_enabled_at_boot = true,
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
    };
    struct cpu_entry entry;
    int r;

    *err = NULL;
    if (!machine_cfg.kernel) {
        *err = xstrdup("nothing to boot: give a kernel with -kernel");
        return -EINVAL;
    }
    acpi_build(&t, &ac);
    r = acpi_link_into_guest(&t, base);
    acpi_tables_free(&t);
    if (r < 0) {
        *err = xstrdup("the ACPI tables do not fit in guest RAM");
        return r;
    }
    mptable_write(BOOT_MPTABLE_ADDR, machine_cfg.topo.cpus, pc.apic_ids);
    r = boot_load_kernel(&req, &entry, err);
    if (r < 0)
        return r;
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
    memset(&pc, 0, sizeof(pc));
}
