/*
 * echo: the built-in model `builtin:echo`. It answers, as an
 * OpenAI-compatible model would, with what it received: the body vigie
 * forwarded upstream, after policy. The demo needs no credential and no
 * network, and end-to-end tests read in the answer exactly what a model
 * would have seen (docs/internals/net-contract.md, "Echo model").
 *
 * - chat: the content is the received messages, one line each,
 *   "<role>: <text>" (text parts joined with a space; tool calls as
 *   "<role>: tool_call <name> <arguments>"); with `tools`, a call of the
 *   first tool with arguments {"echo": <last user text>} instead;
 * - completions: the text is the prompt (a list's items joined by newlines);
 * - embeddings: one 8-float vector per input, from a SHA-256 of its bytes;
 * - `"stream": true` (chat, completions): an SSE stream cut in 7-byte pieces
 *   (never inside a UTF-8 character), so that pseudonyms are split across
 *   events on purpose, then a finish chunk, a usage chunk when
 *   stream_options.include_usage, and `data: [DONE]`;
 * - non-streamed answers carry "vigie_echo": {"received": <the body, byte
 *   for byte>};
 * - usage: prompt tokens are the received text bytes / 4 rounded up,
 *   completion tokens the answer text bytes / 4 rounded up.
 *
 * echo is pure: no I/O, no libevent. Its answers hold prompt text: they are
 * wiped when freed. It never logs.
 */
#ifndef VIGIE_NET_ECHO_H
#define VIGIE_NET_ECHO_H

#include <stddef.h>

#include "core/core.h"
#include "policy/policy.h"

/* A complete answer, as an upstream would send it. */
struct echo_reply {
    int status;               /* 200, or 400 / 404 / 413 with an OpenAI error body */
    const char *content_type; /* "application/json" or "text/event-stream" (static) */
    struct vigie_buf body;    /* the whole answer body */
    int stream;               /* 1: body is an SSE stream ending in data: [DONE] */
};

/* Answers the request body[0..len) sent to endpoint ep. A body that is not a
 * JSON object, or lacks messages / prompt / input, gets a 400 answer; an
 * endpoint the echo does not serve (models) a 404; a body over
 * VIGIE_API_OUT_MAX a 413. Returns VIGIE_OK with *out filled (free it with
 * echo_reply_free, whatever the status), or VIGIE_ERR_NOMEM /
 * VIGIE_ERR_TOO_BIG (the answer would exceed VIGIE_HTTP_RESPONSE_BODY_MAX;
 * a gateway treats both like a failed upstream) with *out empty. Calls
 * api_init(): jansson must use the wiping allocator. */
int echo_reply(enum policy_endpoint ep, const char *body, size_t len, struct echo_reply *out);

/* Wipes and frees the answer's body. A zeroed or freed reply is fine. */
void echo_reply_free(struct echo_reply *r);

#endif
