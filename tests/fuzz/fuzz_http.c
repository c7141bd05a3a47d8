/*
 * libFuzzer driver for the HTTP/1.1 parser and the request writer.
 *
 * Input: two control bytes, then the stream. Control byte 0 picks requests
 * or responses (bit 0), a HEAD request for responses (bit 1), small limits
 * (bit 2), an own authority for absolute-form (bit 3); the rest of it and
 * byte 1 seed the split points.
 *
 * The stream is parsed as a connection would: message after message
 * (pipelining, reset after each MESSAGE_DONE), then the peer's close. It is
 * parsed twice: in one piece, and in random pieces each copied into a buffer
 * of exactly its size (so ASan sees any read past the input). Invariants (a
 * failed check aborts, which both libFuzzer and the replay test report):
 *   - consumed <= len on every call; NEED_MORE consumes everything;
 *   - a body chunk lies inside the call's input and ends where consumption
 *     ends;
 *   - both runs give the same messages: same ends, results, errors, flags
 *     and bodies;
 *   - every complete request, rebuilt by http_write_request, parses again as
 *     a valid request with at most one Content-Length and no
 *     Transfer-Encoding, Connection or Upgrade.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_http: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAXMSG 16

struct trace {
    int n;
    int result[MAXMSG];
    enum http_error err[MAXMSG];
    size_t end[MAXMSG];
    unsigned flags[MAXMSG];
    int heads[MAXMSG];
    uint64_t body_hash[MAXMSG];
    size_t body_len[MAXMSG];
};

struct setup {
    enum http_kind kind;
    int head_request;
    struct http_limits lim;
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* The rebuilt request must be one this parser accepts, framed only by
 * Content-Length. */
static void round_trip(const struct http_parser *p, const struct setup *st, size_t body_len)
{
    struct http_forward fw;
    struct http_limits lim = st->lim;
    struct http_parser q;
    struct vigie_buf out;
    size_t n, vl;

    memset(&fw, 0, sizeof(fw));
    fw.host = "upstream.example";
    fw.client_addr = "192.0.2.1";
    fw.append_xff = (int)(body_len & 1);
    fw.body_len = body_len;
    vigie_buf_init(&out, 1u << 20);
    CHECK(http_write_request(p, &fw, &out) == VIGIE_OK);
    /* Room for Host, Content-Length and X-Forwarded-For added, and the
     * "HTTP/1.1" that replaces "HTTP/1.0". */
    lim.line_max += 16;
    lim.section_max = 1u << 20;
    lim.fields_max += 8;
    http_parser_init(&q, HTTP_REQUEST, &lim);
    CHECK(http_parse(&q, out.data, out.len, &n) == HTTP_HEAD_DONE);
    CHECK(!(http_parser_flags(&q) & HTTP_F_CHUNKED));
    CHECK(http_parser_get(&q, "transfer-encoding", &vl) == NULL);
    CHECK(http_parser_get(&q, "connection", &vl) == NULL);
    CHECK(http_parser_get(&q, "upgrade", &vl) == NULL);
    CHECK(http_parser_method(&q) == http_parser_method(p));
    if (http_parser_flags(&q) & HTTP_F_LENGTH)
        CHECK(http_parser_content_length(&q) == body_len);
    else
        CHECK(body_len == 0);
    http_parser_fini(&q);
    vigie_buf_free(&out);
}

/* The end of the next piece: 1 to 64 bytes further, or all of it in one
 * piece when seed is 0. */
static size_t advance(size_t end, size_t size, uint32_t *seed)
{
    size_t step;

    if (*seed == 0)
        return size;
    step = 1 + next_rand(seed) % 64;
    return size - end < step ? size : end + step;
}

/* Parses data as one connection. seed 0: in one piece; otherwise in random
 * pieces, each in its own exactly-sized copy. */
static void drive(const char *data, size_t size, const struct setup *st, uint32_t seed,
                  struct trace *t)
{
    struct http_parser p;
    size_t pos = 0, end, bl, n;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t body = 0;
    unsigned guard = 0;

    memset(t, 0, sizeof(*t));
    http_parser_init(&p, st->kind, &st->lim);
    http_parser_set_head_request(&p, st->head_request);
    end = advance(0, size, &seed);
    for (;;) {
        size_t len = end - pos;
        char *piece = NULL;
        const char *in = data + pos, *b;
        enum http_result r;

        CHECK(++guard < 10u * 1000 * 1000);
        if (seed != 0 && len > 0) {
            piece = malloc(len);
            CHECK(piece != NULL);
            memcpy(piece, data + pos, len);
            in = piece;
        }
        r = http_parse(&p, len ? in : NULL, len, &n);
        CHECK(n <= len);
        switch (r) {
        case HTTP_HEAD_DONE:
            t->heads[t->n]++;
            break;
        case HTTP_BODY_CHUNK:
            b = http_parser_body(&p, &bl);
            CHECK(bl > 0 && b >= in && b + bl == in + n);
            h = fnv(h, b, bl);
            body += bl;
            break;
        case HTTP_NEED_MORE:
            CHECK(n == len);
            break;
        default:
            break;
        }
        free(piece);
        pos += n;
        if (r == HTTP_NEED_MORE && end == size)
            r = http_parse_eof(&p);
        if (r == HTTP_MESSAGE_DONE || r == HTTP_ERROR || (r == HTTP_NEED_MORE && end == size)) {
            t->result[t->n] = r;
            t->err[t->n] = http_parser_error(&p);
            t->end[t->n] = pos;
            t->flags[t->n] = http_parser_flags(&p);
            t->body_hash[t->n] = h;
            t->body_len[t->n] = body;
            t->n++;
            if (r == HTTP_MESSAGE_DONE && st->kind == HTTP_REQUEST)
                round_trip(&p, st, body);
            if (r != HTTP_MESSAGE_DONE || pos == size || t->n == MAXMSG)
                break;
            http_parser_reset(&p);
            http_parser_set_head_request(&p, st->head_request);
            h = 0xcbf29ce484222325ull;
            body = 0;
            continue;
        }
        if (r == HTTP_NEED_MORE)
            end = advance(end, size, &seed);
    }
    http_parser_fini(&p);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    struct setup st;
    struct trace one, split;
    uint32_t seed;
    int i;

    if (size < 2)
        return 0;
    memset(&st, 0, sizeof(st));
    st.kind = (data[0] & 1) ? HTTP_RESPONSE : HTTP_REQUEST;
    st.head_request = (data[0] >> 1) & 1;
    http_limits_default(&st.lim, st.kind);
    if (data[0] & 4) {
        st.lim.line_max = 64;
        st.lim.section_max = 256;
        st.lim.fields_max = 8;
        st.lim.body_max = 100;
        st.lim.chunk_ext_max = (data[0] & 0x10) ? 0 : 16;
        st.lim.chunk_ext_count = 2;
        st.lim.trailer_max = (data[0] & 0x20) ? 0 : 32;
    }
    if (data[0] & 8)
        st.lim.own_authority = "gw";
    seed = ((uint32_t)data[0] << 8 | data[1]) | 1u;

    drive((const char *)data + 2, size - 2, &st, 0, &one);
    drive((const char *)data + 2, size - 2, &st, seed, &split);
    CHECK(one.n == split.n);
    for (i = 0; i < one.n; i++) {
        CHECK(one.result[i] == split.result[i]);
        CHECK(one.err[i] == split.err[i]);
        CHECK(one.heads[i] == split.heads[i] && one.heads[i] <= 1);
        CHECK(one.flags[i] == split.flags[i]);
        CHECK(one.body_len[i] == split.body_len[i]);
        CHECK(one.body_hash[i] == split.body_hash[i]);
        /* Where a message ends is decided by the message, not the reads;
         * where an error is noticed may not be. */
        if (one.result[i] != HTTP_ERROR)
            CHECK(one.end[i] == split.end[i]);
        CHECK(one.err[i] == HTTP_E_NONE || http_error_status(one.err[i]) >= 400);
    }
    return 0;
}
