#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/internal.h"

static const char oci_layout_json[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

static struct oci_entry *
add_entry (struct oci_layout *l, const char *name)
{
        struct oci_entry *e;

        if (l->n == l->alloc) {
                size_t alloc = l->alloc ? l->alloc * 2 : 16;
                struct oci_entry *v = realloc (l->v, alloc * sizeof (*v));
                if (v == NULL)
                        return NULL;
                l->v = v;
                l->alloc = alloc;
        }
        e = &l->v[l->n];
        memset (e, 0, sizeof (*e));
        if ((e->name = strdup (name)) == NULL)
                return NULL;
        l->n++;
        return e;
}

static int
add_dir (struct oci_layout *l, const char *name, pgimg_error_t *err)
{
        struct oci_entry *e = add_entry (l, name);

        if (e == NULL)
                return pgimg_make_error (err, ENOMEM, "image layout: out of memory");
        e->is_dir = 1;
        return 0;
}

/* A file held in memory; takes over b's storage. */
static int
add_file (struct oci_layout *l, const char *name, struct buf *b, pgimg_error_t *err)
{
        struct oci_entry *e = add_entry (l, name);

        if (e == NULL)
                return pgimg_make_error (err, ENOMEM, "image layout: out of memory");
        e->data = buf_detach (b, &e->len);
        if (e->data == NULL)
                return pgimg_make_error (err, ENOMEM, "image layout: out of memory");
        return 0;
}

/* A blob from blob_dir, which must be there with the size its descriptor
 * gives.  Checked now, so that nothing is written for an image that
 * cannot be complete. */
static int
add_blob (struct oci_layout *l, const char *blob_dir, const char *digest, uint64_t size,
          pgimg_error_t *err)
{
        cleanup_free char *name = NULL;
        cleanup_free char *path = NULL;
        struct oci_entry *e;
        struct stat st;
        const char *hex;

        if (store_digest_check (digest, "blob", &hex, err) < 0)
                return -1;
        if (asprintf (&name, "blobs/sha256/%s", hex) < 0 || asprintf (&path, "%s/%s", blob_dir, hex) < 0)
                return pgimg_make_error (err, ENOMEM, "image layout: out of memory");
        for (size_t i = 0; i < l->n; i++)
                if (strcmp (l->v[i].name, name) == 0)
                        return 0;       /* a layer used twice is stored once */
        if (lstat (path, &st) < 0)
                return pgimg_make_error_errno (err, errno, "blob %s: `%s`", digest, path);
        if (!S_ISREG (st.st_mode))
                return pgimg_make_error (err, EINVAL, "blob %s: `%s` is not a regular file", digest, path);
        if ((uint64_t) st.st_size != size)
                return pgimg_make_error (err, EINVAL, "blob %s: `%s` has %llu bytes, its descriptor says %llu",
                                         digest, path, (unsigned long long) st.st_size,
                                         (unsigned long long) size);
        if ((e = add_entry (l, name)) == NULL)
                return pgimg_make_error (err, ENOMEM, "image layout: out of memory");
        e->blob_path = steal_pointer (&path);
        memcpy (e->hex, hex, SHA256_HEX_LEN + 1);
        e->size = size;
        return 0;
}

/* index.json: one descriptor of target per tag, annotated the way
 * `docker save` (Docker 25 and later) does, so that containerd and
 * skopeo find each tag by name.  arch: the platform of a manifest;
 * NULL for an image index, which holds the platforms itself. */
static int
index_json (const char *const *tags, const char *media_type, const struct oci_blob *target, const char *arch,
            struct buf *out, pgimg_error_t *err)
{
        cleanup_json json_t *index = json_object ();
        cleanup_json json_t *manifests = json_array ();

        if (index == NULL || manifests == NULL)
                goto oom;
        for (const char *const *t = tags; *t != NULL; t++) {
                struct oci_ref r;
                cleanup_free char *full = NULL;
                json_t *d, *annotations;

                if (oci_ref_parse (*t, &r, err) < 0)
                        return -1;
                full = oci_ref_full (&r);
                d = oci_json_descriptor (media_type, target->digest, target->size);
                if (json_array_append_new (manifests, d) < 0 || full == NULL) {
                        oci_ref_free (&r);
                        goto oom;
                }
                annotations = json_pack ("{s:s, s:s}", "io.containerd.image.name", full,
                                         "org.opencontainers.image.ref.name", r.tag);
                oci_ref_free (&r);
                if (json_object_set_new (d, "annotations", annotations) < 0)
                        goto oom;
                if (arch != NULL
                    && json_object_set_new (d, "platform", json_pack ("{s:s, s:s}", "architecture", arch, "os", "linux")) < 0)
                        goto oom;
        }
        if (json_object_set_new (index, "schemaVersion", json_integer (2)) < 0
            || json_object_set_new (index, "mediaType", json_string (OCI_MEDIA_INDEX)) < 0
            || json_object_set_new (index, "manifests", steal_pointer (&manifests)) < 0)
                goto oom;
        return oci_json_dump (index, out, err);
oom:
        return pgimg_make_error (err, ENOMEM, "index.json: out of memory");
}

static json_t *
blob_name (const char *digest)
{
        const char *hex = store_digest_hex (digest);

        return hex ? json_sprintf ("blobs/sha256/%s", hex) : NULL;
}

/* manifest.json and repositories: what `docker load` reads.  The Engine
 * takes Config and Layers as paths inside the tarball and checks each
 * layer against rootfs.diff_ids, so the layer paths may name compressed
 * blobs.  repositories is only read by the Engine when manifest.json is
 * missing; it is written as `docker save` writes it (the top layer's
 * diff_id per tag) for older readers.  docker_item appends one image to
 * both. */
static int
docker_item (const struct oci_image *img, const struct oci_blobs *blobs, json_t *list, json_t *repos,
             pgimg_error_t *err)
{
        cleanup_json json_t *item = json_object ();
        cleanup_json json_t *tags = json_array ();
        cleanup_json json_t *layers = json_array ();
        const char *top = img->n_layers ? store_digest_hex (img->layers[img->n_layers - 1].diff_id) : NULL;

        if (item == NULL || tags == NULL || layers == NULL)
                goto oom;
        for (size_t i = 0; i < img->n_layers; i++)
                if (json_array_append_new (layers, blob_name (img->layers[i].digest)) < 0)
                        goto oom;
        for (const char *const *t = img->tags; *t != NULL; t++) {
                struct oci_ref r;
                cleanup_free char *name = NULL;
                json_t *repo;
                int bad;

                if (oci_ref_parse (*t, &r, err) < 0)
                        return -1;
                name = oci_ref_familiar_name (&r);
                bad = name == NULL || json_array_append_new (tags, json_sprintf ("%s:%s", name, r.tag)) < 0;
                if (!bad && top != NULL) {
                        repo = json_object_get (repos, name);
                        if (repo == NULL && json_object_set_new (repos, name, repo = json_object ()) < 0)
                                bad = 1;
                        if (!bad && json_object_set_new (repo, r.tag, json_string (top)) < 0)
                                bad = 1;
                }
                oci_ref_free (&r);
                if (bad)
                        goto oom;
        }
        if (json_object_set_new (item, "Config", blob_name (blobs->config.digest)) < 0
            || json_object_set_new (item, "RepoTags", steal_pointer (&tags)) < 0
            || json_object_set_new (item, "Layers", steal_pointer (&layers)) < 0
            || json_array_append_new (list, steal_pointer (&item)) < 0)
                goto oom;
        return 0;
oom:
        return pgimg_make_error (err, ENOMEM, "manifest.json: out of memory");
}

static int
docker_json (const struct oci_image *const *imgs, const struct oci_blobs *blobs, size_t n, struct buf *manifest_out,
             struct buf *repositories_out, pgimg_error_t *err)
{
        cleanup_json json_t *list = json_array ();
        cleanup_json json_t *repos = json_object ();

        if (list == NULL || repos == NULL)
                return pgimg_make_error (err, ENOMEM, "manifest.json: out of memory");
        for (size_t i = 0; i < n; i++)
                if (docker_item (imgs[i], &blobs[i], list, repos, err) < 0)
                        return -1;
        if (oci_json_dump (list, manifest_out, err) < 0 || oci_json_dump (repos, repositories_out, err) < 0)
                return -1;
        return 0;
}

static int
compare_entries (const void *a, const void *b)
{
        return strcmp (((const struct oci_entry *) a)->name, ((const struct oci_entry *) b)->name);
}

/* The layers, config and manifest of each image, then the files of
 * the layout with index.json as given; sorted. */
static int
layout_finish (const char *blob_dir, const struct oci_image *const *imgs, const struct oci_blobs *blobs, size_t n,
               struct buf *index, struct oci_layout *out, pgimg_error_t *err)
{
        cleanup_buf struct buf manifest = BUF_INIT;
        cleanup_buf struct buf repositories = BUF_INIT;
        cleanup_buf struct buf layout = BUF_INIT;

        for (size_t k = 0; k < n; k++) {
                for (size_t i = 0; i < imgs[k]->n_layers; i++)
                        if (add_blob (out, blob_dir, imgs[k]->layers[i].digest, imgs[k]->layers[i].size, err) < 0)
                                return pgimg_error_wrap (err, "layer %zu", i);
                if (add_blob (out, blob_dir, blobs[k].config.digest, blobs[k].config.size, err) < 0
                    || add_blob (out, blob_dir, blobs[k].manifest.digest, blobs[k].manifest.size, err) < 0)
                        return -1;
        }
        if (docker_json (imgs, blobs, n, &manifest, &repositories, err) < 0)
                return -1;
        if (buf_adds (&layout, oci_layout_json) < 0)
                return pgimg_make_error (err, ENOMEM, "oci-layout: out of memory");
        if (add_dir (out, "blobs", err) < 0 || add_dir (out, "blobs/sha256", err) < 0
            || add_file (out, "oci-layout", &layout, err) < 0
            || add_file (out, "index.json", index, err) < 0
            || add_file (out, "manifest.json", &manifest, err) < 0
            || add_file (out, "repositories", &repositories, err) < 0)
                return -1;
        /* Bytewise order of names: the same image always gives the same
         * tarball, and each directory comes before what it holds. */
        qsort (out->v, out->n, sizeof (out->v[0]), compare_entries);
        return 0;
}

int
oci_layout_build (const char *blob_dir, const struct oci_image *img, const struct oci_blobs *blobs,
                  struct oci_layout *out, pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT;

        if (index_json (img->tags, OCI_MEDIA_MANIFEST, &blobs->manifest, img->architecture, &index, err) < 0)
                return -1;
        return layout_finish (blob_dir, &img, blobs, 1, &index, out, err);
}

int
oci_layout_build_index (const char *blob_dir, const struct oci_image *const *imgs, const struct oci_blobs *blobs,
                        size_t n, const struct oci_blob *index_blob, struct oci_layout *out, pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT;

        if (n == 0)
                return pgimg_make_error (err, EINVAL, "an image index of no image");
        if (add_blob (out, blob_dir, index_blob->digest, index_blob->size, err) < 0
            || index_json (imgs[0]->tags, OCI_MEDIA_INDEX, index_blob, NULL, &index, err) < 0)
                return -1;
        return layout_finish (blob_dir, imgs, blobs, n, &index, out, err);
}

void
oci_layout_free (struct oci_layout *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free (l->v[i].name);
                free (l->v[i].data);
                free (l->v[i].blob_path);
        }
        free (l->v);
        l->v = NULL;
        l->n = l->alloc = 0;
}

struct blob_copy {
        struct sha256 *h;
        uint64_t total, size;
        oci_write_fn write_fn;
        void *ctx;
};

/* Hash and pass on what is read, up to the size the entry promises. */
static int
blob_copy_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct blob_copy *c = ctx;

        c->total += (uint64_t) len;
        if (c->total > c->size)
                return 1;
        if (sha256_update (c->h, data, len, err) < 0 || c->write_fn (c->ctx, data, len, err) < 0)
                return -1;
        return 0;
}

int
oci_entry_copy_blob (const struct oci_entry *e, oci_write_fn write_fn, void *ctx, pgimg_error_t *err)
{
        cleanup_fd int fd = open (e->blob_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        struct blob_copy c = { .h = &h, .total = 0, .size = e->size, .write_fn = write_fn, .ctx = ctx };
        char hex[SHA256_HEX_LEN + 1];
        char chunk[1 << 16];

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "blob sha256:%s: open `%s`", e->hex, e->blob_path);
        if (sha256_init (&h, err) < 0)
                return -1;
        if (fs_read_chunks (fd, chunk, sizeof (chunk), blob_copy_chunk, &c, err, "blob sha256:%s: read `%s`",
                            e->hex, e->blob_path) < 0)
                return -1;
        if (c.total != e->size)
                return pgimg_make_error (err, EIO, "blob sha256:%s: `%s` changed size while it was copied",
                                         e->hex, e->blob_path);
        if (sha256_final_hex (&h, hex, err) < 0)
                return -1;
        if (strcmp (hex, e->hex) != 0)
                return pgimg_make_error (err, EIO, "blob sha256:%s: `%s` is corrupt (its content is sha256:%s)",
                                         e->hex, e->blob_path, hex);
        return 0;
}

/* ---- an image already in the store (a pulled one) ---- */

/* The descriptors of a stored manifest: config then layers, checked to
 * be digests with sizes. */
static int
stored_blob (struct oci_layout *l, const char *blob_dir, json_t *desc, const char *what,
             pgimg_error_t *err)
{
        const char *digest = json_string_value (json_object_get (desc, "digest"));
        json_t *size = json_object_get (desc, "size");
        const char *hex;

        if (store_digest_check (digest, what, &hex, err) < 0)
                return -1;
        if (!json_is_integer (size) || json_integer_value (size) < 0)
                return pgimg_make_error (err, EINVAL, "%s: no size", what);
        return add_blob (l, blob_dir, digest, (uint64_t) json_integer_value (size), err);
}

static int
stored_index_json (const char *manifest_digest, uint64_t manifest_size, const char *media_type,
                   const struct oci_ref *r, struct buf *out, pgimg_error_t *err)
{
        cleanup_free char *full = oci_ref_full (r);
        cleanup_json json_t *index = NULL;

        if (full == NULL)
                return pgimg_make_error (err, ENOMEM, "index.json: out of memory");
        index = json_pack ("{s:i, s:s, s:[{s:s, s:s, s:I, s:{s:s, s:s}}]}", "schemaVersion", 2, "mediaType",
                           OCI_MEDIA_INDEX, "manifests", "mediaType", media_type, "digest", manifest_digest,
                           "size", (json_int_t) manifest_size, "annotations", "io.containerd.image.name", full,
                           "org.opencontainers.image.ref.name", r->tag);
        if (index == NULL)
                return pgimg_make_error (err, ENOMEM, "index.json: out of memory");
        return oci_json_dump (index, out, err);
}

static int
stored_docker_json (json_t *manifest, const struct oci_ref *r, struct buf *out, pgimg_error_t *err)
{
        cleanup_free char *name = oci_ref_familiar_name (r);
        cleanup_json json_t *list = NULL;
        json_t *layers = json_array (), *l;
        size_t i;

        if (name == NULL || layers == NULL)
                goto oom;
        json_array_foreach (json_object_get (manifest, "layers"), i, l)
        if (json_array_append_new (layers, blob_name (json_string_value (json_object_get (l, "digest")))) < 0)
                goto oom;
        list = json_pack ("[{s:o, s:[o], s:o}]", "Config",
                          blob_name (json_string_value (json_object_get (json_object_get (manifest, "config"), "digest"))),
                          "RepoTags", json_sprintf ("%s:%s", name, r->tag), "Layers", layers);
        layers = NULL;
        if (list == NULL)
                goto oom;
        return oci_json_dump (list, out, err);
oom:
        json_decref (layers);
        return pgimg_make_error (err, ENOMEM, "manifest.json: out of memory");
}

int
oci_layout_build_stored (const char *blob_dir, const char *manifest_digest, const char *tag,
                         struct oci_layout *out, pgimg_error_t *err)
{
        cleanup_buf struct buf raw = BUF_INIT;
        cleanup_buf struct buf index = BUF_INIT;
        cleanup_buf struct buf docker = BUF_INIT;
        cleanup_buf struct buf layout = BUF_INIT;
        cleanup_json json_t *manifest = NULL;
        json_t *layers, *l;
        const char *media_type;
        struct oci_ref r;
        size_t i;
        int ret;

        if (store_read (blob_dir, manifest_digest, 4u << 20, &raw, err) < 0)
                return -1;
        manifest = json_loadb (raw.data ? raw.data : "", raw.len, 0, NULL);
        layers = json_object_get (manifest, "layers");
        if (!json_is_object (manifest) || !json_is_array (layers))
                return pgimg_make_error (err, EINVAL, "manifest %s is not an image manifest", manifest_digest);
        media_type = json_string_value (json_object_get (manifest, "mediaType"));
        if (add_blob (out, blob_dir, manifest_digest, raw.len, err) < 0
            || stored_blob (out, blob_dir, json_object_get (manifest, "config"), "the config", err) < 0)
                return -1;
        json_array_foreach (layers, i, l)
        if (stored_blob (out, blob_dir, l, "a layer", err) < 0)
                return -1;
        if (oci_ref_parse (tag, &r, err) < 0)
                return -1;
        ret = stored_index_json (manifest_digest, raw.len, media_type ? media_type : OCI_MEDIA_MANIFEST, &r, &index, err);
        if (ret == 0)
                ret = stored_docker_json (manifest, &r, &docker, err);
        oci_ref_free (&r);
        if (ret < 0)
                return -1;
        if (buf_adds (&layout, oci_layout_json) < 0)
                return pgimg_make_error (err, ENOMEM, "oci-layout: out of memory");
        if (add_dir (out, "blobs", err) < 0 || add_dir (out, "blobs/sha256", err) < 0
            || add_file (out, "oci-layout", &layout, err) < 0 || add_file (out, "index.json", &index, err) < 0
            || add_file (out, "manifest.json", &docker, err) < 0)
                return -1;
        qsort (out->v, out->n, sizeof (out->v[0]), compare_entries);
        return 0;
}
