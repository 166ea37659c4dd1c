/* libpci.h: PCI configuration cycles through conf1 (0xcf8/0xcfc), for device tests */
#ifndef TESTS_LIBPCI_H
#define TESTS_LIBPCI_H

#include "tests/qtest/libqtest.h"

#define PCI_DEVFN(slot, fn) ((((slot) & 0x1f) << 3) | ((fn) & 7))

static inline void pci_select(struct qtest *q, int devfn, unsigned off)
{
    qtest_outl(q, 0xcf8, 0x80000000u | (unsigned)devfn << 8 | (off & 0xfc));
}

static inline uint32_t pci_cfg_readl(struct qtest *q, int devfn, unsigned off)
{
    pci_select(q, devfn, off);
    return qtest_inl(q, 0xcfc);
}

static inline uint16_t pci_cfg_readw(struct qtest *q, int devfn, unsigned off)
{
    pci_select(q, devfn, off);
    return qtest_inw(q, 0xcfc + (off & 2));
}

static inline uint8_t pci_cfg_readb(struct qtest *q, int devfn, unsigned off)
{
    pci_select(q, devfn, off);
    return qtest_inb(q, 0xcfc + (off & 3));
}

static inline void pci_cfg_writel(struct qtest *q, int devfn, unsigned off, uint32_t v)
{
    pci_select(q, devfn, off);
    qtest_outl(q, 0xcfc, v);
}

static inline void pci_cfg_writew(struct qtest *q, int devfn, unsigned off, uint16_t v)
{
    pci_select(q, devfn, off);
    qtest_outw(q, 0xcfc + (off & 2), v);
}

static inline void pci_cfg_writeb(struct qtest *q, int devfn, unsigned off, uint8_t v)
{
    pci_select(q, devfn, off);
    qtest_outb(q, 0xcfc + (off & 3), v);
}

#endif
