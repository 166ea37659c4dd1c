/* fuzz-cmdline.c: libFuzzer target: the option-string parsers behind the command line */
#include "target-x86/cpuid.h"
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
    free(s);
    return 0;
}
