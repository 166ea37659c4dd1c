/* rtl8139.h: the RTL8139C+ register map and descriptor bits (RTL8139C(L)+ datasheet 1.6), for the device model, its tests and payloads (plain numbers: no includes) */
#ifndef HW_NET_RTL8139_H
#define HW_NET_RTL8139_H

/* PCI identity: Realtek 8139, revision 0x20 for the C+ (QEMU's) */
#define RTL_VENDOR          0x10ec
#define RTL_DEVICE          0x8139
#define RTL_REVISION        0x20
#define RTL_REGS_SIZE       0x100       /* both BARs: I/O BAR 0 and MMIO BAR 1 */

/* Registers (datasheet section 6) */
#define RTL_IDR0            0x00        /* the station address, 6 bytes */
#define RTL_MAR0            0x08        /* the multicast hash, 8 bytes */
#define RTL_TSD0            0x10        /* C mode: transmit status of descriptor 0-3 (32 bits each) */
#define RTL_DTCCR           0x10        /* C+ mode: dump tally counters command (64 bits) */
#define RTL_TSAD0           0x20        /* C mode: transmit start address of descriptor 0-3 */
#define RTL_TNPDS           0x20        /* C+ mode: normal priority transmit ring (64 bits) */
#define RTL_THPDS           0x28        /* C+ mode: high priority transmit ring (64 bits) */
#define RTL_RBSTART         0x30        /* C mode: receive ring start */
#define RTL_CR              0x37        /* command */
#define RTL_CAPR            0x38        /* current address of packet read (16 bits, 16 below the pointer) */
#define RTL_CBR             0x3a        /* current buffer address: where the next packet goes */
#define RTL_IMR             0x3c        /* interrupt mask (16 bits) */
#define RTL_ISR             0x3e        /* interrupt status (16 bits, write 1 to clear) */
#define RTL_TCR             0x40        /* transmit configuration */
#define RTL_RCR             0x44        /* receive configuration */
#define RTL_TCTR            0x48        /* timer count (33 MHz; a write sets it to 0) */
#define RTL_MPC             0x4c        /* missed packet counter (a write clears it) */
#define RTL_9346CR          0x50        /* EEPROM command */
#define RTL_CONFIG0         0x51
#define RTL_CONFIG1         0x52
#define RTL_TIMERINT        0x54        /* TCTR value that raises ISR_TIMEOUT (0: never) */
#define RTL_MSR             0x58        /* media status */
#define RTL_CONFIG3         0x59
#define RTL_CONFIG4         0x5a
#define RTL_HLTCLK          0x5b        /* 'R' runs the clock, 'H' halts it */
#define RTL_MULINT          0x5c
#define RTL_RERID           0x5e        /* PCI revision */
#define RTL_TSAD            0x60        /* transmit status of all descriptors (16 bits) */
#define RTL_BMCR            0x62
#define RTL_BMSR            0x64
#define RTL_ANAR            0x66
#define RTL_ANLPAR          0x68
#define RTL_ANER            0x6a
#define RTL_CSCR            0x74
#define RTL_CONFIG5         0xd8
#define RTL_TPPOLL          0xd9        /* C+ mode: transmit poll */
#define RTL_CPCR            0xe0        /* C+ command (16 bits) */
#define RTL_INTRMIT         0xe2        /* interrupt mitigation (reads 0) */
#define RTL_RDSAR           0xe4        /* C+ mode: receive descriptor ring (64 bits) */
#define RTL_ETTHR           0xec        /* C+ mode: early transmit threshold */

/* CR */
#define RTL_CR_BUFE         0x01        /* receive ring empty */
#define RTL_CR_TE           0x04
#define RTL_CR_RE           0x08
#define RTL_CR_RST          0x10

/* ISR and IMR */
#define RTL_INT_ROK         0x0001
#define RTL_INT_RER         0x0002
#define RTL_INT_TOK         0x0004
#define RTL_INT_TER         0x0008
#define RTL_INT_RXOVW       0x0010      /* C mode: ring overflow; C+ mode: no receive descriptor */
#define RTL_INT_LINKCHG     0x0020      /* packet underrun / link change */
#define RTL_INT_FOVW        0x0040
#define RTL_INT_TIMEOUT     0x4000      /* TCTR reached TimerInt */
#define RTL_INT_SERR        0x8000      /* a PCI error: DMA reached no memory */

/* TSD (C mode) */
#define RTL_TSD_SIZE        0x00001fff
#define RTL_TSD_OWN         0x00002000  /* the driver owns the descriptor (set when done) */
#define RTL_TSD_TUN         0x00004000
#define RTL_TSD_TOK         0x00008000
#define RTL_TSD_ERTXTH      0x003f0000  /* early transmit threshold, in 32-byte units */
#define RTL_TSD_TABT        0x40000000

/* TCR */
#define RTL_TCR_LBK         0x00060000  /* both bits: loopback */
#define RTL_TCR_HWVERID     0x7c800000
#define RTL_TCR_VERSION_CPLUS 0x74800000

/* RCR */
#define RTL_RCR_AAP         0x01        /* accept all physical addresses */
#define RTL_RCR_APM         0x02        /* accept our physical address */
#define RTL_RCR_AM          0x04        /* accept multicast (through MAR) */
#define RTL_RCR_AB          0x08        /* accept broadcast */
#define RTL_RCR_WRAP        0x80        /* 1: a packet runs on past the ring's end */
#define RTL_RCR_RBLEN_SHIFT 11          /* ring of 8 KiB << RBLEN */

/* The packet header in the C mode ring: status (16 bits), then length with the CRC (16 bits) */
#define RTL_RX_ROK          0x0001
#define RTL_RX_BAR          0x2000
#define RTL_RX_PAM          0x4000
#define RTL_RX_MAR          0x8000

/* 9346CR */
#define RTL_9346_EEDO       0x01
#define RTL_9346_EEDI       0x02
#define RTL_9346_EESK       0x04
#define RTL_9346_EECS       0x08
#define RTL_9346_MODE       0xc0
#define RTL_9346_AUTOLOAD   0x40
#define RTL_9346_PROGRAM    0x80
#define RTL_9346_CFGWRITE   0xc0

/* MSR, BMSR */
#define RTL_MSR_LINKB       0x04        /* link down */
#define RTL_BMSR_LINK       0x0004

/* CPCR */
#define RTL_CPCR_TXENB      0x0001
#define RTL_CPCR_RXENB      0x0002
#define RTL_CPCR_RXCHKSUM   0x0020
#define RTL_CPCR_RXVLAN     0x0040

/* TPPOLL */
#define RTL_TPPOLL_NPQ      0x40

/* C+ descriptors: 16 bytes, dw0 dw1 and the buffer's address (low, high); at most 64 in a ring */
#define RTL_CP_RING_MAX     64
#define RTL_DESC_OWN        0x80000000u /* the NIC owns it */
#define RTL_DESC_EOR        0x40000000u /* the ring's last */
#define RTL_DESC_FS         0x20000000u
#define RTL_DESC_LS         0x10000000u
/* transmit dw0 */
#define RTL_TXD_LGSEN       0x08000000u /* TCP segmentation (large send) */
#define RTL_TXD_MSS_SHIFT   16
#define RTL_TXD_MSS_MASK    0x7ff
#define RTL_TXD_IPCS        0x00040000u
#define RTL_TXD_UDPCS       0x00020000u
#define RTL_TXD_TCPCS       0x00010000u
#define RTL_TXD_TES         0x00800000u /* (status) transmit error */
#define RTL_TXD_SIZE        0x0000ffffu
/* transmit dw1 */
#define RTL_TXD_TAGC        0x00020000u /* insert the VLAN tag in dw1's low 16 bits (network order) */
/* receive dw0 */
#define RTL_RXD_MAR         0x04000000u
#define RTL_RXD_PAM         0x02000000u
#define RTL_RXD_BAR         0x01000000u
#define RTL_RXD_SIZE        0x00001fffu
/* receive dw1 */
#define RTL_RXD_TAVA        0x00010000u /* a VLAN tag was taken out; dw1's low 16 bits hold it (network order) */

/* The dump of the tally counters (DTCCR): 64 bytes */
#define RTL_TALLY_SIZE      64

/* The 93C46 EEPROM: 64 words; the MAC address is in words 7-9 */
#define RTL_EEPROM_WORDS    64
#define RTL_EEPROM_MAC      7

#endif
