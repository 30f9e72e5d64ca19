/* sign.c - ed25519 signatures over manifest digests (OpenSSL EVP).
 *
 * What is signed is the line "pgimg-manifest-v1 sha256:<hex>\n": the
 * digest pins the manifest, which pins every blob, so one signature
 * covers the whole image.  Errors from OpenSSL are converted here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libssl.h"
#include "registry/internal.h"

#define MAX_KEY_BYTES 16384

static int
message (const char *digest, char out[96])
{
        return snprintf (out, 96, "pgimg-manifest-v1 %s\n", digest);
}

static int
write_pem (const char *path, mode_t mode, EVP_PKEY *key, int private_part, pgimg_error_t *err)
{
        cleanup_bio BIO *b = BIO_new (BIO_s_mem ());
        char *data;
        long len;

        if (b == NULL || !(private_part ? PEM_write_bio_PrivateKey (b, key, NULL, NULL, 0, NULL, NULL)
                                        : PEM_write_bio_PUBKEY (b, key)))
                return pgimg_error_from_ssl (err, "%s", path);
        len = BIO_get_mem_data (b, &data);
        return fs_write_file_atomic (path, data, (size_t) len, mode, err);
}

int
registry_key_generate (const char *priv_path, const char *pub_path, pgimg_error_t *err)
{
        cleanup_evp_pkey EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");

        if (key == NULL)
                return pgimg_error_from_ssl (err, "generating an ed25519 key");
        if (write_pem (priv_path, 0600, key, 1, err) < 0)
                return -1;
        return write_pem (pub_path, 0644, key, 0, err);
}

static EVP_PKEY *
read_key (const char *path, int private_part, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_bio BIO *bio = NULL;
        EVP_PKEY *key;

        if (fs_read_file (path, MAX_KEY_BYTES, &b, err) < 0)
                return NULL;
        if ((bio = BIO_new_mem_buf (b.data ? b.data : "", (int) b.len)) == NULL) {
                pgimg_error_from_ssl (err, "%s", path);
                return NULL;
        }
        key = private_part ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL);
        if (key == NULL || EVP_PKEY_get_id (key) != EVP_PKEY_ED25519) {
                EVP_PKEY_free (key);
                ERR_clear_error ();
                pgimg_make_error (err, EINVAL, "%s: not an ed25519 %s key in PEM (make one with `pgimg key generate`)",
                                  path, private_part ? "private" : "public");
                return NULL;
        }
        return key;
}

int
reg_sign (const char *key_path, const char *manifest_digest, unsigned char sig[64], pgimg_error_t *err)
{
        cleanup_evp_pkey EVP_PKEY *key = read_key (key_path, 1, err);
        cleanup_evp_ctx EVP_MD_CTX *ctx = NULL;
        char msg[96];
        size_t len = 64;
        int n = message (manifest_digest, msg);

        if (key == NULL)
                return -1;
        if ((ctx = EVP_MD_CTX_new ()) == NULL || EVP_DigestSignInit (ctx, NULL, NULL, NULL, key) != 1
            || EVP_DigestSign (ctx, sig, &len, (const unsigned char *) msg, (size_t) n) != 1 || len != 64)
                return pgimg_error_from_ssl (err, "signing the manifest");
        return 0;
}

static int
verify_one (EVP_PKEY *key, const char *msg, size_t n, const unsigned char *sig, size_t sig_len)
{
        cleanup_evp_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
        int ok = ctx != NULL && EVP_DigestVerifyInit (ctx, NULL, NULL, NULL, key) == 1
                 && EVP_DigestVerify (ctx, sig, sig_len, (const unsigned char *) msg, n) == 1;

        ERR_clear_error ();
        return ok;
}

int
reg_verify (const char *const *pub_paths, const char *manifest_digest, const unsigned char *sig,
            size_t sig_len, pgimg_error_t *err)
{
        char msg[96];
        int n = message (manifest_digest, msg), keys = 0;

        for (const char *const *p = pub_paths; p && *p; p++, keys++) {
                cleanup_evp_pkey EVP_PKEY *key = read_key (*p, 0, err);
                if (key == NULL)
                        return -1;
                if (sig_len == 64 && verify_one (key, msg, (size_t) n, sig, sig_len))
                        return 0;
        }
        return pgimg_make_error (err, EPERM,
                                 "the signature of manifest %s is not made by any of the %d trusted keys "
                                 "(tampered, or signed by another key); refused",
                                 manifest_digest, keys);
}
