/* idle_conns: open N keep-alive connections to a server, send one request on
 * each, read its answer, then keep them all open and idle (part of
 * bench/gateway.sh, to read the server's RSS with N idle connections).
 *
 *   idle_conns -n N -a HOST:PORT -p PATH -b BODY [-H 'Name: value']... [-c CONCURRENT]
 *              [-m MARKER] [-T SECONDS]
 *
 * At most CONCURRENT (default 200) connections are being opened or waiting
 * for their answer at any time, so that the listen backlog never overflows.
 * When every connection has its answer (or failed), prints one line
 *   ready open=N ok=N failed=N non200=N closed_by_server=N ms=T
 * and holds the connections until stdin is closed or T seconds (default 60)
 * have passed; then prints "closed open=N" (connections still open just
 * before closing: a server that dropped idle ones shows here), closes them
 * with a reset (no TIME_WAIT) and exits.
 * Raises its own RLIMIT_NOFILE to the hard limit. */
#define _GNU_SOURCE
#include "httpmini.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_FREE, C_CONNECTING, C_SENDING, C_READING, C_IDLE, C_DEAD };

struct conn {
    int fd;
    int state;
    size_t sent;
    struct resp r;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int n = 10000, conc = 200, nh = 0;
    double hold = 60;
    const char *addr = NULL, *path = "/v1/chat/completions", *bodyfile = NULL, *marker = NULL;
    const char *hdrs[8];
    int opt;
    while ((opt = getopt(argc, argv, "n:a:p:b:H:c:m:T:")) != -1) {
        switch (opt) {
        case 'n': n = (int)strtol(optarg, NULL, 10); break;
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 'b': bodyfile = optarg; break;
        case 'H': if (nh < 8) hdrs[nh++] = optarg; break;
        case 'c': conc = (int)strtol(optarg, NULL, 10); break;
        case 'm': marker = optarg; break;
        case 'T': hold = strtod(optarg, NULL); break;
        default: goto usage;
        }
    }
    if (addr == NULL || bodyfile == NULL || n < 1 || conc < 1) {
    usage:
        fprintf(stderr, "usage: idle_conns -n N -a HOST:PORT -p PATH -b BODY [-H HDR]... "
                        "[-c CONCURRENT] [-m MARKER] [-T SECONDS]\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n + 16) {
            fprintf(stderr, "idle_conns: RLIMIT_NOFILE %llu is below %d\n",
                    (unsigned long long)rl.rlim_cur, n + 16);
            return 2;
        }
    }
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        goto usage;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(int)strtol(colon + 1, NULL, 10))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        goto usage;
    size_t blen, reqlen;
    char *body = read_file(bodyfile, &blen);
    char *req = build_post(addr, path, hdrs, nh, body, blen, &reqlen);

    struct conn *c = calloc((size_t)n, sizeof *c);
    int ep = epoll_create1(0);
    int started = 0, active = 0, ok = 0, failed = 0, non200 = 0;
    double t0 = now_ms();
    struct epoll_event evs[256];
    char buf[65536];

    while (ok + failed < n) {
        while (active < conc && started < n) {
            struct conn *x = &c[started];
            x->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (x->fd < 0) {
                perror("socket");
                return 2;
            }
            int one = 1;
            setsockopt(x->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            int rc = connect(x->fd, (struct sockaddr *)&sa, sizeof sa);
            x->state = C_CONNECTING;
            if (rc < 0 && errno != EINPROGRESS) {
                x->state = C_DEAD;
                close(x->fd);
                failed++;
                started++;
                continue;
            }
            struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)started};
            epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &e);
            started++;
            active++;
        }
        int k = epoll_wait(ep, evs, 256, 5000);
        if (k == 0) {
            fprintf(stderr, "idle_conns: no progress for 5 s (%d ok, %d failed of %d)\n", ok, failed,
                    n);
            break;
        }
        for (int i = 0; i < k; i++) {
            struct conn *x = &c[evs[i].data.u32];
            if (x->state == C_CONNECTING || x->state == C_SENDING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err != 0)
                    goto dead;
                x->state = C_SENDING;
                while (x->sent < reqlen) {
                    ssize_t w = write(x->fd, req + x->sent, reqlen - x->sent);
                    if (w < 0 && errno == EAGAIN)
                        break;
                    if (w <= 0)
                        goto dead;
                    x->sent += (size_t)w;
                }
                if (x->sent < reqlen)
                    continue;
                x->state = C_READING;
                resp_init(&x->r);
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
                epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &e);
                continue;
            }
            if (x->state == C_READING) {
                int st = 0;
                for (;;) {
                    ssize_t r = read(x->fd, buf, sizeof buf);
                    if (r < 0 && errno == EAGAIN)
                        break;
                    if (r <= 0) {
                        st = r == 0 ? resp_eof(&x->r) : -1;
                        if (st == 1)
                            st = -1; /* closed: not an idle keep-alive connection */
                        break;
                    }
                    st = resp_feed(&x->r, buf, (size_t)r);
                    if (st != 0)
                        break;
                }
                if (st == 0)
                    continue;
                if (st < 0)
                    goto dead;
                int good = x->r.status == 200 && !x->r.conn_close &&
                           (marker == NULL ||
                            memmem(x->r.body, x->r.body_len, marker, strlen(marker)) != NULL);
                if (x->r.status != 200)
                    non200++;
                resp_free(&x->r);
                if (!good)
                    goto dead;
                x->state = C_IDLE;
                epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                ok++;
                active--;
                continue;
            }
            continue;
        dead:
            if (x->r.raw)
                resp_free(&x->r);
            epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
            close(x->fd);
            x->state = C_DEAD;
            failed++;
            active--;
        }
    }
    printf("ready open=%d ok=%d failed=%d non200=%d ms=%.0f\n", ok, ok, failed, non200,
           now_ms() - t0);
    fflush(stdout);
    /* Hold until stdin closes or the time is up. */
    struct pollfd pf = {.fd = 0, .events = POLLIN};
    double end = now_ms() + hold * 1e3;
    while (now_ms() < end) {
        int rc = poll(&pf, 1, 200);
        if (rc > 0) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0)
                break;
        }
    }
    /* How many are still open (the server may have closed idle ones). */
    int still = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].state != C_IDLE)
            continue;
        char b;
        ssize_t r = recv(c[i].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && errno == EAGAIN)
            still++;
    }
    /* Close with a reset (SO_LINGER 0): no TIME_WAIT left behind to crowd the
     * ephemeral ports of the runs that follow. */
    for (int i = 0; i < n; i++) {
        if (c[i].state != C_IDLE)
            continue;
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(c[i].fd);
    }
    printf("closed open=%d\n", still);
    return failed ? 1 : 0;
}
