#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/internal.h"

/* Year 9999, 23:59:59: the last time RFC 3339 can write. */
#define MAX_CREATED ((time_t) 253402300799LL)

static int
utf8_valid (const char *s)
{
        json_t *j = json_string (s);    /* jansson refuses invalid UTF-8 */

        if (j == NULL)
                return 0;
        json_decref (j);
        return 1;
}

static int
check_string (const char *what, const char *s, pgimg_error_t *err)
{
        if (s != NULL && !utf8_valid (s))
                return pgimg_make_error (err, EINVAL, "%s `%s` is not valid UTF-8", what, s);
        return 0;
}

static int
check_strv (const char *what, const char *const *v, pgimg_error_t *err)
{
        for (; v != NULL && *v != NULL; v++)
                if (check_string (what, *v, err) < 0)
                        return -1;
        return 0;
}

static int
check_kv (const char *what, const struct oci_kv *kv, size_t n, pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                if (kv[i].key == NULL || kv[i].key[0] == '\0' || kv[i].value == NULL)
                        return pgimg_make_error (err, EINVAL, "%s %zu has no key or no value", what, i);
                if (check_string (what, kv[i].key, err) < 0 || check_string (what, kv[i].value, err) < 0)
                        return -1;
        }
        return 0;
}

static int
digest_valid (const char *d)
{
        return store_digest_hex (d) != NULL;
}

/* "5432/tcp", "53/udp", "132/sctp" or a bare "5432" (tcp). */
static int
port_valid (const char *p)
{
        char *end;
        long n;

        if (p[0] < '0' || p[0] > '9')
                return 0;
        n = strtol (p, &end, 10);
        if (n < 1 || n > 65535)
                return 0;
        return *end == '\0' || strcmp (end, "/tcp") == 0 || strcmp (end, "/udp") == 0
               || strcmp (end, "/sctp") == 0;
}

static int
check_layers (const struct oci_image *img, pgimg_error_t *err)
{
        if (img->n_layers > 0 && img->layers == NULL)
                return pgimg_make_error (err, EINVAL, "the image has %zu layers but no descriptors",
                                         img->n_layers);
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct layer_desc *l = &img->layers[i];
                if (!digest_valid (l->digest))
                        return pgimg_make_error (err, EINVAL, "layer %zu: invalid digest `%.*s`", i,
                                                 LAYER_DIGEST_LEN - 1, l->digest);
                if (!digest_valid (l->diff_id))
                        return pgimg_make_error (err, EINVAL, "layer %zu: invalid diff_id `%.*s`", i,
                                                 LAYER_DIGEST_LEN - 1, l->diff_id);
                if (l->compression != LAYER_GZIP && l->compression != LAYER_ZSTD
                    && l->compression != LAYER_UNCOMPRESSED)
                        return pgimg_make_error (err, EINVAL, "layer %s: unknown compression %d",
                                                 l->digest, (int) l->compression);
                if (img->layer_comments != NULL
                    && check_string ("history comment", img->layer_comments[i], err) < 0)
                        return -1;
        }
        return 0;
}

static int
check_tags (const struct oci_image *img, int need_tags, pgimg_error_t *err)
{
        if (need_tags && (img->tags == NULL || img->tags[0] == NULL))
                return pgimg_make_error (err, EINVAL, "the image has no tag");
        for (const char *const *t = img->tags; t != NULL && *t != NULL; t++) {
                struct oci_ref r;
                if (oci_ref_parse (*t, &r, err) < 0)
                        return -1;
                oci_ref_free (&r);
        }
        return 0;
}

int
oci_image_check (const struct oci_image *img, int need_tags, pgimg_error_t *err)
{
        if (img->architecture == NULL || img->architecture[0] == '\0')
                return pgimg_make_error (err, EINVAL, "the image has no architecture");
        if (img->created < 0 || img->created > MAX_CREATED)
                return pgimg_make_error (err, EINVAL, "image creation time %lld is out of range",
                                         (long long) img->created);
        for (const char *const *e = img->env; e != NULL && *e != NULL; e++)
                if (strchr (*e, '=') == NULL || (*e)[0] == '=')
                        return pgimg_make_error (err, EINVAL,
                                                 "environment entry `%s` is not NAME=value", *e);
        for (const char *const *p = img->exposed_ports; p != NULL && *p != NULL; p++)
                if (!port_valid (*p))
                        return pgimg_make_error (err, EINVAL,
                                                 "invalid exposed port `%s` (want e.g. 5432/tcp)", *p);
        for (const char *const *v = img->volumes; v != NULL && *v != NULL; v++)
                if ((*v)[0] != '/')
                        return pgimg_make_error (err, EINVAL, "volume `%s` is not an absolute path", *v);
        if (check_string ("architecture", img->architecture, err) < 0
            || check_string ("user", img->user, err) < 0
            || check_string ("working directory", img->workdir, err) < 0
            || check_string ("stop signal", img->stop_signal, err) < 0
            || check_strv ("environment entry", img->env, err) < 0
            || check_strv ("entrypoint argument", img->entrypoint, err) < 0
            || check_strv ("command argument", img->cmd, err) < 0
            || check_strv ("volume", img->volumes, err) < 0
            || check_kv ("label", img->labels, img->n_labels, err) < 0
            || check_kv ("annotation", img->annotations, img->n_annotations, err) < 0)
                return -1;
        if (check_layers (img, err) < 0)
                return -1;
        return check_tags (img, need_tags, err);
}

int
oci_manifest_json (const struct oci_image *img, const struct oci_blob *config, struct buf *out,
                   pgimg_error_t *err)
{
        cleanup_json json_t *m = json_object ();
        cleanup_json json_t *layers = json_array ();
        cleanup_json json_t *annotations = NULL;

        if (m == NULL || layers == NULL)
                goto oom;
        for (size_t i = 0; i < img->n_layers; i++) {
                const struct layer_desc *l = &img->layers[i];
                json_t *d = oci_json_descriptor (layer_media_type (l->compression), l->digest, l->size);
                if (json_array_append_new (layers, d) < 0)
                        goto oom;
        }
        if (img->n_annotations > 0) {
                if ((annotations = json_object ()) == NULL)
                        goto oom;
                for (size_t i = 0; i < img->n_annotations; i++)
                        if (json_object_set_new (annotations, img->annotations[i].key,
                                                 json_string (img->annotations[i].value)) < 0)
                                goto oom;
                if (json_object_set_new (m, "annotations", steal_pointer (&annotations)) < 0)
                        goto oom;
        }
        if (json_object_set_new (m, "schemaVersion", json_integer (2)) < 0
            || json_object_set_new (m, "mediaType", json_string (OCI_MEDIA_MANIFEST)) < 0
            || json_object_set_new (m, "config",
                                    oci_json_descriptor (OCI_MEDIA_CONFIG, config->digest, config->size)) < 0
            || json_object_set_new (m, "layers", steal_pointer (&layers)) < 0)
                goto oom;
        return oci_json_dump (m, out, err);
oom:
        return pgimg_make_error (err, ENOMEM, "out of memory");
}

/* Store bytes as blob_dir/<hex> and describe them in *blob. */
static int
write_blob (const char *blob_dir, const struct buf *bytes, struct oci_blob *blob, pgimg_error_t *err)
{
        char hex[SHA256_HEX_LEN + 1];
        cleanup_free char *path = NULL;

        if (sha256_buf_hex (bytes->data, bytes->len, hex, err) < 0)
                return -1;
        if (asprintf (&path, "%s/%s", blob_dir, hex) < 0)
                return pgimg_make_error (err, ENOMEM, "blob path: out of memory");
        if (fs_write_file_atomic (path, bytes->data, bytes->len, 0644, err) < 0)
                return -1;
        snprintf (blob->digest, sizeof (blob->digest), "sha256:%s", hex);
        blob->size = bytes->len;
        return 0;
}

int
oci_write_blobs_full (const char *blob_dir, const struct oci_image *img, struct oci_blobs *out,
                      pgimg_error_t *err)
{
        cleanup_buf struct buf config = BUF_INIT;
        cleanup_buf struct buf manifest = BUF_INIT;

        memset (out, 0, sizeof (*out));
        if (oci_image_check (img, 0, err) < 0)
                return -1;
        if (oci_config_json (img, &config, err) < 0
            || write_blob (blob_dir, &config, &out->config, err) < 0)
                return pgimg_error_wrap (err, "write the image config");
        if (oci_manifest_json (img, &out->config, &manifest, err) < 0
            || write_blob (blob_dir, &manifest, &out->manifest, err) < 0)
                return pgimg_error_wrap (err, "write the image manifest");
        return 0;
}

int
oci_write_blobs (const char *blob_dir, const struct oci_image *img,
                 char manifest_digest[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        struct oci_blobs blobs;

        if (oci_write_blobs_full (blob_dir, img, &blobs, err) < 0)
                return -1;
        memcpy (manifest_digest, blobs.manifest.digest, LAYER_DIGEST_LEN);
        return 0;
}

int
oci_write_index_blob (const char *blob_dir, const struct oci_image *const *imgs, const struct oci_blobs *blobs,
                      size_t n, struct oci_blob *out, pgimg_error_t *err)
{
        cleanup_json json_t *index = json_object ();
        cleanup_json json_t *manifests = json_array ();
        cleanup_buf struct buf bytes = BUF_INIT;

        if (index == NULL || manifests == NULL)
                goto oom;
        for (size_t i = 0; i < n; i++) {
                json_t *d = oci_json_descriptor (OCI_MEDIA_MANIFEST, blobs[i].manifest.digest, blobs[i].manifest.size);
                if (json_array_append_new (manifests, d) < 0
                    || json_object_set_new (d, "platform", json_pack ("{s:s, s:s}", "architecture",
                                                                      imgs[i]->architecture, "os", "linux"))
                               < 0)
                        goto oom;
        }
        if (json_object_set_new (index, "schemaVersion", json_integer (2)) < 0
            || json_object_set_new (index, "mediaType", json_string (OCI_MEDIA_INDEX)) < 0
            || json_object_set_new (index, "manifests", steal_pointer (&manifests)) < 0)
                goto oom;
        if (oci_json_dump (index, &bytes, err) < 0 || write_blob (blob_dir, &bytes, out, err) < 0)
                return pgimg_error_wrap (err, "write the image index");
        return 0;
oom:
        return pgimg_make_error (err, ENOMEM, "image index: out of memory");
}
