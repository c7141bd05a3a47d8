/*
 * Every limit vigie enforces, in one place (curl's lesson). Each is a default;
 * the configuration may lower or raise the ones marked "configurable".
 */
#ifndef VIGIE_CORE_LIMITS_H
#define VIGIE_CORE_LIMITS_H

/* Text handed to one scan (configurable: vigie scan --max-input). */
#define VIGIE_SCAN_INPUT_MAX (4u * 1024 * 1024)

/* PCRE2: explicit low limits. The match limit bounds work per start position;
 * the JIT stack bounds recursion of compiled code. */
#define VIGIE_PCRE2_MATCH_LIMIT 100000u
#define VIGIE_PCRE2_DEPTH_LIMIT 5000u
/* Regions, places of anchored rules and candidates recorded per scan at most
 * (56, 16 and 48 bytes each, two scans kept: about 4 MB at most per scanner):
 * past this, a rescan scans everything, as it did before there were records.
 * A prompt needs a few hundred; long texts gain little anyway, their regions
 * merging into a few long ones that hold a replacement. */
#define VIGIE_DETECT_RECS_MAX 16384u
#define VIGIE_PCRE2_JIT_STACK_START (32u * 1024)
#define VIGIE_PCRE2_JIT_STACK_MAX (512u * 1024)

/* Load-time hostile-input check of each pattern: generated subjects of this
 * size, and the CPU time one full scan of one of them may take. A linear JIT
 * pattern needs well under 1 ms here; catastrophic ones need seconds. */
#define VIGIE_HOSTILE_SUBJECT_SIZE (64u * 1024)
#ifdef VIGIE_INSTRUMENTED
/* Sanitizer and fuzzer builds run matching code 2 to 10 times slower: the
 * budget that separates linear from catastrophic patterns scales with it
 * (catastrophic ones need seconds to hours, linear ones a few ms). Without
 * this, a linear pattern near the release budget fails to load at random. */
#define VIGIE_HOSTILE_BUDGET_MS 1000u
#else
#define VIGIE_HOSTILE_BUDGET_MS 100u
#endif

/* Rule packs and configuration files. */
#define VIGIE_CONF_FILE_MAX (4u * 1024 * 1024)
#define VIGIE_CONF_DEPTH_MAX 64u
#define VIGIE_CONF_NODES_MAX 200000u
#define VIGIE_CONF_SCALAR_MAX (64u * 1024)
#define VIGIE_PACK_RULES_MAX 4096u
#define VIGIE_PACK_FILES_MAX 256u
#define VIGIE_RULE_WORDS_MAX 512u
#define VIGIE_RULE_EXAMPLES_MAX 256u

/* Normalisation: changed characters (each costs one map segment) per text.
 * A text with more is refused as too big: real prose changes a few percent
 * of its characters; 4 MiB of invalid bytes or full-width digits is hostile. */
#define VIGIE_NORM_SEGS_MAX (1u << 20)

/* Detection. */
#define VIGIE_WINDOW_MAX 1024u         /* bytes of trigger window or context window */
#define VIGIE_WINDOW_DEFAULT 32u       /* trigger window when a rule does not say */
#define VIGIE_CONTEXT_WINDOW_DEFAULT 48u
#define VIGIE_VALUE_MAX 1024u          /* longest value a validator or masker handles */
#define VIGIE_FINDINGS_MAX 100000u     /* per scan; past this the scan fails closed */
#define VIGIE_REDACT_PASSES 3u         /* mask, rescan, ...: a text still changing fails */

/* Policies: the defaults of a group's limits, and the most a policy may set. */
#define VIGIE_POLICY_BODY_DEFAULT (4u * 1024 * 1024)
#define VIGIE_POLICY_BODY_MAX (64u * 1024 * 1024)
#define VIGIE_POLICY_MESSAGES_DEFAULT 256u
#define VIGIE_POLICY_MESSAGES_MAX 100000u
#define VIGIE_POLICY_INSPECT_MS_DEFAULT 250u
#define VIGIE_POLICY_TEXTS_MAX 100000u /* text fields inspected per request */

/* HTTP/1.1 (proxy/http): the defaults of struct http_limits, and the status
 * a breach answers. Request line and header section count their CRLFs. */
#define VIGIE_HTTP_LINE_MAX (8u * 1024)              /* request/status line: 414 */
#define VIGIE_HTTP_SECTION_MAX (32u * 1024)          /* header section: 431 */
#define VIGIE_HTTP_FIELDS_MAX 100u                   /* header field lines: 431 */
#define VIGIE_HTTP_BODY_MAX (4u * 1024 * 1024)       /* request body: 413 */
#define VIGIE_HTTP_RESPONSE_BODY_MAX (256u * 1024 * 1024) /* upstream answer: 502 */
#define VIGIE_HTTP_CHUNK_EXT_MAX 4096u               /* extension bytes per chunk line: 400 */
#define VIGIE_HTTP_CHUNK_EXT_COUNT 16u               /* extensions per chunk line: 400 */
#define VIGIE_HTTP_TRAILER_MAX 4096u                 /* trailer bytes, discarded: 431 */
#define VIGIE_HTTP_INTERIM_MAX 8u                    /* 1xx answers before the final one */
#define VIGIE_HTTP_CONN_TOKENS_MAX 16u               /* tokens in Connection fields: 400 */
#define VIGIE_HTTP_CHUNK_DIGITS_MAX 16u              /* hex digits of a chunk size: 400 */

/* API wire formats (proxy/api). The group's body limit applies first; these
 * bound what the JSON parser, the splice and the stream filters accept. */
#define VIGIE_API_BODY_MAX (4u * 1024 * 1024)  /* one JSON body: 413 beyond */
#define VIGIE_API_OUT_MAX (16u * 1024 * 1024)  /* one rewritten body */
#define VIGIE_API_DEPTH_MAX 64u                /* nested arrays/objects: 400 beyond */
#define VIGIE_API_ELEMENTS_MAX 100000u         /* values (containers and commas): 400 beyond */
#define VIGIE_API_NUMBER_MAX 64u               /* characters of a number token: 400 beyond */
#define VIGIE_API_TEXTS_MAX 100000u            /* text fields per body */
#define VIGIE_API_EVENT_MAX (1u * 1024 * 1024) /* one SSE event or NDJSON line */
#define VIGIE_API_STREAMS_MAX 1024u            /* (choice, field) streams per answer */

/* Diagnostics kept per load. */
#define VIGIE_DIAG_MAX 200u

#endif
