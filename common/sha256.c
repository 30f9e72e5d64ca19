#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libssl.h"
#include "common/sha256.h"

int
sha256_init (struct sha256 *h, pgimg_error_t *err)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new ();

        if (ctx == NULL)
                return pgimg_error_from_ssl (err, "sha256");
        if (EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1) {
                EVP_MD_CTX_free (ctx);
                return pgimg_error_from_ssl (err, "sha256");
        }
        h->ctx = ctx;
        return 0;
}

int
sha256_update (struct sha256 *h, const void *data, size_t len, pgimg_error_t *err)
{
        if (len && EVP_DigestUpdate (h->ctx, data, len) != 1)
                return pgimg_error_from_ssl (err, "sha256");
        return 0;
}

int
sha256_update_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        return sha256_update (ctx, data, len, err);
}

int
sha256_final_hex (struct sha256 *h, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        unsigned char md[32];
        unsigned int n = 0;
        static const char digits[] = "0123456789abcdef";

        if (EVP_DigestFinal_ex (h->ctx, md, &n) != 1 || n != 32) {
                sha256_free (h);
                return pgimg_error_from_ssl (err, "sha256");
        }
        for (unsigned int i = 0; i < 32; i++) {
                hex[2 * i] = digits[md[i] >> 4];
                hex[2 * i + 1] = digits[md[i] & 15];
        }
        hex[64] = '\0';
        sha256_free (h);
        return 0;
}

void
sha256_free (struct sha256 *h)
{
        if (h->ctx) {
                EVP_MD_CTX_free (h->ctx);
                h->ctx = NULL;
        }
}

int
sha256_buf_hex (const void *data, size_t len, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;

        if (sha256_init (&h, err) < 0 || sha256_update (&h, data, len, err) < 0)
                return -1;
        return sha256_final_hex (&h, hex, err);
}

int
sha256_file_hex (const char *path, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        cleanup_fd int fd = open (path, O_RDONLY | O_CLOEXEC);
        char chunk[1 << 16];

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", path);
        if (sha256_init (&h, err) < 0)
                return -1;
        if (fs_read_chunks (fd, chunk, sizeof (chunk), sha256_update_chunk, &h, err, "read `%s`", path) < 0)
                return -1;
        return sha256_final_hex (&h, hex, err);
}

int
sha256_hex_valid (const char *s)
{
        size_t i;

        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return 0;
        return i == SHA256_HEX_LEN;
}
