/* test-netns.h: a network namespace of the test's own (with /sys for tap devices), an interface
 * brought up, and a packet socket on one: what the unit tests that drive a real tap device share
 * (test-net-tap, test-virtio-net). Included by one test file each. */
#ifndef TESTS_UNIT_TEST_NETNS_H
#define TESTS_UNIT_TEST_NETNS_H

#include "util/osdep.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static int if_set_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    if (r == 0)
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    close(fd);
    return r;
}

/* A packet socket on the interface: it sees what the NIC wrote to the tap, and sends what the tap reads */
static int packet_on(const char *name)
{
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL)), big = 4 << 20;

    sll.sll_ifindex = if_nametoindex(name);
    if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    return fd;
}

/* Root, a network namespace and mount namespace of our own with /sys (for tap devices), loopback up, no IPv6 chatter */
static bool own_netns(void)
{
    if (getuid() != 0 || unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        return false;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
        return false;
    /* no router solicitations or MLD reports among the test's frames */
    {
        int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);

        if (fd >= 0) {
            if (write(fd, "1", 1) < 0) {
                /* a kernel without IPv6: quiet anyway */
            }
            close(fd);
        }
    }
    return if_set_up("lo") == 0;
}

#endif
