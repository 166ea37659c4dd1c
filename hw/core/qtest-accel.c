/* qtest-accel.c: the test accelerator: no vCPU, guest memory is plain host memory, and what would reach the interrupt controllers (lines, MSIs, irqfds) and KVM's ioeventfds is emulated and told to the test */
#define LOG_PREFIX "qtest: "
#include "hw/core/qtest-internal.h"
#include "hw/core/guest-mem.h"
#include "util/main-loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

struct qtest_state qtest_state;

/* ---- accelerator ops: memory is plain host memory, interrupts go to the test ---- */

static int qtest_mem_map(struct ram_mapping *m)
{
    return 0;
}

/* A GSI's level is what gsi_set drives, or-ed with the resample irqfds that hold it (as KVM's sources). */
static void qtest_gsi_report(int gsi)
{
    int level = qtest_state.user_level[gsi];

    for (struct qtest_irqfd *f = qtest_state.irqfds; f; f = f->next)
        level |= f->gsi == gsi && f->asserted;
    if (qtest_state.gsi_level[gsi] == level)
        return;
    qtest_state.gsi_level[gsi] = level;
    if (qtest_state.intercept && qtest_state.chr)
        qtest_send("IRQ %s %d\n", level ? "raise" : "lower", gsi);
}

/*
 * What the machine did, told to the test as it happens (skiff): with no vCPU the test cannot
 * see a reset or a poweroff otherwise, and skiff's exit looks the same as the one that closing
 * the connection causes.
 */
static void qtest_machine_event(enum accel_machine_event ev, int status)
{
    if (!qtest_state.chr)
        return;
    switch (ev) {
    case ACCEL_EVENT_RESET:
        qtest_send("EVENT reset\n");
        break;
    case ACCEL_EVENT_SHUTDOWN:
        qtest_send("EVENT shutdown\n");
        break;
    case ACCEL_EVENT_EXIT:
        qtest_send("EVENT exit %d\n", status);
        break;
    }
}

static void qtest_gsi_set(int gsi, int level)
{
    if (gsi < 0 || gsi >= QTEST_LINE_GSIS)
        return;
    qtest_state.user_level[gsi] = !!level;
    qtest_gsi_report(gsi);
}

static int qtest_msi_send(struct msi_msg msg)
{
    if (qtest_state.intercept && qtest_state.chr)
        qtest_send("MSI 0x%" PRIx64 " 0x%" PRIx32 "\n", msg.addr, msg.data);
    return 0;
}

static int qtest_msi_route_add(struct msi_msg msg)
{
    if (!qtest_state.routes.limit)
        irq_route_table_init(&qtest_state.routes, 1024);
    return irq_route_add(&qtest_state.routes, msg);
}

static int qtest_msi_route_update(int gsi, struct msi_msg msg)
{
    return irq_route_update(&qtest_state.routes, gsi, msg);
}

static void qtest_msi_route_release(int gsi)
{
    irq_route_release(&qtest_state.routes, gsi);
}

static int qtest_routes_commit(void)
{
    irq_route_committed(&qtest_state.routes);
    return 0;
}

/* A signalled irqfd: an MSI route sends its message as last committed; a pin pulses, or is held. */
static void qtest_irqfd_event(void *opaque, uint32_t events)
{
    struct qtest_irqfd *f = opaque;
    const struct msi_msg *m;
    uint64_t n;

    if (read(f->fd, &n, sizeof(n)) != sizeof(n))
        return;
    if (f->gsi >= IRQ_ROUTE_FIRST_MSI) {
        m = irq_route_live(&qtest_state.routes, f->gsi);
        if (m)
            qtest_msi_send(*m);
    } else if (f->gsi < QTEST_LINE_GSIS && f->resample_fd >= 0) {
        f->asserted = true;
        qtest_gsi_report(f->gsi);
    } else if (f->gsi < QTEST_LINE_GSIS) {
        f->asserted = true;
        qtest_gsi_report(f->gsi);
        f->asserted = false;
        qtest_gsi_report(f->gsi);
    }
}

static int qtest_irqfd(int fd, int gsi, int resample_fd, bool assign)
{
    struct qtest_irqfd **pp, *f;
    int r;

    if (gsi < 0 || (gsi >= QTEST_LINE_GSIS && gsi < IRQ_ROUTE_FIRST_MSI))
        return -EINVAL;
    for (pp = &qtest_state.irqfds; *pp; pp = &(*pp)->next)
        if ((*pp)->fd == fd && (*pp)->gsi == gsi)
            break;
    if (!assign) {
        if (!*pp)
            return -ENOENT;
        f = *pp;
        *pp = f->next;
        loop_del_fd(f->fd);
        /* a level it held goes with it, as KVM's resampler lowers it */
        if (f->asserted && gsi < QTEST_LINE_GSIS) {
            f->asserted = false;
            qtest_gsi_report(gsi);
        }
        free(f);
        return 0;
    }
    if (*pp)
        return -EBUSY;
    f = xnew(struct qtest_irqfd);
    *f = (struct qtest_irqfd){ .fd = fd, .gsi = gsi, .resample_fd = resample_fd };
    r = loop_add_fd(fd, EPOLLIN, qtest_irqfd_event, f);
    if (r < 0) {
        free(f);
        return r;
    }
    f->next = qtest_state.irqfds;
    qtest_state.irqfds = f;
    return 0;
}

/* The guest's EOI for a GSI: the levels resample irqfds hold drop, and their devices hear of it. */
void qtest_eoi(int gsi)
{
    for (struct qtest_irqfd *f = qtest_state.irqfds; f; f = f->next) {
        if (f->gsi != gsi || !f->asserted)
            continue;
        f->asserted = false;
        qtest_gsi_report(gsi);
        eventfd_write(f->resample_fd, 1);
    }
}

static bool ioeventfd_same(const struct accel_ioeventfd *a, const struct accel_ioeventfd *b)
{
    return a->fd == b->fd && a->pio == b->pio && a->addr == b->addr && a->len == b->len &&
           a->match == b->match && (!a->match || a->data == b->data);
}

/* ioeventfds as KVM keeps them: by guest address, not by region */
static int qtest_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    for (unsigned i = 0; i < qtest_state.n_ioeventfds; i++) {
        if (!ioeventfd_same(&qtest_state.ioeventfds[i], e))
            continue;
        if (assign)
            return -EEXIST;
        qtest_state.ioeventfds[i] = qtest_state.ioeventfds[--qtest_state.n_ioeventfds];
        return 0;
    }
    if (!assign)
        return -ENOENT;
    qtest_state.ioeventfds = xrealloc(qtest_state.ioeventfds, (qtest_state.n_ioeventfds + 1) * sizeof(*qtest_state.ioeventfds));
    qtest_state.ioeventfds[qtest_state.n_ioeventfds++] = *e;
    return 0;
}

/* A guest write: an ioeventfd catches it before any device sees it, as KVM's would. */
void qtest_io_write(enum io_space space, uint64_t addr, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < qtest_state.n_ioeventfds; i++) {
        if (accel_ioeventfd_hit(&qtest_state.ioeventfds[i], space == IO_SPACE_PIO, addr, val, size)) {
            eventfd_write(qtest_state.ioeventfds[i].fd, 1);
            return;
        }
    }
    io_dispatch(space, addr, &val, size, true);
}

static const struct accel_ops qtest_accel_ops = {
    .name = "qtest",
    .mem_map = qtest_mem_map,
    .gsi_set = qtest_gsi_set,
    .msi_route_add = qtest_msi_route_add,
    .msi_route_update = qtest_msi_route_update,
    .msi_route_release = qtest_msi_route_release,
    .routes_commit = qtest_routes_commit,
    .msi_send = qtest_msi_send,
    .irqfd = qtest_irqfd,
    .ioeventfd = qtest_ioeventfd,
    .machine_event = qtest_machine_event,
};

void qtest_accel_install(void)
{
    accel = &qtest_accel_ops;
}

void qtest_accel_cleanup(void)
{
    /* the devices have released their eventfds by now; what is left was never released */
    while (qtest_state.irqfds) {
        struct qtest_irqfd *f = qtest_state.irqfds;

        qtest_state.irqfds = f->next;
        loop_del_fd(f->fd);
        free(f);
    }
    free(qtest_state.ioeventfds);
    irq_route_table_free(&qtest_state.routes);
}
