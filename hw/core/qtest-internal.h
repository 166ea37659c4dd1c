/* qtest-internal.h: what the test accelerator (qtest-accel.c) and the protocol server (qtest.c) share */
#ifndef HW_CORE_QTEST_INTERNAL_H
#define HW_CORE_QTEST_INTERNAL_H

#include "hw/core/qtest.h"
#include "chardev/chardev.h"
#include "hw/core/accel.h"
#include "hw/core/ioregion.h"
#include "hw/core/irq-route.h"

/* The interrupt lines the test sees: the board's controller pins below the MSI routes. */
#define QTEST_LINE_GSIS IRQ_ROUTE_FIRST_MSI

/* An irqfd as the test accelerator emulates it: skiff's main loop reads the eventfd. */
struct qtest_irqfd {
    int fd, gsi, resample_fd;
    bool asserted;              /* with resample: held high until the test's eoi */
    struct qtest_irqfd *next;
};

struct qtest_state {
    struct chardev *chr;        /* the test's connection */
    char *line;
    size_t len;
    bool overlong;              /* the line being read went past its limit */
    bool intercept;             /* irq_intercept_in: IRQ and MSI lines go to the test */
    int8_t gsi_level[QTEST_LINE_GSIS];  /* what the test was told */
    int8_t user_level[QTEST_LINE_GSIS]; /* what gsi_set drives */
    struct irq_route_table routes;
    struct qtest_irqfd *irqfds;
    struct accel_ioeventfd *ioeventfds;
    unsigned n_ioeventfds;
};
extern struct qtest_state qtest_state;

/* One line to the test, whole (a reply, or an IRQ, MSI or EVENT line). */
void qtest_send(const char *fmt, ...) PRINTF_FMT(1, 2);
/* A guest write: an ioeventfd catches it before any device sees it, as KVM's would. */
void qtest_io_write(enum io_space space, uint64_t addr, uint64_t val, unsigned size);
/* The guest's EOI for a GSI: resample irqfds drop the level they held. */
void qtest_eoi(int gsi);
void qtest_accel_cleanup(void);

#endif
