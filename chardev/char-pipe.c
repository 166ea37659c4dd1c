/* char-pipe.c: -chardev pipe: the FIFOs PATH.in and PATH.out, or PATH both ways */
#include "chardev/chardev-int.h"

#include <fcntl.h>
#include <unistd.h>

struct pipe_state {
    const char *path;           /* the option's string, valid until open */
};

static int pipe_parse(struct chardev *c, struct opts *o, char **err)
{
    struct pipe_state *s = c->state;

    s->path = opts_get(o, "path");
    if (!s->path) {
        *err = xasprintf("chardev '%s': pipe needs path=", c->id);
        return -EINVAL;
    }
    return 0;
}

static int pipe_open(struct chardev *c, char **err)
{
    struct pipe_state *s = c->state;
    char *pin = xasprintf("%s.in", s->path), *pout = xasprintf("%s.out", s->path);

    /* read-write, so that opening a FIFO does not wait for the other end */
    c->in_fd = open(pin, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    c->out_fd = open(pout, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    free(pin);
    free(pout);
    if (c->in_fd < 0 || c->out_fd < 0) {
        chardev_close_fds(c);
        c->in_fd = c->out_fd = open(s->path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    }
    if (c->in_fd < 0)
        return chardev_syserr(c, err, "cannot open pipe '%s'", s->path);
    return 0;
}

static const struct chardev_ops pipe_ops = {
    .name = "pipe",
    .state_size = sizeof(struct pipe_state),
    .parse = pipe_parse,
    .open = pipe_open,
};
CHARDEV_BACKEND_REGISTER(pipe_ops);
