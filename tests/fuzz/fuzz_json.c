/*
 * Differential fuzzer of the JSON reader (proxy/api/jsonparse.c) against
 * jansson's json_loadb(JSON_REJECT_DUPLICATES): on every input, both accept
 * and build equal trees, or both refuse. The reader exists to be faster; this
 * is what keeps it from being different. The only inputs excused are those
 * the gateway refuses before either runs (nesting over 64, number tokens of
 * 64 characters or more: api_json_load's pre-scan), and those with a NUL
 * byte: jansson's stream takes a NUL for "buffer empty" and skips it, so it
 * reads "[1e40\0]" as [1e40] and "a\0b" inside a string as "ab" — text the
 * gateway would not have inspected as the model reads it. A NUL byte is
 * never JSON; ours must refuse every such input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* Longest run of number characters outside strings, and nesting depth. */
static void shape(const unsigned char *s, size_t n, size_t *numrun, size_t *depth)
{
    size_t i, run = 0, d = 0;
    int in = 0, esc = 0;

    *numrun = 0;
    *depth = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (in) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in = 0;
            continue;
        }
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
            if (++run > *numrun)
                *numrun = run;
            continue;
        }
        run = 0;
        if (c == '"')
            in = 1;
        else if (c == '[' || c == '{') {
            if (++d > *depth)
                *depth = d;
        } else if ((c == ']' || c == '}') && d > 0)
            d--;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    json_error_t je;
    enum api_json_err err;
    size_t at, numrun, depth;
    json_t *ours, *theirs;

    api_init();
    shape(data, size, &numrun, &depth);
    if (numrun >= VIGIE_API_NUMBER_MAX || depth > VIGIE_API_DEPTH_MAX)
        return 0;
    ours = api_json_parse((const char *)data, size, VIGIE_API_DEPTH_MAX, &err, &at);
    if (memchr(data, 0, size) != NULL) {
        if (ours != NULL) {
            fprintf(stderr, "fuzz_json: ours accepts a NUL byte\n");
            abort();
        }
        return 0;
    }
    theirs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if ((ours == NULL) != (theirs == NULL)) {
        fprintf(stderr, "fuzz_json: ours %s (err %d at %zu), jansson %s (%s at %d)\n",
                ours ? "accepts" : "refuses", (int)err, at, theirs ? "accepts" : "refuses",
                theirs ? "" : je.text, theirs ? 0 : je.position);
        abort();
    }
    if (ours != NULL && !json_equal(ours, theirs)) {
        fprintf(stderr, "fuzz_json: both accept, trees differ\n");
        abort();
    }
    json_decref(ours);
    json_decref(theirs);
    return 0;
}
