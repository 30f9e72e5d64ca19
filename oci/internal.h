/* internal.h - what the files of oci/ share with each other.  Nothing
 * outside oci/ includes this header (jansson stays inside oci/).
 *
 *   json.c       jansson helpers: canonical serialization, descriptors
 *   reference.c  image references (reference.h)
 *   config.c     the image config blob
 *   manifest.c   checks on struct oci_image, the manifest, oci_write_blobs
 *   layout.c     the files of an image layout, as a sorted list of entries
 *   archive.c    that list as one tarball
 *   directory.c  that list as a directory
 *   image.c      oci_write_image, oci_format_parse
 */
#ifndef PGIMG_OCI_INTERNAL_H
#define PGIMG_OCI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/libjson.h"
#include "common/sha256.h"
#include "layers/store.h"
#include "oci/image.h"
#include "oci/reference.h"

#define OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"

/* ---- json.c ---- */

/* Append j to out, compact and with sorted keys: the canonical bytes
 * that digests are taken of. */
int oci_json_dump (const json_t *j, struct buf *out, pgimg_error_t *err);
/* A new JSON array of the strings of a NULL-terminated vector; NULL when
 * out of memory or a string is not UTF-8 (oci_image_check rules that out). */
json_t *oci_json_strv (const char *const *v);
/* {"mediaType":..., "digest":..., "size":...}; NULL when out of memory. */
json_t *oci_json_descriptor (const char *media_type, const char *digest, uint64_t size);
/* The RFC 3339 UTC form of t, "1970-01-01T00:00:00Z". */
void oci_rfc3339 (time_t t, char out[32]);

/* ---- config.c ---- */

/* Append the config blob of img to out.  img must have passed
 * oci_image_check. */
int oci_config_json (const struct oci_image *img, struct buf *out, pgimg_error_t *err);

/* ---- manifest.c ---- */

struct oci_blob {
        char digest[LAYER_DIGEST_LEN];  /* "sha256:<hex>" */
        uint64_t size;
};

struct oci_blobs {
        struct oci_blob config;
        struct oci_blob manifest;
};

/* Reject what would make a broken image: missing fields, malformed
 * digests, ports, environment entries or tags, strings that are not
 * UTF-8.  need_tags: at least one tag is required. */
int oci_image_check (const struct oci_image *img, int need_tags, pgimg_error_t *err);
/* Append the manifest of img, whose config blob is config, to out. */
int oci_manifest_json (const struct oci_image *img, const struct oci_blob *config,
                       struct buf *out, pgimg_error_t *err);
/* oci_write_blobs, telling the caller both blobs. */
int oci_write_blobs_full (const char *blob_dir, const struct oci_image *img,
                          struct oci_blobs *out, pgimg_error_t *err);
/* Write the image index of the n images imgs (their blobs written
 * already, blobs[i] for imgs[i]): one manifest descriptor per image,
 * with its platform, in the order given.  *out describes it. */
int oci_write_index_blob (const char *blob_dir, const struct oci_image *const *imgs, const struct oci_blobs *blobs,
                          size_t n, struct oci_blob *out, pgimg_error_t *err);

/* ---- layout.c ---- */

/* One file or directory of an image layout. */
struct oci_entry {
        char *name;             /* "blobs/sha256/<hex>", "index.json", "blobs" */
        int is_dir;
        /* A file is either held in memory (data, len) or is a blob in
         * blob_dir (blob_path, hex, size), checked while it is copied. */
        char *data;
        size_t len;
        char *blob_path;
        char hex[SHA256_HEX_LEN + 1];
        uint64_t size;
};

struct oci_layout {
        struct oci_entry *v;    /* sorted by name, bytewise, no duplicates */
        size_t n;
        size_t alloc;
};
#define OCI_LAYOUT_INIT { NULL, 0, 0 }

/* The entries of the layout of img (oci-layout, index.json, blobs/, and
 * the docker-archive files manifest.json and repositories).  Fails,
 * naming the digest, when a blob is missing from blob_dir or has another
 * size than its descriptor says. */
int oci_layout_build (const char *blob_dir, const struct oci_image *img,
                      const struct oci_blobs *blobs, struct oci_layout *out, pgimg_error_t *err);
/* The entries of the layout of the n images imgs under one image index
 * (index_blob, from oci_write_index_blob): index.json names the index
 * once per tag of imgs[0]; manifest.json lists every image with its
 * own tags, for `docker load`. */
int oci_layout_build_index (const char *blob_dir, const struct oci_image *const *imgs,
                            const struct oci_blobs *blobs, size_t n, const struct oci_blob *index_blob,
                            struct oci_layout *out, pgimg_error_t *err);
void oci_layout_free (struct oci_layout *l);
/* The entries of the layout of an image already in blob_dir, whose
 * manifest is manifest_digest (read and checked through the store),
 * named tag ("host:port/name:tag") in index.json and manifest.json. */
int oci_layout_build_stored (const char *blob_dir, const char *manifest_digest, const char *tag,
                             struct oci_layout *out, pgimg_error_t *err);

static inline void
cleanup_layoutp (struct oci_layout *l)
{
        oci_layout_free (l);
}
#define cleanup_layout __attribute__ ((cleanup (cleanup_layoutp)))

/* Copy the blob of e from fd to write_fn in chunks, checking its size
 * and sha256.  write_fn returns negative with *err set on failure. */
typedef int (*oci_write_fn) (void *ctx, const void *data, size_t len, pgimg_error_t *err);
int oci_entry_copy_blob (const struct oci_entry *e, oci_write_fn write_fn, void *ctx,
                         pgimg_error_t *err);

/* ---- archive.c: reading a tarball ---- */

/* What the import of a tarball found: the blobs it put into (or found
 * intact in) the store, and index.json. */
struct oci_found {
        char hex[SHA256_HEX_LEN + 1];
        uint64_t size;
};
struct oci_import {
        struct oci_found *v;
        size_t n, alloc;
        struct buf index;               /* index.json; empty when none */
};
#define OCI_IMPORT_INIT { NULL, 0, 0, BUF_INIT }
/* Read the tarball at path once with libarchive: each regular file
 * "blobs/sha256/<hex>" goes into the store blob_dir (checked against
 * hex and its size), index.json into imp->index (at most max_json
 * bytes).  A link (symbolic or hard) or any other non-file under either
 * name is refused, naming the entry and nothing of its target. */
int oci_archive_import (const char *path, const char *blob_dir, size_t max_json,
                        struct oci_import *imp, pgimg_error_t *err);
void oci_import_free (struct oci_import *imp);

/* ---- archive.c, directory.c ---- */

/* Write the layout as an uncompressed tarball at out_path (through a
 * temporary file, nothing left on failure); every entry has mtime. */
int oci_layout_write_tar (const struct oci_layout *l, time_t mtime, const char *out_path,
                          pgimg_error_t *err);
/* Write the layout as a directory at out_path (built in a temporary
 * directory beside it, then renamed; an existing out_path is replaced). */
int oci_layout_write_dir (const struct oci_layout *l, const char *out_path, pgimg_error_t *err);

#endif
