/* test-net-slirp.c: -netdev user through the core with a fake NIC that plays the guest: the real libslirp answers ARP, DHCP (with net=, host=, dns=, dhcpstart=, hostname=, domainname=, bootfile=), TFTP (tftp=), IPv6 router solicitations, TCP through hostfwd= and out to the host (restrict=), guestfwd=cmd:, the monitor's hostfwd_add, hostfwd_remove and info usernet, and the refusals; only over loopback, in a network namespace of its own where it can make one */
#include "hw/core/device.h"
#include "hw/core/machine.h"
#include "net/net.h"
#include "net/slirp.h"
#include "util/iov.h"
#include "util/main-loop.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* budget: 60 */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
#define GUEST_IP 0x0a00020f     /* 10.0.2.15, what DHCP gives first */

/* ---- the fake NIC (tests/unit/test-nic.h) ---- */

#include "tests/unit/test-nic.h"

static const uint8_t *l4_of(const uint8_t *f, size_t len, uint8_t proto);

/* TEST_NET_SLIRP_DUMP=1: what each NIC got, on stderr, when a check needs explaining */
static void dump(struct test_nic *n)
{
    if (!getenv("TEST_NET_SLIRP_DUMP"))
        return;
    for (int i = 0; i < n->got; i++) {
        const uint8_t *t = l4_of(n->frame[i], n->len[i], 6);
        fprintf(stderr, "frame %d len %zu type %04x", i, n->len[i], lduw_be(n->frame[i] + 12));
        if (t)
            fprintf(stderr, " tcp %u->%u seq %u ack %u flags %02x", lduw_be(t), lduw_be(t + 2), ldl_be(t + 4), ldl_be(t + 8), t[13]);
        fprintf(stderr, "\n");
    }
}

static void teardown(void)
{
    for (struct net_client *nc = net_clients(); nc; nc = nc->next)
        if (nc->kind == NET_CLIENT_NIC)
            dump(container_of(nc, struct test_nic, nc));
    device_destroy_all();
    net_cleanup();
}

/* ---- frames ---- */

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += lduw_be(p + i);
    if (len & 1)
        sum += p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
    return (uint16_t)~csum_add(sum, p, len);
}

/* An IPv4 frame from the guest: Ethernet to `dst_mac`, the IP header, then the L4 bytes given, checksums done */
static size_t ip_frame(uint8_t *f, const uint8_t *dst_mac, uint32_t src, uint32_t dst, uint8_t proto,
                       const uint8_t *l4, size_t l4len)
{
    uint8_t *ip = f + 14, *p = ip + 20;
    uint32_t pseudo;

    memcpy(f, dst_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    stw_be(f + 12, 0x0800);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    stw_be(ip + 2, 20 + l4len);
    stw_be(ip + 4, 0x1234);
    ip[8] = 64;
    ip[9] = proto;
    stl_be(ip + 12, src);
    stl_be(ip + 16, dst);
    stw_be(ip + 10, csum(0, ip, 20));
    memcpy(p, l4, l4len);
    pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4len;
    if (proto == 6) {
        stw_be(p + 16, 0);
        stw_be(p + 16, csum(pseudo, p, l4len));
    } else if (proto == 17) {
        stw_be(p + 6, 0);
        stw_be(p + 6, csum(pseudo, p, l4len) ?: 0xffff);
    }
    return 14 + 20 + l4len;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t slirp_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };   /* libslirp's for 10.0.2.2 */

static size_t udp_frame(uint8_t *f, const uint8_t *dst_mac, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                        const uint8_t *data, size_t len)
{
    uint8_t l4[1500];

    stw_be(l4, sport);
    stw_be(l4 + 2, dport);
    stw_be(l4 + 4, 8 + len);
    stw_be(l4 + 6, 0);
    memcpy(l4 + 8, data, len);
    return ip_frame(f, dst_mac, src, dst, 17, l4, 8 + len);
}

enum { TH_FIN = 1, TH_SYN = 2, TH_RST = 4, TH_PSH = 8, TH_ACK = 16 };

/* The window the guest's segments advertise */
static uint16_t tcp_window = 65535;

static size_t tcp_frame(uint8_t *f, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, const void *data, size_t len)
{
    uint8_t l4[1500] = { 0 };

    stw_be(l4, sport);
    stw_be(l4 + 2, dport);
    stl_be(l4 + 4, seq);
    stl_be(l4 + 8, ack);
    l4[12] = 5 << 4;
    l4[13] = flags;
    stw_be(l4 + 14, tcp_window);
    if (len)
        memcpy(l4 + 20, data, len);
    return ip_frame(f, slirp_mac, GUEST_IP, dst, 6, l4, 20 + len);
}

static ssize_t guest_send(struct test_nic *n, const uint8_t *f, size_t len)
{
    return net_send_buf(&n->nc, f, len, NULL);
}

/* What a frame the NIC got is, found from frame `from` on (the first that fits, within ms); its index or -1 */
typedef bool frame_pred(const uint8_t *f, size_t len, const void *arg);

static int wait_frame(struct test_nic *n, int from, frame_pred *pred, const void *arg, int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;

    for (;;) {
        for (int i = from; i < n->got; i++)
            if (pred(n->frame[i], n->len[i], arg))
                return i;
        if (clock_monotonic_ns() > end)
            return -1;
        loop_iterate(false);
        usleep(300);
    }
}

/* An IPv4 frame to the guest of protocol *arg; its L4 header at l4_of */
static const uint8_t *l4_of(const uint8_t *f, size_t len, uint8_t proto)
{
    if (len < 34 || lduw_be(f + 12) != 0x0800 || (f[14] >> 4) != 4 || f[23] != proto)
        return NULL;
    if (len < 14 + (size_t)(f[14] & 15) * 4 + 8)
        return NULL;
    return f + 14 + (f[14] & 15) * 4;
}

/* ---- ARP and DHCP ---- */

static bool is_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
    return len >= 42 && lduw_be(f + 12) == 0x0806 && lduw_be(f + 20) == 2 && ldl_be(f + 28) == *(const uint32_t *)arg;
}

static void arp_ask(struct test_nic *n, uint32_t ip)
{
    uint8_t f[60] = { 0 };

    memcpy(f, bcast, 6);
    memcpy(f + 6, guest_mac, 6);
    stw_be(f + 12, 0x0806);
    stw_be(f + 14, 1);
    stw_be(f + 16, 0x0800);
    f[18] = 6;
    f[19] = 4;
    stw_be(f + 20, 1);
    memcpy(f + 22, guest_mac, 6);
    stl_be(f + 28, GUEST_IP);
    stl_be(f + 38, ip);
    guest_send(n, f, sizeof(f));
}

struct dhcp_answer {
    uint8_t type;
    uint32_t yiaddr, server, router, dns, mask;
    char hostname[64], domain[64], file[129], tftp_server[64];
    uint8_t search[64];         /* option 119 as sent (RFC 3397's compressed names) */
    int search_len;
};

static bool is_dhcp(const uint8_t *f, size_t len, const void *arg)
{
    const uint8_t *u = l4_of(f, len, 17);

    return u && lduw_be(u) == 67 && lduw_be(u + 2) == 68 && ldl_be(u + 8 + 4) == *(const uint32_t *)arg;
}

static void dhcp_parse(const uint8_t *f, size_t len, struct dhcp_answer *a)
{
    const uint8_t *b = l4_of(f, len, 17) + 8, *end = f + len, *o = b + 240;

    memset(a, 0, sizeof(*a));
    a->yiaddr = ldl_be(b + 16);
    snprintf(a->file, sizeof(a->file), "%.*s", 128, (const char *)b + 108);
    while (o + 2 <= end && *o != 255) {
        uint8_t code = o[0], l = o[1];

        if (o + 2 + l > end)
            break;
        if (code == 53 && l >= 1)
            a->type = o[2];
        if (code == 54 && l >= 4)
            a->server = ldl_be(o + 2);
        if (code == 3 && l >= 4)
            a->router = ldl_be(o + 2);
        if (code == 6 && l >= 4)
            a->dns = ldl_be(o + 2);
        if (code == 1 && l >= 4)
            a->mask = ldl_be(o + 2);
        if (code == 12)
            snprintf(a->hostname, sizeof(a->hostname), "%.*s", l, (const char *)o + 2);
        if (code == 15)
            snprintf(a->domain, sizeof(a->domain), "%.*s", l, (const char *)o + 2);
        if (code == 66)
            snprintf(a->tftp_server, sizeof(a->tftp_server), "%.*s", l, (const char *)o + 2);
        if (code == 119 && l <= sizeof(a->search)) {
            memcpy(a->search, o + 2, l);
            a->search_len = l;
        }
        o += code ? 2 + l : 1;
    }
}

/* DHCPDISCOVER with transaction xid; the answer, or type 0 when none came */
static struct dhcp_answer dhcp_discover(struct test_nic *n, uint32_t xid)
{
    uint8_t b[300] = { 0 }, f[400];
    struct dhcp_answer a = { 0 };
    int i;

    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    stl_be(b + 4, xid);
    memcpy(b + 28, guest_mac, 6);
    stl_be(b + 236, 0x63825363);
    b[240] = 53;
    b[241] = 1;
    b[242] = 1;     /* DISCOVER */
    b[243] = 255;
    guest_send(n, f, udp_frame(f, bcast, 0, 0xffffffff, 68, 67, b, sizeof(b)));
    i = wait_frame(n, 0, is_dhcp, &xid, 2000);
    if (i >= 0)
        dhcp_parse(n->frame[i], n->len[i], &a);
    return a;
}

static void test_dhcp_arp(void)
{
    struct test_nic *n = nic_on("user,id=u0,hostname=guest1,domainname=example.test,bootfile=pxelinux.0,"
                                "dnssearch=a.test,dnssearch=b.test,tftp-server-name=boot.test");
    static const uint8_t search[] = "\1a\4test\0\1b\300\2";      /* a.test, then b. and a pointer to "test" */
    struct dhcp_answer a;
    uint32_t ip = 0x0a000202;
    char buf[512];
    int i;

    if (!CHECK(n != NULL, "-netdev user,id=u0 with a NIC on it"))
        return;
    net_info(buf, sizeof(buf));
    CHECK(strstr(buf, " \\ u0: index=0,type=user,net=10.0.2.0,restrict=off\n") != NULL,
          "info network says \"net=10.0.2.0,restrict=off\", as QEMU's");
    a = dhcp_discover(n, 0x11223344);
    CHECK(a.type == 2 && a.yiaddr == GUEST_IP && a.server == 0x0a000202 && a.router == 0x0a000202 &&
          a.dns == 0x0a000203 && a.mask == 0xffffff00,
          "a DHCPDISCOVER gets an OFFER of 10.0.2.15/24, router and server 10.0.2.2, DNS 10.0.2.3 (type %u, %08x)",
          a.type, a.yiaddr);
    CHECK(!strcmp(a.hostname, "guest1") && !strcmp(a.domain, "example.test") && !strcmp(a.file, "pxelinux.0"),
          "hostname=, domainname= and bootfile= are in it (\"%s\", \"%s\", \"%s\")", a.hostname, a.domain, a.file);
    CHECK(!strcmp(a.tftp_server, "boot.test") && a.search_len == (int)sizeof(search) - 1 &&
          !memcmp(a.search, search, sizeof(search) - 1),
          "and tftp-server-name= (option 66) and both dnssearch= domains (option 119, %d bytes)", a.search_len);
    arp_ask(n, ip);
    i = wait_frame(n, 0, is_arp_reply, &ip, 2000);
    CHECK(i >= 0 && !memcmp(n->frame[i] + 22, slirp_mac, 6) && !memcmp(n->frame[i], guest_mac, 6),
          "an ARP request for 10.0.2.2 is answered, with libslirp's 52:55:0a:00:02:02, to the asker");
    ip = 0x0a000203;
    arp_ask(n, ip);
    CHECK(wait_frame(n, 0, is_arp_reply, &ip, 2000) >= 0, "and one for the DNS address 10.0.2.3");
    teardown();

    n = nic_on("user,id=u0,net=192.168.76.0/24,host=192.168.76.1,dns=192.168.76.53,dhcpstart=192.168.76.100");
    a = n ? dhcp_discover(n, 0x5555) : a;
    CHECK(n && a.type == 2 && a.yiaddr == 0xc0a84c64 && a.server == 0xc0a84c01 && a.router == 0xc0a84c01 &&
          a.dns == 0xc0a84c35,
          "net=192.168.76.0/24,host=.1,dns=.53,dhcpstart=.100: the OFFER is 192.168.76.100, router .1, DNS .53 (%08x)",
          a.yiaddr);
    teardown();
}

/* ---- TFTP ---- */

static bool is_tftp_from_69(const uint8_t *f, size_t len, const void *arg)
{
    const uint8_t *u = l4_of(f, len, 17);

    return u && lduw_be(u) == 69 && lduw_be(u + 2) == *(const uint16_t *)arg;
}

static void test_tftp(const char *dir)
{
    char spec[512], path[512];
    uint8_t rrq[64], f[200];
    uint16_t port = 2001;
    struct test_nic *n;
    size_t l;
    int i, fd;

    snprintf(path, sizeof(path), "%s/hello.txt", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "skiff tftp\n", 11) != 11)
        tap_note("cannot write %s", path);
    close(fd);
    snprintf(spec, sizeof(spec), "user,id=u0,tftp=%s", dir);
    n = nic_on(spec);
    if (!CHECK(n != NULL, "-netdev user,tftp=DIR"))
        return;
    arp_ask(n, 0x0a000202);
    l = 0;
    stw_be(rrq, 1);
    l = 2 + sprintf((char *)rrq + 2, "hello.txt") + 1;
    l += sprintf((char *)rrq + l, "octet") + 1;
    guest_send(n, f, udp_frame(f, slirp_mac, GUEST_IP, 0x0a000202, port, 69, rrq, l));
    i = wait_frame(n, 0, is_tftp_from_69, &port, 2000);
    {
        const uint8_t *u = i >= 0 ? l4_of(n->frame[i], n->len[i], 17) : NULL;

        CHECK(u && lduw_be(u + 8) == 3 && lduw_be(u + 10) == 1 && lduw_be(u + 4) == 8 + 4 + 11 &&
              !memcmp(u + 12, "skiff tftp\n", 11),
              "a TFTP read request for hello.txt to 10.0.2.2 gets DATA block 1 with the file's 11 bytes");
    }
    port = 2002;
    l = 2 + sprintf((char *)rrq + 2, "../etc/passwd") + 1;
    l += sprintf((char *)rrq + l, "octet") + 1;
    guest_send(n, f, udp_frame(f, slirp_mac, GUEST_IP, 0x0a000202, port, 69, rrq, l));
    i = wait_frame(n, 0, is_tftp_from_69, &port, 2000);
    CHECK(i >= 0 && lduw_be(l4_of(n->frame[i], n->len[i], 17) + 8) == 5,
          "a request for ../etc/passwd gets a TFTP ERROR, not the file");
    teardown();
}

/* ---- IPv6 ---- */

static bool is_ra(const uint8_t *f, size_t len, const void *arg)
{
    return len >= 14 + 40 + 16 && lduw_be(f + 12) == 0x86dd && f[20] == 58 && f[54] == 134;
}

/* The prefix of the RA's prefix information option, or false */
static bool ra_prefix(const uint8_t *f, size_t len, struct in6_addr *prefix, uint8_t *plen)
{
    const uint8_t *o = f + 14 + 40 + 16;

    while (o + 8 <= f + len && o[1]) {
        if (o[0] == 3 && o[1] == 4 && o + 32 <= f + len) {
            *plen = o[2];
            memcpy(prefix, o + 16, 16);
            return true;
        }
        o += o[1] * 8;
    }
    return false;
}

static void router_solicit(struct test_nic *n)
{
    uint8_t f[14 + 40 + 16] = { 0 }, *ip = f + 14, *icmp = ip + 40;
    uint32_t sum = 58 + 16;

    f[0] = 0x33;
    f[1] = 0x33;
    f[5] = 2;
    memcpy(f + 6, guest_mac, 6);
    stw_be(f + 12, 0x86dd);
    ip[0] = 0x60;
    stw_be(ip + 4, 16);
    ip[6] = 58;
    ip[7] = 255;
    inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", ip + 8);
    inet_pton(AF_INET6, "ff02::2", ip + 24);
    icmp[0] = 133;
    /* source link-layer address option */
    icmp[8] = 1;
    icmp[9] = 1;
    memcpy(icmp + 10, guest_mac, 6);
    for (int i = 0; i < 32; i += 2)
        sum += lduw_be(ip + 8 + i);
    stw_be(icmp + 2, csum(sum, icmp, 16));
    guest_send(n, f, sizeof(f));
}

static void test_ipv6(void)
{
    struct test_nic *n = nic_on("user,id=u0");
    struct in6_addr p, want;
    uint8_t plen = 0;
    int i;

    if (!n)
        return;
    router_solicit(n);
    i = wait_frame(n, 0, is_ra, NULL, 3000);
    inet_pton(AF_INET6, "fec0::", &want);
    CHECK(i >= 0 && ra_prefix(n->frame[i], n->len[i], &p, &plen) && plen == 64 && !memcmp(&p, &want, 16),
          "IPv6 by default: a router solicitation gets an advertisement of QEMU's fec0::/64");
    teardown();
    n = nic_on("user,id=u0,ipv6-net=fd00:5:6::/48");
    if (n)
        router_solicit(n);
    i = n ? wait_frame(n, 0, is_ra, NULL, 3000) : -1;
    inet_pton(AF_INET6, "fd00:5:6::", &want);
    CHECK(i >= 0 && ra_prefix(n->frame[i], n->len[i], &p, &plen) && plen == 48 && !memcmp(&p, &want, 16),
          "ipv6-net=fd00:5:6::/48: the advertisement has that prefix");
    teardown();
    n = nic_on("user,id=u0,ipv6=off");
    if (n)
        router_solicit(n);
    CHECK(n && wait_frame(n, 0, is_ra, NULL, 300) < 0, "ipv6=off: no advertisement");
    teardown();
}

/* ---- TCP ---- */

struct tcp_want {
    uint16_t sport, dport;
    uint8_t flags;              /* all of these set */
};

static bool is_tcp(const uint8_t *f, size_t len, const void *arg)
{
    const struct tcp_want *w = arg;
    const uint8_t *t = l4_of(f, len, 6);

    return t && len >= (size_t)(t - f) + 20 && (!w->sport || lduw_be(t) == w->sport) &&
           (!w->dport || lduw_be(t + 2) == w->dport) && (t[13] & w->flags) == w->flags;
}

static const uint8_t *tcp_payload(const uint8_t *f, size_t len, size_t *plen)
{
    const uint8_t *t = l4_of(f, len, 6);
    size_t iplen = lduw_be(f + 16), hl = (f[14] & 15) * 4;

    *plen = iplen - hl - (t[12] >> 4) * 4;
    return t + (t[12] >> 4) * 4;
}

static int loopback_listener(int *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* A free loopback port: bound and closed again */
static int free_port(void)
{
    int port = 0, fd = loopback_listener(&port);

    close(fd);
    return port;
}

static int connect_loopback(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read what the host socket has, running the loop, until want bytes or ms */
static ssize_t host_read(int fd, char *buf, size_t want, int ms)
{
    int64_t end = clock_monotonic_ns() + ms * 1000000LL;
    size_t got = 0;

    while (got < want && clock_monotonic_ns() < end) {
        ssize_t r = read(fd, buf + got, want - got);

        if (r > 0)
            got += r;
        else if (r == 0)
            break;
        loop_iterate(false);
        usleep(300);
    }
    return got;
}

static char *usernet(void)
{
    static char buf[4096];
    char *t = net_slirp_usernet_info();

    snprintf(buf, sizeof(buf), "%s", t);
    free(t);
    return buf;
}

/* The FD column of the first line of info usernet that starts with PROTO ("TCP[", "UDP["), or -1 */
static int usernet_fd(const char *proto)
{
    char *u = strstr(usernet(), proto);

    return u && (u = strchr(u, ']')) ? atoi(u + 1) : -1;
}

static void test_hostfwd(void)
{
    int port = free_port(), port2 = free_port(), fd, i, r;
    char spec[256], rule[128], want[256], buf[64], *msg = NULL;
    struct tcp_want w = { 0, 22, TH_SYN };
    uint32_t their_seq, my_seq = 1000;
    struct test_nic *n;
    uint8_t f[200];
    size_t plen;
    const uint8_t *p;

    snprintf(spec, sizeof(spec), "user,id=u0,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=udp:127.0.0.1:%d-:53", port, port2);
    n = nic_on(spec);
    if (!CHECK(n != NULL, "two hostfwd= rules"))
        return;
    CHECK(strstr(usernet(), "Hub -1 (u0):\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\n") &&
          strstr(usernet(), "TCP[HOST_FORWARD]") && strstr(usernet(), "UDP[HOST_FORWARD]") &&
          strstr(usernet(), "10.0.2.15    22") && strstr(usernet(), "10.0.2.15    53"),
          "info usernet lists both rules under \"Hub -1 (u0):\", as QEMU's:\n%s", usernet());
    arp_ask(n, 0x0a000202);      /* libslirp learns the guest's MAC */
    fd = connect_loopback(port);
    i = wait_frame(n, 0, is_tcp, &w, 3000);
    CHECK(fd >= 0 && i >= 0 && ldl_be(n->frame[i] + 30) == GUEST_IP && !memcmp(n->frame[i], guest_mac, 6),
          "a connection to 127.0.0.1:%d on the host reaches the guest as a SYN to 10.0.2.15:22", port);
    if (i < 0) {
        close(fd);
        teardown();
        return;
    }
    p = l4_of(n->frame[i], n->len[i], 6);
    their_seq = ldl_be(p + 4);
    w = (struct tcp_want){ lduw_be(p), lduw_be(p + 2), TH_ACK };
    guest_send(n, f, tcp_frame(f, ldl_be(n->frame[i] + 26), 22, lduw_be(p), my_seq, their_seq + 1, TH_SYN | TH_ACK, NULL, 0));
    my_seq++;
    settle(50);
    if (write(fd, "ping", 4) != 4)
        tap_note("write failed");
    w.flags = TH_ACK;
    do
        i = wait_frame(n, i + 1, is_tcp, &w, 3000);
    while (i >= 0 && (tcp_payload(n->frame[i], n->len[i], &plen), !plen));
    p = i >= 0 ? tcp_payload(n->frame[i], n->len[i], &plen) : NULL;
    CHECK(p && plen == 4 && !memcmp(p, "ping", 4), "the host's \"ping\" reaches the guest over it");
    if (p) {
        const uint8_t *t = l4_of(n->frame[i], n->len[i], 6);

        guest_send(n, f, tcp_frame(f, ldl_be(n->frame[i] + 26), 22, lduw_be(t), my_seq, ldl_be(t + 4) + 4,
                                   TH_ACK | TH_PSH, "pong!", 5));
        CHECK(host_read(fd, buf, 5, 3000) == 5 && !memcmp(buf, "pong!", 5), "and the guest's \"pong!\" reaches the host");
    }
    close(fd);

    /* the UDP rule: a datagram to 127.0.0.1:port2 reaches the guest's port 53 */
    {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port2),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int ufd = socket(AF_INET, SOCK_DGRAM, 0), from = n->got, k = -1;

        sendto(ufd, "udp-hello", 9, 0, (struct sockaddr *)&to, sizeof(to));
        for (int64_t end = clock_monotonic_ns() + 3000000000LL; k < 0 && clock_monotonic_ns() < end;) {
            settle(5);
            for (int j = from; j < n->got && k < 0; j++) {
                const uint8_t *u = l4_of(n->frame[j], n->len[j], 17);

                if (u && lduw_be(u + 2) == 53 && ldl_be(n->frame[j] + 30) == GUEST_IP && lduw_be(u + 4) == 8 + 9 &&
                    !memcmp(u + 8, "udp-hello", 9))
                    k = j;
            }
        }
        CHECK(k >= 0, "a datagram to 127.0.0.1:%d reaches the guest at 10.0.2.15:53 (hostfwd=udp:)", port2);
        close(ufd);
    }

    /* the monitor's: remove the rule, add another */
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%d", port);
    r = net_slirp_hostfwd_remove(NULL, rule, &msg);
    snprintf(want, sizeof(want), "host forwarding rule for %s removed", rule);
    CHECK(r == 0 && msg && !strcmp(msg, want), "hostfwd_remove %s: \"%s\"", rule, msg ? msg : "?");
    free(msg);
    settle(20);
    fd = connect_loopback(port);
    settle(50);
    CHECK((fd < 0 || (read(fd, buf, 1) < 0 && errno == ECONNREFUSED)) && !strstr(usernet(), "TCP[HOST_FORWARD]"),
          "then nothing listens on the port, and info usernet no longer lists it");
    if (fd >= 0)
        close(fd);
    r = net_slirp_hostfwd_remove("u0", rule, &msg);
    snprintf(want, sizeof(want), "host forwarding rule for %s not found", rule);
    CHECK(r == -ENOENT && msg && !strcmp(msg, want), "removed again: \"%s\"", msg ? msg : "?");
    free(msg);
    msg = NULL;
    snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%d-10.0.2.20:80", port);
    r = net_slirp_hostfwd_add("u0", rule, &msg);
    CHECK(r == 0 && !msg && strstr(usernet(), "10.0.2.20    80"), "hostfwd_add u0 %s: info usernet lists it", rule);
    r = net_slirp_hostfwd_add("u0", rule, &msg);
    CHECK(r < 0 && msg && strstr(msg, "Could not set up host forwarding rule"), "the same port again: \"%s\"",
          msg ? msg : "taken");
    free(msg);
    msg = NULL;
    r = net_slirp_hostfwd_add("nope", rule, &msg);
    CHECK(r < 0 && msg && !strcmp(msg, "unrecognized netdev id 'nope'"), "a netdev that is not there: \"%s\"",
          msg ? msg : "?");
    free(msg);
    msg = NULL;
    r = net_slirp_hostfwd_remove(NULL, "tcp:x:1", &msg);
    CHECK(r == -EINVAL && msg && !strcmp(msg, "invalid format"), "hostfwd_remove of a rule it cannot read: \"%s\"",
          msg ? msg : "?");
    free(msg);
    msg = NULL;
    teardown();
    r = net_slirp_hostfwd_add(NULL, rule, &msg);
    CHECK(r < 0 && msg && !strcmp(msg, "user mode network stack not in use"), "hostfwd_add with no user backend: \"%s\"",
          msg ? msg : "?");
    free(msg);
}

/* The guest connects out: to 10.0.2.2, the host's loopback, unless restrict=on */
static bool guest_connect(struct test_nic *n, int lfd, int port, int *accepted)
{
    struct tcp_want w = { port, 4000, TH_SYN | TH_ACK };
    uint8_t f[100];
    int64_t end = clock_monotonic_ns() + 1000000000LL;

    arp_ask(n, 0x0a000202);
    guest_send(n, f, tcp_frame(f, 0x0a000202, 4000, port, 5000, 0, TH_SYN, NULL, 0));
    *accepted = -1;
    while (*accepted < 0 && clock_monotonic_ns() < end) {
        loop_iterate(false);
        usleep(300);
        *accepted = accept(lfd, NULL, NULL);
    }
    return wait_frame(n, 0, is_tcp, &w, *accepted >= 0 ? 2000 : 100) >= 0;
}

static void test_outbound(void)
{
    int port, lfd = loopback_listener(&port), afd;
    char spec[128];
    struct test_nic *n = nic_on("user,id=u0");
    struct tcp_want rst = { 0, 4000, TH_RST };

    CHECK(n && guest_connect(n, lfd, port, &afd) && afd >= 0,
          "the guest's SYN to 10.0.2.2:%d is a connection to the host's 127.0.0.1:%d, and the guest gets its SYN-ACK",
          port, port);
    if (afd >= 0)
        close(afd);
    teardown();
    snprintf(spec, sizeof(spec), "user,id=u0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", free_port());
    n = nic_on(spec);
    {
        char buf[512];

        net_info(buf, sizeof(buf));
        CHECK(n && !guest_connect(n, lfd, port, &afd) && afd < 0,
              "restrict=on: the same SYN reaches nothing on the host, and the guest gets no SYN-ACK");
        CHECK(strstr(buf, "net=10.0.2.0,restrict=on"), "info network says restrict=on");
    }
    (void)rst;
    teardown();
    close(lfd);
}

/* An ACK to the guest's port 4000 for data it sent from sequence number 5001 on */
static bool is_data_ack(const uint8_t *f, size_t len, const void *arg)
{
    const uint8_t *t = l4_of(f, len, 6);

    (void)arg;
    return t && lduw_be(t + 2) == 4000 && (t[13] & TH_ACK) && ldl_be(t + 8) > 5001;
}

/*
 * The guest sends data faster than libslirp's delayed-ACK timer (2 ms) and each segment says
 * another window, so none takes libslirp's fast path (which ACKs at once): the ACK its timer
 * sends comes while the guest still sends, as under QEMU. (skiff moved the stack's next poll
 * out with every frame from the guest, so its timers, the delayed ACK and the retransmissions'
 * alike, waited until the guest stopped sending.)
 */
static void test_delayed_ack(void)
{
    int port, lfd = loopback_listener(&port), afd = -1, i, sent = 0;
    bool acked = false;
    struct test_nic *n = nic_on("user,id=u0");
    struct tcp_want w = { port, 4000, TH_SYN | TH_ACK };
    uint8_t f[200], data[100];
    uint32_t isn;

    memset(data, 'a', sizeof(data));
    if (!n || !guest_connect(n, lfd, port, &afd) || (i = wait_frame(n, 0, is_tcp, &w, 100)) < 0) {
        CHECK(false, "a connection from the guest to the host for the delayed ACK check");
        goto out;
    }
    isn = ldl_be(l4_of(n->frame[i], n->len[i], 6) + 4);
    guest_send(n, f, tcp_frame(f, 0x0a000202, 4000, port, 5001, isn + 1, TH_ACK, NULL, 0));
    /* 100 bytes a millisecond for 60 ms, looking at what came back after each */
    for (int k = 0; k < 60 && !acked; k++) {
        int from = n->got;

        tcp_window = 60000 - k;
        guest_send(n, f, tcp_frame(f, 0x0a000202, 4000, port, 5001 + 100 * k, isn + 1, TH_ACK | TH_PSH, data,
                                   sizeof(data)));
        tcp_window = 65535;
        sent = k + 1;
        acked = wait_frame(n, from, is_data_ack, NULL, 1) >= 0;
    }
    /* the timer is due 2 ms after the first segment: by the sixth it has answered */
    CHECK(acked && sent <= 6, "a guest sending 100 bytes a millisecond to the host gets an ACK while it still "
          "sends, within 6 segments (after %d)", sent);
out:
    if (afd >= 0)
        close(afd);
    teardown();
    close(lfd);
}

static bool is_udp_to(const uint8_t *f, size_t len, const void *arg)
{
    const uint8_t *u = l4_of(f, len, 17);

    return u && lduw_be(u + 2) == *(const uint16_t *)arg;
}

/*
 * A socket libslirp closes and one it opens in the same batch of the guest's frames (before the
 * stack's sockets are looked at again) may have the same fd number: the new one must be watched
 * all the same. The guest resets its TCP connection to the host and, in the same batch, sends a
 * datagram to a UDP echo on the host; the echo's answer reaches it.
 */
static void test_socket_reuse(void)
{
    int port, uport, lfd = loopback_listener(&port), afd = -1, ufd, fd_tcp = -1, fd_udp = -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    struct test_nic *n = nic_on("user,id=u0");
    uint16_t to = 4001;
    uint8_t f[200], buf[64];
    ssize_t k = -1;
    int i = -1;

    ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    bind(ufd, (struct sockaddr *)&a, sizeof(a));
    getsockname(ufd, (struct sockaddr *)&a, &alen);
    uport = ntohs(a.sin_port);
    if (!CHECK(n && guest_connect(n, lfd, port, &afd) && afd >= 0, "the guest connects to the host's 127.0.0.1:%d", port))
        goto out;
    /* the guest's ACK to the SYN-ACK: established, libslirp watches the socket for the host's data */
    {
        struct tcp_want w = { port, 4000, TH_SYN | TH_ACK };
        const uint8_t *t;

        i = wait_frame(n, 0, is_tcp, &w, 100);
        t = l4_of(n->frame[i], n->len[i], 6);
        guest_send(n, f, tcp_frame(f, 0x0a000202, 4000, port, 5001, ldl_be(t + 4) + 1, TH_ACK, NULL, 0));
        settle(20);
    }
    if (!CHECK(strstr(usernet(), "TCP[ESTABLISHED]"), "info usernet shows the connection established"))
        tap_note("%s", usernet());
    fd_tcp = usernet_fd("TCP[");
    /* one batch: the reset closes the TCP socket, the datagram opens a UDP one */
    guest_send(n, f, tcp_frame(f, 0x0a000202, 4000, port, 5001, 0, TH_RST, NULL, 0));
    guest_send(n, f, udp_frame(f, slirp_mac, GUEST_IP, 0x0a000202, to, uport, (const uint8_t *)"echo?", 5));
    fd_udp = usernet_fd("UDP[");
    for (int64_t end = clock_monotonic_ns() + 2000000000LL; k < 0 && clock_monotonic_ns() < end;) {
        loop_iterate(false);
        usleep(300);
        alen = sizeof(a);
        k = recvfrom(ufd, buf, sizeof(buf), 0, (struct sockaddr *)&a, &alen);
    }
    if (!CHECK(k == 5 && !memcmp(buf, "echo?", 5), "the guest's datagram reaches the host's UDP port %d", uport))
        goto out;
    sendto(ufd, "echo!", 5, 0, (struct sockaddr *)&a, alen);
    i = wait_frame(n, 0, is_udp_to, &to, 2000);
    CHECK(i >= 0 && !memcmp(l4_of(n->frame[i], n->len[i], 17) + 8, "echo!", 5),
          "the host's answer reaches the guest (the UDP socket is fd %d, the closed TCP one was fd %d)", fd_udp, fd_tcp);
out:
    if (afd >= 0)
        close(afd);
    close(ufd);
    close(lfd);
    teardown();
}

/* The guest opens a TCP connection to dst:port from sport and sends `data`; the index of the first frame back with a payload, or -1 */
static int guest_tcp_talk(struct test_nic *n, uint32_t dst, uint16_t port, uint16_t sport, const char *data)
{
    struct tcp_want w = { port, sport, TH_SYN | TH_ACK };
    uint8_t f[200];
    const uint8_t *t;
    uint32_t seq = 7000, their;
    size_t plen;
    int i;

    arp_ask(n, 0x0a000202);
    guest_send(n, f, tcp_frame(f, dst, sport, port, seq++, 0, TH_SYN, NULL, 0));
    i = wait_frame(n, 0, is_tcp, &w, 3000);
    if (i < 0)
        return -1;
    t = l4_of(n->frame[i], n->len[i], 6);
    their = ldl_be(t + 4) + 1;
    guest_send(n, f, tcp_frame(f, dst, sport, port, seq, their, TH_ACK, NULL, 0));
    if (data) {
        guest_send(n, f, tcp_frame(f, dst, sport, port, seq, their, TH_ACK | TH_PSH, data, strlen(data)));
        seq += strlen(data);
    }
    w.flags = TH_ACK;
    do
        i = wait_frame(n, i + 1, is_tcp, &w, 3000);
    while (i >= 0 && (tcp_payload(n->frame[i], n->len[i], &plen), !plen));
    return i;
}

/* guestfwd=: the guest's connections to SERVER:PORT go to a command (cmd:) or a chardev */
static void test_guestfwd(void)
{
    struct test_nic *n = nic_on("user,id=u0,guestfwd=tcp:10.0.2.100:1234-cmd:echo guestfwd-says-hi");
    int lport, lfd = loopback_listener(&lport), afd = -1;
    const uint8_t *t;
    char spec[256], buf[16] = "";
    size_t plen;
    int i;

    if (!CHECK(n != NULL, "guestfwd=tcp:10.0.2.100:1234-cmd:echo ..."))
        return;
    i = guest_tcp_talk(n, 0x0a000264, 1234, 4001, NULL);
    t = i >= 0 ? tcp_payload(n->frame[i], n->len[i], &plen) : NULL;
    CHECK(t && plen == 17 && !memcmp(t, "guestfwd-says-hi\n", 17),
          "the guest's connection to 10.0.2.100:1234 gets the command's output");
    teardown();

    /* the chardev connects to the test's listener when it is made */
    snprintf(spec, sizeof(spec), "user,id=u0,guestfwd=:10.0.2.101:99-tcp:127.0.0.1:%d", lport);
    n = nic_on(spec);
    for (int64_t end = clock_monotonic_ns() + 2000000000LL; n && afd < 0 && clock_monotonic_ns() < end;) {
        settle(5);
        afd = accept(lfd, NULL, NULL);
    }
    if (!CHECK(n && afd >= 0, "guestfwd=:10.0.2.101:99-tcp:127.0.0.1:%d: the chardev connects to it", lport)) {
        teardown();
        close(lfd);
        return;
    }
    /* before the guest connects: the chardev's input waits for room in a connection */
    if (write(afd, "from-host", 9) != 9)
        tap_note("write failed");
    settle(100);
    i = guest_tcp_talk(n, 0x0a000265, 99, 4002, "from-guest");
    t = i >= 0 ? tcp_payload(n->frame[i], n->len[i], &plen) : NULL;
    CHECK(t && plen == 9 && !memcmp(t, "from-host", 9), "what the chardev's peer wrote before the guest connected reaches the guest's connection");
    fcntl(afd, F_SETFL, O_NONBLOCK);
    CHECK(host_read(afd, buf, 10, 3000) == 10 && !memcmp(buf, "from-guest", 10),
          "and what the guest sends reaches the chardev's peer");
    close(afd);
    close(lfd);
    teardown();
}

/* A reader on the far side of a guestfwd= chardev that starts late: what it got, and whether it was all the pattern */
struct bulk_reader {
    int fd;
    size_t want, got;
    bool pattern_ok;
    volatile bool all_sent;     /* the guest has sent everything: read now */
};

#define BULK_SEG 1400
#define BULK_SEGS 12000        /* 16.8 MB: more than the kernel's socket buffers and the chardev's can hold */

static uint8_t bulk_byte(size_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

static void *bulk_read(void *arg)
{
    struct bulk_reader *r = arg;
    int64_t end = clock_monotonic_ns() + 20000000000LL;
    uint8_t buf[65536];

    /* a reader that starts late: when the guest is done, or after 3 s if the guest cannot be */
    for (int i = 0; i < 300 && !r->all_sent; i++)
        usleep(10000);
    r->pattern_ok = true;
    while (r->got < r->want && clock_monotonic_ns() < end) {
        struct pollfd p = { r->fd, POLLIN, 0 };
        ssize_t n;

        if (poll(&p, 1, 2000) <= 0)
            break;
        n = read(r->fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            r->pattern_ok &= buf[i] == bulk_byte(r->got + i);
        r->got += n;
    }
    return NULL;
}

/*
 * The guest sends 16.8 MB through a guestfwd= chardev whose reader is slow to start: libslirp hands
 * each segment over once and takes it as written, so none of it may be dropped on the way.
 */
static void test_guestfwd_bulk(void)
{
    int lport, lfd, afd = -1, i;
    struct bulk_reader r = { .want = (size_t)BULK_SEG * BULK_SEGS };
    struct tcp_want w = { 98, 4003, TH_SYN | TH_ACK };
    uint32_t seq = 9000, their;
    struct test_nic *n;
    pthread_t th;
    char spec[128];
    uint8_t f[1600], data[BULK_SEG];

    lfd = loopback_listener(&lport);
    snprintf(spec, sizeof(spec), "user,id=u0,guestfwd=:10.0.2.102:98-tcp:127.0.0.1:%d", lport);
    n = nic_on(spec);
    for (int64_t end = clock_monotonic_ns() + 2000000000LL; n && afd < 0 && clock_monotonic_ns() < end;) {
        settle(5);
        afd = accept(lfd, NULL, NULL);
    }
    if (!n || afd < 0) {
        CHECK(false, "guestfwd= to a chardev for the bulk transfer");
        goto out;
    }
    fcntl(afd, F_SETFL, 0);
    r.fd = afd;
    arp_ask(n, 0x0a000202);
    guest_send(n, f, tcp_frame(f, 0x0a000266, 4003, 98, seq++, 0, TH_SYN, NULL, 0));
    i = wait_frame(n, 0, is_tcp, &w, 3000);
    if (!CHECK(i >= 0, "the guest's connection to the guestfwd= chardev at 10.0.2.102:98 is answered"))
        goto out;
    their = ldl_be(l4_of(n->frame[i], n->len[i], 6) + 4) + 1;
    guest_send(n, f, tcp_frame(f, 0x0a000266, 4003, 98, seq, their, TH_ACK, NULL, 0));
    pthread_create(&th, NULL, bulk_read, &r);
    for (int k = 0; k < BULK_SEGS; k++) {
        for (int j = 0; j < BULK_SEG; j++)
            data[j] = bulk_byte((size_t)k * BULK_SEG + j);
        guest_send(n, f, tcp_frame(f, 0x0a000266, 4003, 98, seq, their, TH_ACK, data, BULK_SEG));
        seq += BULK_SEG;
        if (k % 64 == 0) {
            settle(1);
            nic_forget(n);
        }
    }
    r.all_sent = true;
    pthread_join(th, NULL);
    CHECK(r.got == r.want && r.pattern_ok,
          "16.8 MB the guest sends through it reach a reader that starts late, all of it and in order (%zu of %zu)",
          r.got, r.want);
out:
    if (afd >= 0)
        close(afd);
    close(lfd);
    teardown();
}

/* ---- the older spellings: -net nic -net user (hub 0), and -nic user ---- */

static struct test_nic *first_nic(void)
{
    for (struct net_client *nc = net_clients(); nc; nc = nc->next)
        if (nc->kind == NET_CLIENT_NIC)
            return container_of(nc, struct test_nic, nc);
    return NULL;
}

static void test_legacy(void)
{
    char *err = NULL, spec[128];
    struct test_nic *n;
    struct dhcp_answer a = { 0 };
    bool made;

    /* -net nic,model=test-nic -net user,hostfwd=...: both on hub 0 */
    snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-:22", free_port());
    made = net_add_legacy("nic,model=test-nic", &err) == 0 && net_add_legacy(spec, &err) == 0 &&
           net_create_nics(&err) == 0;
    n = made ? first_nic() : NULL;
    if (n)
        a = dhcp_discover(n, 0x4242);
    CHECK(n && a.type == 2 && a.yiaddr == GUEST_IP,
          "-net nic -net user (QEMU's older spelling, through hub 0): the NIC gets its DHCP offer%s%s",
          err ? ": " : "", err ? err : "");
    CHECK(strstr(usernet(), "Hub 0 (#net") && strstr(usernet(), "TCP[HOST_FORWARD]"),
          "and info usernet names hub 0, as QEMU's: %.40s", usernet());
    free(err);
    err = NULL;
    teardown();

    /* -nic user,model=...: the backend and a NIC on it, no hub */
    made = net_add_nic_shorthand("user,model=test-nic,hostname=nic-guest", &err) == 0 && net_create_nics(&err) == 0;
    n = made ? first_nic() : NULL;
    if (n)
        a = dhcp_discover(n, 0x4343);
    CHECK(n && a.type == 2 && a.yiaddr == GUEST_IP && !strcmp(a.hostname, "nic-guest"),
          "-nic user,model=...,hostname=: the NIC gets its offer, with the host name%s%s", err ? ": " : "", err ? err : "");
    free(err);
    teardown();
}

/* ---- back-pressure ---- */

static void test_nic_full(void)
{
    struct test_nic *n = nic_on("user,id=u0");
    uint32_t ip = 0x0a000202;

    if (!n)
        return;
    n->refuse = true;
    for (int i = 0; i < 5; i++)
        arp_ask(n, ip);
    settle(50);
    CHECK(n->got == 0 && n->nc.queue_len == 5, "a NIC that cannot take frames: libslirp's answers wait for it (%u)",
          n->nc.queue_len);
    n->refuse = false;
    net_client_flush(&n->nc);
    CHECK(n->got == 5 && wait_frame(n, 4, is_arp_reply, &ip, 10) == 4, "and arrive when it can");
    teardown();
}

/* ---- hostile frames ---- */

/*
 * Frames a broken or hostile guest might send: random bytes, and ARP, IPv4 (UDP to DHCP, DNS and
 * TFTP, TCP, ICMP) and IPv6 frames with random fields and truncated lengths. libslirp must take
 * them all (under the sanitizers here) and still answer DHCP afterwards.
 */
static void test_hostile(bool in_netns)
{
    struct test_nic *n;
    uint32_t seed = 12345, xid = 0x7777;
    struct dhcp_answer a;
    uint8_t f[1600];

    /* random addresses would be sent to by libslirp's NAT: only where nothing can leave */
    if (!in_netns) {
        tap_skip("not in a network namespace of its own", "hostile frames");
        return;
    }
    n = nic_on("user,id=u0,tftp=/nonexistent");
    if (!n)
        return;
    for (int i = 0; i < 3000; i++) {
        size_t len;

        for (size_t j = 0; j < sizeof(f); j++) {
            seed = seed * 1103515245 + 12345;
            f[j] = seed >> 16;
        }
        len = 1 + (seed >> 8) % sizeof(f);
        switch (i % 6) {
        case 0:         /* anything at all */
            break;
        case 1:         /* ARP */
            stw_be(f + 12, 0x0806);
            break;
        case 2: {       /* UDP to libslirp's services, with a random body */
            static const uint16_t ports[] = { 67, 53, 69 };
            uint8_t body[600];

            memcpy(body, f + 800, sizeof(body));
            len = udp_frame(f, slirp_mac, GUEST_IP, ports[i % 3] == 53 ? 0x0a000203 : 0x0a000202, 1000 + i,
                            ports[(i / 6) % 3], body, (seed >> 4) % sizeof(body));
            break;
        }
        case 3:         /* TCP or ICMP with random headers, checksums right */
            len = ip_frame(f, slirp_mac, GUEST_IP, 0x0a000202, (i / 6) % 2 ? 6 : 1, f + 700, 20 + (seed >> 4) % 200);
            break;
        case 4:         /* IPv4 with a random header, cut anywhere */
            stw_be(f + 12, 0x0800);
            f[14] = 0x40 | (f[14] & 15);
            break;
        default:        /* IPv6 */
            stw_be(f + 12, 0x86dd);
            f[14] = 0x60;
            f[20] = (i / 6) % 2 ? 58 : 17;
            break;
        }
        guest_send(n, f, len);
        if (i % 100 == 0) {
            settle(1);
            nic_forget(n);
        }
    }
    settle(50);
    nic_forget(n);
    a = dhcp_discover(n, xid);
    /* which address: a random request with a valid cookie could have taken a lease before ours */
    CHECK(a.type == 2 && (a.yiaddr & 0xffffff00) == 0x0a000200,
          "after 3000 hostile frames libslirp still offers a lease by DHCP (%08x)", a.yiaddr);
    nic_forget(n);
    arp_ask(n, 0x0a000202);
    CHECK(wait_frame(n, 0, is_arp_reply, &(uint32_t){ 0x0a000202 }, 2000) >= 0,
          "and answers ARP");
    {
        int port, lfd = loopback_listener(&port), afd;

        CHECK(guest_connect(n, lfd, port, &afd) && afd >= 0, "and a connection out to the host still works");
        if (afd >= 0)
            close(afd);
        close(lfd);
    }
    teardown();
}

/* ---- refusals ---- */

static void test_refusals(void)
{
    static const struct { const char *spec, *says; } bad[] = {
        { "user,id=u0,hostfwd=tcp:127.0.0.1:2222", "Invalid host forwarding rule 'tcp:127.0.0.1:2222' (Bad host port separator)" },
        { "user,id=u0,hostfwd=sctp::1-:2", "Invalid host forwarding rule 'sctp::1-:2' (Bad protocol name)" },
        { "user,id=u0,hostfwd=tcp:1.2.3.x:1-:2", "(Bad host address)" },
        { "user,id=u0,hostfwd=tcp::70000-:2", "(Bad host port)" },
        { "user,id=u0,hostfwd=tcp::1-:0", "(Bad guest port)" },
        { "user,id=u0,hostfwd=tcp::1-x:2", "(Bad guest address)" },
        { "user,id=u0,hostfwd=tcp::1-2", "(Missing guest address)" },
        { "user,id=u0,hostfwd=x", "(No : separators)" },
        { "user,id=u0,guestfwd=tcp:10.0.2.100:0-cmd:cat", "Invalid guest forwarding rule" },
        { "user,id=u0,net=10.0.2.0/33", "Invalid netmask provided (must be in range 4-32)" },
        { "user,id=u0,net=banana", "Failed to parse netmask" },
        { "user,id=u0,host=10.0.3.2", "host=10.0.3.2: Host doesn't belong to network" },
        { "user,id=u0,dns=10.0.2.2", "DNS must be different from host" },
        { "user,id=u0,dhcpstart=10.0.2.3", "DHCP must be different from host and DNS" },
        { "user,id=u0,dhcpstart=10.1.2.3", "dhcpstart=10.1.2.3: DHCP doesn't belong to network" },
        { "user,id=u0,ipv4=off,ipv6=off", "IPv4 and IPv6 disabled" },
        { "user,id=u0,ipv4=off,net=10.0.3.0/24", "IPv4 disabled but netmask/host/dns provided" },
        { "user,id=u0,ipv6-net=fec0::/127", "IPv6 prefix length must be between 0 and 126" },
        { "user,id=u0,ipv6-host=fd00::2", "IPv6 Host doesn't belong to network" },
        { "user,id=u0,domainname=", "'domainname' parameter cannot be empty" },
        { "user,id=u0,restrict=maybe", "Parameter 'restrict' expects 'on' or 'off'" },
        { "user,id=u0,smb=/srv", "skiff has no smb=" },
        { "user,id=u0,ipv6=off,ipv6-dns=fec0::3", "IPv6 disabled but prefix/host6/dns6 provided" },
        { "user,id=u0,ipv4=maybe", "Parameter 'ipv4' expects 'on' or 'off'" },
        { "user,id=u0,vlan=1", "unknown parameter 'vlan'" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *err = refusal(bad[i].spec);

        CHECK(err && strstr(err, bad[i].says) && !netdev_find("u0"), "-netdev %s: \"%s\"", bad[i].spec,
              err ? err : "taken");
        free(err);
    }
}

static bool own_netns(void)
{
    struct ifreq ifr = { 0 };
    int fd;
    bool up;

    if (unshare(CLONE_NEWNET) < 0)
        return false;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) == 0);
    close(fd);
    return up;
}

int main(void)
{
    char *dir = tap_tmp_path("test-net-slirp.XXXXXX");
    bool in_netns = own_netns();

    /* a namespace where only loopback exists: nothing libslirp does can leave this machine */
    if (!in_netns)
        tap_note("no network namespace of its own (not root): the checks use 127.0.0.1 only");
    if (!mkdtemp(dir))
        return 1;
    loop_init();
    devlock_lock();
    machine_init_requests();
    test_dhcp_arp();
    test_tftp(dir);
    test_ipv6();
    test_hostfwd();
    test_outbound();
    test_delayed_ack();
    test_socket_reuse();
    test_guestfwd();
    test_guestfwd_bulk();
    test_legacy();
    test_nic_full();
    test_hostile(in_netns);
    test_refusals();
    machine_cleanup_requests();
    loop_cleanup();
    devlock_unlock();
    {
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            tap_note("could not remove %s", dir);
    }
    free(dir);
    return tap_done();
}
