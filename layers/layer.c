/* layer.c - a tree becomes a blob: tar (tar.c) -> compress_stream
 * (compress.c) -> a temporary file that is renamed to its digest. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/compress.h"
#include "layers/layer.h"
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

/* Move the finished temporary file to its name.  A blob of that name
 * is the same content (its name is its digest), so it is kept; unless
 * its size shows it is damaged, in which case it is replaced. */
static int
commit_blob (struct fs_atomic *a, const char *blob_dir, const char *hex, uint64_t size_bytes,
             pgimg_error_t *err)
{
        cleanup_free char *final = NULL;
        struct stat st;

        if (asprintf (&final, "%s/%s", blob_dir, hex) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "blob in `%s`", blob_dir);
        if (lstat (final, &st) == 0 && S_ISREG (st.st_mode) && (uint64_t) st.st_size == size_bytes) {
                fs_atomic_abort (a);
                return 0;
        }
        return fs_atomic_commit (a, final, err);
}

int
layer_write (const char *root_dir, const struct layer_opts *opts, const char *blob_dir,
             struct layer_desc *out, pgimg_error_t *err)
{
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
        cleanup_compress_stream struct compress_stream *s = NULL;
        cleanup_free char *where = NULL;
        char diff_id[SHA256_HEX_LEN + 1], digest[SHA256_HEX_LEN + 1];
        uint64_t size_bytes = 0;

        /* fs_atomic_open only looks at the directory of this name. */
        if (asprintf (&where, "%s/layer", blob_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "layer of `%s`", root_dir);
        if (fs_atomic_open (&a, where, 0644, err) < 0)
                return -1;
        if (compress_stream_new (opts->compression, opts->level, a.fd, &s, err) < 0)
                return pgimg_error_wrap (err, "layer of `%s`", root_dir);
        if (tar_write_tree (root_dir, opts, s, err) < 0)
                return -1;
        if (compress_stream_finish (s, diff_id, digest, &size_bytes, err) < 0)
                return pgimg_error_wrap (err, "layer of `%s`", root_dir);
        compress_stream_free (steal_pointer (&s));
        if (commit_blob (&a, blob_dir, digest, size_bytes, err) < 0)
                return -1;
        snprintf (out->digest, sizeof (out->digest), "sha256:%s", digest);
        snprintf (out->diff_id, sizeof (out->diff_id), "sha256:%s", diff_id);
        out->size = size_bytes;
        out->compression = opts->compression;
        return 0;
}
