/* libqtest.c: the client side of the qtest protocol, for device tests without a guest */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NUM_GSI 24
#define MSI_QUEUE 256
/* the longest reply line taken: a read of skiff's largest (16 MiB) in hex */
#define REPLY_MAX ((32u << 20) + 64)

const char *qtest_stderr_path;

struct qtest {
    pid_t pid;
    int fd;
    char *sock_path;
    char *rbuf;             /* what was received and not yet taken as lines */
    size_t rlen, rsize;
    bool irq_level[NUM_GSI];
    int irq_raises[NUM_GSI];
    /* EVENT lines: what the machine carried out */
    int resets, shutdowns;
    int exit_event;         /* the status of the last "EVENT exit", or -1 */
    /* MSI lines: the messages devices sent, oldest first */
    struct { uint64_t addr; uint32_t data; } msi[MSI_QUEUE];
    unsigned msi_head, msi_count;
    bool eof;               /* skiff closed the connection (qtest_wait_exit) */
    bool exited;
    int status;             /* skiff's exit status once exited */
    char *reply;
};

static void __attribute__((noreturn)) fatal(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "libqtest: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    printf("not ok - qtest harness: the connection to skiff failed (see the log)\n");
    exit(2);
}

char *qtest_tmp_path(const char *suffix)
{
    static int seq;
    char *name, *p;

    if (asprintf(&name, "skiff-qtest-%d-%d%s", (int)getpid(), seq++, suffix) < 0)
        fatal("out of memory");
    p = tap_tmp_path(name);
    free(name);
    return p;
}

int qtest_listen_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
        fatal("socket: %s", strerror(errno));
    strcpy(sa.sun_path, path);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
        fatal("listen on %s: %s", path, strerror(errno));
    return fd;
}

int qtest_accept(int listen_fd, int timeout_ms)
{
    struct pollfd p = { .fd = listen_fd, .events = POLLIN };
    int fd;

    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    return fd;
}

size_t qtest_read_avail(int fd, void *buf, size_t len, int timeout_ms)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, got ? 50 : timeout_ms) <= 0)
            break;
        n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

/* Read until the monitor's prompt; the text before it with \r dropped (static), or NULL. */
static const char *hmp_read_prompt(int fd)
{
    static char buf[65536];
    size_t n = 0;
    const char prompt[] = "(skiff) ";

    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;

        if (poll(&p, 1, 5000) <= 0 || read(fd, &c, 1) != 1)
            return NULL;
        if (c == '\r')
            continue;
        if (n + 1 < sizeof(buf))
            buf[n++] = c;
        buf[n] = '\0';
        if (n >= sizeof(prompt) - 1 && !strcmp(buf + n - (sizeof(prompt) - 1), prompt)) {
            buf[n - (sizeof(prompt) - 1)] = '\0';
            return buf;
        }
    }
}

const char *qtest_hmp_open(int listen_fd, int *fd)
{
    *fd = qtest_accept(listen_fd, 10000);
    return *fd < 0 ? NULL : hmp_read_prompt(*fd);
}

const char *qtest_hmp_connect(const char *path, int *fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sa.sun_path))
        return NULL;
    strcpy(sa.sun_path, path);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return NULL;
    /* skiff may still be starting: it listens before it runs */
    for (int i = 0; i < 500; i++) {
        if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return hmp_read_prompt(*fd);
        usleep(10000);
    }
    return NULL;
}

/* Format one command and send it with its newline; false when the write fails. */
static bool send_line(int fd, const char *fmt, va_list ap)
{
    char *line;
    int n = vasprintf(&line, fmt, ap);
    bool ok;

    if (n < 0)
        fatal("out of memory");
    ok = write(fd, line, n) == n && write(fd, "\n", 1) == 1;
    free(line);
    return ok;
}

const char *qtest_hmp(int fd, const char *fmt, ...)
{
    const char *out, *nl;
    va_list ap;
    bool sent;

    va_start(ap, fmt);
    sent = send_line(fd, fmt, ap);
    va_end(ap);
    if (!sent)
        return NULL;
    out = hmp_read_prompt(fd);
    /* the monitor echoes what was typed: the reply starts after that line */
    if (out && (nl = strchr(out, '\n')))
        out = nl + 1;
    return out;
}

struct qtest *qtest_start(const char *fmt, ...)
{
    struct qtest *q = calloc(1, sizeof(*q));
    const char *bin = getenv("SKIFF");
    char *extra = NULL, *argv[128], *save = NULL, *tok, *spec;
    int lfd, argc = 0;
    va_list ap;

    if (!q)
        fatal("out of memory");
    q->exit_event = -1;
    va_start(ap, fmt);
    if (vasprintf(&extra, fmt, ap) < 0)
        fatal("out of memory");
    va_end(ap);
    q->sock_path = qtest_tmp_path(".sock");
    lfd = qtest_listen_unix(q->sock_path);
    if (asprintf(&spec, "unix:%s", q->sock_path) < 0)
        fatal("out of memory");
    argv[argc++] = (char *)(bin && *bin ? bin : "./skiff");
    argv[argc++] = "-accel";
    argv[argc++] = "qtest";
    argv[argc++] = "-qtest";
    argv[argc++] = spec;
    argv[argc++] = "-nodefaults";
    for (tok = strtok_r(extra, " ", &save); tok && argc < 126; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    q->pid = fork();
    if (q->pid < 0)
        fatal("fork: %s", strerror(errno));
    if (q->pid == 0) {
        if (qtest_stderr_path) {
            int fd = open(qtest_stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

            if (fd >= 0)
                dup2(fd, 2);
        }
        execv(argv[0], argv);
        fprintf(stderr, "libqtest: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    q->fd = qtest_accept(lfd, 10000);
    close(lfd);
    unlink(q->sock_path);
    if (q->fd < 0)
        fatal("skiff (%s) did not connect to the qtest socket", argv[0]);
    free(spec);
    free(extra);
    return q;
}

int qtest_pid(const struct qtest *q)
{
    return q->pid;
}

static int wait_status(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Reap skiff within timeout_ms; false when it still runs. */
static bool reap(struct qtest *q, int timeout_ms)
{
    int status;

    for (int waited = 0;; waited += 10) {
        if (waitpid(q->pid, &status, WNOHANG) == q->pid) {
            q->exited = true;
            q->status = wait_status(status);
            return true;
        }
        if (waited >= timeout_ms)
            return false;
        usleep(10000);
    }
}

int qtest_quit(struct qtest *q)
{
    int status;

    close(q->fd);
    /* skiff quits when its qtest connection closes; give it time, then insist */
    if (!q->exited && !reap(q, 5000)) {
        kill(q->pid, SIGKILL);
        waitpid(q->pid, &status, 0);
        q->status = wait_status(status);
    }
    status = q->status;
    free(q->sock_path);
    free(q->rbuf);
    free(q->reply);
    free(q);
    return status;
}

/* Record an unsolicited line (interrupt lines, machine events); false for anything else. */
static bool take_notification(struct qtest *q, const char *line)
{
    if (!strncmp(line, "IRQ raise ", 10) || !strncmp(line, "IRQ lower ", 10)) {
        int g = atoi(line + 10);
        bool up = line[4] == 'r';

        if (g >= 0 && g < NUM_GSI) {
            if (up && !q->irq_level[g])
                q->irq_raises[g]++;
            q->irq_level[g] = up;
        }
        return true;
    }
    if (!strncmp(line, "MSI ", 4)) {
        char *end;
        uint64_t a = strtoull(line + 4, &end, 0);
        uint32_t d = strtoul(end, NULL, 0);

        if (q->msi_count < MSI_QUEUE) {
            unsigned i = (q->msi_head + q->msi_count++) % MSI_QUEUE;

            q->msi[i].addr = a;
            q->msi[i].data = d;
        }
        return true;
    }
    if (!strcmp(line, "EVENT reset")) {
        q->resets++;
        return true;
    }
    if (!strcmp(line, "EVENT shutdown")) {
        q->shutdowns++;
        return true;
    }
    if (!strncmp(line, "EVENT exit ", 11)) {
        q->exit_event = atoi(line + 11);
        return true;
    }
    return false;
}

/*
 * Read more from skiff into rbuf, growing it as a long reply needs; waits up to timeout_ms.
 * Returns the bytes read, 0 at the end of the connection, -1 on timeout.
 */
static ssize_t fill(struct qtest *q, int timeout_ms)
{
    struct pollfd p = { .fd = q->fd, .events = POLLIN };
    ssize_t r;

    if (q->rlen == q->rsize) {
        size_t size = q->rsize ? 2 * q->rsize : 65536;

        if (q->rsize >= REPLY_MAX)
            fatal("reply line longer than %u bytes", REPLY_MAX);
        if (size > REPLY_MAX)
            size = REPLY_MAX;
        q->rbuf = realloc(q->rbuf, size);
        if (!q->rbuf)
            fatal("out of memory");
        q->rsize = size;
    }
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    r = read(q->fd, q->rbuf + q->rlen, q->rsize - q->rlen);
    if (r < 0)
        return 0;
    q->rlen += r;
    return r;
}

/* Take one line out of rbuf (malloc'ed), or NULL when no whole line is there. */
static char *take_line(struct qtest *q)
{
    char *nl = q->rlen ? memchr(q->rbuf, '\n', q->rlen) : NULL;
    size_t n;
    char *line;

    if (!nl)
        return NULL;
    n = nl - q->rbuf;
    line = malloc(n + 1);
    if (!line)
        fatal("out of memory");
    memcpy(line, q->rbuf, n);
    line[n] = '\0';
    memmove(q->rbuf, nl + 1, q->rlen - n - 1);
    q->rlen -= n + 1;
    return line;
}

/* Read one reply line; notifications are recorded and skipped. */
static char *read_line(struct qtest *q)
{
    for (;;) {
        char *line = take_line(q);
        ssize_t r;

        if (line && take_notification(q, line)) {
            free(line);
            continue;
        }
        if (line)
            return line;
        r = fill(q, 30000);
        if (r < 0)
            fatal("skiff did not answer within 30 s");
        if (r == 0)
            fatal("skiff closed the qtest connection (did it crash?)");
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qtest_wait_exit(struct qtest *q, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    char *line;

    /* the connection stays open: skiff must end by itself, and says why on the way */
    while (!q->eof) {
        ssize_t r;

        while ((line = take_line(q))) {
            take_notification(q, line);     /* a stray reply has no taker now */
            free(line);
        }
        if (now_ms() >= end)
            return -1;
        r = fill(q, 100);
        if (r == 0)
            q->eof = true;
    }
    while ((line = take_line(q))) {
        take_notification(q, line);
        free(line);
    }
    if (!reap(q, end > now_ms() ? (int)(end - now_ms()) : 0))
        return -1;
    return q->status;
}

const char *qtest_cmd(struct qtest *q, const char *fmt, ...)
{
    va_list ap;
    bool sent;

    va_start(ap, fmt);
    sent = send_line(q->fd, fmt, ap);
    va_end(ap);
    if (!sent)
        fatal("write to skiff: %s", strerror(errno));
    free(q->reply);
    q->reply = read_line(q);
    if (!strncmp(q->reply, "OK", 2))
        return q->reply[2] == ' ' ? q->reply + 3 : q->reply + 2;
    return NULL;
}

static uint64_t cmd_num(struct qtest *q, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static uint64_t cmd_num(struct qtest *q, const char *what, const char *fmt, ...)
{
    char *cmd;
    const char *r;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        fatal("out of memory");
    va_end(ap);
    r = qtest_cmd(q, "%s", cmd);
    if (!r)
        fatal("'%s' failed: %s", cmd, q->reply);
    free(cmd);
    return strtoull(r, NULL, 0);
}

static void cmd_ok(struct qtest *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cmd_ok(struct qtest *q, const char *fmt, ...)
{
    char *cmd;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        fatal("out of memory");
    va_end(ap);
    if (!qtest_cmd(q, "%s", cmd))
        fatal("'%s' failed: %s", cmd, q->reply);
    free(cmd);
}

void qtest_outb(struct qtest *q, uint16_t p, uint8_t v) { cmd_ok(q, "outb 0x%x 0x%x", p, v); }
void qtest_outw(struct qtest *q, uint16_t p, uint16_t v) { cmd_ok(q, "outw 0x%x 0x%x", p, v); }
void qtest_outl(struct qtest *q, uint16_t p, uint32_t v) { cmd_ok(q, "outl 0x%x 0x%x", p, v); }
uint8_t qtest_inb(struct qtest *q, uint16_t p) { return cmd_num(q, "inb", "inb 0x%x", p); }
uint16_t qtest_inw(struct qtest *q, uint16_t p) { return cmd_num(q, "inw", "inw 0x%x", p); }
uint32_t qtest_inl(struct qtest *q, uint16_t p) { return cmd_num(q, "inl", "inl 0x%x", p); }
void qtest_writeb(struct qtest *q, uint64_t a, uint8_t v) { cmd_ok(q, "writeb 0x%llx 0x%x", (unsigned long long)a, v); }
uint8_t qtest_readb(struct qtest *q, uint64_t a) { return cmd_num(q, "readb", "readb 0x%llx", (unsigned long long)a); }
void qtest_writew(struct qtest *q, uint64_t a, uint16_t v) { cmd_ok(q, "writew 0x%llx 0x%x", (unsigned long long)a, v); }
uint16_t qtest_readw(struct qtest *q, uint64_t a) { return cmd_num(q, "readw", "readw 0x%llx", (unsigned long long)a); }
void qtest_writel(struct qtest *q, uint64_t a, uint32_t v) { cmd_ok(q, "writel 0x%llx 0x%x", (unsigned long long)a, v); }
uint32_t qtest_readl(struct qtest *q, uint64_t a) { return cmd_num(q, "readl", "readl 0x%llx", (unsigned long long)a); }
void qtest_writeq(struct qtest *q, uint64_t a, uint64_t v) { cmd_ok(q, "writeq 0x%llx 0x%llx", (unsigned long long)a, (unsigned long long)v); }
uint64_t qtest_readq(struct qtest *q, uint64_t a) { return cmd_num(q, "readq", "readq 0x%llx", (unsigned long long)a); }

static const char hex_digits[] = "0123456789abcdef";

static int hexval(char c)
{
    const char *d = c ? strchr(hex_digits, tolower((unsigned char)c)) : NULL;

    return d ? d - hex_digits : -1;
}

void qtest_memread(struct qtest *q, uint64_t addr, void *buf, size_t len)
{
    const char *r = qtest_cmd(q, "read 0x%llx 0x%zx", (unsigned long long)addr, len);
    uint8_t *p = buf;

    if (!r || strncmp(r, "0x", 2))
        fatal("read failed: %s", q->reply);
    r += 2;
    if (strlen(r) != 2 * len)
        fatal("read of %zu bytes: the reply has %zu hex digits", len, strlen(r));
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(r[2 * i]), lo = hexval(r[2 * i + 1]);

        if (hi < 0 || lo < 0)
            fatal("read reply: bad hex digit at byte %zu", i);
        p[i] = hi << 4 | lo;
    }
}

void qtest_memwrite(struct qtest *q, uint64_t addr, const void *buf, size_t len)
{
    char *hex = malloc(2 * len + 1);
    const uint8_t *p = buf;

    if (!hex)
        fatal("out of memory");
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = hex_digits[p[i] >> 4];
        hex[2 * i + 1] = hex_digits[p[i] & 15];
    }
    hex[2 * len] = '\0';
    cmd_ok(q, "write 0x%llx 0x%zx 0x%s", (unsigned long long)addr, len, hex);
    free(hex);
}

int64_t qtest_clock_step(struct qtest *q, int64_t ns)
{
    if (ns < 0)
        return (int64_t)cmd_num(q, "clock_step", "clock_step");
    return (int64_t)cmd_num(q, "clock_step", "clock_step %lld", (long long)ns);
}

void qtest_irq_intercept(struct qtest *q)
{
    cmd_ok(q, "irq_intercept_in ioapic");
}

/* A round trip: every notification sent before it has been read (nothing to do after the end). */
static void sync_notifications(struct qtest *q)
{
    if (!q->eof)
        qtest_cmd(q, "endianness");
}

bool qtest_get_irq(struct qtest *q, int gsi)
{
    sync_notifications(q);
    return gsi >= 0 && gsi < NUM_GSI && q->irq_level[gsi];
}

int qtest_irq_raises(struct qtest *q, int gsi)
{
    int n;

    sync_notifications(q);
    if (gsi < 0 || gsi >= NUM_GSI)
        return 0;
    n = q->irq_raises[gsi];
    q->irq_raises[gsi] = 0;
    return n;
}

int qtest_reset_count(struct qtest *q)
{
    sync_notifications(q);
    return q->resets;
}

int qtest_shutdown_count(struct qtest *q)
{
    sync_notifications(q);
    return q->shutdowns;
}

int qtest_exit_event(struct qtest *q)
{
    sync_notifications(q);
    return q->exit_event;
}

bool qtest_irq_wait(struct qtest *q, int gsi, bool level, int timeout_ms)
{
    for (int t = 0;; t++) {
        if (qtest_get_irq(q, gsi) == level)
            return true;
        if (t >= timeout_ms)
            return false;
        usleep(1000);
    }
}

void qtest_eoi(struct qtest *q, int gsi)
{
    cmd_ok(q, "eoi %d", gsi);
}

int qtest_msi_count(struct qtest *q)
{
    sync_notifications(q);
    return q->msi_count;
}

bool qtest_msi_next(struct qtest *q, uint64_t *addr, uint32_t *data, int timeout_ms)
{
    for (int t = 0; qtest_msi_count(q) == 0; t++) {
        if (t >= timeout_ms)
            return false;
        usleep(1000);
    }
    *addr = q->msi[q->msi_head].addr;
    *data = q->msi[q->msi_head].data;
    q->msi_head = (q->msi_head + 1) % MSI_QUEUE;
    q->msi_count--;
    return true;
}
