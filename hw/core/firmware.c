/* firmware.c: finding firmware and ROM images in the places Debian's seabios and qemu packages install them */
#define LOG_PREFIX "firmware: "
#include "hw/core/firmware.h"
#include "util/log.h"

#include <unistd.h>

static const char *const firmware_dirs[] = {
    "/usr/share/seabios",
    "/usr/share/qemu",
    "/usr/lib/ipxe/qemu",
};

/* The Debian package a missing image comes in, for the error message */
static const char *firmware_package(const char *name)
{
    static const struct { const char *prefix, *pkg; } pkgs[] = {
        { "linuxboot", "qemu-system-data" },
        { "multiboot", "qemu-system-data" },
        { "pvh", "qemu-system-data" },
        { "efi-", "ipxe-qemu" },
        { "pxe-", "ipxe-qemu" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(pkgs); i++)
        if (!strncmp(name, pkgs[i].prefix, strlen(pkgs[i].prefix)))
            return pkgs[i].pkg;
    return "seabios";
}

int firmware_load(const char *what, const char *name, uint8_t **data, size_t *len, char **err)
{
    const char *env = getenv("SKIFF_FIRMWARE_DIR");
    char *path = NULL, *tried;
    int r;

    if (strchr(name, '/')) {
        r = file_read_all(name, data, len);
        if (r < 0)
            *err = xasprintf("%s '%s': %s", what, name, strerror(-r));
        return r;
    }
    tried = xstrdup(env && *env ? env : "");
    if (env && *env) {
        path = xasprintf("%s/%s", env, name);
        if (access(path, R_OK) != 0) {
            free(path);
            path = NULL;
        }
    }
    for (size_t i = 0; !path && i < ARRAY_SIZE(firmware_dirs); i++) {
        char *t = xasprintf("%s%s%s", tried, *tried ? ", " : "", firmware_dirs[i]);

        free(tried);
        tried = t;
        path = xasprintf("%s/%s", firmware_dirs[i], name);
        if (access(path, R_OK) != 0) {
            free(path);
            path = NULL;
        }
    }
    if (!path) {
        *err = xasprintf("cannot find the %s '%s' (looked in %s); install Debian's %s "
                         "package or name the file", what, name, tried, firmware_package(name));
        free(tried);
        return -ENOENT;
    }
    free(tried);
    r = file_read_all(path, data, len);
    if (r < 0)
        *err = xasprintf("%s '%s': %s", what, path, strerror(-r));
    else
        log_debug("%s: %s", what, path);
    free(path);
    return r;
}
