/* ide-internal.h: what the IDE's halves share: the ATA core (ide.c), its DMA data phase (ide-dma.c) and the ATAPI CD-ROM (ide-atapi.c) */
#ifndef HW_IDE_IDE_INTERNAL_H
#define HW_IDE_IDE_INTERNAL_H

#include "hw/ide/ide.h"

/* ATA commands the halves refer to (ATA8-ACS chapter 7) */
#define WIN_DSM                 0x06    /* DATA SET MANAGEMENT (ACS-2 7.10) */
#define WIN_PACKETCMD           0xa0    /* PACKET (7.18): carries an ATAPI drive's command packets */

static inline struct ide_drive *ide_cur_drive(struct ide_channel *ch)
{
    return &ch->drive[ch->cur];
}

/* ide.c: completion and status */
void ide_set_irq(struct ide_channel *ch);
void ide_abort(struct ide_drive *d);
void ide_error(struct ide_drive *d, uint8_t error);
/* Leave the task file at the next sector, as drives report progress. */
void ide_set_sector(struct ide_drive *d, uint64_t lba);
void ide_pio_start(struct ide_drive *d, uint32_t len, enum ide_pio_next next);
bool ide_is_busy(const struct ide_drive *d);
/* A block request of ours completed: false when a reset came in between (drop it). */
bool ide_io_finish(struct ide_drive *d);
void ide_padstr(uint16_t *words, const char *s, int len);

/* ide-dma.c: the bus master data phase */
/* A DMA command is ready: it waits for the bus master (or starts if it runs). */
void ide_dma_begin(struct ide_drive *d, bool to_mem);
void ide_dma_transfer(struct ide_drive *d, uint64_t offset, uint32_t len, bool to_mem);

/* ide-atapi.c */
void ide_atapi_identify(struct ide_drive *d);
void ide_atapi_packet_cmd(struct ide_drive *d);
void ide_atapi_pio_next(struct ide_drive *d);
void ide_atapi_read_done(struct ide_drive *d, int ret);
void ide_atapi_dma_start(struct ide_drive *d);
void ide_atapi_dma_done(struct ide_drive *d, int ret);
void ide_atapi_reset(struct ide_drive *d);

#endif
