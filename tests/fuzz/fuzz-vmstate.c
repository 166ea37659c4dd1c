/* fuzz-vmstate.c: libFuzzer target: device state streams (what an incoming migration delivers) loaded into the running devices of the board, which the guest then drives (registers, DMA starts) */
#include "migration/vmstate.h"
#include "tests/fuzz/fuzz-board.h"

#include <stdint.h>

/*
 * Input: [device][mode][n][...]. device picks one of the board's devices that have state.
 * mode & 1 = 0: the device's own stream with n byte patches [offset be16][value] applied;
 * mode & 1 = 1: a stream of n * 8 bytes taken whole after the section header.
 * The rest: guest operations as fuzz_run_ops reads them, run after the load (refused or not).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct device *devs[32], *dev;
    const struct vmstate_desc *vmsd;
    struct vmbuf b;
    size_t ndev = 0, pos = 3;
    char *err = NULL;

    if (!ready) {
        fuzz_rig_init();
        ready = true;
    }
    if (size < 3)
        return 0;
    fuzz_rig_reset();
    for (struct device *d = device_first(); d && ndev < ARRAY_SIZE(devs); d = d->next)
        if (d->type->vmsd)
            devs[ndev++] = d;
    dev = devs[data[0] % ndev];
    vmsd = dev->type->vmsd;
    vmbuf_init(&b);
    if (data[1] & 1) {
        size_t n = MIN((size_t)data[2] * 8, size - pos);

        vmbuf_put_u8(&b, strlen(vmsd->name));
        vmbuf_put(&b, vmsd->name, strlen(vmsd->name));
        vmbuf_put_be32(&b, vmsd->version);
        vmbuf_put(&b, data + pos, n);
        pos += n;
    } else {
        vmstate_save(vmsd, dev, &b);
        for (unsigned i = 0; i < data[2] && pos + 3 <= size; i++, pos += 3) {
            size_t off = lduw_be(data + pos) % b.len;

            b.data[off] = data[pos + 2];
        }
    }
    if (device_vmstate_load(dev, &b, &err) < 0 && !err)
        abort();        /* a refusal always says why */
    free(err);
    vmbuf_free(&b);
    fuzz_run_ops(data + pos, size - pos);
    return 0;
}
