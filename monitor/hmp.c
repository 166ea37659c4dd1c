/* hmp.c: QEMU's human monitor commands: the command table, argument parsing, and each core's result as QEMU's text */
#include "monitor/monitor-internal.h"
#include "monitor/commands.h"

#include <ctype.h>
#include <stdio.h>

#define HMP_ARGS_MAX 8
#define HMP_SENDKEY_HOLD_MS 100

static const char hmp_no_cpus[] = "no CPUs (-accel qtest)\n";

/* The number of vCPUs; with none (the test accelerator) the monitor says so. */
static int hmp_cpu_count(struct monitor *m)
{
    struct mon_cpu_info_fast *cpus = mon_query_cpus_fast();
    int n = 0;

    for (struct mon_cpu_info_fast *c = cpus; c; c = c->next)
        n++;
    mon_list_free(cpus);
    if (!n)
        monitor_printf(m, "%s", hmp_no_cpus);
    return n;
}

/* Run a core that takes no argument; its error after HMP's words for it ("nmi: "). */
static void hmp_run_core(struct monitor *m, int (*core)(char **err), const char *prefix)
{
    char *err = NULL;
    int r = core(&err);

    if (r < 0)
        monitor_printf(m, "%s%s\n", prefix, err ? err : strerror(-r));
    free(err);
}

/* ---- info ---- */

static void hmp_info_status(struct monitor *m, int argc, char **argv)
{
    struct mon_status_info info = mon_query_status();
    char reason[32] = "";

    /* QEMU's words: a reason after "paused"; its "(shutdown)" and "(suspended)" are the ones tools look for */
    if (!info.running && info.status != RUN_STATE_PAUSED)
        snprintf(reason, sizeof(reason), " (%s)", run_state_name(info.status));
    monitor_printf(m, "VM status: %s%s\n", info.running ? "running" : "paused", reason);
}

static void hmp_info_version(struct monitor *m, int argc, char **argv)
{
    struct mon_version_info info = mon_query_version();

    monitor_printf(m, "%d.%d.%d (%s)\n", info.qemu.major, info.qemu.minor, info.qemu.micro, info.package);
}

static void hmp_info_name(struct monitor *m, int argc, char **argv)
{
    struct mon_name_info info = mon_query_name();

    if (info.name)
        monitor_printf(m, "%s\n", info.name);
}

static void hmp_info_uuid(struct monitor *m, int argc, char **argv)
{
    monitor_printf(m, "%s\n", mon_query_uuid().uuid);
}

static void hmp_info_kvm(struct monitor *m, int argc, char **argv)
{
    struct mon_kvm_info info = mon_query_kvm();

    monitor_printf(m, "kvm support: %s\nkvm: %s\n", info.present ? "enabled" : "not compiled",
                   info.enabled ? "on" : "off (-accel qtest)");
}

static void hmp_info_cpus(struct monitor *m, int argc, char **argv)
{
    struct mon_cpu_info_fast *cpus = mon_query_cpus_fast();

    if (!cpus)
        monitor_printf(m, "%s", hmp_no_cpus);
    /* QEMU's lines, which management tools parse to pin the vCPU threads; * is the monitor's CPU */
    for (struct mon_cpu_info_fast *c = cpus; c; c = c->next)
        monitor_printf(m, "%c CPU #%d: thread_id=%" PRId64 "\n", c->cpu_index == monitor_cpu(m) ? '*' : ' ',
                       c->cpu_index, c->thread_id);
    mon_list_free(cpus);
}

static void hmp_info_pci(struct monitor *m, int argc, char **argv)
{
    struct mon_pci_device_info *list = mon_query_pci();

    for (struct mon_pci_device_info *d = list; d; d = d->next) {
        monitor_printf(m, "  Bus %2d, device %3d, function %d:\n", d->bus, d->slot, d->function);
        if (d->class_info.desc)
            monitor_printf(m, "    %s: ", d->class_info.desc);
        else
            monitor_printf(m, "    Class %04x: ", d->class_info.class);
        monitor_printf(m, "PCI device %04x:%04x\n", d->id.vendor, d->id.device);
        monitor_printf(m, "      PCI subsystem %04x:%04x\n", d->id.subsystem_vendor, d->id.subsystem);
        if (d->irq_pin)
            monitor_printf(m, "      IRQ %d, pin %c\n", d->irq, 'A' + d->irq_pin - 1);
        for (int i = 0; i < d->nregions; i++) {
            const struct mon_pci_memory_region *r = &d->regions[i];

            /* an unmapped BAR is at all-ones, its end wrapping around, as QEMU shows it */
            if (!strcmp(r->type, "io"))
                monitor_printf(m, "      BAR%d: I/O at 0x%04" PRIx64 " [0x%04" PRIx64 "].\n", r->bar,
                               r->address, r->address + r->size - 1);
            else
                monitor_printf(m, "      BAR%d: %s bit%s memory at 0x%08" PRIx64 " [0x%08" PRIx64 "].\n",
                               r->bar, r->mem_type_64 ? "64" : "32", r->prefetch ? " prefetchable" : "",
                               r->address, r->address + r->size - 1);
        }
    }
    mon_list_free(list);
}

/* QEMU's spelling: the monitor's CPU alone (cpu N chooses it), or every CPU with -a */
static void hmp_info_registers(struct monitor *m, int argc, char **argv)
{
    bool all = argc > 1 && !strcmp(argv[1], "-a");
    char *text, *err = NULL;

    if (argc > 1 && !all) {
        monitor_printf(m, "info registers: unknown option '%s' (-a shows every CPU)\n", argv[1]);
        return;
    }
    if (!hmp_cpu_count(m))
        return;
    text = mon_x_query_registers(all ? -1 : monitor_cpu(m), &err);
    if (!text) {
        monitor_printf(m, "info registers: %s\n", err);
        free(err);
        return;
    }
    monitor_printf(m, "%s", text);
    free(text);
}

/* QEMU's words for the cache mode, but for directsync, which skiff shows as "direct" */
static void hmp_cache_mode(const struct block_cache_info *c, char *buf, size_t len)
{
    if (!c->writeback)
        snprintf(buf, len, "%s", c->direct ? "direct" : "writethrough");
    else
        snprintf(buf, len, "writeback%s%s", c->direct ? ", direct" : "",
                 c->no_flush ? ", ignore flushes" : "");
}

/* QEMU's HMP: "balloon: actual=MB", and the guest's statistics as QEMU 1.x printed them */
static void hmp_info_balloon(struct monitor *m, int argc, char **argv)
{
    static const char *const names[] = { "mem_swapped_in", "mem_swapped_out", "major_page_faults",
                                         "minor_page_faults", "free_mem", "total_mem",
                                         "available_mem", "disk_caches", "htlb_pgalloc", "htlb_pgfail" };
    struct mon_balloon_info info;
    char *err = NULL;

    if (mon_query_balloon(&info, &err) < 0) {
        monitor_printf(m, "%s\n", err);
        free(err);
        return;
    }
    monitor_printf(m, "balloon: actual=%" PRId64, info.actual >> 20);
    for (size_t i = 0; info.has_stats && i < ARRAY_SIZE(names); i++)
        monitor_printf(m, " %s=%" PRIu64, names[i], info.stats[i]);
    monitor_printf(m, "\n");
}

static void hmp_info_block(struct monitor *m, int argc, char **argv)
{
    struct mon_block_info *list = mon_query_block();

    for (struct mon_block_info *b = list; b; b = b->next) {
        const struct mon_block_device_info *ins = b->inserted;
        char cache[64];

        if (!ins)
            monitor_printf(m, "%s: [not inserted]\n", b->device);
        else
            monitor_printf(m, "%s: %s (%s%s)\n", b->device, ins->file, ins->drv, ins->ro ? ", read-only" : "");
        if (*b->qdev)
            monitor_printf(m, "    Attached to:      %s\n", b->qdev);
        if (b->has_tray_open)
            monitor_printf(m, "    Removable device: %slocked, tray %s\n", b->locked ? "" : "not ",
                           b->tray_open ? "open" : "closed");
        if (ins) {
            hmp_cache_mode(&ins->cache, cache, sizeof(cache));
            monitor_printf(m, "    Cache mode:       %s\n", cache);
        }
    }
    mon_block_info_free(list);
}

static void hmp_info_blockstats(struct monitor *m, int argc, char **argv)
{
    struct mon_block_stats *list = mon_query_blockstats();

    for (struct mon_block_stats *b = list; b; b = b->next)
        monitor_printf(m, "%s: rd_bytes=%" PRIu64 " wr_bytes=%" PRIu64 " rd_operations=%" PRIu64
                       " wr_operations=%" PRIu64 " flush_operations=%" PRIu64 " wr_total_time_ns=%" PRIu64
                       " rd_total_time_ns=%" PRIu64 " flush_total_time_ns=%" PRIu64 " rd_merged=%" PRIu64
                       " wr_merged=%" PRIu64 " failed_operations=%" PRIu64 "\n", b->device, b->stats.rd_bytes,
                       b->stats.wr_bytes, b->stats.rd_operations, b->stats.wr_operations,
                       b->stats.flush_operations, b->stats.wr_total_time_ns, b->stats.rd_total_time_ns,
                       b->stats.flush_total_time_ns, b->stats.rd_merged, b->stats.wr_merged,
                       b->stats.failed_operations);
    mon_list_free(list);
}

/* QEMU's layout: hubs and their ports, then each NIC with its backend under it, and filters */
static void hmp_info_network(struct monitor *m, int argc, char **argv)
{
    char *text = mon_info_network();

    monitor_printf(m, "%s", text);
    free(text);
}

/* QEMU's: each user backend's hub and id, then libslirp's table of its connections */
static void hmp_info_usernet(struct monitor *m, int argc, char **argv)
{
    char *text = mon_info_usernet();

    monitor_printf(m, "%s", text);
    free(text);
}

static const struct {
    const char *name;
    void (*fn)(struct monitor *m, int argc, char **argv);
    const char *help;
} hmp_info_cmds[] = {
    { "balloon", hmp_info_balloon, "the RAM the guest keeps beside its balloon (MiB), and its memory statistics" },
    { "block", hmp_info_block, "the drives and their media" },
    { "blockstats", hmp_info_blockstats, "each drive's request counts, bytes and times" },
    { "cpus", hmp_info_cpus, "the virtual CPUs" },
    { "kvm", hmp_info_kvm, "whether KVM runs the guest" },
    { "name", hmp_info_name, "the guest's -name" },
    { "network", hmp_info_network, "the NICs, their backends, hubs and filters" },
    { "pci", hmp_info_pci, "the PCI functions, their BARs and interrupts" },
    { "registers", hmp_info_registers, "the CPU's registers (-a: every CPU's)" },
    { "status", hmp_info_status, "whether the VM runs" },
    { "usernet", hmp_info_usernet, "the connections of each user-mode network backend (-netdev user)" },
    { "uuid", hmp_info_uuid, "the machine's UUID (-uuid)" },
    { "version", hmp_info_version, "skiff's version" },
};

/* ---- commands ---- */

struct hmp_cmd {
    const char *name;       /* "quit|q": the name and its short forms */
    const char *args;
    const char *help;
    void (*fn)(struct monitor *m, int argc, char **argv);
};

static const struct hmp_cmd hmp_cmds[];

static bool hmp_cmd_matches(const struct hmp_cmd *c, const char *name)
{
    const char *p = c->name;
    size_t n = strlen(name);

    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (len == n && !strncmp(p, name, n))
            return true;
        p += len + (bar != NULL);
    }
    return false;
}

static void hmp_help(struct monitor *m, int argc, char **argv)
{
    for (const struct hmp_cmd *c = hmp_cmds; c->name; c++) {
        if (argc > 1 && !hmp_cmd_matches(c, argv[1]))
            continue;
        monitor_printf(m, "%s%s%s -- %s\n", c->name, *c->args ? " " : "", c->args, c->help);
    }
}

static void hmp_info(struct monitor *m, int argc, char **argv)
{
    if (argc < 2) {
        for (size_t i = 0; i < ARRAY_SIZE(hmp_info_cmds); i++)
            monitor_printf(m, "info %s -- %s\n", hmp_info_cmds[i].name, hmp_info_cmds[i].help);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(hmp_info_cmds); i++) {
        if (!strcmp(hmp_info_cmds[i].name, argv[1])) {
            hmp_info_cmds[i].fn(m, argc - 1, argv + 1);
            return;
        }
    }
    monitor_printf(m, "info: unknown item '%s' (info alone lists them)\n", argv[1]);
}

static void hmp_cpu(struct monitor *m, int argc, char **argv)
{
    int n;
    char *end;
    long i;

    if (argc < 2) {
        monitor_printf(m, "cpu: give the CPU's index (info cpus lists them)\n");
        return;
    }
    if (!(n = hmp_cpu_count(m)))
        return;
    i = strtol(argv[1], &end, 10);
    if (*end || end == argv[1] || i < 0 || i >= n) {
        monitor_printf(m, "invalid CPU index\n");     /* QEMU's words */
        return;
    }
    monitor_set_cpu(m, (int)i);
}

static void hmp_balloon(struct monitor *m, int argc, char **argv)
{
    uint64_t mb;
    char *err = NULL;

    if (argc < 2 || parse_uint(argv[1], &mb) < 0 || mb > UINT64_MAX >> 20) {
        monitor_printf(m, "balloon: give the RAM the guest keeps, in MiB\n");
        return;
    }
    if (mon_balloon(mb << 20, &err) < 0) {
        monitor_printf(m, "Error: %s\n", err);
        free(err);
    }
}

static void hmp_nmi(struct monitor *m, int argc, char **argv)
{
    if (hmp_cpu_count(m))
        hmp_run_core(m, mon_inject_nmi, "nmi: ");
}

/*
 * xp /FMT ADDR, as QEMU's: guest-physical memory on the monitor. FMT is [count][x|d|u|o|c][b|h|w|g]
 * (count values, as hex, signed, unsigned, octal or characters, each a byte, half word, word or
 * giant); lines of 8 bytes, or 16 for wider values, each after its address.
 */
#define XP_MAX_VALUES 4096

static void hmp_xp(struct monitor *m, int argc, char **argv)
{
    const char *fmt = argc > 2 ? argv[1] : "/1xw", *p;
    unsigned long count = 1;
    char format = 'x';
    unsigned size = 4, line;
    uint64_t addr;

    if (argc < 2 || (argc > 2 && fmt[0] != '/') || parse_uint(argv[argc > 2 ? 2 : 1], &addr) < 0) {
        monitor_printf(m, "xp: give /FMT and a guest-physical address (xp /8xb 0xf0000)\n");
        return;
    }
    p = fmt + 1;
    if (isdigit((unsigned char)*p))
        count = strtoul(p, (char **)&p, 10);
    for (; *p; p++) {
        if (strchr("xduoc", *p))
            format = *p;
        else if (strchr("bhwg", *p))
            size = *p == 'b' ? 1 : *p == 'h' ? 2 : *p == 'w' ? 4 : 8;
        else
            break;
    }
    if (*p || count == 0 || count > XP_MAX_VALUES) {
        monitor_printf(m, "xp: '%s': the format is /[count][x|d|u|o|c][b|h|w|g], at most %d values\n",
                       fmt, XP_MAX_VALUES);
        return;
    }
    if (format == 'c')
        size = 1;
    line = size == 1 ? 8 : 16;
    for (unsigned long i = 0; i < count; i++) {
        uint64_t a = addr + i * size, v = 0;
        uint8_t b[8];

        if (mon_memory_read(a, b, size) < 0) {
            monitor_printf(m, "%sxp: 0x%" PRIx64 " is not guest RAM\n", i % (line / size) ? "\n" : "", a);
            return;
        }
        for (unsigned k = 0; k < size; k++)
            v |= (uint64_t)b[k] << (8 * k);
        if (i % (line / size) == 0)
            monitor_printf(m, "%s%016" PRIx64 ":", i ? "\n" : "", a);
        switch (format) {
        case 'x':
            monitor_printf(m, " 0x%0*" PRIx64, (int)size * 2, v);
            break;
        case 'o':
            monitor_printf(m, " %#" PRIo64, v);
            break;
        case 'u':
            monitor_printf(m, " %" PRIu64, v);
            break;
        case 'd':
            /* sign-extend from the value's size */
            monitor_printf(m, " %" PRId64, size == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * size)) >> (64 - 8 * size));
            break;
        default:
            if (v >= 0x20 && v < 0x7f && v != '\\' && v != '\'')
                monitor_printf(m, " '%c'", (int)v);
            else
                monitor_printf(m, " '\\x%02x'", (unsigned)v);
            break;
        }
    }
    monitor_printf(m, "\n");
}

/* pmemsave ADDR SIZE FILE, as QEMU's: guest-physical memory into a file */
static void hmp_pmemsave(struct monitor *m, int argc, char **argv)
{
    uint64_t addr, size;
    char *err = NULL;

    if (argc < 4 || parse_uint(argv[1], &addr) < 0 || parse_uint(argv[2], &size) < 0) {
        monitor_printf(m, "pmemsave: give the guest-physical address, the size and a file "
                          "(pmemsave 0xf0000 65536 bios.bin)\n");
        return;
    }
    if (mon_pmemsave(addr, size, argv[3], &err) < 0) {
        monitor_printf(m, "pmemsave: %s\n", err);
        free(err);
    }
}

static void hmp_stop(struct monitor *m, int argc, char **argv)
{
    mon_stop();
}

static void hmp_cont(struct monitor *m, int argc, char **argv)
{
    hmp_run_core(m, mon_cont, "");
}

static void hmp_quit(struct monitor *m, int argc, char **argv)
{
    mon_quit();
}

static void hmp_system_powerdown(struct monitor *m, int argc, char **argv)
{
    hmp_run_core(m, mon_system_powerdown, "system_powerdown: ");
}

/* QEMU's system_wakeup, in its words */
static void hmp_system_wakeup(struct monitor *m, int argc, char **argv)
{
    hmp_run_core(m, mon_system_wakeup, "Error: ");
}

static void hmp_system_reset(struct monitor *m, int argc, char **argv)
{
    mon_system_reset();
}

static void hmp_sendkey(struct monitor *m, int argc, char **argv)
{
    /* one name past the most send-key takes, for it to refuse */
    const char *names[MON_SEND_KEY_MAX + 1];
    long hold = HMP_SENDKEY_HOLD_MS;
    char *p, *dash, *end, *err = NULL;
    int n = 0;

    if (argc < 2) {
        monitor_printf(m, "sendkey: which keys? (e.g. sendkey ctrl-alt-delete)\n");
        return;
    }
    if (argc > 2) {
        errno = 0;
        hold = strtol(argv[2], &end, 10);
        if (errno || *end || hold < 0 || hold > MON_SEND_KEY_HOLD_MAX) {
            monitor_printf(m, "sendkey: hold time '%s': milliseconds, 0 to %d\n", argv[2], MON_SEND_KEY_HOLD_MAX);
            return;
        }
    }
    /* "ctrl-alt-delete"; a lone "-" is the minus key */
    for (p = argv[1]; *p && n < (int)ARRAY_SIZE(names); p = dash ? dash + 1 : p + strlen(p)) {
        dash = strchr(p[0] == '-' ? p + 1 : p, '-');
        if (dash)
            *dash = '\0';
        names[n++] = strcmp(p, "-") ? p : "minus";
        if (!dash)
            break;
    }
    if (mon_send_key(names, n, (int)hold, &err) < 0) {
        monitor_printf(m, "sendkey: %s\n", err);
        free(err);
    }
}

static void hmp_eject(struct monitor *m, int argc, char **argv)
{
    bool force = argc > 1 && !strcmp(argv[1], "-f");
    const char *dev = argv[force ? 2 : 1];
    char *err = NULL;

    if (!dev) {
        monitor_printf(m, "eject: which drive? (info block lists them)\n");
        return;
    }
    if (mon_drive_check(dev, &err) < 0) {
        monitor_printf(m, "eject: %s (info block lists them)\n", err);
        free(err);
        return;
    }
    if (mon_eject(dev, force, &err) < 0) {
        monitor_printf(m, "eject %s: %s\n", dev, err);
        free(err);
    }
}

static void hmp_change(struct monitor *m, int argc, char **argv)
{
    const char *format = argc > 3 ? argv[3] : NULL;
    char *err = NULL;

    if (argc < 3) {
        monitor_printf(m, "change: usage: change DEVICE FILE [FORMAT]\n");
        return;
    }
    if (mon_drive_check(argv[1], &err) < 0) {
        monitor_printf(m, "change: %s (info block lists them)\n", err);
        free(err);
        return;
    }
    if (format && mon_format_check(format, &err) < 0) {
        monitor_printf(m, "change: %s\n", err);
        free(err);
        return;
    }
    if (mon_blockdev_change_medium(argv[1], argv[2], format, &err) < 0) {
        monitor_printf(m, "change %s: %s\n", argv[1], err);
        free(err);
    }
}

/* set_link NAME on|off, in QEMU's words when it is refused */
static void hmp_set_link(struct monitor *m, int argc, char **argv)
{
    char *err = NULL;

    if (argc < 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
        monitor_printf(m, "Expected 'on' or 'off'\nTry \"help set_link\" for more information\n");
        return;
    }
    if (mon_set_link(argv[1], !strcmp(argv[2], "on"), &err) < 0) {
        monitor_printf(m, "Error: %s\n", err);
        free(err);
    }
}

/* hostfwd_add [NETDEV] RULE and hostfwd_remove [NETDEV] RULE, as QEMU's: NETDEV is a user backend's id */
static void hmp_hostfwd(struct monitor *m, int argc, char **argv, bool add)
{
    const char *netdev = argc > 2 ? argv[1] : NULL, *rule = argc > 2 ? argv[2] : argv[1];
    char *msg = NULL;
    int r;

    /* QEMU's words for a missing or an extra argument */
    if (argc < 2 || argc > 3) {
        monitor_printf(m, "%s: %s\nTry \"help %s\" for more information\n", argv[0],
                       argc < 2 ? "string expected" : "extraneous characters at the end of line", argv[0]);
        return;
    }
    r = add ? mon_hostfwd_add(netdev, rule, &msg) : mon_hostfwd_remove(netdev, rule, &msg);
    /* hostfwd_add says nothing when it worked; hostfwd_remove always answers */
    if (msg && (r < 0 || !add))
        monitor_printf(m, "%s\n", msg);
    free(msg);
}

static void hmp_hostfwd_add(struct monitor *m, int argc, char **argv)
{
    hmp_hostfwd(m, argc, argv, true);
}

static void hmp_hostfwd_remove(struct monitor *m, int argc, char **argv)
{
    hmp_hostfwd(m, argc, argv, false);
}

/* One line a command, in the order help lists them */
static const struct hmp_cmd hmp_cmds[] = {
    { "help|?", "[cmd]", "list the commands, or show one", hmp_help },
    { "info", "[item]", "show the machine's state (info alone lists the items)", hmp_info },
    { "cpu", "index", "choose the monitor's CPU (the one info registers shows)", hmp_cpu },
    { "xp", "/fmt addr", "show guest-physical memory: /[count][x|d|u|o|c][b|h|w|g] (xp /8xb 0xf0000)", hmp_xp },
    { "pmemsave", "addr size file", "save guest-physical memory from addr to a file", hmp_pmemsave },
    { "nmi", "", "send a non-maskable interrupt to every CPU (as an NMI button; kdump, watchdogs)", hmp_nmi },
    { "stop", "", "stop the virtual CPUs", hmp_stop },
    { "cont|c", "", "resume the virtual CPUs (and start them after -S)", hmp_cont },
    { "system_powerdown", "", "press the ACPI power button: the guest shuts down (a suspended one wakes)", hmp_system_powerdown },
    { "system_reset", "", "reset the machine", hmp_system_reset },
    { "system_wakeup", "", "wake the guest from suspend to RAM (ACPI S3)", hmp_system_wakeup },
    { "sendkey", "keys [hold_ms]", "press keys together, e.g. ctrl-alt-delete (held 100 ms)", hmp_sendkey },
    { "balloon", "target", "ask the guest to keep target MiB of RAM (the balloon takes the rest)", hmp_balloon },
    { "eject", "[-f] device", "take the disc out of a CD-ROM drive (-f: even when the guest locked it)", hmp_eject },
    { "change", "device file [format]", "put the disc image file in a CD-ROM drive", hmp_change },
    { "set_link", "name on|off", "change the link status of a network adapter (info network names them)", hmp_set_link },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
      "forward a host port to the guest through a user backend (-netdev user)", hmp_hostfwd_add },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport", "remove a host port's forwarding to the guest",
      hmp_hostfwd_remove },
    { "quit|q", "", "quit skiff", hmp_quit },
    { NULL, NULL, NULL, NULL },
};

void hmp_run_line(struct monitor *m, const char *line)
{
    char *copy = xstrdup(line), *argv[HMP_ARGS_MAX + 1], *save = NULL, *tok;
    int argc = 0;

    for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (argc == HMP_ARGS_MAX) {
            monitor_printf(m, "%s: too many arguments\n", argv[0]);
            goto out;
        }
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    if (!argc)
        goto out;
    for (const struct hmp_cmd *c = hmp_cmds; c->name; c++) {
        if (hmp_cmd_matches(c, argv[0])) {
            c->fn(m, argc, argv);
            goto out;
        }
    }
    monitor_printf(m, "unknown command: '%s' (help lists the commands)\n", argv[0]);
out:
    free(copy);
}
