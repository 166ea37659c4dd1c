/* monitor-test.c: the human monitor on a unix socket: greeting, info, stop/cont, the power button, sendkey, reset, bad input, quit */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PM_STS 0x600        /* PM1 status, at the PMBA the test gives the PM function */
#define PM_EN 0x602
#define PM_CNT 0x604

static struct qtest *q;

/* PIIX4 PM (00:01.3): PMBA 0x600, PMREGMISC's I/O enable */
static void pm_enable(void)
{
    qtest_outl(q, 0xcf8, 0x80000b40);
    qtest_outl(q, 0xcfc, 0x601);
    qtest_outl(q, 0xcf8, 0x80000b80);
    qtest_outb(q, 0xcfc, 0x01);
}

static uint8_t pm_regmisc(void)
{
    qtest_outl(q, 0xcf8, 0x80000b80);
    return qtest_inb(q, 0xcfc);
}

static bool has(const char *out, const char *want)
{
    bool ok = out && strstr(out, want);

    if (!ok)
        printf("# wanted \"%s\" in: %s\n", want, out ? out : "(no prompt)");
    return ok;
}

/* What the keyboard controller holds: set 1 codes (the 8042 translates by default). */
static int kbd_drain(uint8_t *b, int max, int wait_ms)
{
    int n = 0;

    for (int t = 0; t <= wait_ms; t += 10) {
        while (n < max && (qtest_inb(q, 0x64) & 1))
            b[n++] = qtest_inb(q, 0x60);
        if (n == max)
            break;
        usleep(10000);
    }
    return n;
}

int main(void)
{
    char *sock = qtest_tmp_path(".mon"), *server;
    int lfd = qtest_listen_unix(sock), fd, status;
    const char *out;
    uint8_t b[16];
    char big[3000];

    q = qtest_start("-name monitored -uuid 123E4567-e89b-12d3-a456-426614174000 -monitor unix:%s", sock);
    out = qtest_hmp_open(lfd, &fd);
    CHECK(has(out, "monitor - type 'help' for more information"),
          "a client gets the banner and the (skiff) prompt");

    out = qtest_hmp(fd, "help");
    CHECK(has(out, "system_powerdown") && has(out, "sendkey keys [hold_ms]") && has(out, "quit|q"),
          "help lists the commands");
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: running"), "info status: running");
    CHECK(has(qtest_hmp(fd, "info name"), "monitored"), "info name shows -name");
    CHECK(has(qtest_hmp(fd, "info uuid"), "123e4567-e89b-12d3-a456-426614174000\n"),
          "info uuid shows -uuid, in lower case as QEMU prints it");
    CHECK(has(qtest_hmp(fd, "info version"), "(skiff)"), "info version answers");

    /* the rest of the commands, each with what it says under the test accelerator */
    out = qtest_hmp(fd, "help eject");
    CHECK(out && !strcmp(out, "eject [-f] device -- take the disc out of a CD-ROM drive (-f: even when the "
                              "guest locked it)\n"), "help CMD shows that command's line alone");
    CHECK(has(qtest_hmp(fd, "? q"), "quit|q -- quit skiff"), "? is help, and finds a command by its short form");
    out = qtest_hmp(fd, "info");
    CHECK(has(out, "info block -- ") && has(out, "info version -- skiff's version\n"), "info alone lists the items");
    CHECK(has(qtest_hmp(fd, "info kvm"), "kvm support: enabled\nkvm: off (-accel qtest)\n"),
          "info kvm: KVM does not run this guest");
    CHECK(has(qtest_hmp(fd, "info cpus"), "no CPUs (-accel qtest)"), "info cpus: no vCPU under the test accelerator");
    CHECK(has(qtest_hmp(fd, "info registers"), "no CPUs (-accel qtest)"), "so info registers has none to show");
    CHECK(has(qtest_hmp(fd, "info registers -x"), "unknown option '-x'"), "info registers names a bad option");
    CHECK(has(qtest_hmp(fd, "cpu 0"), "no CPUs (-accel qtest)"), "cpu 0 has none to choose");
    CHECK(has(qtest_hmp(fd, "nmi"), "no CPUs (-accel qtest)"), "nmi has none to interrupt");
    out = qtest_hmp(fd, "info pci");
    CHECK(has(out, "  Bus  0, device   1, function 1:\n    IDE controller: PCI device 8086:7010\n"
                   "      PCI subsystem 1af4:1100\n      BAR4: I/O at ") &&
          has(out, "    Bridge: PCI device 8086:7113\n      PCI subsystem 1af4:1100\n      IRQ "),
          "info pci: the PIIX3 IDE with its bus master BAR, the PIIX4 PM with its interrupt pin");
    qtest_memwrite(q, 0x1000, "skif", 4);
    CHECK(has(qtest_hmp(fd, "xp /4xb 0x1000"), "0000000000001000: 0x73 0x6b 0x69 0x66\n"),
          "xp /4xb shows guest RAM as bytes");
    CHECK(has(qtest_hmp(fd, "xp /2c 0x1002"), "0000000000001002: 'i' 'f'\n"), "xp /2c as characters");
    CHECK(has(qtest_hmp(fd, "xp /4q 0x1000"), "the format is /[count]"), "xp names a bad format");
    {
        char *file = qtest_tmp_path(".pmem"), got[8] = { 0 };
        FILE *f;

        out = qtest_hmp(fd, "pmemsave 0x1000 4 %s", file);
        f = fopen(file, "rb");
        CHECK(out && !*out && f && fread(got, 1, sizeof(got), f) == 4 && !memcmp(got, "skif", 4),
              "pmemsave writes those 4 bytes into a file");
        if (f)
            fclose(f);
        CHECK(has(qtest_hmp(fd, "pmemsave 0xffffffffffffffff 2 %s", file), "wraps around"),
              "pmemsave refuses a range that wraps around");
        unlink(file);
        free(file);
    }
    CHECK(has(qtest_hmp(fd, "sendkey a 70000"), "hold time '70000': milliseconds, 0 to 60000"),
          "sendkey: a hold time past 60 s is refused");
    CHECK(has(qtest_hmp(fd, "sendkey a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q"), "at most 16 keys at once"),
          "sendkey: 17 keys are refused");
    CHECK(has(qtest_hmp(fd, "eject"), "eject: which drive?"), "eject without a drive asks which");
    CHECK(has(qtest_hmp(fd, "change ide1-cd0 /dev/null vmdk"), "change: no drive 'ide1-cd0' (info block lists them)"),
          "change of a drive that is not there names it");
    CHECK(has(qtest_hmp(fd, "stop"), "") && has(qtest_hmp(fd, "info status"), "VM status: paused"),
          "stop: info status says paused");
    CHECK(has(qtest_hmp(fd, "c"), "") && has(qtest_hmp(fd, "info status"), "VM status: running"),
          "c (cont) runs it again");

    /* the ACPI power button */
    pm_enable();
    qtest_irq_intercept(q);
    CHECK(!(qtest_inw(q, PM_STS) & 0x100), "before: PWRBTN_STS clear");
    qtest_outw(q, PM_EN, 0x100);
    qtest_outw(q, PM_CNT, 0x0001);      /* SCI_EN */
    qtest_hmp(fd, "system_powerdown");
    CHECK((qtest_inw(q, PM_STS) & 0x100) && qtest_get_irq(q, 9),
          "system_powerdown presses the power button: PWRBTN_STS and the SCI");
    qtest_outw(q, PM_STS, 0x100);

    /* keys through the i8042 */
    kbd_drain(b, sizeof(b), 0);
    qtest_hmp(fd, "sendkey ctrl-alt-delete 50");
    CHECK(kbd_drain(b, 4, 0) == 4 && !memcmp(b, "\x1d\x38\xe0\x53", 4),
          "sendkey ctrl-alt-delete presses Ctrl, Alt, Delete (1D 38 E0 53)");
    CHECK(kbd_drain(b, 4, 2000) == 4 && !memcmp(b, "\xe0\xd3\xb8\x9d", 4),
          "and lets them go after the hold time, last first (E0 D3 B8 9D)");
    qtest_hmp(fd, "sendkey a 0");
    CHECK(kbd_drain(b, 2, 2000) == 2 && b[0] == 0x1e && b[1] == 0x9e, "sendkey a: 1E, 9E");
    CHECK(has(qtest_hmp(fd, "sendkey ctrl-nosuchkey"), "unknown key 'nosuchkey'"),
          "an unknown key name is refused by name");
    CHECK(kbd_drain(b, 1, 100) == 0, "and nothing is pressed");

    /* bad input */
    CHECK(has(qtest_hmp(fd, "frobnicate now"), "unknown command: 'frobnicate'"),
          "an unknown command says so");
    CHECK(has(qtest_hmp(fd, "info nosuch"), "unknown item 'nosuch'"), "so does an unknown info item");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(has(qtest_hmp(fd, "%s", big), "too long"), "a line of 3000 characters is refused");
    CHECK(has(qtest_hmp(fd, "a b c d e f g h i j k"), "too many arguments"), "so are too many arguments");
    CHECK(has(qtest_hmp(fd, "eject ide0-hd0"), "no drive 'ide0-hd0'"), "eject of a drive that is not there");
    {
        /* control characters and escape sequences (cursor keys) are not part of the line;
         * DEL takes back the character before it */
        static const char junk[] = "\x02\x1b[A\x1b[1;5Cinfo statx\x7fus\x03";

        CHECK(write(fd, junk, sizeof(junk) - 1) == (ssize_t)sizeof(junk) - 1 &&
              has(qtest_hmp(fd, "%s", ""), "VM status: running"),
              "line editing: escapes and control bytes are dropped, DEL erases");
    }
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: running"),
          "after control bytes and escapes the monitor still answers");

    /* a reset from the monitor: the board's registers go back to power-on */
    CHECK(pm_regmisc() == 1, "before the reset the PM function decodes its ports");
    qtest_hmp(fd, "system_reset");
    for (int i = 0; i < 100 && pm_regmisc(); i++)
        usleep(10000);
    CHECK(pm_regmisc() == 0, "system_reset resets the board (PMREGMISC back to 0)");

    qtest_hmp(fd, "quit");
    status = qtest_wait_exit(q, 10000);
    CHECK(status == 0, "quit ends skiff with status 0, the test's connection still open (%d)", status);
    qtest_quit(q);
    close(fd);
    close(lfd);
    unlink(sock);
    free(sock);

    /* -S: the CPUs wait for cont */
    sock = qtest_tmp_path(".mon");
    server = qtest_tmp_path(".mon");
    lfd = qtest_listen_unix(sock);
    q = qtest_start("-S -mon chardev=m -chardev socket,id=m,path=%s "
                    "-mon chardev=srv -chardev socket,id=srv,path=%s,server=on,wait=off", sock, server);
    out = qtest_hmp_open(lfd, &fd);
    CHECK(has(out, "monitor - type 'help'"), "-mon chardev= serves the monitor on a -chardev socket");
    CHECK(has(qtest_hmp(fd, "info status"), "VM status: paused (prelaunch)"),
          "-S: the VM starts paused, in QEMU's words: paused (prelaunch)");
    {
        /* a monitor that listens: a client that leaves in the middle of an overlong line leaves
         * nothing of it to the next client */
        int c1, c2;

        memset(big, 'x', sizeof(big));
        CHECK(has(qtest_hmp_connect(server, &c1), "monitor - type 'help'"), "a client of a listening monitor gets the banner");
        CHECK(write(c1, big, sizeof(big)) == (ssize_t)sizeof(big), "types 3000 characters and leaves");
        close(c1);
        CHECK(has(qtest_hmp_connect(server, &c2), "monitor - type 'help'"), "the next client gets the banner");
        CHECK(has(qtest_hmp(c2, "info status"), "VM status: paused (prelaunch)"),
              "and its first line runs: the last client's overlong line is forgotten");
        close(c2);
    }
    CHECK(has(qtest_hmp(fd, "cont"), "") && has(qtest_hmp(fd, "info status"), "VM status: running"),
          "cont starts it");
    qtest_hmp(fd, "q");
    CHECK(qtest_wait_exit(q, 10000) == 0, "q quits too");
    qtest_quit(q);
    close(fd);
    close(lfd);
    unlink(sock);
    free(sock);
    unlink(server);
    free(server);
    return tap_done();
}
