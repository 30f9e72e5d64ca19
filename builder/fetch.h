/* fetch.h - downloads into a content-addressed cache.
 *
 * Each mirror is tried in order, each with the retries, timeouts and
 * TLS policy of common/http; the sha256 is checked before the file is
 * used or kept.  Files land in <cache_dir>/downloads/sha256/<hex>
 * through a temporary file and a rename.  Progress goes through
 * common/progress (a terminal only).
 */
#ifndef PGIMG_FETCH_H
#define PGIMG_FETCH_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/sha256.h"

/* Ensure the file with this sha256 is cached; *out_path (malloc'ed) is
 * its path.  what names it in messages ("postgresql 15.18").  A cached
 * file is re-hashed before use; a corrupt one is deleted and fetched
 * again.  Mirrors are tried in order; a mismatch moves on to the next.
 * When every mirror fails the error says how many were tried and the
 * last reason ("postgresql 15.18: all 2 mirrors failed (last: <url>:
 * HTTP 404)"); a checksum mismatch outranks other reasons and says both
 * hashes and that the download was removed.  Running out of disk space
 * stops at once with an error naming the cache directory. */
int fetch_cached (const char *cache_dir, const char *const *urls, size_t n_urls,
                  const char *sha256_hex, const char *what, char **out_path, pgimg_error_t *err);

/* Download url into out (appended), at most max_bytes (0: only out->max).
 * On failure out keeps its old contents. */
int fetch_to_buf (const char *url, size_t max_bytes, struct buf *out, pgimg_error_t *err);

/* Download url to path atomically, computing its sha256 (sha256_hex may
 * be NULL).  On failure path is untouched. */
int fetch_to_file (const char *url, const char *path, char sha256_hex[SHA256_HEX_LEN + 1],
                   pgimg_error_t *err);

/* Tuning for tests: retries per mirror (default 3) and the time without
 * progress after which a transfer is abandoned (default 30 s).  Only
 * transient failures are retried (timeouts after connecting, resets,
 * HTTP 5xx, 408, 429), after 1, 2, 4, 8 s.  A mirror that refuses or
 * never accepts the connection (10 s) is not retried: the next one is a
 * better bet.  Call before downloads start. */
void fetch_set_limits (int retries, long stall_timeout_s);

/* No progress line even on a terminal (pgimg -q). */
void fetch_set_quiet (int quiet);

#endif
