/* monitor.c: the human monitor: QEMU's HMP commands (info, stop, cont, system_powerdown, system_wakeup, sendkey, eject, change, quit) over a chardev */
#define LOG_PREFIX "monitor: "
#include "monitor/monitor.h"
#include "block/block.h"
#include "chardev/chardev.h"
#include "hw/pc/acpi-pm.h" // acpi_pm_power_button
#include "ui/input.h"   // input_key_event
#include "hw/core/machine.h"
#include "hw/pc/pc.h"
#include "hw/core/guest-mem.h" // gmem_read
#include "hw/pci/pci.h" // pci_print_info
#include "target-x86/cpu.h"
#include "target-x86/smbios.h" // smbios_get_uuid
#include "util/log.h"
#include "util/main-loop.h"

#include <ctype.h>
#include <stdarg.h>

#define MON_LINE_MAX 1024
#define MON_ARGS_MAX 8
#define MON_MAX 8
#define SENDKEY_MAX 16
#define SENDKEY_HOLD_MS 100

struct monitor {
    struct chardev *chr;
    char line[MON_LINE_MAX];
    int len;
    bool overflow;          /* the line grew past MON_LINE_MAX: it is refused at Enter */
    bool last_cr;           /* a \n right after \r ends no second line */
    int esc;                /* in an escape sequence (cursor keys): 1 after ESC, 2 after ESC [ */
    bool banner_shown;
    int cpu;                /* the monitor's CPU: what info registers shows (QEMU's cpu N) */
    /* sendkey: keys held until the timer lets them go, last pressed first released */
    struct timer *release;
    unsigned held[SENDKEY_MAX];
    int nheld;
};

static struct {
    struct monitor *mons[MON_MAX];
    int n;
    bool no_file_writes;
} G;

void monitor_allow_file_writes(bool allow)
{
    G.no_file_writes = !allow;
}

static void mon_write(struct monitor *m, const char *s, size_t len)
{
    /* a terminal in raw mode needs \r\n */
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            chardev_write(m->chr, (const uint8_t *)s + start, i - start);
            chardev_write(m->chr, (const uint8_t *)"\r\n", 2);
            start = i + 1;
        }
    }
    chardev_write(m->chr, (const uint8_t *)s + start, len - start);
}

static void PRINTF_FMT(2, 3) mon_printf(struct monitor *m, const char *fmt, ...)
{
    char buf[1024], *s = buf;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(buf)) {
        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
    }
    mon_write(m, s, n);
    if (s != buf)
        free(s);
}

static void mon_prompt(struct monitor *m)
{
    mon_printf(m, "(skiff) ");
}

/* ---- drives, by QEMU's names: ide0-hd0 (-hda) .. ide1-cd0 (-cdrom) ---- */

struct drive {
    char name[16];
    bool cd;
    struct block_dev *bd;   /* NULL: no disc */
};

/* The drive at IDE index i (bus * 2 + unit), if there is one. */
static bool drive_at(int i, struct drive *d)
{
    if (!pc_ide_drive(i, &d->cd, &d->bd))
        return false;
    snprintf(d->name, sizeof(d->name), "ide%d-%s%d", i / 2, d->cd ? "cd" : "hd", i % 2);
    return true;
}

/* The drive index for a name, or -1. */
static int drive_find(const char *name)
{
    struct drive d;

    for (int i = 0; i < PC_MAX_IDE; i++)
        if (drive_at(i, &d) && !strcmp(d.name, name))
            return i;
    return -1;
}

/* ---- info ---- */

static void info_status(struct monitor *m, int argc, char **argv)
{
    /* QEMU's words; its "(shutdown)" and "(suspended)" are the reasons tools look for */
    mon_printf(m, "VM status: %s\n", machine_shut_down() ? "paused (shutdown)" :
                                     machine_suspended() ? "paused (suspended)" :
                                     machine_prelaunch() ? "paused (prelaunch)" :
                                     machine_running() ? "running" : "paused");
}

static void info_version(struct monitor *m, int argc, char **argv)
{
    mon_printf(m, "%s (skiff)\n", SKIFF_VERSION);
}

static void info_name(struct monitor *m, int argc, char **argv)
{
    if (machine_cfg.name)
        mon_printf(m, "%s\n", machine_cfg.name);
}

static void info_uuid(struct monitor *m, int argc, char **argv)
{
    uint8_t u[16];

    smbios_get_uuid(u);
    mon_printf(m, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", u[0], u[1],
               u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void info_kvm(struct monitor *m, int argc, char **argv)
{
    mon_printf(m, "kvm support: enabled\nkvm: %s\n", machine_cfg.qtest ? "off (-accel qtest)" : "on");
}

/* The number of vCPUs; with none (the test accelerator) the monitor says so. */
static int mon_cpus(struct monitor *m)
{
    int n = machine_cfg.qtest ? 0 : cpus_count();

    if (!n)
        mon_printf(m, "no CPUs (-accel qtest)\n");
    return n;
}

static void info_cpus(struct monitor *m, int argc, char **argv)
{
    int n = mon_cpus(m);

    /* QEMU's lines, which management tools parse to pin the vCPU threads; * is the monitor's CPU */
    for (int i = 0; i < n; i++)
        mon_printf(m, "%c CPU #%d: thread_id=%d\n", i == m->cpu ? '*' : ' ', i, (int)cpu_get(i)->tid);
}

/* Text a printer writes into a FILE, out on the monitor (info registers, info pci). */
static void mon_print_with(struct monitor *m, const char *what, void (*print)(void *arg, FILE *f),
                           void *arg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f) {
        mon_printf(m, "%s: out of memory\n", what);
        return;
    }
    print(arg, f);
    fclose(f);
    mon_printf(m, "%s", text);
    free(text);
}

static void print_pci(void *arg, FILE *f)
{
    pci_print_info(f);
}

static void info_pci(struct monitor *m, int argc, char **argv)
{
    mon_print_with(m, "info pci", print_pci, NULL);
}

static void print_registers(void *arg, FILE *f)
{
    cpus_dump_state(*(int *)arg, f);
}

/* QEMU's spelling: the monitor's CPU alone (cpu N chooses it), or every CPU with -a */
static void info_registers(struct monitor *m, int argc, char **argv)
{
    bool all = argc > 1 && !strcmp(argv[1], "-a");
    int which;

    if (argc > 1 && !all) {
        mon_printf(m, "info registers: unknown option '%s' (-a shows every CPU)\n", argv[1]);
        return;
    }
    if (!mon_cpus(m))
        return;
    which = all ? -1 : m->cpu;
    mon_print_with(m, "info registers", print_registers, &which);
}

static void info_block(struct monitor *m, int argc, char **argv)
{
    struct drive d;
    bool locked, open;

    for (int i = 0; i < PC_MAX_IDE; i++) {
        if (!drive_at(i, &d))
            continue;
        if (!d.bd)
            mon_printf(m, "%s: [not inserted]\n", d.name);
        else
            mon_printf(m, "%s: %s (%s%s)\n", d.name, block_filename(d.bd), block_format(d.bd),
                       block_is_read_only(d.bd) ? ", read-only" : "");
        if (d.cd && pc_cd_tray(i, &locked, &open))
            mon_printf(m, "    Removable device: %slocked, tray %s\n", locked ? "" : "not ",
                       open ? "open" : "closed");
        if (d.bd)
            mon_printf(m, "    Cache mode:       %s\n", block_cache_mode(d.bd));
    }
}

static void info_blockstats(struct monitor *m, int argc, char **argv)
{
    struct drive d;

    for (int i = 0; i < PC_MAX_IDE; i++) {
        struct block_stats st = { 0 };

        if (!drive_at(i, &d))
            continue;
        if (d.bd)
            block_get_stats(d.bd, &st);
        mon_printf(m, "%s: rd_bytes=%" PRIu64 " wr_bytes=%" PRIu64 " rd_operations=%" PRIu64
                   " wr_operations=%" PRIu64 " flush_operations=%" PRIu64 " wr_total_time_ns=%" PRIu64
                   " rd_total_time_ns=%" PRIu64 " flush_total_time_ns=%" PRIu64
                   " failed_operations=%" PRIu64 "\n", d.name, st.rd_bytes, st.wr_bytes, st.rd_ops,
                   st.wr_ops, st.flush_ops, st.wr_ns, st.rd_ns, st.flush_ns, st.failed_ops);
    }
}

static const struct {
    const char *name;
    void (*fn)(struct monitor *m, int argc, char **argv);
    const char *help;
} info_cmds[] = {
    { "block", info_block, "the drives and their media" },
    { "blockstats", info_blockstats, "each drive's request counts, bytes and times" },
    { "cpus", info_cpus, "the virtual CPUs" },
    { "kvm", info_kvm, "whether KVM runs the guest" },
    { "name", info_name, "the guest's -name" },
    { "pci", info_pci, "the PCI functions, their BARs and interrupts" },
    { "registers", info_registers, "the CPU's registers (-a: every CPU's)" },
    { "status", info_status, "whether the VM runs" },
    { "uuid", info_uuid, "the machine's UUID (-uuid)" },
    { "version", info_version, "skiff's version" },
};

/* ---- sendkey: QEMU's key names, as PC scan code set 1 (hw/input.h) ---- */

static const struct { const char *name; unsigned key; } keys[] = {
    { "esc", 0x01 }, { "1", 0x02 }, { "2", 0x03 }, { "3", 0x04 }, { "4", 0x05 }, { "5", 0x06 },
    { "6", 0x07 }, { "7", 0x08 }, { "8", 0x09 }, { "9", 0x0a }, { "0", 0x0b }, { "minus", 0x0c },
    { "equal", 0x0d }, { "backspace", 0x0e }, { "tab", 0x0f }, { "q", 0x10 }, { "w", 0x11 },
    { "e", 0x12 }, { "r", 0x13 }, { "t", 0x14 }, { "y", 0x15 }, { "u", 0x16 }, { "i", 0x17 },
    { "o", 0x18 }, { "p", 0x19 }, { "bracket_left", 0x1a }, { "bracket_right", 0x1b },
    { "ret", 0x1c }, { "ctrl", 0x1d }, { "a", 0x1e }, { "s", 0x1f }, { "d", 0x20 }, { "f", 0x21 },
    { "g", 0x22 }, { "h", 0x23 }, { "j", 0x24 }, { "k", 0x25 }, { "l", 0x26 },
    { "semicolon", 0x27 }, { "apostrophe", 0x28 }, { "grave_accent", 0x29 }, { "shift", 0x2a },
    { "backslash", 0x2b }, { "z", 0x2c }, { "x", 0x2d }, { "c", 0x2e }, { "v", 0x2f },
    { "b", 0x30 }, { "n", 0x31 }, { "m", 0x32 }, { "comma", 0x33 }, { "dot", 0x34 },
    { "slash", 0x35 }, { "shift_r", 0x36 }, { "asterisk", 0x37 }, { "kp_multiply", 0x37 },
    { "alt", 0x38 }, { "spc", 0x39 }, { "caps_lock", 0x3a }, { "f1", 0x3b }, { "f2", 0x3c },
    { "f3", 0x3d }, { "f4", 0x3e }, { "f5", 0x3f }, { "f6", 0x40 }, { "f7", 0x41 },
    { "f8", 0x42 }, { "f9", 0x43 }, { "f10", 0x44 }, { "num_lock", 0x45 },
    { "scroll_lock", 0x46 }, { "kp_7", 0x47 }, { "kp_8", 0x48 }, { "kp_9", 0x49 },
    { "kp_subtract", 0x4a }, { "kp_4", 0x4b }, { "kp_5", 0x4c }, { "kp_6", 0x4d },
    { "kp_add", 0x4e }, { "kp_1", 0x4f }, { "kp_2", 0x50 }, { "kp_3", 0x51 }, { "kp_0", 0x52 },
    { "kp_decimal", 0x53 }, { "less", 0x56 }, { "f11", 0x57 }, { "f12", 0x58 },
    { "kp_enter", 0x11c }, { "ctrl_r", 0x11d }, { "kp_divide", 0x135 }, { "print", 0x137 },
    { "sysrq", 0x137 }, { "alt_r", 0x138 }, { "home", 0x147 }, { "up", 0x148 },
    { "pgup", 0x149 }, { "left", 0x14b }, { "right", 0x14d }, { "end", 0x14f },
    { "down", 0x150 }, { "pgdn", 0x151 }, { "insert", 0x152 }, { "delete", 0x153 },
    { "meta_l", 0x15b }, { "meta_r", 0x15c }, { "menu", 0x15d }, { "pause", 0x245 },
};

/* A key by QEMU's name, or as a number (0x1d: a set 1 code, 0xe0 prefix as 0x1xx). */
static int key_parse(const char *s, unsigned *key)
{
    char *end;
    unsigned long v;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (!strcmp(keys[i].name, s)) {
            *key = keys[i].key;
            return 0;
        }
    }
    errno = 0;
    v = strtoul(s, &end, 0);
    if (!errno && *s && !*end && v > 0 && v < 0x200 && (v & 0x7f)) {
        *key = v;
        return 0;
    }
    return -EINVAL;
}

static void sendkey_release(void *opaque)
{
    struct monitor *m = opaque;

    while (m->nheld)
        input_key_event(m->held[--m->nheld], false);
}

/* ---- commands ---- */

struct mon_cmd {
    const char *name;       /* "quit|q": the name and its short forms */
    const char *args;
    const char *help;
    void (*fn)(struct monitor *m, int argc, char **argv);
};

static const struct mon_cmd mon_cmds[];

static bool cmd_matches(const struct mon_cmd *c, const char *name)
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

static void cmd_help(struct monitor *m, int argc, char **argv)
{
    for (const struct mon_cmd *c = mon_cmds; c->name; c++) {
        if (argc > 1 && !cmd_matches(c, argv[1]))
            continue;
        mon_printf(m, "%s%s%s -- %s\n", c->name, *c->args ? " " : "", c->args, c->help);
    }
}

static void cmd_info(struct monitor *m, int argc, char **argv)
{
    if (argc < 2) {
        for (size_t i = 0; i < ARRAY_SIZE(info_cmds); i++)
            mon_printf(m, "info %s -- %s\n", info_cmds[i].name, info_cmds[i].help);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(info_cmds); i++) {
        if (!strcmp(info_cmds[i].name, argv[1])) {
            info_cmds[i].fn(m, argc - 1, argv + 1);
            return;
        }
    }
    mon_printf(m, "info: unknown item '%s' (info alone lists them)\n", argv[1]);
}

static void cmd_cpu(struct monitor *m, int argc, char **argv)
{
    int n;
    char *end;
    long i;

    if (argc < 2) {
        mon_printf(m, "cpu: give the CPU's index (info cpus lists them)\n");
        return;
    }
    if (!(n = mon_cpus(m)))
        return;
    i = strtol(argv[1], &end, 10);
    if (*end || end == argv[1] || i < 0 || i >= n) {
        mon_printf(m, "invalid CPU index\n");     /* QEMU's words */
        return;
    }
    m->cpu = (int)i;
}

static void cmd_nmi(struct monitor *m, int argc, char **argv)
{
    int r;

    if (!mon_cpus(m))
        return;
    r = cpus_nmi();
    if (r < 0)
        mon_printf(m, "nmi: KVM would not take it: %s\n", strerror(-r));
}

/*
 * xp /FMT ADDR, as QEMU's: guest-physical memory on the monitor. FMT is [count][x|d|u|o|c][b|h|w|g]
 * (count values, as hex, signed, unsigned, octal or characters, each a byte, half word, word or
 * giant); lines of 8 bytes, or 16 for wider values, each after its address.
 */
#define XP_MAX_VALUES 4096

static void cmd_xp(struct monitor *m, int argc, char **argv)
{
    const char *fmt = argc > 2 ? argv[1] : "/1xw", *p;
    unsigned long count = 1;
    char format = 'x';
    unsigned size = 4, line;
    uint64_t addr;

    if (argc < 2 || (argc > 2 && fmt[0] != '/') || parse_uint(argv[argc > 2 ? 2 : 1], &addr) < 0) {
        mon_printf(m, "xp: give /FMT and a guest-physical address (xp /8xb 0xf0000)\n");
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
        mon_printf(m, "xp: '%s': the format is /[count][x|d|u|o|c][b|h|w|g], at most %d values\n",
                   fmt, XP_MAX_VALUES);
        return;
    }
    if (format == 'c')
        size = 1;
    line = size == 1 ? 8 : 16;
    for (unsigned long i = 0; i < count; i++) {
        uint64_t a = addr + i * size, v = 0;
        uint8_t b[8];

        if (gmem_read(a, b, size) < 0) {
            mon_printf(m, "%sxp: 0x%" PRIx64 " is not guest RAM\n", i % (line / size) ? "\n" : "", a);
            return;
        }
        for (unsigned k = 0; k < size; k++)
            v |= (uint64_t)b[k] << (8 * k);
        if (i % (line / size) == 0)
            mon_printf(m, "%s%016" PRIx64 ":", i ? "\n" : "", a);
        switch (format) {
        case 'x':
            mon_printf(m, " 0x%0*" PRIx64, (int)size * 2, v);
            break;
        case 'o':
            mon_printf(m, " %#" PRIo64, v);
            break;
        case 'u':
            mon_printf(m, " %" PRIu64, v);
            break;
        case 'd':
            /* sign-extend from the value's size */
            mon_printf(m, " %" PRId64, size == 8 ? (int64_t)v : (int64_t)(v << (64 - 8 * size)) >> (64 - 8 * size));
            break;
        default:
            if (v >= 0x20 && v < 0x7f && v != '\\' && v != '\'')
                mon_printf(m, " '%c'", (int)v);
            else
                mon_printf(m, " '\\x%02x'", (unsigned)v);
            break;
        }
    }
    mon_printf(m, "\n");
}

/* pmemsave ADDR SIZE FILE, as QEMU's: guest-physical memory into a file, 64 KiB at a time */
static void cmd_pmemsave(struct monitor *m, int argc, char **argv)
{
    uint64_t addr, size, done = 0;
    uint8_t buf[65536];
    FILE *f;

    if (argc < 4 || parse_uint(argv[1], &addr) < 0 || parse_uint(argv[2], &size) < 0) {
        mon_printf(m, "pmemsave: give the guest-physical address, the size and a file "
                      "(pmemsave 0xf0000 65536 bios.bin)\n");
        return;
    }
    if (size > UINT64_MAX - addr) {
        mon_printf(m, "pmemsave: 0x%" PRIx64 " + 0x%" PRIx64 " wraps around\n", addr, size);
        return;
    }
    if (G.no_file_writes) {
        mon_printf(m, "pmemsave: this monitor writes no files\n");
        return;
    }
    f = fopen(argv[3], "wb");
    if (!f) {
        mon_printf(m, "pmemsave: '%s': %s\n", argv[3], strerror(errno));
        return;
    }
    while (done < size) {
        size_t n = MIN(sizeof(buf), size - done);

        if (gmem_read(addr + done, buf, n) < 0) {
            mon_printf(m, "pmemsave: 0x%" PRIx64 " is not guest RAM (%" PRIu64 " bytes saved)\n",
                       addr + done, done);
            break;
        }
        if (fwrite(buf, 1, n, f) != n) {
            mon_printf(m, "pmemsave: '%s': %s\n", argv[3], strerror(errno));
            break;
        }
        done += n;
    }
    if (fclose(f) != 0 && done == size)
        mon_printf(m, "pmemsave: '%s': %s\n", argv[3], strerror(errno));
}

static void cmd_stop(struct monitor *m, int argc, char **argv)
{
    machine_stop();
}

static void cmd_cont(struct monitor *m, int argc, char **argv)
{
    char *err = NULL;

    if (machine_cont(&err) < 0) {
        mon_printf(m, "%s\n", err);
        free(err);
    }
}

static void cmd_quit(struct monitor *m, int argc, char **argv)
{
    loop_quit(0);
}

static void cmd_system_powerdown(struct monitor *m, int argc, char **argv)
{
    struct device *pm = pc_acpi_pm();

    if (!pm) {
        mon_printf(m, "system_powerdown: this machine has no ACPI power button\n");
        return;
    }
    acpi_pm_power_button(pm);
}

/* QEMU's system_wakeup: wake a guest suspended to RAM, as if by the power button */
static void cmd_system_wakeup(struct monitor *m, int argc, char **argv)
{
    char *err = NULL;

    if (machine_request_wakeup(MACHINE_WAKEUP_OTHER, &err) < 0) {
        mon_printf(m, "Error: %s\n", err);
        free(err);
    }
}

static void cmd_system_reset(struct monitor *m, int argc, char **argv)
{
    machine_request_reset();
}

static void cmd_sendkey(struct monitor *m, int argc, char **argv)
{
    unsigned codes[SENDKEY_MAX];
    int n = 0;
    long hold = SENDKEY_HOLD_MS;
    char *p, *dash, *end;

    if (argc < 2) {
        mon_printf(m, "sendkey: which keys? (e.g. sendkey ctrl-alt-delete)\n");
        return;
    }
    if (argc > 2) {
        errno = 0;
        hold = strtol(argv[2], &end, 10);
        if (errno || *end || hold < 0 || hold > 60000) {
            mon_printf(m, "sendkey: hold time '%s': milliseconds, 0 to 60000\n", argv[2]);
            return;
        }
    }
    /* "ctrl-alt-delete"; a lone "-" is the minus key */
    for (p = argv[1]; *p; p = dash ? dash + 1 : p + strlen(p)) {
        dash = strchr(p[0] == '-' ? p + 1 : p, '-');
        if (dash)
            *dash = '\0';
        if (n == SENDKEY_MAX) {
            mon_printf(m, "sendkey: at most %d keys at once\n", SENDKEY_MAX);
            return;
        }
        if (!strcmp(p, "-"))
            codes[n] = 0x0c;
        else if (key_parse(p, &codes[n]) < 0) {
            mon_printf(m, "sendkey: unknown key '%s'\n", p);
            return;
        }
        n++;
        if (!dash)
            break;
    }
    /* keys still held from the last sendkey go up first */
    timer_del(m->release);
    sendkey_release(m);
    for (int i = 0; i < n; i++) {
        input_key_event(codes[i], true);
        m->held[m->nheld++] = codes[i];
    }
    timer_mod(m->release, clock_get_ns(CLK_REALTIME) + hold * 1000000LL);
}

static void cmd_eject(struct monitor *m, int argc, char **argv)
{
    bool force = argc > 1 && !strcmp(argv[1], "-f");
    const char *dev = argv[force ? 2 : 1];
    char *err = NULL;
    int i;

    if (!dev) {
        mon_printf(m, "eject: which drive? (info block lists them)\n");
        return;
    }
    i = drive_find(dev);
    if (i < 0) {
        mon_printf(m, "eject: no drive '%s' (info block lists them)\n", dev);
        return;
    }
    if (pc_cd_change(i, NULL, NULL, force, &err) < 0) {
        mon_printf(m, "eject %s: %s\n", dev, err);
        free(err);
    }
}

static void cmd_change(struct monitor *m, int argc, char **argv)
{
    char *err = NULL;
    int i;

    if (argc < 3) {
        mon_printf(m, "change: usage: change DEVICE FILE [FORMAT]\n");
        return;
    }
    i = drive_find(argv[1]);
    if (i < 0) {
        mon_printf(m, "change: no drive '%s' (info block lists them)\n", argv[1]);
        return;
    }
    if (argc > 3 && strcmp(argv[3], "raw") && strcmp(argv[3], "qcow2")) {
        mon_printf(m, "change: format '%s': skiff reads raw and qcow2\n", argv[3]);
        return;
    }
    if (pc_cd_change(i, argv[2], argc > 3 ? argv[3] : NULL, true, &err) < 0) {
        mon_printf(m, "change %s: %s\n", argv[1], err);
        free(err);
    }
}

static const struct mon_cmd mon_cmds[] = {
    { "help|?", "[cmd]", "list the commands, or show one", cmd_help },
    { "info", "[item]", "show the machine's state (info alone lists the items)", cmd_info },
    { "cpu", "index", "choose the monitor's CPU (the one info registers shows)", cmd_cpu },
    { "xp", "/fmt addr", "show guest-physical memory: /[count][x|d|u|o|c][b|h|w|g] (xp /8xb 0xf0000)", cmd_xp },
    { "pmemsave", "addr size file", "save guest-physical memory from addr to a file", cmd_pmemsave },
    { "nmi", "", "send a non-maskable interrupt to every CPU (as an NMI button; kdump, watchdogs)", cmd_nmi },
    { "stop", "", "stop the virtual CPUs", cmd_stop },
    { "cont|c", "", "resume the virtual CPUs (and start them after -S)", cmd_cont },
    { "system_powerdown", "", "press the ACPI power button: the guest shuts down (a suspended one wakes)", cmd_system_powerdown },
    { "system_reset", "", "reset the machine", cmd_system_reset },
    { "system_wakeup", "", "wake the guest from suspend to RAM (ACPI S3)", cmd_system_wakeup },
    { "sendkey", "keys [hold_ms]", "press keys together, e.g. ctrl-alt-delete (held 100 ms)", cmd_sendkey },
    { "eject", "[-f] device", "take the disc out of a CD-ROM drive (-f: even when the guest locked it)", cmd_eject },
    { "change", "device file [format]", "put the disc image file in a CD-ROM drive", cmd_change },
    { "quit|q", "", "quit skiff", cmd_quit },
    { NULL, NULL, NULL, NULL },
};

void monitor_run_line(struct monitor *m, const char *line)
{
    char *copy = xstrdup(line), *argv[MON_ARGS_MAX + 1], *save = NULL, *tok;
    int argc = 0;

    for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (argc == MON_ARGS_MAX) {
            mon_printf(m, "%s: too many arguments\n", argv[0]);
            goto out;
        }
        argv[argc++] = tok;
    }
    argv[argc] = NULL;
    if (!argc)
        goto out;
    for (const struct mon_cmd *c = mon_cmds; c->name; c++) {
        if (cmd_matches(c, argv[0])) {
            c->fn(m, argc, argv);
            goto out;
        }
    }
    mon_printf(m, "unknown command: '%s' (help lists the commands)\n", argv[0]);
out:
    free(copy);
}

/* ---- line editing ---- */

static void mon_enter(struct monitor *m)
{
    mon_printf(m, "\n");
    if (m->overflow)
        mon_printf(m, "the line is too long (at most %d characters)\n", MON_LINE_MAX - 1);
    else {
        m->line[m->len] = '\0';
        monitor_run_line(m, m->line);
    }
    m->len = 0;
    m->overflow = false;
    mon_prompt(m);
}

void monitor_input(struct monitor *m, const uint8_t *buf, int len)
{
    for (int i = 0; i < len; i++) {
        uint8_t ch = buf[i];
        bool cr = m->last_cr;

        m->last_cr = false;
        if (m->esc == 1) {
            m->esc = ch == '[' || ch == 'O' ? 2 : 0;
            continue;
        }
        if (m->esc == 2) {
            /* parameters and intermediates until the final byte */
            if (ch >= 0x40 && ch <= 0x7e)
                m->esc = 0;
            continue;
        }
        switch (ch) {
        case '\r':
            m->last_cr = true;
            mon_enter(m);
            break;
        case '\n':
            if (!cr)
                mon_enter(m);
            break;
        case 0x7f: case 0x08:
            if (m->len > 0) {
                m->len--;
                mon_printf(m, "\b \b");
            }
            break;
        case 0x15:      /* Ctrl-U: forget the line */
            while (m->len > 0) {
                m->len--;
                mon_printf(m, "\b \b");
            }
            m->overflow = false;
            break;
        case 0x1b:
            m->esc = 1;
            break;
        default:
            if (ch < 0x20)
                break;
            if (m->len < MON_LINE_MAX - 1) {
                m->line[m->len++] = (char)ch;
                chardev_write(m->chr, &ch, 1);
            } else {
                m->overflow = true;
            }
        }
    }
}

/* ---- the chardev frontend ---- */

static int mon_can_read(void *opaque)
{
    return MON_LINE_MAX;
}

static void mon_read(void *opaque, const uint8_t *buf, int len)
{
    monitor_input(opaque, buf, len);
}

static void mon_greet(struct monitor *m)
{
    if (!m->banner_shown)
        mon_printf(m, "skiff %s monitor - type 'help' for more information\n", SKIFF_VERSION);
    m->banner_shown = true;
    m->len = 0;
    m->esc = 0;
    mon_prompt(m);
}

static void mon_event(void *opaque, enum chardev_event ev)
{
    struct monitor *m = opaque;

    switch (ev) {
    case CHR_EVENT_OPENED:
        /* a socket client: each one gets the banner; on a mux, only once switched to */
        m->banner_shown = false;
        if (chardev_has_focus(m->chr, m))
            mon_greet(m);
        break;
    case CHR_EVENT_FOCUS:
        mon_greet(m);
        break;
    default:
        break;
    }
}

static const struct chardev_fe_ops mon_fe_ops = {
    .can_read = mon_can_read,
    .read = mon_read,
    .event = mon_event,
};

struct monitor *monitor_new(struct chardev *c, char **err)
{
    struct monitor *m;

    if (G.n == MON_MAX) {
        *err = xasprintf("at most %d monitors", MON_MAX);
        return NULL;
    }
    m = xnew(struct monitor);
    m->chr = c;
    m->release = timer_new(CLK_REALTIME, sendkey_release, m);
    if (chardev_attach(c, &mon_fe_ops, m) < 0) {
        *err = xasprintf("chardev '%s' is in use by another device (a mux, mon:stdio, can share)",
                         chardev_id(c));
        timer_free(m->release);
        free(m);
        return NULL;
    }
    G.mons[G.n++] = m;
    return m;
}

void monitor_cleanup_all(void)
{
    for (int i = 0; i < G.n; i++) {
        struct monitor *m = G.mons[i];

        chardev_detach(m->chr, m);
        timer_free(m->release);
        free(m);
    }
    G.n = 0;
}
