/* bootdev.c: the list of devices with a bootindex and their firmware paths, as QEMU keeps it for fw_cfg's bootorder */
#include "hw/core/bootdev.h"

struct bootdev {
    struct device *dev;
    int32_t index;
    char *path;
    struct bootdev *next;
};

static struct bootdev *bootdevs;

void bootdev_add(struct device *dev, int32_t bootindex, const char *fw_path)
{
    struct bootdev *n = xnew(struct bootdev), **pp = &bootdevs;

    n->dev = dev;
    n->index = bootindex;
    n->path = xstrdup(fw_path);
    /* sorted by index; a tie keeps the order the devices were made in */
    while (*pp && (*pp)->index <= bootindex)
        pp = &(*pp)->next;
    n->next = *pp;
    *pp = n;
}

void bootdev_remove(struct device *dev)
{
    for (struct bootdev **pp = &bootdevs; *pp;) {
        struct bootdev *b = *pp;

        if (b->dev == dev) {
            *pp = b->next;
            free(b->path);
            free(b);
        } else {
            pp = &b->next;
        }
    }
}

int bootdev_order(char *buf, size_t size, size_t *len)
{
    int n = 0;

    for (struct bootdev *b = bootdevs; b; b = b->next, n++)
        if (*len < size)
            *len += snprintf(buf + *len, size - *len, "%s\n", b->path);
    if (*len > size)
        *len = size;
    return n;
}
