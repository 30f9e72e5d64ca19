/* fetch.c - downloads through libcurl into a content-addressed cache.
 *
 * One transfer is one attempt (attempt); an attempt that failed for a
 * reason that may pass (a stall, a reset, a 5xx, a 429) is retried on
 * the same mirror with a growing pause; anything else moves on to the
 * next mirror.  Bytes are hashed as they arrive, so a download is
 * checked without reading it back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "builder/fetch.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#define CONNECT_TIMEOUT_S 10L
#define LOW_SPEED_BYTES_PER_S 1024L
#define MAX_REDIRECTS 10L
#define BACKOFF_FIRST_MS 1000L
#define BACKOFF_MAX_MS 8000L
/* A server asking for a longer pause (Retry-After) is better skipped. */
#define RETRY_AFTER_MAX_S 30L
#define PROGRESS_INTERVAL_MS 200L

/* Set before downloads start (fetch_set_limits, fetch_set_quiet); read
 * only afterwards. */
static int retries_per_mirror = 3;
static long stall_timeout_s = 30;
static int quiet;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
        curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static inline void
cleanup_curlp (CURL **c)
{
        if (*c != NULL)
                curl_easy_cleanup (*c);
}
#define cleanup_curl __attribute__ ((cleanup (cleanup_curlp)))

void
fetch_set_limits (int retries, long stall_timeout)
{
        retries_per_mirror = retries < 0 ? 0 : retries;
        stall_timeout_s = stall_timeout < 1 ? 1 : stall_timeout;
}

void
fetch_set_quiet (int q)
{
        quiet = q;
}

/* How one attempt ended.  TRANSIENT may be retried on the same mirror;
 * FAILED and MISMATCH move on to the next one; FATAL (the disk is full,
 * OpenSSL failed) stops everything, since no mirror can help. */
enum outcome { DONE, TRANSIENT, FAILED, MISMATCH, FATAL };

/* Where the bytes of one attempt go. */
struct sink {
        int fd;                 /* a file, or -1 */
        const char *dir;        /* the file's directory, for messages */
        struct buf *buf;        /* or a buffer */
        size_t buf_start;
        size_t max_bytes;       /* for buf; 0: only buf->max */
        struct sha256 *hash;    /* may be NULL */
        const char *url;
        pgimg_error_t err;      /* why the sink refused data: fatal */
        const char *label;      /* progress label, NULL: no progress */
        struct timespec last_draw;
        int drawn;
};

/* The one place a CURLcode becomes a pgimg error.  The message starts
 * with the URL: it ends up after "last: " when every mirror failed. */
static int
pgimg_error_from_curl (pgimg_error_t *err, CURLcode code, long http_status, const char *errbuf,
                       const char *url)
{
        if (code == CURLE_HTTP_RETURNED_ERROR && http_status > 0)
                return pgimg_make_error (err, EIO, "%s: HTTP %ld", url, http_status);
        return pgimg_make_error (err, code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s: %s",
                                 url, errbuf && *errbuf ? errbuf : curl_easy_strerror (code));
}

static int
is_transient (CURLcode code, long http_status, int connected)
{
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
                /* A host that did not even accept the connection within
                 * CONNECT_TIMEOUT_S is down; the next mirror is a better
                 * bet than waiting for it again. */
                return connected;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
                return 1;
        case CURLE_HTTP_RETURNED_ERROR:
                return http_status >= 500 || http_status == 429 || http_status == 408;
        default:
                return 0;
        }
}

static long
ms_since (const struct timespec *t)
{
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

static int
progress_wanted (const struct sink *s)
{
        return s->label != NULL && !quiet && isatty (STDERR_FILENO);
}

static void
progress_draw (struct sink *s, curl_off_t now, curl_off_t total)
{
        if (total > 0)
                fprintf (stderr, "\rfetch %s: %.1f/%.1f MB\033[K", s->label, (double) now / 1e6,
                         (double) total / 1e6);
        else
                fprintf (stderr, "\rfetch %s: %.1f MB\033[K", s->label, (double) now / 1e6);
        s->drawn = 1;
        clock_gettime (CLOCK_MONOTONIC, &s->last_draw);
}

static int
on_progress (void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        struct sink *s = data;
        (void) ultotal;
        (void) ulnow;
        if (dlnow > 0 && (!s->drawn || ms_since (&s->last_draw) >= PROGRESS_INTERVAL_MS))
                progress_draw (s, dlnow, dltotal);
        return 0;
}

/* Leave the finished line in place; erase the line of a failed attempt,
 * whose error is reported by the caller. */
static void
progress_end (struct sink *s, CURL *curl, int ok)
{
        curl_off_t got = 0, total = 0;

        if (!s->drawn)
                return;
        if (ok) {
                curl_easy_getinfo (curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
                curl_easy_getinfo (curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
                progress_draw (s, got, total);
                fputc ('\n', stderr);
        } else {
                fputs ("\r\033[K", stderr);
        }
        s->drawn = 0;
}

static int
sink_file (struct sink *s, const char *data, size_t n)
{
        if (fs_write_all (s->fd, data, n) == 0)
                return 0;
        if (errno == ENOSPC || errno == EDQUOT)
                return pgimg_make_error (&s->err, errno,
                                         "no space left in the cache directory `%s` while downloading "
                                         "%s; free some space or choose another --cache-dir",
                                         s->dir, s->url);
        return pgimg_make_error_errno (&s->err, errno, "write into the cache directory `%s`", s->dir);
}

static int
sink_buf (struct sink *s, const char *data, size_t n)
{
        if (s->max_bytes && s->buf->len - s->buf_start + n > s->max_bytes) {
                errno = EFBIG;
        } else if (buf_add (s->buf, data, n) == 0) {
                return 0;
        }
        if (errno == EFBIG)
                return pgimg_make_error (&s->err, EFBIG, "%s: larger than %zu bytes", s->url,
                                         s->max_bytes ? s->max_bytes : s->buf->max);
        return pgimg_make_error_errno (&s->err, errno, "%s", s->url);
}

/* Returning less than asked makes libcurl stop with CURLE_WRITE_ERROR;
 * s->err says why. */
static size_t
on_data (char *data, size_t size, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t n = size * nmemb;

        if (s->hash && sha256_update (s->hash, data, n, &s->err) < 0)
                return 0;
        if ((s->buf ? sink_buf (s, data, n) : sink_file (s, data, n)) < 0)
                return 0;
        return n;
}

static CURLcode
setup (CURL *curl, const char *url, struct sink *s, char *errbuf)
{
        CURLcode rc = CURLE_OK;
#define SET(opt, val) \
        if (rc == CURLE_OK) \
                rc = curl_easy_setopt (curl, opt, val)
        SET (CURLOPT_URL, url);
        SET (CURLOPT_ERRORBUFFER, errbuf);
        /* Signals would be unsafe with threads; timeouts use the clock. */
        SET (CURLOPT_NOSIGNAL, 1L);
        /* file:// only when named directly (a local mirror, whose files
         * are checked like any other); a redirect may lead only to
         * http(s), and ftp:// is never spoken. */
        SET (CURLOPT_PROTOCOLS_STR, "http,https,file");
        SET (CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET (CURLOPT_FOLLOWLOCATION, 1L);
        SET (CURLOPT_MAXREDIRS, MAX_REDIRECTS);
        SET (CURLOPT_FAILONERROR, 1L);
        SET (CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        SET (CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES_PER_S);
        SET (CURLOPT_LOW_SPEED_TIME, stall_timeout_s);
        SET (CURLOPT_USERAGENT, "pgimg");
        SET (CURLOPT_WRITEFUNCTION, on_data);
        SET (CURLOPT_WRITEDATA, s);
        if (progress_wanted (s)) {
                SET (CURLOPT_XFERINFOFUNCTION, on_progress);
                SET (CURLOPT_XFERINFODATA, s);
                SET (CURLOPT_NOPROGRESS, 0L);
        }
#undef SET
        return rc;
}

/* One transfer of url into s.  *retry_after_s is the server's
 * Retry-After, or 0. */
static enum outcome
attempt (const char *url, struct sink *s, long *retry_after_s, pgimg_error_t *err)
{
        cleanup_curl CURL *curl = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        long status = 0;
        curl_off_t retry_after = 0, connect_us = 0;
        CURLcode rc;

        *retry_after_s = 0;
        pthread_once (&curl_once, curl_init_once);
        if (curl_init_code != CURLE_OK) {
                pgimg_error_from_curl (err, curl_init_code, 0, NULL, url);
                return FATAL;
        }
        curl = curl_easy_init ();
        if (curl == NULL) {
                pgimg_make_error (err, ENOMEM, "%s: cannot create a libcurl handle", url);
                return FATAL;
        }
        s->url = url;
        rc = setup (curl, url, s, errbuf);
        if (rc == CURLE_OK)
                rc = curl_easy_perform (curl);
        progress_end (s, curl, rc == CURLE_OK);
        if (s->err != NULL) {
                pgimg_error_free (err);
                *err = steal_pointer (&s->err);
                return FATAL;
        }
        if (rc == CURLE_OK)
                return DONE;
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo (curl, CURLINFO_RETRY_AFTER, &retry_after);
        curl_easy_getinfo (curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        *retry_after_s = retry_after > 0 ? (long) retry_after : 0;
        pgimg_error_from_curl (err, rc, status, errbuf, url);
        return is_transient (rc, status, connect_us > 0 || status > 0) ? TRANSIENT : FAILED;
}

/* Pause before retry number `retry` (0-based): 1 s, 2 s, 4 s, 8 s, or
 * as long as the server asked when that is reasonable. */
static void
backoff (int retry, long retry_after_s)
{
        long ms = BACKOFF_FIRST_MS << (retry < 4 ? retry : 4);
        struct timespec ts;

        if (ms > BACKOFF_MAX_MS)
                ms = BACKOFF_MAX_MS;
        if (retry_after_s > 0 && retry_after_s <= RETRY_AFTER_MAX_S && retry_after_s * 1000 > ms)
                ms = retry_after_s * 1000;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* What to do with one URL: run prepares a fresh destination (a new
 * temporary file, the buffer rewound), calls attempt and judges the
 * result.  The three kinds of download embed it. */
struct job {
        enum outcome (*run) (struct job *j, const char *url, pgimg_error_t *err);
        long retry_after_s;
};

static enum outcome
with_retries (struct job *j, const char *url, pgimg_error_t *err)
{
        for (int retry = 0;; retry++) {
                enum outcome o = j->run (j, url, err);
                if (o == DONE)
                        pgimg_error_free (err); /* of an earlier attempt */
                if (o != TRANSIENT)
                        return o;
                if (retry >= retries_per_mirror)
                        return FAILED;
                backoff (retry, j->retry_after_s);
        }
}

/* A download into a temporary file beside path, hashed on the way;
 * fetch_cached and fetch_to_file differ in what they do next. */
struct file_job {
        struct job base;
        const char *path;
        const char *dir;
        const char *want;       /* expected sha256, or NULL */
        const char *label;
        char got[SHA256_HEX_LEN + 1];
};

static enum outcome
run_file_job (struct job *base, const char *url, pgimg_error_t *err)
{
        struct file_job *j = (struct file_job *) base;
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        struct sink s = { .fd = -1, .dir = j->dir, .hash = &h, .label = j->label };
        enum outcome o;

        if (fs_atomic_open (&a, j->path, 0644, err) < 0 || sha256_init (&h, err) < 0)
                return FATAL;
        s.fd = a.fd;
        o = attempt (url, &s, &base->retry_after_s, err);
        if (o != DONE)
                return o;
        if (sha256_final_hex (&h, j->got, err) < 0)
                return FATAL;
        if (j->want && strcmp (j->got, j->want) != 0) {
                fs_atomic_abort (&a);
                pgimg_make_error (err, EINVAL,
                                  "sha256 mismatch (want %s, got %s) from %s; the download was removed",
                                  j->want, j->got, url);
                return MISMATCH;
        }
        return fs_atomic_commit (&a, j->path, err) < 0 ? FATAL : DONE;
}

static char *
dir_of (const char *path)
{
        const char *slash = strrchr (path, '/');
        if (slash == NULL)
                return strdup (".");
        return strndup (path, slash == path ? 1 : (size_t) (slash - path));
}

int
fetch_to_file (const char *url, const char *path, char sha256_hex[SHA256_HEX_LEN + 1],
               pgimg_error_t *err)
{
        cleanup_free char *dir = dir_of (path);
        struct file_job j = { .base.run = run_file_job, .path = path, .dir = dir };

        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "%s", url);
        if (with_retries (&j.base, url, err) != DONE)
                return -1;
        if (sha256_hex)
                memcpy (sha256_hex, j.got, sizeof (j.got));
        return 0;
}

struct buf_job {
        struct job base;
        struct buf *out;
        size_t start;
        size_t max_bytes;
};

static enum outcome
run_buf_job (struct job *base, const char *url, pgimg_error_t *err)
{
        struct buf_job *j = (struct buf_job *) base;
        struct sink s = { .fd = -1, .buf = j->out, .buf_start = j->start, .max_bytes = j->max_bytes };

        /* A failed attempt may have appended part of the body. */
        j->out->len = j->start;
        if (j->out->data)
                j->out->data[j->start] = '\0';
        return attempt (url, &s, &base->retry_after_s, err);
}

int
fetch_to_buf (const char *url, size_t max_bytes, struct buf *out, pgimg_error_t *err)
{
        struct buf_job j = { .base.run = run_buf_job, .out = out, .start = out->len,
                             .max_bytes = max_bytes };

        return with_retries (&j.base, url, err) == DONE ? 0 : -1;
}

/* 1: the cached file is there and intact.  0: absent, or corrupt and
 * now deleted (a crash cannot leave one behind, but a disk can). */
static int
cached_intact (const char *path, const char *want, pgimg_error_t *err)
{
        char got[SHA256_HEX_LEN + 1];

        if (!fs_exists (path))
                return 0;
        if (sha256_file_hex (path, got, err) < 0)
                return -1;
        if (strcmp (got, want) == 0)
                return 1;
        if (unlink (path) < 0 && errno != ENOENT)
                return pgimg_make_error_errno (err, errno, "remove the corrupt cached file `%s`", path);
        return 0;
}

/* The error when no mirror delivered.  A checksum mismatch outranks
 * whatever happened last: it may mean a tampered mirror. */
static int
all_failed (pgimg_error_t *err, const char *what, size_t n_urls, char *mismatch, int last_is_mismatch,
            const char *last)
{
        if (mismatch && n_urls == 1)
                return pgimg_make_error (err, EINVAL, "%s", mismatch);
        if (mismatch && last_is_mismatch)
                return pgimg_make_error (err, EINVAL, "%s; %s: all %zu mirrors failed", mismatch, what,
                                         n_urls);
        if (mismatch)
                return pgimg_make_error (err, EINVAL, "%s; %s: all %zu mirrors failed (last: %s)",
                                         mismatch, what, n_urls, last);
        if (n_urls == 1)
                return pgimg_make_error (err, EIO, "%s: download failed (%s)", what, last);
        return pgimg_make_error (err, EIO, "%s: all %zu mirrors failed (last: %s)", what, n_urls, last);
}

static int
fetch_from_mirrors (struct file_job *j, const char *const *urls, size_t n_urls, const char *what,
                    pgimg_error_t *err)
{
        cleanup_free char *mismatch = NULL;
        cleanup_free char *last = NULL;
        int last_is_mismatch = 0;

        for (size_t i = 0; i < n_urls; i++) {
                pgimg_error_t e = NULL;
                enum outcome o = with_retries (&j->base, urls[i], &e);

                if (o == DONE)
                        return 0;
                if (o == FATAL) {
                        pgimg_error_free (err);
                        *err = e;
                        return -1;
                }
                last_is_mismatch = o == MISMATCH && mismatch == NULL;
                free (last);
                last = strdup (e->msg);
                if (last_is_mismatch)
                        mismatch = strdup (e->msg);
                pgimg_error_free (&e);
                if (last == NULL || (last_is_mismatch && mismatch == NULL))
                        return pgimg_make_error_errno (err, ENOMEM, "%s", what);
        }
        return all_failed (err, what, n_urls, mismatch, last_is_mismatch, last);
}

int
fetch_cached (const char *cache_dir, const char *const *urls, size_t n_urls,
              const char *sha256_hex, const char *what, char **out_path, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;
        struct file_job j = { .base.run = run_file_job, .want = sha256_hex, .label = what };
        int r;

        *out_path = NULL;
        if (!sha256_hex_valid (sha256_hex))
                return pgimg_make_error (err, EINVAL, "%s: `%s` is not a sha256 (64 lowercase hex digits)",
                                         what, sha256_hex);
        if (n_urls == 0)
                return pgimg_make_error (err, EINVAL, "%s: no URL to download it from", what);
        if (asprintf (&dir, "%s/downloads/sha256", cache_dir) < 0
            || asprintf (&path, "%s/%s", dir, sha256_hex) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "%s", what);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return pgimg_error_wrap (err, "%s: cache", what);
        r = cached_intact (path, sha256_hex, err);
        if (r < 0)
                return pgimg_error_wrap (err, "%s", what);
        if (r == 0) {
                j.path = path;
                j.dir = dir;
                if (fetch_from_mirrors (&j, urls, n_urls, what, err) < 0)
                        return -1;
        }
        *out_path = steal_pointer (&path);
        return 0;
}
