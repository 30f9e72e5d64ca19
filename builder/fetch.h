/* fetch.h - downloads through libcurl into a content-addressed cache.
 *
 * Each mirror is tried in order, each with bounded retries and timeouts;
 * the sha256 is checked before the file is used or kept.  Files land in
 * <cache_dir>/downloads/sha256/<hex> through a temporary file and a
 * rename.  A progress line is drawn on stderr only when it is a terminal.
 * Errors from libcurl are converted here.
 */
#ifndef PGIMG_FETCH_H
#define PGIMG_FETCH_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/sha256.h"

/* Ensure the file with this sha256 is cached; *out_path (malloc'ed) is
 * its path.  what names it in messages ("postgresql 15.18").  When every
 * mirror fails the error says which were tried and the last reason; a
 * checksum mismatch says both hashes and that the download was removed. */
int fetch_cached (const char *cache_dir, const char *const *urls, size_t n_urls,
                  const char *sha256_hex, const char *what, char **out_path, pgimg_error_t *err);

/* Download url into out (appended), at most max_bytes. */
int fetch_to_buf (const char *url, size_t max_bytes, struct buf *out, pgimg_error_t *err);

/* Download url to path atomically, computing its sha256. */
int fetch_to_file (const char *url, const char *path, char sha256_hex[SHA256_HEX_LEN + 1],
                   pgimg_error_t *err);

/* Tuning for tests: retries per mirror (default 3) and the time without
 * progress after which a transfer is abandoned (default 30 s). */
void fetch_set_limits (int retries, long stall_timeout_s);

#endif
