/* layer.c - a tree becomes a blob: tar (tar.c) -> compress_stream
 * (compress.c) -> a store writer (store.c), which renames it to its
 * digest. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "layers/compress.h"
#include "layers/layer.h"
#include "layers/store.h"
#include "layers/tar.h"

const char *
layer_media_type (enum layer_compression c)
{
        switch (c) {
        case LAYER_GZIP:
                return "application/vnd.oci.image.layer.v1.tar+gzip";
        case LAYER_ZSTD:
                return "application/vnd.oci.image.layer.v1.tar+zstd";
        case LAYER_UNCOMPRESSED:
                return "application/vnd.oci.image.layer.v1.tar";
        }
        return NULL;
}

int
layer_compression_from_media_type (const char *media_type, enum layer_compression *c)
{
        for (int i = LAYER_GZIP; i <= LAYER_UNCOMPRESSED; i++)
                if (strcmp (media_type, layer_media_type ((enum layer_compression) i)) == 0) {
                        *c = (enum layer_compression) i;
                        return 0;
                }
        return -1;
}

int
layer_compression_parse (const char *s, enum layer_compression *c, pgimg_error_t *err)
{
        if (strcmp (s, "gzip") == 0)
                *c = LAYER_GZIP;
        else if (strcmp (s, "zstd") == 0)
                *c = LAYER_ZSTD;
        else if (strcmp (s, "none") == 0)
                *c = LAYER_UNCOMPRESSED;
        else
                return pgimg_make_error (err, EINVAL,
                                         "unknown compression `%s` (gzip, zstd or none)", s);
        return 0;
}

int
layer_write (const char *root_dir, const struct layer_opts *opts, const char *blob_dir,
             struct layer_desc *out, pgimg_error_t *err)
{
        /* Declared first, released last: the stream writes into it. */
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;
        cleanup_compress_stream struct compress_stream *s = NULL;
        char diff_id[SHA256_HEX_LEN + 1];

        /* Named after its content: the store hashes what the stream
         * writes, and renames it into place only then. */
        if (store_writer_open (&w, blob_dir, NULL, STORE_SIZE_ANY, err) < 0
            || compress_stream_new (opts->compression, opts->level, &w, &s, err) < 0)
                return pgimg_error_wrap (err, "layer of `%s`", root_dir);
        if (tar_write_tree (root_dir, opts, s, err) < 0)
                return -1;
        if (compress_stream_finish (s, diff_id, err) < 0 || store_writer_commit (&w, out->digest, err) < 0)
                return pgimg_error_wrap (err, "layer of `%s`", root_dir);
        snprintf (out->diff_id, sizeof (out->diff_id), "sha256:%s", diff_id);
        out->size = w.written;
        out->compression = opts->compression;
        return 0;
}
