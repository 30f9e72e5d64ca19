/* read.h - read an image: an OCI image layout directory, or a tarball
 * that holds one (what `pgimg build` and `docker save` write, and
 * `pgimg pull -o`).  The one reader of images on disk: run, test,
 * migration-test and push all come through here.
 *
 * Every blob the image uses (index, manifest, config, layers) is put
 * into a content-addressed store (layers/store.h), which takes it only
 * when its sha256 and size match its descriptor; everything after reads
 * the store.  A tarball is read by libarchive, once; a layout directory
 * is opened one component at a time without following a symlink.  A
 * blob that is a symbolic or hard link (in a tarball or a layout) is
 * refused with a message that names it and never quotes its target.
 * Layer diff_ids are taken from the (checked) config; they are checked
 * against the layers when those are unpacked (layer_extract_fd).
 */
#ifndef PGIMG_OCI_READ_H
#define PGIMG_OCI_READ_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "layers/layer.h"

struct oci_read {
        char *blob_dir;                 /* the store the blobs are in */
        struct layer_desc *layers;      /* bottom first: digest, size, diff_id */
        size_t n_layers;
        char **env;                     /* config Env, NULL-terminated */
        char *volume;                   /* the first of config Volumes, or NULL */
        char *architecture;             /* config architecture ("amd64"), or NULL */
        char manifest_digest[LAYER_DIGEST_LEN];
        uint64_t manifest_size;
        char *manifest_media_type;
        char config_digest[LAYER_DIGEST_LEN];
        uint64_t config_size;
};

/* Read the image at path into the store blob_dir (which must exist) and
 * fill *out (release with oci_read_free, also after a failure).  Every
 * error is one line naming the image and the blob. */
int oci_read_image (const char *path, const char *blob_dir, struct oci_read *out, pgimg_error_t *err);
void oci_read_free (struct oci_read *r);

/* An image of one or several platforms. */
struct oci_read_index {
        char digest[LAYER_DIGEST_LEN];  /* the image index; "" for one image */
        uint64_t size;
        struct oci_read *images;        /* one per platform, in the index's order */
        size_t n;
};

/* Read the image at path as oci_read_image does, every platform of it:
 * when index.json names an image index (application/vnd.oci.image.index.v1+json,
 * or a Docker manifest list) whose manifests are all in the image (as
 * `pgimg build --platform linux/amd64,linux/arm64` writes), one image
 * per manifest, each of which must say its platform, be an image
 * manifest and have a config of that architecture; otherwise (an index
 * that names manifests the image does not hold, as a `docker save` of
 * one platform does, or a plain manifest) the one image oci_read_image
 * would read, with digest "".  Release with oci_read_index_free, also
 * after a failure. */
int oci_read_index (const char *path, const char *blob_dir, struct oci_read_index *x, pgimg_error_t *err);
void oci_read_index_free (struct oci_read_index *x);

#endif
