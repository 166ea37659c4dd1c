/* chardev.c: chardev backends (stdio, file, pipe, pty, socket, null), the stdio mux and its Ctrl-A escape */
#define LOG_PREFIX "chardev: "
#include "chardev/chardev.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/opts.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define MAX_FRONTENDS 4
#define OUTBUF_MAX (1 * MiB)

enum backend { BE_NULL, BE_STDIO, BE_FILE, BE_PIPE, BE_PTY, BE_SOCKET };

struct frontend {
    const struct chardev_fe_ops *ops;
    void *opaque;
};

struct chardev {
    char *id;
    enum backend be;
    int in_fd;              /* -1: no input */
    int out_fd;             /* -1: output dropped */
    int listen_fd;          /* socket servers */
    bool server, wait, is_unix, connected;
    char *path;             /* unix socket path to unlink */
    bool want_input;        /* input is being read (not paused, not at EOF) */
    bool in_paused;
    uint32_t in_events;     /* what in_fd is registered for in the loop (0: not registered) */
    uint32_t out_events;    /* same for out_fd when it differs from in_fd */
    /* frontends; more than one only for a mux */
    struct frontend fe[MAX_FRONTENDS];
    int nfe, focus;
    bool mux, escape;
    /* output that the fd could not take yet */
    uint8_t *obuf;
    size_t olen;
    bool drop_warned;
    struct chardev *next;
};

static struct chardev *chardevs;
static struct termios stdio_saved_tty;
static bool stdio_tty_saved;
static bool stdio_taken;


const char *chardev_id(const struct chardev *c)
{
    return c->id;
}

struct chardev *chardev_find(const char *id)
{
    for (struct chardev *c = chardevs; c; c = c->next)
        if (!strcmp(c->id, id))
            return c;
    return NULL;
}

bool chardev_is_connected(const struct chardev *c)
{
    return c->be != BE_SOCKET || c->connected;
}

/* ---- input ---- */

static void chr_fd_ready(void *opaque, uint32_t events);
static void chr_out_ready(void *opaque, uint32_t events);

/* Register in_fd and out_fd for what we want now: input unless paused, output while buffered. */
static void chr_update_watch(struct chardev *c)
{
    uint32_t in_ev = 0, out_ev = 0;

    if (c->in_fd >= 0 && c->want_input && !c->in_paused)
        in_ev |= EPOLLIN;
    if (c->out_fd >= 0 && c->olen) {
        if (c->out_fd == c->in_fd)
            in_ev |= EPOLLOUT;
        else
            out_ev |= EPOLLOUT;
    }
    if (in_ev != c->in_events) {
        if (!c->in_events)
            loop_add_fd(c->in_fd, in_ev, chr_fd_ready, c);
        else if (!in_ev)
            loop_del_fd(c->in_fd);
        else
            loop_mod_fd(c->in_fd, in_ev);
        c->in_events = in_ev;
    }
    if (out_ev != c->out_events) {
        if (!c->out_events)
            loop_add_fd(c->out_fd, out_ev, chr_out_ready, c);
        else
            loop_del_fd(c->out_fd);
        c->out_events = out_ev;
    }
}

static void chr_unwatch(struct chardev *c)
{
    c->want_input = false;
    c->olen = 0;
    chr_update_watch(c);
}

static struct frontend *chr_focus(struct chardev *c)
{
    return c->nfe ? &c->fe[c->focus] : NULL;
}

static void chr_send_event(struct chardev *c, enum chardev_event ev)
{
    for (int i = 0; i < c->nfe; i++)
        if (c->fe[i].ops->event)
            c->fe[i].ops->event(c->fe[i].opaque, ev);
}

static const char mux_help[] =
    "\r\n"
    "C-a h    print this help\r\n"
    "C-a x    exit skiff\r\n"
    "C-a c    switch between console and monitor\r\n"
    "C-a b    send break (magic sysrq)\r\n"
    "C-a C-a  send C-a\r\n";

/* Bytes typed on a mux: Ctrl-A starts an escape, everything else goes to the focused frontend. */
static void mux_input(struct chardev *c, const uint8_t *buf, int len)
{
    struct frontend *f;

    for (int i = 0; i < len; i++) {
        uint8_t ch = buf[i];

        if (c->escape) {
            c->escape = false;
            switch (ch) {
            case 'x':
                chardev_printf(c, "\r\nskiff: terminated\r\n");
                loop_quit(0);
                continue;
            case 'h': case '?':
                chardev_write(c, (const uint8_t *)mux_help, sizeof(mux_help) - 1);
                continue;
            case 'c':
                if (c->nfe > 1) {
                    c->focus = (c->focus + 1) % c->nfe;
                    f = chr_focus(c);
                    if (f->ops->event)
                        f->ops->event(f->opaque, CHR_EVENT_FOCUS);
                }
                continue;
            case 'b':
                f = chr_focus(c);
                if (f && f->ops->event)
                    f->ops->event(f->opaque, CHR_EVENT_BREAK);
                continue;
            case 0x01: case 'a':
                break;      /* send a literal Ctrl-A */
            default:
                continue;
            }
        } else if (ch == 0x01) {
            c->escape = true;
            continue;
        }
        f = chr_focus(c);
        if (f && f->ops->read)
            f->ops->read(f->opaque, &ch, 1);
    }
}

static void chr_disconnected(struct chardev *c);

static void chr_flush(struct chardev *c);

static void chr_out_ready(void *opaque, uint32_t events)
{
    chr_flush(opaque);
}

static void chr_fd_ready(void *opaque, uint32_t events)
{
    struct chardev *c = opaque;
    struct frontend *f = chr_focus(c);
    uint8_t buf[4096];
    int room = (int)sizeof(buf);
    ssize_t n;

    if (events & EPOLLOUT)
        chr_flush(c);
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || !c->want_input)
        return;
    if (f && f->ops->can_read) {
        room = MIN(room, f->ops->can_read(f->opaque));
        if (room <= 0) {
            /* the frontend is full: stop polling until it asks for more */
            c->in_paused = true;
            chr_update_watch(c);
            return;
        }
    }
    /* a mux reads one byte at a time so that escapes are seen before the frontend's limit */
    if (c->mux)
        room = 1;
    n = read(c->in_fd, buf, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (c->be == BE_SOCKET)
            chr_disconnected(c);
        else {
            c->want_input = false;      /* EOF on stdin or a pipe: no more input */
            chr_update_watch(c);
        }
        return;
    }
    if (c->mux)
        mux_input(c, buf, n);
    else if (f && f->ops->read)
        f->ops->read(f->opaque, buf, n);
}

void chardev_accept_input(struct chardev *c)
{
    if (c->in_paused) {
        c->in_paused = false;
        chr_update_watch(c);
    }
}

/* ---- output ---- */

static void chr_flush(struct chardev *c)
{
    while (c->olen) {
        ssize_t n = write(c->out_fd, c->obuf, c->olen);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            /* the reader went away: drop what is pending */
            c->olen = 0;
            if (c->be == BE_SOCKET) {
                chr_disconnected(c);
                return;
            }
            break;
        }
        memmove(c->obuf, c->obuf + n, c->olen - n);
        c->olen -= n;
    }
    chr_update_watch(c);
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    if (!c || c->out_fd < 0 || !len)
        return;
    if (!c->olen) {
        /* the common case: the fd takes it all now */
        while (len) {
            ssize_t n = write(c->out_fd, buf, len);

            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN) {
                    if (c->be == BE_SOCKET)
                        chr_disconnected(c);
                    return;
                }
                break;
            }
            buf += n;
            len -= n;
        }
        if (!len)
            return;
    }
    if (c->olen + len > OUTBUF_MAX) {
        if (!c->drop_warned)
            log_warn("%s: output is not being read; dropping it", c->id);
        c->drop_warned = true;
        len = OUTBUF_MAX - c->olen;
    }
    c->obuf = xrealloc(c->obuf, c->olen + len);
    memcpy(c->obuf + c->olen, buf, len);
    c->olen += len;
    chr_flush(c);
}

#define WRITE_ALL_WAIT_MS 30000

/* Wait until out_fd takes more; false after WRITE_ALL_WAIT_MS without room. */
static bool chr_wait_writable(struct chardev *c)
{
    struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
    int n;

    do {
        n = poll(&p, 1, WRITE_ALL_WAIT_MS);
    } while (n < 0 && errno == EINTR);
    return n > 0;
}

int chardev_write_all(struct chardev *c, const uint8_t *buf, size_t len)
{
    if (!c || c->out_fd < 0)
        return -EPIPE;
    /* what is still buffered goes first */
    while (c->olen) {
        chr_flush(c);
        if (c->out_fd < 0)
            return -EPIPE;
        if (c->olen && !chr_wait_writable(c))
            goto timeout;
    }
    while (len) {
        ssize_t n = write(c->out_fd, buf, len);

        if (n >= 0) {
            buf += n;
            len -= n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            if (c->be == BE_SOCKET)
                chr_disconnected(c);
            return -EPIPE;
        }
        if (!chr_wait_writable(c))
            goto timeout;
    }
    return 0;
timeout:
    chardev_write(c, buf, len);
    return -ETIMEDOUT;
}

void chardev_printf(struct chardev *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        chardev_write(c, (const uint8_t *)buf, MIN((size_t)n, sizeof(buf) - 1));
}

/* ---- sockets ---- */

static void chr_listen_ready(void *opaque, uint32_t events);

static void chr_connected(struct chardev *c, int fd)
{
    set_nonblock(fd, true);
    set_cloexec(fd);
    c->in_fd = c->out_fd = fd;
    c->connected = true;
    c->drop_warned = false;
    if (c->listen_fd >= 0)
        loop_del_fd(c->listen_fd);     /* one client at a time */
    c->want_input = true;
    chr_update_watch(c);
    chr_send_event(c, CHR_EVENT_OPENED);
}

static void chr_disconnected(struct chardev *c)
{
    if (!c->connected)
        return;
    chr_unwatch(c);
    close(c->in_fd);
    c->in_fd = c->out_fd = -1;
    c->olen = 0;
    c->connected = false;
    c->in_paused = false;
    chr_send_event(c, CHR_EVENT_CLOSED);
    if (c->listen_fd >= 0)
        loop_add_fd(c->listen_fd, EPOLLIN, chr_listen_ready, c);
}

static void chr_listen_ready(void *opaque, uint32_t events)
{
    struct chardev *c = opaque;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd >= 0 && !c->connected)
        chr_connected(c, fd);
    else if (fd >= 0)
        close(fd);
}

/* Open a unix or tcp socket as server (listening) or client (connected). -errno with *err. */
static int socket_open(struct chardev *c, const char *path, const char *host, const char *port,
                       char **err)
{
    int fd = -1, r;

    if (path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof(sa.sun_path)) {
            *err = xasprintf("%s: socket path '%s' is too long", c->id, path);
            return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            goto sys_err;
        if (c->server) {
            unlink(path);
            if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
                goto sys_err;
            c->path = xstrdup(path);
        } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            goto sys_err;
        }
    } else {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
        int one = 1;

        r = getaddrinfo(host && *host ? host : (c->server ? NULL : "localhost"), port, &hints, &ai);
        if (r) {
            *err = xasprintf("%s: cannot resolve '%s:%s': %s", c->id, host ? host : "", port,
                             gai_strerror(r));
            return -EINVAL;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            freeaddrinfo(ai);
            goto sys_err;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (c->server)
            r = bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0;
        else
            r = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0;
        freeaddrinfo(ai);
        if (r)
            goto sys_err;
    }
    if (c->server) {
        c->listen_fd = fd;
        set_nonblock(fd, true);
        loop_add_fd(fd, EPOLLIN, chr_listen_ready, c);
    } else {
        chr_connected(c, fd);
    }
    return 0;
sys_err:
    r = -errno;
    *err = xasprintf("%s: cannot %s socket %s%s%s%s: %s", c->id,
                     c->server ? "listen on" : "connect to", path ? path : (host ? host : ""),
                     path ? "" : ":", path ? "" : port, "", strerror(-r));
    if (fd >= 0)
        close(fd);
    return r;
}

/* ---- stdio ---- */

static void stdio_restore(void)
{
    if (stdio_tty_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_saved_tty);
    stdio_tty_saved = false;
}

static void stdio_setup(struct chardev *c, bool signals)
{
    struct termios t;

    c->in_fd = STDIN_FILENO;
    c->out_fd = STDOUT_FILENO;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t) == 0) {
        stdio_saved_tty = t;
        stdio_tty_saved = true;
        atexit(stdio_restore);
        /* raw input, but keep output processing so "\n" still returns the carriage */
        t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_oflag |= OPOST;
        t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
        if (!signals)
            t.c_lflag &= ~ISIG;
        t.c_cflag &= ~(CSIZE | PARENB);
        t.c_cflag |= CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
}

/* ---- creation ---- */

static struct chardev *chr_alloc(const char *id, enum backend be)
{
    struct chardev *c = xnew(struct chardev);

    c->id = xstrdup(id);
    c->be = be;
    c->in_fd = c->out_fd = c->listen_fd = -1;
    return c;
}

static void chr_free(struct chardev *c)
{
    chr_unwatch(c);
    if (c->listen_fd >= 0) {
        if (!c->connected)
            loop_del_fd(c->listen_fd);
        close(c->listen_fd);
    }
    if (c->path)
        unlink(c->path);
    if (c->be == BE_STDIO) {
        stdio_restore();
        stdio_taken = false;
    } else {
        if (c->in_fd >= 0)
            close(c->in_fd);
        if (c->out_fd >= 0 && c->out_fd != c->in_fd)
            close(c->out_fd);
    }
    free(c->path);
    free(c->obuf);
    free(c->id);
    free(c);
}

static void chr_register(struct chardev *c)
{
    struct chardev **pp = &chardevs;

    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
}

static int open_out(const char *path, bool append)
{
    return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
}

/* Build a chardev from parsed options (backend in "backend"). */
static struct chardev *chr_from_opts(struct opts *o, char **err)
{
    const char *be = opts_get(o, "backend"), *id = opts_get(o, "id");
    const char *path = opts_get(o, "path");
    struct chardev *c = NULL;
    bool mux = false, signals = true, append = false;

    if (!id) {
        *err = xstrdup("-chardev needs id=NAME");
        return NULL;
    }
    if (chardev_find(id)) {
        *err = xasprintf("a chardev with id '%s' already exists", id);
        return NULL;
    }
    if (opts_get_bool(o, "mux", &mux) < 0 || opts_get_bool(o, "signal", &signals) < 0 ||
        opts_get_bool(o, "append", &append) < 0) {
        *err = xasprintf("chardev '%s': mux, signal and append take on or off", id);
        return NULL;
    }
    if (!be) {
        *err = xasprintf("chardev '%s': no backend given", id);
        return NULL;
    }
    if (!strcmp(be, "null")) {
        c = chr_alloc(id, BE_NULL);
    } else if (!strcmp(be, "stdio")) {
        if (stdio_taken) {
            *err = xstrdup("stdio is already used by another chardev (use mon:stdio to share it)");
            return NULL;
        }
        stdio_taken = true;
        c = chr_alloc(id, BE_STDIO);
        stdio_setup(c, signals);
    } else if (!strcmp(be, "file")) {
        const char *in = opts_get(o, "input-path");

        if (!path) {
            *err = xasprintf("chardev '%s': file needs path=", id);
            return NULL;
        }
        c = chr_alloc(id, BE_FILE);
        c->out_fd = open_out(path, append);
        if (c->out_fd < 0) {
            *err = xasprintf("chardev '%s': cannot open '%s': %s", id, path, strerror(errno));
            goto fail;
        }
        if (in && (c->in_fd = open(in, O_RDONLY | O_CLOEXEC)) < 0) {
            *err = xasprintf("chardev '%s': cannot open '%s': %s", id, in, strerror(errno));
            goto fail;
        }
    } else if (!strcmp(be, "pipe")) {
        char *pin, *pout;

        if (!path) {
            *err = xasprintf("chardev '%s': pipe needs path=", id);
            return NULL;
        }
        c = chr_alloc(id, BE_PIPE);
        pin = xasprintf("%s.in", path);
        pout = xasprintf("%s.out", path);
        c->in_fd = open(pin, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        c->out_fd = open(pout, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        free(pin);
        free(pout);
        if (c->in_fd < 0 || c->out_fd < 0) {
            if (c->in_fd >= 0)
                close(c->in_fd);
            if (c->out_fd >= 0)
                close(c->out_fd);
            c->in_fd = c->out_fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
        }
        if (c->in_fd < 0) {
            *err = xasprintf("chardev '%s': cannot open pipe '%s': %s", id, path, strerror(errno));
            goto fail;
        }
    } else if (!strcmp(be, "pty")) {
        int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        struct termios t;

        c = chr_alloc(id, BE_PTY);
        if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
            *err = xasprintf("chardev '%s': cannot create a pty: %s", id, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        if (tcgetattr(fd, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(fd, TCSANOW, &t);
        }
        set_nonblock(fd, true);
        c->in_fd = c->out_fd = fd;
        /* the same words as QEMU, so that scripts that look for the pty find it */
        fprintf(stderr, "char device redirected to %s (label %s)\n", ptsname(fd), id);
    } else if (!strcmp(be, "socket")) {
        const char *host = opts_get(o, "host"), *port = opts_get(o, "port");
        bool server = false, wait = true;

        if (opts_get_bool(o, "server", &server) < 0 || opts_get_bool(o, "wait", &wait) < 0) {
            *err = xasprintf("chardev '%s': server and wait take on or off", id);
            return NULL;
        }
        opts_get(o, "nodelay");
        opts_get(o, "telnet");
        if (!path && !port) {
            *err = xasprintf("chardev '%s': socket needs path= or host=,port=", id);
            return NULL;
        }
        c = chr_alloc(id, BE_SOCKET);
        c->server = server;
        c->wait = server && wait;
        c->is_unix = path != NULL;
        if (socket_open(c, path, host, port, err) < 0)
            goto fail;
    } else {
        *err = xasprintf("chardev '%s': unknown backend '%s' (stdio, file, pipe, pty, socket, null)",
                         id, be);
        return NULL;
    }
    {
        const char *unused = opts_first_unused(o);

        if (unused) {
            *err = xasprintf("chardev '%s': unknown parameter '%s'", id, unused);
            goto fail;
        }
    }
    c->mux = mux;
    c->want_input = c->in_fd >= 0;
    chr_update_watch(c);
    chr_register(c);
    return c;
fail:
    if (c)
        chr_free(c);
    return NULL;
}

struct chardev *chardev_new(const char *spec, char **err)
{
    struct opts *o = opts_parse(spec, "backend", err);
    struct chardev *c;

    if (!o)
        return NULL;
    c = chr_from_opts(o, err);
    opts_free(o);
    return c;
}

struct chardev *chardev_new_legacy(const char *spec, const char *id, char **err)
{
    const char *p;
    char *s = NULL;
    struct chardev *c;

    *err = NULL;
    if (!strcmp(spec, "none"))
        return NULL;
    if (!strncmp(spec, "chardev:", 8)) {
        c = chardev_find(spec + 8);
        if (!c)
            *err = xasprintf("no chardev with id '%s'", spec + 8);
        return c;
    }
    if (!strncmp(spec, "mon:", 4)) {
        s = xasprintf("%s,mux=on,signal=off", spec + 4);
        c = chardev_new_legacy(s, id, err);
        free(s);
        return c;
    }
    if (!strcmp(spec, "stdio") || !strncmp(spec, "stdio,", 6) || !strcmp(spec, "null") ||
        !strcmp(spec, "pty") || !strcmp(spec, "vc") || !strncmp(spec, "null,", 5)) {
        if (!strcmp(spec, "vc"))
            spec = "null";   /* no graphical console yet: "vc" is a sink */
        s = xasprintf("%s,id=%s", spec, id);
    } else if ((p = strchr(spec, ':')) != NULL) {
        size_t n = p - spec;
        const char *rest = p + 1, *comma = strchr(rest, ',');
        char *arg = comma ? xstrndup(rest, comma - rest) : xstrdup(rest);
        char *extra = NULL;

        /* old spellings: ",server" and ",nowait" */
        if (comma) {
            char *e = xstrdup(comma);
            char *q;

            while ((q = strstr(e, ",nowait")) && (q[7] == ',' || q[7] == '\0'))
                memcpy(q, ",wait=0", 7);
            while ((q = strstr(e, ",server")) && (q[7] == ',' || q[7] == '\0')) {
                char *t = xasprintf("%.*s,server=on%s", (int)(q - e), e, q + 7);

                free(e);
                e = t;
            }
            extra = e;
        }
        if (n == 4 && !strncmp(spec, "file", 4))
            s = xasprintf("file,id=%s,path=%s%s", id, arg, extra ? extra : "");
        else if (n == 4 && !strncmp(spec, "pipe", 4))
            s = xasprintf("pipe,id=%s,path=%s%s", id, arg, extra ? extra : "");
        else if (n == 4 && !strncmp(spec, "unix", 4))
            s = xasprintf("socket,id=%s,path=%s%s", id, arg, extra ? extra : "");
        else if (n == 3 && !strncmp(spec, "tcp", 3)) {
            char *colon = strrchr(arg, ':');

            if (!colon) {
                *err = xasprintf("'%s': tcp needs HOST:PORT", spec);
            } else {
                *colon = '\0';
                s = xasprintf("socket,id=%s,host=%s,port=%s%s", id, arg, colon + 1,
                              extra ? extra : "");
            }
        } else {
            *err = xasprintf("'%s': unknown character device (stdio, mon:stdio, null, none, "
                             "file:, pipe:, pty, unix:, tcp:, chardev:)", spec);
        }
        free(arg);
        free(extra);
        if (!s)
            return NULL;
    } else {
        *err = xasprintf("'%s': unknown character device (stdio, mon:stdio, null, none, file:, "
                         "pipe:, pty, unix:, tcp:, chardev:)", spec);
        return NULL;
    }
    c = chardev_new(s, err);
    free(s);
    return c;
}

int chardev_attach(struct chardev *c, const struct chardev_fe_ops *ops, void *opaque)
{
    if (c->nfe == MAX_FRONTENDS || (c->nfe && !c->mux))
        return -EBUSY;
    c->fe[c->nfe].ops = ops;
    c->fe[c->nfe].opaque = opaque;
    c->nfe++;
    if (chardev_is_connected(c) && ops->event && c->be != BE_NULL)
        ops->event(opaque, CHR_EVENT_OPENED);
    return 0;
}

void chardev_detach(struct chardev *c, void *opaque)
{
    for (int i = 0; i < c->nfe; i++) {
        if (c->fe[i].opaque == opaque) {
            memmove(&c->fe[i], &c->fe[i + 1], (c->nfe - i - 1) * sizeof(c->fe[0]));
            c->nfe--;
            if (c->focus >= c->nfe)
                c->focus = 0;
            return;
        }
    }
}

bool chardev_has_focus(struct chardev *c, void *opaque)
{
    struct frontend *f = chr_focus(c);

    return f && f->opaque == opaque;
}

int chardev_wait_clients(char **err)
{
    for (struct chardev *c = chardevs; c; c = c->next) {
        struct pollfd p;

        if (!c->wait || c->connected)
            continue;
        fprintf(stderr, "skiff: waiting for a connection on %s\n", c->path ? c->path : c->id);
        p.fd = c->listen_fd;
        p.events = POLLIN;
        while (!c->connected) {
            if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                *err = xasprintf("%s: waiting for a client: %s", c->id, strerror(errno));
                return -errno;
            }
            chr_listen_ready(c, EPOLLIN);
        }
    }
    return 0;
}

void chardev_cleanup_all(void)
{
    while (chardevs) {
        struct chardev *c = chardevs;

        chardevs = c->next;
        chr_free(c);
    }
}
