/* char-null.c: -chardev null: output goes nowhere, no input */
#include "chardev/chardev-int.h"

static const struct chardev_ops null_ops = {
    .name = "null",
    .sink = true,
};
CHARDEV_BACKEND_REGISTER(null_ops);
