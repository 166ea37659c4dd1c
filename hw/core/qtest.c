/* qtest.c: the qtest protocol server: one line a command, looked up in a table, with one handler each (ports, memory, the clock, interrupt lines, machine requests, and skiff's own: state, dirty pages, block breakpoints) */
#define LOG_PREFIX "qtest: "
#include "hw/core/qtest-internal.h"
#include "block/block.h" // block_debug_break, block_debug_wait, block_debug_resume
#include "hw/core/device.h"
#include "hw/core/guest-mem.h"
#include "hw/core/machine.h"
#include "migration/savevm.h" // savevm_save_file, savevm_load_file
#include "migration/vmstate.h" // vmstate_save, vmstate_patch
#include "ui/input.h"
#include "util/log.h"
#include "util/main-loop.h"

#include <stdarg.h>

/* the most one read or memset covers; a write is bounded by the line, which holds it in hex */
#define DATA_MAX (16 * MiB)
#define LINE_MAX_LEN (8 * MiB + 256)
#define MAX_WORDS 16

/* One line to the test, whole: the test reads every reply, so waiting for it is safe. */
void qtest_send(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    if (!qtest_state.chr)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    chardev_write_all(qtest_state.chr, (const uint8_t *)buf, strlen(buf));
}

static bool parse_num(const char *s, uint64_t *v)
{
    return s && parse_uint(s, v) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Guest-physical access for read/write: RAM directly, anything else through MMIO dispatch. */
static void phys_rw(uint64_t addr, uint8_t *buf, size_t len, bool write)
{
    for (size_t i = 0; i < len;) {
        size_t n = 1;

        if (gmem_is_ram(addr + i, 1)) {
            while (i + n < len && gmem_is_ram(addr + i + n, 1) && n < 4096)
                n++;
            if (write)
                gmem_write(addr + i, buf + i, n);
            else
                gmem_read(addr + i, buf + i, n);
        } else {
            io_dispatch(IO_SPACE_MMIO, addr + i, buf + i, 1, write);
        }
        i += n;
    }
}

/* The access size a command's last letter says: b, w, l, q. */
static unsigned size_of(char c)
{
    return c == 'b' ? 1 : c == 'w' ? 2 : c == 'l' ? 4 : 8;
}

/*
 * Each handler gets the command's words (w[0] the command) and replies once. It returns false
 * when the words are malformed; the server then replies so.
 */
typedef bool qtest_cmd_fn(char **w, int n);

/* ---- ports and memory ---- */

static bool cmd_out(char **w, int n)
{
    uint64_t a, v;

    if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v) || a > 0xffff)
        return false;
    qtest_io_write(IO_SPACE_PIO, a, v, size_of(w[0][3]));
    qtest_send("OK\n");
    return true;
}

static bool cmd_in(char **w, int n)
{
    unsigned size = size_of(w[0][2]);
    uint64_t a, v = 0;

    if (n < 2 || !parse_num(w[1], &a) || a > 0xffff)
        return false;
    io_dispatch(IO_SPACE_PIO, a, &v, size, false);
    qtest_send("OK 0x%0*" PRIx64 "\n", size * 2, v);
    return true;
}

static bool cmd_writeN(char **w, int n)
{
    unsigned size = size_of(w[0][5]);
    uint64_t a, v;

    if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v))
        return false;
    if (gmem_is_ram(a, size))
        gmem_write(a, &v, size);
    else
        qtest_io_write(IO_SPACE_MMIO, a, v, size);
    qtest_send("OK\n");
    return true;
}

static bool cmd_readN(char **w, int n)
{
    unsigned size = size_of(w[0][4]);
    uint64_t a, v = 0;

    if (n < 2 || !parse_num(w[1], &a))
        return false;
    if (gmem_is_ram(a, size))
        gmem_read(a, &v, size);
    else
        io_dispatch(IO_SPACE_MMIO, a, &v, size, false);
    qtest_send("OK 0x%0*" PRIx64 "\n", size * 2, v);
    return true;
}

static bool cmd_read(char **w, int n)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t a, len;
    uint8_t *buf;
    char *hex;

    if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || len > DATA_MAX)
        return false;
    buf = xzalloc(len);
    hex = xmalloc(2 * len + 6);
    phys_rw(a, buf, len, false);
    memcpy(hex, "OK 0x", 5);
    for (uint64_t i = 0; i < len; i++) {
        hex[5 + 2 * i] = digits[buf[i] >> 4];
        hex[6 + 2 * i] = digits[buf[i] & 15];
    }
    hex[5 + 2 * len] = '\n';
    chardev_write_all(qtest_state.chr, (const uint8_t *)hex, 2 * len + 6);
    free(hex);
    free(buf);
    return true;
}

static bool cmd_write(char **w, int n)
{
    uint64_t a, len;
    const char *h;
    uint8_t *buf;

    if (n < 4 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || len > DATA_MAX)
        return false;
    h = w[3];
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
        h += 2;
    buf = xzalloc(len);
    for (uint64_t i = 0; i < len && h[2 * i] && h[2 * i + 1]; i++) {
        int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            free(buf);
            return false;
        }
        buf[i] = hi << 4 | lo;
    }
    phys_rw(a, buf, len, true);
    free(buf);
    qtest_send("OK\n");
    return true;
}

static bool cmd_memset(char **w, int n)
{
    uint64_t a, len, v;
    uint8_t *buf;

    if (n < 4 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || !parse_num(w[3], &v) || len > DATA_MAX)
        return false;
    buf = xmalloc(len);
    memset(buf, (int)v, len);
    phys_rw(a, buf, len, true);
    free(buf);
    qtest_send("OK\n");
    return true;
}

/* ---- the clock and interrupt lines ---- */

static bool cmd_clock_step(char **w, int n)
{
    uint64_t v;
    int64_t t;

    if (n >= 2 && !parse_num(w[1], &v))
        return false;
    t = clock_virtual_step(n >= 2 ? (int64_t)v : -1);
    qtest_send("OK %" PRId64 "\n", t);
    return true;
}

static bool cmd_clock_set(char **w, int n)
{
    int64_t now = clock_get_ns(CLK_VIRTUAL), t;
    uint64_t v;

    if (n < 2 || !parse_num(w[1], &v))
        return false;
    t = (int64_t)v > now ? clock_virtual_step((int64_t)v - now) : now;
    qtest_send("OK %" PRId64 "\n", t);
    return true;
}

static bool cmd_irq_intercept(char **w, int n)
{
    qtest_state.intercept = true;
    qtest_send("OK\n");
    return true;
}

/* skiff: the current level of a GSI */
static bool cmd_irq_level(char **w, int n)
{
    uint64_t a;

    if (n < 2 || !parse_num(w[1], &a) || a >= QTEST_LINE_GSIS)
        return false;
    qtest_send("OK %d\n", qtest_state.gsi_level[a] > 0);
    return true;
}

/* skiff: the guest acknowledges GSI N at its interrupt controller (resample irqfds) */
static bool cmd_eoi(char **w, int n)
{
    uint64_t a;

    if (n < 2 || !parse_num(w[1], &a) || a >= QTEST_LINE_GSIS)
        return false;
    qtest_eoi(a);
    qtest_send("OK\n");
    return true;
}

/* ---- the machine ---- */

static bool cmd_system_reset(char **w, int n)
{
    machine_request_reset();
    qtest_send("OK\n");
    return true;
}

/* skiff: press the power button */
static bool cmd_powerdown(char **w, int n)
{
    char *err = NULL;

    if (machine_request_powerdown(&err) < 0)
        qtest_send("ERR %s\n", err);
    else
        qtest_send("OK\n");
    free(err);
    return true;
}

/* skiff: a key from the input path (set 1 code, 0x100 for E0 keys), down 1 or up 0 */
static bool cmd_input_key(char **w, int n)
{
    uint64_t a, v;

    if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v))
        return false;
    input_key_event(a, v);
    qtest_send("OK\n");
    return true;
}

/* skiff: relative pointer motion DX DY DZ BUTTONS (signed decimal) */
static bool cmd_input_rel(char **w, int n)
{
    if (n < 5)
        return false;
    input_rel_event(atoi(w[1]), atoi(w[2]), atoi(w[3]), atoi(w[4]));
    qtest_send("OK\n");
    return true;
}

/* ---- state ---- */

/* skiff: save every device and load into a fresh copy; see tests/qtest */
static bool cmd_vmstate_roundtrip(char **w, int n)
{
    char *err = NULL;
    int count;

    if (device_vmstate_roundtrip_all(&count, &err) < 0)
        qtest_send("ERR %s\n", err);
    else
        qtest_send("OK %d\n", count);
    free(err);
    return true;
}

/* skiff: DEV FIELD=VALUE...: save DEV's state, change fields as a hostile stream would, load it */
static bool cmd_vmstate_load_patched(char **w, int n)
{
    struct device *dev = n > 1 ? device_find(w[1]) : NULL;
    struct vmbuf b;
    char *err = NULL;
    uint64_t v;
    int i;

    if (!dev || !dev->type->vmsd) {
        qtest_send("ERR no device '%s' with state\n", n > 1 ? w[1] : "");
        return true;
    }
    vmbuf_init(&b);
    vmstate_save(dev->type->vmsd, dev, &b);
    for (i = 2; i < n; i++) {
        char *eq = strchr(w[i], '=');

        if (!eq || !parse_num(eq + 1, &v))
            break;
        *eq = '\0';
        if (vmstate_patch(dev->type->vmsd, &b, w[i], v) < 0)
            break;
    }
    if (i < n)
        qtest_send("ERR cannot set '%s'\n", w[i]);
    else if (device_vmstate_load(dev, &b, &err) < 0)
        qtest_send("ERR %s\n", err);
    else
        qtest_send("OK\n");
    free(err);
    vmbuf_free(&b);
    return true;
}

/* skiff: FILE: the machine's state (clock, RAM, devices) to a file, or from one into a second
 * skiff started with the same options, as an incoming migration will */
static bool cmd_vmstate_file(char **w, int n)
{
    char *err = NULL;

    if (n < 2)
        return false;
    if ((w[0][8] == 's' ? savevm_save_file(w[1], &err) : savevm_load_file(w[1], &err)) < 0)
        qtest_send("ERR %s\n", err);
    else
        qtest_send("OK\n");
    free(err);
    return true;
}

/* skiff: the migration client's dirty bitmaps of every region, cleared and started */
static bool cmd_dirty_start(char **w, int n)
{
    gmem_dirty_start_all(DIRTY_MIGRATION);
    qtest_send("OK\n");
    return true;
}

/* skiff: ADDR: was the page written since the last look (migration's bitmap)? */
static bool cmd_dirty_test_clear(char **w, int n)
{
    struct ram_region *rr;
    uint64_t a, off;

    if (n < 2 || !parse_num(w[1], &a))
        return false;
    gmem_dirty_sync();
    rr = gmem_region_at(a, &off);
    if (!rr)
        qtest_send("ERR no RAM at 0x%" PRIx64 "\n", a);
    else
        qtest_send("OK %d\n", ram_region_dirty_test_clear(rr, DIRTY_MIGRATION, off / GUEST_PAGE_SIZE));
    return true;
}

/* ---- block breakpoints ---- */

/* skiff: hold the next block request that reaches point w[1] in its worker */
static bool cmd_block_break(char **w, int n)
{
    if (n < 2)
        return false;
    if (block_debug_break(w[1]) < 0)
        qtest_send("ERR no such point '%s'\n", w[1]);
    else
        qtest_send("OK\n");
    return true;
}

/* skiff: wait (default 10 s) until a request is held at the point */
static bool cmd_block_wait_break(char **w, int n)
{
    if (block_debug_wait(n > 1 ? atoi(w[1]) : 10000) < 0)
        qtest_send("ERR no request reached the breakpoint\n");
    else
        qtest_send("OK\n");
    return true;
}

static bool cmd_block_resume(char **w, int n)
{
    block_debug_resume();
    qtest_send("OK\n");
    return true;
}

static bool cmd_endianness(char **w, int n)
{
    qtest_send("OK little\n");
    return true;
}

/* ---- the table ---- */

static const struct {
    const char *name;
    qtest_cmd_fn *fn;
} qtest_cmds[] = {
    { "outb", cmd_out }, { "outw", cmd_out }, { "outl", cmd_out },
    { "inb", cmd_in }, { "inw", cmd_in }, { "inl", cmd_in },
    { "writeb", cmd_writeN }, { "writew", cmd_writeN }, { "writel", cmd_writeN }, { "writeq", cmd_writeN },
    { "readb", cmd_readN }, { "readw", cmd_readN }, { "readl", cmd_readN }, { "readq", cmd_readN },
    { "read", cmd_read },
    { "write", cmd_write },
    { "memset", cmd_memset },
    { "clock_step", cmd_clock_step },
    { "clock_set", cmd_clock_set },
    { "irq_intercept_in", cmd_irq_intercept }, { "irq_intercept_out", cmd_irq_intercept },
    { "irq_level", cmd_irq_level },
    { "eoi", cmd_eoi },
    { "system_reset", cmd_system_reset },
    { "powerdown", cmd_powerdown },
    { "input_key", cmd_input_key },
    { "input_rel", cmd_input_rel },
    { "vmstate_roundtrip", cmd_vmstate_roundtrip },
    { "vmstate_load_patched", cmd_vmstate_load_patched },
    { "vmstate_save", cmd_vmstate_file }, { "vmstate_load", cmd_vmstate_file },
    { "dirty_start", cmd_dirty_start },
    { "dirty_test_clear", cmd_dirty_test_clear },
    { "block_break", cmd_block_break },
    { "block_wait_break", cmd_block_wait_break },
    { "block_resume", cmd_block_resume },
    { "endianness", cmd_endianness },
};

static void qtest_line(char *line)
{
    char *w[MAX_WORDS], *save = NULL, *t;
    int n = 0;

    for (t = strtok_r(line, " \t\r", &save); t && n < MAX_WORDS; t = strtok_r(NULL, " \t\r", &save))
        w[n++] = t;
    if (!n)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(qtest_cmds); i++) {
        if (!strcmp(qtest_cmds[i].name, w[0])) {
            if (!qtest_cmds[i].fn(w, n))
                qtest_send("ERR malformed '%s' command\n", w[0]);
            return;
        }
    }
    qtest_send("ERR unknown command '%s'\n", w[0]);
}

/* ---- the connection ---- */

static int qtest_can_read(void *opaque)
{
    return 4096;
}

static void qtest_read(void *opaque, const uint8_t *buf, int len)
{
    struct qtest_state *q = &qtest_state;

    for (int i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            q->line[q->len] = '\0';
            if (q->overlong)
                qtest_send("ERR line longer than %zu bytes\n", (size_t)LINE_MAX_LEN);
            else
                qtest_line(q->line);
            q->len = 0;
            q->overlong = false;
        } else if (q->len < LINE_MAX_LEN) {
            q->line[q->len++] = buf[i];
        } else {
            q->overlong = true;
        }
    }
}

static void qtest_event(void *opaque, enum chardev_event ev)
{
    /* the test went away: so does the machine, as with QEMU's qtest */
    if (ev == CHR_EVENT_CLOSED)
        loop_quit(0);
}

static const struct chardev_fe_ops qtest_fe_ops = {
    .can_read = qtest_can_read,
    .read = qtest_read,
    .event = qtest_event,
};

void qtest_server_init(const char *spec)
{
    char *err = NULL;

    qtest_state.chr = chardev_new_legacy(spec, "qtest", &err);
    if (!qtest_state.chr)
        die("-qtest %s: %s", spec, err ? err : "no chardev");
    qtest_state.line = xmalloc(LINE_MAX_LEN + 1);
    chardev_attach(qtest_state.chr, &qtest_fe_ops, NULL);
}

void qtest_server_cleanup(void)
{
    if (qtest_state.chr)
        chardev_detach(qtest_state.chr, NULL);
    free(qtest_state.line);
    qtest_accel_cleanup();
    memset(&qtest_state, 0, sizeof(qtest_state));
}
