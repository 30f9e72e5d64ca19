/* sign.c - the keys and the raw signatures of pushed images (OpenSSL EVP).
 *
 * Keys are ECDSA on P-256 and signatures ECDSA with SHA-256 in DER, the
 * kind cosign makes and checks with `--key`: a private key in PKCS#8 PEM
 * (unencrypted, so that `cosign import-key-pair` and openssl read it)
 * and its public half in PKIX PEM (what `cosign public-key` prints).
 * What the bytes signed mean is cosign.c's business.  Errors from
 * OpenSSL are converted here.
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
#define MAX_SIG_BYTES 80        /* DER of two 256-bit integers, with room */

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
        cleanup_evp_pkey EVP_PKEY *key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");

        if (key == NULL)
                return pgimg_error_from_ssl (err, "generating an ECDSA P-256 key");
        if (write_pem (priv_path, 0600, key, 1, err) < 0)
                return -1;
        return write_pem (pub_path, 0644, key, 0, err);
}

static int
is_p256 (EVP_PKEY *key)
{
        char group[32];

        return EVP_PKEY_get_base_id (key) == EVP_PKEY_EC
               && EVP_PKEY_get_group_name (key, group, sizeof (group), NULL) == 1
               && strcmp (group, "prime256v1") == 0;
}

/* One line for a key pgimg cannot use, saying what to do instead. */
static int
key_error (const char *path, const char *pem, EVP_PKEY *key, int private_part, pgimg_error_t *err)
{
        const char *what = private_part ? "private" : "public";

        if (strstr (pem, "ENCRYPTED SIGSTORE PRIVATE KEY") || strstr (pem, "ENCRYPTED COSIGN PRIVATE KEY"))
                return pgimg_make_error (err, EINVAL,
                                         "%s: an encrypted cosign key, which pgimg cannot read; make the key with "
                                         "`pgimg key generate` (or openssl) and give it to cosign with "
                                         "`cosign import-key-pair --key FILE`",
                                         path);
        if (key != NULL && EVP_PKEY_get_base_id (key) == EVP_PKEY_ED25519)
                return pgimg_make_error (err, EINVAL,
                                         "%s: an ed25519 key of an older pgimg; signatures are now cosign's "
                                         "ECDSA P-256: make a new pair with `pgimg key generate` and trust its .pub",
                                         path);
        return pgimg_make_error (err, EINVAL,
                                 "%s: not an ECDSA P-256 %s key in PEM (make one with `pgimg key generate`)", path,
                                 what);
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
        ERR_clear_error ();
        if (key == NULL || !is_p256 (key)) {
                key_error (path, b.data ? b.data : "", key, private_part, err);
                EVP_PKEY_free (key);
                return NULL;
        }
        return key;
}

int
reg_key_check (const char *key_path, int private_part, pgimg_error_t *err)
{
        cleanup_evp_pkey EVP_PKEY *key = read_key (key_path, private_part, err);

        return key == NULL ? -1 : 0;
}

int
reg_keys_check (const char *const *pub_paths, int *n, pgimg_error_t *err)
{
        *n = 0;
        for (const char *const *p = pub_paths; p && *p; p++, (*n)++)
                if (reg_key_check (*p, 0, err) < 0)
                        return -1;
        return 0;
}

int
reg_sign (const char *key_path, const void *data, size_t len, char **sig_b64, pgimg_error_t *err)
{
        cleanup_evp_pkey EVP_PKEY *key = read_key (key_path, 1, err);
        cleanup_evp_ctx EVP_MD_CTX *ctx = NULL;
        unsigned char sig[MAX_SIG_BYTES + 64];
        size_t sig_len = sizeof (sig);

        if (key == NULL)
                return -1;
        if ((ctx = EVP_MD_CTX_new ()) == NULL || EVP_DigestSignInit (ctx, NULL, EVP_sha256 (), NULL, key) != 1
            || EVP_DigestSign (ctx, sig, &sig_len, data, len) != 1)
                return pgimg_error_from_ssl (err, "signing with %s", key_path);
        if ((*sig_b64 = reg_base64 ((const char *) sig, sig_len)) == NULL)
                return pgimg_make_error (err, ENOMEM, "sign: out of memory");
        return 0;
}

static int
verify_one (EVP_PKEY *key, const void *data, size_t len, const unsigned char *sig, size_t sig_len)
{
        cleanup_evp_ctx EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
        int ok = ctx != NULL && EVP_DigestVerifyInit (ctx, NULL, EVP_sha256 (), NULL, key) == 1
                 && EVP_DigestVerify (ctx, sig, sig_len, data, len) == 1;

        ERR_clear_error ();
        return ok;
}

int
reg_verify (const char *const *pub_paths, const void *data, size_t len, const char *sig_b64, pgimg_error_t *err)
{
        cleanup_free char *sig = NULL;
        size_t sig_len = 0;

        /* A signature that is not base64 of a few dozen bytes is no
         * signature by any key; the keys are still read, so that a bad
         * key file is reported whatever the registry holds. */
        if (strlen (sig_b64) > 2 * MAX_SIG_BYTES || reg_unbase64 (sig_b64, &sig, &sig_len) < 0)
                sig_len = 0;
        for (const char *const *p = pub_paths; p && *p; p++) {
                cleanup_evp_pkey EVP_PKEY *key = read_key (*p, 0, err);
                if (key == NULL)
                        return -1;
                if (sig_len > 0 && verify_one (key, data, len, (const unsigned char *) sig, sig_len))
                        return 1;
        }
        return 0;
}
