/* store.h - the content-addressed blob store: blob "sha256:<hex>" is the
 * file <dir>/<hex>.
 *
 * A blob goes in only once its bytes hash to its name and have the size
 * its descriptor gives: it is written to a temporary file in the same
 * directory, fsync'ed and renamed into place after the check.  It comes
 * out only after the same checks, as an open descriptor of a regular
 * file (never through a symlink).  A blob found corrupt is removed, so
 * that the next pull or build fetches it again.  The layer cache, pull,
 * the image reader and writers and the runtime keep their blobs here.
 * Knows nothing of what a blob holds.
 */
#ifndef PGIMG_LAYERS_STORE_H
#define PGIMG_LAYERS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "layers/layer.h"

/* A size not known in advance (store_writer_open, store_open). */
#define STORE_SIZE_ANY UINT64_MAX

/* The hex digits of digest "sha256:<64 lowercase hex>", or NULL when
 * digest is anything else.  The one place that knows the prefix. */
const char *store_digest_hex (const char *digest);

/* The same, as an error naming `what` ("layer 2", "the manifest") and
 * quoting the digest, cut to a sane length. */
int store_digest_check (const char *digest, const char *what, const char **hex,
                        pgimg_error_t *err);

/* Malloc'ed "<cache_dir>/blobs/sha256", created when missing; the
 * temporary files of writers that are gone are swept (store_sweep). */
int store_dir (const char *cache_dir, char **out, pgimg_error_t *err);

/* Malloc'ed "<dir>/<hex>" for a valid digest. */
int store_path (const char *dir, const char *digest, char **out, pgimg_error_t *err);

/* A blob being written: bytes go to a temporary file in dir and into a
 * hash; commit checks and renames.  Release with store_writer_abort
 * (also after commit). */
struct store_writer {
        struct fs_atomic file;
        struct sha256 hash;
        char *dir;
        char want[LAYER_DIGEST_LEN];    /* "" when the content names the blob */
        uint64_t want_size;             /* STORE_SIZE_ANY: not checked */
        uint64_t written;
};
#define STORE_WRITER_INIT { FS_ATOMIC_INIT, SHA256_INIT, NULL, "", 0, 0 }

/* Start writing a blob into dir.  digest may be NULL (the blob is named
 * after its content), size STORE_SIZE_ANY. */
int store_writer_open (struct store_writer *w, const char *dir, const char *digest, uint64_t size,
                       pgimg_error_t *err);
/* Append bytes; fails as soon as more than the expected size arrive. */
int store_writer_write (struct store_writer *w, const void *data, size_t len, pgimg_error_t *err);
/* store_writer_write as an fs_chunk_fn: ctx is the struct store_writer. */
int store_writer_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err);
/* Check size and sha256, then rename into place; on a mismatch nothing
 * is stored and the message gives both digests.  digest_out (may be
 * NULL) receives "sha256:<hex>" of what was stored. */
int store_writer_commit (struct store_writer *w, char digest_out[LAYER_DIGEST_LEN], pgimg_error_t *err);
/* Drop the temporary file; safe after commit and twice. */
void store_writer_abort (struct store_writer *w);
static inline void
cleanup_store_writerp (struct store_writer *w)
{
        store_writer_abort (w);
}
#define cleanup_store_writer __attribute__ ((cleanup (cleanup_store_writerp)))

/* Put bytes in memory under digest (NULL: named after their content,
 * which digest_out receives; may be NULL). */
int store_put_buf (const char *dir, const char *digest, const void *data, size_t len,
                   char digest_out[LAYER_DIGEST_LEN], pgimg_error_t *err);
/* Put what fd holds from its current offset to its end (fd is not
 * closed); size may be STORE_SIZE_ANY.  A blob already stored intact
 * is kept, and fd is only checked (store_check_fd): a source that
 * holds other bytes is refused whatever the store has. */
int store_put_fd (const char *dir, const char *digest, uint64_t size, int fd, pgimg_error_t *err);

/* Check that fd (from its offset to its end) holds digest, of size
 * bytes (may be STORE_SIZE_ANY); the message is the same as a refused
 * put's. */
int store_check_fd (int fd, const char *digest, uint64_t size, pgimg_error_t *err);

/* 1 when dir holds digest intact (size may be STORE_SIZE_ANY), 0 when
 * missing or corrupt (a corrupt one is removed), <0 on error. */
int store_has (const char *dir, const char *digest, uint64_t size, pgimg_error_t *err);

/* Open a blob for reading: a regular file (no symlink is followed) of
 * the given size whose sha256 is its digest.  *fd (O_CLOEXEC, at
 * offset 0) is the caller's.  A missing blob fails with ENOENT; a
 * corrupt one is removed and fails with EIO. */
int store_open (const char *dir, const char *digest, uint64_t size, int *fd, pgimg_error_t *err);

/* Read a small blob (a manifest, a config) into out, checked as by
 * store_open; fails past max_bytes. */
int store_read (const char *dir, const char *digest, size_t max_bytes, struct buf *out,
                pgimg_error_t *err);

/* Remove the temporary files of writers whose process is gone. */
int store_sweep (const char *dir, pgimg_error_t *err);

/* Copy fd (from its offset to its end) through a hash: *size_out bytes
 * with sha256 hex.  For readers that check blobs outside a store. */
int store_hash_fd (int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *size_out, pgimg_error_t *err);

#endif
