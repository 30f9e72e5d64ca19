/* manifest.c - the descriptors of image manifests and indexes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/internal.h"

int
reg_media_is_index (const char *media_type)
{
        return media_type != NULL
               && (strcmp (media_type, REG_MEDIA_OCI_INDEX) == 0 || strcmp (media_type, REG_MEDIA_DOCKER_LIST) == 0);
}

void
reg_desc_free (struct reg_desc *d)
{
        free (d->media_type);
        memset (d, 0, sizeof (*d));
}

static int
desc_parse (json_t *j, struct reg_desc *d, const char *what, pgimg_error_t *err)
{
        json_t *mt = json_object_get (j, "mediaType");
        json_t *dg = json_object_get (j, "digest");
        json_t *sz = json_object_get (j, "size");

        memset (d, 0, sizeof (*d));
        if (!json_is_string (dg) || store_digest_hex (json_string_value (dg)) == NULL || !json_is_integer (sz)
            || json_integer_value (sz) < 0)
                return pgimg_make_error (err, EINVAL, "%s: a descriptor without a sha256 digest and a size",
                                         what);
        strcpy (d->digest, json_string_value (dg));
        d->size = (uint64_t) json_integer_value (sz);
        if (json_is_string (mt) && (d->media_type = strdup (json_string_value (mt))) == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", what);
        return 0;
}

static json_t *
load (const char *data, size_t len, const char *what, pgimg_error_t *err)
{
        json_error_t jerr;
        json_t *j = json_loadb (data, len, 0, &jerr);

        if (j == NULL || !json_is_object (j)) {
                if (j)
                        json_decref (j);
                pgimg_make_error (err, EINVAL, "%s: not a JSON object (line %d: %s)", what, jerr.line,
                                  j ? "not an object" : jerr.text);
                return NULL;
        }
        return j;
}

char *
reg_json_media_type (const char *data, size_t len)
{
        cleanup_json json_t *j = json_loadb (data, len, 0, NULL);
        json_t *mt = json_object_get (j, "mediaType");

        return json_is_string (mt) ? strdup (json_string_value (mt)) : NULL;
}

int
reg_manifest_parse (const char *data, size_t len, struct reg_manifest *m, pgimg_error_t *err)
{
        cleanup_json json_t *j = NULL;
        json_t *layers, *mt, *v;
        size_t i;

        memset (m, 0, sizeof (*m));
        if ((j = load (data, len, "manifest", err)) == NULL)
                return -1;
        mt = json_object_get (j, "mediaType");
        layers = json_object_get (j, "layers");
        if (!json_is_array (layers))
                return pgimg_make_error (err, EINVAL, "manifest: no layers (an index or a schema 1 manifest?)");
        m->media_type = strdup (json_is_string (mt) ? json_string_value (mt) : REG_MEDIA_OCI_MANIFEST);
        m->layers = calloc (json_array_size (layers) + 1, sizeof (*m->layers));
        if (m->media_type == NULL || m->layers == NULL) {
                reg_manifest_free (m);
                return pgimg_make_error (err, ENOMEM, "manifest: out of memory");
        }
        if (desc_parse (json_object_get (j, "config"), &m->config, "manifest config", err) < 0) {
                reg_manifest_free (m);
                return -1;
        }
        json_array_foreach (layers, i, v) {
                if (desc_parse (v, &m->layers[i], "manifest layer", err) < 0) {
                        reg_manifest_free (m);
                        return -1;
                }
                m->n_layers = i + 1;
        }
        return 0;
}

void
reg_manifest_free (struct reg_manifest *m)
{
        free (m->media_type);
        reg_desc_free (&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                reg_desc_free (&m->layers[i]);
        free (m->layers);
        memset (m, 0, sizeof (*m));
}

static int
is_amd64 (json_t *desc)
{
        json_t *p = json_object_get (desc, "platform");
        const char *os = json_string_value (json_object_get (p, "os"));
        const char *arch = json_string_value (json_object_get (p, "architecture"));

        return os && arch && strcmp (os, "linux") == 0 && strcmp (arch, "amd64") == 0;
}

int
reg_index_pick (const char *data, size_t len, struct reg_desc *out, pgimg_error_t *err)
{
        cleanup_json json_t *j = NULL;
        json_t *list, *v, *pick = NULL;
        size_t i;

        if ((j = load (data, len, "index", err)) == NULL)
                return -1;
        list = json_object_get (j, "manifests");
        if (!json_is_array (list) || json_array_size (list) == 0)
                return pgimg_make_error (err, EINVAL, "index: no manifests");
        json_array_foreach (list, i, v) {
                if (is_amd64 (v)) {
                        pick = v;
                        break;
                }
                if (pick == NULL && json_object_get (v, "platform") == NULL)
                        pick = v;
        }
        if (pick == NULL)
                return pgimg_make_error (err, ENOENT, "index: no linux/amd64 manifest");
        return desc_parse (pick, out, "index", err);
}
