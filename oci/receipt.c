#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/libjson.h"
#include "oci/receipt.h"

static json_t *
string_array (const char *const *v)
{
        json_t *a = json_array ();

        for (size_t i = 0; a && v && v[i]; i++)
                if (json_array_append_new (a, json_string (v[i])) < 0) {
                        json_decref (a);
                        return NULL;
                }
        return a;
}

static json_t *
layers_json (const struct receipt *r)
{
        json_t *a = json_array ();

        for (size_t i = 0; a && i < r->n_layers; i++) {
                const struct layer_desc *d = r->layers[i].desc;
                json_t *l = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:s}", "name", r->layers[i].name,
                                       "key", r->layers[i].key, "digest", d->digest, "diffID",
                                       d->diff_id, "size", (json_int_t) d->size, "mediaType",
                                       layer_media_type (d->compression));
                if (l == NULL || json_array_append_new (a, l) < 0) {
                        json_decref (a);
                        return NULL;
                }
        }
        return a;
}

static json_t *
packages_json (const struct receipt_package *pkgs, size_t n)
{
        json_t *a = json_array ();

        for (size_t i = 0; a && i < n; i++) {
                json_t *p = json_pack ("{s:s, s:s}", "name", pkgs[i].name, "version", pkgs[i].version);
                if (p == NULL || json_array_append_new (a, p) < 0) {
                        json_decref (a);
                        return NULL;
                }
        }
        return a;
}

int
receipt_format (const struct receipt *r, struct buf *out, pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;
        cleanup_free char *text = NULL;

        root = json_pack ("{s:s, s:s, s:o*, s:{s:s, s:s, s:{s:s, s:o*}}, s:{s:s, s:s}, s:I, s:o*, s:o*}",
                          "pgimg", r->pgimg_version,
                          "image", r->image,
                          "tags", string_array (r->tags),
                          "postgres", "major", r->pg_major, "version", r->pg_version,
                          "source", "sha256", r->source_sha256, "urls", string_array (r->source_urls),
                          "lock", "path", r->lock_path, "digest", r->lock_digest,
                          "sourceDateEpoch", (json_int_t) r->source_date_epoch,
                          "packages", packages_json (r->packages, r->n_packages),
                          "layers", layers_json (r));
        if (root == NULL)
                return pgimg_make_error (err, ENOMEM, "receipt: cannot build the JSON document");
        if (r->manifest_digest
            && json_object_set_new (root, "manifest", json_string (r->manifest_digest)) < 0)
                return pgimg_make_error (err, ENOMEM, "receipt: cannot build the JSON document");
        if (r->disk.format
            && json_object_set_new (root, "disk",
                                    json_pack ("{s:s, s:I, s:o*}", "format", r->disk.format, "sizeMiB",
                                               (json_int_t) r->disk.size_mib, "machinePackages",
                                               packages_json (r->disk.machine_packages,
                                                              r->disk.n_machine_packages))) < 0)
                return pgimg_make_error (err, ENOMEM, "receipt: cannot build the JSON document");
        text = json_dumps (root, JSON_INDENT (2) | JSON_SORT_KEYS);
        if (text == NULL || buf_adds (out, text) < 0 || buf_adds (out, "\n") < 0)
                return pgimg_make_error (err, ENOMEM, "receipt: cannot format the JSON document");
        return 0;
}
