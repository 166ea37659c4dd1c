/* test-net-socket.c: -netdev socket through the core with a fake NIC: QEMU's TCP framing both ways, back-pressure (a full NIC, a full kernel buffer), one peer at a time, hostile lengths, connect=, udp=, mcast=, fd=, and against Debian's QEMU as the peer */
#include "hw/core/device.h"
#include "hw/core/machine.h"
#include "net/net.h"
#include "util/iov.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* budget: 60 */

/* ---- the fake NIC (tests/unit/test-nic.h) ---- */

#include "tests/unit/test-nic.h"

static void teardown(void)
{
    device_destroy_all();
    net_cleanup();
}

/* ---- the loop and the wire ---- */

static bool link_up(void *arg)
{
    return !((struct net_client *)arg)->link_down;
}

static bool link_gone(void *arg)
{
    return ((struct net_client *)arg)->link_down;
}

static int tcp_listen_any(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
        return -1;
    getsockname(fd, (struct sockaddr *)&sa, &l);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port nothing uses now, of that type */
static int free_port(int type)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(sa);
    int fd = socket(AF_INET, type, 0);

    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(fd, (struct sockaddr *)&sa, &l);
    close(fd);
    return ntohs(sa.sin_port);
}

static int tcp_connect(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connect, trying for a while (a peer process may still be starting) */
static int tcp_connect_retry(int port, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        int fd = tcp_connect(port);

        if (fd >= 0)
            return fd;
        usleep(50000);
    }
    return -1;
}

/* A frame on the wire as QEMU frames it: its length, big-endian, then len bytes of b */
static bool put_frame(int fd, uint8_t b, uint32_t len)
{
    uint8_t *buf = xmalloc(4 + len);
    bool ok;

    stl_be(buf, len);
    memset(buf + 4, b, len);
    ok = write_full(fd, buf, 4 + len) == 0;
    free(buf);
    return ok;
}

/* Read exactly len bytes within ms, running skiff's loop meanwhile */
static bool read_wire(int fd, void *buf, size_t len, int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;
    size_t got = 0;

    while (got < len && clock_monotonic_ns() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        loop_iterate(false);
        if (poll(&p, 1, 1) == 1) {
            n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
            if (n <= 0)
                return false;
            got += n;
        }
    }
    return got == len;
}

/* A frame read off the wire within ms: its length and whether each byte is b */
static bool get_frame_within(int fd, uint8_t b, uint32_t want_len, int ms)
{
    uint8_t hdr[4], *buf;
    bool ok;

    if (!read_wire(fd, hdr, 4, ms) || ldl_be(hdr) != want_len)
        return false;
    buf = xmalloc(want_len);
    ok = read_wire(fd, buf, want_len, 3000);
    for (uint32_t i = 0; ok && i < want_len; i++)
        ok = buf[i] == b;
    free(buf);
    return ok;
}

static bool get_frame(int fd, uint8_t b, uint32_t want_len)
{
    return get_frame_within(fd, b, want_len, 3000);
}

static ssize_t nic_send(struct test_nic *n, uint8_t b, size_t len, net_sent_fn *cb)
{
    uint8_t *buf = xmalloc(len);
    ssize_t r;

    memset(buf, b, len);
    r = net_send_buf(&n->nc, buf, len, cb);
    free(buf);
    return r;
}

static char *info_of(struct test_nic *n)
{
    static char buf[4096];

    net_info(buf, sizeof(buf));
    return buf;
}

/* "from 127.0.0.1:PORT\n", PORT the local port of a client's socket */
static const char *from_port(int fd)
{
    static char buf[64];
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);

    getsockname(fd, (struct sockaddr *)&sa, &l);
    snprintf(buf, sizeof(buf), "from 127.0.0.1:%d\n", ntohs(sa.sin_port));
    return buf;
}

/* ---- listen= ---- */

static void test_listen(void)
{
    int port = free_port(SOCK_STREAM), c1, c2, c3;
    char spec[96];
    struct test_nic *n;
    struct net_client *be;
    uint8_t two[4 + 70 + 4 + 80];

    snprintf(spec, sizeof(spec), "socket,id=s0,listen=127.0.0.1:%d", port);
    n = nic_on(spec);
    if (!CHECK(n != NULL, "-netdev %s and a NIC on it", spec))
        return;
    be = n->nc.peer;
    CHECK(be->link_down && nic_send(n, 1, 60, nic_sent) == 60 && strstr(info_of(n), " \\ s0: index=0,type=socket,\n"),
          "before a peer connects its link is down: the NIC's frames go nowhere, and info network shows no peer");
    c1 = tcp_connect(port);
    CHECK(c1 >= 0 && until(link_up, be, 3000) && strstr(info_of(n), "s0: index=0,type=socket,socket: connection from 127.0.0.1:"),
          "a peer connects: the link comes up, info network says from where, as QEMU's");

    /* the peer's frames, cut anywhere on the wire */
    stl_be(two, 70);
    memset(two + 4, 0x21, 70);
    stl_be(two + 74, 80);
    memset(two + 78, 0x22, 80);
    write_full(c1, two, 2);
    settle(20);
    write_full(c1, two + 2, 40);
    settle(20);
    write_full(c1, two + 42, sizeof(two) - 42);
    CHECK(wait_got(n, 2) && n->len[0] == 70 && nic_first(n, 0) == 0x21 && nic_intact(n, 0) && n->len[1] == 80 &&
          nic_first(n, 1) == 0x22 && nic_intact(n, 1), "frames the peer sends, split and joined anyhow on the wire, reach the NIC whole and in order");
    CHECK(nic_send(n, 0x31, 1514, nic_sent) == 1514 && get_frame(c1, 0x31, 1514),
          "a frame the NIC sends reaches the peer as QEMU frames it: 1514 as 4 bytes big-endian, then the frame");

    /* the NIC cannot take frames: the backend holds one and reads no more */
    n->refuse = true;
    for (int i = 0; i < 3; i++)
        put_frame(c1, 0x40 + i, 100 + i);
    settle(100);
    CHECK(n->got == 2 && n->nc.queue_len == 1, "while the NIC cannot take frames, one waits at it and the backend reads no further");
    n->refuse = false;
    net_client_flush(&n->nc);
    CHECK(wait_got(n, 5) && nic_first(n, 2) == 0x40 && nic_first(n, 3) == 0x41 && nic_first(n, 4) == 0x42 && n->len[4] == 102,
          "the NIC's flush takes the waiting one, and the backend reads on: all three, in order");

    /* the kernel's buffer fills: the NIC is told to wait, and nothing is lost or torn */
    {
        int sent = 0, zero_at = -1;
        bool all = true;

        for (int i = 0; i < 400 && zero_at < 0; i++) {
            ssize_t r = nic_send(n, (uint8_t)i, 60000, nic_sent);

            sent++;
            if (r == 0)
                zero_at = i;
        }
        CHECK(zero_at >= 0, "a peer that does not read fills the kernel's buffer: the NIC's send gets 0 (after %d frames)", sent);
        for (int i = 0; i < sent && all; i++)
            all = get_frame(c1, (uint8_t)i, 60000);
        CHECK(all && n->sent == 1, "once the peer reads, every frame arrives whole, in order, framed (parts of one sent "
              "later), and the NIC's callback says the held one went");
    }

    /* one peer at a time */
    c2 = tcp_connect(port);
    put_frame(c2, 0x50, 60);
    settle(100);
    CHECK(c2 >= 0 && n->got == 5 && strstr(info_of(n), from_port(c1)),
          "a second peer waits while the first is connected: its frame goes nowhere yet");
    close(c1);
    CHECK(wait_got(n, 6) && nic_first(n, 5) == 0x50 && !be->link_down && strstr(info_of(n), from_port(c2)),
          "once the first leaves, the second is taken (info network names it), and its frame arrives");

    /* a length no frame has: the connection goes, the backend waits for the next */
    put_frame(c2, 0x60, 0);
    {
        uint8_t bad[4];

        stl_be(bad, 0x7fffffff);
        write_full(c2, bad, 4);
    }
    {
        char byte;
        int64_t end = clock_monotonic_ns() + 3000000000LL;
        ssize_t r = -1;

        while (clock_monotonic_ns() < end) {
            loop_iterate(false);
            r = recv(c2, &byte, 1, MSG_DONTWAIT);
            if (r == 0)
                break;
            usleep(500);
        }
        CHECK(r == 0 && be->link_down && n->got == 6,
              "a peer that announces a 2 GiB frame is disconnected (no frame passed; a zero-length one is skipped)");
    }
    c3 = tcp_connect(port);
    put_frame(c3, 0x70, 64);
    CHECK(c3 >= 0 && wait_got(n, 7) && nic_first(n, 6) == 0x70, "and the next peer is served");
    close(c2);
    close(c3);
    teardown();
}

/* ---- connect= ---- */

static void test_connect(void)
{
    int port, lfd = tcp_listen_any(&port), c;
    char spec[96];
    struct test_nic *n;

    snprintf(spec, sizeof(spec), "socket,id=s1,connect=127.0.0.1:%d", port);
    n = nic_on(spec);
    settle(50);
    c = accept(lfd, NULL, NULL);
    if (!CHECK(n && c >= 0 && strstr(info_of(n), "s1: index=0,type=socket,socket: connect to 127.0.0.1:"),
               "connect= reaches the listener; info network says \"socket: connect to\" as QEMU's"))
        return;
    put_frame(c, 0x11, 333);
    CHECK(wait_got(n, 1) && n->len[0] == 333 && nic_intact(n, 0), "the listener's frames reach the NIC");
    CHECK(nic_send(n, 0x12, 42, NULL) == 42 && get_frame(c, 0x12, 42), "and the NIC's the listener");
    close(c);
    CHECK(until(link_gone, n->nc.peer, 3000), "when the listener hangs up, the link goes down (QEMU's socket does not reconnect)");
    close(lfd);
    teardown();

    /* nobody listening */
    snprintf(spec, sizeof(spec), "socket,id=s2,connect=127.0.0.1:%d", free_port(SOCK_STREAM));
    n = nic_on(spec);
    CHECK(n && until(link_gone, n->nc.peer, 3000), "connect= to a port nobody listens on: skiff starts, its link down");
    teardown();
}

/* ---- udp= and fd= ---- */

static void test_udp_fd(void)
{
    int pl = free_port(SOCK_DGRAM), pt = free_port(SOCK_DGRAM), u, sv[2];
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char spec[128];
    uint8_t buf[2000];
    struct test_nic *n;
    struct pollfd p;

    u = socket(AF_INET, SOCK_DGRAM, 0);
    sa.sin_port = htons(pt);
    bind(u, (struct sockaddr *)&sa, sizeof(sa));
    snprintf(spec, sizeof(spec), "socket,id=u0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", pt, pl);
    n = nic_on(spec);
    if (!CHECK(n && strstr(info_of(n), "u0: index=0,type=socket,socket: udp=127.0.0.1:"), "udp= with localaddr=; info network as QEMU's"))
        return;
    p = (struct pollfd){ .fd = u, .events = POLLIN };
    CHECK(nic_send(n, 0x33, 1500, NULL) == 1500 && poll(&p, 1, 3000) == 1 && recv(u, buf, sizeof(buf), 0) == 1500 &&
          buf[0] == 0x33 && buf[1499] == 0x33, "a frame the NIC sends is one datagram of its bytes to udp=");
    memset(buf, 0x34, 99);
    sa.sin_port = htons(pl);
    sendto(u, buf, 99, 0, (struct sockaddr *)&sa, sizeof(sa));
    CHECK(wait_got(n, 1) && n->len[0] == 99 && nic_intact(n, 0), "a datagram to localaddr= is a frame for the NIC");
    close(u);
    teardown();

    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    snprintf(spec, sizeof(spec), "socket,id=f0,fd=%d", sv[0]);
    n = nic_on(spec);
    put_frame(sv[1], 0x44, 77);
    CHECK(n && wait_got(n, 1) && n->len[0] == 77 && strstr(info_of(n), "socket: fd="),
          "fd= of a stream socket (a management daemon's): framed as TCP");
    CHECK(nic_send(n, 0x45, 88, NULL) == 88 && get_frame(sv[1], 0x45, 88), "both ways");
    close(sv[1]);
    teardown();

    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    snprintf(spec, sizeof(spec), "socket,id=f1,fd=%d", sv[0]);
    n = nic_on(spec);
    memset(buf, 0x46, 55);
    write(sv[1], buf, 55);
    CHECK(n && wait_got(n, 1) && n->len[0] == 55, "fd= of a datagram socket: a datagram a frame");
    p = (struct pollfd){ .fd = sv[1], .events = POLLIN };
    CHECK(nic_send(n, 0x47, 66, NULL) == 66 && poll(&p, 1, 3000) == 1 && read(sv[1], buf, sizeof(buf)) == 66,
          "both ways");
    /* a peer that does not read: its socket's queue fills on a datagram's boundary */
    {
        int sent = 0, zero_at = -1, got = 0;
        bool order = true;

        for (int i = 0; i < 2000 && zero_at < 0; i++, sent++)
            if (nic_send(n, (uint8_t)i, 1000, nic_sent) == 0)
                zero_at = i;
        CHECK(zero_at >= 0 && n->sent == 0, "a datagram peer that does not read: the NIC's send gets 0 (after %d)", sent);
        for (int64_t end = clock_monotonic_ns() + 3000000000LL; got < sent && clock_monotonic_ns() < end;) {
            p = (struct pollfd){ .fd = sv[1], .events = POLLIN };
            loop_iterate(false);
            if (poll(&p, 1, 1) == 1 && read(sv[1], buf, sizeof(buf)) == 1000)
                order &= buf[0] == (uint8_t)got++;
        }
        CHECK(got == sent && order && n->sent == 1, "when it reads, the held frame follows the others (the backend "
              "watched for room and flushed), and the NIC's callback runs");
    }
    close(sv[1]);
    teardown();

    {
        char *err = NULL;
        int fd = open("/dev/null", O_RDONLY);

        int r;

        snprintf(spec, sizeof(spec), "socket,id=f2,fd=%d", fd);
        r = netdev_add(spec, &err);
        CHECK(r < 0 && err && strstr(err, "not a socket"), "fd= of a file that is no socket: \"%s\"", err ? err : "taken");
        close(fd);
        free(err);
    }
}

/* ---- refusals ---- */

static void test_refusals(void)
{
    static const struct { const char *spec, *says; } bad[] = {
        { "socket,id=a", "exactly one of listen=, connect=, udp=, mcast= or fd=" },
        { "socket,id=a,listen=:1,connect=127.0.0.1:2", "exactly one of" },
        { "socket,id=a,listen=nohost", "listen=nohost: give HOST:PORT" },
        { "socket,id=a,listen=127.0.0.1:99999", "the port is a number, 0 to 65535" },
        { "socket,id=a,udp=127.0.0.1:5000", "localaddr=HOST:PORT" },
        { "socket,id=a,listen=127.0.0.1:0,localaddr=127.0.0.1:1", "localaddr= goes with udp= or mcast= only" },
        { "socket,id=a,mcast=127.0.0.1:5000", "127.0.0.1 is not a multicast address" },
        { "socket,id=a,mcast=230.0.0.1:5000,localaddr=127.0.0.1:5", "localaddr=127.0.0.1:5: give an IPv4 address" },
        { "socket,id=a,listen=127.0.0.1:0,reconnect=1", "unknown parameter 'reconnect'" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *err = NULL;
        int r = netdev_add(bad[i].spec, &err);

        CHECK(r < 0 && err && strstr(err, bad[i].says) && !netdev_find("a"), "-netdev %s: \"%s\"", bad[i].spec,
              err ? err : "taken");
        free(err);
    }
    {
        int port, fd = tcp_listen_any(&port);
        char spec[64], *err = NULL;
        int r;

        snprintf(spec, sizeof(spec), "socket,id=a,listen=127.0.0.1:%d", port);
        r = netdev_add(spec, &err);
        CHECK(r < 0 && err && strstr(err, "cannot listen on 127.0.0.1:") && strstr(err, "Address already in use"),
              "listen= on a port in use: \"%s\"", err ? err : "taken");
        free(err);
        close(fd);
    }
}

/* ---- mcast=, in a namespace of our own ---- */

static void test_mcast(bool own_netns)
{
    int port = free_port(SOCK_DGRAM), m, one = 1;
    struct sockaddr_in grp = { .sin_family = AF_INET, .sin_port = htons(port) };
    struct ip_mreq mreq;
    struct in_addr lo = { htonl(INADDR_LOOPBACK) };
    struct test_nic *n;
    char spec[96];
    uint8_t buf[2000];
    struct pollfd p;
    bool seen = false;

    if (!own_netns) {
        tap_skip("needs a network namespace of its own (root)", "mcast=");
        return;
    }
    inet_aton("230.0.0.1", &grp.sin_addr);
    snprintf(spec, sizeof(spec), "socket,id=m0,mcast=230.0.0.1:%d,localaddr=127.0.0.1", port);
    n = nic_on(spec);
    if (!CHECK(n && strstr(info_of(n), "m0: index=0,type=socket,socket: mcast=230.0.0.1:"), "mcast= on the loopback; info network as QEMU's"))
        return;
    /* another member of the group: this test */
    m = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(m, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bind(m, (struct sockaddr *)&grp, sizeof(grp));
    mreq.imr_multiaddr = grp.sin_addr;
    mreq.imr_interface = lo;
    setsockopt(m, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
    setsockopt(m, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof(lo));
    nic_send(n, 0x55, 300, NULL);
    p = (struct pollfd){ .fd = m, .events = POLLIN };
    CHECK(poll(&p, 1, 3000) == 1 && recv(m, buf, sizeof(buf), 0) == 300 && buf[0] == 0x55,
          "a frame the NIC sends reaches the group");
    memset(buf, 0x56, 200);
    sendto(m, buf, 200, 0, (struct sockaddr *)&grp, sizeof(grp));
    /* as QEMU's, the NIC may hear its own frame first: the group's traffic loops back */
    wait_got(n, 1);
    settle(100);
    for (int i = 0; i < n->got && i < NIC_FRAMES; i++)
        seen |= nic_first(n, i) == 0x56 && n->len[i] == 200;
    CHECK(seen, "a member's datagram reaches the NIC");
    close(m);
    teardown();
}

/* ---- Debian's QEMU as the peer ---- */

/* Where QEMU pid's stderr goes: a file of its own, not the test's output, where its lines broke ours */
static char *qemu_log_path(pid_t pid)
{
    char name[64];

    snprintf(name, sizeof(name), "test-net-socket-qemu-%d.log", (int)pid);
    return tap_tmp_path(name);
}

static pid_t qemu_start(const char *netdevs)
{
    char cmd[1024];
    pid_t pid;

    snprintf(cmd, sizeof(cmd), "exec qemu-system-x86_64 -machine accel=tcg -m 32 -nodefaults -display none "
             "-monitor none -serial none %s", netdevs);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        char *log = qemu_log_path(getpid());
        int fd = open("/dev/null", O_RDWR), lfd;

        lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(lfd >= 0 ? lfd : fd, 2);
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Stop QEMU, and give what it said as TAP comments */
static void qemu_stop(pid_t pid)
{
    char *log, line[512];
    FILE *f;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    log = qemu_log_path(pid);
    f = fopen(log, "r");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        tap_note("qemu: %s", line);
    }
    if (f)
        fclose(f);
    unlink(log);
    free(log);
}

/*
 * The skiff program itself, relaying as QEMU does (a hub between listen= and a connect= to QEMU's
 * a): frames this test writes to skiff come out of QEMU's b, and the other way round.
 */
static void skiff_process_to_qemu(int qemu_a, int b)
{
    const char *skiff = getenv("SKIFF");
    int px = free_port(SOCK_STREAM), x;
    char args[512];
    pid_t pid;
    bool ok;

    if (!skiff || access(skiff, X_OK) != 0) {
        tap_skip("SKIFF is not set (tests/run sets it)", "the skiff program and QEMU on one segment");
        return;
    }
    snprintf(args, sizeof(args), "exec '%s' -accel qtest -qtest null -nodefaults -netdev socket,id=x,listen=127.0.0.1:%d "
             "-netdev socket,id=y,connect=127.0.0.1:%d -netdev hubport,id=hx,hubid=1,netdev=x "
             "-netdev hubport,id=hy,hubid=1,netdev=y 2>/dev/null", skiff, px, qemu_a);
    pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    x = tcp_connect_retry(px, 10000);
    /* until skiff's connect to QEMU is through, its hub has nowhere to send: try again a while */
    ok = false;
    for (int i = 0; x >= 0 && i < 30 && !ok; i++)
        ok = put_frame(x, 0xb0, 1200) && get_frame_within(b, 0xb0, 1200, 300);
    CHECK(ok, "the skiff program relays a frame to QEMU, which passes it on whole");
    ok = x >= 0 && put_frame(b, 0xb1, 600) && get_frame(x, 0xb1, 600);
    CHECK(ok, "and one from QEMU comes back through skiff whole");
    if (x >= 0)
        close(x);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* QEMU in a multicast group with skiff, relaying the group to a TCP socket of this test's */
static void qemu_mcast(void)
{
    int pm = free_port(SOCK_DGRAM), pd = free_port(SOCK_STREAM), d;
    char args[512], spec[128];
    struct test_nic *n;
    bool seen = false;
    pid_t q;

    snprintf(args, sizeof(args), "-netdev socket,id=m,mcast=230.0.0.2:%d,localaddr=127.0.0.1 "
             "-netdev socket,id=d,listen=127.0.0.1:%d -netdev hubport,id=hm,hubid=1,netdev=m "
             "-netdev hubport,id=hd,hubid=1,netdev=d", pm, pd);
    q = qemu_start(args);
    d = tcp_connect_retry(pd, 10000);
    snprintf(spec, sizeof(spec), "socket,id=s0,mcast=230.0.0.2:%d,localaddr=127.0.0.1", pm);
    n = nic_on(spec);
    settle(100);
    CHECK(d >= 0 && n && nic_send(n, 0xc0, 800, NULL) == 800 && get_frame(d, 0xc0, 800),
          "a frame skiff sends to a multicast group reaches QEMU, a member of it");
    put_frame(d, 0xc1, 900);
    wait_got(n, 2);
    settle(100);
    for (int i = 0; n && i < n->got && i < NIC_FRAMES; i++)
        seen |= nic_first(n, i) == 0xc1 && n->len[i] == 900 && nic_intact(n, i);
    CHECK(seen, "and one QEMU sends to the group reaches skiff's NIC");
    teardown();
    if (d >= 0)
        close(d);
    qemu_stop(q);
}

/*
 * QEMU relays between two of its socket netdevs through a hub of its own: what skiff's backend
 * sends it must parse, and what it sends skiff's backend must parse; this test reads and writes
 * QEMU's other side.
 */
static void test_qemu(bool ns)
{
    int pa = free_port(SOCK_STREAM), pb = free_port(SOCK_STREAM);
    int uq = free_port(SOCK_DGRAM), us = free_port(SOCK_DGRAM), pc = free_port(SOCK_STREAM);
    char args[512], spec[128];
    struct test_nic *n;
    pid_t q;
    int b, c;
    bool all;

    if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0) {
        tap_skip("Debian's qemu-system-x86 is not installed (scripts/install-deps)", "QEMU as the peer");
        return;
    }
    snprintf(args, sizeof(args),
             "-netdev socket,id=a,listen=127.0.0.1:%d -netdev socket,id=b,listen=127.0.0.1:%d "
             "-netdev hubport,id=ha,hubid=1,netdev=a -netdev hubport,id=hb,hubid=1,netdev=b "
             "-netdev socket,id=u,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d -netdev socket,id=c,listen=127.0.0.1:%d "
             "-netdev hubport,id=hu,hubid=2,netdev=u -netdev hubport,id=hc,hubid=2,netdev=c",
             pa, pb, us, uq, pc);
    q = qemu_start(args);
    b = tcp_connect_retry(pb, 10000);
    if (!CHECK(b >= 0, "QEMU relays between its socket netdevs (hub 1: TCP a and b; hub 2: UDP u and TCP c)")) {
        qemu_stop(q);
        return;
    }
    snprintf(spec, sizeof(spec), "socket,id=s0,connect=127.0.0.1:%d", pa);
    n = nic_on(spec);
    settle(200);
    all = n != NULL;
    for (int i = 0; all && i < 3; i++) {
        static const size_t lens[] = { 60, 1514, 9000 };

        all = nic_send(n, 0x80 + i, lens[i], NULL) == (ssize_t)lens[i] && get_frame(b, 0x80 + i, lens[i]);
    }
    CHECK(all, "frames of 60, 1514 and 9000 bytes from skiff's TCP framing come out of QEMU's side whole: QEMU parsed them");
    put_frame(b, 0x90, 1000);
    put_frame(b, 0x91, 64);
    CHECK(n && wait_got(n, 2) && n->len[0] == 1000 && nic_intact(n, 0) && nic_first(n, 1) == 0x91 && n->len[1] == 64,
          "frames QEMU frames reach skiff's NIC whole and in order: skiff parsed QEMU's framing");
    teardown();

    c = tcp_connect_retry(pc, 3000);
    snprintf(spec, sizeof(spec), "socket,id=s1,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d", uq, us);
    n = nic_on(spec);
    settle(100);
    CHECK(n && nic_send(n, 0xa0, 1400, NULL) == 1400 && get_frame(c, 0xa0, 1400),
          "a frame from skiff's udp= is taken by QEMU's udp= as a frame");
    put_frame(c, 0xa1, 700);
    CHECK(n && wait_got(n, 1) && n->len[0] == 700 && nic_intact(n, 0), "and one from QEMU's udp= reaches skiff's NIC");
    teardown();
    skiff_process_to_qemu(pa, b);
    close(b);
    close(c);
    qemu_stop(q);
    if (ns)
        qemu_mcast();
    else
        tap_skip("needs a network namespace of its own (root)", "skiff and QEMU in one multicast group");
}

/* A network namespace of this process's own, its loopback up and able to carry multicast */
static bool own_netns(void)
{
    struct ifreq ifr = { 0 };
    int fd;

    if (getuid() != 0 || unshare(CLONE_NEWNET) < 0)
        return false;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_MULTICAST;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

int main(void)
{
    bool ns = own_netns();

    if (!ns)
        tap_note("no network namespace of our own (not root): TCP and UDP on this host's loopback only");
    signal(SIGPIPE, SIG_IGN);
    loop_init();
    devlock_lock();
    machine_init_requests();
    test_listen();
    test_connect();
    test_udp_fd();
    test_refusals();
    test_mcast(ns);
    test_qemu(ns);
    machine_cleanup_requests();
    loop_cleanup();
    devlock_unlock();
    return tap_done();
}
