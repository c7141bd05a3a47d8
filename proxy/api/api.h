/*
 * api: the LLM wire formats. Finds every text a model will read in a request
 * body, rewrites the ones policy changed, restores pseudonyms in answers, and
 * filters streamed answers (SSE, NDJSON) as they pass.
 *
 * api is pure: no I/O, no libevent. It parses with jansson under
 * JSON_REJECT_DUPLICATES (a backend keeping the other copy of a key would read
 * text nobody inspected), after an iterative pre-scan of the bytes that
 * refuses nesting deeper than the cap and bodies over the size cap before
 * jansson (which recurses) ever sees them.
 *
 * Rewriting never re-serialises the document: jansson would turn 0.7 into
 * 0.69999999999999996 and 1e2 into 100.0. Instead the changed string tokens
 * are spliced into the original bytes, so everything else (numbers, key order,
 * whitespace, unknown fields) reaches the model exactly as the client wrote
 * it. When nothing changed, the caller forwards the original bytes.
 *
 * Every buffer that held prompt text is wiped before it is freed, jansson's
 * included: api_init() installs allocation functions that wipe (see
 * docs/internals/api.md). api never logs a text, and error messages carry
 * byte positions, never the bytes.
 */
#ifndef VIGIE_API_H
#define VIGIE_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "detect/detect.h"
#include "policy/policy.h"

/* Installs jansson's wiping allocator. Idempotent and thread-safe; every api
 * entry point calls it, but a program must call it before any other jansson
 * use: memory jansson allocated with the default allocator must not reach
 * the wiping free (which reads a size prefix). */
void api_init(void);

/* Limits; a NULL pointer wherever one is taken means api_limits_default(). */
struct api_limits {
    size_t body_max;          /* bytes of one JSON body (413 beyond) */
    size_t out_max;           /* bytes of a rewritten body */
    unsigned depth_max;       /* nested arrays and objects (400 beyond) */
    size_t texts_max;         /* text fields collected per body */
    size_t event_max;         /* bytes of one SSE event or NDJSON line */
    int allow_uninspectable;  /* 0: token-id inputs are refused; 1: flagged only */
};
void api_limits_default(struct api_limits *l);

/* Why a body was refused. Each maps to one HTTP status (api_why_status). */
enum api_why {
    API_WHY_NONE = 0,
    API_WHY_NOMEM = 1,          /* 500 */
    API_WHY_TOO_BIG = 2,        /* 413: body over body_max, or rewrite over out_max */
    API_WHY_TOO_DEEP = 3,       /* 400: nesting over depth_max */
    API_WHY_JSON = 4,           /* 400: not JSON (syntax, UTF-8, \u0000, NaN, number range) */
    API_WHY_DUPLICATE = 5,      /* 400: a key appears twice in one object */
    API_WHY_TYPE = 6,           /* 400: a field has the wrong type */
    API_WHY_UNINSPECTABLE = 7,  /* 422: input the gateway cannot read (token ids) */
    API_WHY_TOO_MANY_TEXTS = 8, /* 413: more text fields than texts_max */
    API_WHY_EVENT_TOO_BIG = 9,  /* 502: a streamed event over event_max */
    API_WHY_INTERNAL = 10,      /* 500: an invariant of the splice failed */
    API_WHY_STOPPED = 11,       /* a stream's observer refused its text (answer clauses) */
};

struct api_error {
    enum api_why why;
    char msg[160]; /* "duplicate key at byte 42"; never the input's bytes */
};

const char *api_why_name(enum api_why why);
int api_why_status(enum api_why why);

/* ---- bodies: requests and non-streamed answers ------------------------------ */

/* A parsed body and the texts found in it. Owns the jansson tree; the text
 * views point into it and live as long as the body. */
struct api_body;

enum api_text_kind {
    API_TEXT_CONTENT = 0,   /* a message's content, or a text part of it */
    API_TEXT_NAME = 1,      /* messages[].name, a tool call's function name */
    API_TEXT_TOOL_ARGS = 2, /* tool_calls[].function.arguments: JSON, read as text */
    API_TEXT_TOOL_SPEC = 3, /* tool / function descriptions and schema strings */
    API_TEXT_PROMPT = 4,    /* /v1/completions prompt and suffix */
    API_TEXT_INPUT = 5,     /* /v1/embeddings input */
    API_TEXT_ANSWER = 6,    /* text of a model's answer */
    API_TEXT_SCHEMA = 7,    /* response_format JSON schema strings */
};

struct api_text_info {
    const char *path;        /* JSON pointer ("/messages/2/content/0/text"); inside a
                                schema it stops at the schema: user-chosen keys are
                                never part of a path */
    enum api_text_kind kind;
    const char *role;        /* the message's role, or NULL */
    size_t message;          /* index in messages[], or SIZE_MAX */
};

/* What else a request says. Pointers live as long as the body. */
struct api_request_info {
    const char *model;         /* NULL when absent */
    int stream;                /* "stream": true */
    int include_usage;         /* "stream_options": {"include_usage": true} */
    size_t nmessages;          /* messages[] (chat) */
    size_t nmedia;             /* image, audio and file parts: not text, not inspected */
    size_t nuninspectable;     /* token-id inputs (only when allow_uninspectable) */
    const char *uninspectable; /* path of the first one, or NULL */
};

#define API_MODEL_NAME_MAX 128

struct api_usage {
    char model[API_MODEL_NAME_MAX]; /* the answer's "model" (the model that served it), or "" */
    int present;
    int64_t prompt_tokens, completion_tokens, total_tokens;
};

/* Parses an OpenAI-compatible request body for endpoint ep (chat, completions
 * or embeddings) and collects, in document order, every text the model will
 * read: chat messages' content (string or text parts), names, tool calls'
 * arguments, tool results, tool and function descriptions and their parameter
 * schemas' strings, response_format schema strings; completions' prompt and
 * suffix; embeddings' input. Unknown fields are kept untouched. Returns
 * VIGIE_OK and *out, or an error with the reason in err (may be NULL):
 * VIGIE_ERR_TOO_BIG, VIGIE_ERR_PARSE (JSON, duplicate, depth, type,
 * uninspectable) or VIGIE_ERR_NOMEM. */
int api_request_parse(enum policy_endpoint ep, const char *body, size_t len,
                      const struct api_limits *lim, struct api_body **out,
                      struct api_error *err);

/* Parses a model's non-streamed answer for endpoint ep and collects the texts
 * that may hold pseudonyms: choices[].message.content (string or text parts),
 * refusal, tool calls' and function_call's arguments, choices[].text. Usage
 * is read for audit. Same returns as api_request_parse. */
int api_response_parse(enum policy_endpoint ep, const char *body, size_t len,
                       const struct api_limits *lim, struct api_body **out,
                       struct api_error *err);

/* Wipes every copy of prompt text the body holds, then frees it. NULL is fine. */
void api_body_free(struct api_body *b);

size_t api_body_ntexts(const struct api_body *b);
/* The texts as policy takes them (policy_request.texts), decoded from JSON. */
const struct policy_text *api_body_texts(const struct api_body *b);
void api_body_text_info(const struct api_body *b, size_t i, struct api_text_info *out);
void api_body_request_info(const struct api_body *b, struct api_request_info *out);
void api_body_usage(const struct api_body *b, struct api_usage *out);

/* Replaces text i (copied; the text view then shows the new value). */
int api_body_set_text(struct api_body *b, size_t i, const char *s, size_t len);
/* Replaces every text i with changed[i] set by texts[i], as policy_decision
 * hands them over (out, out_changed, ntexts). n must be api_body_ntexts(). */
int api_body_apply(struct api_body *b, const struct vigie_buf *texts, const int *changed,
                   size_t n);
/* Restores the pseudonyms of map in every text (answers). */
int api_body_restore(struct api_body *b, const struct detect_revmap *map);
/* Sets the request's model (a reroute), adding the key if it was absent. */
int api_request_set_model(struct api_body *b, const char *model);
/* A streamed request: asks the model for its usage figures
 * (stream_options.include_usage), keeping the client's other stream options.
 * No-op when the client asked already. The stream filter then hides the usage
 * chunk from the client (api_stream_hide_usage). */
int api_request_ask_usage(struct api_body *b);
/* 1 when some text or the model was set to a different value. */
int api_body_changed(const struct api_body *b);

/* Writes the body with every change spliced into the original bytes: out is
 * reset first and holds at most lim->out_max bytes. Call only when
 * api_body_changed(); otherwise forward the original bytes. */
int api_body_write(struct api_body *b, struct vigie_buf *out, struct api_error *err);

/* ---- streamed answers ---------------------------------------------------------- */

/* A stream filter restores pseudonyms in a streamed answer as it passes:
 * choices[].delta.content, tool calls' argument deltas, choices[].text (SSE,
 * OpenAI style), message.content and response (NDJSON, Ollama style). A token
 * split across events is restored whole: only the trailing bytes of a text
 * that are still the beginning of a known token are held back, and they join
 * the next event of the same choice (or a chunk of their own at the choice's
 * finish_reason, at [DONE] or at the end). Every other byte goes out at once,
 * each complete event as soon as it is complete, in order, with every field
 * but the restored texts as it came. Events that are not JSON pass through.
 * map may be NULL (nothing to restore: events pass through, usage is read). */
struct api_stream;

struct api_stream *api_sse_new(const struct detect_revmap *map, const struct api_limits *lim);
struct api_stream *api_ndjson_new(const struct detect_revmap *map, const struct api_limits *lim);

/* Feeds len bytes of the stream; complete events are appended to out.
 * Returns VIGIE_OK, VIGIE_ERR_TOO_BIG (an event over event_max, or out full)
 * or VIGIE_ERR_NOMEM; after an error the stream must be aborted. */
int api_stream_feed(struct api_stream *s, const char *in, size_t len, struct vigie_buf *out,
                    struct api_error *err);
/* The stream ended: appends any text still held back and any unterminated
 * last event. */
int api_stream_finish(struct api_stream *s, struct vigie_buf *out, struct api_error *err);
void api_stream_usage(const struct api_stream *s, struct api_usage *out);
/* An observer sees every piece of restored text as the filter releases it,
 * before its event is written out: (choice index, field: 0 content, 1
 * completion text, 2 tool-call arguments, 3 NDJSON response), in order per
 * (choice, field). Returning non-zero stops the stream: the feed or finish
 * call fails with API_WHY_STOPPED and the event holding that text is not
 * written. The gateway applies the policy's answer clauses this way. */
typedef int (*api_stream_observe_fn)(void *arg, int64_t choice, int field, const char *text,
                                     size_t len);
void api_stream_set_observer(struct api_stream *s, api_stream_observe_fn fn, void *arg);
/* The gateway asked for usage the client did not ask for: the final usage
 * chunk (empty choices, a usage object) is read, then not passed on. */
void api_stream_hide_usage(struct api_stream *s);

/* Events seen, events whose JSON did not parse (passed through as they came). */
void api_stream_counts(const struct api_stream *s, size_t *events, size_t *unparsed);
void api_stream_free(struct api_stream *s);

#endif
