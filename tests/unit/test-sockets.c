/* test-sockets.c: socket addresses as the command line spells them; listen, connect and accept over unix and TCP */
#include "util/sockets.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* An error message for a check's description, which a NULL would not print. */
static const char *said(const char *err)
{
    return err ? err : "nothing said";
}

static void test_parse(void)
{
    struct socket_address a;
    char *err = NULL;
    int r;

    CHECK(socket_address_parse("unix:/run/x.sock", &a, &err) == 0 && a.path &&
          !strcmp(a.path, "/run/x.sock") && !a.host && !a.port, "unix:PATH is a unix socket at PATH");
    socket_address_free(&a);
    CHECK(socket_address_parse("tcp:127.0.0.1:4444", &a, &err) == 0 && !a.path &&
          !strcmp(a.host, "127.0.0.1") && !strcmp(a.port, "4444"), "tcp:HOST:PORT is a TCP host and port");
    socket_address_free(&a);
    CHECK(socket_address_parse("tcp::4444", &a, &err) == 0 && !strcmp(a.host, "") &&
          !strcmp(a.port, "4444"), "tcp::PORT leaves the host empty");
    socket_address_free(&a);
    CHECK(socket_address_parse("tcp:::1:4444", &a, &err) == 0 && !strcmp(a.host, "::1") &&
          !strcmp(a.port, "4444"), "an IPv6 host keeps its colons: the port is after the last");
    socket_address_free(&a);
    r = socket_address_parse("tcp:4444", &a, &err);
    CHECK(r < 0 && err && strstr(err, "HOST:PORT"),
          "tcp: without a host part is refused, saying what is wanted (%s)", said(err));
    free(err);
    err = NULL;
    r = socket_address_parse("udp:1.2.3.4:5", &a, &err);
    CHECK(r < 0 && err && strstr(err, "udp:1.2.3.4:5"),
          "an address of another kind is refused by name (%s)", said(err));
    free(err);
}

/* Bytes sent on one end of a connection arrive on the other. */
static bool carries(int from, int to, const char *s)
{
    struct pollfd p = { .fd = to, .events = POLLIN };
    char buf[32] = { 0 };
    size_t n = strlen(s);

    return write(from, s, n) == (ssize_t)n && poll(&p, 1, 3000) == 1 &&
           read(to, buf, sizeof(buf)) == (ssize_t)n && !memcmp(buf, s, n);
}

/* A client connects to a server at the address; the server accepts it. */
static void test_pair(struct socket_address *a, const char *what)
{
    char *err = NULL;
    int lfd = socket_listen(a, &err), cfd = -1, sfd = -EAGAIN;
    struct pollfd p = { .fd = lfd, .events = POLLIN };

    CHECK(lfd >= 0, "a %s server listens%s%s", what, err ? ": " : "", err ? err : "");
    if (lfd < 0)
        goto out;
    CHECK(socket_accept(lfd) == -EAGAIN, "with no %s client waiting, accept says so without blocking", what);
    cfd = socket_connect(a, &err);
    CHECK(cfd >= 0, "a %s client connects%s%s", what, err ? ": " : "", err ? err : "");
    if (poll(&p, 1, 3000) == 1)
        sfd = socket_accept(lfd);
    CHECK(sfd >= 0, "and the server accepts it");
    if (cfd >= 0 && sfd >= 0) {
        CHECK(carries(cfd, sfd, "up") && carries(sfd, cfd, "down"), "bytes go both ways");
        CHECK((fcntl(cfd, F_GETFL) & O_NONBLOCK) && (fcntl(sfd, F_GETFL) & O_NONBLOCK) &&
              (fcntl(cfd, F_GETFD) & FD_CLOEXEC) && (fcntl(sfd, F_GETFD) & FD_CLOEXEC),
              "both ends are non-blocking and closed on exec");
    }
out:
    free(err);
    if (cfd >= 0)
        close(cfd);
    if (sfd >= 0)
        close(sfd);
    if (lfd >= 0)
        close(lfd);
}

static void test_unix(void)
{
    char *dir = tap_tmp_path("skiff-sockets-XXXXXX"), *err = NULL;
    struct socket_address a = { 0 };
    int fd;

    if (!mkdtemp(dir)) {
        CHECK(false, "a temporary folder");
        free(dir);
        return;
    }
    a.path = xasprintf("%s/s", dir);
    /* a file left by an earlier run is no reason to fail */
    close(open(a.path, O_CREAT | O_WRONLY, 0600));
    test_pair(&a, "unix");
    unlink(a.path);
    fd = socket_connect(&a, &err);
    CHECK(fd < 0 && err && strstr(err, "cannot connect to socket") && strstr(err, a.path),
          "connecting where nothing listens names the path (%s)", said(err));
    free(err);
    err = NULL;
    free(a.path);
    a.path = xasprintf("%s/%0120d", dir, 0);
    fd = socket_listen(&a, &err);
    CHECK(fd == -ENAMETOOLONG && err && strstr(err, "is too long"),
          "a path longer than a unix socket takes is refused (%s)", said(err));
    free(err);
    free(a.path);
    rmdir(dir);
    free(dir);
}

static void test_tcp(void)
{
    struct socket_address a = { .host = "127.0.0.1", .port = "0" };
    char *err = NULL;
    int fd;

    /* find a free port: listen on port 0 and ask which it was given */
    fd = socket_listen(&a, &err);
    if (fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t l = sizeof(ss);
        char port[16];

        getsockname(fd, (struct sockaddr *)&ss, &l);
        snprintf(port, sizeof(port), "%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
        close(fd);
        a.port = port;
        test_pair(&a, "TCP");
        a.host = "localhost";
        fd = socket_connect(&a, &err);
        CHECK(fd < 0 && err && strstr(err, "cannot connect to socket localhost:"),
              "connecting where nothing listens names the host and port (%s)", said(err));
        free(err);
        err = NULL;
    } else {
        CHECK(false, "listening on loopback (%s)", said(err));
    }
}

int main(void)
{
    test_parse();
    test_unix();
    test_tcp();
    return tap_done();
}
