/* image.h - OCI image config, manifest and the image writers.
 *
 * Writes the config and the manifest (application/vnd.oci.image.*) as
 * blobs, then either one tarball that is both a docker-archive
 * (manifest.json, repositories) and an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...), as `docker save` writes since Docker 25,
 * or the layout as a directory.  Output is deterministic: the same image
 * gives the same bytes.  jansson is used here and nowhere past it.
 */
#ifndef PGIMG_IMAGE_H
#define PGIMG_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "layers/layer.h"

struct oci_kv {
        const char *key;
        const char *value;
};

struct oci_image {
        time_t created;                 /* SOURCE_DATE_EPOCH */
        const char *architecture;       /* "amd64" */
        const char *user;
        const char *workdir;
        const char *stop_signal;
        const char *const *env;         /* NULL-terminated "K=V" */
        const char *const *entrypoint;
        const char *const *cmd;
        const char *const *exposed_ports;       /* "5432/tcp" */
        const char *const *volumes;
        const struct oci_kv *labels;            /* config labels */
        size_t n_labels;
        const struct oci_kv *annotations;       /* manifest annotations */
        size_t n_annotations;
        const struct layer_desc *layers;        /* bottom first */
        const char *const *layer_comments;      /* history created_by, may be NULL */
        size_t n_layers;
        const char *const *tags;        /* "pgimg/postgres:15.18", NULL-terminated */
};

enum oci_format {
        OCI_FORMAT_ARCHIVE = 0,         /* docker-archive + OCI layout tarball */
        OCI_FORMAT_DIR,                 /* OCI layout directory */
};

/* "docker-archive", "archive", "oci-archive" (one tarball serves all
 * three) or "oci-dir". */
int oci_format_parse (const char *s, enum oci_format *f, pgimg_error_t *err);

/* Write config and manifest into blob_dir; the layers must be there
 * already.  manifest_digest receives "sha256:<hex>". */
int oci_write_blobs (const char *blob_dir, const struct oci_image *img,
                     char manifest_digest[LAYER_DIGEST_LEN], pgimg_error_t *err);

/* Write the image to out_path (atomically: nothing is left there on
 * failure), taking blobs from blob_dir.  Every blob is looked up before
 * anything is written (a missing one fails naming its digest) and checked
 * against its digest while it is copied.  OCI_FORMAT_DIR replaces an
 * existing out_path and hard-links blobs from blob_dir when it can.
 * manifest_digest may be NULL. */
int oci_write_image (const char *blob_dir, const struct oci_image *img, enum oci_format fmt,
                     const char *out_path, char manifest_digest[LAYER_DIGEST_LEN],
                     pgimg_error_t *err);

/* Write the n images imgs (one per platform: no architecture twice,
 * at most 8) as one OCI image index at out_path, atomically, as
 * oci_write_image writes one image: index.json names the image index
 * (application/vnd.oci.image.index.v1+json) under each tag of imgs[0];
 * the index holds each image's manifest with its platform, in the
 * order given; manifest.json lists every image with its own tags, for
 * `docker load`.  The tarball's mtime is imgs[0]->created.
 * index_digest (may be NULL) receives the index's digest,
 * manifest_digests[i] (may be NULL) that of imgs[i]'s manifest. */
int oci_write_index (const char *blob_dir, const struct oci_image *const *imgs, size_t n, enum oci_format fmt,
                     const char *out_path, char index_digest[LAYER_DIGEST_LEN],
                     char (*manifest_digests)[LAYER_DIGEST_LEN], pgimg_error_t *err);

/* Write the image whose manifest, config and layers are in the store
 * blob_dir (a pulled image) as one tarball at out_path, an OCI layout
 * and a docker-archive named tag ("host:port/name:tag"), atomically.
 * The manifest is read through the store (checked); each blob must be
 * there with its descriptor's size and is checked while copied. */
int oci_write_stored (const char *blob_dir, const char *manifest_digest, const char *tag,
                      const char *out_path, pgimg_error_t *err);

#endif
