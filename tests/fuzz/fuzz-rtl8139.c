/* fuzz-rtl8139.c: libFuzzer target: a guest driving the RTL8139 (its registers, its rings and descriptors in RAM, PCI bus mastering) while frames of the fuzzer's arrive from its backend, which may hold the NIC's frames back; state round trips between */
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "tests/fuzz/fuzz-board.h"
#include "util/iov.h" // iov_size

#include <stdint.h>

#define NIC_DEVFN PCI_DEVFN(4, 0)

/* The backend: it takes the NIC's frames (and drops them) or, when busy, has them queued. */
static struct {
    struct netdev nd;
    bool busy;              /* can_receive says no */
    bool waiting;           /* a frame of ours waits at the NIC: send nothing until it is taken */
} be;

static ssize_t be_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    return be.busy ? 0 : (ssize_t)iov_size(iov, niov);
}

static bool be_can_receive(struct net_client *nc)
{
    return !be.busy;
}

static const struct net_client_ops be_ops = {
    .type = "socket",
    .receive = be_receive,
    .can_receive = be_can_receive,
};

static void be_sent(struct net_client *nc, ssize_t ret)
{
    be.waiting = false;
}

static struct device *nic;
static uint32_t nic_io, nic_mmio;

static void setup(void)
{
    struct pc_options o = { 0 };
    char *err = NULL;

    fuzz_board_init(&o);
    snprintf(be.nd.id, sizeof(be.nd.id), "fz");
    be.nd.type = "socket";
    be.nd.nc.ops = &be_ops;
    be.nd.nc.kind = NET_CLIENT_BACKEND;
    be.nd.nc.name = xstrdup("fz");
    if (netdev_register(&be.nd, &err) < 0)
        abort();
    nic = device_create_simple("rtl8139", "netdev=fz,addr=04.0,romfile=");
    machine_done();
}

/*
 * Input: operations [op][4 address bytes][4 value bytes], op & 15:
 *   0-2 NIC I/O register write of 1/2/4 bytes (address & 0xff)   3-5 read
 *   6 RAM write of the value's 4 bytes    7 RAM fill: 256 bytes of the value's low byte
 *   8 clock step       9 a frame from the backend: value % 2048 bytes, taken from the input after
 *   10 the main loop once (timers, the announce, a load's resumption)
 *   11 the NIC's state saved and loaded back into it, the address's low byte patched in first
 *   12 the backend busy (value bit 0) or taking frames again (then what waited for it goes)
 *   13 NIC MMIO register write (4 bytes)   14 reset the board   15 the NIC's PCI command register
 * RAM addresses are taken modulo the 16 MiB of RAM.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        setup();
        ready = true;
    }
    be.busy = false;
    net_client_flush(&be.nd.nc);
    be.waiting = false;
    device_reset_all();
    pc_setup_like_firmware();
    nic_io = pci_config_read(NIC_DEVFN, PCI_BASE_ADDRESS_0, 4) & ~3u;
    nic_mmio = pci_config_read(NIC_DEVFN, PCI_BASE_ADDRESS_0 + 4, 4) & ~15u;

    for (size_t i = 0; i + 9 <= size; i += 9) {
        uint8_t op = data[i] & 15, fill[256];
        uint32_t addr = ldl_le(data + i + 1), val = ldl_le(data + i + 5);
        unsigned sz = 1u << (op % 3);

        switch (op) {
        case 0: case 1: case 2:
            io_dispatch(IO_SPACE_PIO, (nic_io + (addr & 0xff)) & 0xffff, &val, sz, true);
            break;
        case 3: case 4: case 5:
            io_dispatch(IO_SPACE_PIO, (nic_io + (addr & 0xff)) & 0xffff, &val, sz, false);
            break;
        case 6:
            gmem_write(addr % (FUZZ_RAM - 4), &val, 4);
            break;
        case 7:
            memset(fill, val, sizeof(fill));
            gmem_write(addr % (FUZZ_RAM - sizeof(fill)), fill, sizeof(fill));
            break;
        case 8:
            clock_virtual_step(val % 200000000u);
            break;
        case 9: {
            size_t n = MIN((size_t)(val % 2048), size - i - 9);

            if (!be.waiting && net_send_buf(&be.nd.nc, data + i + 9, n, be_sent) == 0)
                be.waiting = true;
            /* the frame's bytes are not operations (rounded up to whole operations) */
            i += (n + 8) / 9 * 9;
            break;
        }
        case 10:
            loop_iterate(false);
            break;
        case 11: {
            struct vmbuf b;
            char *err = NULL;

            vmbuf_init(&b);
            vmstate_save(nic->type->vmsd, nic, &b);
            if (b.len)
                b.data[(addr >> 8) % b.len] = addr;
            if (device_vmstate_load(nic, &b, &err) < 0 && !err)
                abort();        /* a refusal always says why */
            free(err);
            vmbuf_free(&b);
            break;
        }
        case 12:
            be.busy = val & 1;
            if (!be.busy)
                net_client_flush(&be.nd.nc);
            break;
        case 13:
            io_dispatch(IO_SPACE_MMIO, nic_mmio + (addr & 0xfc), &val, 4, true);
            break;
        case 14:
            device_reset_all();
            pc_setup_like_firmware();
            break;
        case 15:
            pci_config_write(NIC_DEVFN, PCI_COMMAND, val & 7, 2);
            break;
        }
    }
    loop_iterate(false);
    return 0;
}
