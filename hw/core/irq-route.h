/* irq-route.h: the GSI routing table an accelerator commits: MSI routes allocated, changed and released at run time */
#ifndef HW_CORE_IRQ_ROUTE_H
#define HW_CORE_IRQ_ROUTE_H

#include "hw/core/irq.h" // struct msi_msg

/* GSIs below this are the board's interrupt-controller pins (8259s and IOAPIC); MSI routes get the others. */
#define IRQ_ROUTE_FIRST_MSI 24

struct irq_route {
    struct msi_msg msg;         /* what the next commit installs */
    struct msi_msg live;        /* what the accelerator delivers now */
    bool used;
    bool is_live;               /* committed: the accelerator knows the route */
};

/*
 * Changes are batched: add, update and release touch the table only, and a commit hands the
 * whole table to the accelerator at once (KVM_SET_GSI_ROUTING replaces every route), so a device
 * that reprograms many vectors commits once.
 */
struct irq_route_table {
    struct irq_route *routes;   /* index gsi - IRQ_ROUTE_FIRST_MSI */
    unsigned cap;               /* entries allocated */
    unsigned limit;             /* GSIs the accelerator has in all */
    bool dirty;                 /* changed since the last commit */
};

void irq_route_table_init(struct irq_route_table *t, unsigned limit);
void irq_route_table_free(struct irq_route_table *t);
/* A new MSI route: its GSI (the lowest free), or -ENOSPC. */
int irq_route_add(struct irq_route_table *t, struct msi_msg msg);
/* Change a route's message; 0, or -EINVAL for a GSI that is not an allocated MSI route. */
int irq_route_update(struct irq_route_table *t, int gsi, struct msi_msg msg);
void irq_route_release(struct irq_route_table *t, int gsi);
/* The number of GSIs in use (for the accelerator's array) and the one at index i of them. */
unsigned irq_route_count(const struct irq_route_table *t);
/* The route of an allocated GSI as the next commit installs it, or NULL. */
const struct msi_msg *irq_route_get(const struct irq_route_table *t, int gsi);
/* The route the accelerator delivers for a GSI now (as last committed), or NULL. */
const struct msi_msg *irq_route_live(const struct irq_route_table *t, int gsi);
/* After the accelerator took the table: what it has becomes the live routes. */
void irq_route_committed(struct irq_route_table *t);

#define irq_route_for_each(t, gsi, msgp)                                                       \
    for (int gsi = IRQ_ROUTE_FIRST_MSI; gsi < IRQ_ROUTE_FIRST_MSI + (int)(t)->cap; gsi++)    \
        if (((msgp) = irq_route_get((t), gsi)) != NULL)

#endif
