/* serial.c: the 16550A UART (National Semiconductor PC16550D datasheet), as isa-serial */
#define LOG_PREFIX "serial: "
#include "chardev/chardev.h"
#include "hw/core/accel.h"
#include "hw/core/device.h"
#include "hw/core/ioregion.h"
#include "hw/isa/isa.h"
#include "migration/vmstate.h"
#include "util/log.h"
#include "util/main-loop.h"

/* registers (datasheet table II) */
#define UART_RBR 0  /* read, DLAB=0 */
#define UART_THR 0  /* write, DLAB=0 */
#define UART_IER 1
#define UART_IIR 2  /* read */
#define UART_FCR 2  /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08

#define IIR_NO_INT 0x01
#define IIR_ID     0x0e
#define IIR_MSI    0x00
#define IIR_THRI   0x02
#define IIR_RDI    0x04
#define IIR_RLSI   0x06
#define IIR_CTI    0x0c
#define IIR_FIFO   0xc0

#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_CLR_TX  0x04

#define LCR_DLAB 0x80
#define LCR_SBC  0x40   /* set break */

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_PE   0x04
#define LSR_FE   0x08
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERR  0x80
#define LSR_INT_ANY (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_ANY_DELTA 0x0f

#define RX_FIFO_SIZE 16
#define UART_CLOCK_HZ 1843200ULL

struct serial {
    struct device dev;
    /* properties */
    uint32_t iobase;
    uint32_t irq_num;
    struct chardev *chr;
    /* wiring */
    struct io_region io;
    struct irq *irq;
    struct timer *rx_timeout;
    /* registers */
    uint16_t divider;
    uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
    uint8_t rbr;            /* the byte read in non-FIFO mode */
    uint8_t rx_fifo[RX_FIFO_SIZE];
    uint8_t rx_head, rx_count;
    bool thr_ipending;      /* THRE interrupt armed until IIR is read or THR written */
    bool tx_coalesced;      /* THR writes go through the accelerator's coalesced ring */
    bool timeout_ipending;  /* character timeout indication */
    uint8_t irq_level;
    int64_t rx_timeout_at;  /* state streams: when the character timeout fires, or -1 */
};

static unsigned rx_trigger(struct serial *s)
{
    static const uint8_t levels[4] = { 1, 4, 8, 14 };

    return levels[s->fcr >> 6];
}

static bool fifo_enabled(struct serial *s)
{
    return s->fcr & FCR_ENABLE;
}

/* Recompute IIR and the interrupt line: RLS > RDA/CTI > THRE > MSI (datasheet table IV). */
static void serial_update_irq(struct serial *s)
{
    uint8_t id = IIR_NO_INT;

    if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
        id = IIR_RLSI;
    else if ((s->ier & IER_RDI) && s->timeout_ipending)
        id = IIR_CTI;
    else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) &&
             (!fifo_enabled(s) || s->rx_count >= rx_trigger(s)))
        id = IIR_RDI;
    else if ((s->ier & IER_THRI) && s->thr_ipending)
        id = IIR_THRI;
    else if ((s->ier & IER_MSI) && (s->msr & MSR_ANY_DELTA))
        id = IIR_MSI;
    s->iir = id | (fifo_enabled(s) ? IIR_FIFO : 0);
    s->irq_level = id != IIR_NO_INT;
    irq_set(s->irq, s->irq_level);
}

/* Four character times at the programmed rate (10 bits a character), for the FIFO timeout. */
static int64_t char_timeout_ns(struct serial *s)
{
    uint64_t div = s->divider ? s->divider : 1;

    return (int64_t)(4 * 10 * 16 * div * 1000000000ULL / UART_CLOCK_HZ);
}

static void serial_rx_timeout(void *opaque)
{
    struct serial *s = opaque;

    if (s->rx_count) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
}

static void serial_receive_byte(struct serial *s, uint8_t ch)
{
    if (fifo_enabled(s)) {
        if (s->rx_count == RX_FIFO_SIZE) {
            s->lsr |= LSR_OE;
        } else {
            s->rx_fifo[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = ch;
            s->rx_count++;
        }
        /* a partly filled FIFO tells the guest after four character times */
        timer_mod(s->rx_timeout, clock_get_ns(CLK_VIRTUAL) + char_timeout_ns(s));
    } else {
        if (s->lsr & LSR_DR)
            s->lsr |= LSR_OE;
        s->rbr = ch;
        s->rx_count = 1;
    }
    s->lsr |= LSR_DR;
}

static void serial_transmit(struct serial *s, uint8_t ch)
{
    if (s->mcr & MCR_LOOP) {
        serial_receive_byte(s, ch);
    } else {
        chardev_write(s->chr, &ch, 1);
    }
    /* the byte leaves at once: the transmitter is empty again */
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->thr_ipending = true;
}

static uint8_t serial_read_rbr(struct serial *s)
{
    uint8_t v = 0;

    if (fifo_enabled(s)) {
        if (s->rx_count) {
            v = s->rx_fifo[s->rx_head];
            s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
            s->rx_count--;
        }
        s->timeout_ipending = false;
        if (s->rx_count)
            timer_mod(s->rx_timeout, clock_get_ns(CLK_VIRTUAL) + char_timeout_ns(s));
        else
            timer_del(s->rx_timeout);
    } else {
        v = s->rbr;
        s->rx_count = 0;
    }
    if (!s->rx_count)
        s->lsr &= ~(LSR_DR | LSR_ERR);
    serial_update_irq(s);
    if (s->chr && !(s->mcr & MCR_LOOP))
        chardev_accept_input(s->chr);
    return v;
}

/* In loopback the modem inputs follow the outputs (datasheet, MCR bit 4). */
static void serial_update_msr_loop(struct serial *s)
{
    uint8_t old = s->msr, m = 0;

    if (s->mcr & MCR_RTS)
        m |= MSR_CTS;
    if (s->mcr & MCR_DTR)
        m |= MSR_DSR;
    if (s->mcr & MCR_OUT1)
        m |= MSR_RI;
    if (s->mcr & MCR_OUT2)
        m |= MSR_DCD;
    if ((old ^ m) & MSR_CTS)
        m |= MSR_DCTS;
    if ((old ^ m) & MSR_DSR)
        m |= MSR_DDSR;
    if ((old & MSR_RI) && !(m & MSR_RI))
        m |= MSR_TERI;
    if ((old ^ m) & MSR_DCD)
        m |= MSR_DDCD;
    s->msr = m | (old & MSR_ANY_DELTA);
}

/*
 * While the THRE interrupt and loopback are off, a THR write changes nothing the guest can see
 * before its next access to the UART (the byte leaves at once, THRE stays set), and every exit
 * drains the coalesced ring before its own access. So THR writes may be queued by KVM instead
 * of exiting one by one: a console write then costs one exit per FIFO-full, not per byte.
 * (With DLAB set the port is the divisor latch; its writes are ordered the same way.)
 */
static void serial_update_tx_coalescing(struct serial *s)
{
    bool want = !(s->ier & IER_THRI) && !(s->mcr & MCR_LOOP) && s->io.mapped;

    if (want == s->tx_coalesced || !accel || !accel->coalesce_pio)
        return;
    if (accel->coalesce_pio(s->iobase + UART_THR, 1, want) == 0)
        s->tx_coalesced = want;
}

static uint64_t serial_read(void *opaque, uint64_t off, unsigned size)
{
    struct serial *s = opaque;
    uint8_t v;

    switch (off) {
    case UART_RBR:
        if (s->lcr & LCR_DLAB)
            return s->divider & 0xff;
        return serial_read_rbr(s);
    case UART_IER:
        if (s->lcr & LCR_DLAB)
            return s->divider >> 8;
        return s->ier;
    case UART_IIR:
        v = s->iir;
        /* reading IIR while it shows THRE clears that interrupt */
        if ((v & IIR_ID) == IIR_THRI) {
            s->thr_ipending = false;
            serial_update_irq(s);
        }
        return v;
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        v = s->lsr;
        /* reading LSR clears the error bits and the break indication */
        if (s->lsr & (LSR_INT_ANY | LSR_ERR)) {
            s->lsr &= ~(LSR_INT_ANY | LSR_ERR);
            serial_update_irq(s);
        }
        return v;
    case UART_MSR:
        v = s->msr;
        if (s->msr & MSR_ANY_DELTA) {
            s->msr &= ~MSR_ANY_DELTA;
            serial_update_irq(s);
        }
        return v;
    case UART_SCR:
    default:
        return s->scr;
    }
}

static void serial_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct serial *s = opaque;
    uint8_t v = val;

    switch (off) {
    case UART_THR:
        if (s->lcr & LCR_DLAB) {
            s->divider = (s->divider & 0xff00) | v;
            return;
        }
        s->thr_ipending = false;
        serial_transmit(s, v);
        serial_update_irq(s);
        return;
    case UART_IER:
        if (s->lcr & LCR_DLAB) {
            s->divider = (s->divider & 0x00ff) | (v << 8);
            return;
        }
        /* enabling THRE interrupts while the transmitter is empty raises one at once */
        if (!(s->ier & IER_THRI) && (v & IER_THRI) && (s->lsr & LSR_THRE))
            s->thr_ipending = true;
        s->ier = v & 0x0f;
        serial_update_irq(s);
        serial_update_tx_coalescing(s);
        return;
    case UART_FCR:
        if ((v ^ s->fcr) & FCR_ENABLE)
            v |= FCR_CLR_RX | FCR_CLR_TX;   /* switching FIFO mode clears both FIFOs */
        if (v & FCR_CLR_RX) {
            s->rx_head = s->rx_count = 0;
            s->timeout_ipending = false;
            timer_del(s->rx_timeout);
            s->lsr &= ~(LSR_DR | LSR_ERR);
        }
        s->fcr = v & 0xc9;
        serial_update_irq(s);
        if (s->chr)
            chardev_accept_input(s->chr);
        return;
    case UART_LCR:
        if ((v & LCR_SBC) && !(s->lcr & LCR_SBC) && s->chr && !(s->mcr & MCR_LOOP))
            log_debug("COM at 0x%x sends a break", s->iobase);
        s->lcr = v;
        return;
    case UART_MCR:
        s->mcr = v & 0x1f;
        if (s->mcr & MCR_LOOP)
            serial_update_msr_loop(s);
        else
            s->msr = (s->msr & MSR_ANY_DELTA) | MSR_DCD | MSR_DSR | MSR_CTS;
        serial_update_irq(s);
        serial_update_tx_coalescing(s);
        return;
    case UART_LSR:
    case UART_MSR:
        return;     /* read-only */
    case UART_SCR:
    default:
        s->scr = v;
        return;
    }
}

static const struct io_region_ops serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .impl = { .min = 1, .max = 1 },
};

/* ---- the chardev side ---- */

static int serial_can_read(void *opaque)
{
    struct serial *s = opaque;

    if (s->mcr & MCR_LOOP)
        return 0;
    if (fifo_enabled(s))
        return RX_FIFO_SIZE - s->rx_count;
    return (s->lsr & LSR_DR) ? 0 : 1;
}

static void serial_chr_read(void *opaque, const uint8_t *buf, int len)
{
    struct serial *s = opaque;

    for (int i = 0; i < len; i++)
        serial_receive_byte(s, buf[i]);
    serial_update_irq(s);
}

static void serial_chr_event(void *opaque, enum chardev_event ev)
{
    struct serial *s = opaque;

    if (ev == CHR_EVENT_BREAK) {
        serial_receive_byte(s, 0);
        s->lsr |= LSR_BI | LSR_ERR;
        serial_update_irq(s);
    }
}

static const struct chardev_fe_ops serial_fe_ops = {
    .can_read = serial_can_read,
    .read = serial_chr_read,
    .event = serial_chr_event,
};

/* ---- life cycle ---- */

static void serial_reset(struct device *dev)
{
    struct serial *s = container_of(dev, struct serial, dev);

    s->divider = 12;    /* 9600 baud */
    s->ier = 0;
    s->lcr = 0;
    s->mcr = MCR_OUT2;
    s->lsr = LSR_THRE | LSR_TEMT;
    s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
    s->scr = 0;
    s->fcr = 0;
    s->rbr = 0;
    s->rx_head = s->rx_count = 0;
    s->thr_ipending = false;
    s->timeout_ipending = false;
    if (s->rx_timeout)
        timer_del(s->rx_timeout);
    serial_update_irq(s);
    serial_update_tx_coalescing(s);
}

static int serial_realize(struct device *dev, char **err)
{
    struct serial *s = container_of(dev, struct serial, dev);
    int r;

    if (s->iobase > 0xfff8) {
        *err = xasprintf("isa-serial: iobase 0x%x is outside the port space", s->iobase);
        return -EINVAL;
    }
    s->irq = isa_get_irq(s->irq_num);
    if (!s->irq) {
        *err = xasprintf("isa-serial: irq %u is not an ISA interrupt (0-15)", s->irq_num);
        return -EINVAL;
    }
    if (s->chr && chardev_attach(s->chr, &serial_fe_ops, s) < 0) {
        *err = xasprintf("isa-serial: chardev '%s' is already in use", chardev_id(s->chr));
        return -EBUSY;
    }
    s->rx_timeout = timer_new(CLK_VIRTUAL, serial_rx_timeout, s);
    r = io_region_add(&s->io, IO_SPACE_PIO, "serial", s->iobase, 8, &serial_ops, s);
    if (r < 0)
        goto fail;
    serial_reset(dev);
    return 0;
fail:
    timer_free(s->rx_timeout);
    if (s->chr)
        chardev_detach(s->chr, s);
    return r;
}

static void serial_unrealize(struct device *dev)
{
    struct serial *s = container_of(dev, struct serial, dev);

    if (s->tx_coalesced && accel)
        accel->coalesce_pio(s->iobase + UART_THR, 1, false);
    s->tx_coalesced = false;
    io_region_unmap(&s->io);
    timer_free(s->rx_timeout);
    if (s->chr)
        chardev_detach(s->chr, s);
}

static int serial_pre_save(void *opaque)
{
    struct serial *s = opaque;

    s->rx_timeout_at = timer_pending(s->rx_timeout) ? timer_expire_time(s->rx_timeout) : -1;
    return 0;
}

/* a stream without the timeout's subsection has no timeout running */
static int serial_pre_load(void *opaque)
{
    ((struct serial *)opaque)->rx_timeout_at = -1;
    return 0;
}

static int serial_post_load(void *opaque, int version)
{
    struct serial *s = opaque;

    if (s->rx_head >= RX_FIFO_SIZE || s->rx_count > RX_FIFO_SIZE || (s->fcr & ~0xc9))
        return -EINVAL;
    return 0;
}

static bool serial_rx_timeout_needed(void *opaque)
{
    return ((struct serial *)opaque)->rx_timeout_at >= 0;
}

/* the timeout runs at most four character times ahead, while the FIFO holds bytes */
static int serial_rx_timeout_post_load(void *opaque, int version)
{
    struct serial *s = opaque;

    if (s->rx_timeout_at < 0 || !fifo_enabled(s) || !s->rx_count ||
        s->rx_timeout_at > clock_get_ns(CLK_VIRTUAL) + char_timeout_ns(s))
        return -EINVAL;
    return 0;
}

/* After a load the line, IIR, the FIFO's timeout and the coalesced THR follow the registers. */
static void serial_state_loaded(struct device *dev)
{
    struct serial *s = container_of(dev, struct serial, dev);

    if (s->rx_timeout_at >= 0)
        timer_mod(s->rx_timeout, s->rx_timeout_at);
    else
        timer_del(s->rx_timeout);
    serial_update_irq(s);
    serial_update_tx_coalescing(s);
    if (s->chr)
        chardev_accept_input(s->chr);
}

static const struct vmstate_field serial_rx_timeout_fields[] = {
    VMSTATE_I64(rx_timeout_at, struct serial),
    VMSTATE_END_OF_LIST,
};

/* the FIFO's character timeout, while it runs (QEMU's serial/fifo_timeout_timer) */
static const struct vmstate_desc serial_rx_timeout_vmsd = {
    .name = "serial/rx-timeout",
    .version = 1,
    .min_version = 1,
    .fields = serial_rx_timeout_fields,
    .needed = serial_rx_timeout_needed,
    .post_load = serial_rx_timeout_post_load,
};

static const struct vmstate_field serial_fields[] = {
    VMSTATE_U16(divider, struct serial),
    VMSTATE_U8_MAX(ier, struct serial, 0x0f),
    VMSTATE_U8(iir, struct serial),
    VMSTATE_U8(lcr, struct serial),
    VMSTATE_U8_MAX(mcr, struct serial, 0x1f),
    VMSTATE_U8(lsr, struct serial),
    VMSTATE_U8(msr, struct serial),
    VMSTATE_U8(scr, struct serial),
    VMSTATE_U8(fcr, struct serial),
    VMSTATE_U8(rbr, struct serial),
    VMSTATE_U8_ARRAY(rx_fifo, struct serial, RX_FIFO_SIZE),
    VMSTATE_U8_MAX(rx_head, struct serial, RX_FIFO_SIZE - 1),
    VMSTATE_U8_MAX(rx_count, struct serial, RX_FIFO_SIZE),
    VMSTATE_BOOL(thr_ipending, struct serial),
    VMSTATE_BOOL(timeout_ipending, struct serial),
    VMSTATE_U8_MAX(irq_level, struct serial, 1),
    VMSTATE_END_OF_LIST,
};

static const struct vmstate_desc *const serial_subsections[] = { &serial_rx_timeout_vmsd, NULL };

static const struct vmstate_desc serial_vmsd = {
    .name = "serial",
    .version = 1,
    .min_version = 1,
    .fields = serial_fields,
    .pre_save = serial_pre_save,
    .pre_load = serial_pre_load,
    .post_load = serial_post_load,
    .subsections = serial_subsections,
};

static const struct prop_desc serial_props[] = {
    DEFINE_PROP("iobase", struct serial, iobase, PROP_U32, "0x3f8", "I/O port base"),
    DEFINE_PROP("irq", struct serial, irq_num, PROP_U32, "4", "ISA interrupt"),
    DEFINE_PROP("chardev", struct serial, chr, PROP_CHARDEV, NULL, "where the bytes go"),
    DEFINE_PROP_END,
};

static struct device_type serial_type = {
    .name = "isa-serial",
    .desc = "16550A UART",
    .bus = BUS_ISA,
    .instance_size = sizeof(struct serial),
    .props = serial_props,
    .user_creatable = true,
    .realize = serial_realize,
    .reset = serial_reset,
    .unrealize = serial_unrealize,
    .vmsd = &serial_vmsd,
    .state_loaded = serial_state_loaded,
};
DEVICE_TYPE_REGISTER(serial_type)
