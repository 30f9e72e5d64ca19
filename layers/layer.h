/* layer.h - a directory tree as one reproducible OCI layer.
 *
 * The tar is deterministic: entries sorted by name (bytewise), mtime =
 * opts->mtime (SOURCE_DATE_EPOCH), uid/gid 0 and normalized modes (0755
 * for directories and anything executable, 0644 otherwise) unless the
 * owner map says otherwise, no atime/ctime, no xattrs, no device files,
 * hard links kept as links to the first name in sorted order.  It is
 * compressed reproducibly (gzip without a timestamp, or zstd whose output
 * does not depend on the number of threads), and diff_id (uncompressed)
 * and digest (compressed) are computed in the same pass.
 * Does not know about images: oci/ puts layers together.
 */
#ifndef PGIMG_LAYER_H
#define PGIMG_LAYER_H

#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/owners.h"

enum layer_compression {
        LAYER_GZIP = 0,
        LAYER_ZSTD,
        LAYER_UNCOMPRESSED,
};

/* "sha256:" + 64 hex digits + NUL */
#define LAYER_DIGEST_LEN 72

struct layer_desc {
        char digest[LAYER_DIGEST_LEN];  /* of the blob as stored */
        char diff_id[LAYER_DIGEST_LEN]; /* of the uncompressed tar */
        uint64_t size;                  /* bytes of the blob */
        enum layer_compression compression;
};

struct layer_opts {
        time_t mtime;                   /* every entry's mtime */
        struct owner_map *owners;       /* may be NULL */
        enum layer_compression compression;
        int level;                      /* 0: the default (gzip 6, zstd 3) */
        /* NULL-terminated fnmatch(3) patterns (FNM_PATHNAME) on relative
         * paths ("usr/share/doc", "*.pyc"); a match is left out with all
         * below it.  May be NULL. */
        const char *const *exclude;
        /* Patterns (matched the same way) kept although exclude matches
         * them: the copyright files in a package's documentation that is
         * otherwise left out.  A directory that exclude matches and keep
         * does not is left out whole, whatever keep says of what is below
         * it.  May be NULL. */
        const char *const *keep;
};

/* OCI media type of a layer with this compression (static string). */
const char *layer_media_type (enum layer_compression c);
/* The compression of one of those media types (exactly); -1 for any
 * other, *c untouched. */
int layer_compression_from_media_type (const char *media_type, enum layer_compression *c);

/* Parse "gzip", "zstd" or "none". */
int layer_compression_parse (const char *s, enum layer_compression *c, pgimg_error_t *err);

/* Write root_dir as a layer into the blob store blob_dir, as
 * <hex of digest> (through a store writer: a temporary file, fsync'ed,
 * renamed into place; an existing blob of that name holds the same
 * bytes) and fill *out.  On failure nothing is left in blob_dir. */
int layer_write (const char *root_dir, const struct layer_opts *opts, const char *blob_dir,
                 struct layer_desc *out, pgimg_error_t *err);

/* Unpack a layer blob (any of the compressions) into dest_dir, which
 * must exist.  Owners are not applied; when owners is not NULL, entries
 * that are not root:root with a normalized mode are recorded in it. */
int layer_extract (const char *blob_path, const char *dest_dir, struct owner_map *owners,
                   pgimg_error_t *err);

/* The same from a blob open on fd (read from its offset, not closed;
 * `what` names it in messages), checking while it is read that the
 * uncompressed tar's sha256 is want_diff_id ("sha256:<hex>"; NULL: no
 * check).  A mismatch is found only once every entry is out: it fails
 * then, and the caller throws dest_dir away. */
int layer_extract_fd (int fd, const char *what, const char *want_diff_id, const char *dest_dir,
                      struct owner_map *owners, pgimg_error_t *err);

#endif
