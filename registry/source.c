/* source.c - the manifest and blobs of an image tarball or layout dir.
 *
 * oci/ reads the image (libarchive for a tarball, no symlink followed in
 * a layout) into the blob store, checking every blob against its digest
 * and size; uploads then read the blobs from the store, each opened
 * (and checked again) through store_open, so that several threads
 * reading with pread never see the image file itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "layers/store.h"
#include "oci/read.h"
#include "registry/internal.h"

static int
open_blob (const char *blob_dir, const char *digest, uint64_t size, struct reg_blob *b, pgimg_error_t *err)
{
        snprintf (b->digest, sizeof (b->digest), "%s", digest);
        b->size = size;
        b->offset = 0;
        b->fd = -1;
        if (store_open (blob_dir, digest, size, &b->fd, err) < 0)
                return -1;
        b->owns_fd = 1;
        return 0;
}

int
reg_image_open (const char *path, const char *blob_dir, struct reg_image *img, pgimg_error_t *err)
{
        cleanup_buf struct buf m = BUF_INIT;
        struct oci_read r;
        int ret = -1;

        memset (img, 0, sizeof (*img));
        if (oci_read_image (path, blob_dir, &r, err) < 0)
                goto out;
        if (store_read (blob_dir, r.manifest_digest, REG_MAX_MANIFEST_BYTES, &m, err) < 0) {
                pgimg_error_wrap (err, "image `%s`", path);
                goto out;
        }
        snprintf (img->manifest_digest, sizeof (img->manifest_digest), "%s", r.manifest_digest);
        img->manifest_media_type = steal_pointer (&r.manifest_media_type);
        img->manifest = buf_detach (&m, &img->manifest_len);
        img->blobs = calloc (r.n_layers + 1, sizeof (*img->blobs));
        if (img->manifest == NULL || img->blobs == NULL) {
                pgimg_make_error (err, ENOMEM, "image `%s`: out of memory", path);
                goto out;
        }
        for (size_t i = 0; i <= r.n_layers; i++) {
                const char *digest = i == 0 ? r.config_digest : r.layers[i - 1].digest;
                uint64_t size = i == 0 ? r.config_size : r.layers[i - 1].size;
                img->n_blobs = i + 1;
                if (open_blob (blob_dir, digest, size, &img->blobs[i], err) < 0) {
                        pgimg_error_wrap (err, "image `%s`", path);
                        goto out;
                }
        }
        ret = 0;
out:
        oci_read_free (&r);
        if (ret < 0)
                reg_image_close (img);
        return ret;
}

void
reg_image_close (struct reg_image *img)
{
        for (size_t i = 0; i < img->n_blobs; i++)
                if (img->blobs[i].owns_fd && img->blobs[i].fd >= 0)
                        close (img->blobs[i].fd);
        free (img->blobs);
        free (img->manifest);
        free (img->manifest_media_type);
        memset (img, 0, sizeof (*img));
}
