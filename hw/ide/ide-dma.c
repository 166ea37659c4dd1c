/* ide-dma.c: the IDE's DMA data phase: transfers straight between the disk and the guest's PRD buffers through the controller's bus master (SFF-8038i), and TRIM's range blocks */
#define LOG_PREFIX "ide: "
#include "hw/ide/ide-internal.h"
#include "block/block.h"
#include "util/log.h"

static void ide_dma_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;
    bool prd_end = d->dma_to_mem & 2;

    if (!ide_io_finish(d))
        return;
    d->dma_to_mem &= 1;
    if (d->kind == IDE_CD) {
        d->ch->dma->done(d->ch->dma_opaque, ret < 0, prd_end);
        ide_atapi_dma_done(d, ret);
        return;
    }
    if (ret == 0) {
        d->sector_num += d->nsectors_left;
        d->nsectors_left = 0;
        ide_set_sector(d, d->sector_num);
        d->status = ST_DRDY | ST_DSC;
        d->ch->dma->done(d->ch->dma_opaque, false, prd_end);
        ide_set_irq(d->ch);
        return;
    }
    d->ch->dma->done(d->ch->dma_opaque, true, prd_end);
    ide_error(d, d->dma_to_mem ? ER_UNC | ER_ABRT : ER_ABRT);
}

static void ide_dma_write_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (!d->io_stale && ret == 0 && !d->wcache && d->kind == IDE_HD) {
        block_aio_flush(d->bd, ide_dma_cb, d);
        return;
    }
    ide_dma_cb(d, ret);
}

/* The guest's PRD buffers for LEN bytes; on a bad table the bus master ends in error. */
static int ide_dma_map(struct ide_drive *d, uint32_t len, bool to_mem, struct iovec **iov,
                       int *niov, bool *prd_end)
{
    struct ide_channel *ch = d->ch;
    int r;

    d->dma_pending = 0;
    *prd_end = false;
    r = ch->dma->map(ch->dma_opaque, len, to_mem, iov, niov, prd_end);
    if (r < 0) {
        log_guest_error("%s: %s (%u bytes)", ch->name,
                        r == -ENOSPC ? "the PRD table is shorter than the transfer"
                                     : "a PRD entry points outside RAM", len);
        ch->dma->done(ch->dma_opaque, true, false);
    }
    return r;
}

void ide_dma_transfer(struct ide_drive *d, uint64_t offset, uint32_t len, bool to_mem)
{
    struct iovec *iov;
    bool prd_end;
    int niov, r;

    r = ide_dma_map(d, len, to_mem, &iov, &niov, &prd_end);
    if (r < 0) {
        if (d->kind == IDE_CD)
            ide_atapi_dma_done(d, r);
        else
            ide_abort(d);
        return;
    }
    d->status = ST_DRDY | ST_BSY;
    d->io_busy = 1;
    d->dma_to_mem = to_mem | (prd_end ? 2 : 0);
    if (to_mem)
        block_aio_readv(d->bd, offset, iov, niov, ide_dma_cb, d);
    else
        block_aio_writev(d->bd, offset, iov, niov, ide_dma_write_cb, d);
}

/*
 * DATA SET MANAGEMENT with TRIM (ACS-2 7.10.3.2): the ranges come by DMA, 8 bytes each (LBA in
 * bits 0-47, a sector count in 48-63, 0 for none); each is discarded in turn, so that a reset
 * between two is seen. Whether the image gives the space back is -drive discard='s choice.
 */
static void ide_dsm_next(struct ide_drive *d);

static void ide_dsm_cb(void *opaque, int ret)
{
    struct ide_drive *d = opaque;

    if (ret < 0)
        d->dsm_err = 1;
    ide_dsm_next(d);
}

static void ide_dsm_next(struct ide_drive *d)
{
    bool prd_end = d->dma_to_mem & 2;

    while (!d->io_stale && !d->dsm_err && d->dsm_next < d->dsm_count) {
        uint64_t e = ldq_le(d->io_buf + 8 * d->dsm_next++);
        uint64_t lba = e & 0xffffffffffffULL, n = e >> 48;

        if (!n)
            continue;
        if (lba >= d->nb_sectors || n > d->nb_sectors - lba) {
            log_guest_error("%s: TRIM of %" PRIu64 " sectors at %" PRIu64 " goes past the end of the "
                            "disk (%" PRIu64 " sectors)", d->ch->name, n, lba, d->nb_sectors);
            d->dsm_err = 1;
            break;
        }
        block_aio_discard(d->bd, lba * IDE_SECTOR_SIZE, n * IDE_SECTOR_SIZE, ide_dsm_cb, d);
        return;
    }
    if (!ide_io_finish(d))
        return;
    d->dma_to_mem = 0;
    d->ch->dma->done(d->ch->dma_opaque, d->dsm_err, prd_end);
    if (d->dsm_err) {
        ide_abort(d);
        return;
    }
    d->status = ST_DRDY | ST_DSC;
    ide_set_irq(d->ch);
}

static void ide_dsm_start(struct ide_drive *d)
{
    uint32_t len = d->nsectors_left * IDE_SECTOR_SIZE, got = 0;
    struct iovec *iov;
    bool prd_end;
    int niov;

    if (ide_dma_map(d, len, false, &iov, &niov, &prd_end) < 0) {
        ide_abort(d);
        return;
    }
    for (int i = 0; i < niov && got < len; i++) {
        uint32_t k = MIN(iov[i].iov_len, len - got);

        memcpy(d->io_buf + got, iov[i].iov_base, k);
        got += k;
    }
    d->status = ST_DRDY | ST_BSY;
    d->io_busy = 1;
    d->dma_to_mem = prd_end ? 2 : 0;
    d->dsm_next = 0;
    d->dsm_count = len / 8;
    d->dsm_err = 0;
    ide_dsm_next(d);
}

void ide_dma_start(struct ide_channel *ch)
{
    struct ide_drive *d = ide_cur_drive(ch);

    if (!d->dma_pending || d->io_busy)
        return;
    if (d->kind == IDE_HD && d->cmd == WIN_DSM) {
        ide_dsm_start(d);
        return;
    }
    if (d->kind == IDE_CD) {
        ide_atapi_dma_start(d);
        return;
    }
    ide_dma_transfer(d, d->sector_num * IDE_SECTOR_SIZE, d->nsectors_left * IDE_SECTOR_SIZE,
                     d->dma_to_mem);
}

void ide_dma_stop(struct ide_channel *ch)
{
    /* a transfer in flight finishes (a block request cannot be recalled); a pending one waits */
}

void ide_dma_begin(struct ide_drive *d, bool to_mem)
{
    d->dma_pending = 1;
    d->dma_to_mem = to_mem;
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    if (d->ch->dma)
        d->ch->dma->ready(d->ch->dma_opaque);
    else
        ide_abort(d);
}

