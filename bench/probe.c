/* probe.c: bench/boot's stopwatch: runs one VMM, timestamps its guest's serial output and
 * debugcon markers, and measures its memory beside the guest's RAM
 *
 *   probe [-m RAM_MIB] [-t TIMEOUT_S] [-s SERIAL_LOG] -- VMM ARGS...
 *
 * The VMM gets the guest's serial port on fd 3 and its debugcon (port 0x402) on fd 4, as pipes:
 * its arguments name them /dev/fd/3 and /dev/fd/4. The guest writes control bytes to the
 * debugcon, which firmware's text (SeaBIOS logs to port 0x402 too) cannot hold:
 *   0x01  init has started
 *   0x02  measure memory now: the VMM is stopped (SIGSTOP) while /proc/PID/smaps is read, and
 *         the time that takes is left out of the later figures
 *   0x03  the guest powers off now
 * It prints one line of figures, in milliseconds from the VMM's start and KiB:
 *   serial_ms=.. init_ms=.. poweroff_ms=.. exit_ms=.. status=.. rss_kib=.. ram_kib=.. overhead_kib=..
 * (-1 for what did not happen). The guest's RAM is the mapping of -m's size (a few MiB of slack
 * for alignment); the overhead is every other resident page of the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARK_INIT 0x01
#define MARK_MEASURE 0x02
#define MARK_POWEROFF 0x03

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct mem {
    long rss_kib, ram_kib, ram_maps_kib;
};

/* Sum the resident pages of every mapping; those of the guest RAM's size are the guest's. */
static int measure(pid_t pid, long ram_kib, struct mem *m)
{
    char path[64], line[512];
    long size = 0, rss;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    memset(m, 0, sizeof(*m));
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "Size: %ld kB", &size) == 1)
            continue;
        if (sscanf(line, "Rss: %ld kB", &rss) == 1) {
            m->rss_kib += rss;
            if (ram_kib && size >= ram_kib && size <= ram_kib + 8192) {
                m->ram_maps_kib += rss;
                if (rss > m->ram_kib)
                    m->ram_kib = rss;
            }
        }
    }
    fclose(f);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: probe [-m RAM_MIB] [-t TIMEOUT_S] [-s SERIAL_LOG] -- VMM ARGS...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long ram_kib = 0;
    double timeout_ms = 120e3, t0, paused = 0;
    double t_serial = -1, t_init = -1, t_poweroff = -1, t_exit = -1;
    const char *serial_log = NULL;
    struct mem mem = { -1, -1, -1 };
    int serial[2], dbg[2], pidfd, opt, status = -1, log_fd = -1;
    bool serial_open = true, dbg_open = true, exited = false;
    pid_t pid;

    while ((opt = getopt(argc, argv, "+m:t:s:")) != -1) {
        switch (opt) {
        case 'm': ram_kib = atol(optarg) * 1024; break;
        case 't': timeout_ms = atof(optarg) * 1e3; break;
        case 's': serial_log = optarg; break;
        default: usage();
        }
    }
    if (optind >= argc)
        usage();
    if (serial_log) {
        log_fd = open(serial_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            perror(serial_log);
            return 2;
        }
    }
    if (pipe2(serial, O_CLOEXEC) < 0 || pipe2(dbg, O_CLOEXEC) < 0) {
        perror("pipe");
        return 2;
    }
    t0 = now_ms();
    pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        dup2(null, 0);
        dup2(serial[1], 3);
        dup2(dbg[1], 4);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "probe: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    close(serial[1]);
    close(dbg[1]);
    pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        perror("pidfd_open");
        kill(pid, SIGKILL);
        return 2;
    }

    while (!exited || serial_open || dbg_open) {
        struct pollfd p[3] = {
            { serial_open ? serial[0] : -1, POLLIN, 0 },
            { dbg_open ? dbg[0] : -1, POLLIN, 0 },
            { exited ? -1 : pidfd, POLLIN, 0 },
        };
        uint8_t buf[4096];
        double t;
        int wait_ms = exited ? 200 : 1000;
        ssize_t n;

        if (poll(p, 3, wait_ms) < 0 && errno != EINTR)
            break;
        t = now_ms() - t0 - paused;
        if (!exited && t > timeout_ms) {
            fprintf(stderr, "probe: %s still running after %.0f s: killed\n", argv[optind], timeout_ms / 1e3);
            kill(pid, SIGKILL);
        }
        if (p[0].revents) {
            n = read(serial[0], buf, sizeof(buf));
            if (n <= 0) {
                serial_open = false;
            } else {
                if (t_serial < 0)
                    t_serial = t;
                if (log_fd >= 0 && write(log_fd, buf, n) < 0)
                    log_fd = -1;
            }
        }
        if (p[1].revents) {
            n = read(dbg[0], buf, sizeof(buf));
            if (n <= 0)
                dbg_open = false;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == MARK_INIT && t_init < 0) {
                    t_init = t;
                } else if (buf[i] == MARK_POWEROFF && t_poweroff < 0) {
                    t_poweroff = t;
                } else if (buf[i] == MARK_MEASURE && mem.rss_kib < 0 && !exited) {
                    double s = now_ms();
                    int st;

                    if (kill(pid, SIGSTOP) == 0 && waitpid(pid, &st, WUNTRACED) == pid) {
                        if (WIFSTOPPED(st)) {
                            if (measure(pid, ram_kib, &mem) < 0)
                                mem.rss_kib = -1;
                            kill(pid, SIGCONT);
                        } else {
                            /* it ended meanwhile */
                            exited = true;
                            status = st;
                            t_exit = t;
                        }
                    }
                    paused += now_ms() - s;
                }
            }
        }
        if (!exited && p[2].revents) {
            if (waitpid(pid, &status, 0) == pid) {
                exited = true;
                t_exit = now_ms() - t0 - paused;
            }
        }
        /* after the exit, stop once the pipes have nothing left */
        if (exited && !p[0].revents && !p[1].revents)
            break;
    }
    if (WIFEXITED(status))
        status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        status = 128 + WTERMSIG(status);
    printf("serial_ms=%.1f init_ms=%.1f poweroff_ms=%.1f exit_ms=%.1f status=%d rss_kib=%ld ram_kib=%ld "
           "overhead_kib=%ld\n", t_serial, t_init, t_poweroff, t_exit, status, mem.rss_kib, mem.ram_kib,
           mem.rss_kib < 0 ? -1 : mem.rss_kib - mem.ram_maps_kib);
    return 0;
}
