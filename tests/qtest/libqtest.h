/* libqtest.h: drive a skiff started with -accel qtest: ports, memory, clock, interrupt lines */
#ifndef TESTS_LIBQTEST_H
#define TESTS_LIBQTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qtest;

/*
 * Start $SKIFF (default ./skiff) as "-accel qtest -qtest unix:SOCK -nodefaults ARGS".
 * ARGS is split on spaces; "%s"-style formatting as printf. Dies (exit 2) on failure.
 */
struct qtest *qtest_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* When set before qtest_start, skiff's stderr goes to this file instead of the test's. */
extern const char *qtest_stderr_path;
/* The process id of the skiff under test. */
int qtest_pid(const struct qtest *q);
/* Close the connection and wait for skiff; returns its exit status (or 128+signal). */
int qtest_quit(struct qtest *q);
/*
 * Wait for skiff to end by itself with the connection still open (closing it would end skiff
 * too, with status 0): its exit status (or 128+signal), or -1 when it still runs after
 * timeout_ms. The events it sent on the way are recorded; qtest_quit then only cleans up.
 */
int qtest_wait_exit(struct qtest *q, int timeout_ms);

/* Send one command line, return the reply line after "OK" (static buffer), or NULL on ERR. */
const char *qtest_cmd(struct qtest *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void qtest_outb(struct qtest *q, uint16_t port, uint8_t v);
void qtest_outw(struct qtest *q, uint16_t port, uint16_t v);
void qtest_outl(struct qtest *q, uint16_t port, uint32_t v);
uint8_t qtest_inb(struct qtest *q, uint16_t port);
uint16_t qtest_inw(struct qtest *q, uint16_t port);
uint32_t qtest_inl(struct qtest *q, uint16_t port);
void qtest_writeb(struct qtest *q, uint64_t addr, uint8_t v);
uint8_t qtest_readb(struct qtest *q, uint64_t addr);
void qtest_writew(struct qtest *q, uint64_t addr, uint16_t v);
uint16_t qtest_readw(struct qtest *q, uint64_t addr);
void qtest_writel(struct qtest *q, uint64_t addr, uint32_t v);
uint32_t qtest_readl(struct qtest *q, uint64_t addr);
void qtest_writeq(struct qtest *q, uint64_t addr, uint64_t v);
uint64_t qtest_readq(struct qtest *q, uint64_t addr);
void qtest_memread(struct qtest *q, uint64_t addr, void *buf, size_t len);
void qtest_memwrite(struct qtest *q, uint64_t addr, const void *buf, size_t len);
/* Advance the virtual clock by ns (ns < 0: to the next timer); returns the new time. */
int64_t qtest_clock_step(struct qtest *q, int64_t ns);

/* Report interrupt line changes from now on; the level of a GSI as last reported. */
void qtest_irq_intercept(struct qtest *q);
bool qtest_get_irq(struct qtest *q, int gsi);
/* How many times a GSI was raised since the last call (edge count). */
int qtest_irq_raises(struct qtest *q, int gsi);
/* Wait up to timeout_ms for a GSI to reach `level` (a change that an eventfd makes comes late). */
bool qtest_irq_wait(struct qtest *q, int gsi, bool level, int timeout_ms);
/* The guest's EOI for a GSI at its interrupt controller (skiff: irqfds with resample). */
void qtest_eoi(struct qtest *q, int gsi);

/*
 * MSI writes that skiff delivered to the local APICs ("MSI ADDR DATA" lines, after
 * qtest_irq_intercept), oldest first: take the next within timeout_ms (0: only those already
 * here); false when none came. qtest_msi_count says how many wait, after a round trip.
 */
bool qtest_msi_next(struct qtest *q, uint64_t *addr, uint32_t *data, int timeout_ms);
int qtest_msi_count(struct qtest *q);

/*
 * What the machine carried out, as skiff reports it (EVENT lines): resets (the guest's, the
 * monitor's, qtest's system_reset), the guest's poweroffs (ACPI S5), and the status of the last
 * exit request (debug-exit; -1 when none). Counted from the start.
 */
int qtest_reset_count(struct qtest *q);
int qtest_shutdown_count(struct qtest *q);
int qtest_exit_event(struct qtest *q);

/* A unix socket for a chardev of the skiff under test: listen before, accept after start. */
int qtest_listen_unix(const char *path);
int qtest_accept(int listen_fd, int timeout_ms);
/* Read what is available within timeout_ms into buf; returns bytes read. */
size_t qtest_read_avail(int fd, void *buf, size_t len, int timeout_ms);
/*
 * The human monitor of the skiff under test (-monitor unix:PATH, connecting to a socket the
 * test listens on): accept it and read its greeting up to the first prompt (NULL on failure);
 * run one command and return what it printed before the next prompt, without the echoed
 * command line and with \r\n as \n (static buffer; NULL when no prompt came back).
 */
const char *qtest_hmp_open(int listen_fd, int *fd);
/* The same for a monitor that listens (-chardev socket,server=on): connect to path as a client. */
const char *qtest_hmp_connect(const char *path, int *fd);
const char *qtest_hmp(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A fresh temporary path (in $TMPDIR) ending in `suffix`; free it. */
char *qtest_tmp_path(const char *suffix);

#endif
