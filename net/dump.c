/* dump.c: filter-dump: the frames that pass a netdev both ways, written to a pcap file as QEMU's filter-dump writes it */
#define LOG_PREFIX "filter-dump: "
#include "net/dump.h"
#include "net/net-internal.h"
#include "util/iov.h"
#include "util/log.h"
#include "util/main-loop.h"     // clock_get_ns

#include <fcntl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* libpcap's file format: a file header, then a record header before each frame (host byte order) */
#define PCAP_MAGIC          0xa1b2c3d4
#define PCAP_LINKTYPE_ETHERNET 1

struct pcap_file_hdr {
    uint32_t magic;
    uint16_t version_major, version_minor;
    int32_t thiszone;
    uint32_t sigfigs;
    uint32_t snaplen;
    uint32_t linktype;
};

struct pcap_rec_hdr {
    uint32_t ts_sec, ts_usec;
    uint32_t caplen;            /* bytes in the file */
    uint32_t len;               /* the frame's length */
};

struct net_dump {
    struct net_filter f;
    char *id, *netdev, *file, *queue;
    uint32_t maxlen;
    bool on;
    bool rx, tx;
    int fd;
    int64_t start_sec;          /* wall time at the start: the records' times count from it */
};

static void dump_frame(struct net_filter *f, enum net_filter_dir dir, const struct iovec *iov, int niov,
                       size_t hdr_len)
{
    struct net_dump *d = container_of(f, struct net_dump, f);
    struct pcap_rec_hdr rh;
    struct iovec out[2];
    size_t len = iov_size(iov, niov), cap;
    uint8_t *data;
    int64_t us;
    ssize_t w;

    if (!d->on || d->fd < 0 || (dir == NET_FILTER_RX ? !d->rx : !d->tx) || len < hdr_len)
        return;
    len -= hdr_len;
    cap = MIN(len, d->maxlen);
    us = clock_get_ns(CLK_VIRTUAL) / 1000;
    rh.ts_sec = (uint32_t)(d->start_sec + us / 1000000);
    rh.ts_usec = (uint32_t)(us % 1000000);
    rh.caplen = cap;
    rh.len = len;
    /* a guest's frame may come in many pieces: one record, one write */
    data = xmalloc(cap ? cap : 1);
    iov_to_buf(iov, niov, hdr_len, data, cap);
    out[0] = (struct iovec){ &rh, sizeof(rh) };
    out[1] = (struct iovec){ data, cap };
    w = writev(d->fd, out, 2);
    free(data);
    if (w != (ssize_t)(sizeof(rh) + cap)) {
        /* as QEMU's: the capture ends, the network goes on */
        log_error("'%s': writing %s failed (%s): the capture stops here", d->id, d->file,
                  w < 0 ? strerror(errno) : "short write");
        close(d->fd);
        d->fd = -1;
    }
}

static void dump_info(struct net_filter *f, char *buf, size_t len)
{
    struct net_dump *d = container_of(f, struct net_dump, f);

    /* QEMU's properties in QEMU's order, position and insert as skiff places filters */
    snprintf(buf, len, ",file=%s,maxlen=%" PRIu32 ",position=tail,status=%s,insert=behind,netdev=%s,queue=%s",
             d->file, d->maxlen, d->on ? "on" : "off", d->netdev, d->queue);
}

int net_dump_new(struct net_dump **out, const char *id, const char *netdev, const char *file,
                 uint32_t maxlen, const char *queue, bool on, char **err)
{
    struct pcap_file_hdr fh = {
        .magic = PCAP_MAGIC, .version_major = 2, .version_minor = 4,
        .snaplen = maxlen, .linktype = PCAP_LINKTYPE_ETHERNET,
    };
    struct netdev *n;
    struct net_dump *d;
    int r;

    if (!netdev) {
        *err = xasprintf("filter-dump '%s': give the netdev it watches (netdev=ID)", id);
        return -EINVAL;
    }
    if (!(n = netdev_find(netdev))) {
        *err = xasprintf("filter-dump '%s': no netdev '%s'", id, netdev);
        return -ENOENT;
    }
    if (!file || !*file) {
        *err = xasprintf("filter-dump '%s': give the file it writes (file=PATH)", id);
        return -EINVAL;
    }
    if (maxlen == 0) {
        *err = xasprintf("filter-dump '%s': maxlen=0: give the bytes kept of each frame, 1 or more", id);
        return -EINVAL;
    }
    if (strcmp(queue, "all") && strcmp(queue, "rx") && strcmp(queue, "tx")) {
        *err = xasprintf("filter-dump '%s': queue=%s: give all, rx (what the netdev receives) or tx "
                         "(what it sends)", id, queue);
        return -EINVAL;
    }
    d = xnew(struct net_dump);
    d->fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (d->fd < 0) {
        r = -errno;
        *err = xasprintf("filter-dump '%s': cannot open '%s': %s", id, file, strerror(errno));
        free(d);
        return r;
    }
    if (write_full(d->fd, &fh, sizeof(fh)) < 0) {
        r = -errno;
        *err = xasprintf("filter-dump '%s': cannot write '%s': %s", id, file, strerror(errno));
        close(d->fd);
        free(d);
        return r;
    }
    d->id = xstrdup(id);
    d->netdev = xstrdup(netdev);
    d->file = xstrdup(file);
    d->queue = xstrdup(queue);
    d->maxlen = maxlen;
    d->on = on;
    d->rx = strcmp(queue, "tx") != 0;
    d->tx = strcmp(queue, "rx") != 0;
    d->start_sec = time(NULL);
    d->f.name = d->id;
    d->f.type = "filter-dump";
    d->f.frame = dump_frame;
    d->f.info = dump_info;
    net_filter_attach(&n->nc, &d->f);
    *out = d;
    return 0;
}

void net_dump_free(struct net_dump *d)
{
    if (!d)
        return;
    net_filter_detach(&d->f);
    if (d->fd >= 0)
        close(d->fd);
    free(d->id);
    free(d->netdev);
    free(d->file);
    free(d->queue);
    free(d);
}
