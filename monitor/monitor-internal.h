/* monitor-internal.h: what the monitor object (monitor.c) and HMP (hmp.c) give each other */
#ifndef MONITOR_MONITOR_INTERNAL_H
#define MONITOR_MONITOR_INTERNAL_H

#include "monitor/monitor.h"

/* Text out on the monitor's chardev, \n as \r\n. */
void PRINTF_FMT(2, 3) monitor_printf(struct monitor *m, const char *fmt, ...);
/* The monitor's CPU, QEMU's "current CPU": what info registers shows (cpu N chooses it). */
int monitor_cpu(struct monitor *m);
void monitor_set_cpu(struct monitor *m, int cpu);

/* Run one HMP command line on m: parse it, call the command's core, print QEMU's text. */
void hmp_run_line(struct monitor *m, const char *line);

#endif
