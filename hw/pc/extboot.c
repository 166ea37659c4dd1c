/* extboot.c: the extboot device: the port at 0x404 where skiff's option ROM (roms/extboot.S) hands over the registers of an int 13h call for its drive, served here from a named drive through the block layer (docs/extboot.md) */
#define LOG_PREFIX "extboot: "
#include "hw/pc/extboot.h"
#include "block/blockdev.h"
#include "hw/core/bootdev.h"
#include "hw/core/device.h"
#include "hw/core/guest-mem.h"
#include "hw/core/ioregion.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h" // event_loop_post, event_loop_run_sync

/* The ROM, assembled from roms/extboot.S by roms/roms.mk (which names the image) */
extern const uint8_t extboot_rom_start[] __attribute__((visibility("hidden")));
extern const uint8_t extboot_rom_end[] __attribute__((visibility("hidden")));
__asm__(".pushsection .rodata\n"
        ".globl extboot_rom_start\n"
        ".globl extboot_rom_end\n"
        ".balign 16\n"
        "extboot_rom_start:\n"
        ".incbin \"" EXTBOOT_ROM_IMAGE "\"\n"
        "extboot_rom_end:\n"
        ".popsection\n");

#define SECTOR 512
#define EB_MAX_SECTORS 128          /* per call, as SeaBIOS's own limit: a 64 KiB buffer */
#define BDA_HDCOUNT 0x475           /* the BIOS data area's number of hard disks */

/* Port status (an inb of the port) */
#define EB_STATUS_IDLE 0
#define EB_STATUS_BUSY 1

/* int 13h status codes (AH), as the BIOS disk services give them */
enum {
    EB_OK = 0x00,
    EB_EPARAM = 0x01,           /* an invalid function or parameter */
    EB_EWRITEPROTECT = 0x03,    /* a write to a read-only drive */
    EB_ENOSECTOR = 0x04,        /* sector not found: past the end of the disk or the geometry */
    EB_EBOUNDARY = 0x09,        /* the buffer is not all RAM */
    EB_ECONTROLLER = 0x20,      /* the image could not be read or written */
    EB_ENOTREADY = 0xaa,        /* the drive has no image */
};
#define EB_PENDING (-1)

/*
 * The frame the ROM leaves on the caller's stack, by byte offset from its linear address:
 * pushal's registers (EDI first), DS, ES and the result word (bit 0: the carry to return).
 */
enum {
    FR_DI = 0, FR_SI = 4, FR_BP = 8, FR_SP = 12, FR_BX = 16, FR_DX = 20, FR_CX = 24, FR_AX = 28,
    FR_DS = 32, FR_ES = 34, FR_RESULT = 36, FR_SIZE = 38,
};

enum eb_io { EB_READ, EB_WRITE, EB_VERIFY };

/* One call, as read from the guest once and answered into the same frame. */
struct extboot_req {
    uint32_t frame_gpa;
    uint8_t frame[FR_SIZE];
    uint8_t fn;                 /* the call's AH */
    /* an I/O's */
    enum eb_io io;
    uint64_t lba, buf_gpa;
    uint32_t count;
    bool chs;                   /* AH=02h-04h: AL returns the sectors done */
    bool dap;                   /* AH=42h-44h: the packet's count returns them */
    uint64_t dap_gpa;
};

struct extboot {
    struct device dev;
    struct blockdev *drive;
    int32_t bootindex;
    bool boot_first;            /* -drive boot=on */
    struct io_region io;
    uint8_t last_status;        /* AH=01h's answer */
    bool busy;                  /* a request is in flight */
    struct block_dev *busy_bd;
    struct extboot_req req;
    uint8_t *buf;               /* EB_MAX_SECTORS sectors between the disk and guest memory */
    /* a drive a virtio-blk serves from its I/O thread: requests go there and come back here */
    struct iovec remote_iov;
    int remote_ret;
    struct loop_work remote_done;
};

/* at most one: there is one ROM and one port */
static struct extboot *extboot_dev;

static uint8_t fr_lo(const struct extboot_req *q, int reg) { return q->frame[reg]; }
static uint8_t fr_hi(const struct extboot_req *q, int reg) { return q->frame[reg + 1]; }
static uint16_t fr_w(const struct extboot_req *q, int reg) { return lduw_le(q->frame + reg); }
static void fr_set_lo(struct extboot_req *q, int reg, uint8_t v) { q->frame[reg] = v; }
static void fr_set_hi(struct extboot_req *q, int reg, uint8_t v) { q->frame[reg + 1] = v; }
static void fr_set_w(struct extboot_req *q, int reg, uint16_t v) { stw_le(q->frame + reg, v); }

/* A real-mode segment:offset as a linear address */
static uint64_t eb_linear(uint16_t seg, uint16_t off)
{
    return (uint64_t)seg * 16 + off;
}

/*
 * The geometry int 13h's CHS calls address: the usual BIOS LBA-assisted translation (63
 * sectors a track, the fewest heads of 16, 32, 64, 128 and 255 that keep to 1024 cylinders).
 * A disk beyond 1024 x 255 x 63 sectors shows its first 8 GiB to CHS calls, the rest to EDD's.
 */
static void eb_bios_chs(uint64_t sectors, unsigned *cyls, unsigned *heads, unsigned *secs)
{
    static const unsigned head_steps[] = { 16, 32, 64, 128, 255 };
    size_t i = 0;

    while (i + 1 < ARRAY_SIZE(head_steps) && sectors > 1024ULL * head_steps[i] * 63)
        i++;
    *heads = head_steps[i];
    *secs = 63;
    *cyls = MAX(MIN(sectors / (*heads * 63), 1024), 1);
}

static uint64_t eb_sectors(struct block_dev *bd)
{
    return block_size(bd) / SECTOR;
}

/* ---- answering ---- */

/* The call is answered: its status, the counts it returns, the frame back into the guest. */
static void extboot_finish(struct extboot *s, int status)
{
    struct extboot_req *q = &s->req;
    uint8_t ah = q->fn;
    uint32_t done = status == EB_OK ? q->count : 0;

    s->busy = false;
    s->busy_bd = NULL;
    /* these give AH a value of their own with the carry clear; AH=01h reports the last status */
    if (!((ah == 0x15 || ah == 0x41) && status == EB_OK))
        fr_set_hi(q, FR_AX, status);
    if (ah != 0x01)
        s->last_status = status;
    if (q->chs)
        fr_set_lo(q, FR_AX, done);
    if (q->dap) {
        uint8_t c[2];

        stw_le(c, done);
        if (gmem_write(q->dap_gpa + 2, c, sizeof(c)) < 0)
            log_guest_error("the disk address packet at 0x%" PRIx64 " is no longer RAM", q->dap_gpa);
    }
    fr_set_w(q, FR_RESULT, status != EB_OK);
    if (gmem_write(q->frame_gpa, q->frame, FR_SIZE) < 0)
        log_guest_error("the request at 0x%x is no longer RAM: the answer is lost", q->frame_gpa);
}

static void extboot_io_done(void *opaque, int ret)
{
    struct extboot *s = opaque;
    struct extboot_req *q = &s->req;
    int status = EB_OK;

    if (ret < 0) {
        log_guest_error("%s of %u sectors at %" PRIu64 " failed: %s",
                        q->io == EB_WRITE ? "a write" : "a read", q->count, q->lba, strerror(-ret));
        status = EB_ECONTROLLER;
    } else if (q->io == EB_READ && gmem_write(q->buf_gpa, s->buf, (size_t)q->count * SECTOR) < 0) {
        status = EB_EBOUNDARY;
    }
    extboot_finish(s, status);
}

/* A drive bound to an I/O thread (virtio-blk,iothread=): submitted in its loop, finished in ours. */
static void extboot_remote_done(void *opaque, int ret)
{
    struct extboot *s = opaque;

    s->remote_ret = ret;
    event_loop_post(event_loop_main(), &s->remote_done);
}

static void extboot_remote_finish(void *opaque)
{
    struct extboot *s = opaque;

    extboot_io_done(s, s->remote_ret);
}

static void extboot_remote_submit(void *opaque)
{
    struct extboot *s = opaque;

    if (s->req.io == EB_WRITE)
        block_aio_writev(s->busy_bd, s->req.lba * SECTOR, &s->remote_iov, 1, extboot_remote_done, s);
    else
        block_aio_readv(s->busy_bd, s->req.lba * SECTOR, &s->remote_iov, 1, extboot_remote_done, s);
}

/*
 * Start the transfer q describes, every value bounded first: the count, the sectors against
 * the disk, the buffer against guest RAM. EB_PENDING, or the status that refused it.
 */
static int extboot_start_io(struct extboot *s)
{
    struct extboot_req *q = &s->req;
    struct block_dev *bd = s->drive->bd;
    size_t len = (size_t)q->count * SECTOR;
    struct iovec iov;

    if (!bd)
        return EB_ENOTREADY;
    if (q->count > EB_MAX_SECTORS)
        return EB_EPARAM;
    if (q->lba >= eb_sectors(bd) || q->count > eb_sectors(bd) - q->lba)
        return EB_ENOSECTOR;
    if (q->count == 0)
        return EB_OK;
    if (q->io != EB_VERIFY && (q->buf_gpa + len < q->buf_gpa || !gmem_is_ram(q->buf_gpa, len)))
        return EB_EBOUNDARY;
    if (q->io == EB_WRITE) {
        if (block_is_read_only(bd))
            return EB_EWRITEPROTECT;
        /* the guest's data, read once: what reaches the disk is this copy */
        if (gmem_read(q->buf_gpa, s->buf, len) < 0)
            return EB_EBOUNDARY;
    }
    iov = (struct iovec){ s->buf, len };
    s->busy = true;
    s->busy_bd = bd;
    if (block_get_loop(bd) != event_loop_main()) {
        s->remote_iov = iov;
        s->remote_done = (struct loop_work){ .fn = extboot_remote_finish, .opaque = s };
        event_loop_run_sync(block_get_loop(bd), extboot_remote_submit, s);
        return EB_PENDING;
    }
    if (q->io == EB_WRITE)
        block_aio_writev(bd, q->lba * SECTOR, &iov, 1, extboot_io_done, s);
    else
        block_aio_readv(bd, q->lba * SECTOR, &iov, 1, extboot_io_done, s);
    return EB_PENDING;
}

/* CH, CL and DH as a sector of the translated geometry; EB_OK or the status that refuses them. */
static int eb_chs_to_lba(struct extboot_req *q, struct block_dev *bd, uint64_t *lba)
{
    unsigned cyls, heads, secs;
    unsigned cl = fr_lo(q, FR_CX), c = fr_hi(q, FR_CX) | (cl & 0xc0) << 2, s = cl & 0x3f, h = fr_hi(q, FR_DX);

    eb_bios_chs(eb_sectors(bd), &cyls, &heads, &secs);
    if (s < 1 || s > secs || h >= heads || c >= cyls)
        return EB_ENOSECTOR;
    *lba = ((uint64_t)c * heads + h) * secs + s - 1;
    return EB_OK;
}

/* AH=02h, 03h, 04h, 0Ch: CHS read, write, verify and seek */
static int eb_chs_call(struct extboot *s, uint8_t ah)
{
    struct extboot_req *q = &s->req;
    struct block_dev *bd = s->drive->bd;
    int r;

    if (ah != 0x0c) {
        q->chs = true;
        q->count = fr_lo(q, FR_AX);
    }
    if (!bd)
        return EB_ENOTREADY;
    r = eb_chs_to_lba(q, bd, &q->lba);
    if (r != EB_OK || ah == 0x0c)
        return r;
    if (q->count == 0)
        return EB_EPARAM;
    q->io = ah == 0x02 ? EB_READ : ah == 0x03 ? EB_WRITE : EB_VERIFY;
    q->buf_gpa = eb_linear(fr_w(q, FR_ES), fr_w(q, FR_BX));
    return extboot_start_io(s);
}

/*
 * AH=42h, 43h, 44h, 47h: the EDD calls with a disk address packet at DS:SI (EDD 3.0: size,
 * reserved, count, buffer segment:offset, 64-bit LBA; from size 0x18 a 64-bit flat buffer
 * address, used when the segment:offset is FFFF:FFFF).
 */
static int eb_edd_call(struct extboot *s, uint8_t ah)
{
    struct extboot_req *q = &s->req;
    uint8_t p[24];

    q->dap_gpa = eb_linear(fr_w(q, FR_DS), fr_w(q, FR_SI));
    if (gmem_read(q->dap_gpa, p, 16) < 0 || p[0] < 0x10)
        return EB_EPARAM;
    q->lba = ldq_le(p + 8);
    if (ah == 0x47)
        return !s->drive->bd ? EB_ENOTREADY : q->lba < eb_sectors(s->drive->bd) ? EB_OK : EB_ENOSECTOR;
    q->dap = true;
    q->count = lduw_le(p + 2);
    q->buf_gpa = eb_linear(lduw_le(p + 6), lduw_le(p + 4));
    if (lduw_le(p + 4) == 0xffff && lduw_le(p + 6) == 0xffff && p[0] >= 0x18) {
        if (gmem_read(q->dap_gpa + 16, p + 16, 8) < 0)
            return EB_EPARAM;
        q->buf_gpa = ldq_le(p + 16);
    }
    /* AH=43h's AL: 0 or 1 write, 2 write with verify; the image needs no verify pass */
    if (ah == 0x43 && fr_lo(q, FR_AX) > 2)
        return EB_EPARAM;
    q->io = ah == 0x42 ? EB_READ : ah == 0x43 ? EB_WRITE : EB_VERIFY;
    return extboot_start_io(s);
}

/* AH=48h: the EDD drive parameters into the caller's table at DS:SI (EDD 1.1's 26 bytes, 30 with the DPTE pointer) */
static int eb_edd_params(struct extboot *s)
{
    struct extboot_req *q = &s->req;
    struct block_dev *bd = s->drive->bd;
    uint64_t gpa = eb_linear(fr_w(q, FR_DS), fr_w(q, FR_SI)), sectors;
    uint8_t t[0x1e] = { 0 };
    uint16_t size;
    uint32_t cyls;

    if (!bd)
        return EB_ENOTREADY;
    if (gmem_read(gpa, t, 2) < 0 || (size = lduw_le(t)) < 0x1a)
        return EB_EPARAM;
    size = size >= 0x1e ? 0x1e : 0x1a;
    sectors = eb_sectors(bd);
    /* the physical geometry, as ATA reports it: valid up to 16383 x 16 x 63 sectors */
    cyls = MIN(sectors / (16 * 63), 16383);
    stw_le(t, size);
    stw_le(t + 2, sectors <= 16383ULL * 16 * 63 ? 0x0002 : 0);
    stl_le(t + 4, cyls);
    stl_le(t + 8, 16);
    stl_le(t + 12, 63);
    stq_le(t + 16, sectors);
    stw_le(t + 24, SECTOR);
    if (size == 0x1e)
        stl_le(t + 26, 0xffffffff);     /* no device parameter table extension */
    return gmem_write(gpa, t, size) < 0 ? EB_EPARAM : EB_OK;
}

/* AH=08h: the translated geometry, and the number of hard disks the BIOS counts */
static int eb_drive_params(struct extboot *s)
{
    struct extboot_req *q = &s->req;
    unsigned cyls, heads, secs;
    uint8_t hdcount;

    if (!s->drive->bd)
        return EB_ENOTREADY;
    eb_bios_chs(eb_sectors(s->drive->bd), &cyls, &heads, &secs);
    if (gmem_read(BDA_HDCOUNT, &hdcount, 1) < 0 || hdcount == 0)
        hdcount = 1;
    fr_set_lo(q, FR_AX, 0);
    fr_set_hi(q, FR_CX, (cyls - 1) & 0xff);
    fr_set_lo(q, FR_CX, secs | ((cyls - 1) >> 2 & 0xc0));
    fr_set_hi(q, FR_DX, heads - 1);
    fr_set_lo(q, FR_DX, hdcount);
    return EB_OK;
}

/* One int 13h call; EB_PENDING while its transfer runs, else its status. */
static int extboot_serve(struct extboot *s)
{
    struct extboot_req *q = &s->req;
    uint8_t ah = q->fn;
    uint64_t n;

    switch (ah) {
    case 0x00: case 0x0d:           /* reset */
    case 0x10: case 0x11:           /* test ready, recalibrate */
        return s->drive->bd ? EB_OK : EB_ENOTREADY;
    case 0x01:                      /* the last call's status */
        return s->last_status;
    case 0x02: case 0x03: case 0x04: case 0x0c:
        return eb_chs_call(s, ah);
    case 0x08:
        return eb_drive_params(s);
    case 0x15:                      /* type: a hard disk of CX:DX sectors */
        if (!s->drive->bd)
            return EB_ENOTREADY;
        n = MIN(eb_sectors(s->drive->bd), 0xffffffffULL);
        fr_set_hi(q, FR_AX, 0x03);
        fr_set_w(q, FR_CX, n >> 16);
        fr_set_w(q, FR_DX, n & 0xffff);
        return EB_OK;
    case 0x41:                      /* EDD installation check: 3.0, the fixed disk access subset */
        if (fr_w(q, FR_BX) != 0x55aa)
            return EB_EPARAM;
        fr_set_w(q, FR_BX, 0xaa55);
        fr_set_hi(q, FR_AX, 0x30);
        fr_set_w(q, FR_CX, 0x0001);
        return EB_OK;
    case 0x42: case 0x43: case 0x44: case 0x47:
        return eb_edd_call(s, ah);
    case 0x48:
        return eb_edd_params(s);
    case 0x4b:                      /* El Torito status: not an emulated CD (GRUB asks at every boot) */
        return EB_EPARAM;
    default:
        log_guest_error("int 13h AH=%02xh is not served", ah);
        return EB_EPARAM;
    }
}

/* ---- the port ---- */

static uint64_t extboot_read(void *opaque, uint64_t off, unsigned size)
{
    struct extboot *s = opaque;

    return off == 0 ? (s->busy ? EB_STATUS_BUSY : EB_STATUS_IDLE) : 0;
}

static void extboot_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct extboot *s = opaque;
    struct extboot_req *q = &s->req;
    int status;

    if (off != 0 || size != 4) {
        log_guest_error("a %u-byte write at port 0x%x: a request is the 4-byte address of a frame",
                        size, EXTBOOT_PORT + (unsigned)off);
        return;
    }
    if (s->busy) {
        log_guest_error("a request while one is in flight: ignored");
        return;
    }
    memset(q, 0, sizeof(*q));
    q->frame_gpa = val;
    /* the frame is read once; every value the call uses comes from this copy */
    if (gmem_read(q->frame_gpa, q->frame, FR_SIZE) < 0) {
        log_guest_error("the request at 0x%x is not in RAM", q->frame_gpa);
        return;
    }
    q->fn = fr_hi(q, FR_AX);
    status = extboot_serve(s);
    if (status != EB_PENDING)
        extboot_finish(s, status);
}

static const struct io_region_ops extboot_ops = {
    .read = extboot_read,
    .write = extboot_write,
    .valid = { .min = 1, .max = 4 },
    .impl = { .min = 1, .max = 4 },
};

/* ---- the device ---- */

static void extboot_drain(struct device *dev)
{
    struct extboot *s = container_of(dev, struct extboot, dev);

    if (!s->busy)
        return;
    block_drain(s->busy_bd);
    /* a drive of an I/O thread: its completion may wait in the main loop's posted work */
    if (s->busy && event_loop_unpost(event_loop_main(), &s->remote_done))
        extboot_io_done(s, s->remote_ret);
}

static void extboot_reset(struct device *dev)
{
    struct extboot *s = container_of(dev, struct extboot, dev);

    /* a transfer in flight ends before the machine starts again */
    extboot_drain(dev);
    s->last_status = EB_OK;
}

static int extboot_realize(struct device *dev, char **err)
{
    struct extboot *s = container_of(dev, struct extboot, dev);
    int r;

    if (extboot_dev) {
        *err = xstrdup("extboot: there is one at most (one option ROM, one port)");
        return -EBUSY;
    }
    if (!s->drive) {
        *err = xstrdup("extboot needs drive= (-drive if=none,id=ID,file=... or -blockdev node-name=ID)");
        return -EINVAL;
    }
    if (s->drive->consumed_by) {
        *err = xasprintf("extboot: node '%s' is read through node '%s': give that one", s->drive->id,
                         s->drive->consumed_by);
        return -EINVAL;
    }
    if (s->drive->cdrom || !s->drive->bd) {
        *err = xasprintf("extboot: drive '%s' %s; extboot serves a disk image", s->drive->id,
                         s->drive->cdrom ? "is a CD-ROM's" : "has no image");
        return -EINVAL;
    }
    /* the drive is not taken: the disk device that has it (virtio-blk) and extboot read it alike */
    r = io_region_add(&s->io, IO_SPACE_PIO, "extboot", EXTBOOT_PORT, 4, &extboot_ops, s);
    if (r < 0) {
        *err = xasprintf("extboot: port 0x%x is taken", EXTBOOT_PORT);
        return r;
    }
    s->buf = xmalloc(EB_MAX_SECTORS * SECTOR);
    if (s->bootindex >= 0)
        bootdev_add(dev, s->bootindex, EXTBOOT_BOOT_PATH);
    extboot_dev = s;
    return 0;
}

static void extboot_unrealize(struct device *dev)
{
    struct extboot *s = container_of(dev, struct extboot, dev);

    extboot_drain(dev);
    io_region_unmap(&s->io);
    bootdev_remove(dev);
    free(s->buf);
    s->buf = NULL;
    if (extboot_dev == s)
        extboot_dev = NULL;
}

/* No transfer is ever in flight in a saved state: the answer is in the guest's memory first. */
static int extboot_pre_save(void *opaque)
{
    extboot_drain(&((struct extboot *)opaque)->dev);
    return 0;
}

/* AH=01h gives back only a status this device returns */
static int extboot_post_load(void *opaque, int version)
{
    static const uint8_t known[] = { EB_OK, EB_EPARAM, EB_EWRITEPROTECT, EB_ENOSECTOR,
                                     EB_EBOUNDARY, EB_ECONTROLLER, EB_ENOTREADY };
    struct extboot *s = opaque;

    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        if (s->last_status == known[i])
            return 0;
    return -EINVAL;
}

static const struct vmstate_field extboot_fields[] = {
    VMSTATE_U8(last_status, struct extboot),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc extboot_vmsd = {
    .name = "extboot",
    .version = 1,
    .min_version = 1,
    .fields = extboot_fields,
    .pre_save = extboot_pre_save,
    .post_load = extboot_post_load,
};

static const struct prop_desc extboot_props[] = {
    DEFINE_PROP("drive", struct extboot, drive, PROP_DRIVE, NULL,
                "the disk it serves (-drive if=none,id=ID or -blockdev node-name=ID); a disk device may have it too"),
    DEFINE_PROP("bootindex", struct extboot, bootindex, PROP_BOOTINDEX, NULL,
                "its place in the firmware's boot order (lowest first)"),
    DEFINE_PROP_END,
};

static struct device_type extboot_type = {
    .name = "extboot",
    .desc = "the BIOS disk services of skiff's option ROM for one drive (port 0x404)",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct extboot),
    .props = extboot_props,
    .user_creatable = true,
    .realize = extboot_realize,
    .reset = extboot_reset,
    .drain = extboot_drain,
    .unrealize = extboot_unrealize,
    .vmsd = &extboot_vmsd,
};
DEVICE_TYPE_REGISTER(extboot_type)

/* ---- the board's ---- */

void extboot_machine_done(void)
{
    struct blockdev *b = blockdev_next(NULL);
    struct device *d;
    char *err = NULL;

    while (b && !b->boot)
        b = blockdev_next(b);
    if (!b)
        return;
    if (extboot_dev)
        die("-drive boot=on (drive '%s'): -device extboot is there already; boot=on makes its own",
            b->id);
    d = device_new("extboot");
    if (device_set_prop(d, "drive", b->id, &err) < 0)
        die("-drive boot=on: %s", err);
    container_of(d, struct extboot, dev)->boot_first = true;
    if (device_realize(d, &err) < 0)
        die("-drive boot=on: %s", err);
}

bool extboot_present(void)
{
    return extboot_dev != NULL;
}

bool extboot_boot_first(void)
{
    return extboot_dev && extboot_dev->boot_first;
}

const uint8_t *extboot_rom(size_t *len)
{
    *len = extboot_rom_end - extboot_rom_start;
    return extboot_rom_start;
}
