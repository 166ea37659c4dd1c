/* qcow2.c: the qcow2 format (stub until the driver lands) */
#define LOG_PREFIX "qcow2: "
#include "block/block-int.h"

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    if (len >= 8 && ldl_be(buf) == 0x514649fb && (ldl_be(buf + 4) == 2 || ldl_be(buf + 4) == 3))
        return 100;
    return 0;
}

static int qcow2_open(struct block_state *bs, const struct block_open_opts *o, char **err)
{
    if (err)
        *err = xasprintf("'%s': qcow2 is not supported yet", bs->filename);
    return -ENOTSUP;
}

const struct block_driver block_driver_qcow2 = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
};
