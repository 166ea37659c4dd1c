/* main.c: the skiff command line: parse (as QEMU spells it), build the machine, run, tear down */
#define LOG_PREFIX ""
#include "chardev/chardev.h"
#include "hw/core/device.h"
#include "hw/core/machine.h"
#include "hw/pc/pc.h"
#include "block/blockdev.h"
#include "hw/core/qtest.h"
#include "monitor/monitor.h"
#include "net/net.h"
#include "target-x86/cpu.h"
#include "target-x86/cpuid.h"
#include "target-x86/kvm.h"
#include "target-x86/smbios.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/opts.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* An option's handler gets its argument (NULL when it takes none) and its spelling, for messages. */
typedef void option_fn(const char *val, const char *opt);

struct option_def {
    const char *name;
    bool has_arg;
    const char *arg_name;
    const char *help;
    option_fn *fn;
};



static void usage(FILE *out);

#define MAX_LIST 32

static struct {
    const char *serial[MAX_LIST];
    int nserial;
    const char *chardev[MAX_LIST];
    int nchardev;
    const char *device[MAX_LIST];
    int ndevice;
    const char *object[MAX_LIST];
    int nobject;
    const char *monitor[MAX_LIST];
    int nmonitor;
    const char *mon[MAX_LIST];
    int nmon;
    const char *netdev[MAX_LIST];
    int nnetdev;
    const char *nic[MAX_LIST];
    int nnic;
    const char *net[MAX_LIST];
    int nnet;
    const char *qtest;
    const char *pidfile;
    const char *kernel_cache;
    const char *vga;
    const char *boot_order;
    const char *boot_once;
    bool boot_menu;
    int boot_menu_wait;
    int boot_fail_wait;
    bool nographic;
    bool nodefaults;
    bool no_unpack;
    bool snapshot;
    bool daemonize;
    bool boot_strict;
    const char *rtc_base;
    bool disable_s3, disable_s4;
} args;

static void parse_machine(const char *s)
{
    struct opts *o;
    char *err = NULL;
    const char *type, *acc, *unused;

    o = opts_parse(s, "type", &err);
    if (!o)
        die("-machine: %s", err);
    type = opts_get(o, "type");
    /* QEMU's versioned names (pc-i440fx-7.2, as libvirt writes them) are the same board here */
    if (type && strcmp(type, "pc") && strncmp(type, "pc-i440fx", 9) && strcmp(type, "help"))
        die("-machine %s: skiff emulates the pc machine (i440FX + PIIX, also pc-i440fx-X.Y) only", type);
    if (type && !strcmp(type, "help")) {
        printf("Supported machines:\npc     Standard PC (i440FX + PIIX) (default; pc-i440fx-X.Y is the same)\n");
        exit(0);
    }
    acc = opts_get(o, "accel");
    if (acc) {
        if (!strcmp(acc, "qtest"))
            machine_cfg.qtest = true;
        else if (strcmp(acc, "kvm"))
            die("-machine accel=%s: skiff runs guests on kvm only", acc);
    }
    unused = opts_first_unused(o);
    if (unused)
        die("-machine: unknown parameter '%s'", unused);
    opts_free(o);
}

static void parse_boot(const char *s)
{
    struct opts *o;
    char *err = NULL;
    const char *v, *unused, *bad;
    uint64_t n;
    bool menu, strict = false;

    o = opts_parse(s, "order", &err);
    if (!o)
        die("-boot: %s", err);
    if ((v = opts_get(o, "order"))) {
        if ((bad = pc_boot_order_check(v)))
            die("-boot order=%s: %s", v, bad);
        args.boot_order = xstrdup(v);
    }
    if ((v = opts_get(o, "once"))) {
        if ((bad = pc_boot_order_check(v)))
            die("-boot once=%s: %s", v, bad);
        args.boot_once = xstrdup(v);
    }
    if (opts_get_bool(o, "menu", &menu) < 0)
        die("-boot menu= takes on or off");
    if (opts_has(o, "menu"))
        args.boot_menu = menu;
    if (opts_has(o, "splash-time")) {
        if (opts_get_uint(o, "splash-time", &n) < 0 || n > 0xffff)
            die("-boot splash-time= takes milliseconds, at most 65535");
        args.boot_menu_wait = n;
    }
    if (opts_get_bool(o, "strict", &strict) < 0)
        die("-boot strict= takes on or off");
    args.boot_strict = strict;
    if (opts_has(o, "reboot-timeout")) {
        if (opts_get_uint(o, "reboot-timeout", &n) < 0 || n > 0xffff)
            die("-boot reboot-timeout= takes milliseconds, at most 65535");
        args.boot_fail_wait = n;
    }
    unused = opts_first_unused(o);
    if (unused)
        die("-boot: skiff does not implement '%s'", unused);
    opts_free(o);
}

/* -name [guest=]NAME[,process=PNAME][,debug-threads=on|off], QEMU's spelling (libvirt's too) */
static void parse_name(const char *s)
{
    struct opts *o;
    char *err = NULL;
    const char *v, *unused;
    bool threads = false;

    o = opts_parse(s, "guest", &err);
    if (!o)
        die("-name: %s", err);
    if ((v = opts_get(o, "guest")))
        machine_cfg.name = xstrdup(v);
    if ((v = opts_get(o, "process")) && prctl(PR_SET_NAME, v, 0, 0, 0) < 0)
        die("-name process=%s: %s", v, strerror(errno));
    if (opts_get_bool(o, "debug-threads", &threads) < 0)
        die("-name debug-threads= takes on or off");
    cpus_name_threads = threads;
    if ((unused = opts_first_unused(o)))
        die("-name: skiff does not implement '%s' (guest=, process=, debug-threads=)", unused);
    opts_free(o);
}

/* -rtc base=utc|localtime|DATE[,clock=vm][,driftfix=none], QEMU's spelling */
static void parse_rtc(const char *s)
{
    struct opts *o;
    char *err = NULL;
    const char *v, *unused;

    o = opts_parse(s, NULL, &err);
    if (!o)
        die("-rtc: %s", err);
    if ((v = opts_get(o, "base"))) {
        if (strchr(v, ',') || strlen(v) > 48)
            die("-rtc base=%s: give utc, localtime or a date as 2006-06-17T16:01:21", v);
        args.rtc_base = xstrdup(v);
    }
    /* skiff's clock counts the guest's time: it stops while the VM is stopped (QEMU's clock=vm) */
    if ((v = opts_get(o, "clock")) && strcmp(v, "vm"))
        die("-rtc clock=%s: skiff's RTC runs on the guest's time (clock=vm) only", v);
    if ((v = opts_get(o, "driftfix")) && strcmp(v, "none"))
        die("-rtc driftfix=%s: skiff does not re-inject lost RTC ticks (driftfix=none); leave it out", v);
    if ((unused = opts_first_unused(o)))
        die("-rtc: skiff does not implement '%s' (base=, clock=vm, driftfix=none)", unused);
    opts_free(o);
}

/*
 * -global DRIVER.PROPERTY=VALUE, or driver=D,property=P,value=V, as QEMU's: a property's value for
 * every device of a type. skiff implements it for what libvirt passes: the PIIX4 PM's
 * disable_s3 and disable_s4 (QEMU's uint8; not 0 hides the state from the guest's DSDT).
 */
static void parse_global(const char *s)
{
    static const char *const known = "skiff implements -global for PIIX4_PM.disable_s3 and "
                                     "PIIX4_PM.disable_s4 only";
    char *driver, *prop, *value, *end;
    unsigned long v;

    if (!strncmp(s, "driver=", 7)) {
        char *err = NULL;
        struct opts *o = opts_parse(s, NULL, &err);
        const char *unused;

        if (!o)
            die("-global: %s", err);
        if (!opts_get(o, "driver") || !opts_get(o, "property") || !opts_get(o, "value"))
            die("-global %s: give driver=, property= and value=", s);
        if ((unused = opts_first_unused(o)))
            die("-global: unknown parameter '%s' (driver=, property=, value=)", unused);
        driver = xstrdup(opts_get(o, "driver"));
        prop = xstrdup(opts_get(o, "property"));
        value = xstrdup(opts_get(o, "value"));
        opts_free(o);
    } else {
        const char *dot = strchr(s, '.'), *eq = strchr(s, '=');

        if (!dot || !eq || eq < dot)
            die("-global %s: give DRIVER.PROPERTY=VALUE (e.g. PIIX4_PM.disable_s3=1)", s);
        driver = xstrndup(s, dot - s);
        prop = xstrndup(dot + 1, eq - dot - 1);
        value = xstrdup(eq + 1);
    }
    /* QEMU's name for the device, and skiff's */
    if ((strcmp(driver, "PIIX4_PM") && strcmp(driver, "piix4-pm")) ||
        (strcmp(prop, "disable_s3") && strcmp(prop, "disable_s4")))
        die("-global %s.%s: %s", driver, prop, known);
    errno = 0;
    v = strtoul(value, &end, 0);
    if (errno || end == value || *end || v > 255 || value[0] == '-')
        die("-global %s.%s=%s: the value is a number, 0 to 255 (1 hides the state)", driver, prop,
            value);
    if (!strcmp(prop, "disable_s3"))
        args.disable_s3 = v != 0;
    else
        args.disable_s4 = v != 0;
    free(driver);
    free(prop);
    free(value);
}

/* RAM plus swap of this host, from /proc/meminfo; 0 when unknown. */
static uint64_t host_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    uint64_t total = 0, kb;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %" SCNu64, &kb) == 1 || sscanf(line, "SwapTotal: %" SCNu64, &kb) == 1)
            total += kb * KiB;
    }
    fclose(f);
    return total;
}

/* ---- one handler per option ---- */

static void opt_help(const char *val, const char *opt)
{
    usage(stdout);
    exit(0);
}

static void opt_version(const char *val, const char *opt)
{
    printf("skiff version %s\n", SKIFF_VERSION);
    exit(0);
}

static void opt_m(const char *val, const char *opt)
{
    uint64_t sz;
    const char *v = !strncmp(val, "size=", 5) ? val + 5 : val;

    if (parse_size(v, MiB, &sz) < 0 || sz < 2 * MiB)
        die("-m %s: give the RAM size in MiB or with a suffix, at least 2M (e.g. 512 or 2G)", val);
    machine_cfg.ram_size = ALIGN_UP(sz, 2 * MiB);
}

static void opt_smp(const char *val, const char *opt)
{
    char *err = NULL;

    if (cpu_topology_parse(val, &machine_cfg.topo, &err) < 0)
        die("%s", err);
}

static void opt_cpu(const char *val, const char *opt)
{
    char *err = NULL;

    if (!strcmp(val, "help") || !strcmp(val, "?")) {
        cpuid_print_help(stdout);
        exit(0);
    }
    if (cpuid_configure(val, &err) < 0)
        die("%s", err);
    machine_cfg.cpu_model = val;
}

static void opt_kernel(const char *val, const char *opt) { machine_cfg.kernel = val; }
static void opt_initrd(const char *val, const char *opt) { machine_cfg.initrd = val; }
static void opt_append(const char *val, const char *opt) { machine_cfg.append = val; }
static void opt_bios(const char *val, const char *opt) { machine_cfg.bios = val; }

/* -hda..-hdd: IDE indexes 0-3 */
static void opt_hdx(const char *val, const char *opt)
{
    char *err = NULL;
    const char *name = opt + 1 + (opt[1] == '-');

    if (blockdev_add_legacy(name[2] - 'a', val, false, opt, &err) < 0)
        die("%s", err);
}

static void opt_cdrom(const char *val, const char *opt)
{
    char *err = NULL;

    if (blockdev_add_legacy(2, val, true, opt, &err) < 0)
        die("%s", err);
}

static void opt_drive(const char *val, const char *opt)
{
    char *err = NULL;

    if (blockdev_add_drive(val, &err) < 0)
        die("%s", err);
}

static void opt_blockdev(const char *val, const char *opt)
{
    char *err = NULL;

    if (blockdev_add_blockdev(val, &err) < 0)
        die("%s", err);
}

static void opt_snapshot(const char *val, const char *opt) { args.snapshot = true; }
static void opt_boot(const char *val, const char *opt) { parse_boot(val); }

/* A repeatable option's arguments, in order. */
static void list_add(const char **list, int *n, int max, const char *val, const char *opt)
{
    if (*n == max)
        die("%s: at most %d", opt, max);
    list[(*n)++] = val;
}

static void opt_serial(const char *val, const char *opt)
{
    list_add(args.serial, &args.nserial, PC_MAX_SERIAL, val, opt);
}

static void opt_chardev(const char *val, const char *opt)
{
    list_add(args.chardev, &args.nchardev, MAX_LIST, val, opt);
}

static void opt_monitor(const char *val, const char *opt)
{
    list_add(args.monitor, &args.nmonitor, MAX_LIST, val, opt);
}

static void opt_mon(const char *val, const char *opt)
{
    list_add(args.mon, &args.nmon, MAX_LIST, val, opt);
}

/* "help" and "NAME,help" of -device and -object answer at once, from the type registry */
static void answer_help(const char *val, const char *opt, void (*types)(FILE *out),
                        int (*props)(FILE *out, const char *name), const char *what)
{
    const char *comma = strchr(val, ',');

    if (!strcmp(val, "help") || !strcmp(val, "?")) {
        types(stdout);
        exit(0);
    }
    if (comma && (!strcmp(comma, ",help") || !strcmp(comma, ",?"))) {
        char *n = xstrndup(val, comma - val);

        if (props(stdout, n) < 0)
            die("%s %s: no such %s (see %s help)", opt, n, what, opt);
        free(n);
        exit(0);
    }
}

/* -device NAME,... */
static void opt_device(const char *val, const char *opt)
{
    answer_help(val, opt, device_print_types, device_print_props, "device");
    list_add(args.device, &args.ndevice, MAX_LIST, val, opt);
}

/* -object TYPE,id=ID,... (QEMU's qom-type= names the type too) */
static void opt_object(const char *val, const char *opt)
{
    answer_help(val, opt, object_print_types, object_print_props, "object type");
    if (val[0] == '{')
        die("%s %s: skiff does not read -object in JSON; give TYPE,id=ID,...", opt, val);
    list_add(args.object, &args.nobject, MAX_LIST, val, opt);
}

/* -netdev, -nic, -net: their help answers at once; the rest waits for the event loop (main) */
static void opt_netdev(const char *val, const char *opt)
{
    if (net_answer_help("netdev", val))
        exit(0);
    list_add(args.netdev, &args.nnetdev, MAX_LIST, val, opt);
}

static void opt_nic(const char *val, const char *opt)
{
    if (net_answer_help("nic", val))
        exit(0);
    list_add(args.nic, &args.nnic, MAX_LIST, val, opt);
}

static void opt_net(const char *val, const char *opt)
{
    if (net_answer_help("net", val))
        exit(0);
    list_add(args.net, &args.nnet, MAX_LIST, val, opt);
}

static void opt_global(const char *val, const char *opt) { parse_global(val); }
static void opt_nographic(const char *val, const char *opt) { args.nographic = true; }

static void opt_display(const char *val, const char *opt)
{
    if (strcmp(val, "none"))
        die("-display %s: skiff has no display yet; use -display none or -nographic", val);
}

static void opt_vga(const char *val, const char *opt)
{
    if (strcmp(val, "none") && strcmp(val, "std"))
        die("-vga %s: skiff has the standard VGA (-vga std) or none (-vga none)", val);
    args.vga = val;
}

static void opt_nodefaults(const char *val, const char *opt) { args.nodefaults = true; }
static void opt_no_reboot(const char *val, const char *opt) { machine_cfg.no_reboot = true; }
static void opt_no_shutdown(const char *val, const char *opt) { machine_cfg.no_shutdown = true; }
static void opt_S(const char *val, const char *opt) { machine_cfg.start_paused = true; }

static void opt_accel(const char *val, const char *opt)
{
    const char *comma = strchr(val, ',');
    size_t n = comma ? (size_t)(comma - val) : strlen(val);

    if (n == 5 && !strncmp(val, "qtest", 5))
        machine_cfg.qtest = true;
    else if (!(n == 3 && !strncmp(val, "kvm", 3)))
        die("-accel %s: skiff runs guests on kvm (or qtest for device tests)", val);
}

/* what these ask for (-enable-kvm, -no-user-config, -no-hpet) is how skiff is anyway */
static void opt_nothing(const char *val, const char *opt) { }

static void opt_machine(const char *val, const char *opt) { parse_machine(val); }
static void opt_qtest(const char *val, const char *opt) { args.qtest = val; }
static void opt_name(const char *val, const char *opt) { parse_name(val); }
static void opt_rtc(const char *val, const char *opt) { parse_rtc(val); }

static void opt_msg(const char *val, const char *opt)
{
    char *err = NULL;
    struct opts *mo = opts_parse(val, "timestamp", &err);
    const char *unused;

    if (!mo || opts_get_bool(mo, "timestamp", &log_timestamps) < 0)
        die("-msg %s: give timestamp=on or timestamp=off", val);
    if ((unused = opts_first_unused(mo)))
        die("-msg: skiff does not implement '%s' (timestamp=)", unused);
    opts_free(mo);
}

static void opt_uuid(const char *val, const char *opt)
{
    char *err = NULL;

    if (smbios_set_uuid(val, &err) < 0)
        die("-uuid %s", err);
}

static void opt_smbios(const char *val, const char *opt)
{
    char *err = NULL;

    if (smbios_option(val, &err) < 0)
        die("%s", err);
}

static void opt_pidfile(const char *val, const char *opt) { args.pidfile = val; }
static void opt_daemonize(const char *val, const char *opt) { args.daemonize = true; }
static void opt_kernel_cache(const char *val, const char *opt) { args.kernel_cache = val; }
static void opt_no_kernel_unpack(const char *val, const char *opt) { args.no_unpack = true; }
/* -d ITEM[,ITEM...], as QEMU's log items: debug (everything skiff logs), cpu_reset */
static void opt_d(const char *val, const char *opt)
{
    char *list = xstrdup(val), *save = NULL;

    for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        if (!strcmp(it, "debug")) {
            log_level_max = LOG_DEBUG;
        } else if (!strcmp(it, "cpu_reset")) {
            log_items |= LOG_CPU_RESET;
        } else if (!strcmp(it, "help")) {
            printf("Log items (comma separated):\n"
                   "debug      everything skiff logs, debug messages too\n"
                   "cpu_reset  each vCPU's state at every system reset (and the vCPU whose triple fault caused it)\n");
            exit(0);
        } else {
            die("-d %s: no log item '%s' (-d help lists them)", val, it);
        }
    }
    free(list);
}

/* Every option skiff takes; anything else is refused by name. */
static const struct option_def options[] = {
    { "h", false, NULL, "show this help", opt_help },
    { "help", false, NULL, "show this help", opt_help },
    { "version", false, NULL, "show the version", opt_version },
    { "m", true, "SIZE", "guest RAM, in MiB or with a suffix (512, 2G); default 128M", opt_m },
    { "smp", true, "N[,sockets=S,cores=C,threads=T]", "virtual CPUs and their topology", opt_smp },
    { "cpu", true, "MODEL[,+feat,-feat]", "CPU model: host (default), qemu64; -cpu help lists features", opt_cpu },
    { "kernel", true, "FILE", "boot a Linux bzImage, ELF vmlinux (PVH) or multiboot image directly; "
      "with -bios, the firmware boots the bzImage", opt_kernel },
    { "initrd", true, "FILE", "initial ramdisk (multiboot: modules, \"file args,file args\")", opt_initrd },
    { "append", true, "CMDLINE", "kernel command line", opt_append },
    { "bios", true, "FILE", "firmware image (default: SeaBIOS's bios-256k.bin from Debian's seabios)", opt_bios },
    { "hda", true, "FILE", "IDE disk: primary master (-hdb, -hdc, -hdd: the other three)", opt_hdx },
    { "hdb", true, "FILE", "IDE disk: primary slave", opt_hdx },
    { "hdc", true, "FILE", "IDE disk: secondary master", opt_hdx },
    { "hdd", true, "FILE", "IDE disk: secondary slave", opt_hdx },
    { "cdrom", true, "FILE", "IDE CD-ROM (secondary master) with FILE as its disc", opt_cdrom },
    { "drive", true, "file=F[,if=ide|virtio|none][,index=I|bus=B,unit=U][,media=disk|cdrom][,format=raw|qcow2][,readonly=on][,snapshot=on][,discard=unmap][,werror=W][,rerror=R][,boot=on][,cache=C][,aio=A]",
      "a drive; cache: writeback, none, unsafe (writethrough, directsync); aio: threads, native; werror: enospc, report, ignore, stop; rerror: report, ignore, stop; boot=on: the BIOS boots it first through extboot", opt_drive },
    { "blockdev", true, "driver=file|raw|qcow2,node-name=N[,file=NODE|filename=F|file.filename=F][,read-only=on][,cache.direct=on][,discard=unmap]",
      "a block node (libvirt's spelling): -device ide-hd,drive=N uses it", opt_blockdev },
    { "snapshot", false, NULL, "write to temporary files instead of the disk images", opt_snapshot },
    { "boot", true, "[order=]DRIVES[,once=DRIVES][,menu=on|off][,splash-time=MS][,reboot-timeout=MS][,strict=on]",
      "firmware boot order: c disk, d CD-ROM, a floppy, n network (default cad)", opt_boot },
    { "serial", true, "DEV", "next serial port: stdio, mon:stdio, pty, file:F, pipe:P, unix:S[,server=on,wait=off], tcp:H:P[,...], null, none, chardev:ID", opt_serial },
    { "chardev", true, "BACKEND,id=ID,...", "a character device: stdio, file, pipe, pty, socket, null", opt_chardev },
    { "monitor", true, "DEV", "the human monitor on DEV (as -serial takes it: stdio, unix:S,server=on,wait=off, ...; none)", opt_monitor },
    { "mon", true, "chardev=ID[,mode=readline]", "the human monitor on a -chardev", opt_mon },
    { "device", true, "NAME[,prop=value...]", "add a device; -device help lists them", opt_device },
    { "object", true, "TYPE,id=ID[,prop=value...]",
      "add an object a device names by id: iothread, rng-random, rng-builtin; -object help lists them", opt_object },
    { "netdev", true, "TYPE,id=ID[,...]",
      "a network backend, which a NIC names (-device rtl8139,netdev=ID): user (libslirp: hostfwd=, "
      "tftp=, ...), tap (ifname=, fd=, fds=, script=, vnet_hdr=), socket (listen=, connect=, udp=, mcast=, "
      "fd=), hubport; -netdev help lists the types, -netdev TYPE,help their options", opt_netdev },
    { "nic", true, "[TYPE][,id=ID][,model=M][,mac=MAC][,...]",
      "a NIC and its backend in one (TYPE user by default, its options as -netdev's; model rtl8139 by "
      "default, virtio for virtio-net-pci, model=help lists them); -nic none: no NIC", opt_nic },
    { "net", true, "nic[,model=M][,macaddr=MAC][,netdev=ID][,id=ID]|TYPE[,...]|none",
      "QEMU's older spelling: each -net nic and -net TYPE is a port of hub 0, which joins them all", opt_net },
    { "global", true, "PIIX4_PM.disable_s3|disable_s4=0|1",
      "a device property's default, as QEMU's; 1 hides ACPI S3 (suspend to RAM) or S4 from the guest", opt_global },
    { "nographic", false, NULL, "no display; the serial port and monitor share the terminal (Ctrl-A h)", opt_nographic },
    { "display", true, "none", "display backend (only none for now)", opt_display },
    { "vga", true, "std|none", "VGA card: std (the default) or none", opt_vga },
    { "nodefaults", false, NULL, "no default devices (serial port, VGA)", opt_nodefaults },
    { "no-reboot", false, NULL, "exit instead of rebooting", opt_no_reboot },
    { "no-shutdown", false, NULL, "stay when the guest powers off", opt_no_shutdown },
    { "S", false, NULL, "do not start the CPUs", opt_S },
    { "accel", true, "kvm|qtest", "accelerator (kvm; qtest for device tests without a guest)", opt_accel },
    { "enable-kvm", false, NULL, "use KVM (always the case)", opt_nothing },
    { "machine", true, "pc[,accel=kvm]", "machine type (pc)", opt_machine },
    { "M", true, "pc", "machine type (pc)", opt_machine },
    { "qtest", true, "DEV", "serve the qtest protocol on a chardev (with -accel qtest)", opt_qtest },
    { "name", true, "[guest=]NAME[,process=PNAME][,debug-threads=on]",
      "the guest's name; the process's name; vCPU threads named CPU N/KVM", opt_name },
    { "rtc", true, "base=utc|localtime|DATE[,clock=vm][,driftfix=none]",
      "where the real-time clock starts: UTC (default), the host's local time, or a date (2006-06-17T16:01:21)", opt_rtc },
    { "msg", true, "timestamp=on|off", "start each message with its UTC time, as QEMU's", opt_msg },
    { "no-user-config", false, NULL, "read no configuration files (skiff reads none)", opt_nothing },
    { "no-hpet", false, NULL, "no HPET (skiff's PC has none)", opt_nothing },
    { "uuid", true, "UUID", "the machine's UUID (SMBIOS, fw_cfg)", opt_uuid },
    { "smbios", true, "type=1|3[,FIELD=VALUE...]",
      "SMBIOS strings of the system (type=1: manufacturer, product, version, serial, uuid, sku, "
      "family) or the chassis (type=3: manufacturer, version, serial, asset, sku)", opt_smbios },
    { "pidfile", true, "FILE", "write the process id to FILE", opt_pidfile },
    { "daemonize", false, NULL, "go to the background once the VM is set up (the exit status says whether it was)", opt_daemonize },
    { "kernel-cache", true, "DIR|off", "where host-unpacked kernels are cached (default ~/.cache/skiff)", opt_kernel_cache },
    { "no-kernel-unpack", false, NULL, "let a compressed kernel unpack itself in the guest", opt_no_kernel_unpack },
    { "d", true, "item[,...]", "log more: debug (everything), cpu_reset (the vCPUs' state at each system reset); -d help lists them", opt_d },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: skiff [options]\n"
                 "skiff is a lightweight KVM hypervisor; its options are spelled as QEMU's.\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
        const struct option_def *o = &options[i];
        char left[256];      /* the longest, -drive's, is about 140 */

        snprintf(left, sizeof(left), "-%s%s%s", o->name, o->has_arg ? " " : "",
                 o->has_arg ? o->arg_name : "");
        if (strlen(left) > 28)
            fprintf(out, "  %s\n  %-28s %s\n", left, "", o->help);
        else
            fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "\nExample:\n  skiff -m 512 -smp 2 -kernel bzImage -initrd initrd.img "
                 "-append console=ttyS0 -nographic\n"
                 "With -nographic, Ctrl-A x quits and Ctrl-A h lists the other keys.\n"
                 "The manual is in docs/ (docs/options.md).\n");
}

static const struct option_def *find_option(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(options); i++)
        if (!strcmp(options[i].name, name))
            return &options[i];
    return NULL;
}

static void parse_args(int argc, char **argv)
{
    machine_cfg.ram_size = 128 * MiB;
    machine_cfg.topo = (struct cpu_topology){ 1, 1, 1, 1 };
    machine_cfg.cpu_model = "host";
    args.boot_order = "cad";
    args.boot_menu_wait = -1;
    args.boot_fail_wait = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *val = NULL;
        const struct option_def *o;
        char *err = NULL;

        if (a[0] != '-') {
            /* a bare image name is the first disk, as QEMU takes it */
            if (blockdev_add_legacy(0, a, false, a, &err) < 0)
                die("%s", err);
            continue;
        }
        name = a + 1 + (a[1] == '-');
        o = find_option(name);
        if (!o && (!strcmp(name, "qmp") || !strcmp(name, "qmp-pretty")))
            die("%s: skiff has no QMP yet; the human monitor is -monitor DEV", a);
        if (!o)
            die("%s: unknown option (see skiff --help)", a);
        if (o->has_arg) {
            if (i + 1 >= argc)
                die("%s needs an argument: %s", a, o->arg_name);
            val = argv[++i];
        }
        o->fn(val, a);
    }
    if (machine_cfg.qtest && !args.qtest)
        die("-accel qtest needs -qtest DEV to talk to the test");
    if (args.qtest && !machine_cfg.qtest)
        die("-qtest needs -accel qtest");
    {
        uint64_t host = host_memory();

        if (host && machine_cfg.ram_size > host)
            die("-m %" PRIu64 "M: this host has only %" PRIu64 " MiB of memory and swap; give the "
                "guest less", machine_cfg.ram_size / MiB, host / MiB);
    }
    if (machine_cfg.initrd && !machine_cfg.kernel)
        die("-initrd needs -kernel");
    if (machine_cfg.append && !machine_cfg.kernel)
        die("-append needs -kernel");
}

static void on_signal(void *opaque, int signo)
{
    fprintf(stderr, "skiff: terminating on signal %d\n", signo);
    loop_quit(0);
}

static char *default_cache_dir(void)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (x && *x)
        return xasprintf("%s/skiff/kernels", x);
    if (home && *home)
        return xasprintf("%s/.cache/skiff/kernels", home);
    return NULL;
}

static void write_pidfile(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char buf[32];

    if (fd < 0)
        die("-pidfile %s: %s", path, strerror(errno));
    snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (write_full(fd, buf, strlen(buf)) < 0)
        die("-pidfile %s: %s", path, strerror(errno));
    close(fd);
}

/* ---- -daemonize, as QEMU's ---- */

static int daemon_pipe = -1;

static bool spec_uses_stdio(const char *spec)
{
    return !strncmp(spec, "stdio", 5) || !strncmp(spec, "mon:stdio", 9);
}

/* A daemon has no terminal: refuse what would use one, and give the serial port nowhere. */
static void daemonize_check(void)
{
    bool tty = args.nographic;

    for (int i = 0; i < args.nserial; i++)
        tty |= spec_uses_stdio(args.serial[i]);
    for (int i = 0; i < args.nmonitor; i++)
        tty |= spec_uses_stdio(args.monitor[i]);
    for (int i = 0; i < args.nchardev; i++)
        tty |= spec_uses_stdio(args.chardev[i]);
    if (tty)
        die("-daemonize: the terminal (stdio, -nographic) cannot be used by a daemon; give the "
            "serial port and monitor a file or socket");
    if (!args.nserial && !args.nodefaults && !machine_cfg.qtest)
        args.serial[args.nserial++] = "null";
}

/*
 * Fork before any thread exists. The parent stays until the child says it is ready, or dies:
 * its exit status is whether the VM started, and the child's errors reach its stderr meanwhile.
 */
static void daemonize_begin(void)
{
    int p[2];
    pid_t pid;

    if (pipe(p) < 0 || (pid = fork()) < 0)
        die("-daemonize: %s", strerror(errno));
    if (pid > 0) {
        char c = 1;
        ssize_t n;

        close(p[1]);
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 && c == 0 ? 0 : 1);
    }
    close(p[0]);
    set_cloexec(p[1]);
    daemon_pipe = p[1];
    if (setsid() < 0)
        die("-daemonize: setsid: %s", strerror(errno));
}

/* Set up: leave the terminal (stdin, stdout, stderr to /dev/null) and let the parent go. */
static void daemonize_ready(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (daemon_pipe < 0)
        return;
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    if (write(daemon_pipe, "", 1) < 0) {
        /* the parent is gone: nobody to tell */
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

/* -monitor, -mon, and a monitor beside each "mon:" serial port (Ctrl-A c), as QEMU sets them up */
static void start_monitors(struct chardev *const *serial)
{
    char *err = NULL;

    for (int i = 0; i < args.nserial; i++) {
        if (serial[i] && !strncmp(args.serial[i], "mon:", 4) && !monitor_new(serial[i], &err))
            die("-serial %s: %s", args.serial[i], err);
    }
    for (int i = 0; i < args.nmonitor; i++) {
        char id[32];
        struct chardev *c;

        snprintf(id, sizeof(id), "compat_monitor%d", i);
        c = chardev_new_legacy(args.monitor[i], id, &err);
        if (!c && err)
            die("-monitor %s: %s", args.monitor[i], err);
        if (c && !monitor_new(c, &err))
            die("-monitor %s: %s", args.monitor[i], err);
    }
    for (int i = 0; i < args.nmon; i++) {
        struct opts *o = opts_parse(args.mon[i], "chardev", &err);
        const char *id, *mode, *unused;
        struct chardev *c;
        bool pretty = false;

        if (!o)
            die("-mon: %s", err);
        id = opts_get(o, "chardev");
        mode = opts_get(o, "mode");
        if (opts_get_bool(o, "pretty", &pretty) < 0)
            die("-mon %s: pretty takes on or off", args.mon[i]);
        if (mode && !strcmp(mode, "control"))
            die("-mon %s: skiff has no QMP (mode=control) yet; mode=readline is the human monitor", args.mon[i]);
        if (mode && strcmp(mode, "readline"))
            die("-mon %s: mode is readline (or control)", args.mon[i]);
        /* as QEMU: pretty=on indents QMP's JSON, and the human monitor has none */
        if (pretty)
            die("-mon %s: pretty=on is for QMP (mode=control), not the human monitor", args.mon[i]);
        if ((unused = opts_first_unused(o)))
            die("-mon: unknown parameter '%s'", unused);
        if (!id)
            die("-mon %s: which chardev? (-mon chardev=ID)", args.mon[i]);
        c = chardev_find(id);
        if (!c)
            die("-mon %s: no -chardev with id '%s'", args.mon[i], id);
        if (!monitor_new(c, &err))
            die("-mon %s: %s", args.mon[i], err);
        opts_free(o);
    }
}

/*
 * Files the user named that are plainly not there: said before KVM is opened, so that the
 * first error is about the user's own mistake (the loaders say more about bad contents).
 */
static void check_named_files(void)
{
    if (machine_cfg.bios && strchr(machine_cfg.bios, '/') && access(machine_cfg.bios, R_OK) != 0)
        die("firmware '%s': %s", machine_cfg.bios, strerror(errno));
    for (struct blockdev *b = blockdev_next(NULL); b; b = blockdev_next(b))
        if (b->file && access(b->file, F_OK) != 0 && errno == ENOENT)
            die("'%s': no such file", b->file);
}

int main(int argc, char **argv)
{
    struct pc_options pco = { 0 };
    char *cache_dir = NULL, *err = NULL;
    int status;

    parse_args(argc, argv);
    check_named_files();
    if (args.daemonize) {
        daemonize_check();
        daemonize_begin();
    }
    loop_init();
    devlock_lock();
    machine_init_requests();
    loop_add_signal(SIGINT, on_signal, NULL);
    loop_add_signal(SIGTERM, on_signal, NULL);
    loop_add_signal(SIGHUP, on_signal, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < args.nchardev; i++)
        if (!chardev_new(args.chardev[i], &err))
            die("-chardev %s: %s", args.chardev[i], err);
    if (args.nserial == 0 && !args.nodefaults && !machine_cfg.qtest) {
        bool mon_stdio = false;

        for (int i = 0; i < args.nmonitor; i++)
            mon_stdio |= !strncmp(args.monitor[i], "stdio", 5);
        /* the terminal is the monitor's: the serial port goes nowhere, as QEMU's to its vc */
        args.serial[args.nserial++] = mon_stdio ? "null" : "mon:stdio";
    }
    for (int i = 0; i < args.nserial; i++) {
        char id[32];

        snprintf(id, sizeof(id), "serial%d", i);
        pco.serial[i] = chardev_new_legacy(args.serial[i], id, &err);
        if (!pco.serial[i] && err)
            die("-serial %s: %s", args.serial[i], err);
    }
    /* as QEMU: every -netdev, then -nic, then -net; before -object, whose filters name them */
    for (int i = 0; i < args.nnetdev; i++)
        if (netdev_add(args.netdev[i], &err) < 0)
            die("-netdev %s: %s", args.netdev[i], err);
    for (int i = 0; i < args.nnic; i++)
        if (net_add_nic_shorthand(args.nic[i], &err) < 0)
            die("-nic %s: %s", args.nic[i], err);
    for (int i = 0; i < args.nnet; i++)
        if (net_add_legacy(args.net[i], &err) < 0)
            die("-net %s: %s", args.net[i], err);
    /* before the board: objects are unrealized after every device that names them */
    for (int i = 0; i < args.nobject; i++) {
        struct opts *o = opts_parse(args.object[i], "qom-type", &err);
        bool made = o && object_create_from_opts(o, &err);

        opts_free(o);
        if (!made)
            die("-object %s: %s", args.object[i], err);
    }

    if (machine_cfg.qtest) {
        clock_virtual_set_manual();
        qtest_accel_install();
    } else {
        kvm_init(machine_cfg.topo.cpus);
        kvm_accel_install();
    }
    pco.kernel_unpack = !args.no_unpack;
    pco.nographic = args.nographic;
    /* a device test gets a VGA only when it asks for one; -nodefaults drops it, as QEMU's */
    pco.vga = args.vga ? args.vga : machine_cfg.qtest || args.nodefaults ? "none" : "std";
    if (args.snapshot)
        blockdev_snapshot_all();
    if (blockdev_open_all(&err) < 0)
        die("%s", err);
    pco.boot_order = args.boot_order;
    pco.boot_once = args.boot_once;
    pco.boot_menu = args.boot_menu;
    pco.boot_strict = args.boot_strict;
    pco.rtc_base = args.rtc_base;
    pco.disable_s3 = args.disable_s3;
    pco.disable_s4 = args.disable_s4;
    pco.boot_menu_wait = args.boot_menu_wait;
    pco.boot_fail_wait = args.boot_fail_wait;
    if (!args.kernel_cache)
        cache_dir = default_cache_dir();
    else if (strcmp(args.kernel_cache, "off"))
        cache_dir = xstrdup(args.kernel_cache);
    pco.kernel_cache_dir = cache_dir;

    pc_init(&pco);
    /* as QEMU's pc board: the NICs of -nic and -net nic come before -device's */
    if (net_create_nics(&err) < 0)
        die("%s", err);
    start_monitors(pco.serial);
    for (int i = 0; i < args.ndevice; i++) {
        struct opts *o = opts_parse(args.device[i], "driver", &err);
        bool made = o && device_create_from_opts(o, &err);

        opts_free(o);
        if (!made)
            die("-device %s: %s", args.device[i], err);
    }
    /* as QEMU: each -drive if=virtio is a virtio-blk-pci after the -device ones */
    for (struct blockdev *b = blockdev_next(NULL); b; b = blockdev_next(b)) {
        struct device *dev;

        if (b->iface != BLOCKDEV_IF_VIRTIO)
            continue;
        dev = device_new("virtio-blk-pci");
        if (device_set_prop(dev, "drive", b->id, &err) < 0 || device_realize(dev, &err) < 0) {
            device_free(dev);
            die("-drive %s: %s", b->id, err);
        }
    }
    /* every device is there: the boot order, tables and firmware files can be built */
    machine_done();
    if (!machine_cfg.qtest) {
        cpus_create(&machine_cfg.topo);
        if (pc_boot(&err) < 0)
            die("%s", err);
    } else {
        qtest_server_init(args.qtest);
        if (machine_cfg.kernel && pc_boot(&err) < 0)
            die("%s", err);
    }
    if (args.pidfile)
        write_pidfile(args.pidfile);
    if (chardev_wait_clients(&err) < 0)
        die("%s", err);
    daemonize_ready();
    if (!machine_cfg.qtest)
        cpus_start(machine_cfg.start_paused);

    status = loop_run();

    if (!machine_cfg.qtest)
        cpus_destroy();
    if (machine_cfg.qtest)
        qtest_server_cleanup();
    /*
     * Drop the whole VM before devices and guest memory go: deleting memory slots one by one
     * makes KVM zap its page tables each time, which under nested virtualization costs seconds.
     */
    if (!machine_cfg.qtest)
        kvm_cleanup();
    monitor_cleanup_all();
    device_destroy_all();
    net_cleanup();
    chardev_cleanup_all();
    pc_cleanup();
    blockdev_cleanup();
    machine_cleanup_requests();
    loop_cleanup();
    devlock_unlock();
    if (args.pidfile)
        unlink(args.pidfile);
    free(cache_dir);
    return status;
}
