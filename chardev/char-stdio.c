/* char-stdio.c: -chardev stdio: skiff's own terminal, in raw mode while skiff runs */
#include "chardev/chardev-int.h"

#include <termios.h>
#include <unistd.h>

/* The terminal is one, whichever chardev has it. */
static struct {
    bool taken;                 /* by a chardev: a second one is refused */
    bool saved;                 /* `modes` holds the terminal's modes before skiff changed them */
    struct termios modes;
} stdio_terminal;

struct stdio_state {
    bool signals;               /* signal=on: Ctrl-C and friends still signal skiff */
    bool owner;                 /* this chardev took the terminal */
};

static void stdio_restore(void)
{
    if (stdio_terminal.saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &stdio_terminal.modes);
    stdio_terminal.saved = false;
}

static int stdio_parse(struct chardev *c, struct opts *o, char **err)
{
    struct stdio_state *s = c->state;

    s->signals = true;
    if (opts_get_bool(o, "signal", &s->signals) < 0) {
        *err = xasprintf("chardev '%s': signal takes on or off", c->id);
        return -EINVAL;
    }
    if (stdio_terminal.taken) {
        *err = xstrdup("stdio is already used by another chardev (use mon:stdio to share it)");
        return -EBUSY;
    }
    return 0;
}

static int stdio_open(struct chardev *c, char **err)
{
    struct stdio_state *s = c->state;
    struct termios t;

    stdio_terminal.taken = s->owner = true;
    c->in_fd = STDIN_FILENO;
    c->out_fd = STDOUT_FILENO;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t) == 0) {
        stdio_terminal.modes = t;
        stdio_terminal.saved = true;
        atexit(stdio_restore);
        /* raw input, but keep output processing so "\n" still returns the carriage */
        t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_oflag |= OPOST;
        t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
        if (!s->signals)
            t.c_lflag &= ~ISIG;
        t.c_cflag &= ~(CSIZE | PARENB);
        t.c_cflag |= CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    return 0;
}

/* skiff's stdin and stdout stay open: only the terminal's modes come back. */
static void stdio_close(struct chardev *c)
{
    struct stdio_state *s = c->state;

    if (s->owner) {
        stdio_restore();
        stdio_terminal.taken = false;
    }
}

static const struct chardev_ops stdio_ops = {
    .name = "stdio",
    .state_size = sizeof(struct stdio_state),
    .parse = stdio_parse,
    .open = stdio_open,
    .close = stdio_close,
};
CHARDEV_BACKEND_REGISTER(stdio_ops);
