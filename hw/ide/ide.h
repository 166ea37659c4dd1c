/* ide.h: an IDE channel with two ATA/ATAPI drives (ATA8-ACS, ATA/ATAPI-6 register interface), as a controller embeds it */
#ifndef HW_IDE_IDE_H
#define HW_IDE_IDE_H

#include "hw/core/bus.h"
#include "hw/core/irq.h"
#include "util/osdep.h"

#include <sys/uio.h>

struct block_dev;
struct blockdev;
struct vmstate_desc;

#define IDE_SECTOR_SIZE     512
#define CD_SECTOR_SIZE      2048
/* PIO data moves through this buffer; a DMA goes straight between the disk and guest RAM */
#define IDE_BUF_SECTORS     256
#define IDE_BUF_SIZE        (IDE_BUF_SECTORS * IDE_SECTOR_SIZE)
#define IDE_MAX_MULT        16      /* READ/WRITE MULTIPLE: the largest DRQ block we offer */

/* Status register (ATA8-ACS section 6) */
#define ST_ERR      0x01
#define ST_DRQ      0x08
#define ST_DSC      0x10    /* seek complete / deferred write error on ATAPI: "service" */
#define ST_DF       0x20
#define ST_DRDY     0x40
#define ST_BSY      0x80
/* Error register */
#define ER_AMNF     0x01
#define ER_ABRT     0x04
#define ER_MCR      0x08
#define ER_IDNF     0x10
#define ER_MC       0x20
#define ER_UNC      0x40
/* Device control register */
#define DC_NIEN     0x02
#define DC_SRST     0x04
#define DC_HOB      0x80
/* Device register */
#define DEV_DEV     0x10
#define DEV_LBA     0x40
/* ATAPI interrupt reason, in the sector count register (ATA8-ACS 7.1.6.2) */
#define IR_COD      0x01
#define IR_IO       0x02

enum ide_kind { IDE_NONE, IDE_HD, IDE_CD };

/* What to do when the guest has moved the current PIO block through the data port. */
enum ide_pio_next {
    PIO_NONE,
    PIO_END,            /* the command is over */
    PIO_READ_NEXT,      /* ATA read: the next DRQ block */
    PIO_WRITE_NEXT,     /* ATA write: the block is in the buffer */
    PIO_ATAPI_PACKET,   /* the 12 command bytes arrived */
    PIO_ATAPI_DATA,     /* the next chunk of an ATAPI data-in transfer */
};

struct ide_channel;

struct ide_drive {
    struct ide_channel *ch;
    int unit;
    enum ide_kind kind;
    struct block_dev *bd;       /* NULL: no disk, or a CD-ROM with no medium */
    struct blockdev *blk;       /* the named drive whose medium bd is (the monitor changes it) */
    uint64_t nb_sectors;        /* in 512-byte sectors */
    uint16_t cyls, heads, secs; /* default geometry (IDENTIFY words 1, 3, 6) */
    char serial[21], model[41], firmware[9];

    /* task file: every write reaches both drives, reads come from the selected one */
    uint8_t feature, hob_feature;
    uint8_t nsector, hob_nsector;
    uint8_t sector, hob_sector;
    uint8_t lcyl, hob_lcyl;
    uint8_t hcyl, hob_hcyl;
    uint8_t select;
    uint8_t status, error;

    /* the command in progress */
    uint8_t cmd;
    uint8_t lba48;
    uint8_t dma_pending;        /* a DMA command waits for the bus master */
    uint8_t dma_to_mem;         /* its direction */
    uint8_t pio_next;           /* enum ide_pio_next */
    uint64_t sector_num;        /* ATA: the next sector to move */
    uint32_t nsectors_left;     /* ATA: sectors still to move */
    uint32_t pio_block;         /* sectors per DRQ block (1, or the multiple count) */
    uint32_t buf_sectors;       /* PIO read: sectors in the buffer; write: gathered so far */
    uint32_t buf_first;         /* PIO read: the buffer's first not yet sent sector */
    uint32_t io_pos, io_end;    /* the data port's window into io_buf */
    uint8_t mult_sectors;       /* SET MULTIPLE MODE; 0 = not set */
    uint8_t wcache;             /* SET FEATURES 0x02/0x82 */
    uint8_t xfer_mode;          /* SET FEATURES 0x03 */
    uint16_t lcyls, lheads, lsecs;  /* INITIALIZE DEVICE PARAMETERS (CHS addressing) */
    uint8_t io_busy;            /* a block request of ours is in flight */
    uint8_t dsm_err;            /* TRIM in progress (not saved: a saved state has none in flight) */
    uint32_t dsm_next, dsm_count;
    uint8_t io_stale;           /* a reset came since: its completion is dropped */

    /* ATAPI */
    uint8_t packet[12];
    uint8_t sense_key, asc, ascq;
    uint8_t tray_open, locked;
    uint8_t unit_attention;     /* the next command reports a changed medium */
    uint8_t media_event;        /* for GET EVENT STATUS NOTIFICATION: 0, 2 new, 3 removed */
    uint32_t cd_lba;            /* READ(10/12): next 2048-byte sector */
    uint32_t cd_left;           /* sectors still to read */
    uint32_t atapi_total;       /* bytes of a data-in reply still to send */
    uint32_t byte_limit;        /* the host's byte count limit for each DRQ */
    uint8_t atapi_dma;          /* the PACKET asked for DMA */
    uint8_t io_buf[IDE_BUF_SIZE];
};

/* What the controller does for its channel's DMA (PIIX bus master, SFF-8038i). */
struct ide_dma_ops {
    /* The selected drive has a DMA command ready; start it now if the bus master is started. */
    void (*ready)(void *opaque);
    /*
     * Describe `len` bytes of the guest's PRD table as host memory (to_mem: the disk writes
     * it). 0, or -EFAULT (a descriptor or buffer outside RAM) / -ENOSPC (the table ends first).
     * *prd_end says whether the table ended exactly with this transfer. *iov is the
     * controller's, valid until the next call.
     */
    int (*map)(void *opaque, uint32_t len, bool to_mem, struct iovec **iov, int *niov,
               bool *prd_end);
    /* The transfer is over: error or not, and whether the PRD table was used up. */
    void (*done)(void *opaque, bool error, bool prd_end);
    /* The drive raised INTRQ (the bus master latches its interrupt bit). */
    void (*irq)(void *opaque);
};

struct ide_channel {
    struct ide_drive drive[2];
    uint8_t cur;                /* the selected unit */
    uint8_t devctl;
    uint8_t irq_pending;
    struct irq *irq;
    const struct ide_dma_ops *dma;
    void *dma_opaque;
    const char *name;
};

/*
 * A channel as a bus that ide-hd and ide-cd devices plug into (ide.0, ide.1), with the firmware's
 * path of the channel (SeaBIOS's "/pci@i0cf8/ide@1,1/drive@0") for their boot order.
 */
struct ide_bus {
    struct bus bus;
    int index;                  /* ide.N: QEMU's drive names count buses so */
    struct ide_channel *ch;
    char fw_path[64];
};
void ide_bus_register(struct ide_bus *b, int index, struct device *parent, struct ide_channel *ch,
                      const char *fw_path);
/* What is on a unit: whether there is a drive, a CD-ROM, its medium (NULL: none). */
bool ide_drive_info(struct ide_channel *ch, int unit, bool *cdrom, struct block_dev **bd, struct blockdev **blk);

/* A channel: its interrupt line and the controller's DMA engine (dma may be NULL). */
void ide_channel_init(struct ide_channel *ch, const char *name, struct irq *irq,
                      const struct ide_dma_ops *dma, void *dma_opaque);
/* Put a disk (bd) or a CD-ROM (bd may be NULL: no medium) on a unit. 0 or -errno with *err. */
int ide_drive_attach(struct ide_channel *ch, int unit, struct block_dev *bd, bool cdrom, char **err);
/* The serial number and model IDENTIFY reports (NULL keeps skiff's); longer ones are cut to
 * IDENTIFY's 20 and 40 characters, as QEMU does. */
void ide_drive_set_ident(struct ide_channel *ch, int unit, const char *serial, const char *model);
/* Power-on or hardware reset of both drives. */
void ide_channel_reset(struct ide_channel *ch);
/* Wait for every request in flight, then forget the drives' media (the caller closes them). */
void ide_channel_cleanup(struct ide_channel *ch);
/* Wait for every request in flight (before saving state). */
void ide_channel_drain(struct ide_channel *ch);

/* The command block (reg 0-7) and control block registers. */
uint32_t ide_cmd_read(struct ide_channel *ch, unsigned reg, unsigned size);
void ide_cmd_write(struct ide_channel *ch, unsigned reg, uint32_t val, unsigned size);
uint8_t ide_altstatus_read(struct ide_channel *ch);
void ide_devctl_write(struct ide_channel *ch, uint8_t val);
/* The bus master was started: run the selected drive's pending DMA, if any. */
void ide_dma_start(struct ide_channel *ch);
/* The bus master was stopped while the drive waited or transferred. */
void ide_dma_stop(struct ide_channel *ch);

/* A CD-ROM's medium changes (the monitor's change/eject): NULL ejects. */
void ide_cd_change(struct ide_drive *d, struct block_dev *bd);

extern const struct vmstate_desc ide_channel_vmsd;
/* After a state load: interrupt line and DMA state from the loaded registers. */
void ide_channel_state_loaded(struct ide_channel *ch);

#endif
