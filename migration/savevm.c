/* savevm.c: the machine's stream: a header, the virtual clock, guest RAM by pages, then one framed section per device */
#define LOG_PREFIX "savevm: "
#include "migration/savevm.h"
#include "hw/core/device.h"
#include "hw/core/machine.h" // machine_cfg, machine_ram
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // clock_get_ns, clock_virtual_step

#include <fcntl.h>
#include <unistd.h>

/*
 * The stream (numbers big-endian):
 *
 *   be32 "SKVM", be32 format version 1, then records, each starting with its kind (u8):
 *     1 clock   be64 the virtual clock in ns
 *     2 RAM     be64 its size, pages as vmstate.c writes them
 *     3 device  u8 name length, the device type's name, be32 the device's instance (nth of its
 *               type), be32 section length, the section (vmstate_save's)
 *     0 end
 */
#define SAVEVM_MAGIC 0x534b564du
#define SAVEVM_VERSION 1

enum { REC_END, REC_CLOCK, REC_RAM, REC_DEVICE };

static int savevm_supported(char **err)
{
    if (!machine_cfg.qtest || !clock_virtual_is_manual()) {
        *err = xstrdup("saving and loading a machine needs the test accelerator for now "
                       "(a machine with vCPUs needs their state too)");
        return -ENOTSUP;
    }
    return 0;
}

/* Guest RAM: only the parts of its memfd that hold data (reading a hole would fill it). */
static void save_ram(struct vmbuf *b)
{
    uint64_t size = machine_ram.size, off = 0;

    vmbuf_put_u8(b, REC_RAM);
    vmbuf_put_be64(b, size);
    while (off < size) {
        off_t data = lseek(machine_ram.fd, off, SEEK_DATA), hole;

        if (data < 0 && errno == ENXIO)
            break;
        if (data < 0) {
            data = off;     /* no SEEK_DATA: look at every page */
            hole = size;
        } else {
            hole = lseek(machine_ram.fd, data, SEEK_HOLE);
            if (hole < 0 || (uint64_t)hole > size)
                hole = size;
        }
        data = ALIGN_DOWN((uint64_t)data, VMS_PAGE_SIZE);
        hole = MIN(ALIGN_UP((uint64_t)hole, VMS_PAGE_SIZE), size);
        vmstate_put_pages(b, machine_ram.hva, data, hole);
        off = hole;
    }
    vmbuf_put_be32(b, VMS_PAGES_END);
}

int savevm_save(struct vmbuf *b, char **err)
{
    int r;

    *err = NULL;
    if ((r = savevm_supported(err)) < 0)
        return r;
    /* nothing in flight may land after its device was saved */
    device_drain_all();
    vmbuf_put_be32(b, SAVEVM_MAGIC);
    vmbuf_put_be32(b, SAVEVM_VERSION);
    vmbuf_put_u8(b, REC_CLOCK);
    vmbuf_put_be64(b, clock_get_ns(CLK_VIRTUAL));
    save_ram(b);
    for (struct device *d = device_first(); d; d = d->next) {
        size_t at;

        if (!d->type->vmsd)
            continue;
        vmbuf_put_u8(b, REC_DEVICE);
        vmbuf_put_u8(b, strlen(d->type->name));
        vmbuf_put(b, d->type->name, strlen(d->type->name));
        vmbuf_put_be32(b, d->instance);
        at = b->len;
        vmbuf_put_be32(b, 0);
        r = vmstate_save(d->type->vmsd, d, b);
        if (r < 0) {
            *err = xasprintf("%s: its state cannot be saved: %s", d->type->name, strerror(-r));
            return r;
        }
        stl_be(b->data + at, b->len - at - 4);
    }
    vmbuf_put_u8(b, REC_END);
    return 0;
}

/* What a load found in the stream, checked before anything is loaded. */
struct savevm_plan {
    int64_t clock;
    struct vmpages ram;
    size_t ram_at;              /* RAM's pages were read from this buffer */
    struct device **devs;       /* each device's section, in stream order */
    struct vmbuf *secs;
    size_t ndevs;
};

static struct device *device_by_instance(const char *type, uint32_t instance)
{
    for (struct device *d = device_first(); d; d = d->next)
        if (!strcmp(d->type->name, type) && d->instance == instance)
            return d;
    return NULL;
}

static int plan_device(struct savevm_plan *p, struct vmbuf *b, char **err)
{
    char name[256];
    uint8_t n = vmbuf_get_u8(b);
    uint32_t instance, len;
    struct device *d;

    vmbuf_get(b, name, n);
    name[n] = '\0';
    instance = vmbuf_get_be32(b);
    len = vmbuf_get_be32(b);
    if (b->overrun || len > b->len - b->pos) {
        *err = xstrdup("the stream ends inside a device's section");
        return -EINVAL;
    }
    d = device_by_instance(name, instance);
    if (!d || !d->type->vmsd) {
        *err = xasprintf("the stream has state for %s #%u, which this machine does not have "
                         "(start it with the same options)", name, instance);
        return -EINVAL;
    }
    for (size_t i = 0; i < p->ndevs; i++) {
        if (p->devs[i] == d) {
            *err = xasprintf("the stream has state for %s #%u twice", name, instance);
            return -EINVAL;
        }
    }
    p->devs = xrealloc(p->devs, (p->ndevs + 1) * sizeof(*p->devs));
    p->secs = xrealloc(p->secs, (p->ndevs + 1) * sizeof(*p->secs));
    p->devs[p->ndevs] = d;
    p->secs[p->ndevs++] = (struct vmbuf){ .data = b->data + b->pos, .len = len };
    b->pos += len;
    return 0;
}

static int plan_load(struct savevm_plan *p, struct vmbuf *b, char **err)
{
    bool clock = false, ram = false;
    const char *why;

    if (vmbuf_get_be32(b) != SAVEVM_MAGIC || b->overrun) {
        *err = xstrdup("this is not a machine state stream");
        return -EINVAL;
    }
    if (vmbuf_get_be32(b) != SAVEVM_VERSION) {
        *err = xstrdup("the stream's format is one this skiff does not load");
        return -EINVAL;
    }
    for (;;) {
        uint8_t kind = vmbuf_get_u8(b);
        uint64_t size;
        int r;

        if (b->overrun) {
            *err = xstrdup("the stream ends before its end mark");
            return -EINVAL;
        }
        switch (kind) {
        case REC_END:
            if (!clock || !ram) {
                *err = xasprintf("the stream has no %s", clock ? "RAM" : "clock");
                return -EINVAL;
            }
            if (b->pos != b->len) {
                *err = xasprintf("%zu bytes follow the stream's end mark", b->len - b->pos);
                return -EINVAL;
            }
            for (struct device *d = device_first(); d; d = d->next) {
                size_t i = 0;

                while (i < p->ndevs && p->devs[i] != d)
                    i++;
                if (d->type->vmsd && i == p->ndevs) {
                    *err = xasprintf("the stream has no state for %s #%u", d->type->name, d->instance);
                    return -EINVAL;
                }
            }
            return 0;
        case REC_CLOCK:
            p->clock = (int64_t)vmbuf_get_be64(b);
            if (clock || b->overrun || p->clock < 0) {
                *err = xstrdup("the stream's clock record is not one a machine writes");
                return -EINVAL;
            }
            clock = true;
            break;
        case REC_RAM:
            size = vmbuf_get_be64(b);
            if (ram || b->overrun || size != machine_ram.size) {
                *err = xasprintf("the stream's RAM (%" PRIu64 " MiB) is not this machine's "
                                 "(%" PRIu64 " MiB)", size / MiB, machine_ram.size / MiB);
                return -EINVAL;
            }
            if (vmpages_read(&p->ram, b, size, &why) < 0) {
                *err = xasprintf("RAM: %s", why);
                return -EINVAL;
            }
            ram = true;
            break;
        case REC_DEVICE:
            if ((r = plan_device(p, b, err)) < 0)
                return r;
            break;
        default:
            *err = xasprintf("the stream has a record of kind %u, which this skiff does not know", kind);
            return -EINVAL;
        }
    }
}

/* RAM as the stream has it: the pages it names, zero elsewhere (holes stay holes). */
static void load_ram(const struct vmpages *pg, const struct vmbuf *b)
{
    uint64_t next = 0;

    for (size_t k = 0; k <= pg->n; k++) {
        uint64_t at = k < pg->n ? (uint64_t)pg->index[k] * VMS_PAGE_SIZE : machine_ram.size;

        /* the pages between are zero: give them back to the host, or clear them */
        if (at > next && fallocate(machine_ram.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                   next, at - next) < 0) {
            for (uint64_t off = next; off < at; off += VMS_PAGE_SIZE)
                if (!vmstate_page_is_zero(machine_ram.hva + off, VMS_PAGE_SIZE))
                    memset(machine_ram.hva + off, 0, VMS_PAGE_SIZE);
        }
        if (k == pg->n)
            break;
        memcpy(machine_ram.hva + at, b->data + pg->pos[k], MIN(VMS_PAGE_SIZE, machine_ram.size - at));
        next = at + VMS_PAGE_SIZE;
    }
}

int savevm_load(struct vmbuf *b, char **err)
{
    struct savevm_plan p = { 0 };
    int64_t now = clock_get_ns(CLK_VIRTUAL);
    int r;

    *err = NULL;
    if ((r = savevm_supported(err)) < 0)
        return r;
    r = plan_load(&p, b, err);
    if (r == 0 && p.clock < now) {
        *err = xasprintf("the stream's clock (%" PRId64 " ns) is behind this machine's (%" PRId64
                         " ns): load into a machine that has not run", p.clock, now);
        r = -EINVAL;
    }
    if (r < 0)
        goto out;
    clock_virtual_step(p.clock - now);
    load_ram(&p.ram, b);
    for (size_t i = 0; i < p.ndevs && r == 0; i++)
        r = device_vmstate_load(p.devs[i], &p.secs[i], err);
out:
    vmpages_free(&p.ram);
    free(p.devs);
    free(p.secs);
    return r;
}

int savevm_save_file(const char *path, char **err)
{
    struct vmbuf b;
    int fd, r;

    vmbuf_init(&b);
    r = savevm_save(&b, err);
    if (r < 0)
        goto out;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    r = fd < 0 ? -errno : write_full(fd, b.data, b.len);
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        *err = xasprintf("%s: %s", path, strerror(-r));
out:
    vmbuf_free(&b);
    return r;
}

int savevm_load_file(const char *path, char **err)
{
    struct vmbuf b;
    int r;

    *err = NULL;
    vmbuf_init(&b);
    r = file_read_all(path, &b.data, &b.len);
    if (r < 0) {
        *err = xasprintf("%s: %s", path, strerror(-r));
        return r;
    }
    b.cap = b.len;
    r = savevm_load(&b, err);
    vmbuf_free(&b);
    return r;
}
