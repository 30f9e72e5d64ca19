/* sha256.h - SHA-256 through OpenSSL, as lowercase hex.
 *
 * The one place pgimg hashes content: download checks, layer digests,
 * cache keys.  Errors from OpenSSL are converted here.
 */
#ifndef PGIMG_SHA256_H
#define PGIMG_SHA256_H

#include <stddef.h>

#include "common/error.h"

#define SHA256_HEX_LEN 64

struct sha256 {
        void *ctx;              /* EVP_MD_CTX */
};
#define SHA256_INIT { NULL }

int sha256_init (struct sha256 *h, pgimg_error_t *err);
int sha256_update (struct sha256 *h, const void *data, size_t len, pgimg_error_t *err);
/* sha256_update as an fs_chunk_fn: ctx is the struct sha256. */
int sha256_update_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err);
/* Writes 64 hex digits and a NUL into hex; frees the context. */
int sha256_final_hex (struct sha256 *h, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err);
void sha256_free (struct sha256 *h);

int sha256_buf_hex (const void *data, size_t len, char hex[SHA256_HEX_LEN + 1],
                    pgimg_error_t *err);
int sha256_file_hex (const char *path, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err);

/* 1 when s is 64 lowercase hex digits. */
int sha256_hex_valid (const char *s);

static inline void
cleanup_sha256p (struct sha256 *h)
{
        sha256_free (h);
}
#define cleanup_sha256 __attribute__ ((cleanup (cleanup_sha256p)))

#endif
