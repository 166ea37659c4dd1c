/* char-pty.c: -chardev pty: a new pseudo-terminal, announced on stderr as QEMU does */
#include "chardev/chardev-int.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

static const struct chardev_unimplemented pty_unimplemented[] = {
    { "path", NULL, "a symlink to the pty" },
    { NULL, NULL, NULL },
};

static int pty_parse(struct chardev *c, struct opts *o, char **err)
{
    return chardev_refuse_unimplemented(c, o, pty_unimplemented, err);
}

static int pty_open(struct chardev *c, char **err)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios t;

    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
        int r = chardev_syserr(c, err, "cannot create a pty");

        if (fd >= 0)
            close(fd);
        return r;
    }
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    set_nonblock(fd, true);
    c->in_fd = c->out_fd = fd;
    /* the same words as QEMU, so that scripts that look for the pty find it */
    fprintf(stderr, "char device redirected to %s (label %s)\n", ptsname(fd), c->id);
    return 0;
}

static const struct chardev_ops pty_ops = {
    .name = "pty",
    .parse = pty_parse,
    .open = pty_open,
};
CHARDEV_BACKEND_REGISTER(pty_ops);
