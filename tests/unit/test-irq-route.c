/* test-irq-route.c: the GSI routing table's MSI routes: allocation above the board's pins, updates, release and reuse, batched commits */
#include "hw/core/irq-route.h"
#include "tests/unit/tap.h"

static struct msi_msg msg(uint64_t addr, uint32_t data)
{
    return (struct msi_msg){ .addr = addr, .data = data };
}

int main(void)
{
    struct irq_route_table t;
    const struct msi_msg *m;
    int a, b, c, n;

    irq_route_table_init(&t, 4096);
    a = irq_route_add(&t, msg(0xfee00000, 0x4021));
    b = irq_route_add(&t, msg(0xfee01000, 0x4022));
    CHECK(a == IRQ_ROUTE_FIRST_MSI && b == a + 1,
          "MSI routes take GSIs from 24 up, above the IOAPIC's pins (%d, %d)", a, b);
    CHECK(t.dirty && irq_route_live(&t, a) == NULL, "a new route is not live before a commit");
    irq_route_committed(&t);
    m = irq_route_live(&t, b);
    CHECK(!t.dirty && m && m->addr == 0xfee01000 && m->data == 0x4022, "after the commit it is");

    CHECK(irq_route_update(&t, a, msg(0xfee00000, 0x4021)) == 0 && !t.dirty,
          "an update to the same message leaves nothing to commit");
    irq_route_update(&t, a, msg(0xfee02000, 0x4031));
    m = irq_route_live(&t, a);
    CHECK(t.dirty && m->addr == 0xfee00000 && m->data == 0x4021,
          "a changed route waits for the commit; the accelerator still has the old one");
    irq_route_committed(&t);
    CHECK(irq_route_live(&t, a)->data == 0x4031, "and has the new one after it");
    CHECK(irq_route_update(&t, 5, msg(0, 0)) == -EINVAL && irq_route_update(&t, b + 7, msg(0, 0)) == -EINVAL,
          "a GSI that is a pin, or not allocated, cannot be updated");

    irq_route_release(&t, a);
    CHECK(t.dirty && irq_route_get(&t, a) == NULL && irq_route_count(&t) == 1, "a released route is gone");
    c = irq_route_add(&t, msg(0xfee00000, 0x4041));
    CHECK(c == a, "its GSI is the first one handed out again (%d)", c);
    irq_route_committed(&t);
    n = 0;
    irq_route_for_each(&t, gsi, m)
        n++;
    CHECK(n == 2, "the table holds the routes in use (%d)", n);
    irq_route_table_free(&t);

    irq_route_table_init(&t, IRQ_ROUTE_FIRST_MSI + 3);
    for (n = 0; irq_route_add(&t, msg(0xfee00000, n)) >= 0; n++)
        ;
    CHECK(n == 3, "a KVM with 27 GSIs has room for 3 MSI routes (%d)", n);
    CHECK(irq_route_add(&t, msg(0xfee00000, 0)) == -ENOSPC, "the next is refused: -ENOSPC");
    irq_route_release(&t, IRQ_ROUTE_FIRST_MSI + 1);
    CHECK(irq_route_add(&t, msg(0xfee00000, 9)) == IRQ_ROUTE_FIRST_MSI + 1, "until one is released");
    irq_route_table_free(&t);
    return tap_done();
}
