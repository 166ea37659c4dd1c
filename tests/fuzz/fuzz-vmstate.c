/* fuzz-vmstate.c: libFuzzer target: device state streams (what an incoming migration delivers) into every device type */
#include "hw/device.h"
#include "migration/vmstate.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "isa-serial", "mc146818rtc", "i8042", "piix4-pm", "pc-ports",
                                         "i440fx", "piix3", "piix3-ide", "fw_cfg", "VGA", "pci-testdev" };
    const struct device_type *t;
    struct device *dev;
    struct vmbuf b = { 0 }, out;
    char *err = NULL;

    if (size < 1)
        return 0;
    t = device_type_find(types[data[0] % (sizeof(types) / sizeof(types[0]))]);
    if (!t || !t->vmsd)
        return 0;
    dev = device_new(t->name);
    /* the stream starts with the right section name so the fields get exercised */
    vmbuf_put_u8(&b, strlen(t->vmsd->name));
    vmbuf_put(&b, t->vmsd->name, strlen(t->vmsd->name));
    vmbuf_put(&b, data + 1, size - 1);
    if (vmstate_load(t->vmsd, dev, &b, &err) < 0) {
        if (!err)
            abort();        /* a refusal always says why */
    } else {
        vmbuf_init(&out);
        vmstate_save(t->vmsd, dev, &out);
        vmbuf_free(&out);
    }
    free(err);
    vmbuf_free(&b);
    for (const struct prop_desc *p = t->props; p && p->name; p++)
        if (p->type == PROP_STRING)
            free(*(char **)((uint8_t *)dev + p->offset));
    free(dev);
    return 0;
}
