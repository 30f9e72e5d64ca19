#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "oci/internal.h"

int
oci_format_parse (const char *s, enum oci_format *f, pgimg_error_t *err)
{
        /* One tarball serves `docker load` and OCI tools alike, so the
         * three names people know it by all mean the same output. */
        if (strcmp (s, "docker-archive") == 0 || strcmp (s, "archive") == 0
            || strcmp (s, "oci-archive") == 0) {
                *f = OCI_FORMAT_ARCHIVE;
                return 0;
        }
        if (strcmp (s, "oci-dir") == 0) {
                *f = OCI_FORMAT_DIR;
                return 0;
        }
        return pgimg_make_error (err, EINVAL,
                                 "unknown image format `%s` (want docker-archive, oci-archive or oci-dir)", s);
}

int
oci_write_image (const char *blob_dir, const struct oci_image *img, enum oci_format fmt,
                 const char *out_path, char manifest_digest[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        cleanup_layout struct oci_layout layout = OCI_LAYOUT_INIT;
        struct oci_blobs blobs;

        if (fmt != OCI_FORMAT_ARCHIVE && fmt != OCI_FORMAT_DIR)
                return pgimg_make_error (err, EINVAL, "image `%s`: unknown format %d", out_path, (int) fmt);
        if (oci_image_check (img, 1, err) < 0 || oci_write_blobs_full (blob_dir, img, &blobs, err) < 0
            || oci_layout_build (blob_dir, img, &blobs, &layout, err) < 0)
                return pgimg_error_wrap (err, "image `%s`", out_path);
        if (fmt == OCI_FORMAT_ARCHIVE) {
                if (oci_layout_write_tar (&layout, img->created, out_path, err) < 0)
                        return pgimg_error_wrap (err, "image `%s`", out_path);
        } else {
                if (oci_layout_write_dir (&layout, out_path, err) < 0)
                        return pgimg_error_wrap (err, "image `%s`", out_path);
        }
        if (manifest_digest != NULL)
                memcpy (manifest_digest, blobs.manifest.digest, LAYER_DIGEST_LEN);
        return 0;
}

int
oci_write_stored (const char *blob_dir, const char *manifest_digest, const char *tag, const char *out_path,
                  pgimg_error_t *err)
{
        cleanup_layout struct oci_layout layout = OCI_LAYOUT_INIT;

        /* mtime 0: a pulled image has no build time of its own here. */
        if (oci_layout_build_stored (blob_dir, manifest_digest, tag, &layout, err) < 0
            || oci_layout_write_tar (&layout, 0, out_path, err) < 0)
                return pgimg_error_wrap (err, "image `%s`", out_path);
        return 0;
}

#define MAX_PLATFORMS 8

int
oci_write_index (const char *blob_dir, const struct oci_image *const *imgs, size_t n, enum oci_format fmt,
                 const char *out_path, char index_digest[LAYER_DIGEST_LEN],
                 char (*manifest_digests)[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        cleanup_layout struct oci_layout layout = OCI_LAYOUT_INIT;
        struct oci_blobs blobs[MAX_PLATFORMS];
        struct oci_blob index;

        if (fmt != OCI_FORMAT_ARCHIVE && fmt != OCI_FORMAT_DIR)
                return pgimg_make_error (err, EINVAL, "image `%s`: unknown format %d", out_path, (int) fmt);
        if (n == 0 || n > MAX_PLATFORMS)
                return pgimg_make_error (err, EINVAL, "image `%s`: an index of %zu images (1 to %d)", out_path, n,
                                         MAX_PLATFORMS);
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < i; j++)
                        if (strcmp (imgs[i]->architecture, imgs[j]->architecture) == 0)
                                return pgimg_make_error (err, EINVAL, "image `%s`: platform linux/%s given twice",
                                                         out_path, imgs[i]->architecture);
                if (oci_image_check (imgs[i], 1, err) < 0
                    || oci_write_blobs_full (blob_dir, imgs[i], &blobs[i], err) < 0)
                        return pgimg_error_wrap (err, "image `%s`: linux/%s", out_path, imgs[i]->architecture);
        }
        if (oci_write_index_blob (blob_dir, imgs, blobs, n, &index, err) < 0
            || oci_layout_build_index (blob_dir, imgs, blobs, n, &index, &layout, err) < 0)
                return pgimg_error_wrap (err, "image `%s`", out_path);
        if ((fmt == OCI_FORMAT_ARCHIVE ? oci_layout_write_tar (&layout, imgs[0]->created, out_path, err)
                                       : oci_layout_write_dir (&layout, out_path, err))
            < 0)
                return pgimg_error_wrap (err, "image `%s`", out_path);
        if (index_digest != NULL)
                memcpy (index_digest, index.digest, LAYER_DIGEST_LEN);
        for (size_t i = 0; manifest_digests != NULL && i < n; i++)
                memcpy (manifest_digests[i], blobs[i].manifest.digest, LAYER_DIGEST_LEN);
        return 0;
}
