/* cache.c - input keys and the layers/<key>.json entries that map them
 * to blobs.  An entry is a claim about a blob; it is believed only once
 * the blob's size and sha256 check out, and forgotten when they don't. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libjson.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "layers/store.h"

#define ENTRY_MAX_BYTES (64 * 1024)

int
layer_key_init (struct layer_key *k, pgimg_error_t *err)
{
        return sha256_init (&k->h, err);
}

int
layer_key_add (struct layer_key *k, const char *name, const char *value, pgimg_error_t *err)
{
        cleanup_free char *head = NULL;
        int n = asprintf (&head, "%s=%zu:", name, strlen (value));

        if (n < 0)
                return pgimg_make_error_errno (err, ENOMEM, "layer key");
        if (sha256_update (&k->h, head, (size_t) n, err) < 0
            || sha256_update (&k->h, value, strlen (value), err) < 0
            || sha256_update (&k->h, "\n", 1, err) < 0)
                return -1;
        return 0;
}

int
layer_key_final (struct layer_key *k, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        return sha256_final_hex (&k->h, hex, err);
}

void
layer_key_free (struct layer_key *k)
{
        sha256_free (&k->h);
}

int
layer_cache_blob_dir (const char *cache_dir, char **out, pgimg_error_t *err)
{
        return store_dir (cache_dir, out, err);
}

static int
entry_path (const char *cache_dir, const char *key, char **out, pgimg_error_t *err)
{
        /* The key becomes a file name: nothing but hex may reach it. */
        if (!sha256_hex_valid (key))
                return pgimg_make_error (err, EINVAL, "cache key `%s` is not a sha256", key);
        if (asprintf (out, "%s/layers/%s.json", cache_dir, key) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "cache `%s`", cache_dir);
        return 0;
}

/* Parse an entry into *out; -1 when it is not one. */
static int
parse_entry (const struct buf *b, struct layer_desc *out)
{
        cleanup_json json_t *root = json_loadb (b->data, b->len, 0, NULL);
        const char *digest = NULL, *diff_id = NULL, *media_type = NULL;
        json_int_t size = -1;

        if (root == NULL
            || json_unpack (root, "{s:s, s:s, s:I, s:s}", "digest", &digest, "diffID", &diff_id,
                            "size", &size, "mediaType", &media_type) != 0
            || store_digest_hex (digest) == NULL || store_digest_hex (diff_id) == NULL || size < 0
            || layer_compression_from_media_type (media_type, &out->compression) < 0)
                return -1;
        memcpy (out->digest, digest, LAYER_DIGEST_LEN - 1);
        out->digest[LAYER_DIGEST_LEN - 1] = '\0';
        memcpy (out->diff_id, diff_id, LAYER_DIGEST_LEN - 1);
        out->diff_id[LAYER_DIGEST_LEN - 1] = '\0';
        out->size = (uint64_t) size;
        return 0;
}

/* 1 when the blob is there with the size and digest the entry claims.
 * A blob whose content does not match its name is removed by the store
 * as well: it would otherwise be kept by the next layer_write of that
 * digest. */
static int
blob_matches (const char *cache_dir, const struct layer_desc *d, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;

        if (asprintf (&dir, "%s/blobs/sha256", cache_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "cache `%s`", cache_dir);
        return store_has (dir, d->digest, d->size, err);
}

/* The entry of key, checked; a stale one is removed unless keep_stale. */
static int
cache_check (const char *cache_dir, const char *key, struct layer_desc *out, int keep_stale,
             pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        struct layer_desc d;
        int ok;

        if (entry_path (cache_dir, key, &path, err) < 0)
                return -1;
        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, ENTRY_MAX_BYTES, &b, err) < 0) {
                if ((*err)->status != EFBIG)
                        return -1;
                pgimg_error_free (err);
                ok = 0;
        } else {
                memset (&d, 0, sizeof (d));
                ok = parse_entry (&b, &d) == 0 ? blob_matches (cache_dir, &d, err) : 0;
                if (ok < 0)
                        return -1;
        }
        if (!ok) {
                if (!keep_stale && unlink (path) < 0 && errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "remove the stale `%s`", path);
                return 0;
        }
        *out = d;
        return 1;
}

int
layer_cache_lookup (const char *cache_dir, const char *key, struct layer_desc *out,
                    pgimg_error_t *err)
{
        return cache_check (cache_dir, key, out, 0, err);
}

int
layer_cache_peek (const char *cache_dir, const char *key, struct layer_desc *out, pgimg_error_t *err)
{
        return cache_check (cache_dir, key, out, 1, err);
}

static int
cmp_entry_key (const void *key, const void *entry)
{
        return strcmp (key, ((const struct layer_cache_entry *) entry)->key);
}

int
layer_cache_entries_find (const struct layer_cache_entries *es, const char *key, struct layer_desc *out)
{
        const struct layer_cache_entry *e;

        if (es == NULL || es->n == 0)
                return 0;
        e = bsearch (key, es->v, es->n, sizeof (*es->v), cmp_entry_key);
        if (e == NULL)
                return 0;
        *out = e->desc;
        return 1;
}

int
layer_cache_entries_merge (struct layer_cache_entries *into, const struct layer_cache_entries *from,
                           pgimg_error_t *err)
{
        struct layer_cache_entry *v = malloc ((into->n + from->n + 1) * sizeof (*v));
        size_t i = 0, j = 0, n = 0;

        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "cache entries");
        while (i < into->n || j < from->n) {
                int c = i == into->n ? 1 : j == from->n ? -1 : strcmp (into->v[i].key, from->v[j].key);
                if (c <= 0)
                        v[n++] = into->v[i++];
                else
                        v[n++] = from->v[j++];
                if (c == 0)
                        j++;
        }
        free (into->v);
        into->v = v;
        into->n = n;
        return 0;
}

int
layer_cache_store (const char *cache_dir, const char *key, const struct layer_desc *desc,
                   pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        cleanup_free char *dir = NULL;
        cleanup_free char *blob = NULL;
        cleanup_free char *text = NULL;
        cleanup_json json_t *root = NULL;
        const char *hex = store_digest_hex (desc->digest);

        if (entry_path (cache_dir, key, &path, err) < 0)
                return -1;
        if (hex == NULL || store_digest_hex (desc->diff_id) == NULL)
                return pgimg_make_error (err, EINVAL, "cache entry %s: bad digest `%s` or diff_id `%s`",
                                         key, desc->digest, desc->diff_id);
        if (asprintf (&blob, "%s/blobs/sha256/%s", cache_dir, hex) < 0
            || asprintf (&dir, "%s/layers", cache_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "cache `%s`", cache_dir);
        if (!fs_exists (blob))
                return pgimg_make_error (err, ENOENT, "cache entry %s: no blob `%s`", key, blob);
        root = json_pack ("{s:s, s:s, s:I, s:s}", "digest", desc->digest, "diffID", desc->diff_id,
                          "size", (json_int_t) desc->size, "mediaType",
                          layer_media_type (desc->compression));
        text = root ? json_dumps (root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        if (text == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "cache entry %s", key);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        return fs_write_file_atomic (path, text, strlen (text), 0644, err);
}

int
layer_cache_lock (const char *cache_dir, const char *key, const char *what, int *fd,
                  pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;
        cleanup_fd int lock = -1;

        if (!sha256_hex_valid (key))
                return pgimg_make_error (err, EINVAL, "cache key `%s` is not a sha256", key);
        if (asprintf (&dir, "%s/locks", cache_dir) < 0 || asprintf (&path, "%s/%s", dir, key) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "cache `%s`", cache_dir);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        lock = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (lock < 0)
                return pgimg_make_error_errno (err, errno, "open the build lock `%s`", path);
        if (flock (lock, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return pgimg_make_error_errno (err, errno, "lock `%s`", path);
                progress_note ("waiting for another build of %s (lock: %s)", what, path);
                while (flock (lock, LOCK_EX) < 0)
                        if (errno != EINTR)
                                return pgimg_make_error_errno (err, errno, "lock `%s`", path);
        }
        *fd = steal_fd (&lock);
        return 0;
}
