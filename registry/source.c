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
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
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
reg_image_from_store (const char *blob_dir, const char *manifest_digest, struct reg_image *img,
                      pgimg_error_t *err)
{
        cleanup_buf struct buf raw = BUF_INIT;
        struct reg_manifest m = { 0 };
        int ret = -1;

        memset (img, 0, sizeof (*img));
        if (store_read (blob_dir, manifest_digest, REG_MAX_MANIFEST_BYTES, &raw, err) < 0
            || reg_manifest_parse (raw.data ? raw.data : "", raw.len, &m, err) < 0)
                return -1;
        snprintf (img->manifest_digest, sizeof (img->manifest_digest), "%s", manifest_digest);
        img->manifest_media_type = strdup (m.media_type ? m.media_type : REG_MEDIA_OCI_MANIFEST);
        img->manifest = buf_detach (&raw, &img->manifest_len);
        img->blobs = calloc (m.n_layers + 1, sizeof (*img->blobs));
        if (img->manifest_media_type == NULL || img->manifest == NULL || img->blobs == NULL) {
                pgimg_make_error (err, ENOMEM, "manifest %s: out of memory", manifest_digest);
                goto out;
        }
        for (size_t i = 0; i <= m.n_layers; i++) {
                const struct reg_desc *d = i == 0 ? &m.config : &m.layers[i - 1];
                img->n_blobs = i + 1;
                if (open_blob (blob_dir, d->digest, d->size, &img->blobs[i], err) < 0)
                        goto out;
        }
        ret = 0;
out:
        reg_manifest_free (&m);
        if (ret < 0)
                reg_image_close (img);
        return ret;
}

/* The SBOM `pgimg build` writes beside an image tarball, when there is
 * one: it is pushed as the image's attestation. */
static int
sbom_beside (const char *path, struct reg_image *img, pgimg_error_t *err)
{
        cleanup_free char *sbom = NULL;
        struct stat st;

        if ((sbom = fs_path_beside (path, ".spdx.json")) == NULL)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        if (stat (sbom, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : pgimg_make_error_errno (err, errno, "%s", sbom);
        if (!S_ISREG (st.st_mode))
                return pgimg_make_error (err, EINVAL, "%s is not a file; remove it or put the image's SBOM there",
                                         sbom);
        img->sbom_path = steal_pointer (&sbom);
        return 0;
}

/* Every platform's blobs once, borrowed: two platforms may share one
 * (the same file in a layer of each). */
static int
index_blobs (struct reg_image *img, pgimg_error_t *err)
{
        size_t total = 0;

        for (size_t i = 0; i < img->n_platforms; i++)
                total += img->platforms[i].n_blobs;
        if ((img->blobs = calloc (total ? total : 1, sizeof (*img->blobs))) == NULL)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        for (size_t i = 0; i < img->n_platforms; i++)
                for (size_t j = 0; j < img->platforms[i].n_blobs; j++) {
                        const struct reg_blob *b = &img->platforms[i].blobs[j];
                        size_t k = 0;
                        while (k < img->n_blobs && strcmp (img->blobs[k].digest, b->digest) != 0)
                                k++;
                        if (k < img->n_blobs)
                                continue;
                        img->blobs[img->n_blobs] = *b;
                        img->blobs[img->n_blobs++].owns_fd = 0;
                }
        return 0;
}

/* The index x->digest and one image per platform, from the store. */
static int
open_index (const char *blob_dir, const struct oci_read_index *x, struct reg_image *img, pgimg_error_t *err)
{
        cleanup_buf struct buf raw = BUF_INIT;

        if (store_read (blob_dir, x->digest, REG_MAX_MANIFEST_BYTES, &raw, err) < 0)
                return -1;
        snprintf (img->manifest_digest, sizeof (img->manifest_digest), "%s", x->digest);
        img->manifest = buf_detach (&raw, &img->manifest_len);
        /* An OCI index or a Docker manifest list: the type it says. */
        img->manifest_media_type = reg_json_media_type (img->manifest ? img->manifest : "", img->manifest_len);
        if (img->manifest_media_type == NULL || !reg_media_is_index (img->manifest_media_type)) {
                free (img->manifest_media_type);
                img->manifest_media_type = strdup (REG_MEDIA_OCI_INDEX);
        }
        img->platforms = calloc (x->n, sizeof (*img->platforms));
        if (img->manifest == NULL || img->manifest_media_type == NULL || img->platforms == NULL)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        for (size_t i = 0; i < x->n; i++) {
                img->n_platforms = i + 1;
                if (reg_image_from_store (blob_dir, x->images[i].manifest_digest, &img->platforms[i], err) < 0)
                        return -1;
        }
        return index_blobs (img, err);
}

int
reg_image_open (const char *path, const char *blob_dir, struct reg_image *img, pgimg_error_t *err)
{
        struct oci_read_index x;
        int ret;

        memset (img, 0, sizeof (*img));
        ret = oci_read_index (path, blob_dir, &x, err);
        if (ret == 0) {
                ret = x.digest[0] != '\0' ? open_index (blob_dir, &x, img, err)
                                          : reg_image_from_store (blob_dir, x.images[0].manifest_digest, img, err);
                if (ret < 0)
                        pgimg_error_wrap (err, "image `%s`", path);
        }
        oci_read_index_free (&x);
        if (ret == 0)
                ret = sbom_beside (path, img, err);
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
        for (size_t i = 0; i < img->n_platforms; i++)
                reg_image_close (&img->platforms[i]);
        free (img->platforms);
        free (img->blobs);
        free (img->manifest);
        free (img->manifest_media_type);
        free (img->sbom_path);
        memset (img, 0, sizeof (*img));
}
