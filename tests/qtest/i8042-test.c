/* i8042-test.c: the keyboard controller, the MF2 keyboard in each scan code set, the PS/2 mouse with its wheel, and keys from the input path */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <string.h>

static struct qtest *q;

static void cmd(uint8_t c) { qtest_outb(q, 0x64, c); }
static void data(uint8_t v) { qtest_outb(q, 0x60, v); }
static bool full(void) { return qtest_inb(q, 0x64) & 1; }

/* Read what is waiting (up to max bytes); returns the count. */
static int drain(uint8_t *b, int max)
{
    int n = 0;

    while (n < max && full())
        b[n++] = qtest_inb(q, 0x60);
    return n;
}

static bool got(const uint8_t *want, int n)
{
    uint8_t b[32];
    int m = drain(b, sizeof(b));

    if (m != n || memcmp(b, want, n)) {
        printf("# got");
        for (int i = 0; i < m; i++)
            printf(" %02x", b[i]);
        printf("\n");
        return false;
    }
    return true;
}

static void key(unsigned k, int down)
{
    qtest_cmd(q, "input_key 0x%x %d", k, down);
}

int main(void)
{
    uint8_t b[8];

    q = qtest_start("-m 32");
    qtest_irq_intercept(q);
    CHECK((qtest_inb(q, 0x64) & 0x10) && !full(), "after reset: unlocked, output buffer empty");
    cmd(0xaa);
    CHECK(got((uint8_t[]){ 0x55 }, 1), "controller self-test answers 0x55");
    CHECK(qtest_inb(q, 0x64) & 0x04, "and sets the system flag");
    cmd(0xab);
    CHECK(got((uint8_t[]){ 0x00 }, 1), "keyboard interface test passes");
    cmd(0x20);
    CHECK(got((uint8_t[]){ 0x43 }, 1), "the command byte reads 0x43 (interrupts, translation)");

    /* keyboard commands */
    data(0xff);
    CHECK(got((uint8_t[]){ 0xfa, 0xaa }, 2), "keyboard reset: ACK, self-test passed");
    data(0xf2);
    CHECK(got((uint8_t[]){ 0xfa, 0xab, 0x41 }, 3), "identify through the translation: AB 41");
    data(0xee);
    CHECK(got((uint8_t[]){ 0xee }, 1), "echo");
    data(0xed);
    data(0x07);
    CHECK(got((uint8_t[]){ 0xfa, 0xfa }, 2), "set LEDs: two ACKs");
    data(0xf0);
    data(0x00);
    CHECK(got((uint8_t[]){ 0xfa, 0xfa, 0x41 }, 3), "the scan code set reads 0x41 (set 2, translated)");
    data(0x77);
    CHECK(got((uint8_t[]){ 0xfe }, 1), "an unknown keyboard command asks for a resend");

    /* keys: set 2 translated to set 1 (what a BIOS and Linux see by default) */
    key(0x1e, 1);
    CHECK(qtest_get_irq(q, 1), "a key press raises IRQ 1");
    key(0x1e, 0);
    CHECK(got((uint8_t[]){ 0x1e, 0x9e }, 2), "A through the translation: 1E, 9E");
    CHECK(!qtest_get_irq(q, 1), "IRQ 1 falls when the buffer is empty");
    key(0x148, 1);
    key(0x148, 0);
    CHECK(got((uint8_t[]){ 0xe0, 0x48, 0xe0, 0xc8 }, 4), "cursor up: E0 48, E0 C8");
    /* no translation: set 2 */
    cmd(0x60);
    data(0x01);
    key(0x1e, 1);
    key(0x1e, 0);
    CHECK(got((uint8_t[]){ 0x1c, 0xf0, 0x1c }, 3), "set 2 untranslated: A is 1C, F0 1C");
    key(0x11d, 1);
    key(0x11d, 0);
    CHECK(got((uint8_t[]){ 0xe0, 0x14, 0xe0, 0xf0, 0x14 }, 5), "right Ctrl in set 2: E0 14, E0 F0 14");
    key(0x245, 1);
    CHECK(got((uint8_t[]){ 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 }, 8), "Pause in set 2 (no break)");
    data(0xf0);
    data(0x01);
    drain(b, sizeof(b));
    key(0x1c, 1);
    key(0x1c, 0);
    CHECK(got((uint8_t[]){ 0x1c, 0x9c }, 2), "after F0 01 the keyboard speaks set 1: Enter 1C 9C");
    data(0xf5);
    drain(b, sizeof(b));
    key(0x1e, 1);
    CHECK(!full(), "a disabled keyboard (F5) sends no keys");
    data(0xf4);
    drain(b, sizeof(b));
    cmd(0x60);
    data(0x41 | 0x10);
    key(0x1e, 1);
    CHECK(!full(), "with the keyboard interface off (command byte bit 4) nothing arrives");
    cmd(0xae);
    CHECK(got((uint8_t[]){ 0x1e }, 1), "enabling it (AE) lets the key through");
    cmd(0x60);
    data(0x47);

    /* controller data path */
    cmd(0xd2);
    data(0x5a);
    CHECK(got((uint8_t[]){ 0x5a }, 1), "D2 writes the keyboard output buffer");
    cmd(0xd3);
    data(0xa5);
    CHECK((qtest_inb(q, 0x64) & 0x21) == 0x21 && qtest_get_irq(q, 12), "D3 fills the aux output buffer and raises IRQ 12");
    CHECK(got((uint8_t[]){ 0xa5 }, 1), "with the mouse's byte");

    /* the mouse */
    cmd(0xa8);
    cmd(0xd4);
    data(0xff);
    CHECK(got((uint8_t[]){ 0xfa, 0xaa, 0x00 }, 3), "mouse reset: ACK, AA, ID 0");
    cmd(0xd4);
    data(0xf2);
    CHECK(got((uint8_t[]){ 0xfa, 0x00 }, 2), "a standard mouse: ID 0");
    {
        const uint8_t rates[3] = { 200, 100, 80 };

        for (int i = 0; i < 3; i++) {
            cmd(0xd4);
            data(0xf3);
            cmd(0xd4);
            data(rates[i]);
        }
        drain(b, sizeof(b));
    }
    cmd(0xd4);
    data(0xf2);
    CHECK(got((uint8_t[]){ 0xfa, 0x03 }, 2), "sample rates 200, 100, 80 turn on the wheel: ID 3");
    cmd(0xd4);
    data(0xf4);
    drain(b, 1);
    qtest_cmd(q, "input_rel 5 -3 1 1");
    CHECK(qtest_get_irq(q, 12), "motion raises IRQ 12");
    CHECK(got((uint8_t[]){ 0x09, 0x05, 0x03, 0x01 }, 4), "a 4-byte packet: left button, dx 5, dy 3 (up), wheel 1");
    qtest_cmd(q, "input_rel -300 0 0 0");
    CHECK(got((uint8_t[]){ 0x18, 0x00, 0x00, 0x00, 0x18, 0xd4, 0x00, 0x00 }, 8),
          "a move of -300 goes out as -256 and -44");
    cmd(0xd4);
    data(0xe9);
    CHECK(got((uint8_t[]){ 0xfa, 0x20, 0x02, 80 }, 4), "status request: enabled, resolution 2, rate 80");
    cmd(0xd4);
    data(0xee);
    cmd(0xd4);
    data(0x42);
    CHECK(got((uint8_t[]){ 0xfa, 0x42 }, 2), "wrap mode echoes");
    cmd(0xd4);
    data(0xec);
    cmd(0xa7);
    qtest_cmd(q, "input_rel 1 1 0 0");
    CHECK(got((uint8_t[]){ 0xfa }, 1), "with the aux port disabled the packet waits");
    cmd(0xa8);
    CHECK(got((uint8_t[]){ 0x28, 0x01, 0xff, 0x00 }, 4), "and comes once it is enabled (dy -1: the sign bit)");

    /* Linux's multiplexer probe: bytes looped with 0xd3 while the aux port is disabled */
    cmd(0x60);
    data(0x70);
    cmd(0xd3);
    data(0xf0);
    CHECK((qtest_inb(q, 0x64) & 0x21) == 0x21 && qtest_inb(q, 0x60) == 0xf0,
          "0xd3 puts its byte out as the mouse's even with the aux port disabled");
    /* two bytes back to back: each one an interrupt edge */
    qtest_irq_intercept(q);
    cmd(0x60);
    data(0x41);
    qtest_irq_raises(q, 1);
    cmd(0xd2);
    data(0x11);
    cmd(0xd2);
    data(0x22);
    qtest_inb(q, 0x60);
    qtest_inb(q, 0x60);
    CHECK(qtest_irq_raises(q, 1) == 2, "each of two queued keyboard bytes raises IRQ 1 anew");
    cmd(0x60);
    data(0x43);

    cmd(0xd0);
    CHECK(got((uint8_t[]){ 0x03 }, 1), "the output port: reset line high, A20 on");
    CHECK(qtest_cmd(q, "vmstate_roundtrip") != NULL, "the controller's state saves and loads back");
    for (int v = 0; v < 256; v++) {
        if (v == 0xd1 || (v >= 0xf0 && !(v & 1)) || v == 0xfe)
            continue;       /* the reset line */
        cmd(v);
        data(v);
    }
    CHECK(qtest_reset_count(q) == 0, "every command byte with data does no harm: no reset");
    cmd(0xfe);
    CHECK(qtest_reset_count(q) == 1 && qtest_wait_exit(q, 200) == -1,
          "pulsing the reset line (FE) resets the machine once and skiff goes on");
    CHECK(qtest_quit(q) == 0, "skiff ends cleanly when the test closes the connection");
    return tap_done();
}
