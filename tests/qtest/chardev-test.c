/* chardev-test.c: every chardev backend behind a UART: file, pipe, pty, tcp and unix sockets, null */
#include "tests/qtest/libqtest.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define COM1 0x3f8

static void send_str(struct qtest *q, const char *s)
{
    while (*s)
        qtest_outb(q, COM1, *s++);
}

/* Bytes typed into the chardev reach the UART's receiver. */
static bool receives(struct qtest *q, int fd, const char *s)
{
    size_t n = strlen(s), got = 0;
    char buf[64];

    if (write(fd, s, n) != (ssize_t)n)
        return false;
    for (int i = 0; i < 200 && got < n; i++) {
        while ((qtest_inb(q, COM1 + 5) & 1) && got < sizeof(buf))
            buf[got++] = qtest_inb(q, COM1);
        if (got < n)
            usleep(5000);
    }
    return got == n && !memcmp(buf, s, n);
}

static bool read_is(int fd, const char *want)
{
    char buf[64] = { 0 };
    size_t n = qtest_read_avail(fd, buf, strlen(want), 3000);

    return n == strlen(want) && !memcmp(buf, want, n);
}

static int free_tcp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &l);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int connect_tcp(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    for (int i = 0; i < 100; i++) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        usleep(20000);
    }
    close(fd);
    return -1;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    strcpy(sa.sun_path, path);
    for (int i = 0; i < 100; i++) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        usleep(20000);
    }
    close(fd);
    return -1;
}

static void test_file(void)
{
    char *path = qtest_tmp_path(".out");
    struct qtest *q = qtest_start("-serial file:%s", path);
    char buf[16] = { 0 };
    FILE *f;

    send_str(q, "to a file");
    qtest_quit(q);
    f = fopen(path, "r");
    CHECK(f && fread(buf, 1, 15, f) == 9 && !strcmp(buf, "to a file"), "-serial file: writes the guest's bytes");
    if (f)
        fclose(f);
    unlink(path);
    free(path);
}

static void test_pipe(void)
{
    char *base = qtest_tmp_path(".pipe"), in[256], out[256];
    struct qtest *q;
    int wfd, rfd;

    snprintf(in, sizeof(in), "%s.in", base);
    snprintf(out, sizeof(out), "%s.out", base);
    mkfifo(in, 0600);
    mkfifo(out, 0600);
    rfd = open(out, O_RDONLY | O_NONBLOCK);
    wfd = open(in, O_RDWR | O_NONBLOCK);
    q = qtest_start("-serial pipe:%s", base);
    send_str(q, "piped");
    CHECK(read_is(rfd, "piped"), "-serial pipe: sends to PATH.out");
    CHECK(receives(q, wfd, "back"), "and reads PATH.in");
    qtest_quit(q);
    close(rfd);
    close(wfd);
    unlink(in);
    unlink(out);
    free(base);
}

static void test_pty(void)
{
    char *log = qtest_tmp_path(".log"), line[256], pts[128] = "";
    struct qtest *q;
    FILE *f;
    int fd;

    qtest_stderr_path = log;
    q = qtest_start("-serial pty");
    qtest_stderr_path = NULL;
    f = fopen(log, "r");
    while (f && fgets(line, sizeof(line), f))
        sscanf(line, "char device redirected to %127s (label serial0)", pts);
    if (f)
        fclose(f);
    CHECK(pts[0] == '/', "-serial pty announces its pty as QEMU does (%s)", pts);
    fd = pts[0] ? open(pts, O_RDWR | O_NOCTTY) : -1;
    if (fd >= 0) {
        send_str(q, "tty");
        CHECK(read_is(fd, "tty"), "bytes from the guest come out of the pty");
        CHECK(receives(q, fd, "in"), "bytes typed into the pty reach the guest");
        close(fd);
    } else {
        CHECK(false, "the pty opens");
    }
    send_str(q, "nobody reads this pty; skiff must not block on it. ");
    for (int i = 0; i < 200; i++)
        send_str(q, "0123456789012345678901234567890123456789");
    CHECK(qtest_cmd(q, "endianness") != NULL, "a pty nobody reads does not stall the machine");
    qtest_quit(q);
    unlink(log);
    free(log);
}

static void test_tcp(void)
{
    int port = free_tcp_port(), fd, lfd;
    struct qtest *q = qtest_start("-serial tcp:127.0.0.1:%d,server=on,wait=off", port);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(sa);

    send_str(q, "lost");        /* nobody connected: dropped, not queued */
    fd = connect_tcp(port);
    CHECK(fd >= 0, "-serial tcp:...,server=on,wait=off listens on loopback");
    usleep(100000);
    send_str(q, "net");
    CHECK(read_is(fd, "net"), "a tcp client gets the guest's bytes (and none from before it came)");
    CHECK(receives(q, fd, "typed"), "and its bytes reach the guest");
    close(fd);
    usleep(100000);
    fd = connect_tcp(port);
    send_str(q, "again");
    CHECK(fd >= 0 && read_is(fd, "again"), "after the client leaves, the next one is served");
    close(fd);
    qtest_quit(q);

    /* skiff as the client */
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    bind(lfd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(lfd, (struct sockaddr *)&sa, &l);
    listen(lfd, 1);
    q = qtest_start("-serial tcp:127.0.0.1:%d", ntohs(sa.sin_port));
    fd = qtest_accept(lfd, 5000);
    send_str(q, "client");
    CHECK(fd >= 0 && read_is(fd, "client"), "-serial tcp:HOST:PORT connects out as a client");
    close(fd);
    close(lfd);
    qtest_quit(q);
}

/*
 * Whether skiff's end of our TCP connection fd has TCP_NODELAY: skiff's fds are copied with
 * pidfd_getfd, and the socket whose addresses are ours swapped is asked. -1 when the kernel
 * does not let this process look (no pidfd_getfd, no ptrace rights).
 */
static int skiff_end_nodelay(struct qtest *q, int fd)
{
    struct sockaddr_in me, peer, a;
    socklen_t l = sizeof(me);
    int pidfd = syscall(SYS_pidfd_open, qtest_pid(q), 0), found = -1;

    if (pidfd < 0 || getsockname(fd, (struct sockaddr *)&me, &l) < 0)
        goto out;
    l = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &l) < 0)
        goto out;
    for (int n = 0; n < 1024 && found < 0; n++) {
        int theirs = syscall(SYS_pidfd_getfd, pidfd, n, 0), v = 0;

        if (theirs < 0) {
            if (errno == EPERM || errno == ENOSYS)
                break;
            continue;
        }
        l = sizeof(a);
        if (getsockname(theirs, (struct sockaddr *)&a, &l) == 0 && a.sin_family == AF_INET &&
            a.sin_port == peer.sin_port && a.sin_addr.s_addr == peer.sin_addr.s_addr) {
            l = sizeof(a);
            /* a server's listening socket has the same address: the peer tells them apart */
            if (getpeername(theirs, (struct sockaddr *)&a, &l) == 0 && a.sin_port == me.sin_port) {
                l = sizeof(v);
                if (getsockopt(theirs, IPPROTO_TCP, TCP_NODELAY, &v, &l) == 0)
                    found = v != 0;
            }
        }
        close(theirs);
    }
out:
    if (pidfd >= 0)
        close(pidfd);
    return found;
}

static void check_nodelay(struct qtest *q, int fd, int want, const char *what)
{
    int nd = skiff_end_nodelay(q, fd);

    if (nd < 0)
        tap_skip("this kernel does not let the test see skiff's sockets (pidfd_getfd)", "%s", what);
    else
        CHECK(nd == want, "%s", what);
}

/* A tcp server with OPTS serves a client, whose connection has TCP_NODELAY or not (want). */
static void nodelay_server(const char *opts, int want, const char *what)
{
    int port = free_tcp_port(), fd;
    struct qtest *q = qtest_start("-serial tcp:127.0.0.1:%d,server=on,wait=off%s", port, opts);

    fd = connect_tcp(port);
    usleep(100000);
    send_str(q, "served");
    CHECK(fd >= 0 && read_is(fd, "served"), "-serial tcp:...,server=on%s serves a client", opts);
    if (fd >= 0) {
        check_nodelay(q, fd, want, what);
        close(fd);
    }
    qtest_quit(q);
}

static void test_nodelay(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
    struct qtest *q;

    /* a client: skiff connects to the test */
    bind(lfd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(lfd, (struct sockaddr *)&sa, &l);
    listen(lfd, 1);
    q = qtest_start("-chardev socket,id=s0,host=127.0.0.1,port=%d,nodelay=on -serial chardev:s0",
                    ntohs(sa.sin_port));
    fd = qtest_accept(lfd, 5000);
    send_str(q, "quick");
    CHECK(fd >= 0 && read_is(fd, "quick"),
          "-chardev socket,host=,port=,nodelay=on connects and carries the guest's bytes");
    CHECK(fd >= 0 && receives(q, fd, "back"), "and the client's bytes to the guest");
    if (fd >= 0) {
        check_nodelay(q, fd, 1, "nodelay=on: skiff's end of the connection has TCP_NODELAY");
        close(fd);
    }
    close(lfd);
    qtest_quit(q);

    /* a server: each client it accepts gets it; without nodelay=on Nagle stays on, as in QEMU */
    nodelay_server(",nodelay=on", 1, "and the accepted connection has TCP_NODELAY");
    nodelay_server("", 0, "without nodelay=on a connection keeps TCP_NODELAY off");
}

static void test_unix_server(void)
{
    char *path = qtest_tmp_path(".sock");
    struct qtest *q = qtest_start("-chardev socket,id=s0,path=%s,server=on,wait=off -serial chardev:s0", path);
    int fd = connect_unix(path);

    send_str(q, "unix");
    CHECK(fd >= 0 && read_is(fd, "unix"), "-chardev socket,path=,server=on serves a unix client");
    CHECK(receives(q, fd, "back"), "both ways");
    close(fd);
    qtest_quit(q);
    CHECK(access(path, F_OK) != 0, "skiff removes its socket file when it exits");
    free(path);
}

/* mon: on a socket: the UART and the monitor share it, switched with Ctrl-A c as on a terminal */
static void test_mon_socket(void)
{
    char *path = qtest_tmp_path(".sock"), buf[512] = { 0 };
    int lfd = qtest_listen_unix(path), fd;
    struct qtest *q = qtest_start("-serial mon:unix:%s", path);

    fd = qtest_accept(lfd, 5000);
    send_str(q, "shared");
    CHECK(fd >= 0 && read_is(fd, "shared"), "-serial mon:unix:PATH carries the UART's bytes");
    if (fd >= 0 && write(fd, "\001c", 2) == 2)
        qtest_read_avail(fd, buf, sizeof(buf) - 1, 1000);
    CHECK(strstr(buf, "monitor - type 'help'") != NULL, "and Ctrl-A c there reaches the monitor");
    if (fd >= 0)
        close(fd);
    close(lfd);
    qtest_quit(q);
    unlink(path);
    free(path);
}

static void test_null(void)
{
    struct qtest *q = qtest_start("-serial null");

    send_str(q, "into the void");
    CHECK(qtest_cmd(q, "endianness") != NULL && (qtest_inb(q, COM1 + 5) & 0x60) == 0x60,
          "-serial null takes the bytes and the UART stays ready");
    qtest_quit(q);
}

int main(void)
{
    test_file();
    test_pipe();
    test_pty();
    test_tcp();
    test_nodelay();
    test_unix_server();
    test_mon_socket();
    test_null();
    return tap_done();
}
