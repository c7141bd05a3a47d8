/*
 * SHA-256 and HMAC-SHA-256 as lower-case hex, for the chain and the MACs of
 * audit records (audit.h, hash.h).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "audit/audit.h"
#include "audit/hash.h"

static void hexify(const unsigned char *md, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void audit_sha256_hex(const void *p, size_t n, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)p, n, md);
    hexify(md, sizeof(md), out);
}

void audit_hmac_hex(const unsigned char *key, size_t keylen, const void *p, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)p, n, md, &mdlen) == NULL ||
        mdlen != SHA256_DIGEST_LENGTH) {
        /* cannot happen with a valid key; an all-zero MAC never verifies */
        memset(out, '0', AUDIT_HASH_HEX);
        out[AUDIT_HASH_HEX] = '\0';
        return;
    }
    hexify(md, mdlen, out);
}

void audit_hasher_init(struct audit_hasher *h, const unsigned char *key, size_t keylen)
{
    memset(h, 0, sizeof(*h));
    h->key = key;
    h->keylen = keylen;
    h->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (h->sha256 != NULL)
        h->md = EVP_MD_CTX_new();
    if (key != NULL) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (mac != NULL) {
            h->mac = EVP_MAC_CTX_new(mac);
            if (h->mac != NULL && EVP_MAC_init(h->mac, key, keylen, params) != 1) {
                EVP_MAC_CTX_free(h->mac);
                h->mac = NULL;
            }
            EVP_MAC_free(mac); /* the context keeps its own reference */
        }
    }
}

void audit_hasher_fini(struct audit_hasher *h)
{
    EVP_MAC_CTX_free(h->mac);
    EVP_MD_CTX_free(h->md);
    EVP_MD_free(h->sha256);
    memset(h, 0, sizeof(*h));
}

void audit_hasher_sha256_hex(struct audit_hasher *h, const void *p, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (h->md == NULL || EVP_DigestInit_ex2(h->md, h->sha256, NULL) != 1 ||
        EVP_DigestUpdate(h->md, p, n) != 1 || EVP_DigestFinal_ex(h->md, md, &mdlen) != 1 ||
        mdlen != SHA256_DIGEST_LENGTH) {
        audit_sha256_hex(p, n, out);
        return;
    }
    hexify(md, mdlen, out);
}

void audit_hasher_hmac_hex(struct audit_hasher *h, const void *p, size_t n, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;

    if (h->mac == NULL || EVP_MAC_init(h->mac, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(h->mac, p, n) != 1 || EVP_MAC_final(h->mac, md, &mdlen, sizeof(md)) != 1 ||
        mdlen != SHA256_DIGEST_LENGTH) {
        audit_hmac_hex(h->key, h->keylen, p, n, out);
        return;
    }
    hexify(md, mdlen, out);
}
