/* irq-route.c: the GSI routing table's MSI routes, shared by the KVM and test accelerators */
#include "hw/core/irq-route.h"

void irq_route_table_init(struct irq_route_table *t, unsigned limit)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit > IRQ_ROUTE_FIRST_MSI ? limit : IRQ_ROUTE_FIRST_MSI;
}

void irq_route_table_free(struct irq_route_table *t)
{
    free(t->routes);
    memset(t, 0, sizeof(*t));
}

static struct irq_route *route_at(const struct irq_route_table *t, int gsi)
{
    if (gsi < IRQ_ROUTE_FIRST_MSI || gsi >= IRQ_ROUTE_FIRST_MSI + (int)t->cap)
        return NULL;
    return &t->routes[gsi - IRQ_ROUTE_FIRST_MSI];
}

int irq_route_add(struct irq_route_table *t, struct msi_msg msg)
{
    unsigned i;

    for (i = 0; i < t->cap && t->routes[i].used; i++)
        ;
    if (i == t->cap) {
        unsigned cap = t->cap ? 2 * t->cap : 16;

        if (IRQ_ROUTE_FIRST_MSI + i >= t->limit)
            return -ENOSPC;
        cap = MIN(cap, t->limit - IRQ_ROUTE_FIRST_MSI);
        t->routes = xrealloc(t->routes, cap * sizeof(*t->routes));
        memset(t->routes + t->cap, 0, (cap - t->cap) * sizeof(*t->routes));
        t->cap = cap;
    }
    t->routes[i].used = true;
    t->routes[i].msg = msg;
    t->dirty = true;
    return IRQ_ROUTE_FIRST_MSI + i;
}

int irq_route_update(struct irq_route_table *t, int gsi, struct msi_msg msg)
{
    struct irq_route *r = route_at(t, gsi);

    if (!r || !r->used)
        return -EINVAL;
    if (r->msg.addr != msg.addr || r->msg.data != msg.data) {
        r->msg = msg;
        t->dirty = true;
    }
    return 0;
}

void irq_route_release(struct irq_route_table *t, int gsi)
{
    struct irq_route *r = route_at(t, gsi);

    if (!r || !r->used)
        return;
    r->used = false;
    t->dirty = true;
}

unsigned irq_route_count(const struct irq_route_table *t)
{
    unsigned n = 0;

    for (unsigned i = 0; i < t->cap; i++)
        n += t->routes[i].used;
    return n;
}

const struct msi_msg *irq_route_get(const struct irq_route_table *t, int gsi)
{
    const struct irq_route *r = route_at(t, gsi);

    return r && r->used ? &r->msg : NULL;
}

const struct msi_msg *irq_route_live(const struct irq_route_table *t, int gsi)
{
    const struct irq_route *r = route_at(t, gsi);

    return r && r->is_live ? &r->live : NULL;
}

void irq_route_committed(struct irq_route_table *t)
{
    for (unsigned i = 0; i < t->cap; i++) {
        t->routes[i].is_live = t->routes[i].used;
        t->routes[i].live = t->routes[i].msg;
    }
    t->dirty = false;
}
