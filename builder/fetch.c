/* fetch.c - a minimal fetcher: plain GETs through libcurl, a sha256
 * check, a content-addressed cache.  No progress line and no resumption;
 * enough for `pgimg lock` and the .deb downloads of a build. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "builder/fetch.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

static int fetch_retries = 3;
static long fetch_stall_timeout_s = 30;

void
fetch_set_limits (int retries, long stall_timeout_s)
{
        fetch_retries = retries > 0 ? retries : 1;
        fetch_stall_timeout_s = stall_timeout_s > 0 ? stall_timeout_s : 30;
}

static void
cleanup_curlp (CURL **c)
{
        if (*c)
                curl_easy_cleanup (*c);
}
#define cleanup_curl __attribute__ ((cleanup (cleanup_curlp)))

static int
pgimg_error_from_curl (pgimg_error_t *err, CURLcode rc, const char *errbuf, const char *url)
{
        return pgimg_make_error (err, EIO, "GET %s: %s", url,
                                 errbuf && *errbuf ? errbuf : curl_easy_strerror (rc));
}

/* Where a transfer's bytes go: a buffer or a file, hashed on the way. */
struct sink {
        struct buf *buf;
        size_t max_bytes;
        int fd;
        struct sha256 *hash;
        int failed_errno;
};

static size_t
sink_write (char *data, size_t size, size_t nmemb, void *opaque)
{
        struct sink *s = opaque;
        size_t len = size * nmemb;

        if (s->buf) {
                if (s->max_bytes && s->buf->len + len > s->max_bytes) {
                        s->failed_errno = EFBIG;
                        return 0;
                }
                if (buf_add (s->buf, data, len) < 0) {
                        s->failed_errno = errno;
                        return 0;
                }
        }
        if (s->fd >= 0 && fs_write_all (s->fd, data, len) < 0) {
                s->failed_errno = errno;
                return 0;
        }
        if (s->hash && sha256_update (s->hash, data, len, NULL) < 0) {
                s->failed_errno = EIO;
                return 0;
        }
        return len;
}

static int
get_once (const char *url, struct sink *s, pgimg_error_t *err)
{
        cleanup_curl CURL *c = curl_easy_init ();
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode rc;

        if (c == NULL)
                return pgimg_make_error (err, ENOMEM, "GET %s: cannot start libcurl", url);
        curl_easy_setopt (c, CURLOPT_URL, url);
        curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt (c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt (c, CURLOPT_USERAGENT, "pgimg");
        curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, fetch_stall_timeout_s);
        curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, sink_write);
        curl_easy_setopt (c, CURLOPT_WRITEDATA, s);
        rc = curl_easy_perform (c);
        if (rc == CURLE_WRITE_ERROR && s->failed_errno)
                return pgimg_make_error_errno (err, s->failed_errno, "GET %s", url);
        if (rc != CURLE_OK)
                return pgimg_error_from_curl (err, rc, errbuf, url);
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
        /* file:// (tests, local mirrors) has no status. */
        if (status != 200 && !(status == 0 && strncmp (url, "file://", 7) == 0))
                return pgimg_make_error (err, EIO, "GET %s: HTTP status %ld", url, status);
        return 0;
}

int
fetch_to_buf (const char *url, size_t max_bytes, struct buf *out, pgimg_error_t *err)
{
        size_t start = out->len;

        for (int attempt = 1;; attempt++) {
                struct sink s = { out, max_bytes, -1, NULL, 0 };
                pgimg_error_free (err);
                if (get_once (url, &s, err) == 0)
                        return 0;
                out->len = start;
                if (out->data)
                        out->data[start] = '\0';
                if (attempt >= fetch_retries || s.failed_errno)
                        return -1;
        }
}

static int
download_file (const char *url, const char *path, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        struct sink s = { NULL, 0, -1, &h, 0 };

        if (fs_atomic_open (&a, path, 0644, err) < 0)
                return -1;
        if (sha256_init (&h, err) < 0)
                return -1;
        s.fd = a.fd;
        if (get_once (url, &s, err) < 0)
                return -1;
        if (sha256_final_hex (&h, hex, err) < 0)
                return -1;
        return fs_atomic_commit (&a, path, err);
}

int
fetch_to_file (const char *url, const char *path, char sha256_hex[SHA256_HEX_LEN + 1],
               pgimg_error_t *err)
{
        for (int attempt = 1;; attempt++) {
                pgimg_error_free (err);
                if (download_file (url, path, sha256_hex, err) == 0)
                        return 0;
                if (attempt >= fetch_retries)
                        return -1;
        }
}

int
fetch_cached (const char *cache_dir, const char *const *urls, size_t n_urls,
              const char *sha256_hex, const char *what, char **out_path, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;
        char got[SHA256_HEX_LEN + 1];

        if (!sha256_hex_valid (sha256_hex))
                return pgimg_make_error (err, EINVAL, "%s: invalid sha256 `%s`", what, sha256_hex);
        if (asprintf (&dir, "%s/downloads/sha256", cache_dir) < 0
            || asprintf (&path, "%s/%s", dir, sha256_hex) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "%s", what);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        /* A cache entry is trusted only once its digest checks out. */
        if (fs_exists (path)) {
                if (sha256_file_hex (path, got, err) == 0 && strcmp (got, sha256_hex) == 0) {
                        *out_path = steal_pointer (&path);
                        return 0;
                }
                pgimg_error_free (err);
                unlink (path);
        }
        if (n_urls == 0)
                return pgimg_make_error (err, ENOENT, "%s: no URL to download it from", what);
        for (size_t i = 0; i < n_urls; i++) {
                pgimg_error_free (err);
                if (fetch_to_file (urls[i], path, got, err) < 0)
                        continue;
                if (strcmp (got, sha256_hex) == 0) {
                        *out_path = steal_pointer (&path);
                        return 0;
                }
                unlink (path);
                pgimg_make_error (err, EIO,
                                  "sha256 mismatch for %s (want %s, got %s); the download was removed",
                                  urls[i], sha256_hex, got);
        }
        return pgimg_error_wrap (err, "%s: tried %zu mirror%s, last error", what, n_urls,
                                 n_urls == 1 ? "" : "s");
}
