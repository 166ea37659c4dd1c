/* cmd-cpu.c: command cores for the vCPUs and guest memory: query-cpus-fast, x-query-registers, inject-nmi, pmemsave, and the reads behind xp */
#include "monitor/commands.h"
#include "monitor/monitor.h"        // monitor_allow_file_writes
#include "hw/core/guest-mem.h"      // gmem_read
#include "hw/core/machine.h"        // machine_cfg.qtest
#include "target-x86/cpu.h"

#include <stdio.h>

static bool file_writes_refused;

void monitor_allow_file_writes(bool allow)
{
    file_writes_refused = !allow;
}

/* The number of vCPUs: none under the test accelerator. */
static int mon_cpus(void)
{
    return machine_cfg.qtest ? 0 : cpus_count();
}

struct mon_cpu_info_fast *mon_query_cpus_fast(void)
{
    struct mon_cpu_info_fast *list = NULL, **tail = &list;
    int n = mon_cpus();

    for (int i = 0; i < n; i++) {
        struct mon_cpu_info_fast *info = xnew(struct mon_cpu_info_fast);

        info->cpu_index = i;
        info->thread_id = cpu_get(i)->tid;
        *tail = info;
        tail = &info->next;
    }
    return list;
}

char *mon_x_query_registers(int cpu_index, char **err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    if (cpu_index < -1 || cpu_index >= mon_cpus()) {
        *err = xstrdup("no such CPU");
        return NULL;
    }
    f = open_memstream(&text, &len);
    if (!f) {
        *err = xstrdup("out of memory");
        return NULL;
    }
    cpus_dump_state(cpu_index, f);
    fclose(f);
    return text;
}

int mon_inject_nmi(char **err)
{
    int r;

    if (!mon_cpus()) {
        *err = xstrdup("no CPUs (-accel qtest)");
        return -ENODEV;
    }
    r = cpus_nmi();
    if (r < 0)
        *err = xasprintf("KVM would not take it: %s", strerror(-r));
    return r;
}

int mon_memory_read(uint64_t addr, void *buf, size_t len)
{
    return gmem_read(addr, buf, len);
}

/* -errno of a failed libc call, which should have set errno */
static int errno_or_eio(void)
{
    return errno ? -errno : -EIO;
}

/* 64 KiB at a time; where the range leaves guest RAM, what was saved stays and *err says how much */
int mon_pmemsave(uint64_t val, uint64_t size, const char *filename, char **err)
{
    uint8_t buf[65536];
    uint64_t done = 0;
    int r = 0;
    FILE *f;

    if (size > UINT64_MAX - val) {
        *err = xasprintf("0x%" PRIx64 " + 0x%" PRIx64 " wraps around", val, size);
        return -EINVAL;
    }
    if (file_writes_refused) {
        *err = xstrdup("this monitor writes no files");
        return -EPERM;
    }
    f = fopen(filename, "wb");
    if (!f) {
        r = errno_or_eio();
        *err = xasprintf("'%s': %s", filename, strerror(errno));
        return r;
    }
    while (done < size) {
        size_t n = MIN(sizeof(buf), size - done);

        if (mon_memory_read(val + done, buf, n) < 0) {
            *err = xasprintf("0x%" PRIx64 " is not guest RAM (%" PRIu64 " bytes saved)", val + done, done);
            r = -EFAULT;
            break;
        }
        if (fwrite(buf, 1, n, f) != n) {
            r = errno_or_eio();
            *err = xasprintf("'%s': %s", filename, strerror(errno));
            break;
        }
        done += n;
    }
    if (fclose(f) != 0 && !r) {
        r = errno_or_eio();
        *err = xasprintf("'%s': %s", filename, strerror(errno));
    }
    return r;
}
