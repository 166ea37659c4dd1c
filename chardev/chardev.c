/* chardev.c: the chardev layer: the registry of backends and chardevs, -chardev and the short forms of -serial, frontends, input and output */
#define LOG_PREFIX "chardev: "
#include "chardev/chardev-int.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/sockets.h"   // socket_address_parse

#include <poll.h>
#include <stdarg.h>
#include <unistd.h>

#define MAX_BACKENDS 16
#define OUTBUF_MAX (1 * MiB)

/* the backends, sorted by name */
static const struct chardev_ops *backends[MAX_BACKENDS];
static int nbackends;
static struct chardev *chardevs;

void chardev_backend_register(const struct chardev_ops *ops)
{
    int i = nbackends;

    if (nbackends == MAX_BACKENDS)
        abort();
    for (; i > 0 && strcmp(backends[i - 1]->name, ops->name) > 0; i--)
        backends[i] = backends[i - 1];
    backends[i] = ops;
    nbackends++;
}

static const struct chardev_ops *backend_find(const char *name)
{
    for (int i = 0; i < nbackends; i++)
        if (!strcmp(backends[i]->name, name))
            return backends[i];
    return NULL;
}

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
    return !c->ops->is_connected || c->ops->is_connected(c);
}

/* ---- input ---- */

static void chr_fd_ready(void *opaque, uint32_t events);
static void chr_out_ready(void *opaque, uint32_t events);

void chardev_update_watch(struct chardev *c)
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

void chardev_stop_io(struct chardev *c)
{
    c->want_input = false;
    c->olen = 0;
    chardev_update_watch(c);
}

void chardev_close_fds(struct chardev *c)
{
    if (c->in_fd >= 0)
        close(c->in_fd);
    if (c->out_fd >= 0 && c->out_fd != c->in_fd)
        close(c->out_fd);
    c->in_fd = c->out_fd = -1;
}

int chardev_syserr(struct chardev *c, char **err, const char *fmt, ...)
{
    int r = -errno;
    char *what;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    *err = xasprintf("chardev '%s': %s: %s", c->id, what ? what : fmt, strerror(-r));
    free(what);
    return r;
}

/* Whether `value` asks for the same as `accepted`, "off" (or no, false, 0) or "0". */
static bool value_is(const char *value, const char *accepted)
{
    uint64_t n;
    bool on;

    if (!strcmp(accepted, "off"))
        return parse_bool(value, &on) == 0 && !on;
    return parse_uint(value, &n) == 0 && n == 0;
}

int chardev_refuse_unimplemented(struct chardev *c, struct opts *o,
                                 const struct chardev_unimplemented *list, char **err)
{
    for (; list->key; list++) {
        const char *v = opts_get(o, list->key);

        if (v && !(list->accepted && value_is(v, list->accepted))) {
            *err = xasprintf("chardev '%s': skiff does not implement %s=%s (%s)", c->id,
                             list->key, v, list->what);
            return -ENOTSUP;
        }
    }
    return 0;
}

void chardev_send_event(struct chardev *c, enum chardev_event ev)
{
    for (int i = 0; i < c->nfe; i++)
        if (c->fe[i].ops->event)
            c->fe[i].ops->event(c->fe[i].opaque, ev);
}

static void chr_flush(struct chardev *c);

static void chr_out_ready(void *opaque, uint32_t events)
{
    chr_flush(opaque);
}

static void chr_fd_ready(void *opaque, uint32_t events)
{
    struct chardev *c = opaque;
    struct chardev_frontend *f = chardev_focus(c);
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
            chardev_update_watch(c);
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
        if (c->ops->hangup) {
            c->ops->hangup(c);
        } else {
            c->want_input = false;      /* EOF on stdin or a pipe: no more input */
            chardev_update_watch(c);
        }
        return;
    }
    if (c->mux)
        chardev_mux_input(c, buf, n);
    else if (f && f->ops->read)
        f->ops->read(f->opaque, buf, n);
}

void chardev_accept_input(struct chardev *c)
{
    if (c->in_paused) {
        c->in_paused = false;
        chardev_update_watch(c);
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
            if (c->ops->hangup) {
                c->ops->hangup(c);
                return;
            }
            break;
        }
        memmove(c->obuf, c->obuf + n, c->olen - n);
        c->olen -= n;
    }
    chardev_update_watch(c);
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
                    if (c->ops->hangup)
                        c->ops->hangup(c);
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
            /* as chr_flush does: the backend hears that its peer went */
            if (c->ops->hangup)
                c->ops->hangup(c);
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

/* ---- creation ---- */

static void chr_free(struct chardev *c)
{
    chardev_stop_io(c);
    if (c->ops->close)
        c->ops->close(c);
    else
        chardev_close_fds(c);
    free(c->state);
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

/* "(file, null, ...)": the backends there are, for a message */
static char *backend_names(void)
{
    char *s = xstrdup("");

    for (int i = 0; i < nbackends; i++) {
        char *t = xasprintf("%s%s%s", s, i ? ", " : "", backends[i]->name);

        free(s);
        s = t;
    }
    return s;
}

/* What every backend of QEMU's takes and skiff's do not: a log of the output. */
static const struct chardev_unimplemented common_unimplemented[] = {
    { "logfile", NULL, "a log of the output" },
    { "logappend", "off", "a log of the output" },
    { NULL, NULL, NULL },
};

/* Build a chardev from parsed options (backend in "backend"). */
static struct chardev *chr_from_opts(struct opts *o, char **err)
{
    const char *be = opts_get(o, "backend"), *id = opts_get(o, "id"), *unused;
    const struct chardev_ops *ops;
    struct chardev *c;
    bool mux = false;

    if (!id) {
        *err = xstrdup("-chardev needs id=NAME");
        return NULL;
    }
    if (chardev_find(id)) {
        *err = xasprintf("a chardev with id '%s' already exists", id);
        return NULL;
    }
    if (opts_get_bool(o, "mux", &mux) < 0) {
        *err = xasprintf("chardev '%s': mux takes on or off", id);
        return NULL;
    }
    if (!be) {
        *err = xasprintf("chardev '%s': no backend given", id);
        return NULL;
    }
    ops = backend_find(be);
    if (!ops) {
        char *names = backend_names();

        *err = xasprintf("chardev '%s': unknown backend '%s' (%s)", id, be, names);
        free(names);
        return NULL;
    }
    c = xnew(struct chardev);
    c->id = xstrdup(id);
    c->ops = ops;
    c->in_fd = c->out_fd = -1;
    if (ops->state_size)
        c->state = xzalloc(ops->state_size);
    if (chardev_refuse_unimplemented(c, o, common_unimplemented, err) < 0)
        goto fail;
    if (ops->parse && ops->parse(c, o, err) < 0)
        goto fail;
    unused = opts_first_unused(o);
    if (unused) {
        *err = xasprintf("chardev '%s': %s has no parameter '%s'", id, ops->name, unused);
        goto fail;
    }
    if (ops->open && ops->open(c, err) < 0)
        goto fail;
    c->mux = mux;
    c->want_input = c->in_fd >= 0;
    chardev_update_watch(c);
    chr_register(c);
    return c;
fail:
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
        bool tty = !strcmp(spec + 4, "stdio") || !strncmp(spec + 4, "stdio,", 6);

        /* Ctrl-C on a terminal shared with the monitor goes to the guest, as in QEMU */
        s = xasprintf("%s,mux=on%s", spec + 4, tty ? ",signal=off" : "");
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
        else if ((n == 4 && !strncmp(spec, "unix", 4)) || (n == 3 && !strncmp(spec, "tcp", 3))) {
            char *where = xasprintf("%.*s:%s", (int)n, spec, arg), *e = NULL;
            struct socket_address a;

            if (socket_address_parse(where, &a, &e) < 0) {
                *err = xasprintf("'%s': %s", spec, e);
                free(e);
            } else if (a.path) {
                s = xasprintf("socket,id=%s,path=%s%s", id, a.path, extra ? extra : "");
            } else {
                s = xasprintf("socket,id=%s,host=%s,port=%s%s", id, a.host, a.port,
                              extra ? extra : "");
            }
            socket_address_free(&a);
            free(where);
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
    if (c->nfe == CHARDEV_MAX_FRONTENDS || (c->nfe && !c->mux))
        return -EBUSY;
    c->fe[c->nfe].ops = ops;
    c->fe[c->nfe].opaque = opaque;
    c->nfe++;
    if (chardev_is_connected(c) && ops->event && !c->ops->sink)
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
    struct chardev_frontend *f = chardev_focus(c);

    return f && f->opaque == opaque;
}

int chardev_wait_clients(char **err)
{
    for (struct chardev *c = chardevs; c; c = c->next) {
        int r = c->ops->wait_connected ? c->ops->wait_connected(c, err) : 0;

        if (r < 0)
            return r;
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
