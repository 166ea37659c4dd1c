/* ide-atapi.c: the ATAPI CD-ROM: PACKET command phases and the MMC command set it answers (SFF-8020i, MMC-6, SPC-3 sense data) */
#define LOG_PREFIX "ide-atapi: "
#include "hw/ide/ide-internal.h"
#include "block/block.h"
#include "util/log.h"

/* MMC/SPC operation codes */
#define GPCMD_TEST_UNIT_READY       0x00
#define GPCMD_REQUEST_SENSE         0x03
#define GPCMD_INQUIRY               0x12
#define GPCMD_START_STOP_UNIT       0x1b
#define GPCMD_PREVENT_ALLOW         0x1e
#define GPCMD_READ_CAPACITY         0x25
#define GPCMD_READ_10               0x28
#define GPCMD_SEEK_10               0x2b
#define GPCMD_VERIFY_10             0x2f
#define GPCMD_READ_TOC              0x43
#define GPCMD_GET_CONFIGURATION     0x46
#define GPCMD_GET_EVENT_STATUS      0x4a
#define GPCMD_READ_DISC_INFO        0x51
#define GPCMD_MODE_SENSE_10         0x5a
#define GPCMD_READ_12               0xa8
#define GPCMD_SET_SPEED             0xbb
#define GPCMD_MECHANISM_STATUS      0xbd
#define GPCMD_READ_CD               0xbe

/* sense keys and additional sense codes (SPC-3 4.5.6, annex D) */
#define SENSE_NONE                  0x0
#define SENSE_NOT_READY             0x2
#define SENSE_MEDIUM_ERROR          0x3
#define SENSE_ILLEGAL_REQUEST       0x5
#define SENSE_UNIT_ATTENTION        0x6
#define ASC_UNRECOVERED_READ        0x11
#define ASC_INVALID_OPCODE          0x20
#define ASC_LBA_OUT_OF_RANGE        0x21
#define ASC_INVALID_FIELD           0x24
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED    0x39
#define ASC_MEDIUM_NOT_PRESENT      0x3a
#define ASC_REMOVAL_PREVENTED       0x53

/* GET EVENT STATUS NOTIFICATION media events (MMC-6 table 153) */
#define MEDIA_EVENT_NONE            0
#define MEDIA_EVENT_NEW             2
#define MEDIA_EVENT_REMOVAL         3

/* a disc larger than a CD is a DVD (MMC profiles 0x0008 and 0x0010) */
#define CD_MAX_SECTORS              (700 * 1024 * 1024 / CD_SECTOR_SIZE)

static bool medium_present(const struct ide_drive *d)
{
    return d->bd && !d->tray_open;
}

static uint32_t cd_sectors(const struct ide_drive *d)
{
    return d->nb_sectors / (CD_SECTOR_SIZE / IDE_SECTOR_SIZE);
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = lba / (75 * 60);
    p[1] = (lba / 75) % 60;
    p[2] = lba % 75;
}

/* ---- completion ---- */

static void atapi_ok(struct ide_drive *d)
{
    d->status = ST_DRDY | ST_DSC;
    d->error = 0;
    d->nsector = (d->nsector & ~7) | IR_IO | IR_COD;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    ide_set_irq(d->ch);
}

/* CHECK CONDITION: the sense key goes to the error register's high nibble (ATA8-ACS 7.18.4). */
static void atapi_check(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    d->sense_key = key;
    d->asc = asc;
    d->ascq = ascq;
    d->status = ST_DRDY | ST_ERR;
    d->error = key << 4 | (key == SENSE_ILLEGAL_REQUEST ? ER_ABRT : 0);
    d->nsector = (d->nsector & ~7) | IR_IO | IR_COD;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    ide_set_irq(d->ch);
}

static void atapi_invalid_field(struct ide_drive *d)
{
    atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* ---- the data-in phase: PIO in byte-count-limited DRQ blocks, or DMA ---- */

static void atapi_send_next(struct ide_drive *d)
{
    uint32_t limit = d->byte_limit, chunk = d->atapi_total;

    /* 0xffff and 0 are not usable limits; an odd limit drops its last byte mid-transfer */
    if (limit == 0 || limit == 0xffff)
        limit = 0xfffe;
    if (chunk > limit)
        chunk = limit & ~1u;
    d->atapi_total -= chunk;
    d->lcyl = chunk;
    d->hcyl = chunk >> 8;
    d->nsector = (d->nsector & ~7) | IR_IO;
    ide_pio_start(d, chunk, PIO_ATAPI_DATA);
    ide_set_irq(d->ch);
}

/* Copy a reply in io_buf to the guest's PRD buffers. */
static void atapi_dma_reply(struct ide_drive *d, uint32_t len)
{
    struct ide_channel *ch = d->ch;
    struct iovec *iov;
    bool prd_end = false;
    uint32_t done = 0;
    int niov;

    if (!ch->dma || ch->dma->map(ch->dma_opaque, len, true, &iov, &niov, &prd_end) < 0) {
        log_guest_error("%s: the PRD table does not take a %u-byte reply", ch->name, len);
        if (ch->dma)
            ch->dma->done(ch->dma_opaque, true, false);
        atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
        return;
    }
    for (int i = 0; i < niov && done < len; i++) {
        uint32_t n = MIN(iov[i].iov_len, len - done);

        memcpy(iov[i].iov_base, d->io_buf + done, n);
        done += n;
    }
    ch->dma->done(ch->dma_opaque, false, prd_end);
    atapi_ok(d);
}

/* Start sending `len` bytes from io_buf, clipped to the command's allocation length. */
static void atapi_reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    len = MIN(len, alloc);
    if (len == 0) {
        atapi_ok(d);
        return;
    }
    if (d->atapi_dma) {
        atapi_dma_reply(d, len);
        return;
    }
    d->io_pos = 0;
    d->atapi_total = len;
    atapi_send_next(d);
}

/* ---- READ(10)/READ(12)/READ CD ---- */

static void atapi_read_chunk(struct ide_drive *d);

void ide_atapi_read_done(struct ide_drive *d, int ret)
{
    if (ret < 0) {
        atapi_check(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
        return;
    }
    d->io_pos = 0;
    atapi_send_next(d);
}

static void atapi_read_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (ide_io_finish(d))
        ide_atapi_read_done(d, ret);
}

/* The disc went while a command was under way: it ends here, as a read would have. */
static void atapi_no_medium(struct ide_drive *d)
{
    d->cd_left = 0;
    d->atapi_total = 0;
    atapi_check(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, d->tray_open ? 2 : 1);
}

static void atapi_read_chunk(struct ide_drive *d)
{
    uint32_t n = MIN(d->cd_left, IDE_BUF_SIZE / CD_SECTOR_SIZE);
    struct iovec iov = { d->io_buf, n * CD_SECTOR_SIZE };
    uint64_t off = (uint64_t)d->cd_lba * CD_SECTOR_SIZE;

    if (!medium_present(d)) {
        atapi_no_medium(d);
        return;
    }

    d->cd_lba += n;
    d->cd_left -= n;
    d->atapi_total = n * CD_SECTOR_SIZE;
    d->status = ST_DRDY | ST_BSY;
    d->io_busy = 1;
    block_aio_readv(d->bd, off, &iov, 1, atapi_read_cb, d);
}

void ide_atapi_pio_next(struct ide_drive *d)
{
    if (d->atapi_total) {
        atapi_send_next(d);
        return;
    }
    if (d->cd_left) {
        atapi_read_chunk(d);
        return;
    }
    atapi_ok(d);
}

void ide_atapi_dma_start(struct ide_drive *d)
{
    if (!medium_present(d)) {
        d->dma_pending = 0;
        d->ch->dma->done(d->ch->dma_opaque, true, false);
        atapi_no_medium(d);
        return;
    }
    ide_dma_transfer(d, (uint64_t)d->cd_lba * CD_SECTOR_SIZE, d->atapi_total, true);
}

void ide_atapi_dma_done(struct ide_drive *d, int ret)
{
    if (ret < 0) {
        if (ret == -EFAULT || ret == -ENOSPC)
            atapi_invalid_field(d);
        else
            atapi_check(d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
        return;
    }
    d->cd_lba += d->cd_left;
    d->cd_left = 0;
    d->atapi_total = 0;
    atapi_ok(d);
}

static void atapi_read(struct ide_drive *d, uint32_t lba, uint32_t count)
{
    uint32_t total = cd_sectors(d);

    if (lba > total || count > total - lba) {
        log_guest_error("%s: read of %u sectors at %u goes past the disc's %u", d->ch->name, count,
                        lba, total);
        atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (count == 0) {
        atapi_ok(d);
        return;
    }
    if ((uint64_t)count * CD_SECTOR_SIZE > 0x7ffff800u) {
        atapi_invalid_field(d);
        return;
    }
    d->cd_lba = lba;
    d->cd_left = count;
    if (d->atapi_dma) {
        d->atapi_total = count * CD_SECTOR_SIZE;
        d->dma_pending = 1;
        d->dma_to_mem = 1;
        d->status = ST_DRDY | ST_DSC | ST_DRQ;
        if (d->ch->dma)
            d->ch->dma->ready(d->ch->dma_opaque);
        return;
    }
    atapi_read_chunk(d);
}

/* ---- the commands ---- */

static void atapi_inquiry(struct ide_drive *d, uint32_t alloc)
{
    uint8_t *b = d->io_buf;

    memset(b, 0, 36);
    b[0] = 0x05;                /* CD/DVD device */
    b[1] = 0x80;                /* removable */
    b[2] = 0x00;
    b[3] = 0x21;                /* ATAPI, response format 1 */
    b[4] = 31;
    memcpy(b + 8, "SKIFF   ", 8);
    memcpy(b + 16, "DVD-ROM         ", 16);
    memcpy(b + 32, "1.0 ", 4);
    atapi_reply(d, 36, alloc);
}

static void atapi_request_sense(struct ide_drive *d, uint32_t alloc)
{
    uint8_t *b = d->io_buf;

    memset(b, 0, 18);
    b[0] = 0x70;                /* current error, fixed format */
    b[2] = d->sense_key;
    b[7] = 10;
    b[12] = d->asc;
    b[13] = d->ascq;
    /* the sense is reported once */
    d->sense_key = SENSE_NONE;
    d->asc = d->ascq = 0;
    atapi_reply(d, 18, alloc);
}

static void atapi_read_toc(struct ide_drive *d)
{
    const uint8_t *p = d->packet;
    bool msf = p[1] & 2;
    unsigned format = p[2] & 0x0f, track = p[6], alloc = p[7] << 8 | p[8];
    uint32_t total = cd_sectors(d);
    uint8_t *b = d->io_buf, *q;

    /* SFF-8020i put the format in the control byte's vendor bits */
    if (!format)
        format = p[9] >> 6;
    memset(b, 0, 64);
    q = b + 2;
    switch (format) {
    case 0:     /* TOC: track 1 and the lead-out */
        if (track > 1 && track != 0xaa) {
            atapi_invalid_field(d);
            return;
        }
        *q++ = 1;
        *q++ = 1;
        if (track <= 1) {
            q[1] = 0x14;        /* data track, Q subchannel position */
            q[2] = 1;
            if (msf)
                lba_to_msf(q + 5, 0);
            q += 8;
        }
        q[1] = 0x14;
        q[2] = 0xaa;
        if (msf)
            lba_to_msf(q + 5, total);
        else
            stl_be(q + 4, total);
        q += 8;
        break;
    case 1:     /* multi-session information: one session, starting at track 1 */
        *q++ = 1;
        *q++ = 1;
        q[1] = 0x14;
        q[2] = 1;
        if (msf)
            lba_to_msf(q + 5, 0);
        q += 8;
        break;
    case 2: {   /* raw TOC: points A0 (first track), A1 (last), A2 (lead-out), track 1 */
        static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 0x01 };

        *q++ = 1;
        *q++ = 1;
        for (int i = 0; i < 4; i++) {
            q[0] = 1;           /* session */
            q[1] = 0x14;
            q[3] = points[i];
            if (points[i] == 0xa0 || points[i] == 0xa1) {
                q[8] = 1;       /* PMIN: the track number */
            } else if (points[i] == 0xa2) {
                if (msf) {
                    lba_to_msf(q + 8, total);
                } else {
                    stl_be(q + 7, total);
                }
            } else {
                if (msf)
                    lba_to_msf(q + 8, 0);
            }
            q += 11;
        }
        break;
    }
    default:
        atapi_invalid_field(d);
        return;
    }
    stw_be(b, q - b - 2);
    atapi_reply(d, q - b, alloc);
}

static void atapi_mode_sense(struct ide_drive *d)
{
    const uint8_t *p = d->packet;
    unsigned pc = p[2] >> 6, page = p[2] & 0x3f, alloc = p[7] << 8 | p[8];
    uint8_t *b = d->io_buf, *q = b + 8;

    if (pc == 3) {
        atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED, 0);
        return;
    }
    if (page != 0x01 && page != 0x2a && page != 0x3f) {
        atapi_invalid_field(d);
        return;
    }
    memset(b, 0, 64);
    b[2] = 0x70;                /* medium type: as QEMU reports */
    if (page == 0x01 || page == 0x3f) {
        /* read error recovery (MMC-6 7.3) */
        q[0] = 0x01;
        q[1] = 0x06;
        q[3] = pc == 1 ? 0 : 5;  /* read retry count */
        q += 8;
    }
    if (page == 0x2a || page == 0x3f) {
        /* CD/DVD capabilities and mechanical status (MMC-3 5.5.10) */
        q[0] = 0x2a;
        q[1] = 0x12;
        if (pc != 1) {
            q[2] = 0x3b;        /* reads CD-R, CD-RW, method 2, DVD-ROM */
            q[4] = 0x71;
            q[5] = 0xff;
            q[6] = 0x29 | (d->locked ? 0x02 : 0);  /* lock, eject, tray; the lock's state */
            stw_be(q + 8, 706);
            stw_be(q + 10, 2);
            stw_be(q + 12, 512);
            stw_be(q + 14, 706);
        }
        q += 20;
    }
    stw_be(b, q - b - 2);
    atapi_reply(d, q - b, alloc);
}

static void atapi_get_configuration(struct ide_drive *d)
{
    const uint8_t *p = d->packet;
    unsigned rt = p[1] & 3, start = p[2] << 8 | p[3], alloc = p[7] << 8 | p[8];
    uint16_t profile = !medium_present(d) ? 0 : cd_sectors(d) > CD_MAX_SECTORS ? 0x0010 : 0x0008;
    uint8_t *b = d->io_buf, *q = b + 8;

    if (rt == 3) {
        atapi_invalid_field(d);
        return;
    }
    memset(b, 0, 64);
    stw_be(b + 6, profile);
    if (start == 0 || (rt == 2 && start == 0)) {
        /* profile list: DVD-ROM and CD-ROM */
        stw_be(q, 0x0000);
        q[2] = 0x03;            /* persistent, current */
        q[3] = 8;
        stw_be(q + 4, 0x0010);
        q[6] = profile == 0x0010;
        stw_be(q + 8, 0x0008);
        q[10] = profile == 0x0008;
        q += 12;
    }
    if (start <= 1 && (rt != 2 || start == 1)) {
        /* core: ATAPI */
        stw_be(q, 0x0001);
        q[2] = 0x0b;            /* version 2, persistent, current */
        q[3] = 8;
        stl_be(q + 4, 2);
        q += 12;
    }
    if (start <= 3 && (rt != 2 || start == 3)) {
        /* removable medium: tray, eject, lock */
        stw_be(q, 0x0003);
        q[2] = 0x03;
        q[3] = 4;
        q[4] = 0x29 | (d->locked ? 0x04 : 0);
        q += 8;
    }
    stl_be(b, q - b - 4);
    atapi_reply(d, q - b, alloc);
}

static void atapi_get_event_status(struct ide_drive *d)
{
    const uint8_t *p = d->packet;
    unsigned request = p[4], alloc = p[7] << 8 | p[8];
    uint8_t *b = d->io_buf;
    uint32_t len;

    if (!(p[1] & 1)) {
        /* only polled operation (MMC-6 6.6) */
        atapi_invalid_field(d);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10;                /* we report media events */
    if (request & 0x10) {
        b[2] = 4;               /* media class */
        b[4] = d->media_event;
        b[5] = (medium_present(d) ? 0x02 : 0) | (d->tray_open ? 0x01 : 0);
        d->media_event = MEDIA_EVENT_NONE;
        len = 8;
    } else {
        b[2] = 0x80;            /* no event available of the requested classes */
        len = 4;
    }
    stw_be(b, len - 2);
    atapi_reply(d, len, alloc);
}

static void atapi_mechanism_status(struct ide_drive *d)
{
    uint8_t *b = d->io_buf;
    unsigned alloc = d->packet[8] << 8 | d->packet[9];

    memset(b, 0, 8);
    b[1] = d->tray_open ? 0x10 : 0;
    atapi_reply(d, 8, alloc);
}

static void atapi_read_disc_info(struct ide_drive *d)
{
    uint8_t *b = d->io_buf;
    unsigned alloc = d->packet[7] << 8 | d->packet[8];

    if (d->packet[1] & 7) {
        atapi_invalid_field(d);
        return;
    }
    memset(b, 0, 34);
    stw_be(b, 32);
    b[2] = 0x0e;                /* complete disc, complete last session */
    b[3] = 1;
    b[4] = 1;
    b[5] = 1;
    b[6] = 1;
    b[7] = 0x20;                /* unrestricted use */
    atapi_reply(d, 34, alloc);
}

static void atapi_start_stop(struct ide_drive *d)
{
    bool loej = d->packet[4] & 2, start = d->packet[4] & 1;

    if (loej && !start) {
        if (d->locked) {
            atapi_check(d, SENSE_NOT_READY, ASC_REMOVAL_PREVENTED, 2);
            return;
        }
        if (!d->tray_open && d->bd)
            d->media_event = MEDIA_EVENT_REMOVAL;
        d->tray_open = 1;
    } else if (loej && start) {
        if (d->tray_open && d->bd) {
            d->media_event = MEDIA_EVENT_NEW;
            d->unit_attention = 1;
        }
        d->tray_open = 0;
    }
    atapi_ok(d);
}

/* Commands that answer while a unit attention is pending, and those that need a disc. */
static bool allows_unit_attention(uint8_t op)
{
    return op == GPCMD_INQUIRY || op == GPCMD_REQUEST_SENSE || op == GPCMD_GET_CONFIGURATION ||
           op == GPCMD_GET_EVENT_STATUS;
}

static bool needs_medium(uint8_t op)
{
    switch (op) {
    case GPCMD_TEST_UNIT_READY: case GPCMD_READ_CAPACITY: case GPCMD_READ_10: case GPCMD_READ_12:
    case GPCMD_READ_CD: case GPCMD_READ_TOC: case GPCMD_SEEK_10: case GPCMD_VERIFY_10:
    case GPCMD_READ_DISC_INFO:
        return true;
    default:
        return false;
    }
}

void ide_atapi_packet_cmd(struct ide_drive *d)
{
    const uint8_t *p = d->packet;
    uint8_t op;

    memcpy(d->packet, d->io_buf, 12);
    op = p[0];
    /* what an abandoned command left must not run on into this one */
    d->cd_left = 0;
    d->atapi_total = 0;
    d->status = ST_DRDY | ST_DSC;
    if (d->unit_attention && !allows_unit_attention(op)) {
        d->unit_attention = 0;
        atapi_check(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED, 0);
        return;
    }
    if (op != GPCMD_REQUEST_SENSE) {
        d->sense_key = SENSE_NONE;
        d->asc = d->ascq = 0;
    }
    if (needs_medium(op) && !medium_present(d)) {
        atapi_check(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, d->tray_open ? 2 : 1);
        return;
    }
    switch (op) {
    case GPCMD_TEST_UNIT_READY:
    case GPCMD_SET_SPEED:
    case GPCMD_VERIFY_10:
        atapi_ok(d);
        return;
    case GPCMD_REQUEST_SENSE:
        atapi_request_sense(d, p[4]);
        return;
    case GPCMD_INQUIRY:
        atapi_inquiry(d, p[4]);
        return;
    case GPCMD_START_STOP_UNIT:
        atapi_start_stop(d);
        return;
    case GPCMD_PREVENT_ALLOW:
        d->locked = p[4] & 1;
        atapi_ok(d);
        return;
    case GPCMD_READ_CAPACITY:
        stl_be(d->io_buf, cd_sectors(d) - 1);
        stl_be(d->io_buf + 4, CD_SECTOR_SIZE);
        atapi_reply(d, 8, 8);
        return;
    case GPCMD_READ_10:
        atapi_read(d, ldl_be(p + 2), lduw_be(p + 7));
        return;
    case GPCMD_READ_12:
        atapi_read(d, ldl_be(p + 2), ldl_be(p + 6));
        return;
    case GPCMD_READ_CD: {
        uint32_t count = p[6] << 16 | p[7] << 8 | p[8];

        /* user data of mode 1 / mode 2 form 1 sectors only; no raw sectors */
        if (p[9] == 0x00) {
            atapi_ok(d);
            return;
        }
        if (p[9] != 0x10 || ((p[1] >> 2) & 7) > 2) {
            atapi_invalid_field(d);
            return;
        }
        atapi_read(d, ldl_be(p + 2), count);
        return;
    }
    case GPCMD_SEEK_10:
        if (ldl_be(p + 2) >= cd_sectors(d)) {
            atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            return;
        }
        atapi_ok(d);
        return;
    case GPCMD_READ_TOC:
        atapi_read_toc(d);
        return;
    case GPCMD_MODE_SENSE_10:
        atapi_mode_sense(d);
        return;
    case GPCMD_GET_CONFIGURATION:
        atapi_get_configuration(d);
        return;
    case GPCMD_GET_EVENT_STATUS:
        atapi_get_event_status(d);
        return;
    case GPCMD_MECHANISM_STATUS:
        atapi_mechanism_status(d);
        return;
    case GPCMD_READ_DISC_INFO:
        atapi_read_disc_info(d);
        return;
    default:
        atapi_check(d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
}

/* IDENTIFY PACKET DEVICE (ATA8-ACS 7.17, table 26) */
void ide_atapi_identify(struct ide_drive *d)
{
    uint16_t w[256] = { 0 };
    unsigned mode = d->xfer_mode;

    /* ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets */
    w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
    ide_padstr(&w[10], d->serial, 20);
    w[20] = 3;
    w[21] = 512;
    ide_padstr(&w[23], d->firmware, 8);
    ide_padstr(&w[27], d->model, 40);
    w[48] = 1;
    w[49] = (1 << 9) | (1 << 8);    /* LBA, DMA */
    w[53] = 7;
    w[62] = 7;
    w[63] = 7 | ((mode >> 3) == 4 ? 0x100 << (mode & 7) : 0);
    w[64] = 3;
    w[65] = 0xb4;
    w[66] = 0xb4;
    w[67] = 0x12c;
    w[68] = 0xb4;
    w[71] = 30;
    w[72] = 30;
    w[80] = 0x1e;                   /* ATAPI-1 to -4 */
    w[82] = 1 << 4;                 /* PACKET */
    w[83] = 1 << 14;
    w[84] = 1 << 14;
    w[85] = 1 << 4;
    w[87] = 1 << 14;
    w[88] = 0x3f | ((mode >> 3) == 8 ? 0x100 << (mode & 7) : 0);
    w[93] = 1 | (1 << 14) | 0x2000;
    for (int i = 0; i < 256; i++)
        stw_le(d->io_buf + 2 * i, w[i]);
    d->io_pos = 0;
    ide_pio_start(d, 512, PIO_END);
    ide_set_irq(d->ch);
}

void ide_atapi_reset(struct ide_drive *d)
{
    d->locked = 0;
    d->sense_key = SENSE_NONE;
    d->asc = d->ascq = 0;
    d->cd_left = 0;
    d->atapi_total = 0;
}

void ide_cd_change(struct ide_drive *d, struct block_dev *bd)
{
    /* a packet command in its data phase (or waiting for the bus master) read the old disc */
    bool in_data = d->cmd == WIN_PACKETCMD && !d->io_busy && (d->dma_pending || d->pio_next == PIO_ATAPI_DATA);

    d->bd = bd;
    d->nb_sectors = bd ? block_size(bd) / IDE_SECTOR_SIZE : 0;
    /* as QEMU's eject and change: the tray opens to take the disc out, closes on a new one */
    d->tray_open = !bd;
    d->media_event = bd ? MEDIA_EVENT_NEW : MEDIA_EVENT_REMOVAL;
    d->unit_attention = 1;
    if (in_data)
        atapi_no_medium(d);
}
