/* qtest.h: the test accelerator: no vCPU; a test program drives the board over a chardev, as with QEMU's qtest */
#ifndef HW_CORE_QTEST_H
#define HW_CORE_QTEST_H

#include "util/osdep.h"

/* Install the accelerator ops (before the board is built). */
void qtest_accel_install(void);
/* Start serving the protocol on the chardev given as -qtest SPEC. Dies on failure. */
void qtest_server_init(const char *spec);
void qtest_server_cleanup(void);

#endif
