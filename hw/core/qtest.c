/* qtest.c: the qtest protocol server (line commands: in/out, read/write, clock_step, IRQ interception, machine events) */
#define LOG_PREFIX "qtest: "
#include "hw/core/qtest.h"
#include "block/block.h" // block_debug_break, block_debug_wait, block_debug_resume
#include "chardev/chardev.h"
#include "hw/core/accel.h"
#include "hw/pc/acpi-pm.h"
#include "hw/core/device.h"
#include "hw/core/guest-mem.h"
#include "ui/input.h"
#include "hw/core/ioregion.h"
#include "hw/core/irq-route.h"
#include "hw/isa/isa.h"
#include "hw/core/machine.h"
#include "hw/pc/pc.h"
#include "migration/savevm.h" // savevm_save_file, savevm_load_file
#include "migration/vmstate.h" // vmstate_save, vmstate_patch
#include "util/log.h"
#include "util/main-loop.h"

#include <stdarg.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* the most one read or memset covers; a write is bounded by the line, which holds it in hex */
#define DATA_MAX (16 * MiB)
#define LINE_MAX_LEN (8 * MiB + 256)

/* An irqfd as the test accelerator emulates it: skiff's main loop reads the eventfd. */
struct qtest_irqfd {
    int fd, gsi, resample_fd;
    bool asserted;              /* with resample: held high until the test's eoi */
    struct qtest_irqfd *next;
};

static struct {
    struct chardev *chr;
    char *line;
    size_t len;
    bool overlong;          /* the line being read went past LINE_MAX_LEN */
    bool intercept;
    int8_t gsi_level[PC_NUM_GSIS];      /* what the test was told */
    int8_t user_level[PC_NUM_GSIS];     /* what gsi_set drives */
    struct irq_route_table routes;
    struct qtest_irqfd *irqfds;
    struct accel_ioeventfd *ioeventfds;
    unsigned n_ioeventfds;
} Q;

/* ---- accelerator ops: memory is plain host memory, interrupts go to the test ---- */

static int qtest_mem_map(struct ram_mapping *m)
{
    return 0;
}

static void reply(const char *fmt, ...) PRINTF_FMT(1, 2);

/* A GSI's level is what gsi_set drives, or-ed with the resample irqfds that hold it (as KVM's sources). */
static void qtest_gsi_report(int gsi)
{
    int level = Q.user_level[gsi];

    for (struct qtest_irqfd *f = Q.irqfds; f; f = f->next)
        level |= f->gsi == gsi && f->asserted;
    if (Q.gsi_level[gsi] == level)
        return;
    Q.gsi_level[gsi] = level;
    if (Q.intercept && Q.chr)
        reply("IRQ %s %d\n", level ? "raise" : "lower", gsi);
}

/*
 * What the machine did, told to the test as it happens (skiff): with no vCPU the test cannot
 * see a reset or a poweroff otherwise, and skiff's exit looks the same as the one that closing
 * the connection causes.
 */
static void qtest_machine_event(enum accel_machine_event ev, int status)
{
    if (!Q.chr)
        return;
    switch (ev) {
    case ACCEL_EVENT_RESET:
        reply("EVENT reset\n");
        break;
    case ACCEL_EVENT_SHUTDOWN:
        reply("EVENT shutdown\n");
        break;
    case ACCEL_EVENT_EXIT:
        reply("EVENT exit %d\n", status);
        break;
    }
}

static void qtest_gsi_set(int gsi, int level)
{
    if (gsi < 0 || gsi >= PC_NUM_GSIS)
        return;
    Q.user_level[gsi] = !!level;
    qtest_gsi_report(gsi);
}

static int qtest_msi_send(struct msi_msg msg)
{
    if (Q.intercept && Q.chr)
        reply("MSI 0x%" PRIx64 " 0x%" PRIx32 "\n", msg.addr, msg.data);
    return 0;
}

static int qtest_msi_route_add(struct msi_msg msg)
{
    if (!Q.routes.limit)
        irq_route_table_init(&Q.routes, 1024);
    return irq_route_add(&Q.routes, msg);
}

static int qtest_msi_route_update(int gsi, struct msi_msg msg)
{
    return irq_route_update(&Q.routes, gsi, msg);
}

static void qtest_msi_route_release(int gsi)
{
    irq_route_release(&Q.routes, gsi);
}

static int qtest_routes_commit(void)
{
    irq_route_committed(&Q.routes);
    return 0;
}

/* A signalled irqfd: an MSI route sends its message as last committed; a pin pulses, or is held. */
static void qtest_irqfd_event(void *opaque, uint32_t events)
{
    struct qtest_irqfd *f = opaque;
    const struct msi_msg *m;
    uint64_t n;

    if (read(f->fd, &n, sizeof(n)) != sizeof(n))
        return;
    if (f->gsi >= IRQ_ROUTE_FIRST_MSI) {
        m = irq_route_live(&Q.routes, f->gsi);
        if (m)
            qtest_msi_send(*m);
    } else if (f->gsi < PC_NUM_GSIS && f->resample_fd >= 0) {
        f->asserted = true;
        qtest_gsi_report(f->gsi);
    } else if (f->gsi < PC_NUM_GSIS) {
        f->asserted = true;
        qtest_gsi_report(f->gsi);
        f->asserted = false;
        qtest_gsi_report(f->gsi);
    }
}

static int qtest_irqfd(int fd, int gsi, int resample_fd, bool assign)
{
    struct qtest_irqfd **pp, *f;
    int r;

    if (gsi < 0 || (gsi >= PC_NUM_GSIS && gsi < IRQ_ROUTE_FIRST_MSI))
        return -EINVAL;
    for (pp = &Q.irqfds; *pp; pp = &(*pp)->next)
        if ((*pp)->fd == fd && (*pp)->gsi == gsi)
            break;
    if (!assign) {
        if (!*pp)
            return -ENOENT;
        f = *pp;
        *pp = f->next;
        loop_del_fd(f->fd);
        /* a level it held goes with it, as KVM's resampler lowers it */
        if (f->asserted && gsi < PC_NUM_GSIS) {
            f->asserted = false;
            qtest_gsi_report(gsi);
        }
        free(f);
        return 0;
    }
    if (*pp)
        return -EBUSY;
    f = xnew(struct qtest_irqfd);
    *f = (struct qtest_irqfd){ .fd = fd, .gsi = gsi, .resample_fd = resample_fd };
    r = loop_add_fd(fd, EPOLLIN, qtest_irqfd_event, f);
    if (r < 0) {
        free(f);
        return r;
    }
    f->next = Q.irqfds;
    Q.irqfds = f;
    return 0;
}

/* The guest's EOI for a GSI: the levels resample irqfds hold drop, and their devices hear of it. */
static void qtest_eoi(int gsi)
{
    for (struct qtest_irqfd *f = Q.irqfds; f; f = f->next) {
        if (f->gsi != gsi || !f->asserted)
            continue;
        f->asserted = false;
        qtest_gsi_report(gsi);
        eventfd_write(f->resample_fd, 1);
    }
}

static bool ioeventfd_same(const struct accel_ioeventfd *a, const struct accel_ioeventfd *b)
{
    return a->fd == b->fd && a->pio == b->pio && a->addr == b->addr && a->len == b->len &&
           a->match == b->match && (!a->match || a->data == b->data);
}

/* ioeventfds as KVM keeps them: by guest address, not by region */
static int qtest_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    for (unsigned i = 0; i < Q.n_ioeventfds; i++) {
        if (!ioeventfd_same(&Q.ioeventfds[i], e))
            continue;
        if (assign)
            return -EEXIST;
        Q.ioeventfds[i] = Q.ioeventfds[--Q.n_ioeventfds];
        return 0;
    }
    if (!assign)
        return -ENOENT;
    Q.ioeventfds = xrealloc(Q.ioeventfds, (Q.n_ioeventfds + 1) * sizeof(*Q.ioeventfds));
    Q.ioeventfds[Q.n_ioeventfds++] = *e;
    return 0;
}

/* A guest write: an ioeventfd catches it before any device sees it, as KVM's would. */
static void qtest_io_write(enum io_space space, uint64_t addr, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < Q.n_ioeventfds; i++) {
        if (accel_ioeventfd_hit(&Q.ioeventfds[i], space == IO_SPACE_PIO, addr, val, size)) {
            eventfd_write(Q.ioeventfds[i].fd, 1);
            return;
        }
    }
    io_dispatch(space, addr, &val, size, true);
}

static const struct accel_ops qtest_accel_ops = {
    .name = "qtest",
    .mem_map = qtest_mem_map,
    .gsi_set = qtest_gsi_set,
    .msi_route_add = qtest_msi_route_add,
    .msi_route_update = qtest_msi_route_update,
    .msi_route_release = qtest_msi_route_release,
    .routes_commit = qtest_routes_commit,
    .msi_send = qtest_msi_send,
    .irqfd = qtest_irqfd,
    .ioeventfd = qtest_ioeventfd,
    .machine_event = qtest_machine_event,
};

void qtest_accel_install(void)
{
    accel = &qtest_accel_ops;
}

/* ---- the protocol ---- */

/* One line to the test, whole: the test reads every reply, so waiting for it is safe. */
static void reply(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    chardev_write_all(Q.chr, (const uint8_t *)buf, strlen(buf));
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

static void qtest_command(char **w, int n)
{
    const char *cmd = w[0];
    uint64_t a, v, len;
    unsigned size;

    if (!strcmp(cmd, "outb") || !strcmp(cmd, "outw") || !strcmp(cmd, "outl")) {
        size = cmd[3] == 'b' ? 1 : cmd[3] == 'w' ? 2 : 4;
        if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v) || a > 0xffff)
            goto bad;
        qtest_io_write(IO_SPACE_PIO, a, v, size);
        reply("OK\n");
    } else if (!strcmp(cmd, "inb") || !strcmp(cmd, "inw") || !strcmp(cmd, "inl")) {
        size = cmd[2] == 'b' ? 1 : cmd[2] == 'w' ? 2 : 4;
        if (n < 2 || !parse_num(w[1], &a) || a > 0xffff)
            goto bad;
        v = 0;
        io_dispatch(IO_SPACE_PIO, a, &v, size, false);
        reply("OK 0x%0*" PRIx64 "\n", size * 2, v);
    } else if (!strncmp(cmd, "write", 5) && strlen(cmd) == 6) {
        size = cmd[5] == 'b' ? 1 : cmd[5] == 'w' ? 2 : cmd[5] == 'l' ? 4 : 8;
        if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v))
            goto bad;
        if (gmem_is_ram(a, size))
            gmem_write(a, &v, size);
        else
            qtest_io_write(IO_SPACE_MMIO, a, v, size);
        reply("OK\n");
    } else if (!strncmp(cmd, "read", 4) && strlen(cmd) == 5) {
        size = cmd[4] == 'b' ? 1 : cmd[4] == 'w' ? 2 : cmd[4] == 'l' ? 4 : 8;
        if (n < 2 || !parse_num(w[1], &a))
            goto bad;
        v = 0;
        if (gmem_is_ram(a, size))
            gmem_read(a, &v, size);
        else
            io_dispatch(IO_SPACE_MMIO, a, &v, size, false);
        reply("OK 0x%0*" PRIx64 "\n", size * 2, v);
    } else if (!strcmp(cmd, "read")) {
        static const char digits[] = "0123456789abcdef";
        uint8_t *buf;
        char *hex;

        if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || len > DATA_MAX)
            goto bad;
        buf = xzalloc(len);
        hex = xmalloc(2 * len + 6);
        phys_rw(a, buf, len, false);
        memcpy(hex, "OK 0x", 5);
        for (uint64_t i = 0; i < len; i++) {
            hex[5 + 2 * i] = digits[buf[i] >> 4];
            hex[6 + 2 * i] = digits[buf[i] & 15];
        }
        hex[5 + 2 * len] = '\n';
        chardev_write_all(Q.chr, (const uint8_t *)hex, 2 * len + 6);
        free(hex);
        free(buf);
    } else if (!strcmp(cmd, "write")) {
        const char *h;
        uint8_t *buf;

        if (n < 4 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || len > DATA_MAX)
            goto bad;
        h = w[3];
        if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
            h += 2;
        buf = xzalloc(len);
        for (uint64_t i = 0; i < len && h[2 * i] && h[2 * i + 1]; i++) {
            int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);

            if (hi < 0 || lo < 0) {
                free(buf);
                goto bad;
            }
            buf[i] = hi << 4 | lo;
        }
        phys_rw(a, buf, len, true);
        free(buf);
        reply("OK\n");
    } else if (!strcmp(cmd, "memset")) {
        uint8_t *buf;

        if (n < 4 || !parse_num(w[1], &a) || !parse_num(w[2], &len) || !parse_num(w[3], &v) ||
            len > DATA_MAX)
            goto bad;
        buf = xmalloc(len);
        memset(buf, (int)v, len);
        phys_rw(a, buf, len, true);
        free(buf);
        reply("OK\n");
    } else if (!strcmp(cmd, "clock_step")) {
        int64_t t;

        if (n >= 2) {
            if (!parse_num(w[1], &v))
                goto bad;
            t = clock_virtual_step((int64_t)v);
        } else {
            t = clock_virtual_step(-1);
        }
        reply("OK %" PRId64 "\n", t);
    } else if (!strcmp(cmd, "clock_set")) {
        int64_t now = clock_get_ns(CLK_VIRTUAL), t;

        if (n < 2 || !parse_num(w[1], &v))
            goto bad;
        t = (int64_t)v > now ? clock_virtual_step((int64_t)v - now) : now;
        reply("OK %" PRId64 "\n", t);
    } else if (!strcmp(cmd, "irq_intercept_in") || !strcmp(cmd, "irq_intercept_out")) {
        Q.intercept = true;
        reply("OK\n");
    } else if (!strcmp(cmd, "irq_level")) {
        /* skiff: the current level of a GSI */
        if (n < 2 || !parse_num(w[1], &a) || a >= PC_NUM_GSIS)
            goto bad;
        reply("OK %d\n", Q.gsi_level[a] > 0);
    } else if (!strcmp(cmd, "eoi")) {
        /* skiff: the guest acknowledges GSI N at its interrupt controller (resample irqfds) */
        if (n < 2 || !parse_num(w[1], &a) || a >= PC_NUM_GSIS)
            goto bad;
        qtest_eoi(a);
        reply("OK\n");
    } else if (!strcmp(cmd, "system_reset")) {
        machine_request_reset();
        reply("OK\n");
    } else if (!strcmp(cmd, "powerdown")) {
        acpi_pm_power_button(pc_acpi_pm());
        reply("OK\n");
    } else if (!strcmp(cmd, "input_key")) {
        /* skiff: a key from the input path (set 1 code, 0x100 for E0 keys), down 1 or up 0 */
        if (n < 3 || !parse_num(w[1], &a) || !parse_num(w[2], &v))
            goto bad;
        input_key_event(a, v);
        reply("OK\n");
    } else if (!strcmp(cmd, "input_rel")) {
        /* skiff: relative pointer motion DX DY DZ BUTTONS (signed decimal) */
        if (n < 5)
            goto bad;
        input_rel_event(atoi(w[1]), atoi(w[2]), atoi(w[3]), atoi(w[4]));
        reply("OK\n");
    } else if (!strcmp(cmd, "vmstate_roundtrip")) {
        /* skiff: save every device and load into a fresh copy; see tests/qtest */
        char *err = NULL;
        int count;

        if (device_vmstate_roundtrip_all(&count, &err) < 0) {
            reply("ERR %s\n", err);
            free(err);
        } else {
            reply("OK %d\n", count);
        }
    } else if (!strcmp(cmd, "vmstate_load_patched")) {
        /* skiff: DEV FIELD=VALUE...: save DEV's state, change fields as a hostile stream would, load it */
        struct device *dev = n > 1 ? device_find(w[1]) : NULL;
        struct vmbuf b;
        char *err = NULL;
        int i;

        if (!dev || !dev->type->vmsd) {
            reply("ERR no device '%s' with state\n", n > 1 ? w[1] : "");
            return;
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
            reply("ERR cannot set '%s'\n", w[i]);
        else if (device_vmstate_load(dev, &b, &err) < 0)
            reply("ERR %s\n", err);
        else
            reply("OK\n");
        free(err);
        vmbuf_free(&b);
    } else if (!strcmp(cmd, "dirty_start")) {
        /* skiff: the migration client's dirty bitmaps of every region, cleared and started */
        gmem_dirty_start_all(DIRTY_MIGRATION);
        reply("OK\n");
    } else if (!strcmp(cmd, "dirty_test_clear")) {
        /* skiff: ADDR: was the page written since the last look (migration's bitmap)? */
        struct ram_region *rr;
        uint64_t off;

        if (n < 2 || !parse_num(w[1], &a))
            goto bad;
        gmem_dirty_sync();
        rr = gmem_region_at(a, &off);
        if (!rr)
            reply("ERR no RAM at 0x%" PRIx64 "\n", a);
        else
            reply("OK %d\n", ram_region_dirty_test_clear(rr, DIRTY_MIGRATION, off / GUEST_PAGE_SIZE));
    } else if (!strcmp(cmd, "vmstate_save") || !strcmp(cmd, "vmstate_load")) {
        /* skiff: FILE: the machine's state (clock, RAM, devices) to a file, or from one into a
         * second skiff started with the same options, as an incoming migration will */
        char *err = NULL;

        if (n < 2)
            goto bad;
        if ((cmd[8] == 's' ? savevm_save_file(w[1], &err) : savevm_load_file(w[1], &err)) < 0)
            reply("ERR %s\n", err);
        else
            reply("OK\n");
        free(err);
    } else if (!strcmp(cmd, "block_break")) {
        /* skiff: hold the next block request that reaches point w[1] in its worker */
        if (n < 2)
            goto bad;
        if (block_debug_break(w[1]) < 0)
            reply("ERR no such point '%s'\n", w[1]);
        else
            reply("OK\n");
    } else if (!strcmp(cmd, "block_wait_break")) {
        /* skiff: wait (default 10 s) until a request is held at the point */
        if (block_debug_wait(n > 1 ? atoi(w[1]) : 10000) < 0)
            reply("ERR no request reached the breakpoint\n");
        else
            reply("OK\n");
    } else if (!strcmp(cmd, "block_resume")) {
        block_debug_resume();
        reply("OK\n");
    } else if (!strcmp(cmd, "endianness")) {
        reply("OK little\n");
    } else {
        reply("ERR unknown command '%s'\n", cmd);
    }
    return;
bad:
    reply("ERR malformed '%s' command\n", cmd);
}

static void qtest_line(char *line)
{
    char *w[16], *save = NULL, *t;
    int n = 0;

    for (t = strtok_r(line, " \t\r", &save); t && n < 16; t = strtok_r(NULL, " \t\r", &save))
        w[n++] = t;
    if (n)
        qtest_command(w, n);
}

static int qtest_can_read(void *opaque)
{
    return 4096;
}

static void qtest_read(void *opaque, const uint8_t *buf, int len)
{
    for (int i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            Q.line[Q.len] = '\0';
            if (Q.overlong)
                reply("ERR line longer than %zu bytes\n", (size_t)LINE_MAX_LEN);
            else
                qtest_line(Q.line);
            Q.len = 0;
            Q.overlong = false;
        } else if (Q.len < LINE_MAX_LEN) {
            Q.line[Q.len++] = buf[i];
        } else {
            Q.overlong = true;
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

    Q.chr = chardev_new_legacy(spec, "qtest", &err);
    if (!Q.chr)
        die("-qtest %s: %s", spec, err ? err : "no chardev");
    Q.line = xmalloc(LINE_MAX_LEN + 1);
    chardev_attach(Q.chr, &qtest_fe_ops, NULL);
}

void qtest_server_cleanup(void)
{
    if (Q.chr)
        chardev_detach(Q.chr, NULL);
    free(Q.line);
    /* the devices have released their eventfds by now; what is left was never released */
    while (Q.irqfds) {
        struct qtest_irqfd *f = Q.irqfds;

        Q.irqfds = f->next;
        loop_del_fd(f->fd);
        free(f);
    }
    free(Q.ioeventfds);
    irq_route_table_free(&Q.routes);
    memset(&Q, 0, sizeof(Q));
}
