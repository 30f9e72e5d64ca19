/* push.c - registry_push against an OCI distribution registry.
 *
 * Per blob: HEAD (present: skip), a cross-repository mount from each
 * --mount-from repository, else an upload session: one PUT for a blob
 * up to chunk_bytes, PATCH chunks with Content-Range above, each
 * following the Location of the last answer; a dropped chunk is resumed
 * from the offset the registry reports.  Then the manifest with its own
 * media type, then the other tags, so no tag ever names a manifest
 * whose blobs are missing.  An image index: the blobs of every
 * platform, each platform's manifest by digest, then the index.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/progress.h"
#include "common/fsutil.h"
#include "registry/internal.h"

#define DEFAULT_CHUNK_BYTES (16ull << 20)

struct push {
        struct reg_client c;
        struct oci_ref ref;
        const struct reg_image *img;
        const struct registry_opts *opts;
        uint64_t chunk_bytes;
        struct reg_artifact sig, att;           /* when signing */
        unsigned present, mounted, uploaded;    /* under c.lock */
};

static int
blob_present (struct reg_conn *k, struct push *p, const struct reg_blob *b, pgimg_error_t *err)
{
        cleanup_free char *url = NULL, *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret;

        if (asprintf (&url, "/v2/%s/blobs/%s", p->ref.path, b->digest) < 0
            || asprintf (&doing, "HEAD of blob %s", b->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        q.method = "HEAD";
        q.url = url;
        q.what = doing;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        ret = r.status == 200 ? 1 : r.status == 404 ? 0 : reg_status_error (&p->c, &r, doing, err);
        reg_resp_free (&r);
        return ret;
}

/* POST an upload session, mounting from `from` when not NULL.  1 when
 * mounted, 0 with *location set when an upload must follow. */
static int
post_upload (struct reg_conn *k, struct push *p, const struct reg_blob *b, const char *from,
             char **location, pgimg_error_t *err)
{
        cleanup_free char *url = NULL, *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if ((from ? asprintf (&url, "/v2/%s/blobs/uploads/?mount=%s&from=%s", p->ref.path, b->digest, from)
                  : asprintf (&url, "/v2/%s/blobs/uploads/", p->ref.path))
                    < 0
            || asprintf (&doing, "the upload of blob %s", b->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        q.method = "POST";
        q.url = url;
        q.what = doing;
        q.has_body = 1;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        if (r.status == 201 && from != NULL) {
                ret = 1;
        } else if (r.status == 202 && r.location != NULL) {
                *location = steal_pointer (&r.location);
        } else {
                ret = reg_status_error (&p->c, &r, doing, err);
        }
        reg_resp_free (&r);
        return ret;
}

static char *
with_digest (const char *location, const char *digest)
{
        char *s = NULL;

        if (asprintf (&s, "%s%cdigest=sha256%%3A%s", location, strchr (location, '?') ? '&' : '?',
                      store_digest_hex (digest))
            < 0)
                return NULL;
        return s;
}

/* PUT that closes an upload session, carrying the rest of the blob
 * from offset (nothing when offset is the size). */
static int
finish_upload (struct reg_conn *k, struct push *p, const struct reg_blob *b, const char *location,
               uint64_t offset, pgimg_error_t *err)
{
        static const char *const headers[] = { "Content-Type: application/octet-stream", NULL };
        cleanup_free char *url = with_digest (location, b->digest), *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (url == NULL || asprintf (&doing, "the upload of blob %s", b->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        q.method = "PUT";
        q.url = url;
        q.what = doing;
        q.headers = headers;
        q.has_body = 1;
        if (b->data != NULL) {
                q.body = b->data + offset;
        } else {
                q.body_fd = b->fd;
                q.body_off = b->offset + offset;
        }
        q.body_len = b->size - offset;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        if (r.status != 201)
                ret = reg_status_error (&p->c, &r, doing, err);
        else if (r.digest != NULL && strcmp (r.digest, b->digest) != 0)
                ret = pgimg_make_error (err, EIO, "%s stored blob %s as %s", p->c.what, b->digest, r.digest);
        reg_resp_free (&r);
        return ret;
}

/* "0-N" of a Range header: the next byte to send is N + 1.  Distribution
 * says "0-0" for an empty session as well as for one byte; sending that
 * byte again is refused with 416, which asks again, so 0 is the safe read. */
static uint64_t
range_next (const char *range, uint64_t fallback)
{
        unsigned long long a, b;

        if (range == NULL || sscanf (range, "%llu-%llu", &a, &b) != 2)
                return fallback;
        return b == 0 ? 0 : b + 1;
}

/* After a dropped or refused chunk: where the session stands (GET). */
static int
upload_status (struct reg_conn *k, struct push *p, const struct reg_blob *b, char **location,
               uint64_t *offset, pgimg_error_t *err)
{
        cleanup_free char *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (asprintf (&doing, "the status of the upload of blob %s", b->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        q.method = "GET";
        q.url = *location;
        q.what = doing;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        if (r.status == 204) {
                *offset = range_next (r.range, 0);
                if (r.location != NULL) {
                        free (*location);
                        *location = steal_pointer (&r.location);
                }
        } else if (r.status == 404) {
                ret = 1;        /* the session is gone: start a new one */
        } else {
                ret = reg_status_error (&p->c, &r, doing, err);
        }
        reg_resp_free (&r);
        return ret;
}

/* PATCH one chunk.  0 when the registry took it (offset and location
 * advanced), 1 when it should be asked where it stands, <0 on error. */
static int
send_chunk (struct reg_conn *k, struct push *p, const struct reg_blob *b, char **location,
            uint64_t *offset, pgimg_error_t *err)
{
        uint64_t n = b->size - *offset < p->chunk_bytes ? b->size - *offset : p->chunk_bytes;
        char range[80];
        const char *headers[] = { "Content-Type: application/octet-stream", range, NULL };
        cleanup_free char *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        snprintf (range, sizeof (range), "Content-Range: %" PRIu64 "-%" PRIu64, *offset, *offset + n - 1);
        if (asprintf (&doing, "the upload of blob %s", b->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        q.method = "PATCH";
        q.url = *location;
        q.what = doing;
        q.headers = headers;
        q.has_body = 1;
        q.body_fd = b->fd;
        q.body_off = b->offset + *offset;
        q.body_len = n;
        q.no_retry = 1;
        if (reg_request (k, &q, &r, err) < 0) {
                pgimg_error_free (err);
                return 1;
        }
        if (r.status == 202 && r.location != NULL) {
                *offset = range_next (r.range, *offset + n);
                free (*location);
                *location = steal_pointer (&r.location);
        } else if (r.status == 416 || r.status >= 500 || r.status == 429) {
                ret = 1;
        } else {
                ret = reg_status_error (&p->c, &r, doing, err);
        }
        reg_resp_free (&r);
        return ret;
}

/* 0 when the blob is up; 1 when the session was lost and must restart. */
static int
upload_chunked (struct reg_conn *k, struct push *p, const struct reg_blob *b, char **location,
                pgimg_error_t *err)
{
        uint64_t offset = 0;
        int resumes = 0;

        while (offset < b->size) {
                int r = send_chunk (k, p, b, location, &offset, err);
                if (r < 0)
                        return -1;
                if (r == 0)
                        continue;
                if (resumes >= p->c.retries)
                        return pgimg_make_error (err, EIO,
                                                 "%s kept failing the upload of blob %s (%d resumes); run "
                                                 "the same command again",
                                                 p->c.what, b->digest, resumes);
                reg_backoff (resumes++, 0);
                if ((r = upload_status (k, p, b, location, &offset, err)) != 0)
                        return r;
                progress_note ("resuming blob %s at byte %" PRIu64, b->digest, offset);
        }
        return finish_upload (k, p, b, *location, b->size, err);
}

static void
count (struct push *p, unsigned *what)
{
        pthread_mutex_lock (&p->c.lock);
        (*what)++;
        pthread_mutex_unlock (&p->c.lock);
}

static int
push_blob (struct reg_conn *k, struct push *p, const struct reg_blob *b, pgimg_error_t *err)
{
        int r = blob_present (k, p, b, err);

        if (r != 0) {
                if (r > 0)
                        count (p, &p->present);
                return r < 0 ? -1 : 0;
        }
        for (int session = 0; session < 3; session++) {
                cleanup_free char *location = NULL;
                for (const char *const *from = p->opts->mount_from; from && *from && location == NULL; from++) {
                        if (strcmp (*from, p->ref.path) == 0)
                                continue;
                        if ((r = post_upload (k, p, b, *from, &location, err)) < 0)
                                return -1;
                        if (r == 1) {
                                count (p, &p->mounted);
                                return 0;
                        }
                }
                if (location == NULL && post_upload (k, p, b, NULL, &location, err) < 0)
                        return -1;
                if (b->size <= p->chunk_bytes)
                        r = finish_upload (k, p, b, location, 0, err);
                else
                        r = upload_chunked (k, p, b, &location, err);
                if (r < 0)
                        return -1;
                if (r == 0) {
                        count (p, &p->uploaded);
                        progress_note ("pushed blob %s (%.1f MB)", b->digest, b->size / 1e6);
                        return 0;
                }
        }
        return pgimg_make_error (err, EIO, "%s lost the upload session of blob %s three times", p->c.what,
                                 b->digest);
}

static int
blob_job (void *ctx, size_t i, pgimg_error_t *err)
{
        struct push *p = ctx;
        cleanup_conn struct reg_conn *k = NULL;

        if (reg_conn_new (&p->c, &k, err) < 0)
                return -1;
        return push_blob (k, p, &p->img->blobs[i], err);
}

static int
put_manifest (struct reg_conn *k, struct push *p, const char *tag, const char *data, size_t len,
              const char *media_type, const char *digest, pgimg_error_t *err)
{
        cleanup_free char *url = NULL, *ctype = NULL, *doing = NULL;
        const char *headers[2] = { NULL, NULL };
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (asprintf (&url, "/v2/%s/manifests/%s", p->ref.path, tag) < 0
            || asprintf (&ctype, "Content-Type: %s", media_type) < 0
            || asprintf (&doing, "the manifest for %s:%s", p->ref.path, tag) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        headers[0] = ctype;
        q.method = "PUT";
        q.url = url;
        q.headers = headers;
        q.what = doing;
        q.has_body = 1;
        q.body = data;
        q.body_len = len;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        if (r.status != 201)
                ret = reg_status_error (&p->c, &r, doing, err);
        else if (r.digest != NULL && strcmp (r.digest, digest) != 0)
                ret = pgimg_make_error (err, EIO, "%s stored the manifest as %s, not %s", p->c.what, r.digest,
                                        digest);
        reg_resp_free (&r);
        return ret;
}

static int
memory_blob (struct reg_blob *b, const char *data, size_t len, pgimg_error_t *err)
{
        char hex[SHA256_HEX_LEN + 1];

        memset (b, 0, sizeof (*b));
        b->fd = -1;
        b->data = data;
        b->size = len;
        if (sha256_buf_hex (data, len, hex, err) < 0)
                return -1;
        snprintf (b->digest, sizeof (b->digest), "sha256:%s", hex);
        return 0;
}

/* A signature or attestation goes up as a small image of its own under
 * the tag cosign gives it, replacing what that tag held (`cosign sign`
 * afterwards adds its signature beside pgimg's). */
static int
push_artifact (struct reg_conn *k, struct push *p, const char *suffix, const struct reg_artifact *a,
               pgimg_error_t *err)
{
        struct reg_blob config, layer;
        char tag[128];

        if (memory_blob (&config, a->config, a->config_len, err) < 0
            || memory_blob (&layer, a->layer, a->layer_len, err) < 0)
                return -1;
        if (push_blob (k, p, &config, err) < 0 || push_blob (k, p, &layer, err) < 0)
                return -1;
        snprintf (tag, sizeof (tag), "sha256-%s.%s", store_digest_hex (p->img->manifest_digest), suffix);
        return put_manifest (k, p, tag, a->manifest, a->manifest_len, REG_MEDIA_OCI_MANIFEST, a->manifest_digest, err);
}

/* The signature, and the SBOM's attestation when the image has one,
 * are made before anything is sent: a key or an SBOM that will not do
 * stops the push before it moves a tag. */
static int
make_signatures (struct push *p, pgimg_error_t *err)
{
        const char *digest = p->img->manifest_digest;
        cleanup_free char *identity = NULL;

        if (asprintf (&identity, "%s/%s", p->ref.domain, p->ref.path) < 0)
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        if (reg_cosign_signature (identity, digest, p->opts->sign_key, &p->sig, err) < 0)
                return -1;
        if (p->img->sbom_path != NULL
            && reg_cosign_attestation (identity, digest, p->img->sbom_path, p->opts->sign_key, &p->att, err) < 0)
                return -1;
        return 0;
}

static int
push_signatures (struct reg_conn *k, struct push *p, pgimg_error_t *err)
{
        if (push_artifact (k, p, "sig", &p->sig, err) < 0)
                return -1;
        if (p->att.manifest == NULL)
                return 0;
        if (push_artifact (k, p, "att", &p->att, err) < 0)
                return -1;
        progress_note ("attested the SBOM %s", p->img->sbom_path);
        return 0;
}

static int
push_tags (struct push *p, pgimg_error_t *err)
{
        cleanup_conn struct reg_conn *k = NULL;
        const struct reg_image *img = p->img;
        const char *first = p->ref.tag ? p->ref.tag : img->manifest_digest;

        if (p->ref.digest != NULL && strcmp (p->ref.digest, img->manifest_digest) != 0)
                return pgimg_make_error (err, EINVAL, "the image's manifest is %s, not %s as the reference says",
                                         img->manifest_digest, p->ref.digest);
        if (reg_conn_new (&p->c, &k, err) < 0)
                return -1;
        /* An index: each platform's manifest by its digest, before the
         * index that names them goes under a tag. */
        for (size_t i = 0; i < img->n_platforms; i++) {
                const struct reg_image *m = &img->platforms[i];
                if (put_manifest (k, p, m->manifest_digest, m->manifest, m->manifest_len, m->manifest_media_type,
                                  m->manifest_digest, err)
                    < 0)
                        return -1;
        }
        if (put_manifest (k, p, first, img->manifest, img->manifest_len, img->manifest_media_type,
                          img->manifest_digest, err)
            < 0)
                return -1;
        for (const char *const *t = p->opts->extra_tags; t && *t; t++)
                if (put_manifest (k, p, *t, img->manifest, img->manifest_len, img->manifest_media_type,
                                  img->manifest_digest, err)
                    < 0)
                        return -1;
        return p->opts->sign_key ? push_signatures (k, p, err) : 0;
}

static int
scope_for (struct push *p)
{
        struct buf s = BUF_INIT;

        buf_addf (&s, "repository:%s:pull,push", p->ref.path);
        for (const char *const *from = p->opts->mount_from; from && *from; from++)
                buf_addf (&s, " repository:%s:pull", *from);
        p->c.scope = buf_detach (&s, NULL);
        return p->c.scope == NULL ? -1 : 0;
}

static int
push_registry (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
               struct registry_stats *st, pgimg_error_t *err)
{
        struct push p = { .img = img, .opts = opts };
        cleanup_free char *what = NULL;
        int r;

        if (oci_ref_parse_remote (dest, &p.ref, err) < 0)
                return -1;
        p.chunk_bytes = opts->chunk_bytes ? opts->chunk_bytes : DEFAULT_CHUNK_BYTES;
        if (asprintf (&what, "registry %s", p.ref.domain) < 0) {
                oci_ref_free (&p.ref);
                return pgimg_make_error (err, ENOMEM, "push: out of memory");
        }
        if (reg_client_init (&p.c, p.ref.domain, what, opts, err) < 0) {
                oci_ref_free (&p.ref);
                return -1;
        }
        if (scope_for (&p) < 0)
                r = pgimg_make_error (err, ENOMEM, "push: out of memory");
        else if (opts->sign_key && make_signatures (&p, err) < 0)
                r = -1;
        else
                r = reg_parallel (img->n_blobs, opts->jobs, blob_job, &p, err);
        if (r == 0)
                r = push_tags (&p, err);
        st->blobs = (unsigned) img->n_blobs;
        st->blobs_present = p.present;
        st->blobs_mounted = p.mounted;
        st->blobs_uploaded = p.uploaded;
        st->bytes_uploaded = p.c.bytes_sent;
        reg_artifact_free (&p.sig);
        reg_artifact_free (&p.att);
        reg_client_free (&p.c);
        oci_ref_free (&p.ref);
        return r;
}

int
registry_is_s3 (const char *dest)
{
        return strncmp (dest, "s3://", 5) == 0;
}

int
reg_push_image (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
                struct registry_stats *stats, pgimg_error_t *err)
{
        struct registry_stats ignored;

        if (stats == NULL)
                stats = &ignored;
        memset (stats, 0, sizeof (*stats));
        strcpy (stats->manifest_digest, img->manifest_digest);
        if (opts->sign_key && reg_key_check (opts->sign_key, 1, err) < 0)
                return -1;
        if (registry_is_s3 (dest))
                return reg_s3_push (img, dest, opts, stats, err);
        return push_registry (img, dest, opts, stats, err);
}

int
registry_push (const char *image_path, const char *cache_dir, const char *dest, const struct registry_opts *opts,
               struct registry_stats *stats, pgimg_error_t *err)
{
        struct reg_image img = REG_IMAGE_INIT;
        cleanup_free char *work = NULL;
        int r;

        /* A store of its own, dropped after: pushing an image does not
         * copy its blobs into the cache for good. */
        if (fs_work_dir (cache_dir, "push", &work, err) < 0)
                return -1;
        r = reg_image_open (image_path, work, &img, err);
        if (r == 0)
                r = reg_push_image (&img, dest, opts, stats, err);
        reg_image_close (&img);
        fs_drop_temp_dir (work);
        return r;
}

int
registry_push_stored (const char *blob_dir, const char *manifest_digest, const char *sbom_path,
                      const char *dest, const struct registry_opts *opts, struct registry_stats *stats,
                      pgimg_error_t *err)
{
        struct reg_image img = REG_IMAGE_INIT;
        int r;

        r = reg_image_from_store (blob_dir, manifest_digest, &img, err);
        if (r == 0 && sbom_path && (img.sbom_path = strdup (sbom_path)) == NULL)
                r = pgimg_make_error (err, ENOMEM, "push: out of memory");
        if (r == 0)
                r = reg_push_image (&img, dest, opts, stats, err);
        reg_image_close (&img);
        return r;
}
