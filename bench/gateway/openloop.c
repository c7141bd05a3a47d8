/* openloop: a small open-loop HTTP/1.1 load generator for bench/gateway.sh.
 *
 *   openloop -a HOST:PORT -p PATH -b BODY [-H 'Name: value']... -r RATE -d SECONDS
 *            [-w WARMUP_SECONDS] [-c CONNECTIONS] [-C MAX_CONNECTIONS] [-m MARKER] [-o FILE]
 *
 * Request k is due at start + k / RATE, evenly spaced (no bursts). It goes out
 * on an idle keep-alive connection of a pool (CONNECTIONS, default 16, opened
 * before the start); when none is idle a new one is opened, up to
 * MAX_CONNECTIONS (default 256), else the request waits for one. Latency is
 * measured from the due time to the end of the response, so time spent
 * waiting for a connection or behind a late timer counts (no coordinated
 * omission). Requests due during the warm-up are sent but not recorded.
 *
 * Every answer must have status 200 and, with -m, contain MARKER. Prints one
 * JSON object; with -o, writes the recorded latencies (µs, one per line).
 * Exit 1 if any request failed. */
#define _GNU_SOURCE
#include "httpmini.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int busy;
    int connecting;
    double due;      /* due time of the request in flight (µs) */
    int record;
    size_t sent;
    struct resp r;
};

static struct sockaddr_in sa;
static char *req;
static size_t reqlen;
static struct conn *cs;
static int ncs, maxcs, ep;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int open_conn(void)
{
    if (ncs >= maxcs)
        return -1;
    struct conn *c = &cs[ncs];
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        return -1;
    }
    c->connecting = 1;
    resp_init(&c->r);
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)ncs};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    return ncs++;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *path = "/v1/chat/completions", *bodyfile = NULL, *marker = NULL,
               *outfile = NULL;
    const char *hdrs[8];
    int nh = 0, pool = 16, opt;
    double rate = 1000, dur = 3, warm = 1;
    maxcs = 256;
    while ((opt = getopt(argc, argv, "a:p:b:H:r:d:w:c:C:m:o:")) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 'b': bodyfile = optarg; break;
        case 'H': if (nh < 8) hdrs[nh++] = optarg; break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'd': dur = strtod(optarg, NULL); break;
        case 'w': warm = strtod(optarg, NULL); break;
        case 'c': pool = (int)strtol(optarg, NULL, 10); break;
        case 'C': maxcs = (int)strtol(optarg, NULL, 10); break;
        case 'm': marker = optarg; break;
        case 'o': outfile = optarg; break;
        default: goto usage;
        }
    }
    if (addr == NULL || bodyfile == NULL || rate <= 0 || dur <= 0 || pool < 1 || maxcs < pool) {
    usage:
        fprintf(stderr, "usage: openloop -a HOST:PORT -p PATH -b BODY [-H HDR]... -r RATE -d SECONDS "
                        "[-w WARMUP] [-c CONNS] [-C MAXCONNS] [-m MARKER] [-o FILE]\n");
        return 2;
    }
    char host[64], hostport[80];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        goto usage;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    snprintf(hostport, sizeof hostport, "%s", addr);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)(int)strtol(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        goto usage;
    size_t blen;
    char *body = read_file(bodyfile, &blen);
    req = build_post(hostport, path, hdrs, nh, body, blen, &reqlen);

    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    cs = calloc((size_t)maxcs, sizeof *cs);
    ep = epoll_create1(0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event te = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);

    long total = (long)((warm + dur) * rate), nwarm = (long)(warm * rate);
    double *lat = calloc((size_t)(total - nwarm + 1), sizeof(double));
    long nlat = 0, issued = 0, done = 0, non200 = 0, errors = 0, nomarker = 0, waited = 0;
    double maxlate = 0, sumlate = 0;
    double interval = 1e6 / rate;

    for (int i = 0; i < pool; i++)
        if (open_conn() < 0) {
            fprintf(stderr, "openloop: cannot connect to %s\n", addr);
            return 2;
        }
    /* let the pool connect */
    double t_conn = now_us();
    for (;;) {
        int pending = 0;
        for (int i = 0; i < ncs; i++)
            pending += cs[i].connecting;
        if (!pending || now_us() - t_conn > 2e6)
            break;
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, 10);
        for (int i = 0; i < k; i++) {
            if (evs[i].data.u32 == 0xffffffffu)
                continue;
            struct conn *c = &cs[evs[i].data.u32];
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) {
                fprintf(stderr, "openloop: cannot connect to %s\n", addr);
                return 2;
            }
            c->connecting = 0;
            struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
    }

    double start = now_us() + 1000;
    int rr = 0;
    char buf[65536];
    double deadline = start + (warm + dur) * 1e6 + 5e6; /* 5 s for the last answers */
    while (done < total && now_us() < deadline) {
        double now = now_us();
        /* issue every request that is due */
        while (issued < total && start + issued * interval <= now) {
            int pick = -1;
            for (int j = 0; j < ncs; j++) {
                int i = (rr + j) % ncs;
                if (!cs[i].busy && !cs[i].connecting && cs[i].fd >= 0) {
                    pick = i;
                    break;
                }
            }
            if (pick < 0) {
                if (ncs < maxcs)
                    open_conn(); /* used when it is connected */
                waited++;
                break;
            }
            rr = pick + 1;
            struct conn *c = &cs[pick];
            c->due = start + issued * interval;
            c->record = issued >= nwarm;
            c->busy = 1;
            c->sent = 0;
            resp_init(&c->r);
            double late = now - c->due;
            sumlate += late;
            if (late > maxlate)
                maxlate = late;
            ssize_t w = write(c->fd, req, reqlen);
            if (w > 0)
                c->sent = (size_t)w;
            if (c->sent < reqlen) {
                struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)pick};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            }
            issued++;
        }
        if (issued < total) {
            double next = start + issued * interval;
            if (next <= now_us())
                next = now_us() + 50; /* waiting for a free connection: poll gently */
            struct itimerspec its = {0};
            double ns = next * 1e3;
            its.it_value.tv_sec = (time_t)(ns / 1e9);
            its.it_value.tv_nsec = (long)(ns - (double)its.it_value.tv_sec * 1e9);
            if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                its.it_value.tv_nsec = 1;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < k; i++) {
            if (evs[i].data.u32 == 0xffffffffu) {
                uint64_t x;
                while (read(tfd, &x, sizeof x) > 0)
                    ;
                continue;
            }
            int idx = (int)evs[i].data.u32;
            struct conn *c = &cs[idx];
            if (c->connecting) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err)
                    goto dead;
                c->connecting = 0;
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && c->busy && c->sent < reqlen) {
                ssize_t w = write(c->fd, req + c->sent, reqlen - c->sent);
                if (w < 0 && errno != EAGAIN)
                    goto dead;
                if (w > 0)
                    c->sent += (size_t)w;
                if (c->sent == reqlen) {
                    struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            int st = 0;
            for (;;) {
                ssize_t r = read(c->fd, buf, sizeof buf);
                if (r < 0 && errno == EAGAIN)
                    break;
                if (r <= 0) {
                    st = (r == 0 && c->busy) ? resp_eof(&c->r) : -1;
                    if (st != 1)
                        goto dead;
                    break;
                }
                if (!c->busy)
                    goto dead; /* bytes nobody asked for */
                st = resp_feed(&c->r, buf, (size_t)r);
                if (st != 0)
                    break;
            }
            if (st == 0)
                continue;
            if (st < 0)
                goto dead;
            {
                double t = now_us();
                done++;
                if (c->r.status != 200)
                    non200++;
                else if (marker && memmem(c->r.body, c->r.body_len, marker, strlen(marker)) == NULL)
                    nomarker++;
                if (c->record)
                    lat[nlat++] = t - c->due;
                c->busy = 0;
                if (c->r.conn_close || c->r.close_delimited) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    c->fd = -1;
                }
            }
            continue;
        dead:
            if (c->busy) {
                errors++;
                done++;
            }
            c->busy = 0;
            c->connecting = 0;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
        }
        /* replace dead connections */
        for (int i = 0; i < ncs; i++)
            if (cs[i].fd < 0 && ncs <= maxcs) {
                struct conn *c = &cs[i];
                c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                c->connecting = 1;
                struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
            }
    }
    long lost = total - done;
    if (outfile) {
        FILE *f = fopen(outfile, "w");
        if (f) {
            for (long i = 0; i < nlat; i++)
                fprintf(f, "%.1f\n", lat[i]);
            fclose(f);
        }
    }
    qsort(lat, (size_t)nlat, sizeof(double), cmpd);
#define PCT(p) (nlat ? lat[(long)((p) / 100.0 * nlat) < nlat ? (long)((p) / 100.0 * nlat) : nlat - 1] : -1)
    printf("{\"rate\":%.0f,\"seconds\":%.1f,\"recorded\":%ld,\"done\":%ld,\"non200\":%ld,"
           "\"missing_marker\":%ld,\"errors\":%ld,\"unanswered\":%ld,\"connections\":%d,"
           "\"waited_for_connection\":%ld,\"send_late_us\":{\"mean\":%.1f,\"max\":%.1f},"
           "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}}\n",
           rate, dur, nlat, done, non200, nomarker, errors, lost, ncs, waited,
           issued ? sumlate / issued : 0, maxlate, PCT(50), PCT(90), PCT(99), PCT(99.9),
           nlat ? lat[nlat - 1] : -1);
    return (non200 || nomarker || errors || lost) ? 1 : 0;
}
