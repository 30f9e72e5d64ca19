/* fetch.c - downloads through common/http into a content-addressed cache.
 *
 * One transfer is one attempt (attempt); an attempt that failed for a
 * reason that may pass (a stall, a reset, a 5xx, a 429) is retried on
 * the same mirror with a growing pause; anything else moves on to the
 * next mirror.  Bytes are hashed as they arrive, so a download is
 * checked without reading it back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/fetch.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/http.h"

/* Set before downloads start (fetch_set_limits, fetch_set_quiet); read
 * only afterwards. */
static int retries_per_mirror = 3;
static long stall_timeout_s = 30;
static int quiet;

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
        const char *label;      /* progress label, NULL: no progress */
};

static int
sink_file (struct sink *s, const char *data, size_t n, pgimg_error_t *err)
{
        if (fs_write_all (s->fd, data, n) == 0)
                return 0;
        if (errno == ENOSPC || errno == EDQUOT)
                return pgimg_make_error (err, errno,
                                         "no space left in the cache directory `%s` while downloading "
                                         "%s; free some space or choose another --cache-dir",
                                         s->dir, s->url);
        return pgimg_make_error_errno (err, errno, "write into the cache directory `%s`", s->dir);
}

static int
sink_buf (struct sink *s, const char *data, size_t n, pgimg_error_t *err)
{
        if (s->max_bytes && s->buf->len - s->buf_start + n > s->max_bytes) {
                errno = EFBIG;
        } else if (buf_add (s->buf, data, n) == 0) {
                return 0;
        }
        if (errno == EFBIG)
                return pgimg_make_error (err, EFBIG, "%s: larger than %zu bytes", s->url,
                                         s->max_bytes ? s->max_bytes : s->buf->max);
        return pgimg_make_error_errno (err, errno, "%s", s->url);
}

static int
on_data (void *ctx, long status, const char *data, size_t n, pgimg_error_t *err)
{
        struct sink *s = ctx;

        (void) status;          /* fail_on_http_error: only a success has a body here */
        if (s->hash && sha256_update (s->hash, data, n, err) < 0)
                return -1;
        return s->buf ? sink_buf (s, data, n, err) : sink_file (s, data, n, err);
}

/* One transfer of url into s.  *retry_after_s is the server's
 * Retry-After, or 0.  The message starts with the URL: it ends up after
 * "last: " when every mirror failed. */
static enum outcome
attempt (const char *url, struct sink *s, long *retry_after_s, pgimg_error_t *err)
{
        cleanup_http_conn struct http_conn *k = NULL;
        struct http_req q = HTTP_REQ_INIT;
        struct http_result r;

        *retry_after_s = 0;
        if (http_conn_new (&k, err) < 0) {
                pgimg_error_wrap (err, "%s", url);
                return FATAL;
        }
        s->url = url;
        q.url = url;
        q.on_data = on_data;
        q.ctx = s;
        q.follow_redirects = 1;
        q.allow_file = 1;
        q.fail_on_http_error = 1;
        q.stall_timeout_s = stall_timeout_s;
        q.progress_label = quiet ? NULL : s->label;
        if (http_perform (k, &q, &r, err) == 0)
                return DONE;
        if (r.failure == HTTP_FAIL_CALLBACK)
                return FATAL;
        *retry_after_s = r.retry_after_s;
        pgimg_error_wrap (err, "%s", url);
        /* A mirror that never answered: the next one is a better bet. */
        return http_retry_worthwhile (&r, 1) ? TRANSIENT : FAILED;
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
                http_backoff (retry, j->retry_after_s);
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
        cleanup_free char *label = NULL;
        struct file_job j = { .base.run = run_file_job, .want = sha256_hex };
        int r;

        *out_path = NULL;
        if (!sha256_hex_valid (sha256_hex))
                return pgimg_make_error (err, EINVAL, "%s: `%s` is not a sha256 (64 lowercase hex digits)",
                                         what, sha256_hex);
        if (n_urls == 0)
                return pgimg_make_error (err, EINVAL, "%s: no URL to download it from", what);
        if (asprintf (&dir, "%s/downloads/sha256", cache_dir) < 0
            || asprintf (&path, "%s/%s", dir, sha256_hex) < 0 || asprintf (&label, "fetch %s", what) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "%s", what);
        j.label = label;
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
