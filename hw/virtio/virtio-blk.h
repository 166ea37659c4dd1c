/* virtio-blk.h: the virtio block device (virtio 1.2 section 5.2): feature bits, configuration layout, request types and status */
#ifndef HW_VIRTIO_VIRTIO_BLK_H
#define HW_VIRTIO_VIRTIO_BLK_H

/* Feature bits (5.2.3); BARRIER and SCSI are legacy and never offered */
#define VIRTIO_BLK_F_SIZE_MAX       1
#define VIRTIO_BLK_F_SEG_MAX        2
#define VIRTIO_BLK_F_GEOMETRY       4
#define VIRTIO_BLK_F_RO             5
#define VIRTIO_BLK_F_BLK_SIZE       6
#define VIRTIO_BLK_F_FLUSH          9
#define VIRTIO_BLK_F_TOPOLOGY       10
#define VIRTIO_BLK_F_CONFIG_WCE     11
#define VIRTIO_BLK_F_MQ             12
#define VIRTIO_BLK_F_DISCARD        13
#define VIRTIO_BLK_F_WRITE_ZEROES   14

/* struct virtio_blk_config (5.2.4), little-endian */
#define VIRTIO_BLK_CFG_CAPACITY     0   /* 64: 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX     8   /* 32 */
#define VIRTIO_BLK_CFG_SEG_MAX      12  /* 32 */
#define VIRTIO_BLK_CFG_CYLINDERS    16  /* 16 */
#define VIRTIO_BLK_CFG_HEADS        18  /* 8 */
#define VIRTIO_BLK_CFG_SECTORS      19  /* 8 */
#define VIRTIO_BLK_CFG_BLK_SIZE     20  /* 32 */
#define VIRTIO_BLK_CFG_PHYS_EXP     24  /* 8: physical_block_exp */
#define VIRTIO_BLK_CFG_ALIGN_OFF    25  /* 8: alignment_offset */
#define VIRTIO_BLK_CFG_MIN_IO       26  /* 16 */
#define VIRTIO_BLK_CFG_OPT_IO       28  /* 32 */
#define VIRTIO_BLK_CFG_WRITEBACK    32  /* 8 */
#define VIRTIO_BLK_CFG_NUM_QUEUES   34  /* 16 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36   /* 32 */
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG     40   /* 32 */
#define VIRTIO_BLK_CFG_DISCARD_ALIGN       44   /* 32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS      48   /* 32 */
#define VIRTIO_BLK_CFG_MAX_WZ_SEG          52   /* 32 */
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP        56   /* 8 */
#define VIRTIO_BLK_CFG_SIZE                60

/* Requests (5.2.6): a header {le32 type, le32 reserved, le64 sector}, data, a status byte */
#define VIRTIO_BLK_T_IN             0
#define VIRTIO_BLK_T_OUT            1
#define VIRTIO_BLK_T_SCSI_CMD       2   /* legacy, never offered */
#define VIRTIO_BLK_T_FLUSH          4
#define VIRTIO_BLK_T_GET_ID         8
#define VIRTIO_BLK_T_DISCARD        11
#define VIRTIO_BLK_T_WRITE_ZEROES   13
#define VIRTIO_BLK_T_BARRIER        0x80000000u /* legacy drivers' flag, ignored */
#define VIRTIO_BLK_HDR_SIZE         16
#define VIRTIO_BLK_ID_BYTES         20
/* struct virtio_blk_discard_write_zeroes: le64 sector, le32 num_sectors, le32 flags */
#define VIRTIO_BLK_DWZ_SIZE         16
#define VIRTIO_BLK_WZ_FLAG_UNMAP    1

#define VIRTIO_BLK_S_OK             0
#define VIRTIO_BLK_S_IOERR          1
#define VIRTIO_BLK_S_UNSUPP         2

#define VIRTIO_BLK_SECTOR_SIZE      512

#endif
