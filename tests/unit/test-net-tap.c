/* test-net-tap.c: -netdev tap through the core with a fake NIC, in a network namespace of the test's own: frames both ways through a real tap device, back-pressure (a full NIC, a full kernel), script= and downscript=, fd=, the vnet header and offloads reaching the kernel, queues=, and the refusals */
#include "hw/core/device.h"
#include "hw/core/machine.h"
#include "net/net.h"
#include "util/iov.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

/* budget: 60 */

#define ETHERTYPE_TEST 0x88b5   /* IEEE's local experimental ethertype: no stack takes it */

/* ---- the fake NIC (tests/unit/test-nic.h) ---- */

#include "tests/unit/test-nic.h"
#include "tests/unit/test-netns.h"

static void teardown(void)
{
    device_destroy_all();
    net_cleanup();
}

/* ---- the monitor's view ---- */

static char *info(void)
{
    static char buf[4096];

    net_info(buf, sizeof(buf));
    return buf;
}

/* ---- the host's side of the tap ---- */

/* A test frame: broadcast, ETHERTYPE_TEST, `len` bytes in all, each payload byte `b` */
static void frame_make(uint8_t *buf, size_t len, uint8_t b)
{
    static const uint8_t src[6] = { 0x02, 0, 0, 0, 0, 0x42 };

    memset(buf, 0xff, 6);
    memcpy(buf + 6, src, 6);
    stw_be(buf + 12, ETHERTYPE_TEST);
    memset(buf + 14, b, len - 14);
}

/* buf holds `avail` bytes of a frame of `len`: is it a test frame of want_len bytes of b? */
static bool frame_part_is(const uint8_t *buf, size_t avail, size_t len, size_t want_len, uint8_t b)
{
    if (len != want_len || avail < 14 || lduw_be(buf + 12) != ETHERTYPE_TEST)
        return false;
    for (size_t i = 14; i < MIN(len, avail); i++)
        if (buf[i] != b)
            return false;
    return true;
}

static bool frame_is(const uint8_t *buf, size_t len, size_t want_len, uint8_t b)
{
    return frame_part_is(buf, len, len, want_len, b);
}

static bool inject(int pfd, uint8_t b, size_t len)
{
    uint8_t buf[2000];

    frame_make(buf, len, b);
    return send(pfd, buf, len, 0) == (ssize_t)len;
}

/* The next test frame the kernel got from the tap, within ms, running skiff's loop */
static ssize_t host_recv(int pfd, uint8_t *buf, size_t size, int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;

    while (clock_monotonic_ns() < end) {
        struct sockaddr_ll from;
        socklen_t l = sizeof(from);
        ssize_t n;

        loop_iterate(false);
        n = recvfrom(pfd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &l);
        if (n < 0) {
            usleep(500);
            continue;
        }
        /* what we sent out of the interface ourselves is seen too: only what came in counts */
        if (from.sll_pkttype != PACKET_OUTGOING && n >= 14 && lduw_be(buf + 12) == ETHERTYPE_TEST)
            return n;
    }
    return -1;
}

static ssize_t nic_send(struct test_nic *n, uint8_t b, size_t len, net_sent_fn *cb)
{
    uint8_t buf[2000];

    frame_make(buf, len, b);
    return net_send_buf(&n->nc, buf, len, cb);
}

/* The frame the NIC got at i is a test frame of that length and byte (after hdr bytes of header) */
static bool nic_frame_is(struct test_nic *n, int i, size_t hdr, size_t len, uint8_t b)
{
    return i < n->got && n->len[i] == hdr + len && n->len[i] >= hdr && frame_part_is(n->frame[i] + hdr, n->len[i] - hdr, len, len, b);
}

/* The tap device's flags as the kernel shows them (IFF_TAP, IFF_VNET_HDR, IFF_MULTI_QUEUE...) */
static long tun_flags(const char *name)
{
    char path[128], buf[32] = "";
    int fd;

    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    if (read(fd, buf, sizeof(buf) - 1) <= 0)
        buf[0] = '\0';
    close(fd);
    return buf[0] ? strtol(buf, NULL, 16) : -1;
}

/* An ethtool value of the interface (ETHTOOL_GTXCSUM, ETHTOOL_GTSO ...), -1 when it cannot be read */
static int ethtool_get(const char *name, uint32_t cmd)
{
    struct ethtool_value ev = { .cmd = cmd };
    struct ifreq ifr = { 0 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_data = (void *)&ev;
    r = ioctl(fd, SIOCETHTOOL, &ifr);
    close(fd);
    return r < 0 ? -1 : (int)ev.data;
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        tap_note("'%s' failed", cmd);
}

/* ---- ifname=: frames both ways, back-pressure ---- */

static void test_frames(void)
{
    struct test_nic *n = nic_on("tap,id=t0,ifname=sktap0,script=no,downscript=no,vnet_hdr=off");
    uint8_t buf[2000];
    ssize_t len;
    int pfd;

    if (!CHECK(n != NULL, "-netdev tap,ifname=sktap0,script=no,downscript=no makes the device"))
        return;
    CHECK(if_nametoindex("sktap0") && strstr(info(), " \\ t0: index=0,type=tap,ifname=sktap0,script=no,downscript=no\n"),
          "the host has sktap0; info network says \"ifname=sktap0,script=no,downscript=no\" as QEMU's");
    CHECK(tun_flags("sktap0") >= 0 && (tun_flags("sktap0") & (IFF_TAP | IFF_VNET_HDR)) == IFF_TAP,
          "vnet_hdr=off: a tap without IFF_VNET_HDR (tun_flags %#lx)", tun_flags("sktap0"));
    if_set_up("sktap0");
    pfd = packet_on("sktap0");

    CHECK(nic_send(n, 0x11, 1000, nic_sent) == 1000 && (len = host_recv(pfd, buf, sizeof(buf), 3000)) > 0 &&
          frame_is(buf, len, 1000, 0x11), "a frame the NIC sends arrives on the host's sktap0 whole");
    CHECK(inject(pfd, 0x22, 600) && wait_got(n, 1) && nic_frame_is(n, 0, 0, 600, 0x22) && !n->flags[0],
          "a frame sent out of the host's sktap0 reaches the NIC whole, without a header");

    /* the NIC cannot take frames: one waits at it, the rest in the kernel */
    n->refuse = true;
    for (int i = 0; i < 40; i++)
        inject(pfd, 0x30 + i, 100 + i);
    settle(200);
    CHECK(n->got == 1 && n->nc.queue_len == 1,
          "while the NIC cannot take frames, one waits at it and the backend reads no further (%u queued)",
          n->nc.queue_len);
    n->refuse = false;
    net_client_flush(&n->nc);
    {
        bool order = wait_got(n, 41);

        for (int i = 0; order && i < 40; i++)
            order = nic_frame_is(n, 1 + i, 0, 100 + i, 0x30 + i);
        CHECK(order && n->got == 41, "once the NIC flushes, all 40 arrive, in order (%d)", n->got - 1);
    }
    close(pfd);
    teardown();
    CHECK(!if_nametoindex("sktap0"), "when skiff is done, the device it made is gone");
}

/* Lines written to stderr while fn runs */
static int stderr_lines(void (*fn)(void *), void *arg)
{
    char buf[8192];
    int p[2], saved = dup(2), lines = 0;
    ssize_t n;

    if (pipe2(p, O_NONBLOCK) < 0)
        return -1;
    fflush(stderr);
    dup2(p[1], 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    while ((n = read(p[0], buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(p[0]);
    return lines;
}

static void send_five(void *arg)
{
    for (int i = 0; i < 5; i++)
        nic_send(arg, 0x60 + i, 200, NULL);
}

/* The host has not brought the device up: the kernel refuses each frame (EIO) */
static void test_host_down(void)
{
    struct test_nic *n = nic_on("tap,id=t0,ifname=sktap12,script=no,downscript=no");
    uint8_t buf[2000];
    ssize_t len;
    int lines, pfd;

    if (!n)
        return;
    lines = stderr_lines(send_five, n);
    CHECK(lines == 1 && n->nc.peer->rx_dropped == 5,
          "5 frames to a tap that is down on the host: dropped and counted (%" PRIu64 "), and one line says so, not "
          "one a frame (%d)", n->nc.peer->rx_dropped, lines);
    if_set_up("sktap12");
    pfd = packet_on("sktap12");
    CHECK(nic_send(n, 0x66, 300, NULL) == 300 && (len = host_recv(pfd, buf, sizeof(buf), 3000)) > 0 &&
          frame_is(buf, len, 300, 0x66), "once it is up, frames go through");
    close(pfd);
    teardown();
}

/*
 * The kernel's side cannot take a frame (EAGAIN). The tap is a bridge port, and its frames go to
 * a fixed address behind another port whose queue (tbf) is slow: the kernel holds them, charged
 * to the tap's send buffer (sndbuf=16k), until the queue sends them. Each frame is seen at the
 * far end of that port's veth pair.
 */
static void test_kernel_full(void)
{
    static const uint8_t far[6] = { 0x02, 0, 0, 0, 0, 0x99 };
    struct test_nic *n;
    int sent = 0, zero_at = -1, pfd, seen = 0;
    uint8_t buf[2000];
    bool order = true;

    if (system("ip link add skbr0 type bridge && ip link add skv0 type veth peer name skv1 && "
               "ip link set skv0 master skbr0 && ip link set skbr0 up && ip link set skv0 up && ip link set skv1 up && "
               "bridge fdb add 02:00:00:00:00:99 dev skv0 master static && "
               "tc qdisc add dev skv0 root tbf rate 8kbit burst 1600 limit 10000000") != 0) {
        tap_skip("no bridge, veth or tbf in this kernel", "a full kernel queue");
        sh("ip link del skbr0 2>/dev/null; ip link del skv0 2>/dev/null");
        return;
    }
    n = nic_on("tap,id=t0,ifname=sktap1,script=no,downscript=no,sndbuf=16k");
    if (!n)
        return;
    sh("ip link set sktap1 master skbr0 && ip link set sktap1 up");
    pfd = packet_on("skv1");
    settle(50);
    for (int i = 0; i < 200 && zero_at < 0; i++) {
        ssize_t r;

        frame_make(buf, 1000, (uint8_t)i);
        memcpy(buf, far, 6);
        r = net_send_buf(&n->nc, buf, 1000, nic_sent);
        sent++;
        if (r == 0)
            zero_at = i;
    }
    CHECK(zero_at >= 0 && n->sent == 0,
          "a tap whose frames the kernel cannot take yet (sndbuf=16k, a slow bridge port): the NIC's send gets 0 "
          "(after %d frames)", sent);
    settle(100);
    CHECK(n->sent == 0 && n->nc.peer->queue_len == 1, "the frame waits in skiff while the kernel has no room");
    sh("tc qdisc change dev skv0 root tbf rate 1gbit burst 1000000 limit 10000000");
    for (int64_t end = clock_monotonic_ns() + 5000000000LL; seen < sent && clock_monotonic_ns() < end;) {
        ssize_t len = host_recv(pfd, buf, sizeof(buf), 100);

        if (len > 0)
            order &= frame_is(buf, len, 1000, (uint8_t)seen++);
    }
    CHECK(seen == sent && order && n->sent == 1,
          "once the kernel has room again (EPOLLOUT), the held frame is written after the others, and the NIC "
          "hears it went (%d of %d seen at the far end)", seen, sent);
    close(pfd);
    teardown();
    sh("ip link del skbr0; ip link del skv0");
}

/* ---- script=, downscript= and the default name ---- */

static char *file_text(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY);
    ssize_t r;

    buf[0] = '\0';
    if (fd < 0)
        return buf;
    r = read(fd, buf, sizeof(buf) - 1);
    buf[r > 0 ? r : 0] = '\0';
    close(fd);
    return buf;
}

static void write_script(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");

    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
}

static void test_scripts(const char *dir)
{
    char up[256], down[256], bad[256], spec[1024], out[256], *err;
    struct test_nic *n;
    int marker;

    snprintf(up, sizeof(up), "%s/ifup", dir);
    snprintf(down, sizeof(down), "%s/ifdown", dir);
    snprintf(bad, sizeof(bad), "%s/ifbad", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    {
        char body[512];

        snprintf(body, sizeof(body), "echo \"up $1 $(cat /sys/class/net/$1/tun_flags)$(test -e /proc/$$/fd/1500 && "
                 "echo ' fd 1500 open')\" >> %s", out);
        write_script(up, body);
        snprintf(body, sizeof(body), "echo \"down $1 $(test -e /sys/class/net/$1 && echo there)\" >> %s", out);
        write_script(down, body);
        write_script(bad, "exit 3");
    }
    snprintf(spec, sizeof(spec), "tap,id=t1,script=%s,downscript=%s", up, down);
    /* a descriptor of skiff's far up: the script must not have it */
    marker = dup2(open("/dev/null", O_RDONLY), 1500);
    n = nic_on(spec);
    CHECK(n && strstr(file_text(out), "up tap0 0x") && !strstr(file_text(out), "down"),
          "without ifname= skiff makes tap0, and script= runs with its name while it exists: \"%s\"", file_text(out));
    CHECK(marker == 1500 && !strstr(file_text(out), "fd 1500 open"),
          "the script has none of skiff's descriptors, not even fd 1500: \"%s\"", file_text(out));
    close(marker);
    {
        char want[600];

        snprintf(want, sizeof(want), "t1: index=0,type=tap,ifname=tap0,script=%s,downscript=%s\n", up, down);
        CHECK(strstr(info(), want), "info network names the scripts, as QEMU's");
    }
    teardown();
    CHECK(strstr(file_text(out), "down tap0 there"), "at exit downscript= runs with the name, before the device goes: \"%s\"",
          file_text(out));

    snprintf(spec, sizeof(spec), "tap,id=t2,ifname=sktap3,script=%s,downscript=no", bad);
    err = refusal(spec);
    CHECK(err && strstr(err, "network script") && strstr(err, "failed with status 3") && !if_nametoindex("sktap3"),
          "a script that fails: \"%s\", and the device is gone again", err ? err : "taken");
    free(err);
    err = refusal("tap,id=t2,ifname=sktap3,script=/nonexistent/ifup");
    CHECK(err && strstr(err, "cannot run network script /nonexistent/ifup: No such file or directory"),
          "a script that is not there: \"%s\"", err ? err : "taken");
    free(err);
}

/* ---- fd= ---- */

static int tun_open(const char *name, short flags)
{
    struct ifreq ifr = { 0 };
    int fd = open("/dev/net/tun", O_RDWR);

    ifr.ifr_flags = flags;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void test_fd(void)
{
    int fd = tun_open("sktap4", IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), pfd;
    char spec[64], want[64], *err;
    uint8_t buf[2000];
    struct test_nic *n;
    ssize_t len;

    snprintf(spec, sizeof(spec), "tap,id=t4,fd=%d", fd);
    n = nic_on(spec);
    snprintf(want, sizeof(want), "t4: index=0,type=tap,fd=%d\n", fd);
    if (!CHECK(fd >= 0 && n && strstr(info(), want), "fd= of a tap the caller opened (with IFF_VNET_HDR): info network says \"fd=%d\"", fd))
        return;
    if_set_up("sktap4");
    pfd = packet_on("sktap4");
    CHECK(n->nc.peer->ops->has_vnet_hdr(n->nc.peer), "the backend sees the header the tap was opened with");
    CHECK(nic_send(n, 0x44, 700, NULL) == 700 && (len = host_recv(pfd, buf, sizeof(buf), 3000)) > 0 && frame_is(buf, len, 700, 0x44),
          "a NIC that does not speak vnet headers: its frame gets a zero header the kernel takes off");
    CHECK(inject(pfd, 0x45, 300) && wait_got(n, 1) && nic_frame_is(n, 0, 0, 300, 0x45) && !n->flags[0],
          "and the kernel's header is taken off frames for it");
    close(pfd);
    teardown();
    CHECK(fcntl(fd, F_GETFD) < 0 && !if_nametoindex("sktap4"), "at exit skiff closes the fd it was given, as QEMU's");

    fd = tun_open("sktap4", IFF_TAP | IFF_NO_PI);
    snprintf(spec, sizeof(spec), "tap,id=t4,fd=%d,script=no", fd);
    err = refusal(spec);
    CHECK(err && strstr(err, "invalid with fd="), "fd= with script=: \"%s\"", err ? err : "taken");
    free(err);
    close(fd);
    fd = open("/dev/null", O_RDWR);
    snprintf(spec, sizeof(spec), "tap,id=t4,fd=%d", fd);
    err = refusal(spec);
    CHECK(err && strstr(err, "not a tap device") && fcntl(fd, F_GETFD) >= 0,
          "fd= of a file that is no tap: \"%s\", and the caller's fd stays open", err ? err : "taken");
    free(err);
    close(fd);
}

/* fds=: the queues of a multi-queue tap the caller opened */
static void test_fds(void)
{
    short mq = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_VNET_HDR;
    int a = tun_open("sktap10", mq), b = tun_open("sktap10", mq), c, pfd;
    char spec[64], want[64], *err;
    uint8_t buf[2000], frame[14 + 20 + 8 + 32];
    struct test_nic *n;
    ssize_t len;

    snprintf(spec, sizeof(spec), "tap,id=t10,fds=%d:%d", a, b);
    n = nic_on(spec);
    snprintf(want, sizeof(want), "t10: index=0,type=tap,fds=%d:%d\n", a, b);
    if (!CHECK(a >= 0 && b >= 0 && n && strstr(info(), want), "fds=%d:%d of two queues the caller opened: info network says "
               "\"fds=%d:%d\"", a, b, a, b))
        return;
    if_set_up("sktap10");
    pfd = packet_on("sktap10");
    /* frames of many flows, which the kernel spreads over both queues */
    for (int i = 0; i < 32; i++) {
        memset(frame, 0, sizeof(frame));
        memset(frame, 0xff, 6);
        frame[6] = 2;
        stw_be(frame + 12, 0x0800);
        frame[14] = 0x45;
        stw_be(frame + 16, sizeof(frame) - 14);
        frame[22] = 64;
        frame[23] = 17;
        stl_be(frame + 26, 0x0a000001);
        stl_be(frame + 30, 0x0a000002 + i);
        stw_be(frame + 34, 1000 + i * 7);
        stw_be(frame + 36, 2000 + i);
        stw_be(frame + 38, 8 + 32);
        send(pfd, frame, sizeof(frame), 0);
    }
    wait_got(n, 32);
    CHECK(n->got == 32, "frames of 32 flows over both queues all reach the NIC (%d)", n->got);
    CHECK(nic_send(n, 0x46, 300, NULL) == 300 && (len = host_recv(pfd, buf, sizeof(buf), 3000)) > 0 &&
          frame_is(buf, len, 300, 0x46), "and the NIC's frame reaches the host");
    close(pfd);
    teardown();
    CHECK(fcntl(a, F_GETFD) < 0 && fcntl(b, F_GETFD) < 0, "at exit skiff closes both fds it was given");

    a = tun_open("sktap10", mq);
    c = tun_open("sktap11", IFF_TAP | IFF_NO_PI);
    snprintf(spec, sizeof(spec), "tap,id=t10,fds=%d:%d", a, c);
    err = refusal(spec);
    CHECK(err && strstr(err, "vnet_hdr not consistent across given tap fds") && fcntl(a, F_GETFD) >= 0 &&
          fcntl(c, F_GETFD) >= 0, "fds= of taps with and without IFF_VNET_HDR: \"%s\", and both stay the caller's",
          err ? err : "taken");
    free(err);
    snprintf(spec, sizeof(spec), "tap,id=t10,fds=%d:%d", a, a);
    err = refusal(spec);
    CHECK(err && strstr(err, "is given twice") && fcntl(a, F_GETFD) >= 0, "the same fd twice: \"%s\"", err ? err : "taken");
    free(err);
    close(a);
    close(c);
}

/* ---- the vnet header and offloads ---- */

static void test_vnet_hdr(void)
{
    struct test_nic *n = nic_on("tap,id=t5,ifname=sktap5,script=no,downscript=no");
    struct net_client *be;
    uint8_t buf[2000], hdr_frame[12 + 500];
    ssize_t len;
    int pfd;

    if (!CHECK(n != NULL, "-netdev tap without vnet_hdr="))
        return;
    be = n->nc.peer;
    CHECK((tun_flags("sktap5") & IFF_VNET_HDR) && be->ops->has_vnet_hdr(be) && be->vnet_hdr_len == 10,
          "by default the tap has IFF_VNET_HDR, as QEMU's where the kernel offers it (tun_flags %#lx), of 10 bytes",
          tun_flags("sktap5"));
    if_set_up("sktap5");
    pfd = packet_on("sktap5");
    CHECK(ethtool_get("sktap5", ETHTOOL_GTXCSUM) == 0 && ethtool_get("sktap5", ETHTOOL_GTSO) == 0,
          "before a NIC asks, the device offloads nothing (tx-checksumming and TSO off)");
    CHECK(be->ops->set_vnet_hdr_len(be, 12) == 0 && be->vnet_hdr_len == 12 &&
          be->ops->set_offload(be, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0,
          "set_vnet_hdr_len(12) and set_offload(CSUM|TSO4|TSO6) reach the kernel (TUNSETVNETHDRSZ, TUNSETOFFLOAD)");
    CHECK(ethtool_get("sktap5", ETHTOOL_GTXCSUM) == 1 && ethtool_get("sktap5", ETHTOOL_GTSO) == 1,
          "the device now offloads checksums and TSO to the NIC (ethtool reads them back)");
    CHECK(inject(pfd, 0x55, 400) && wait_got(n, 1) && n->flags[0] == NET_FRAME_VNET_HDR &&
          nic_frame_is(n, 0, 12, 400, 0x55), "a frame from the host now reaches the NIC after a 12-byte header, flagged");
    memset(hdr_frame, 0, 12);
    frame_make(hdr_frame + 12, 500, 0x56);
    {
        struct iovec iov = { hdr_frame, sizeof(hdr_frame) };

        CHECK(net_send(&n->nc, &iov, 1, NET_FRAME_VNET_HDR, NULL) == (ssize_t)sizeof(hdr_frame) &&
              (len = host_recv(pfd, buf, sizeof(buf), 3000)) > 0 && frame_is(buf, len, 500, 0x56),
              "a NIC's frame after its 12-byte header reaches the host as the frame alone");
    }
    CHECK(be->ops->set_offload(be, 0) == 0 && ethtool_get("sktap5", ETHTOOL_GTXCSUM) == 0 &&
          ethtool_get("sktap5", ETHTOOL_GTSO) == 0, "set_offload(0) turns them off again");
    CHECK(be->ops->set_vnet_hdr_len(be, 11) == -EINVAL, "a header length other than 10 or 12 is refused");
    close(pfd);
    teardown();

    n = nic_on("tap,id=t6,ifname=sktap6,script=no,downscript=no,vnet_hdr=off");
    be = n ? n->nc.peer : NULL;
    CHECK(be && !be->ops->has_vnet_hdr(be) && be->ops->set_offload(be, TUN_F_CSUM) == -ENOTSUP &&
          be->ops->set_vnet_hdr_len(be, 12) == -ENOTSUP, "vnet_hdr=off: no header, and a NIC's offloads are refused");
    teardown();
}

/* ---- queues= ---- */

static void test_queues(void)
{
    struct test_nic *n = nic_on("tap,id=t7,ifname=sktap7,script=no,downscript=no,queues=4");
    uint8_t frame[14 + 20 + 8 + 32];
    int pfd, flows = 64;

    if (!CHECK(n && (tun_flags("sktap7") & IFF_MULTI_QUEUE), "queues=4: a multi-queue tap (tun_flags %#lx)",
               tun_flags("sktap7")))
        return;
    if_set_up("sktap7");
    pfd = packet_on("sktap7");
    /* IPv4/UDP frames of many flows: the kernel spreads them over the queues by their hash */
    for (int i = 0; i < flows; i++) {
        memset(frame, 0, sizeof(frame));
        memset(frame, 0xff, 6);
        frame[6] = 2;
        stw_be(frame + 12, 0x0800);
        frame[14] = 0x45;
        stw_be(frame + 16, sizeof(frame) - 14);
        frame[22] = 64;
        frame[23] = 17;
        stl_be(frame + 26, 0x0a000001);
        stl_be(frame + 30, 0x0a000002 + i);
        stw_be(frame + 34, 1000 + i * 7);
        stw_be(frame + 36, 2000 + i);
        stw_be(frame + 38, 8 + 32);
        send(pfd, frame, sizeof(frame), 0);
    }
    wait_got(n, flows);
    settle(100);
    CHECK(n->got == flows, "frames of %d flows, which the kernel spreads over the 4 queues, all reach the NIC (%d)", flows,
          n->got);
    close(pfd);
    teardown();
}

/* ---- refusals ---- */

/* In a child: drop every capability, then try to make a tap; its message comes back through the pipe */
static char *without_caps(const char *spec)
{
    int p[2];
    pid_t pid;
    static char msg[512];
    ssize_t r;

    if (pipe(p) < 0)
        return NULL;
    pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
        struct __user_cap_data_struct d[2] = { { 0 } };
        char *err = NULL;

        close(p[0]);
        if (syscall(SYS_capset, &h, d) < 0)
            _exit(2);
        if (netdev_add(spec, &err) == 0)
            _exit(1);
        if (write(p[1], err, strlen(err)) < 0)
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    r = read(p[0], msg, sizeof(msg) - 1);
    msg[r > 0 ? r : 0] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    return msg;
}

/* In a child with its own mount namespace where /dev/net is empty */
static char *without_tun(const char *spec)
{
    int p[2];
    pid_t pid;
    static char msg[512];
    ssize_t r;

    if (pipe(p) < 0)
        return NULL;
    pid = fork();
    if (pid == 0) {
        char *err = NULL;

        close(p[0]);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/dev/net", "tmpfs", 0, NULL) < 0)
            _exit(2);
        if (netdev_add(spec, &err) == 0)
            _exit(1);
        if (write(p[1], err, strlen(err)) < 0)
            _exit(2);
        _exit(0);
    }
    close(p[1]);
    r = read(p[0], msg, sizeof(msg) - 1);
    msg[r > 0 ? r : 0] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    return msg;
}

static void test_refusals(void)
{
    static const struct { const char *spec, *says; } bad[] = {
        { "tap,id=a,script=no,vhost=on", "skiff has no vhost-net" },
        { "tap,id=a,script=no,vhostforce=on", "skiff has no vhost-net" },
        { "tap,id=a,script=no,vnet_hdr=maybe", "vnet_hdr= is on or off" },
        { "tap,id=a,script=no,queues=0", "queues= is a number from 1 to 16" },
        { "tap,id=a,fds=3:4,script=no", "invalid with fds=" },
        { "tap,id=a,fds=3:4,queues=2", "invalid with fds=" },
        { "tap,id=a,fd=3,fds=3:4", "fd= and fds= cannot both be given" },
        { "tap,id=a,fds=::4", "fds=::4: give the numbers of open tap queues, N:M:..." },
        { "tap,id=a,script=no,helper=/usr/lib/qemu/qemu-bridge-helper", "skiff has no helper=" },
        { "tap,id=a,fd=3,ifname=x", "invalid with fd=" },
        { "tap,id=a,fd=3,vnet_hdr=on", "invalid with fd=" },
        { "tap,id=a,ifname=abcdefghijklmnopq", "an interface name is 1 to 15 characters" },
        { "tap,id=a,fd=banana", "give the number of an open tap device" },
        { "tap,id=a,script=no,poll-us=5", "unknown parameter 'poll-us'" },
    };
    struct test_nic *n;
    char *err;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err = refusal(bad[i].spec);
        CHECK(err && strstr(err, bad[i].says) && !netdev_find("a"), "-netdev %s: \"%s\"", bad[i].spec, err ? err : "taken");
        free(err);
    }
    CHECK((n = nic_on("tap,id=t8,ifname=sktap8,script=no,downscript=no,vhost=off")) != NULL, "vhost=off is taken");
    err = refusal("tap,id=a,ifname=sktap8,script=no,downscript=no");
    CHECK(err && strstr(err, "tap device 'sktap8' is busy: another process has it open"), "a name in use: \"%s\"",
          err ? err : "taken");
    free(err);
    teardown();
    sh("ip tuntap add sktun0 mode tun");
    err = refusal("tap,id=a,ifname=sktun0,script=no,downscript=no");
    CHECK(err && strstr(err, "'sktun0' exists but is not a tap device that fits"), "a tun device's name: \"%s\"",
          err ? err : "taken");
    free(err);
    sh("ip link del sktun0");

    err = without_caps("tap,id=a,ifname=sktap9,script=no,downscript=no");
    CHECK(err && strstr(err, "cannot make or open tap device 'sktap9': Operation not permitted (it needs CAP_NET_ADMIN"),
          "without CAP_NET_ADMIN: \"%s\"", err ? err : "?");
    err = without_tun("tap,id=a,script=no,downscript=no");
    CHECK(err && strstr(err, "cannot open /dev/net/tun: No such file or directory (the host needs the tun module"),
          "without /dev/net/tun: \"%s\"", err ? err : "?");
}

/* A network namespace of this process's own (and a mount namespace, for its /sys), loopback up, IPv6 quiet */
int main(void)
{
    char *dir = tap_tmp_path("test-net-tap.XXXXXX");

    if (!own_netns() || access("/dev/net/tun", R_OK | W_OK) != 0) {
        tap_skip("needs root, a network namespace of its own and /dev/net/tun", "-netdev tap");
        return tap_done();
    }
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    machine_init_requests();
    test_frames();
    test_kernel_full();
    test_host_down();
    test_scripts(dir);
    test_fd();
    test_fds();
    test_vnet_hdr();
    test_queues();
    test_refusals();
    machine_cleanup_requests();
    loop_cleanup();
    devlock_unlock();
    {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        sh(cmd);
    }
    free(dir);
    return tap_done();
}
