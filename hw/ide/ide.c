/* ide.c: an IDE channel and its ATA disks: task file, PIO data phase, the ATA command set with LBA28/LBA48 (ATA8-ACS; ATA/ATAPI-6 for the legacy commands), reset and state */
#define LOG_PREFIX "ide: "
#include "hw/ide/ide-internal.h"
#include "block/block.h"
#include "migration/vmstate.h"
#include "util/log.h"

/* ATA commands (ATA8-ACS chapter 7) */
#define WIN_NOP                 0x00
#define WIN_DEVICE_RESET        0x08
#define WIN_RECAL               0x10    /* 0x10-0x1f */
#define WIN_READ                0x20
#define WIN_READ_ONCE           0x21
#define WIN_READ_EXT            0x24
#define WIN_READDMA_EXT         0x25
#define WIN_READ_NATIVE_MAX_EXT 0x27
#define WIN_MULTREAD_EXT        0x29
#define WIN_WRITE               0x30
#define WIN_WRITE_ONCE          0x31
#define WIN_WRITE_EXT           0x34
#define WIN_WRITEDMA_EXT        0x35
#define WIN_MULTWRITE_EXT       0x39
#define WIN_VERIFY              0x40
#define WIN_VERIFY_ONCE         0x41
#define WIN_VERIFY_EXT          0x42
#define WIN_SEEK                0x70    /* 0x70-0x7f */
#define WIN_DIAGNOSE            0x90
#define WIN_SPECIFY             0x91    /* INITIALIZE DEVICE PARAMETERS */
#define WIN_PIDENTIFY           0xa1
#define WIN_MULTREAD            0xc4
#define WIN_MULTWRITE           0xc5
#define WIN_SETMULT             0xc6
#define WIN_READDMA             0xc8
#define WIN_READDMA_ONCE        0xc9
#define WIN_WRITEDMA            0xca
#define WIN_WRITEDMA_ONCE       0xcb
#define WIN_STANDBYNOW1         0xe0
#define WIN_IDLEIMMEDIATE       0xe1
#define WIN_STANDBY             0xe2
#define WIN_SETIDLE1            0xe3
#define WIN_CHECKPOWERMODE1     0xe5
#define WIN_SLEEPNOW1           0xe6
#define WIN_FLUSH_CACHE         0xe7
#define WIN_FLUSH_CACHE_EXT     0xea
#define WIN_IDENTIFY            0xec
#define WIN_SETFEATURES         0xef
#define WIN_READ_NATIVE_MAX     0xf8

bool ide_is_busy(const struct ide_drive *d)
{
    return d->io_busy || (d->status & ST_BSY);
}

/* ---- interrupts ---- */

static void ide_update_irq(struct ide_channel *ch)
{
    irq_set(ch->irq, ch->irq_pending && !(ch->devctl & DC_NIEN));
}

void ide_set_irq(struct ide_channel *ch)
{
    ch->irq_pending = 1;
    if (ch->dma && ch->dma->irq)
        ch->dma->irq(ch->dma_opaque);
    ide_update_irq(ch);
}

/* ---- register helpers ---- */

/* The signature a device leaves after reset or diagnostics (ATA8-ACS 9.12): ATAPI is 0x14/0xeb. */
static void ide_set_signature(struct ide_drive *d)
{
    d->select &= DEV_DEV;
    d->select |= 0xa0;
    d->nsector = 1;
    d->sector = 1;
    if (d->kind == IDE_CD) {
        d->lcyl = 0x14;
        d->hcyl = 0xeb;
    } else if (d->kind == IDE_HD) {
        d->lcyl = 0;
        d->hcyl = 0;
    } else {
        d->lcyl = 0xff;
        d->hcyl = 0xff;
    }
}

void ide_abort(struct ide_drive *d)
{
    d->status = ST_DRDY | ST_ERR;
    d->error = ER_ABRT;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    ide_set_irq(d->ch);
}

void ide_error(struct ide_drive *d, uint8_t error)
{
    d->status = ST_DRDY | ST_ERR;
    d->error = error;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    ide_set_irq(d->ch);
}

static void ide_done(struct ide_drive *d)
{
    d->status = ST_DRDY | ST_DSC;
    ide_set_irq(d->ch);
}

/* Where a read or write command starts and how many sectors it moves (ATA8-ACS 4.2, 6.x). */
static bool ide_rw_setup(struct ide_drive *d, bool lba48)
{
    uint64_t lba;
    uint32_t n;

    if (lba48) {
        lba = (uint64_t)d->hob_hcyl << 40 | (uint64_t)d->hob_lcyl << 32 |
              (uint64_t)d->hob_sector << 24 | (uint32_t)d->hcyl << 16 | d->lcyl << 8 | d->sector;
        n = d->hob_nsector << 8 | d->nsector;
        if (!n)
            n = 65536;
    } else {
        n = d->nsector ? d->nsector : 256;
        if (d->select & DEV_LBA) {
            lba = (uint32_t)(d->select & 0x0f) << 24 | (uint32_t)d->hcyl << 16 | d->lcyl << 8 |
                  d->sector;
        } else {
            unsigned cyl = d->hcyl << 8 | d->lcyl, head = d->select & 0x0f;

            if (d->sector == 0 || d->sector > d->lsecs || head >= d->lheads) {
                ide_error(d, ER_IDNF | ER_ABRT);
                return false;
            }
            lba = ((uint64_t)cyl * d->lheads + head) * d->lsecs + d->sector - 1;
        }
    }
    if (lba >= d->nb_sectors || n > d->nb_sectors - lba) {
        log_guest_error("%s: %u sectors at %" PRIu64 " go past the end of the disk (%" PRIu64 " sectors)",
                        d->ch->name, n, lba, d->nb_sectors);
        ide_error(d, ER_IDNF);
        return false;
    }
    d->sector_num = lba;
    d->nsectors_left = n;
    d->lba48 = lba48;
    return true;
}

void ide_set_sector(struct ide_drive *d, uint64_t lba)
{
    if (d->lba48) {
        d->sector = lba;
        d->lcyl = lba >> 8;
        d->hcyl = lba >> 16;
        d->hob_sector = lba >> 24;
        d->hob_lcyl = lba >> 32;
        d->hob_hcyl = lba >> 40;
    } else if ((d->select & DEV_LBA) || !d->lheads || !d->lsecs) {
        d->select = (d->select & 0xf0) | ((lba >> 24) & 0x0f);
        d->sector = lba;
        d->lcyl = lba >> 8;
        d->hcyl = lba >> 16;
    } else {
        uint64_t cyl = lba / (d->lheads * d->lsecs);
        uint32_t r = lba % (d->lheads * d->lsecs);

        d->hcyl = cyl >> 8;
        d->lcyl = cyl;
        d->select = (d->select & 0xf0) | ((r / d->lsecs) & 0x0f);
        d->sector = r % d->lsecs + 1;
    }
}

/* ---- PIO data phase ---- */

void ide_pio_start(struct ide_drive *d, uint32_t len, enum ide_pio_next next)
{
    d->io_end = d->io_pos + len;
    d->pio_next = next;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
}

static bool pio_out(const struct ide_drive *d)
{
    return d->pio_next == PIO_WRITE_NEXT || d->pio_next == PIO_ATAPI_PACKET;
}

static void ide_read_chunk(struct ide_drive *d);
static void ide_write_flush(struct ide_drive *d);

/* Offer the next DRQ block of a PIO read from the buffer, or fetch more. */
static void ide_read_present(struct ide_drive *d)
{
    uint32_t k;

    if (d->buf_first >= d->buf_sectors) {
        ide_read_chunk(d);
        return;
    }
    k = MIN(d->pio_block, d->buf_sectors - d->buf_first);
    k = MIN(k, d->nsectors_left);
    d->io_pos = d->buf_first * IDE_SECTOR_SIZE;
    ide_pio_start(d, k * IDE_SECTOR_SIZE, PIO_READ_NEXT);
    ide_set_irq(d->ch);
}

bool ide_io_finish(struct ide_drive *d)
{
    d->io_busy = 0;
    if (d->io_stale) {
        d->io_stale = 0;
        return false;
    }
    return true;
}

static void ide_pio_read_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (!ide_io_finish(d))
        return;
    if (ret < 0) {
        ide_error(d, ER_UNC | ER_ABRT);
        return;
    }
    d->buf_first = 0;
    ide_read_present(d);
}

static void ide_read_chunk(struct ide_drive *d)
{
    uint32_t n = MIN(d->nsectors_left, IDE_BUF_SECTORS);
    struct iovec iov = { d->io_buf, n * IDE_SECTOR_SIZE };

    d->buf_sectors = n;
    d->buf_first = n;           /* nothing to send until the read lands */
    d->status = ST_DRDY | ST_BSY;
    d->io_busy = 1;
    block_aio_readv(d->bd, d->sector_num * IDE_SECTOR_SIZE, &iov, 1, ide_pio_read_cb, d);
}

/* A PIO write's DRQ block is in the buffer: gather more or write them out. */
static void ide_write_next(struct ide_drive *d)
{
    uint32_t k = d->io_end / IDE_SECTOR_SIZE - d->buf_sectors;

    d->buf_sectors += k;
    d->nsectors_left -= k;
    k = MIN(d->pio_block, d->nsectors_left);
    if (d->nsectors_left == 0 || d->buf_sectors + k > IDE_BUF_SECTORS) {
        ide_write_flush(d);
        return;
    }
    d->io_pos = d->buf_sectors * IDE_SECTOR_SIZE;
    ide_pio_start(d, k * IDE_SECTOR_SIZE, PIO_WRITE_NEXT);
    ide_set_irq(d->ch);
}

static void ide_write_after(struct ide_drive *d)
{
    uint32_t k;

    d->sector_num += d->buf_sectors;
    d->buf_sectors = 0;
    ide_set_sector(d, d->sector_num);
    if (d->nsectors_left == 0) {
        ide_done(d);
        return;
    }
    k = MIN(d->pio_block, d->nsectors_left);
    d->io_pos = 0;
    ide_pio_start(d, k * IDE_SECTOR_SIZE, PIO_WRITE_NEXT);
    ide_set_irq(d->ch);
}

static void ide_write_flush_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (!ide_io_finish(d))
        return;
    if (ret < 0) {
        ide_error(d, ER_ABRT);
        return;
    }
    ide_write_after(d);
}

static void ide_pio_write_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (!d->io_stale && ret == 0 && !d->wcache) {
        /* write cache off: the data is on the medium before we say so */
        block_aio_flush(d->bd, ide_write_flush_cb, d);
        return;
    }
    ide_write_flush_cb(d, ret);
}

static void ide_write_flush(struct ide_drive *d)
{
    struct iovec iov = { d->io_buf, d->buf_sectors * IDE_SECTOR_SIZE };

    d->status = ST_DRDY | ST_BSY;
    d->io_busy = 1;
    block_aio_writev(d->bd, d->sector_num * IDE_SECTOR_SIZE, &iov, 1, ide_pio_write_cb, d);
}

/* The guest has moved the whole PIO window through the data port. */
static void ide_pio_done(struct ide_drive *d)
{
    uint32_t k;

    d->status &= ~ST_DRQ;
    switch (d->pio_next) {
    case PIO_READ_NEXT:
        k = d->io_end / IDE_SECTOR_SIZE - d->buf_first;
        d->nsectors_left -= k;
        d->sector_num += k;
        d->buf_first += k;
        ide_set_sector(d, d->sector_num);
        if (d->nsectors_left == 0) {
            d->pio_next = PIO_NONE;
            d->status = ST_DRDY | ST_DSC;
        } else {
            ide_read_present(d);
        }
        break;
    case PIO_WRITE_NEXT:
        ide_write_next(d);
        break;
    case PIO_ATAPI_PACKET:
        ide_atapi_packet_cmd(d);
        break;
    case PIO_ATAPI_DATA:
        ide_atapi_pio_next(d);
        break;
    default:
        d->pio_next = PIO_NONE;
        d->status = ST_DRDY | ST_DSC;
        break;
    }
}

/* A transfer of an odd byte count ends with a word that is half padding. */
static uint32_t ide_data_read(struct ide_drive *d, unsigned size)
{
    uint32_t v = 0;

    if (!(d->status & ST_DRQ) || pio_out(d) || d->io_pos >= d->io_end)
        return 0;
    size = MIN(size, d->io_end - d->io_pos);
    memcpy(&v, d->io_buf + d->io_pos, size);
    d->io_pos += size;
    if (d->io_pos >= d->io_end)
        ide_pio_done(d);
    return v;
}

static void ide_data_write(struct ide_drive *d, uint32_t v, unsigned size)
{
    if (!(d->status & ST_DRQ) || !pio_out(d) || d->io_pos >= d->io_end)
        return;
    size = MIN(size, d->io_end - d->io_pos);
    memcpy(d->io_buf + d->io_pos, &v, size);
    d->io_pos += size;
    if (d->io_pos >= d->io_end)
        ide_pio_done(d);
}

/* ---- IDENTIFY DEVICE (ATA8-ACS 7.16, table 22) ---- */

void ide_padstr(uint16_t *words, const char *s, int len)
{
    /* ATA strings: space padded, two characters per word, the first in the high byte */
    for (int i = 0; i < len; i++) {
        char c = *s ? *s++ : ' ';

        if (i & 1)
            words[i / 2] |= (uint8_t)c;
        else
            words[i / 2] = (uint16_t)(uint8_t)c << 8;
    }
}

static void ide_identify(struct ide_drive *d)
{
    uint16_t w[256] = { 0 };
    uint64_t lba28 = MIN(d->nb_sectors, 0x0fffffffULL), cur = (uint64_t)d->lcyls * d->lheads * d->lsecs;
    unsigned mode = d->xfer_mode;

    w[0] = 0x0040;                  /* fixed, not removable */
    w[1] = d->cyls;
    w[3] = d->heads;
    w[4] = 512 * d->secs;           /* obsolete, as older drives filled them */
    w[5] = 512;
    w[6] = d->secs;
    ide_padstr(&w[10], d->serial, 20);
    w[20] = 3;                      /* buffer type: dual ported with read cache */
    w[21] = IDE_BUF_SECTORS;
    w[22] = 4;                      /* ECC bytes */
    ide_padstr(&w[23], d->firmware, 8);
    ide_padstr(&w[27], d->model, 40);
    w[47] = 0x8000 | IDE_MAX_MULT;
    w[48] = 1;                      /* 32-bit PIO */
    w[49] = (1 << 11) | (1 << 9) | (1 << 8);    /* IORDY, LBA, DMA */
    w[50] = 0x4000;
    w[51] = 0x200;
    w[52] = 0x200;
    w[53] = 1 | 2 | 4;              /* words 54-58, 64-70 and 88 are valid */
    w[54] = d->lcyls;
    w[55] = d->lheads;
    w[56] = d->lsecs;
    w[57] = cur;
    w[58] = cur >> 16;
    if (d->mult_sectors)
        w[59] = 0x100 | d->mult_sectors;
    w[60] = lba28;
    w[61] = lba28 >> 16;
    w[62] = 0x07;                   /* single word DMA 0-2 */
    w[63] = 0x07 | ((mode >> 3) == 4 ? 0x100 << (mode & 7) : 0);
    w[64] = 0x03;                   /* PIO modes 3 and 4 */
    w[65] = 120;
    w[66] = 120;
    w[67] = 120;
    w[68] = 120;
    w[80] = 0xf0;                   /* ATA/ATAPI-4 to -7 */
    w[81] = 0x16;
    w[82] = (1 << 14) | (1 << 5);   /* NOP, write cache */
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);     /* FLUSH CACHE (EXT), 48-bit */
    w[84] = 1 << 14;
    w[85] = (1 << 14) | (d->wcache ? 1 << 5 : 0);
    w[86] = (1 << 13) | (1 << 12) | (1 << 10);
    w[87] = 1 << 14;
    w[88] = 0x3f | ((mode >> 3) == 8 ? 0x100 << (mode & 7) : 0);
    w[93] = 1 | (1 << 14) | 0x2000;
    w[100] = d->nb_sectors;
    w[101] = d->nb_sectors >> 16;
    w[102] = d->nb_sectors >> 32;
    w[103] = d->nb_sectors >> 48;
    w[105] = IDE_BUF_SECTORS;       /* 512-byte blocks of TRIM ranges one DSM command takes */
    w[106] = 1 << 14;               /* one logical sector per physical sector of 512 bytes */
    w[169] = 1;                     /* DATA SET MANAGEMENT: TRIM, as QEMU's disks have */
    for (int i = 0; i < 256; i++)
        stw_le(d->io_buf + 2 * i, w[i]);
    d->io_pos = 0;
    ide_pio_start(d, 512, PIO_END);
    ide_set_irq(d->ch);
}

/* ---- command dispatch ---- */

static void ide_set_features(struct ide_drive *d)
{
    switch (d->feature) {
    case 0x02:      /* enable write cache */
        d->wcache = 1;
        break;
    case 0x82:
        d->wcache = 0;
        break;
    case 0x03: {    /* transfer mode: PIO default/flow control, MWDMA 0-2, UDMA 0-5 */
        unsigned v = d->nsector;

        if (!(v <= 1 || (v >> 3 == 1 && (v & 7) <= 4) || (v >> 3 == 4 && (v & 7) <= 2) ||
              (v >> 3 == 8 && (v & 7) <= 5))) {
            ide_abort(d);
            return;
        }
        d->xfer_mode = v;
        break;
    }
    case 0x55: case 0xaa:   /* read look-ahead off/on */
    case 0x66: case 0xcc:   /* power-on defaults off/on */
    case 0x31:              /* media status notification off */
        break;
    default:
        ide_abort(d);
        return;
    }
    ide_done(d);
}

static void ide_flush_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (!ide_io_finish(d))
        return;
    if (ret < 0)
        ide_error(d, ER_ABRT);
    else
        ide_done(d);
}

/* A PIO read or write: the range, and DRQ blocks of one sector or the multiple count. */
static bool ide_pio_setup(struct ide_drive *d, bool lba48, bool multiple)
{
    if (multiple && !d->mult_sectors) {
        ide_abort(d);
        return false;
    }
    if (!ide_rw_setup(d, lba48))
        return false;
    d->pio_block = multiple ? d->mult_sectors : 1;
    d->buf_sectors = 0;
    return true;
}

static void ide_exec_ata(struct ide_drive *d, uint8_t cmd)
{
    bool lba48 = false;

    switch (cmd) {
    case WIN_IDENTIFY:
        ide_identify(d);
        return;
    case WIN_READ_EXT:
    case WIN_MULTREAD_EXT:
        lba48 = true;
        /* fall through */
    case WIN_READ:
    case WIN_READ_ONCE:
    case WIN_MULTREAD:
        if (!ide_pio_setup(d, lba48, cmd == WIN_MULTREAD || cmd == WIN_MULTREAD_EXT))
            return;
        d->buf_first = 0;
        ide_read_chunk(d);
        return;
    case WIN_WRITE_EXT:
    case WIN_MULTWRITE_EXT:
        lba48 = true;
        /* fall through */
    case WIN_WRITE:
    case WIN_WRITE_ONCE:
    case WIN_MULTWRITE:
        if (!ide_pio_setup(d, lba48, cmd == WIN_MULTWRITE || cmd == WIN_MULTWRITE_EXT))
            return;
        d->io_pos = 0;
        /* the first DRQ block of a write comes without an interrupt */
        ide_pio_start(d, MIN(d->pio_block, d->nsectors_left) * IDE_SECTOR_SIZE, PIO_WRITE_NEXT);
        return;
    case WIN_READDMA_EXT:
    case WIN_WRITEDMA_EXT:
        lba48 = true;
        /* fall through */
    case WIN_READDMA:
    case WIN_READDMA_ONCE:
    case WIN_WRITEDMA:
    case WIN_WRITEDMA_ONCE:
        if (!ide_rw_setup(d, lba48))
            return;
        ide_dma_begin(d, cmd == WIN_READDMA || cmd == WIN_READDMA_ONCE || cmd == WIN_READDMA_EXT);
        return;
    case WIN_DSM:
        /* TRIM (feature bit 0) is the one function; the count is of 512-byte blocks of ranges */
        d->nsectors_left = d->hob_nsector << 8 | d->nsector;
        if (!(d->feature & 1) || !d->nsectors_left || d->nsectors_left > IDE_BUF_SECTORS) {
            ide_abort(d);
            return;
        }
        ide_dma_begin(d, false);
        return;
    case WIN_VERIFY_EXT:
        lba48 = true;
        /* fall through */
    case WIN_VERIFY:
    case WIN_VERIFY_ONCE:
        if (!ide_rw_setup(d, lba48))
            return;
        ide_set_sector(d, d->sector_num + d->nsectors_left);
        ide_done(d);
        return;
    case WIN_SETMULT:
        if (d->nsector > IDE_MAX_MULT || (d->nsector & (d->nsector - 1))) {
            ide_abort(d);
            return;
        }
        d->mult_sectors = d->nsector;
        ide_done(d);
        return;
    case WIN_SPECIFY:
        if (!d->nsector) {
            ide_abort(d);
            return;
        }
        d->lheads = (d->select & 0x0f) + 1;
        d->lsecs = d->nsector;
        d->lcyls = MIN(d->nb_sectors / (d->lheads * d->lsecs), 65535);
        ide_done(d);
        return;
    case WIN_FLUSH_CACHE:
    case WIN_FLUSH_CACHE_EXT:
        d->status = ST_DRDY | ST_BSY;
        d->io_busy = 1;
        block_aio_flush(d->bd, ide_flush_cb, d);
        return;
    case WIN_READ_NATIVE_MAX_EXT:
        d->lba48 = 1;
        ide_set_sector(d, d->nb_sectors - 1);
        ide_done(d);
        return;
    case WIN_READ_NATIVE_MAX:
        d->lba48 = 0;
        d->select |= DEV_LBA;
        ide_set_sector(d, MIN(d->nb_sectors, 0x10000000ULL) - 1);
        ide_done(d);
        return;
    case WIN_SETFEATURES:
        ide_set_features(d);
        return;
    case WIN_STANDBYNOW1: case WIN_IDLEIMMEDIATE: case WIN_STANDBY: case WIN_SETIDLE1:
    case WIN_SLEEPNOW1:
        ide_done(d);
        return;
    case WIN_CHECKPOWERMODE1:
        d->nsector = 0xff;      /* active or idle */
        ide_done(d);
        return;
    default:
        if ((cmd & 0xf0) == WIN_RECAL || (cmd & 0xf0) == WIN_SEEK) {
            ide_done(d);
            return;
        }
        /* NOP, DEVICE RESET (ATAPI only), SMART, security, and what we do not know */
        ide_abort(d);
        return;
    }
}

static void ide_exec_atapi(struct ide_drive *d, uint8_t cmd)
{
    switch (cmd) {
    case WIN_PACKETCMD:
        /* features bit 0: DMA; the byte count limit is in the cylinder registers */
        d->atapi_dma = d->feature & 1;
        d->byte_limit = d->hcyl << 8 | d->lcyl;
        d->io_pos = 0;
        d->nsector = (d->nsector & ~7) | IR_COD;
        ide_pio_start(d, 12, PIO_ATAPI_PACKET);
        return;
    case WIN_PIDENTIFY:
        ide_atapi_identify(d);
        return;
    case WIN_DEVICE_RESET:
        ide_atapi_reset(d);
        ide_set_signature(d);
        d->status = 0;
        d->error = 0x01;
        return;
    case WIN_IDENTIFY:
        /* the signature tells the host to use IDENTIFY PACKET DEVICE */
        ide_set_signature(d);
        ide_abort(d);
        return;
    case WIN_SETFEATURES:
        ide_set_features(d);
        return;
    case WIN_STANDBYNOW1: case WIN_IDLEIMMEDIATE: case WIN_STANDBY: case WIN_SETIDLE1:
    case WIN_SLEEPNOW1:
        ide_done(d);
        return;
    case WIN_CHECKPOWERMODE1:
        d->nsector = 0xff;
        ide_done(d);
        return;
    default:
        ide_abort(d);
        return;
    }
}

static void ide_exec_cmd(struct ide_channel *ch, uint8_t cmd)
{
    struct ide_drive *d = ide_cur_drive(ch);

    /* an absent drive ignores commands; a busy one too, but for DEVICE RESET on ATAPI */
    if (d->kind == IDE_NONE)
        return;
    if (ide_is_busy(d) && !(d->kind == IDE_CD && cmd == WIN_DEVICE_RESET && !d->io_busy))
        return;
    ch->irq_pending = 0;
    ide_update_irq(ch);
    d->cmd = cmd;
    d->error = 0;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    if (cmd == WIN_DIAGNOSE) {
        /* both drives run their diagnostics and leave their signatures */
        for (int u = 0; u < 2; u++) {
            struct ide_drive *x = &ch->drive[u];

            if (x->kind == IDE_NONE || x->io_busy)
                continue;
            ide_set_signature(x);
            x->error = 0x01;
            x->status = ST_DRDY | ST_DSC;
        }
        ide_set_irq(ch);
        return;
    }
    if (d->kind == IDE_CD)
        ide_exec_atapi(d, cmd);
    else
        ide_exec_ata(d, cmd);
}

/* ---- the register interface ---- */

static bool drive_absent(struct ide_channel *ch)
{
    return ide_cur_drive(ch)->kind == IDE_NONE;
}

static uint8_t ide_status(struct ide_drive *d)
{
    return d->io_busy ? ST_BSY : d->status;
}

uint32_t ide_cmd_read(struct ide_channel *ch, unsigned reg, unsigned size)
{
    struct ide_drive *d = ide_cur_drive(ch);
    bool hob = ch->devctl & DC_HOB;

    if (reg == 0)
        return d->kind == IDE_NONE ? 0 : ide_data_read(d, size);
    if (drive_absent(ch))
        return 0;
    switch (reg) {
    case 1:
        return hob ? d->hob_feature : d->error;
    case 2:
        return hob ? d->hob_nsector : d->nsector;
    case 3:
        return hob ? d->hob_sector : d->sector;
    case 4:
        return hob ? d->hob_lcyl : d->lcyl;
    case 5:
        return hob ? d->hob_hcyl : d->hcyl;
    case 6:
        return d->select;
    default:
        /* reading the status acknowledges the interrupt */
        ch->irq_pending = 0;
        ide_update_irq(ch);
        return ide_status(d);
    }
}

void ide_cmd_write(struct ide_channel *ch, unsigned reg, uint32_t val, unsigned size)
{
    if (reg == 0) {
        if (!drive_absent(ch))
            ide_data_write(ide_cur_drive(ch), val, size);
        return;
    }
    val &= 0xff;
    /* a command block write clears HOB; both drives latch the task file (ATA8-ACS 6.x) */
    ch->devctl &= ~DC_HOB;
    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];

        switch (reg) {
        case 1:
            d->hob_feature = d->feature;
            d->feature = val;
            break;
        case 2:
            d->hob_nsector = d->nsector;
            d->nsector = val;
            break;
        case 3:
            d->hob_sector = d->sector;
            d->sector = val;
            break;
        case 4:
            d->hob_lcyl = d->lcyl;
            d->lcyl = val;
            break;
        case 5:
            d->hob_hcyl = d->hcyl;
            d->hcyl = val;
            break;
        case 6:
            d->select = val | 0xa0;
            break;
        }
    }
    if (reg == 6)
        ch->cur = (val & DEV_DEV) ? 1 : 0;
    else if (reg == 7)
        ide_exec_cmd(ch, val);
}

uint8_t ide_altstatus_read(struct ide_channel *ch)
{
    return drive_absent(ch) ? 0 : ide_status(ide_cur_drive(ch));
}

/* Reset of one drive's registers and command state (power-on, hardware reset, SRST). */
static void ide_drive_reset(struct ide_drive *d)
{
    /* the completion of what is in flight will be dropped */
    d->io_stale = d->io_busy;
    d->cmd = 0;
    d->feature = d->hob_feature = 0;
    d->hob_nsector = d->hob_sector = d->hob_lcyl = d->hob_hcyl = 0;
    d->select = 0xa0 | (d->unit ? DEV_DEV : 0);
    ide_set_signature(d);
    d->error = 0x01;
    d->status = d->kind == IDE_NONE ? 0 : ST_DRDY | ST_DSC;
    d->pio_next = PIO_NONE;
    d->dma_pending = 0;
    d->io_pos = d->io_end = 0;
    d->buf_sectors = d->buf_first = 0;
    d->nsectors_left = 0;
    if (d->kind == IDE_CD)
        ide_atapi_reset(d);
}

void ide_devctl_write(struct ide_channel *ch, uint8_t val)
{
    bool was = ch->devctl & DC_SRST, now = val & DC_SRST;

    if (!was && now) {
        for (int u = 0; u < 2; u++) {
            struct ide_drive *d = &ch->drive[u];

            ide_drive_reset(d);
            if (d->kind != IDE_NONE)
                d->status = ST_BSY | ST_DSC;
        }
    } else if (was && !now) {
        for (int u = 0; u < 2; u++) {
            struct ide_drive *d = &ch->drive[u];

            if (d->kind != IDE_NONE)
                d->status = ST_DRDY | ST_DSC;
            d->select = 0xa0;
        }
        ch->cur = 0;
        ch->irq_pending = 0;
    }
    ch->devctl = val;
    ide_update_irq(ch);
}

/* ---- attach, reset, state ---- */

void ide_channel_init(struct ide_channel *ch, const char *name, struct irq *irq,
                      const struct ide_dma_ops *dma, void *dma_opaque)
{
    ch->name = name;
    ch->irq = irq;
    ch->dma = dma;
    ch->dma_opaque = dma_opaque;
    for (int u = 0; u < 2; u++) {
        ch->drive[u].ch = ch;
        ch->drive[u].unit = u;
    }
}

/* The write cache a disk powers up with: on, but off on a writethrough drive, as QEMU's */
static uint8_t ide_wcache_default(const struct ide_drive *d)
{
    return !(d->bd && block_write_through(d->bd));
}

bool ide_drive_info(struct ide_channel *ch, int unit, bool *cdrom, struct block_dev **bd, struct blockdev **blk)
{
    struct ide_drive *d = &ch->drive[unit];

    if (d->kind == IDE_NONE)
        return false;
    *cdrom = d->kind == IDE_CD;
    *bd = d->bd;
    if (blk)
        *blk = d->blk;
    return true;
}

void ide_drive_set_ident(struct ide_channel *ch, int unit, const char *serial, const char *model)
{
    struct ide_drive *d = &ch->drive[unit];

    if (serial)
        snprintf(d->serial, sizeof(d->serial), "%s", serial);
    if (model)
        snprintf(d->model, sizeof(d->model), "%s", model);
}

int ide_drive_attach(struct ide_channel *ch, int unit, struct block_dev *bd, bool cdrom, char **err)
{
    struct ide_drive *d = &ch->drive[unit];
    static unsigned serial;

    if (d->kind != IDE_NONE) {
        *err = xasprintf("%s: unit %d has a drive already", ch->name, unit);
        return -EEXIST;
    }
    d->kind = cdrom ? IDE_CD : IDE_HD;
    d->bd = bd;
    snprintf(d->serial, sizeof(d->serial), "SK%05u", ++serial);
    snprintf(d->firmware, sizeof(d->firmware), "%s", SKIFF_VERSION);
    snprintf(d->model, sizeof(d->model), "%s", cdrom ? "SKIFF DVD-ROM" : "SKIFF HARDDISK");
    if (!cdrom) {
        uint64_t c;

        d->nb_sectors = block_size(bd) / IDE_SECTOR_SIZE;
        /* the geometry QEMU guesses for a blank disk: 16 heads, 63 sectors */
        c = d->nb_sectors / (16 * 63);
        d->cyls = c > 16383 ? 16383 : c < 2 ? 2 : c;
        d->heads = 16;
        d->secs = 63;
    } else {
        d->nb_sectors = bd ? block_size(bd) / IDE_SECTOR_SIZE : 0;
    }
    d->wcache = ide_wcache_default(d);
    ide_drive_reset(d);
    return 0;
}

void ide_channel_reset(struct ide_channel *ch)
{
    ch->devctl = 0;
    ch->cur = 0;
    ch->irq_pending = 0;
    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];

        d->mult_sectors = IDE_MAX_MULT;
        d->wcache = ide_wcache_default(d);
        d->xfer_mode = 0;
        d->lcyls = d->cyls;
        d->lheads = d->heads;
        d->lsecs = d->secs;
        ide_drive_reset(d);
    }
    ide_update_irq(ch);
}

void ide_channel_drain(struct ide_channel *ch)
{
    for (int u = 0; u < 2; u++)
        if (ch->drive[u].bd)
            block_drain(ch->drive[u].bd);
}

void ide_channel_cleanup(struct ide_channel *ch)
{
    ide_channel_drain(ch);
    for (int u = 0; u < 2; u++) {
        ch->drive[u].bd = NULL;
        ch->drive[u].blk = NULL;
    }
}

void ide_channel_state_loaded(struct ide_channel *ch)
{
    ide_update_irq(ch);
}

static int ide_drive_pre_save(void *opaque)
{
    struct ide_drive *d = opaque;

    /* no request may be in flight in a saved state: wait for it */
    if (d->bd)
        block_drain(d->bd);
    return 0;
}

/*
 * What a loaded command in progress may index: the same invariants the command's own code keeps,
 * so that a stream cannot make the next data port access or bus master start reach past io_buf.
 * (kind is the attached drive's, not the stream's; a fresh copy's is IDE_NONE.)
 */
static bool ide_drive_transfer_ok(const struct ide_drive *d)
{
    uint32_t window = d->io_end / IDE_SECTOR_SIZE;

    switch (d->pio_next) {
    case PIO_READ_NEXT:
        /* the window is sectors buf_first.. of the buffered read, at most what is left */
        return d->kind != IDE_CD && d->pio_block >= 1 && !(d->io_end % IDE_SECTOR_SIZE) &&
               window >= d->buf_first && window <= d->buf_sectors &&
               window - d->buf_first <= d->nsectors_left;
    case PIO_WRITE_NEXT:
        /* the window follows the sectors gathered so far */
        return d->kind != IDE_CD && d->pio_block >= 1 && !(d->io_end % IDE_SECTOR_SIZE) &&
               d->io_pos >= d->buf_sectors * IDE_SECTOR_SIZE && window >= d->buf_sectors &&
               window - d->buf_sectors <= d->nsectors_left;
    case PIO_ATAPI_PACKET:
        return d->kind != IDE_HD && d->io_end <= 12;
    case PIO_ATAPI_DATA:
        /* what is still to send comes from the buffer after the window */
        return d->kind != IDE_HD && (uint64_t)d->io_end + d->atapi_total <= IDE_BUF_SIZE;
    default:
        return true;
    }
}

static int ide_drive_post_load(void *opaque, int version)
{
    struct ide_drive *d = opaque;

    /* what the registers index must stay inside the buffer */
    if (d->io_pos > d->io_end || d->io_end > IDE_BUF_SIZE || d->buf_first > IDE_BUF_SECTORS ||
        d->buf_sectors > IDE_BUF_SECTORS || d->pio_block > IDE_MAX_MULT ||
        d->mult_sectors > IDE_MAX_MULT || (d->mult_sectors & (d->mult_sectors - 1)) ||
        d->atapi_total > 0x7fffffff || (d->lheads && !d->lsecs) || d->lheads > 16)
        return -EINVAL;
    if (!ide_drive_transfer_ok(d))
        return -EINVAL;
    /* a pending TRIM's range blocks are gathered in io_buf */
    if (d->dma_pending && d->kind != IDE_CD && d->cmd == WIN_DSM && d->nsectors_left > IDE_BUF_SECTORS)
        return -EINVAL;
    /* a pending ATAPI DMA moves atapi_total bytes of the disc's sectors */
    if (d->dma_pending && d->kind != IDE_HD && d->atapi_total > 0x7ffff800u)
        return -EINVAL;
    d->io_busy = 0;
    d->io_stale = 0;
    return 0;
}

static const struct vmstate_field ide_drive_fields[] = {
    VMSTATE_U8(feature, struct ide_drive),
    VMSTATE_U8(hob_feature, struct ide_drive),
    VMSTATE_U8(nsector, struct ide_drive),
    VMSTATE_U8(hob_nsector, struct ide_drive),
    VMSTATE_U8(sector, struct ide_drive),
    VMSTATE_U8(hob_sector, struct ide_drive),
    VMSTATE_U8(lcyl, struct ide_drive),
    VMSTATE_U8(hob_lcyl, struct ide_drive),
    VMSTATE_U8(hcyl, struct ide_drive),
    VMSTATE_U8(hob_hcyl, struct ide_drive),
    VMSTATE_U8(select, struct ide_drive),
    VMSTATE_U8(status, struct ide_drive),
    VMSTATE_U8(error, struct ide_drive),
    VMSTATE_U8(cmd, struct ide_drive),
    VMSTATE_U8_MAX(lba48, struct ide_drive, 1),
    VMSTATE_U8_MAX(dma_pending, struct ide_drive, 1),
    VMSTATE_U8_MAX(dma_to_mem, struct ide_drive, 3),
    VMSTATE_U8_MAX(pio_next, struct ide_drive, PIO_ATAPI_DATA),
    VMSTATE_U64(sector_num, struct ide_drive),
    VMSTATE_U32_MAX(nsectors_left, struct ide_drive, 65536),
    VMSTATE_U32(pio_block, struct ide_drive),
    VMSTATE_U32(buf_sectors, struct ide_drive),
    VMSTATE_U32(buf_first, struct ide_drive),
    VMSTATE_U32(io_pos, struct ide_drive),
    VMSTATE_U32(io_end, struct ide_drive),
    VMSTATE_U8(mult_sectors, struct ide_drive),
    VMSTATE_U8_MAX(wcache, struct ide_drive, 1),
    VMSTATE_U8(xfer_mode, struct ide_drive),
    VMSTATE_U16(lcyls, struct ide_drive),
    VMSTATE_U16(lheads, struct ide_drive),
    VMSTATE_U16(lsecs, struct ide_drive),
    VMSTATE_U8_ARRAY(packet, struct ide_drive, 12),
    VMSTATE_U8_MAX(sense_key, struct ide_drive, 15),
    VMSTATE_U8(asc, struct ide_drive),
    VMSTATE_U8(ascq, struct ide_drive),
    VMSTATE_U8_MAX(tray_open, struct ide_drive, 1),
    VMSTATE_U8_MAX(locked, struct ide_drive, 1),
    VMSTATE_U8_MAX(unit_attention, struct ide_drive, 1),
    VMSTATE_U8_MAX(media_event, struct ide_drive, 3),
    VMSTATE_U32(cd_lba, struct ide_drive),
    VMSTATE_U32(cd_left, struct ide_drive),
    VMSTATE_U32(atapi_total, struct ide_drive),
    VMSTATE_U32_MAX(byte_limit, struct ide_drive, 0xffff),
    VMSTATE_U8_MAX(atapi_dma, struct ide_drive, 1),
    VMSTATE_BUFFER(io_buf, struct ide_drive),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc ide_drive_vmsd = {
    .name = "ide-drive",
    .version = 1,
    .min_version = 1,
    .fields = ide_drive_fields,
    .pre_save = ide_drive_pre_save,
    .post_load = ide_drive_post_load,
};

static const struct vmstate_field ide_channel_fields[] = {
    VMSTATE_STRUCT_ARRAY(drive, struct ide_channel, 2, ide_drive_vmsd, struct ide_drive),
    VMSTATE_U8_MAX(cur, struct ide_channel, 1),
    VMSTATE_U8(devctl, struct ide_channel),
    VMSTATE_U8_MAX(irq_pending, struct ide_channel, 1),
    VMSTATE_END_OF_LIST,
};

const struct vmstate_desc ide_channel_vmsd = {
    .name = "ide-channel",
    .version = 1,
    .min_version = 1,
    .fields = ide_channel_fields,
};
