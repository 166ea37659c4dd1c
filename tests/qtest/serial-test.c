/* serial-test.c: the 16550A as a guest driver sees it, and the bytes on its chardev */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COM1 0x3f8
#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

int main(void)
{
    char *path = qtest_tmp_path(".serial");
    int lfd = qtest_listen_unix(path), fd;
    struct qtest *q;
    char buf[64];
    size_t n;
    uint8_t v;

    q = qtest_start("-serial unix:%s", path);
    fd = qtest_accept(lfd, 5000);
    CHECK(fd >= 0, "the serial port's chardev connects to its unix socket");
    qtest_irq_intercept(q);

    CHECK(qtest_inb(q, COM1 + LSR) == 0x60, "after reset LSR shows the transmitter empty (0x60)");
    CHECK(qtest_inb(q, COM1 + IIR) == 0x01, "after reset IIR shows no interrupt pending");
    qtest_outb(q, COM1 + SCR, 0x5a);
    CHECK(qtest_inb(q, COM1 + SCR) == 0x5a, "the scratch register keeps what is written");

    /* divisor latch: 115200 baud is divisor 1 */
    qtest_outb(q, COM1 + LCR, 0x83);
    qtest_outb(q, COM1 + RBR, 0x01);
    qtest_outb(q, COM1 + IER, 0x00);
    CHECK(qtest_inb(q, COM1 + RBR) == 0x01 && qtest_inb(q, COM1 + IER) == 0x00,
          "with DLAB set, ports 0 and 1 are the divisor latch");
    qtest_outb(q, COM1 + LCR, 0x03);
    CHECK(qtest_inb(q, COM1 + LCR) == 0x03, "LCR reads back 8N1");

    /* transmit */
    qtest_outb(q, COM1, 'h');
    qtest_outb(q, COM1, 'i');
    n = qtest_read_avail(fd, buf, 2, 2000);
    CHECK(n == 2 && !memcmp(buf, "hi", 2), "bytes written to THR come out of the chardev");

    /* THRE interrupt: enabling it with THR empty raises IRQ 4, reading IIR clears it */
    qtest_outb(q, COM1 + MCR, 0x08);
    qtest_outb(q, COM1 + IER, 0x02);
    CHECK(qtest_get_irq(q, 4), "enabling the THRE interrupt with THR empty raises IRQ 4");
    v = qtest_inb(q, COM1 + IIR);
    CHECK(v == 0x02, "IIR names the THRE interrupt (0x%02x)", v);
    CHECK(!qtest_get_irq(q, 4), "reading IIR clears the THRE interrupt and lowers IRQ 4");
    qtest_outb(q, COM1, 'x');
    CHECK(qtest_get_irq(q, 4), "sending a byte raises THRE again");
    qtest_outb(q, COM1 + IER, 0x00);
    CHECK(!qtest_get_irq(q, 4), "disabling interrupts lowers IRQ 4");
    qtest_read_avail(fd, buf, 1, 1000);

    /* receive, non-FIFO */
    qtest_outb(q, COM1 + IER, 0x01);
    if (write(fd, "k", 1) != 1)
        CHECK(0, "write to the serial socket");
    for (int i = 0; i < 100 && !(qtest_inb(q, COM1 + LSR) & 1); i++)
        usleep(10000);
    CHECK(qtest_inb(q, COM1 + LSR) & 0x01, "a byte sent to the chardev sets LSR data ready");
    CHECK(qtest_get_irq(q, 4), "received data raises IRQ 4");
    CHECK((qtest_inb(q, COM1 + IIR) & 0x0f) == 0x04, "IIR names received data available");
    CHECK(qtest_inb(q, COM1 + RBR) == 'k', "RBR returns the byte");
    CHECK(!(qtest_inb(q, COM1 + LSR) & 0x01) && !qtest_get_irq(q, 4),
          "reading RBR clears data ready and the interrupt");

    /* FIFO: trigger level 4; three bytes wait for the character timeout */
    qtest_outb(q, COM1 + FCR, 0x47);
    CHECK((qtest_inb(q, COM1 + IIR) & 0xc0) == 0xc0, "IIR shows the FIFOs enabled");
    if (write(fd, "abc", 3) != 3)
        CHECK(0, "write to the serial socket");
    for (int i = 0; i < 100 && !(qtest_inb(q, COM1 + LSR) & 1); i++)
        usleep(10000);
    usleep(50000);
    CHECK(!qtest_get_irq(q, 4), "three bytes below a trigger level of four raise no interrupt yet");
    qtest_clock_step(q, 10 * 1000 * 1000);
    v = qtest_inb(q, COM1 + IIR);
    CHECK(qtest_get_irq(q, 4) && (v & 0x0f) == 0x0c,
          "after four character times the timeout interrupt fires (IIR 0x%02x)", v);
    n = 0;
    while ((qtest_inb(q, COM1 + LSR) & 1) && n < sizeof(buf))
        buf[n++] = qtest_inb(q, COM1 + RBR);
    CHECK(n == 3 && !memcmp(buf, "abc", 3), "the FIFO gives the bytes back in order");
    CHECK(!qtest_get_irq(q, 4), "an empty FIFO lowers the interrupt");
    if (write(fd, "0123456789abcdefXYZ", 19) != 19)
        CHECK(0, "write to the serial socket");
    usleep(200000);
    n = 0;
    while ((qtest_inb(q, COM1 + LSR) & 1) && n < sizeof(buf))
        buf[n++] = qtest_inb(q, COM1 + RBR);
    usleep(100000);
    while ((qtest_inb(q, COM1 + LSR) & 1) && n < sizeof(buf))
        buf[n++] = qtest_inb(q, COM1 + RBR);
    CHECK(n == 19 && !memcmp(buf, "0123456789abcdefXYZ", 19),
          "input beyond the FIFO waits in the chardev, nothing is lost (%zu bytes)", n);

    /* loopback */
    qtest_outb(q, COM1 + MCR, 0x10 | 0x03);
    v = qtest_inb(q, COM1 + MSR);
    CHECK((v & 0x30) == 0x30, "in loopback, RTS and DTR show as CTS and DSR (MSR 0x%02x)", v);
    qtest_outb(q, COM1, 0x42);
    CHECK((qtest_inb(q, COM1 + LSR) & 1) && qtest_inb(q, COM1 + RBR) == 0x42,
          "in loopback a sent byte is received");
    n = qtest_read_avail(fd, buf, 1, 200);
    CHECK(n == 0, "in loopback nothing reaches the chardev");
    qtest_outb(q, COM1 + MCR, 0x08);

    /* overrun in non-FIFO mode */
    qtest_outb(q, COM1 + FCR, 0x00);
    qtest_outb(q, COM1 + MCR, 0x18);
    qtest_outb(q, COM1, 1);
    qtest_outb(q, COM1, 2);
    v = qtest_inb(q, COM1 + LSR);
    CHECK(v & 0x02, "a second byte before the first is read sets overrun (LSR 0x%02x)", v);
    CHECK(!(qtest_inb(q, COM1 + LSR) & 0x02), "reading LSR clears overrun");
    qtest_outb(q, COM1 + MCR, 0x08);

    {
        const char *r = qtest_cmd(q, "vmstate_roundtrip");

        CHECK(r != NULL, "every device's state saves and loads back identically (%s)", r ? r : "");
    }
    /* garbage to every register never hurts */
    for (int p = 0; p < 8; p++)
        for (int val = 0; val < 256; val += 17)
            qtest_outb(q, COM1 + p, val);
    CHECK(qtest_cmd(q, "endianness") != NULL, "skiff survives arbitrary register writes");
    CHECK(qtest_quit(q) == 0, "skiff exits cleanly when the test disconnects");
    close(fd);
    close(lfd);
    unlink(path);
    free(path);
    return tap_done();
}
