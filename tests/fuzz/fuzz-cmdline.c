/* fuzz-cmdline.c: libFuzzer target: the option-string parsers behind the command line */
#include "block/blockdev.h"
#include "hw/core/device.h"
#include "target-x86/cpuid.h"
#include "target-x86/smbios.h"
#include "util/opts.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *err = NULL;
    struct cpu_topology t;
    struct opts *o;
    uint64_t v;

    memcpy(s, data, size);
    s[size] = '\0';
    o = opts_parse(s, "driver", &err);
    if (o) {
        bool b;

        opts_get_uint(o, "iobase", &v);
        opts_get_bool(o, "server", &b);
        opts_get_size(o, "size", &v);
        opts_first_unused(o);
        opts_free(o);
    }
    free(err);
    err = NULL;
    parse_size(s, MiB, &v);
    if (cpu_topology_parse(s, &t, &err) == 0 && (t.cpus < 1 || t.cpus > t.sockets * t.cores * t.threads))
        abort();
    free(err);
    err = NULL;
    cpuid_configure(s, &err);
    free(err);
    err = NULL;
    /* -smbios and -uuid, then the tables they go into: every structure must still close */
    int set = smbios_option(s, &err) == 0;

    free(err);
    err = NULL;
    set |= smbios_set_uuid(s, &err) == 0;
    if (set) {
        struct cpu_topology topo = { .cpus = 1, .sockets = 1, .cores = 1, .threads = 1 };
        struct smbios_config c = { .topo = &topo, .ram_below_4g = 128 * MiB };
        struct smbios_tables tb;

        smbios_build(&tb, &c);
        if (tb.len < 6 || tb.data[tb.len - 6] != 127 || tb.data[tb.len - 1] || tb.data[tb.len - 2])
            abort();
        smbios_tables_free(&tb);
    }
    free(err);
    smbios_options_reset();
    /* -drive, -blockdev and -device: the whole input as each, then the part before a newline as
     * a -drive and the rest as a -device's properties (the device is made, not realized) */
    {
        char *nl = strchr(s, '\n');
        struct opts *o;

        err = NULL;
        blockdev_add_drive(s, &err);
        free(err);
        err = NULL;
        blockdev_add_blockdev(s, &err);
        free(err);
        err = NULL;
        if (nl) {
            *nl = '\0';
            blockdev_add_drive(s, &err);
            free(err);
            err = NULL;
            o = opts_parse(nl + 1, "driver", &err);
            if (o) {
                const char *name = opts_get(o, "driver");
                struct device *d = name ? device_new(name) : NULL;

                for (int i = 0; d && i < o->n; i++) {
                    if (strcmp(o->v[i].key, "driver") && device_set_prop(d, o->v[i].key, o->v[i].val, &err) < 0) {
                        if (!err)
                            abort();        /* a refusal says why */
                        free(err);
                        err = NULL;
                    }
                }
                if (d)
                    device_free(d);
                opts_free(o);
            }
            free(err);
        }
        blockdev_cleanup();
    }
    free(s);
    return 0;
}
