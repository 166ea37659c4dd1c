/* tap.c: -netdev tap, QEMU's: a host tap device (ifname=, one made for the VM, or an inherited fd= or fds=), its up and down scripts, IFF_VNET_HDR with the offloads virtio-net asks for, queues= */
#define LOG_PREFIX ""
#include "net/net-internal.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/opts.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* QEMU's defaults (its CONFIG_QEMU_CONFDIR is /etc) */
#define TAP_DEFAULT_SCRIPT      "/etc/qemu-ifup"
#define TAP_DEFAULT_DOWNSCRIPT  "/etc/qemu-ifdown"
#define TAP_MAX_QUEUES          16
#define TAP_FRAMES_PER_WAKE     64      /* frames read before the loop serves others */
#define TAP_HDR_MAX             12      /* struct virtio_net_hdr_mrg_rxbuf */

struct net_tap {
    struct netdev nd;           /* first: the core frees it as a netdev */
    int fds[TAP_MAX_QUEUES];    /* one per queue; -1 for none */
    int nfds;
    uint32_t events[TAP_MAX_QUEUES];    /* what each fd is watched for (0: not in the loop) */
    char ifname[IFNAMSIZ];
    char *downscript;           /* run at exit with ifname, or NULL */
    char info[160];
    bool vnet_hdr;              /* IFF_VNET_HDR: the kernel's frames carry a header, ours must */
    int host_hdr_len;           /* its length now (TUNSETVNETHDRSZ), 0 without vnet_hdr */
    /* The peer speaks vnet headers (it set their length or the offloads): our frames carry one
     * (NET_FRAME_VNET_HDR); to any other peer the header is taken off. */
    bool using_vnet_hdr;
    bool in_flight;             /* a frame of ours waits at the peer: read nothing until its callback */
    bool down_said;             /* "down on the host" was said, and no frame went through since */
    bool reading;               /* in tap_read: a callback now only clears in_flight */
    int blocked;                /* the queue whose write got EAGAIN (its EPOLLOUT flushes), or -1 */
    unsigned dead;              /* queues whose reads fail (the device went away): no longer watched */
    uint8_t *buf;
};

static void tap_fd_event(void *opaque, uint32_t events);
static void tap_read(struct net_tap *t);

static struct net_tap *tap_of(struct net_client *nc)
{
    return (struct net_tap *)container_of(nc, struct netdev, nc);
}

/* Watch each queue for reading while none of our frames is held up, the blocked one for writing. */
static void tap_watch(struct net_tap *t)
{
    for (int i = 0; i < t->nfds; i++) {
        uint32_t want = 0;

        if (!t->in_flight && !(t->dead & (1u << i)))
            want |= EPOLLIN;
        if (t->blocked == i)
            want |= EPOLLOUT;
        if (want == t->events[i])
            continue;
        if (!want)
            loop_del_fd(t->fds[i]);
        else if (!t->events[i])
            loop_add_fd(t->fds[i], want, tap_fd_event, t);
        else
            loop_mod_fd(t->fds[i], want);
        t->events[i] = want;
    }
}

/* ---- frames from the host ---- */

static void tap_sent(struct net_client *nc, ssize_t ret)
{
    struct net_tap *t = tap_of(nc);

    t->in_flight = false;
    if (t->reading)
        return;
    tap_read(t);
    tap_watch(t);
}

struct tap_reader {
    struct net_reader rd;
    int fd;
    int err;                    /* the read's errno (the receiver's work after it may change errno) */
};

static ssize_t tap_readv(struct net_reader *rd, const struct iovec *iov, int niov)
{
    struct tap_reader *tr = container_of(rd, struct tap_reader, rd);
    ssize_t n = readv(tr->fd, iov, niov);

    tr->err = n < 0 ? errno : 0;
    return n;
}

/*
 * Read frames off the queues and pass them on until none is left or the peer holds one. A peer
 * that takes our frames as the kernel gives them (with their header, or we have none) may have
 * them read straight into its buffers (net_read_direct).
 */
static void tap_read(struct net_tap *t)
{
    int frames = 0;
    bool more = true;

    t->reading = true;
    while (more && !t->in_flight && frames < TAP_FRAMES_PER_WAKE) {
        more = false;
        for (int i = 0; i < t->nfds && !t->in_flight; i++) {
            struct tap_reader tr = {
                .rd = { .readv = tap_readv, .buf = t->buf, .flags = t->using_vnet_hdr ? NET_FRAME_VNET_HDR : 0 },
                .fd = t->fds[i],
            };
            unsigned flags = 0;
            uint8_t *p = t->buf;
            ssize_t n;

            if (t->vnet_hdr && !t->using_vnet_hdr) {
                net_read_plain(&tr.rd);
            } else if (net_read_direct(&t->nd.nc, &tr.rd)) {
                /* the peer took it, or dropped it by its own rules */
                more = true;
                frames++;
                continue;
            }
            n = tr.rd.got > 0 ? (ssize_t)tr.rd.left : tr.rd.got;
            if (n < 0) {
                /* EAGAIN: nothing on this queue now; an error would come back at every wake */
                if (tr.err != EAGAIN && tr.err != EINTR && !(t->dead & (1u << i))) {
                    log_warn("netdev '%s': reading %s: %s: no more frames from it", t->nd.id,
                             t->ifname, strerror(tr.err));
                    t->dead |= 1u << i;
                }
                continue;
            }
            more = true;
            frames++;
            if (t->vnet_hdr) {
                if (n < t->host_hdr_len)
                    continue;
                if (t->using_vnet_hdr) {
                    flags = NET_FRAME_VNET_HDR;
                } else {
                    p += t->host_hdr_len;
                    n -= t->host_hdr_len;
                }
            }
            if (!n)
                continue;
            {
                struct iovec iov = { p, n };

                if (net_send(&t->nd.nc, &iov, 1, flags, tap_sent) == 0)
                    t->in_flight = true;
            }
        }
    }
    t->reading = false;
}

static void tap_fd_event(void *opaque, uint32_t events)
{
    struct net_tap *t = opaque;

    if ((events & EPOLLOUT) && t->blocked >= 0) {
        t->blocked = -1;
        tap_watch(t);
        net_client_flush(&t->nd.nc);
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !t->in_flight)
        tap_read(t);
    tap_watch(t);
}

/* ---- frames to the host ---- */

static ssize_t tap_receive(struct net_client *nc, const struct iovec *iov, int niov, unsigned flags)
{
    struct net_tap *t = tap_of(nc);
    size_t len = iov_size(iov, niov);
    uint8_t zero_hdr[TAP_HDR_MAX] = { 0 };
    struct iovec v[1 + 64];
    unsigned n = 0;
    uint8_t *flat = NULL;
    ssize_t r;

    if (flags & NET_FRAME_VNET_HDR) {
        /* the header is the length we told the kernel: it takes the frame as it is */
        if (!t->vnet_hdr || len < (size_t)t->host_hdr_len)
            return -EINVAL;
    } else if (t->vnet_hdr) {
        /* a peer without headers: the kernel still wants one, saying nothing is offloaded */
        v[n++] = (struct iovec){ zero_hdr, t->host_hdr_len };
    }
    {
        unsigned got = iov_slice(v + n, ARRAY_SIZE(v) - n, iov, niov, 0, len);

        if (iov_size(v + n, got) != len) {
            flat = xmalloc(len);
            iov_to_buf(iov, niov, 0, flat, len);
            v[n] = (struct iovec){ flat, len };
            got = 1;
        }
        n += got;
    }
    do
        r = writev(t->fds[0], v, n);
    while (r < 0 && errno == EINTR);
    free(flat);
    if (r < 0 && errno == EAGAIN) {
        /* the kernel has no room: the core keeps the frame; room comes with EPOLLOUT */
        t->blocked = 0;
        tap_watch(t);
        return 0;
    }
    if (r < 0 && errno == EIO) {
        /* the kernel drops frames to a device that is not up: say so once, as for a cable unplugged */
        if (!t->down_said)
            log_warn("netdev '%s': %s is down on the host: frames to it are dropped until it is up "
                     "(ip link set %s up)", t->nd.id, t->ifname, t->ifname);
        t->down_said = true;
        return -EIO;
    }
    if (r < 0) {
        log_guest_error("netdev '%s': writing a frame of %zu bytes to %s: %s", t->nd.id, len,
                        t->ifname[0] ? t->ifname : "the tap", strerror(errno));
        return -errno;
    }
    t->down_said = false;
    return len;
}

static bool tap_can_receive(struct net_client *nc)
{
    return tap_of(nc)->blocked < 0;
}

/* ---- the vnet header and offloads (virtio-net) ---- */

static bool tap_has_vnet_hdr(struct net_client *nc)
{
    return tap_of(nc)->vnet_hdr;
}

static int tap_set_vnet_hdr_len(struct net_client *nc, int len)
{
    struct net_tap *t = tap_of(nc);

    if (!t->vnet_hdr)
        return -ENOTSUP;
    if (len != 10 && len != 12)
        return -EINVAL;
    for (int i = 0; i < t->nfds; i++)
        if (ioctl(t->fds[i], TUNSETVNETHDRSZ, &len) < 0)
            return -errno;
    t->host_hdr_len = len;
    t->nd.nc.vnet_hdr_len = len;
    t->using_vnet_hdr = true;
    return 0;
}

static int tap_set_offload(struct net_client *nc, unsigned tun_f_flags)
{
    struct net_tap *t = tap_of(nc);

    if (!t->vnet_hdr)
        return -ENOTSUP;
    for (int i = 0; i < t->nfds; i++) {
        unsigned long f = tun_f_flags;

        /* as QEMU: a kernel that refuses UFO gets the rest */
        if (ioctl(t->fds[i], TUNSETOFFLOAD, f) < 0 &&
            (!(f & TUN_F_UFO) || ioctl(t->fds[i], TUNSETOFFLOAD, f & ~(unsigned long)TUN_F_UFO) < 0))
            return -errno;
    }
    t->using_vnet_hdr = true;
    return 0;
}

/* ---- scripts ---- */

/*
 * Run `script IFNAME` as QEMU does, with none of skiff's descriptors but 0-2, and wait for it:
 * 0, or -errno with *err (it could not be run, or it failed).
 */
static int tap_run_script(const char *script, const char *ifname, char **err)
{
    int pfd[2], status, e = 0;
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) < 0) {
        *err = xasprintf("tap: cannot run %s: %s", script, strerror(errno));
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        e = errno;
        close(pfd[0]);
        close(pfd[1]);
        *err = xasprintf("tap: cannot run %s: %s", script, strerror(e));
        return -e;
    }
    if (pid == 0) {
        /* the pipe's write end, moved to 3 and close-on-exec, says why exec failed; all above it go */
        int wfd = pfd[1];

        if (wfd != 3 && dup3(wfd, 3, O_CLOEXEC) < 0)
            _exit(127);
        wfd = 3;
#ifdef SYS_close_range
        if (syscall(SYS_close_range, 4u, ~0u, 0u) < 0)
#endif
            for (int fd = 4; fd < 65536; fd++)
                close(fd);
        execl(script, script, ifname, (char *)NULL);
        e = errno;
        if (write(wfd, &e, sizeof(e)) < 0) {
            /* nothing more to say */
        }
        _exit(127);
    }
    close(pfd[1]);
    if (read(pfd[0], &e, sizeof(e)) != sizeof(e))
        e = 0;
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (e) {
        *err = xasprintf("tap: cannot run network script %s: %s (script=no runs none)", script, strerror(e));
        return -e;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        if (WIFEXITED(status))
            *err = xasprintf("tap: network script %s failed with status %d", script, WEXITSTATUS(status));
        else
            *err = xasprintf("tap: network script %s was killed by signal %d", script, WTERMSIG(status));
        return -EIO;
    }
    return 0;
}

/* ---- the device ---- */

static int tap_open_queue(const char *name, short flags, char *ifname_out, int *fd_out, char **err)
{
    struct ifreq ifr = { 0 };
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), e;

    if (fd < 0) {
        e = errno;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            *err = xasprintf("tap: cannot open /dev/net/tun: %s (the host needs the tun module: modprobe tun)",
                             strerror(e));
        else if (e == EACCES || e == EPERM)
            *err = xasprintf("tap: cannot open /dev/net/tun: %s (run skiff as root, or have a management "
                             "daemon hand it an open tap with fd=)", strerror(e));
        else
            *err = xasprintf("tap: cannot open /dev/net/tun: %s", strerror(e));
        return -e;
    }
    ifr.ifr_flags = flags;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        e = errno;
        if (e == EPERM)
            *err = xasprintf("tap: cannot make or open tap device '%s': %s (it needs CAP_NET_ADMIN, or a "
                             "device made for this user beforehand: ip tuntap add NAME mode tap user USER)",
                             name, strerror(e));
        else if (e == EBUSY)
            *err = xasprintf("tap: tap device '%s' is busy: another process has it open (give another ifname=)",
                             name);
        else if (e == EINVAL)
            *err = xasprintf("tap: '%s' exists but is not a tap device that fits (a tun device, or one made "
                             "with or without multi_queue unlike queues= here)", name);
        else
            *err = xasprintf("tap: cannot make or open tap device '%s': %s", name, strerror(e));
        close(fd);
        return -e;
    }
    snprintf(ifname_out, IFNAMSIZ, "%s", ifr.ifr_name);
    *fd_out = fd;
    return 0;
}

/* Whether the kernel's tap offers IFF_VNET_HDR */
static bool tap_kernel_has_vnet_hdr(void)
{
    unsigned int features = 0;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    bool has;

    if (fd < 0)
        return false;
    has = ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR);
    close(fd);
    return has;
}

static void tap_info(struct net_client *nc, char *buf, size_t len)
{
    snprintf(buf, len, "%s", tap_of(nc)->info);
}

static void tap_cleanup(struct net_client *nc)
{
    struct net_tap *t = tap_of(nc);

    for (int i = 0; i < t->nfds; i++) {
        if (t->events[i])
            loop_del_fd(t->fds[i]);
        t->events[i] = 0;
    }
    /* as QEMU: the down script runs while the device is still there */
    if (t->downscript) {
        char *err = NULL;

        if (tap_run_script(t->downscript, t->ifname, &err) < 0) {
            log_warn("netdev '%s': %s", t->nd.id, err + strlen("tap: "));
            free(err);
        }
    }
    for (int i = 0; i < t->nfds; i++)
        if (t->fds[i] >= 0)
            close(t->fds[i]);
    t->nfds = 0;
    free(t->downscript);
    free(t->buf);
}

static const struct net_client_ops tap_ops = {
    .type = "tap",
    .receive = tap_receive,
    .can_receive = tap_can_receive,
    .info = tap_info,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .set_offload = tap_set_offload,
    .cleanup = tap_cleanup,
};

/* ---- -netdev tap ---- */

/* script=/downscript=: NULL for none ("no" or empty, as QEMU), else the path */
static const char *script_path(const char *given, const char *dflt)
{
    if (!given)
        return dflt;
    if (!*given || !strcmp(given, "no"))
        return NULL;
    return given;
}

/* fd=N, or `one` of fds=N:M:... (`spec`, for messages): an open tap a management daemon handed over, as queue t->nfds */
static int tap_take_fd(struct net_tap *t, const char *one, const char *opt, const char *spec, char **err)
{
    struct ifreq ifr = { 0 };
    uint64_t n;
    bool vnet;

    if (parse_uint(one, &n) < 0 || n > INT32_MAX) {
        *err = xasprintf("tap: %s=%s: give %s", opt, spec,
                         strcmp(opt, "fd") ? "the numbers of open tap queues, N:M:..." : "the number of an open tap device");
        return -EINVAL;
    }
    for (int i = 0; i < t->nfds; i++) {
        if (t->fds[i] == (int)n) {
            *err = xasprintf("tap: %s=%s: fd %d is given twice", opt, spec, (int)n);
            return -EINVAL;
        }
    }
    if (fcntl((int)n, F_GETFD) < 0) {
        *err = xasprintf("tap: %s=%s: fd %d: %s", opt, spec, (int)n, strerror(errno));
        return -EBADF;
    }
    /* as QEMU: the header is what the tap was opened with */
    if (ioctl((int)n, TUNGETIFF, &ifr) < 0) {
        *err = xasprintf("tap: %s=%s: fd %d is not a tap device (TUNGETIFF: %s)", opt, spec, (int)n, strerror(errno));
        return -EINVAL;
    }
    if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
        *err = xasprintf("tap: %s=%s: fd %d is a tun device (IP packets), not a tap (Ethernet frames)", opt, spec,
                         (int)n);
        return -EINVAL;
    }
    vnet = ifr.ifr_flags & IFF_VNET_HDR;
    if (t->nfds && vnet != t->vnet_hdr) {
        *err = xasprintf("tap: %s=%s: vnet_hdr not consistent across given tap fds", opt, spec);
        return -EINVAL;
    }
    if (set_nonblock((int)n, true) < 0 || set_cloexec((int)n) < 0) {
        *err = xasprintf("tap: %s=%s: fd %d: %s", opt, spec, (int)n, strerror(errno));
        return -errno;
    }
    t->fds[t->nfds++] = (int)n;
    t->vnet_hdr = vnet;
    snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
    return 0;
}

/* fds=N:M:...: one open tap queue each, as QEMU's multiqueue hand-over */
static int tap_take_fds(struct net_tap *t, const char *list, char **err)
{
    const char *p = list;
    char one[32];
    size_t len;
    int r;

    do {
        len = strcspn(p, ":");
        if (t->nfds == TAP_MAX_QUEUES) {
            *err = xasprintf("tap: fds=%s: at most %d queues", list, TAP_MAX_QUEUES);
            return -EINVAL;
        }
        snprintf(one, sizeof(one), "%.*s", (int)MIN(len, sizeof(one) - 1), p);
        if (len >= sizeof(one)) {
            *err = xasprintf("tap: fds=%s: give the numbers of open tap queues, N:M:...", list);
            return -EINVAL;
        }
        if ((r = tap_take_fd(t, one, "fds", list, err)) < 0)
            return r;
        p += len;
    } while (*p++ == ':');
    {
        size_t used = 0;

        used += snprintf(t->info, sizeof(t->info), "fds=");
        for (int i = 0; i < t->nfds && used < sizeof(t->info); i++)
            used += snprintf(t->info + used, sizeof(t->info) - used, "%s%d", i ? ":" : "", t->fds[i]);
    }
    return 0;
}

static int tap_init(struct opts *o, const char *id, struct netdev **out, char **err)
{
    const char *ifname = opts_get(o, "ifname"), *fd = opts_get(o, "fd"), *fds = opts_get(o, "fds");
    const char *script = opts_get(o, "script"), *downscript = opts_get(o, "downscript");
    const char *up, *down;
    bool vnet = true, vnet_given = opts_has(o, "vnet_hdr"), vhost = false;
    uint64_t queues = 1, sndbuf = 0;
    struct net_tap *t;
    int r;

    if (opts_get_bool(o, "vnet_hdr", &vnet) < 0) {
        *err = xstrdup("tap: vnet_hdr= is on or off");
        return -EINVAL;
    }
    if (opts_get_bool(o, "vhost", &vhost) < 0 || vhost || opts_has(o, "vhostforce") ||
        opts_has(o, "vhostfd") || opts_has(o, "vhostfds")) {
        *err = xstrdup("tap: skiff has no vhost-net: its tap does the work in user space (vhost=off, or leave it out)");
        return -ENOTSUP;
    }
    if (opts_get_uint(o, "queues", &queues) < 0 || queues < 1 || queues > TAP_MAX_QUEUES) {
        *err = xasprintf("tap: queues= is a number from 1 to %d", TAP_MAX_QUEUES);
        return -EINVAL;
    }
    if (opts_get_size(o, "sndbuf", &sndbuf) < 0) {
        *err = xstrdup("tap: sndbuf= is a size in bytes");
        return -EINVAL;
    }
    if (opts_has(o, "helper") || opts_has(o, "br")) {
        *err = xasprintf("tap: skiff has no %s= (qemu-bridge-helper): give ifname= of a tap on the bridge, or fd=",
                         opts_has(o, "helper") ? "helper" : "br");
        return -ENOTSUP;
    }
    if (fd && fds) {
        *err = xstrdup("tap: fd= and fds= cannot both be given");
        return -EINVAL;
    }
    if ((fd || fds) && (ifname || script || downscript || vnet_given || opts_has(o, "queues"))) {
        /* QEMU's rule: the caller set the tap up */
        *err = xasprintf("tap: ifname=, script=, downscript=, vnet_hdr= and queues= are invalid with %s=",
                         fd ? "fd" : "fds");
        return -EINVAL;
    }
    if (ifname && (!*ifname || strlen(ifname) >= IFNAMSIZ)) {
        *err = xasprintf("tap: ifname=%s: an interface name is 1 to %d characters", ifname, IFNAMSIZ - 1);
        return -EINVAL;
    }
    if (vnet_given && vnet && !tap_kernel_has_vnet_hdr()) {
        *err = xstrdup("tap: vnet_hdr=on: this kernel's tap has no IFF_VNET_HDR");
        return -ENOTSUP;
    }

    t = xnew(struct net_tap);
    snprintf(t->nd.id, sizeof(t->nd.id), "%s", id);
    t->nd.type = "tap";
    t->nd.nc.ops = &tap_ops;
    t->blocked = -1;
    for (int i = 0; i < TAP_MAX_QUEUES; i++)
        t->fds[i] = -1;
    t->buf = xmalloc(NET_FRAME_MAX);
    if ((r = netdev_register(&t->nd, err)) < 0) {
        tap_cleanup(&t->nd.nc);
        free(t);
        return r;
    }
    if (fd) {
        if ((r = tap_take_fd(t, fd, "fd", fd, err)) < 0)
            goto fail;
        snprintf(t->info, sizeof(t->info), "fd=%d", t->fds[0]);
    } else if (fds) {
        if ((r = tap_take_fds(t, fds, err)) < 0)
            goto fail;
    } else {
        short flags = IFF_TAP | IFF_NO_PI;
        const char *name = ifname ? ifname : "tap%d";

        /* by default the header is on where the kernel offers it, as QEMU's */
        if (vnet && (vnet_given || tap_kernel_has_vnet_hdr()))
            flags |= IFF_VNET_HDR;
        if (queues > 1)
            flags |= IFF_MULTI_QUEUE;
        for (int i = 0; i < (int)queues; i++) {
            /* the first queue names the device (tapN); the others join it */
            if ((r = tap_open_queue(i ? t->ifname : name, flags, t->ifname, &t->fds[i], err)) < 0)
                goto fail;
            t->nfds++;
            if (set_nonblock(t->fds[i], true) < 0) {
                r = -errno;
                *err = xasprintf("tap: %s: %s", t->ifname, strerror(-r));
                goto fail;
            }
        }
        t->vnet_hdr = flags & IFF_VNET_HDR;
        up = script_path(script, TAP_DEFAULT_SCRIPT);
        down = script_path(downscript, TAP_DEFAULT_DOWNSCRIPT);
        snprintf(t->info, sizeof(t->info), "ifname=%s,script=%s,downscript=%s", t->ifname,
                 script ? script : TAP_DEFAULT_SCRIPT, downscript ? downscript : TAP_DEFAULT_DOWNSCRIPT);
        if (up && (r = tap_run_script(up, t->ifname, err)) < 0)
            goto fail;
        if (down)
            t->downscript = xstrdup(down);
    }
    {
        /* as QEMU: no limit unless sndbuf= gives one */
        int sb = sndbuf && sndbuf < INT32_MAX ? (int)sndbuf : INT32_MAX;

        for (int i = 0; i < t->nfds; i++) {
            if (ioctl(t->fds[i], TUNSETSNDBUF, &sb) < 0 && sndbuf) {
                r = -errno;
                *err = xasprintf("tap: sndbuf=%" PRIu64 ": TUNSETSNDBUF: %s", sndbuf, strerror(-r));
                goto fail;
            }
        }
    }
    if (t->vnet_hdr) {
        int len = 0;

        /* the kernel's length now: 10 unless someone set it (fd=) */
        if (ioctl(t->fds[0], TUNGETVNETHDRSZ, &len) < 0 || (len != 10 && len != 12))
            len = 10;
        t->host_hdr_len = len;
        t->nd.nc.vnet_hdr_len = len;
    }
    tap_watch(t);
    *out = &t->nd;
    return 0;
fail:
    if (fd || fds) {
        /* the caller's, which we did not take */
        for (int i = 0; i < t->nfds; i++)
            t->fds[i] = -1;
    }
    netdev_free(&t->nd);
    return r;
}

static struct netdev_type tap_type = {
    .name = "tap",
    .init = tap_init,
    .help = "[ifname=NAME][,script=FILE|no][,downscript=FILE|no][,vnet_hdr=on|off][,vhost=off][,queues=N]"
            "[,sndbuf=SIZE] | fd=N | fds=N:M:...: a host tap device (tapN, or NAME, made or opened; the scripts, by "
            "default /etc/qemu-ifup and /etc/qemu-ifdown, get its name), or open ones handed over (one fd for each queue)",
};
NETDEV_TYPE_REGISTER(tap_type)
