/* cache.c - the layer cache as one image: the remote build cache.
 *
 * The image's config (application/vnd.pgimg.cache.config.v1+json) lists
 * the entries, {"key","digest","diffID","size","mediaType"} sorted by key;
 * its layers are the entries' blobs.  So a cache moves, deduplicates and
 * is signed exactly like an image, to a registry or to S3, and a pull
 * checks every digest before an entry is recorded in the local cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/cache.h"
#include "registry/internal.h"

#define REG_MEDIA_CACHE_CONFIG "application/vnd.pgimg.cache.config.v1+json"
#define MAX_ENTRIES 4096

static int
cmp_entry (const void *a, const void *b)
{
        return strcmp (((const struct layer_cache_entry *) a)->key, ((const struct layer_cache_entry *) b)->key);
}

/* Every entry of cache_dir whose blob checks out (layer_cache_lookup
 * drops the others), sorted by key. */
static int
list_entries (const char *cache_dir, struct layer_cache_entries *out, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        cleanup_dir DIR *d = NULL;
        struct dirent *de;

        out->v = calloc (MAX_ENTRIES, sizeof (*out->v));
        out->n = 0;
        if (out->v == NULL || asprintf (&dir, "%s/layers", cache_dir) < 0)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        if ((d = opendir (dir)) == NULL)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "%s", dir);
        while ((de = readdir (d)) != NULL) {
                size_t len = strlen (de->d_name);
                struct layer_cache_entry *e = &out->v[out->n];
                int r;
                if (len != SHA256_HEX_LEN + 5 || strcmp (de->d_name + SHA256_HEX_LEN, ".json") != 0)
                        continue;
                memcpy (e->key, de->d_name, SHA256_HEX_LEN);
                e->key[SHA256_HEX_LEN] = '\0';
                if (!sha256_hex_valid (e->key))
                        continue;
                if ((r = layer_cache_lookup (cache_dir, e->key, &e->desc, err)) < 0)
                        return -1;
                if (r > 0 && ++out->n == MAX_ENTRIES)
                        return pgimg_make_error (err, EFBIG, "%s: more than %d entries", dir, MAX_ENTRIES);
        }
        qsort (out->v, out->n, sizeof (*out->v), cmp_entry);
        return 0;
}

/* The canonical bytes of j: compact, keys sorted. */
static int
dump (const json_t *j, char **out, pgimg_error_t *err)
{
        if ((*out = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        return 0;
}

static int
config_json (const struct layer_cache_entries *es, char **out, pgimg_error_t *err)
{
        cleanup_json json_t *j = json_object ();
        json_t *list = json_array ();

        if (j == NULL || list == NULL || json_object_set_new (j, "entries", list) < 0)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        for (size_t i = 0; i < es->n; i++) {
                const struct layer_desc *d = &es->v[i].desc;
                if (json_array_append_new (list, json_pack ("{s:s,s:s,s:s,s:I,s:s}", "key", es->v[i].key, "digest",
                                                            d->digest, "diffID", d->diff_id, "size",
                                                            (json_int_t) d->size, "mediaType",
                                                            layer_media_type (d->compression)))
                    < 0)
                        return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        }
        return dump (j, out, err);
}

/* The manifest: the config, then each distinct blob once. */
static int
manifest_json (const struct reg_blob *config, const struct layer_cache_entries *es, char **out, pgimg_error_t *err)
{
        cleanup_json json_t *j = json_pack ("{s:i,s:s,s:{s:s,s:s,s:I}}", "schemaVersion", 2, "mediaType",
                                            REG_MEDIA_OCI_MANIFEST, "config", "mediaType", REG_MEDIA_CACHE_CONFIG,
                                            "digest", config->digest, "size", (json_int_t) config->size);
        json_t *layers = json_array ();

        if (j == NULL || layers == NULL || json_object_set_new (j, "layers", layers) < 0)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        for (size_t i = 0; i < es->n; i++) {
                const struct layer_desc *d = &es->v[i].desc;
                int seen = 0;
                for (size_t k = 0; k < i && !seen; k++)
                        seen = strcmp (es->v[k].desc.digest, d->digest) == 0;
                if (!seen && json_array_append_new (layers, json_pack ("{s:s,s:s,s:I}", "mediaType",
                                                                      layer_media_type (d->compression), "digest",
                                                                      d->digest, "size", (json_int_t) d->size))
                                     < 0)
                        return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        }
        return dump (j, out, err);
}

/* The cache as an image in memory: config and manifest held, each layer
 * an open blob file of the store. */
static int
cache_image (const char *cache_dir, const struct layer_cache_entries *es, char **config, struct reg_image *img,
             pgimg_error_t *err)
{
        cleanup_free char *blob_dir = NULL;
        struct reg_manifest m;
        char hex[SHA256_HEX_LEN + 1];

        if (config_json (es, config, err) < 0 || layer_cache_blob_dir (cache_dir, &blob_dir, err) < 0)
                return -1;
        if ((img->blobs = calloc (es->n + 1, sizeof (*img->blobs))) == NULL)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        img->blobs[0] = (struct reg_blob) { .fd = -1, .data = *config, .size = strlen (*config) };
        img->n_blobs = 1;
        if (sha256_buf_hex (*config, strlen (*config), hex, err) < 0)
                return -1;
        snprintf (img->blobs[0].digest, sizeof (img->blobs[0].digest), "sha256:%s", hex);
        if (manifest_json (&img->blobs[0], es, &img->manifest, err) < 0)
                return -1;
        img->manifest_len = strlen (img->manifest);
        if ((img->manifest_media_type = strdup (REG_MEDIA_OCI_MANIFEST)) == NULL
            || sha256_buf_hex (img->manifest, img->manifest_len, hex, err) < 0)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        snprintf (img->manifest_digest, sizeof (img->manifest_digest), "sha256:%s", hex);
        if (reg_manifest_parse (img->manifest, img->manifest_len, &m, err) < 0)
                return -1;
        for (size_t i = 0; i < m.n_layers; i++) {
                struct reg_blob *b = &img->blobs[img->n_blobs++];
                *b = (struct reg_blob) { .fd = -1, .size = m.layers[i].size, .owns_fd = 1 };
                strcpy (b->digest, m.layers[i].digest);
                if (store_open (blob_dir, b->digest, b->size, &b->fd, err) < 0) {
                        reg_manifest_free (&m);
                        return pgimg_error_wrap (err, "cache");
                }
        }
        reg_manifest_free (&m);
        return 0;
}

int
registry_cache_push (const char *cache_dir, const char *dest, const struct registry_opts *opts,
                     struct registry_stats *stats, pgimg_error_t *err)
{
        struct layer_cache_entries es = { 0 };
        struct reg_image img = REG_IMAGE_INIT;
        cleanup_free char *config = NULL;
        int r;

        r = list_entries (cache_dir, &es, err);
        if (r == 0 && es.n == 0)
                r = pgimg_make_error (err, ENOENT, "the layer cache in %s has no entries to push: build first", cache_dir);
        if (r == 0)
                r = cache_image (cache_dir, &es, &config, &img, err);
        if (r == 0)
                r = reg_push_image (&img, dest, opts, stats, err);
        free (es.v);
        /* the config is in blobs[0] but owned here */
        reg_image_close (&img);
        return r;
}

/* Each entry of the config, checked, to fn. */
static int
each_entry (const char *src, const char *data, size_t len,
            int (*fn) (void *ctx, const char *key, const struct layer_desc *d, pgimg_error_t *err), void *ctx,
            pgimg_error_t *err)
{
        cleanup_json json_t *j = json_loadb (data, len, 0, NULL);
        json_t *list = json_object_get (j, "entries"), *v;
        size_t i;

        if (!json_is_array (list))
                return pgimg_make_error (err, EINVAL, "%s: the cache config lists no entries", src);
        json_array_foreach (list, i, v) {
                const char *key = json_string_value (json_object_get (v, "key"));
                const char *digest = json_string_value (json_object_get (v, "digest"));
                const char *diff_id = json_string_value (json_object_get (v, "diffID"));
                const char *mt = json_string_value (json_object_get (v, "mediaType"));
                json_t *size = json_object_get (v, "size");
                struct layer_desc d = { 0 };
                if (key == NULL || !sha256_hex_valid (key) || store_digest_hex (digest) == NULL || store_digest_hex (diff_id) == NULL
                    || mt == NULL || layer_compression_from_media_type (mt, &d.compression) < 0 || !json_is_integer (size)
                    || json_integer_value (size) < 0)
                        return pgimg_make_error (err, EINVAL, "%s: cache entry %zu is malformed", src, i);
                strcpy (d.digest, digest);
                strcpy (d.diff_id, diff_id);
                d.size = (uint64_t) json_integer_value (size);
                if (fn (ctx, key, &d, err) < 0)
                        return -1;
        }
        return 0;
}

struct recording {
        const char *cache_dir;
        unsigned n;
};

/* Record an entry; its blob was checked on the way in. */
static int
record_entry (void *ctx, const char *key, const struct layer_desc *d, pgimg_error_t *err)
{
        struct recording *rec = ctx;

        if (layer_cache_store (rec->cache_dir, key, d, err) < 0)
                return -1;
        rec->n++;
        return 0;
}

static int
collect_entry (void *ctx, const char *key, const struct layer_desc *d, pgimg_error_t *err)
{
        struct layer_cache_entries *es = ctx;

        if (es->n == MAX_ENTRIES)
                return pgimg_make_error (err, EFBIG, "the cache lists more than %d entries", MAX_ENTRIES);
        strcpy (es->v[es->n].key, key);
        es->v[es->n++].desc = *d;
        return 0;
}

int
reg_pull_config (const char *cache_dir, const char *src, const char *media_type, const struct registry_opts *opts,
                 struct registry_stats *stats, struct buf *config, pgimg_error_t *err)
{
        cleanup_free char *blob_dir = NULL;
        cleanup_buf struct buf manifest = BUF_INIT;
        struct reg_manifest m;
        int r;

        if (registry_pull (src, cache_dir, NULL, opts, stats, err) < 0 || layer_cache_blob_dir (cache_dir, &blob_dir, err) < 0)
                return -1;
        if (store_read (blob_dir, stats->manifest_digest, REG_MAX_MANIFEST_BYTES, &manifest, err) < 0
            || reg_manifest_parse (manifest.data, manifest.len, &m, err) < 0)
                return -1;
        if (m.config.media_type == NULL || strcmp (m.config.media_type, media_type) != 0) {
                reg_manifest_free (&m);
                return 0;
        }
        r = store_read (blob_dir, m.config.digest, REG_MAX_MANIFEST_BYTES, config, err);
        reg_manifest_free (&m);
        return r < 0 ? -1 : 1;
}

/* Pull the cache image src (all of it, or its config only) into
 * cache_dir's store and read its config into *config. */
static int
pull_config (const char *cache_dir, const char *src, const struct registry_opts *opts,
             struct registry_stats *stats, struct buf *config, pgimg_error_t *err)
{
        int r = reg_pull_config (cache_dir, src, REG_MEDIA_CACHE_CONFIG, opts, stats, config, err);

        if (r == 0)
                return pgimg_make_error (err, EINVAL, "%s is an image, not a pgimg build cache (push one with `pgimg push --cache`)",
                                         src);
        return r < 0 ? -1 : 0;
}

int
registry_cache_pull (const char *cache_dir, const char *src, const struct registry_opts *opts,
                     struct registry_stats *stats, unsigned *n_entries, pgimg_error_t *err)
{
        cleanup_buf struct buf config = BUF_INIT;
        struct registry_stats ignored;
        struct recording rec = { cache_dir, 0 };

        if (stats == NULL)
                stats = &ignored;
        if (pull_config (cache_dir, src, opts, stats, &config, err) < 0
            || each_entry (src, config.data, config.len, record_entry, &rec, err) < 0)
                return -1;
        if (n_entries)
                *n_entries = rec.n;
        return 0;
}

int
reg_peek_config (const char *src, const char *work_dir, const char *media_type, const struct registry_opts *opts,
                 struct buf *config, pgimg_error_t *err)
{
        struct registry_opts o = *opts;
        struct registry_stats stats;
        char *scratch = NULL;
        int r;

        o.config_only = 1;
        if (fs_mkdtemp (work_dir, "config", &scratch, err) < 0)
                return -1;
        r = reg_pull_config (scratch, src, media_type, &o, &stats, config, err);
        fs_drop_temp_dir (scratch);
        free (scratch);
        return r;
}

int
registry_cache_entries (const char *src, const char *work_dir, const struct registry_opts *opts,
                        struct layer_cache_entries *out, pgimg_error_t *err)
{
        cleanup_buf struct buf config = BUF_INIT;
        int r;

        memset (out, 0, sizeof (*out));
        if ((out->v = calloc (MAX_ENTRIES, sizeof (*out->v))) == NULL)
                return pgimg_make_error (err, ENOMEM, "cache: out of memory");
        r = reg_peek_config (src, work_dir, REG_MEDIA_CACHE_CONFIG, opts, &config, err);
        if (r == 0)
                return pgimg_make_error (err, EINVAL, "%s is an image, not a pgimg build cache (push one with `pgimg push --cache`)",
                                         src);
        if (r < 0 || each_entry (src, config.data, config.len, collect_entry, out, err) < 0)
                return -1;
        qsort (out->v, out->n, sizeof (*out->v), cmp_entry);
        return 0;
}
