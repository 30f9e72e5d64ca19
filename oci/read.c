/* read.c - an image from an OCI layout directory (see read.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/internal.h"
#include "oci/read.h"

/* A manifest or config is small; anything larger is not one of ours. */
#define MAX_JSON_BYTES (4u << 20)

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "read image");
}

static json_t *
load_json (const char *path, const char *want_hex, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        json_error_t je;
        json_t *j;

        if (fs_read_file (path, MAX_JSON_BYTES, &b, err) < 0)
                return NULL;
        if (want_hex != NULL) {
                char hex[SHA256_HEX_LEN + 1];
                if (sha256_buf_hex (b.data ? b.data : "", b.len, hex, err) < 0)
                        return NULL;
                if (strcmp (hex, want_hex) != 0) {
                        pgimg_make_error (err, EINVAL, "%s: sha256 is %s, not the digest that names it", path, hex);
                        return NULL;
                }
        }
        j = json_loadb (b.data ? b.data : "", b.len, 0, &je);
        if (j == NULL)
                pgimg_make_error (err, EINVAL, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
        return j;
}

/* The hex of a "sha256:<hex>" descriptor digest, or NULL. */
static const char *
digest_hex (json_t *desc)
{
        const char *d = json_string_value (json_object_get (desc, "digest"));

        if (d == NULL || strncmp (d, "sha256:", 7) != 0 || !sha256_hex_valid (d + 7))
                return NULL;
        return d + 7;
}

static json_t *
load_blob (struct oci_read *r, json_t *desc, const char *what, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        const char *hex = digest_hex (desc);

        if (hex == NULL) {
                pgimg_make_error (err, EINVAL, "the %s descriptor has no sha256 digest", what);
                return NULL;
        }
        if (asprintf (&path, "%s/%s", r->blob_dir, hex) < 0) {
                oom (err);
                return NULL;
        }
        return load_json (path, hex, err);
}

static int
read_config (struct oci_read *r, json_t *config, pgimg_error_t *err)
{
        json_t *c = json_object_get (config, "config");
        json_t *env = json_object_get (c, "Env");
        json_t *vols = json_object_get (c, "Volumes");
        json_t *diff_ids = json_object_get (json_object_get (config, "rootfs"), "diff_ids");
        size_t i;
        json_t *v;

        if (!json_is_array (diff_ids) || json_array_size (diff_ids) != r->n_layers)
                return pgimg_make_error (err, EINVAL, "the config's rootfs.diff_ids do not match the manifest's %zu layers",
                                         r->n_layers);
        json_array_foreach (diff_ids, i, v)
        {
                const char *d = json_string_value (v);
                if (d == NULL || strlen (d) >= LAYER_DIGEST_LEN)
                        return pgimg_make_error (err, EINVAL, "diff_id %zu of the config is not a digest", i);
                snprintf (r->layers[i].diff_id, LAYER_DIGEST_LEN, "%s", d);
        }
        if ((r->env = calloc (json_array_size (env) + 1, sizeof (char *))) == NULL)
                return oom (err);
        json_array_foreach (env, i, v)
        {
                const char *e = json_string_value (v);
                if (e == NULL || strchr (e, '=') == NULL)
                        return pgimg_make_error (err, EINVAL, "Env %zu of the config is not KEY=VALUE", i);
                if ((r->env[i] = strdup (e)) == NULL)
                        return oom (err);
        }
        if (json_is_object (vols) && json_object_size (vols) > 0) {
                void *it = json_object_iter (vols);
                if ((r->volume = strdup (json_object_iter_key (it))) == NULL)
                        return oom (err);
        }
        return 0;
}

int
oci_read_layout (const char *layout_dir, struct oci_read *r, pgimg_error_t *err)
{
        cleanup_free char *index_path = NULL;
        cleanup_json json_t *index = NULL;
        cleanup_json json_t *manifest = NULL;
        cleanup_json json_t *config = NULL;
        json_t *desc, *layers, *l;
        size_t i;

        memset (r, 0, sizeof (*r));
        if (asprintf (&index_path, "%s/index.json", layout_dir) < 0
            || asprintf (&r->blob_dir, "%s/blobs/sha256", layout_dir) < 0)
                return oom (err);
        if ((index = load_json (index_path, NULL, err)) == NULL)
                return pgimg_error_wrap (err, "image %s", layout_dir);
        desc = json_array_get (json_object_get (index, "manifests"), 0);
        if (desc == NULL)
                return pgimg_make_error (err, EINVAL, "image %s: index.json lists no manifest", layout_dir);
        if ((manifest = load_blob (r, desc, "manifest", err)) == NULL)
                return pgimg_error_wrap (err, "image %s", layout_dir);
        snprintf (r->manifest_digest, sizeof (r->manifest_digest), "sha256:%s", digest_hex (desc));
        layers = json_object_get (manifest, "layers");
        if (!json_is_array (layers) || json_array_size (layers) == 0)
                return pgimg_make_error (err, EINVAL, "image %s: the manifest has no layers (an image index?)",
                                         layout_dir);
        r->n_layers = json_array_size (layers);
        if ((r->layers = calloc (r->n_layers, sizeof (*r->layers))) == NULL)
                return oom (err);
        json_array_foreach (layers, i, l)
        {
                const char *hex = digest_hex (l);
                if (hex == NULL)
                        return pgimg_make_error (err, EINVAL, "image %s: layer %zu has no sha256 digest", layout_dir, i);
                snprintf (r->layers[i].digest, LAYER_DIGEST_LEN, "sha256:%s", hex);
                r->layers[i].size = (uint64_t) json_integer_value (json_object_get (l, "size"));
        }
        if ((config = load_blob (r, json_object_get (manifest, "config"), "config", err)) == NULL
            || read_config (r, config, err) < 0)
                return pgimg_error_wrap (err, "image %s", layout_dir);
        return 0;
}

void
oci_read_free (struct oci_read *r)
{
        free (r->blob_dir);
        free (r->layers);
        strv_free (r->env);
        free (r->volume);
        memset (r, 0, sizeof (*r));
}
