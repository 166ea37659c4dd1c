/* payload.c: the payload runtime: string helpers, COM1 output, printf, TAP and debug-exit */
#include "payload.h"

#include <stdarg.h>

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

void *memset(void *d, int c, size_t n) { uint8_t *p = d; while (n--) *p++ = c; return d; }
void *memcpy(void *d, const void *s, size_t n) { uint8_t *p = d; const uint8_t *q = s; while (n--) *p++ = *q++; return d; }
int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;

    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
int strcmp(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return (uint8_t)*a - (uint8_t)*b; }
int strncmp(const char *a, const char *b, size_t n)
{
    for (; n && *a && *a == *b; n--, a++, b++)
        ;
    return n ? (uint8_t)*a - (uint8_t)*b : 0;
}
const char *strstr(const char *h, const char *n)
{
    size_t l = strlen(n);

    for (; *h; h++)
        if (!strncmp(h, n, l))
            return h;
    return l ? NULL : h;
}

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* no interrupts */
    outb(COM1 + 3, 0x80);   /* DLAB */
    outb(COM1 + 0, 0x01);   /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0x07);   /* FIFO on, cleared */
}

void putc_com1(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, c);
}

void puts_com1(const char *s)
{
    while (*s) {
        if (*s == '\n')
            putc_com1('\r');
        putc_com1(*s++);
    }
}

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;

    do {
        /* 32-bit payloads have no 64-bit division helper: split it */
        uint32_t hi = v >> 32, lo = (uint32_t)v, rem;

        rem = hi % base;
        hi /= base;
        {
            uint64_t t = ((uint64_t)rem << 32) | lo;
            uint32_t q = 0;

            /* long division of t (< base * 2^32) by base */
            for (int b = 31; b >= 0; b--) {
                if ((t >> b) >= base) {
                    t -= (uint64_t)base << b;
                    q |= 1u << b;
                }
            }
            lo = q;
            rem = (uint32_t)t;
        }
        v = ((uint64_t)hi << 32) | lo;
        buf[n++] = "0123456789abcdef"[rem];
    } while (v && n < 24);
    while (n < width)
        buf[n++] = pad;
    while (n)
        putc_com1(buf[--n]);
}

static void vprint(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        int width = 0, lng = 0;
        char pad = ' ';

        if (*fmt != '%') {
            if (*fmt == '\n')
                putc_com1('\r');
            putc_com1(*fmt);
            continue;
        }
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 's': puts_com1(va_arg(ap, const char *)); break;
        case 'c': putc_com1((char)va_arg(ap, int)); break;
        case 'd': {
            int64_t v = lng >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int);

            if (v < 0) {
                putc_com1('-');
                v = -v;
            }
            put_num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u': put_num(lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 10, width, pad); break;
        case 'x': put_num(lng >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t), 16, width, pad); break;
        case 'p': puts_com1("0x"); put_num((uintptr_t)va_arg(ap, void *), 16, 8, '0'); break;
        case '%': putc_com1('%'); break;
        default: putc_com1('?'); break;
        }
    }
}

void printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

static unsigned tests_run, tests_failed;

void check(bool cond, const char *fmt, ...)
{
    va_list ap;

    tests_run++;
    if (!cond)
        tests_failed++;
    printf("%s %u - ", cond ? "ok" : "not ok", tests_run);
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    printf("\n");
}

void note(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    printf("\n");
}

void debug_exit(uint8_t code)
{
    outb(DEBUG_EXIT_PORT, code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void done(void)
{
    printf("1..%u\n", tests_run);
    /* skiff exits with (code << 1) | 1: 1 when all passed */
    debug_exit(tests_failed ? 1 : 0);
}

void payload_start(uint32_t magic, uint32_t mbi);
void payload_start(uint32_t magic, uint32_t mbi)
{
    serial_init();
    test_main(magic, mbi);
    done();
}
