/* read.h - read an image back from an OCI image layout directory (what
 * `pgimg build --format oci-dir` writes, or a docker-archive tarball of
 * pgimg's unpacked, which is one too): the first manifest of
 * index.json, its config's Env, volume and diff_ids, and its layers'
 * blobs.  The index, manifest and config are checked against their
 * digests; layer blobs are left to whoever reads them.
 */
#ifndef PGIMG_OCI_READ_H
#define PGIMG_OCI_READ_H

#include <stddef.h>

#include "common/error.h"
#include "layers/layer.h"

struct oci_read {
        char *blob_dir;                 /* <layout>/blobs/sha256 */
        struct layer_desc *layers;      /* bottom first: digest and diff_id */
        size_t n_layers;
        char **env;                     /* config Env, NULL-terminated */
        char *volume;                   /* the first of config Volumes, or NULL */
        char manifest_digest[LAYER_DIGEST_LEN];
};

/* Fill *out (release with oci_read_free, also after a failure). */
int oci_read_layout (const char *layout_dir, struct oci_read *out, pgimg_error_t *err);
void oci_read_free (struct oci_read *r);

#endif
