/* char-file.c: -chardev file: output to a file, input (if any) from another */
#include "chardev/chardev-int.h"

#include <fcntl.h>

struct file_state {
    const char *path;           /* output; the strings are the options', valid until open */
    const char *input_path;     /* NULL: no input */
    bool append;                /* append=on: keep what the file holds */
};

static int file_parse(struct chardev *c, struct opts *o, char **err)
{
    struct file_state *s = c->state;

    s->path = opts_get(o, "path");
    s->input_path = opts_get(o, "input-path");
    if (opts_get_bool(o, "append", &s->append) < 0) {
        *err = xasprintf("chardev '%s': append takes on or off", c->id);
        return -EINVAL;
    }
    if (!s->path) {
        *err = xasprintf("chardev '%s': file needs path=", c->id);
        return -EINVAL;
    }
    return 0;
}

static int file_open(struct chardev *c, char **err)
{
    struct file_state *s = c->state;

    c->out_fd = open(s->path, O_WRONLY | O_CREAT | O_CLOEXEC | (s->append ? O_APPEND : O_TRUNC),
                     0644);
    if (c->out_fd < 0)
        return chardev_syserr(c, err, "cannot open '%s'", s->path);
    if (s->input_path && (c->in_fd = open(s->input_path, O_RDONLY | O_CLOEXEC)) < 0)
        return chardev_syserr(c, err, "cannot open '%s'", s->input_path);
    return 0;
}

static const struct chardev_ops file_ops = {
    .name = "file",
    .state_size = sizeof(struct file_state),
    .parse = file_parse,
    .open = file_open,
};
CHARDEV_BACKEND_REGISTER(file_ops);
