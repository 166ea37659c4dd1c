/* monitor.h: the human monitor (QEMU's HMP commands) on a chardev */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "util/osdep.h"

struct chardev;
struct monitor;

/* A monitor on c (a mux shares it with a serial port: Ctrl-A c). NULL with *err. */
struct monitor *monitor_new(struct chardev *c, char **err);
/* Run one command line as if typed; its output goes to the monitor's chardev. */
void monitor_run_line(struct monitor *m, const char *line);
/* Bytes as typed (line editing, Enter runs the line): the chardev's input, and the fuzz target's. */
/* Whether commands may write host files (pmemsave); the monitor fuzz target turns it off. */
void monitor_allow_file_writes(bool allow);
void monitor_input(struct monitor *m, const uint8_t *buf, int len);
/* Detach and free every monitor. */
void monitor_cleanup_all(void);

#endif
