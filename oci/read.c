/* read.c - an image from a layout directory or a tarball, through the
 * store (see read.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/store.h"
#include "oci/internal.h"
#include "oci/read.h"

/* A manifest, index or config is small; anything larger is not one. */
#define MAX_JSON_BYTES (4u << 20)
/* An index may point at an index once (as `docker save` writes). */
#define MAX_INDEX_DEPTH 2

/* Where the blobs come from: a layout directory (opened as each is
 * needed) or a tarball whose blobs were all imported up front. */
struct source {
        const char *path;
        const char *blob_dir;
        int sha_fd;                     /* <layout>/blobs/sha256, or -1 */
        struct oci_import imp;          /* a tarball's */
        int is_tar;
};

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "read image");
}

/* Open name below dir_fd, refusing a symlink: a layout's files are read
 * from inside it or not at all.  what names it in messages. */
static int
open_beneath (int dir_fd, const char *name, int flags, const char *what, int *out, pgimg_error_t *err)
{
        int fd = openat (dir_fd, name, flags | O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat st;

        if (fd < 0 && errno == ELOOP)
                return pgimg_make_error (err, EINVAL, "%s is a symbolic link, not a file; refused (an image holds its blobs itself)", what);
        if (fd < 0 && errno == ENOTDIR && (flags & O_DIRECTORY)) {
                /* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR. */
                if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
                        return pgimg_make_error (err, EINVAL, "%s is a symbolic link, not a directory; refused", what);
                return pgimg_make_error (err, EINVAL, "%s is not a directory", what);
        }
        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "%s", what);
        if (fstat (fd, &st) < 0) {
                int e = errno;
                close (fd);
                return pgimg_make_error_errno (err, e, "%s", what);
        }
        if (!(flags & O_DIRECTORY) && !S_ISREG (st.st_mode)) {
                close (fd);
                return pgimg_make_error (err, EINVAL, "%s is not a regular file; refused", what);
        }
        if (fcntl (fd, F_SETFL, 0) < 0) {
                int e = errno;
                close (fd);
                return pgimg_make_error_errno (err, e, "%s", what);
        }
        *out = fd;
        return 0;
}

struct limited_read {
        size_t max;
        struct buf *out;
        const char *what;
};

static int
limited_read_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct limited_read *r = ctx;

        if (r->out->len + len > r->max)
                return pgimg_make_error (err, EFBIG, "%s is larger than %zu bytes", r->what, r->max);
        if (buf_add (r->out, data, len) < 0)
                return oom (err);
        return 0;
}

static int
read_fd (int fd, size_t max, struct buf *out, const char *what, pgimg_error_t *err)
{
        struct limited_read r = { max, out, what };
        char chunk[4096];

        return fs_read_chunks (fd, chunk, sizeof (chunk), limited_read_chunk, &r, err, "read %s", what);
}

static int
source_open (struct source *s, const char *path, const char *blob_dir, struct buf *index, pgimg_error_t *err)
{
        cleanup_fd int dir_fd = -1;
        cleanup_fd int blobs_fd = -1;
        cleanup_fd int index_fd = -1;
        struct stat st;

        s->path = path;
        s->blob_dir = blob_dir;
        s->sha_fd = -1;
        if (stat (path, &st) < 0)
                return pgimg_make_error_errno (err, errno, "image `%s`", path);
        if (!S_ISDIR (st.st_mode)) {
                s->is_tar = 1;
                if (oci_archive_import (path, blob_dir, MAX_JSON_BYTES, &s->imp, err) < 0)
                        return -1;
                if (s->imp.index.len == 0)
                        return pgimg_make_error (err, EINVAL, "image `%s`: no index.json in the tarball (not an OCI layout?)",
                                                 path);
                return buf_add (index, s->imp.index.data, s->imp.index.len) < 0 ? oom (err) : 0;
        }
        if ((dir_fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return pgimg_make_error_errno (err, errno, "image `%s`", path);
        if (open_beneath (dir_fd, "index.json", 0, "index.json", &index_fd, err) < 0
            || read_fd (index_fd, MAX_JSON_BYTES, index, "index.json", err) < 0
            || open_beneath (dir_fd, "blobs", O_DIRECTORY, "blobs/", &blobs_fd, err) < 0
            || open_beneath (blobs_fd, "sha256", O_DIRECTORY, "blobs/sha256/", &s->sha_fd, err) < 0)
                return pgimg_error_wrap (err, "image `%s`", path);
        return 0;
}

static void
source_close (struct source *s)
{
        if (s->sha_fd >= 0)
                close (s->sha_fd);
        s->sha_fd = -1;
        oci_import_free (&s->imp);
}

/* Make the blob digest (of `size` bytes) available in the store: from
 * the layout, copied in and checked; from a tarball, found among what
 * the import stored. */
static int
source_get (struct source *s, const char *digest, uint64_t size, const char *what, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        cleanup_free char *name = NULL;
        const char *hex;

        if (store_digest_check (digest, what, &hex, err) < 0)
                return -1;
        if (s->is_tar) {
                for (size_t i = 0; i < s->imp.n; i++) {
                        if (strcmp (s->imp.v[i].hex, hex) != 0)
                                continue;
                        if (size != STORE_SIZE_ANY && s->imp.v[i].size != size)
                                return pgimg_make_error (err, EINVAL, "%s %s has %llu bytes, its descriptor gives %llu; refused",
                                                         what, digest, (unsigned long long) s->imp.v[i].size,
                                                         (unsigned long long) size);
                        return 0;
                }
                return pgimg_make_error (err, ENOENT, "%s %s is not in the tarball", what, digest);
        }
        if (asprintf (&name, "blobs/sha256/%s", hex) < 0)
                return oom (err);
        if (open_beneath (s->sha_fd, hex, 0, name, &fd, err) < 0)
                return -1;
        if (size != STORE_SIZE_ANY) {
                struct stat st;
                if (fstat (fd, &st) < 0)
                        return pgimg_make_error_errno (err, errno, "%s", name);
                if ((uint64_t) st.st_size != size)
                        return pgimg_make_error (err, EINVAL, "%s %s has %llu bytes, its descriptor gives %llu; refused",
                                                 what, digest, (unsigned long long) st.st_size, (unsigned long long) size);
        }
        if (store_put_fd (s->blob_dir, digest, size, fd, err) < 0)
                return pgimg_error_wrap (err, "%s", what);
        return 0;
}

/* A descriptor's digest and size; size is STORE_SIZE_ANY when absent
 * (index.json entries written by hand), never negative. */
static int
descriptor (json_t *desc, const char *what, const char **digest, uint64_t *size, pgimg_error_t *err)
{
        json_t *sz = json_object_get (desc, "size");
        const char *hex;

        *digest = json_string_value (json_object_get (desc, "digest"));
        if (store_digest_check (*digest, what, &hex, err) < 0)
                return -1;
        if (sz == NULL) {
                *size = STORE_SIZE_ANY;
                return 0;
        }
        if (!json_is_integer (sz) || json_integer_value (sz) < 0)
                return pgimg_make_error (err, EINVAL, "%s: the size is not a number of bytes", what);
        *size = (uint64_t) json_integer_value (sz);
        return 0;
}

static json_t *
parse_json (const struct buf *b, const char *what, pgimg_error_t *err)
{
        json_error_t je;
        json_t *j = json_loadb (b->data ? b->data : "", b->len, 0, &je);

        if (j == NULL)
                pgimg_make_error (err, EINVAL, "%s: line %d, column %d: %s", what, je.line, je.column, je.text);
        else if (!json_is_object (j)) {
                json_decref (j);
                j = NULL;
                pgimg_make_error (err, EINVAL, "%s is not a JSON object", what);
        }
        return j;
}

/* Get a JSON blob into the store and read it back from there. */
static json_t *
load_blob (struct source *s, const char *digest, uint64_t size, const char *what, struct buf *raw,
           pgimg_error_t *err)
{
        buf_reset (raw);
        if (source_get (s, digest, size, what, err) < 0 || store_read (s->blob_dir, digest, MAX_JSON_BYTES, raw, err) < 0)
                return NULL;
        return parse_json (raw, what, err);
}

static int
media_is_index (const char *m)
{
        return m != NULL
               && (strcmp (m, OCI_MEDIA_INDEX) == 0
                   || strcmp (m, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* The linux/amd64 entry of an index's manifests, else the first (a
 * single-platform layout need not say its platform). */
static json_t *
pick_manifest (json_t *manifests)
{
        json_t *d;
        size_t i;

        json_array_foreach (manifests, i, d)
        {
                json_t *p = json_object_get (d, "platform");
                const char *os = json_string_value (json_object_get (p, "os"));
                const char *arch = json_string_value (json_object_get (p, "architecture"));
                if (os != NULL && arch != NULL && strcmp (os, "linux") == 0 && strcmp (arch, "amd64") == 0)
                        return d;
        }
        return json_array_get (manifests, 0);
}

/* From index.json to the image manifest, through one nested index. */
static json_t *
find_manifest (struct source *s, const struct buf *index_bytes, struct oci_read *r, pgimg_error_t *err)
{
        cleanup_json json_t *index = parse_json (index_bytes, "index.json", err);
        cleanup_buf struct buf raw = BUF_INIT;

        for (int depth = 0; index != NULL; depth++) {
                json_t *desc = pick_manifest (json_object_get (index, "manifests"));
                const char *digest, *media;
                uint64_t size;
                json_t *m;

                if (desc == NULL) {
                        pgimg_make_error (err, EINVAL, "the index lists no manifest");
                        return NULL;
                }
                if (descriptor (desc, "the manifest", &digest, &size, err) < 0
                    || (m = load_blob (s, digest, size, "the manifest", &raw, err)) == NULL)
                        return NULL;
                media = json_string_value (json_object_get (desc, "mediaType"));
                if (media == NULL)
                        media = json_string_value (json_object_get (m, "mediaType"));
                if (media_is_index (media) && depth + 1 < MAX_INDEX_DEPTH) {
                        json_decref (index);
                        index = m;
                        continue;
                }
                snprintf (r->manifest_digest, sizeof (r->manifest_digest), "%s", digest);
                r->manifest_size = raw.len;
                if ((r->manifest_media_type = strdup (media ? media : OCI_MEDIA_MANIFEST)) == NULL) {
                        json_decref (m);
                        oom (err);
                        return NULL;
                }
                return m;
        }
        return NULL;
}

static enum layer_compression
compression_of (const char *media_type)
{
        if (media_type != NULL && (strstr (media_type, "gzip") != NULL))
                return LAYER_GZIP;
        if (media_type != NULL && strstr (media_type, "zstd") != NULL)
                return LAYER_ZSTD;
        return LAYER_UNCOMPRESSED;
}

static int
read_layers (struct source *s, json_t *manifest, struct oci_read *r, pgimg_error_t *err)
{
        json_t *layers = json_object_get (manifest, "layers"), *l;
        size_t i;

        if (!json_is_array (layers) || json_array_size (layers) == 0)
                return pgimg_make_error (err, EINVAL, "the manifest has no layers (an image index?)");
        r->n_layers = json_array_size (layers);
        if ((r->layers = calloc (r->n_layers, sizeof (*r->layers))) == NULL)
                return oom (err);
        json_array_foreach (layers, i, l)
        {
                char what[32];
                const char *digest;
                uint64_t size;

                snprintf (what, sizeof (what), "layer %zu", i + 1);
                if (descriptor (l, what, &digest, &size, err) < 0)
                        return -1;
                if (size == STORE_SIZE_ANY)
                        return pgimg_make_error (err, EINVAL, "%s has no size", what);
                if (source_get (s, digest, size, what, err) < 0)
                        return -1;
                snprintf (r->layers[i].digest, LAYER_DIGEST_LEN, "%s", digest);
                r->layers[i].size = size;
                r->layers[i].compression = compression_of (json_string_value (json_object_get (l, "mediaType")));
        }
        return 0;
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
                if (store_digest_hex (d) == NULL)
                        return pgimg_make_error (err, EINVAL, "diff_id %zu of the config is not a sha256 digest", i + 1);
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
        if (json_is_string (json_object_get (config, "architecture"))
            && (r->architecture = strdup (json_string_value (json_object_get (config, "architecture")))) == NULL)
                return oom (err);
        return 0;
}

/* The config and layers of the image whose manifest is m (already in
 * the store, r->manifest_* set). */
static int
read_rest (struct source *s, json_t *manifest, struct oci_read *r, pgimg_error_t *err)
{
        cleanup_buf struct buf raw = BUF_INIT;
        cleanup_json json_t *config = NULL;
        const char *digest;

        if (descriptor (json_object_get (manifest, "config"), "the config", &digest, &r->config_size, err) < 0
            || (config = load_blob (s, digest, r->config_size, "the config", &raw, err)) == NULL)
                return -1;
        snprintf (r->config_digest, sizeof (r->config_digest), "%s", digest);
        r->config_size = raw.len;
        if (read_layers (s, manifest, r, err) < 0 || read_config (r, config, err) < 0)
                return -1;
        return 0;
}

static int
read_image (struct source *s, const char *path, const char *blob_dir, struct oci_read *r, pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT;
        cleanup_json json_t *manifest = NULL;

        if (source_open (s, path, blob_dir, &index, err) < 0)
                return -1;
        if ((manifest = find_manifest (s, &index, r, err)) == NULL || read_rest (s, manifest, r, err) < 0)
                return pgimg_error_wrap (err, "image `%s`", path);
        return 0;
}

int
oci_read_image (const char *path, const char *blob_dir, struct oci_read *r, pgimg_error_t *err)
{
        struct source s = { .sha_fd = -1, .imp = OCI_IMPORT_INIT };
        int ret;

        memset (r, 0, sizeof (*r));
        if ((r->blob_dir = strdup (blob_dir)) == NULL)
                return oom (err);
        ret = read_image (&s, path, blob_dir, r, err);
        source_close (&s);
        return ret;
}

/* ---- every platform of an image index ---- */

/* 1 when the image holds the blob digest (not checked yet). */
static int
source_has (struct source *s, const char *digest)
{
        const char *hex = store_digest_hex (digest);
        struct stat st;

        if (hex == NULL)
                return 0;
        if (!s->is_tar)
                return fstatat (s->sha_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0;
        for (size_t i = 0; i < s->imp.n; i++)
                if (strcmp (s->imp.v[i].hex, hex) == 0)
                        return 1;
        return 0;
}

/* The index's manifests when the image holds every one of them (what
 * `pgimg build --platform A,B` writes); NULL when one is missing (a
 * `docker save` of one platform of a multi-platform image names the
 * others without their blobs): then the image is read as one. */
static json_t *
complete_manifests (struct source *s, json_t *index)
{
        json_t *list = json_object_get (index, "manifests"), *d;
        size_t i;

        if (!json_is_array (list) || json_array_size (list) == 0)
                return NULL;
        json_array_foreach (list, i, d)
        if (!source_has (s, json_string_value (json_object_get (d, "digest"))))
                return NULL;
        return list;
}

/* One platform's image: its descriptor in the index must say the
 * platform, name an image manifest, and agree with the config. */
static int
read_platform (struct source *s, json_t *desc, size_t i, struct oci_read *r, pgimg_error_t *err)
{
        cleanup_buf struct buf raw = BUF_INIT;
        cleanup_json json_t *m = NULL;
        json_t *p = json_object_get (desc, "platform");
        const char *arch = json_string_value (json_object_get (p, "architecture"));
        const char *os = json_string_value (json_object_get (p, "os"));
        const char *media = json_string_value (json_object_get (desc, "mediaType")), *digest;
        uint64_t size;

        if (arch == NULL || os == NULL)
                return pgimg_make_error (err, EINVAL, "manifest %zu of the index has no platform", i + 1);
        if (media_is_index (media))
                return pgimg_make_error (err, EINVAL, "manifest %zu of the index is an index itself; refused", i + 1);
        if (descriptor (desc, "a manifest of the index", &digest, &size, err) < 0
            || (m = load_blob (s, digest, size, "a manifest of the index", &raw, err)) == NULL)
                return -1;
        if (media == NULL)
                media = json_string_value (json_object_get (m, "mediaType"));
        snprintf (r->manifest_digest, sizeof (r->manifest_digest), "%s", digest);
        r->manifest_size = raw.len;
        if ((r->manifest_media_type = strdup (media ? media : OCI_MEDIA_MANIFEST)) == NULL)
                return oom (err);
        if (read_rest (s, m, r, err) < 0)
                return pgimg_error_wrap (err, "%s/%s", os, arch);
        if (r->architecture == NULL || strcmp (r->architecture, arch) != 0)
                return pgimg_make_error (err, EINVAL, "the index says %s/%s, the config of its manifest says %s; refused", os,
                                         arch, r->architecture ? r->architecture : "no architecture");
        return 0;
}

static int
read_platforms (struct source *s, json_t *list, struct oci_read_index *x, pgimg_error_t *err)
{
        json_t *d;
        size_t i;

        if ((x->images = calloc (json_array_size (list), sizeof (*x->images))) == NULL)
                return oom (err);
        json_array_foreach (list, i, d)
        {
                x->n = i + 1;
                if ((x->images[i].blob_dir = strdup (s->blob_dir)) == NULL)
                        return oom (err);
                if (read_platform (s, d, i, &x->images[i], err) < 0)
                        return -1;
        }
        return 0;
}

/* index.json's (first) entry: an image index whose manifests are all
 * in the image gives one image per platform; anything else one image,
 * read as oci_read_image reads it. */
static int
read_index (struct source *s, const char *path, const char *blob_dir, struct oci_read_index *x, pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT;
        cleanup_buf struct buf raw = BUF_INIT;
        cleanup_json json_t *top = NULL;
        cleanup_json json_t *inner = NULL;
        cleanup_json json_t *manifest = NULL;
        json_t *desc, *list = NULL;
        const char *digest, *media;
        uint64_t size;

        if (source_open (s, path, blob_dir, &index, err) < 0)
                return -1;
        if ((top = parse_json (&index, "index.json", err)) == NULL)
                return pgimg_error_wrap (err, "image `%s`", path);
        desc = json_array_get (json_object_get (top, "manifests"), 0);
        media = json_string_value (json_object_get (desc, "mediaType"));
        if (desc != NULL && media_is_index (media)) {
                if (descriptor (desc, "the image index", &digest, &size, err) < 0
                    || (inner = load_blob (s, digest, size, "the image index", &raw, err)) == NULL)
                        return pgimg_error_wrap (err, "image `%s`", path);
                list = complete_manifests (s, inner);
        }
        if (list != NULL) {
                snprintf (x->digest, sizeof (x->digest), "%s", digest);
                x->size = raw.len;
                if (read_platforms (s, list, x, err) < 0)
                        return pgimg_error_wrap (err, "image `%s`", path);
                return 0;
        }
        if ((x->images = calloc (1, sizeof (*x->images))) == NULL || (x->images[0].blob_dir = strdup (blob_dir)) == NULL)
                return oom (err);
        x->n = 1;
        if ((manifest = find_manifest (s, &index, &x->images[0], err)) == NULL
            || read_rest (s, manifest, &x->images[0], err) < 0)
                return pgimg_error_wrap (err, "image `%s`", path);
        return 0;
}

int
oci_read_index (const char *path, const char *blob_dir, struct oci_read_index *x, pgimg_error_t *err)
{
        struct source s = { .sha_fd = -1, .imp = OCI_IMPORT_INIT };
        int ret;

        memset (x, 0, sizeof (*x));
        ret = read_index (&s, path, blob_dir, x, err);
        source_close (&s);
        return ret;
}

void
oci_read_index_free (struct oci_read_index *x)
{
        for (size_t i = 0; i < x->n; i++)
                oci_read_free (&x->images[i]);
        free (x->images);
        memset (x, 0, sizeof (*x));
}

void
oci_read_free (struct oci_read *r)
{
        free (r->blob_dir);
        free (r->layers);
        strv_free (r->env);
        free (r->volume);
        free (r->architecture);
        free (r->manifest_media_type);
        memset (r, 0, sizeof (*r));
}
