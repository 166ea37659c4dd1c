/* fuzz-kernel.c: libFuzzer target: the kernel loaders (bzImage, PVH ELF, multiboot), host-side unpacking, and a bzImage cut for firmware */
#include "hw/core/guest-mem.h"
#include "target-x86/boot.h"
#include "tests/unit/tap.h" // tap_tmp_dir

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define RAM_SIZE (64 * MiB)

/* a small file for -initrd and the multiboot modules, so that their placement is fuzzed too */
static char module[256];
static char modules[2 * sizeof(module) + 8];

static void module_remove(void)
{
    unlink(module);
}

static void module_create(void)
{
    uint8_t buf[5000];
    int fd;

    snprintf(module, sizeof(module), "%s/fuzz-kernel-module.XXXXXX", tap_tmp_dir());
    fd = mkstemp(module);

    memset(buf, 0x5a, sizeof(buf));
    if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
        abort();
    close(fd);
    atexit(module_remove);
    snprintf(modules, sizeof(modules), "%s one,%s", module, module);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    static struct e820_table e820;
    struct boot_request req = {
        .kernel = "fuzz", .cmdline = "console=ttyS0", .e820 = &e820,
        .ram_below_4g = RAM_SIZE, .rsdp_addr = 0xe0000, .unpack = true,
    };
    struct boot_request mb_req;
    struct cpu_entry entry;
    char *err = NULL;
    int r;

    if (!ram) {
        struct ram_region *region;

        if (ram_region_alloc(&region, "fuzz-ram", RAM_SIZE, false) < 0 ||
            gmem_map(region, 0, 0, RAM_SIZE, false, "ram", NULL) < 0)
            abort();
        ram = region->hva;
        e820_build(&e820, RAM_SIZE, 0);
        module_create();
    }
    /* each input loads without, then with an initrd (two multiboot modules) */
    for (int with_initrd = 0; with_initrd < 2; with_initrd++) {
        req.initrd = with_initrd ? module : NULL;
        mb_req = req;
        mb_req.initrd = with_initrd ? modules : NULL;
        r = bzimage_load(&req, data, size, &entry, &err);
        if (r == -ENOEXEC) {
            r = pvh_load(&req, data, size, &entry, &err);
            if (r == -ENOEXEC)
                r = multiboot_load(&mb_req, data, size, &entry, &err);
            /* PVH and multiboot hand over their boot information in RAM, never at page 0 */
            if (r == 0 && (entry.ebx < 4096 || entry.ebx >= RAM_SIZE))
                abort();
        }
        /* every refusal says why */
        if (r < 0 && r != -ENOEXEC && !err)
            abort();
        free(err);
        err = NULL;
    }
    /* the same image cut for firmware (-kernel with -bios): refused with a reason, or whole */
    {
        struct fw_kernel fk;

        r = bzimage_for_firmware(&req, data, size, &fk, &err);
        if ((r < 0 && !err) ||
            (r == 0 && fk.setup.len + fk.kernel.len != size))
            abort();
        if (r == 0)
            fw_kernel_free(&fk);
    }
    free(err);
    return 0;
}
