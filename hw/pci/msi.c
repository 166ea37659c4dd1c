/* msi.c: MSI (PCI Local Bus spec 3.0 section 6.8.1): the capability's registers, multiple messages, per-vector masking */
#define LOG_PREFIX "msi: "
#include "hw/pci/msi.h"
#include "util/log.h"

static uint16_t msi_flags(const struct pci_device *d)
{
    return pci_get_word(d->config + d->msi_cap + PCI_MSI_FLAGS);
}

static unsigned msi_mask_off(const struct pci_device *d)
{
    return d->msi_cap + (msi_flags(d) & PCI_MSI_FLAGS_64BIT ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static unsigned msi_pending_off(const struct pci_device *d)
{
    return d->msi_cap + (msi_flags(d) & PCI_MSI_FLAGS_64BIT ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
}

/* The vectors the function has, and those the system granted (multiple message enable). */
static unsigned msi_capable(const struct pci_device *d)
{
    return 1u << ((msi_flags(d) & PCI_MSI_FLAGS_QMASK) >> 1);
}

static unsigned msi_granted(const struct pci_device *d)
{
    return 1u << ((msi_flags(d) & PCI_MSI_FLAGS_QSIZE) >> 4);
}

int pci_msi_init(struct pci_device *d, unsigned nvec, bool is64, bool maskable)
{
    unsigned size = is64 ? (maskable ? 0x18 : 0x0e) : (maskable ? 0x14 : 0x0a);
    unsigned log2 = __builtin_ctz(nvec ? nvec : 1), data;
    uint16_t flags = (log2 << 1) | (is64 ? PCI_MSI_FLAGS_64BIT : 0) | (maskable ? PCI_MSI_FLAGS_MASKBIT : 0);
    int c;

    if (nvec == 0 || nvec > 32 || (nvec & (nvec - 1)) || d->msi_cap)
        return -EINVAL;
    c = pci_add_capability(d, PCI_CAP_ID_MSI, size);
    if (c < 0)
        return c;
    d->msi_cap = c;
    pci_set_word(d->config + c + PCI_MSI_FLAGS, flags);
    /* enable and multiple message enable; the address is DWORD aligned; the data is 16 bits */
    pci_set_word(d->wmask + c + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    pci_set_long(d->wmask + c + PCI_MSI_ADDRESS_LO, 0xfffffffc);
    if (is64)
        pci_set_long(d->wmask + c + PCI_MSI_ADDRESS_HI, 0xffffffff);
    data = c + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
    pci_set_word(d->wmask + data, 0xffff);
    if (maskable)
        pci_set_long(d->wmask + msi_mask_off(d), nvec == 32 ? 0xffffffff : (1u << nvec) - 1);
    return 0;
}

bool pci_msi_enabled(const struct pci_device *d)
{
    return d->msi_cap && (msi_flags(d) & PCI_MSI_FLAGS_ENABLE);
}

bool pci_msi_is_pending(const struct pci_device *d, unsigned vector)
{
    return d->msi_cap && (msi_flags(d) & PCI_MSI_FLAGS_MASKBIT) && vector < 32 &&
           (pci_get_long(d->config + msi_pending_off(d)) >> vector & 1);
}

static bool msi_masked(const struct pci_device *d, unsigned vector)
{
    return (msi_flags(d) & PCI_MSI_FLAGS_MASKBIT) && (pci_get_long(d->config + msi_mask_off(d)) >> vector & 1);
}

static void msi_set_pending(struct pci_device *d, unsigned vector, bool on)
{
    uint32_t p = pci_get_long(d->config + msi_pending_off(d));

    pci_set_long(d->config + msi_pending_off(d), on ? p | 1u << vector : p & ~(1u << vector));
}

/* The message of `vector`: the granted vectors are the low bits of the data (6.8.1.6). */
static struct msi_msg msi_message(const struct pci_device *d, unsigned vector)
{
    const uint8_t *c = d->config + d->msi_cap;
    bool is64 = msi_flags(d) & PCI_MSI_FLAGS_64BIT;
    unsigned n = msi_granted(d);
    struct msi_msg m;

    m.addr = pci_get_long(c + PCI_MSI_ADDRESS_LO);
    if (is64)
        m.addr |= (uint64_t)pci_get_long(c + PCI_MSI_ADDRESS_HI) << 32;
    m.data = pci_get_word(c + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32));
    m.data = (m.data & ~(n - 1)) | (vector & (n - 1));
    return m;
}

void pci_msi_notify(struct pci_device *d, unsigned vector)
{
    if (!pci_msi_enabled(d))
        return;
    /* with fewer messages granted than it has, the function's vectors share them */
    vector &= msi_granted(d) - 1;
    if (msi_masked(d, vector)) {
        msi_set_pending(d, vector, true);
        return;
    }
    pci_msi_send(d, msi_message(d, vector));
}

void pci_msi_config_write(struct pci_device *d, unsigned off, unsigned size)
{
    uint8_t *flags = d->config + d->msi_cap + PCI_MSI_FLAGS;

    /* more messages than the function has is not a grant software may make: it gets them all */
    if (msi_granted(d) > msi_capable(d))
        pci_set_word(flags, (pci_get_word(flags) & ~PCI_MSI_FLAGS_QSIZE) |
                            (pci_get_word(flags) & PCI_MSI_FLAGS_QMASK) << 3);
    if (!pci_msi_enabled(d) || !(msi_flags(d) & PCI_MSI_FLAGS_MASKBIT))
        return;
    /* a vector unmasked with a message pending sends it now */
    for (unsigned v = 0; v < msi_capable(d); v++) {
        if (pci_msi_is_pending(d, v) && !msi_masked(d, v)) {
            msi_set_pending(d, v, false);
            pci_msi_send(d, msi_message(d, v));
        }
    }
}

int pci_msi_check_loaded(const struct pci_device *d)
{
    uint32_t beyond;

    if (!d->msi_cap)
        return 0;
    if (msi_granted(d) > msi_capable(d)) {
        log_warn("%s: a state load grants %u MSI vectors to a function that has %u", d->name,
                 msi_granted(d), msi_capable(d));
        return -EINVAL;
    }
    beyond = msi_capable(d) == 32 ? 0 : ~((1u << msi_capable(d)) - 1);
    if ((msi_flags(d) & PCI_MSI_FLAGS_MASKBIT) && (pci_get_long(d->config + msi_pending_off(d)) & beyond)) {
        log_warn("%s: a state load sets MSI pending bits of vectors the function does not have", d->name);
        return -EINVAL;
    }
    return 0;
}
