/* fuzz-cmdline.c: libFuzzer target: the option-string parsers behind the command line */
#include "hw/pc/pc-drives.h"
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
    /* -drive and -device ide-hd|ide-cd: the whole input as each, then the part before a
     * newline as a -drive and the rest as the -device that places it */
    {
        struct pc_drive_set ds = { 0 };
        char *nl = strchr(s, '\n');

        err = NULL;
        pc_drives_parse_drive(&ds, s, &err);
        free(err);
        err = NULL;
        pc_drives_parse_device(&ds, s, &err);
        free(err);
        err = NULL;
        if (nl) {
            *nl = '\0';
            pc_drives_parse_drive(&ds, s, &err);
            free(err);
            err = NULL;
            if (pc_drives_parse_device(&ds, nl + 1, &err) == 1) {
                int placed = 0;

                for (int i = 0; i < PC_MAX_IDE; i++)
                    placed += ds.ide[i].present;
                if (!placed)
                    abort();
            }
            free(err);
        }
        pc_drives_free(&ds);
    }
    free(s);
    return 0;
}
