/* virtio-net.h: the virtio network device's wire format (virtio 1.2 section 5.1): feature bits, the configuration, the header before every frame, and the control queue's commands */
#ifndef HW_VIRTIO_VIRTIO_NET_H
#define HW_VIRTIO_VIRTIO_NET_H

/* Feature bits (5.1.3) */
#define VIRTIO_NET_F_CSUM               0   /* the device completes the driver's partial checksums */
#define VIRTIO_NET_F_GUEST_CSUM         1   /* the driver takes frames with partial checksums */
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU                3
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_GSO                6   /* legacy: any GSO type (never offered, as QEMU) */
#define VIRTIO_NET_F_GUEST_TSO4         7
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9
#define VIRTIO_NET_F_GUEST_UFO          10
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_HOST_UFO           14
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18
#define VIRTIO_NET_F_CTRL_VLAN          19
#define VIRTIO_NET_F_CTRL_RX_EXTRA      20
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21
#define VIRTIO_NET_F_MQ                 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR      23

/* struct virtio_net_config (5.1.4), little-endian */
#define VIRTIO_NET_CFG_MAC              0   /* 6 bytes */
#define VIRTIO_NET_CFG_STATUS           6   /* 16 */
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS     8   /* 16 */
#define VIRTIO_NET_CFG_SIZE             10
#define VIRTIO_NET_S_LINK_UP            1
#define VIRTIO_NET_S_ANNOUNCE           2
/* 5.1.6.5.5: how many queue pairs a driver may ask for */
#define VIRTIO_NET_MQ_PAIRS_MIN         1
#define VIRTIO_NET_MQ_PAIRS_MAX         0x8000

/*
 * struct virtio_net_hdr (5.1.6): flags, gso_type, le16 hdr_len, gso_size, csum_start,
 * csum_offset, and num_buffers when MRG_RXBUF or VERSION_1 is negotiated (12 bytes, else 10).
 */
#define VIRTIO_NET_HDR_FLAGS            0
#define VIRTIO_NET_HDR_GSO_TYPE         1
#define VIRTIO_NET_HDR_HDR_LEN          2
#define VIRTIO_NET_HDR_GSO_SIZE         4
#define VIRTIO_NET_HDR_CSUM_START       6
#define VIRTIO_NET_HDR_CSUM_OFFSET      8
#define VIRTIO_NET_HDR_NUM_BUFFERS      10
#define VIRTIO_NET_HDR_LEN_LEGACY       10
#define VIRTIO_NET_HDR_LEN_MRG          12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM     1
#define VIRTIO_NET_HDR_F_DATA_VALID     2
#define VIRTIO_NET_HDR_F_RSC_INFO       4
#define VIRTIO_NET_HDR_GSO_NONE         0
#define VIRTIO_NET_HDR_GSO_TCPV4        1
#define VIRTIO_NET_HDR_GSO_UDP          3
#define VIRTIO_NET_HDR_GSO_TCPV6        4
#define VIRTIO_NET_HDR_GSO_ECN          0x80

/* The control queue (5.1.6.5): u8 class, u8 command, data, then the device's u8 ack */
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1
#define VIRTIO_NET_CTRL_RX              0
#define  VIRTIO_NET_CTRL_RX_PROMISC     0
#define  VIRTIO_NET_CTRL_RX_ALLMULTI    1
#define  VIRTIO_NET_CTRL_RX_ALLUNI      2   /* 2-5 with CTRL_RX_EXTRA */
#define  VIRTIO_NET_CTRL_RX_NOMULTI     3
#define  VIRTIO_NET_CTRL_RX_NOUNI       4
#define  VIRTIO_NET_CTRL_RX_NOBCAST     5
#define VIRTIO_NET_CTRL_MAC             1
#define  VIRTIO_NET_CTRL_MAC_TABLE_SET  0   /* le32 entries + entries * 6 bytes, unicast then multicast */
#define  VIRTIO_NET_CTRL_MAC_ADDR_SET   1
#define VIRTIO_NET_CTRL_VLAN            2
#define  VIRTIO_NET_CTRL_VLAN_ADD       0   /* le16 vid */
#define  VIRTIO_NET_CTRL_VLAN_DEL       1
#define VIRTIO_NET_CTRL_ANNOUNCE        3
#define  VIRTIO_NET_CTRL_ANNOUNCE_ACK   0
#define VIRTIO_NET_CTRL_MQ              4
#define  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0  /* le16 */
#define VIRTIO_NET_CTRL_GUEST_OFFLOADS  5
#define  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET 0 /* le64 of VIRTIO_NET_F_GUEST_* bits */

#endif
