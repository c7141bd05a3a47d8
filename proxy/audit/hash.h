/*
 * The audit module's SHA-256 and HMAC-SHA-256, as hex. One-shot helpers are
 * in audit.h; a hasher holds contexts fetched and keyed once, because OpenSSL
 * 3's one-shot calls fetch the algorithm on every call, which costs more than
 * hashing a line. Both give the same bytes. Not a public header.
 */
#ifndef VIGIE_AUDIT_HASH_H
#define VIGIE_AUDIT_HASH_H

#include <stddef.h>

#include <openssl/evp.h>

struct audit_hasher {
    const unsigned char *key; /* borrowed; NULL: no MAC */
    size_t keylen;
    EVP_MD *sha256;
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;
};

/* Fetches and keys the contexts. A failure leaves a context NULL and the
 * one-shot helpers take over: slower, same bytes. key may be NULL. */
void audit_hasher_init(struct audit_hasher *h, const unsigned char *key, size_t keylen);
void audit_hasher_fini(struct audit_hasher *h);
/* out: AUDIT_HASH_HEX + 1 bytes. Not thread-safe: one user at a time. */
void audit_hasher_sha256_hex(struct audit_hasher *h, const void *p, size_t n, char *out);
void audit_hasher_hmac_hex(struct audit_hasher *h, const void *p, size_t n, char *out);

#endif
