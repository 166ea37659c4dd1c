/* monitor.c: the human monitor on a chardev: its banner and prompt, the line editor fed by the chardev, each line handed to HMP */
#define LOG_PREFIX "monitor: "
#include "monitor/monitor-internal.h"
#include "monitor/commands.h"   // mon_send_key_cleanup
#include "monitor/readline.h"
#include "chardev/chardev.h"

#include <stdarg.h>
#include <stdio.h>

#define MONITOR_MAX 8

struct monitor {
    struct chardev *chr;
    struct readline rl;
    bool banner_shown;
    int cpu;                /* the monitor's CPU: what info registers shows (QEMU's cpu N) */
};

static struct {
    struct monitor *list[MONITOR_MAX];
    int count;
} monitors;

static void monitor_write(void *opaque, const char *s, size_t len)
{
    struct monitor *m = opaque;
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

void monitor_printf(struct monitor *m, const char *fmt, ...)
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
    monitor_write(m, s, n);
    if (s != buf)
        free(s);
}

int monitor_cpu(struct monitor *m)
{
    return m->cpu;
}

void monitor_set_cpu(struct monitor *m, int cpu)
{
    m->cpu = cpu;
}

void monitor_run_line(struct monitor *m, const char *line)
{
    hmp_run_line(m, line);
}

static void monitor_line_done(void *opaque, const char *line)
{
    monitor_run_line(opaque, line);
}

void monitor_input(struct monitor *m, const uint8_t *buf, int len)
{
    readline_input(&m->rl, buf, len);
}

/* ---- the chardev frontend ---- */

static int monitor_can_read(void *opaque)
{
    return READLINE_LINE_MAX;
}

static void monitor_read(void *opaque, const uint8_t *buf, int len)
{
    monitor_input(opaque, buf, len);
}

static void monitor_greet(struct monitor *m)
{
    if (!m->banner_shown)
        monitor_printf(m, "skiff %s monitor - type 'help' for more information\n", SKIFF_VERSION);
    m->banner_shown = true;
    readline_start(&m->rl);
}

static void monitor_event(void *opaque, enum chardev_event ev)
{
    struct monitor *m = opaque;

    switch (ev) {
    case CHR_EVENT_OPENED:
        /* a socket client: each one gets the banner; on a mux, only once switched to */
        m->banner_shown = false;
        if (chardev_has_focus(m->chr, m))
            monitor_greet(m);
        break;
    case CHR_EVENT_FOCUS:
        monitor_greet(m);
        break;
    default:
        break;
    }
}

static const struct chardev_fe_ops monitor_fe_ops = {
    .can_read = monitor_can_read,
    .read = monitor_read,
    .event = monitor_event,
};

struct monitor *monitor_new(struct chardev *c, char **err)
{
    struct monitor *m;

    if (monitors.count == MONITOR_MAX) {
        *err = xasprintf("at most %d monitors", MONITOR_MAX);
        return NULL;
    }
    m = xnew(struct monitor);
    m->chr = c;
    readline_init(&m->rl, "(skiff) ", monitor_write, monitor_line_done, m);
    if (chardev_attach(c, &monitor_fe_ops, m) < 0) {
        *err = xasprintf("chardev '%s' is in use by another device (a mux, mon:stdio, can share)",
                         chardev_id(c));
        free(m);
        return NULL;
    }
    monitors.list[monitors.count++] = m;
    return m;
}

void monitor_cleanup_all(void)
{
    for (int i = 0; i < monitors.count; i++) {
        struct monitor *m = monitors.list[i];

        chardev_detach(m->chr, m);
        free(m);
    }
    monitors.count = 0;
    mon_send_key_cleanup();
}
