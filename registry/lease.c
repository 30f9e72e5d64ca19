/* lease.c - leases on layer keys beside a remote build cache.
 *
 * A lease is a tiny image tagged lease-<key> in the repository of a
 * builder's --cache-to: no layer, and a config
 * (application/vnd.pgimg.lease.v1+json) that says
 * {"cache","expires","holder","key"}.  It moves like any image, to a
 * registry or to S3, so that both hold leases the same way.  A lease
 * read back is outside input: another builder, or anyone who can push
 * to the repository, wrote it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/internal.h"

#define REG_MEDIA_LEASE_CONFIG "application/vnd.pgimg.lease.v1+json"
#define MAX_LEASE_BYTES 4096
/* Past any real date: a larger "expires" is garbage. */
#define MAX_EXPIRES (1LL << 40)

int
registry_lease_ref (const char *cache_ref, const char *key, char **out, pgimg_error_t *err)
{
        const char *slash = strrchr (cache_ref, '/');
        const char *last = slash ? slash + 1 : cache_ref;
        const char *colon = strrchr (last, ':');
        size_t repo_len = colon ? (size_t) (colon - cache_ref) : strlen (cache_ref);

        *out = NULL;
        if (strchr (cache_ref, '@') != NULL)
                return pgimg_make_error (err, EINVAL, "%s: a lease needs a cache tag, not a digest", cache_ref);
        if (!sha256_hex_valid (key))
                return pgimg_make_error (err, EINVAL, "a lease needs a layer key, not `%s`", key);
        if (asprintf (out, "%.*s:" REGISTRY_LEASE_TAG_PREFIX "%s", (int) repo_len, cache_ref, key) < 0) {
                *out = NULL;
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        }
        return 0;
}

/* A string field of at most max - 1 printable ASCII bytes (spaces only
 * where spaces_ok) into dst. */
static int
text_field (json_t *j, const char *name, char *dst, size_t max, int spaces_ok)
{
        const char *s = json_string_value (json_object_get (j, name));
        size_t len = s ? json_string_length (json_object_get (j, name)) : 0;

        if (s == NULL || len == 0 || len >= max || strlen (s) != len)
                return -1;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < (spaces_ok ? 0x20 : 0x21) || (unsigned char) s[i] > 0x7e)
                        return -1;
        memcpy (dst, s, len + 1);
        return 0;
}

int
registry_lease_parse (const char *data, size_t len, struct registry_lease *out, pgimg_error_t *err)
{
        cleanup_json json_t *j = NULL;
        json_t *expires;

        memset (out, 0, sizeof (*out));
        if (len > MAX_LEASE_BYTES)
                return pgimg_make_error (err, EFBIG, "a lease of %zu bytes (at most %d)", len, MAX_LEASE_BYTES);
        if ((j = json_loadb (data, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object (j))
                return pgimg_make_error (err, EINVAL, "a lease that is not a JSON object");
        expires = json_object_get (j, "expires");
        if (text_field (j, "key", out->key, sizeof (out->key), 0) < 0 || !sha256_hex_valid (out->key))
                return pgimg_make_error (err, EINVAL, "a lease without a layer key");
        if (text_field (j, "holder", out->holder, sizeof (out->holder), 1) < 0)
                return pgimg_make_error (err, EINVAL, "a lease without a holder");
        if (text_field (j, "cache", out->cache, sizeof (out->cache), 0) < 0)
                return pgimg_make_error (err, EINVAL, "a lease without a cache reference");
        if (!json_is_integer (expires) || json_integer_value (expires) < 0 || json_integer_value (expires) > MAX_EXPIRES)
                return pgimg_make_error (err, EINVAL, "a lease without a time it expires");
        out->expires = (long long) json_integer_value (expires);
        return 0;
}

/* 1 when tag may name a cache: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, and
 * not a lease. */
static int
cache_tag_valid (const char *tag)
{
        size_t n = strlen (tag);

        if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-'
            || strncmp (tag, REGISTRY_LEASE_TAG_PREFIX, strlen (REGISTRY_LEASE_TAG_PREFIX)) == 0)
                return 0;
        return strspn (tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The lease at ref must be for key and name a cache of its own
 * repository: a lease cannot send a builder to pull from elsewhere. */
static int
lease_check (const char *ref, const char *key, const struct registry_lease *l, pgimg_error_t *err)
{
        size_t tail = strlen (REGISTRY_LEASE_TAG_PREFIX) + SHA256_HEX_LEN;
        size_t repo_len = strlen (ref) - tail;  /* with its ':' */

        if (strcmp (l->key, key) != 0)
                return pgimg_make_error (err, EINVAL, "%s holds a lease on another key (%.12s…)", ref, l->key);
        if (strncmp (l->cache, ref, repo_len) != 0 || !cache_tag_valid (l->cache + repo_len))
                return pgimg_make_error (err, EINVAL, "%s names a cache outside its repository", ref);
        return 0;
}

int
registry_lease_read (const char *ref, const char *key, const char *work_dir, const struct registry_opts *opts,
                     struct registry_lease *out, pgimg_error_t *err)
{
        cleanup_buf struct buf config = BUF_INIT;
        struct registry_opts o = *opts;
        int r;

        if (strlen (ref) <= strlen (REGISTRY_LEASE_TAG_PREFIX) + SHA256_HEX_LEN)
                return pgimg_make_error (err, EINVAL, "%s is not a lease reference", ref);
        o.trusted_keys = NULL;
        r = reg_peek_config (ref, work_dir, REG_MEDIA_LEASE_CONFIG, &o, &config, err);
        if (r < 0 && (*err)->status == ENOENT) {
                pgimg_error_free (err);
                return 0;
        }
        if (r == 0)
                return pgimg_make_error (err, EINVAL, "%s is not a lease", ref);
        if (r < 0)
                return -1;
        if (registry_lease_parse (config.data, config.len, out, err) < 0)
                return pgimg_error_wrap (err, "%s", ref);
        return lease_check (ref, key, out, err) < 0 ? -1 : 1;
}

/* The lease as an image of no layer: its config and manifest. */
static int
lease_image (const struct registry_lease *l, char **config, struct reg_image *img, pgimg_error_t *err)
{
        cleanup_json json_t *c = json_pack ("{s:s,s:I,s:s,s:s}", "cache", l->cache, "expires", (json_int_t) l->expires,
                                            "holder", l->holder, "key", l->key);
        cleanup_json json_t *m = NULL;
        char hex[SHA256_HEX_LEN + 1];

        if (c == NULL || (*config = json_dumps (c, JSON_COMPACT | JSON_SORT_KEYS)) == NULL
            || (img->blobs = calloc (1, sizeof (*img->blobs))) == NULL)
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        img->blobs[0] = (struct reg_blob) { .fd = -1, .data = *config, .size = strlen (*config) };
        img->n_blobs = 1;
        if (sha256_buf_hex (*config, strlen (*config), hex, err) < 0)
                return -1;
        snprintf (img->blobs[0].digest, sizeof (img->blobs[0].digest), "sha256:%s", hex);
        m = json_pack ("{s:i,s:s,s:{s:s,s:s,s:I},s:[]}", "schemaVersion", 2, "mediaType", REG_MEDIA_OCI_MANIFEST,
                       "config", "mediaType", REG_MEDIA_LEASE_CONFIG, "digest", img->blobs[0].digest, "size",
                       (json_int_t) img->blobs[0].size, "layers");
        if (m == NULL || (img->manifest = json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS)) == NULL
            || (img->manifest_media_type = strdup (REG_MEDIA_OCI_MANIFEST)) == NULL)
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        img->manifest_len = strlen (img->manifest);
        if (sha256_buf_hex (img->manifest, img->manifest_len, hex, err) < 0)
                return -1;
        snprintf (img->manifest_digest, sizeof (img->manifest_digest), "sha256:%s", hex);
        return 0;
}

int
registry_lease_write (const char *ref, const struct registry_lease *l, const struct registry_opts *opts,
                      pgimg_error_t *err)
{
        struct reg_image img = REG_IMAGE_INIT;
        struct registry_opts o = *opts;
        cleanup_free char *config = NULL;
        int r;

        o.sign_key = NULL;
        o.extra_tags = NULL;
        o.mount_from = NULL;
        r = lease_image (l, &config, &img, err);
        if (r == 0)
                r = reg_push_image (&img, ref, &o, NULL, err);
        reg_image_close (&img);
        return r < 0 ? pgimg_error_wrap (err, "lease %s", ref) : 0;
}
