/* compress.h - the byte stream behind a layer: sha256 of what goes in
 * (diff_id), compression, a store writer (which hashes what comes out:
 * the digest).
 *
 * Internal to layers/.  Output is byte-identical whatever the number of
 * threads: gzip is compressed in fixed 128 KiB blocks, each primed with
 * the 32 KiB before it (as pigz does), and zstd always runs with at least
 * one worker, whose output does not depend on how many there are.
 * $PGIMG_LAYER_THREADS overrides the number of online CPUs (tests use it
 * to check that claim).
 */
#ifndef PGIMG_LAYERS_COMPRESS_H
#define PGIMG_LAYERS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sha256.h"
#include "layers/layer.h"

struct compress_stream;
struct store_writer;

/* Start a stream writing into w (not taken over: the caller commits or
 * aborts it, after compress_stream_finish).
 * level 0 is the default of the compression.  *out is freed with
 * compress_stream_free. */
int compress_stream_new (enum layer_compression c, int level, struct store_writer *w,
                         struct compress_stream **out, pgimg_error_t *err);

/* Feed uncompressed bytes. */
int compress_stream_write (struct compress_stream *s, const void *data, size_t len,
                           pgimg_error_t *err);

/* End the stream and write what remains; fills the hex digest of the
 * uncompressed bytes.  The compressed bytes' digest and size are the
 * store writer's. */
int compress_stream_finish (struct compress_stream *s, char diff_id[SHA256_HEX_LEN + 1],
                            pgimg_error_t *err);

/* Stop the threads and release everything; NULL is fine. */
void compress_stream_free (struct compress_stream *s);

static inline void
cleanup_compress_streamp (struct compress_stream **s)
{
        compress_stream_free (*s);
}
#define cleanup_compress_stream __attribute__ ((cleanup (cleanup_compress_streamp)))

#endif
