/* libssl.h - where OpenSSL (libcrypto) meets pgimg: its errors and its
 * cleanup.
 *
 * Include this (and so OpenSSL's headers) only in a module that hashes
 * or signs; OpenSSL's types never travel past that module.
 */
#ifndef PGIMG_LIBSSL_H
#define PGIMG_LIBSSL_H

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "common/error.h"

static inline void
cleanup_evp_md_ctxp (EVP_MD_CTX **c)
{
        EVP_MD_CTX_free (*c);
}
#define cleanup_evp_ctx __attribute__ ((cleanup (cleanup_evp_md_ctxp)))

static inline void
cleanup_evp_pkeyp (EVP_PKEY **k)
{
        EVP_PKEY_free (*k);
}
#define cleanup_evp_pkey __attribute__ ((cleanup (cleanup_evp_pkeyp)))

static inline void
cleanup_biop (BIO **b)
{
        BIO_free (*b);
}
#define cleanup_bio __attribute__ ((cleanup (cleanup_biop)))

/* "<what>: OpenSSL's text" for the oldest error in the thread's queue
 * (the cause; later entries are context), status EIO.  The queue is
 * left empty, so that the next failure does not report this one.
 * Returns a negative value. */
int pgimg_error_from_ssl (pgimg_error_t *err, const char *fmt, ...)
        __attribute__ ((format (printf, 2, 3)));

#endif
