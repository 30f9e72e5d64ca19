/* pull.c - registry_pull from a registry, and what pulls share: blobs
 * land in the store only once their digest checks out, and the worker
 * threads that move several blobs at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "layers/store.h"
#include "oci/image.h"
#include "registry/internal.h"

#define DEFAULT_JOBS 4
#define MAX_JOBS 16

struct parallel {
        pthread_mutex_t lock;
        size_t next, n;
        reg_job_fn fn;
        void *ctx;
        pgimg_error_t first_err;
        int failed;
};

static void *
worker (void *arg)
{
        struct parallel *w = arg;

        for (;;) {
                pgimg_error_t err = NULL;
                size_t i;
                pthread_mutex_lock (&w->lock);
                if (w->failed || w->next >= w->n) {
                        pthread_mutex_unlock (&w->lock);
                        return NULL;
                }
                i = w->next++;
                pthread_mutex_unlock (&w->lock);
                if (w->fn (w->ctx, i, &err) < 0) {
                        pthread_mutex_lock (&w->lock);
                        if (!w->failed) {
                                w->failed = 1;
                                w->first_err = steal_pointer (&err);
                        }
                        pthread_mutex_unlock (&w->lock);
                        pgimg_error_free (&err);
                }
        }
}

int
reg_parallel (size_t n, int jobs, reg_job_fn fn, void *ctx, pgimg_error_t *err)
{
        struct parallel w = { .n = n, .fn = fn, .ctx = ctx };
        pthread_t threads[MAX_JOBS];
        int started = 0;

        if (jobs <= 0)
                jobs = DEFAULT_JOBS;
        if (jobs > MAX_JOBS)
                jobs = MAX_JOBS;
        if ((size_t) jobs > n)
                jobs = (int) n;
        if (pthread_mutex_init (&w.lock, NULL) != 0)
                return pgimg_make_error (err, ENOMEM, "cannot create a lock");
        for (; started < jobs; started++)
                if (pthread_create (&threads[started], NULL, worker, &w) != 0)
                        break;
        if (started == 0 && n > 0)
                worker (&w);    /* no thread could start: do it here */
        for (int i = 0; i < started; i++)
                pthread_join (threads[i], NULL);
        pthread_mutex_destroy (&w.lock);
        if (w.failed) {
                *err = steal_pointer (&w.first_err);
                return -1;
        }
        return 0;
}

int
reg_store_blob (const char *blob_dir, const struct reg_desc *d, reg_fetch_fn fetch_fn, void *ctx,
                pgimg_error_t *err)
{
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;
        int r;

        if ((r = store_has (blob_dir, d->digest, d->size, err)) != 0)
                return r < 0 ? -1 : 0;
        if (store_writer_open (&w, blob_dir, d->digest, d->size, err) < 0)
                return -1;
        /* The download appends to the file and feeds the writer's hash
         * itself (resuming from w.written after a dropped connection);
         * the commit checks size and digest as for any other blob. */
        if (fetch_fn (ctx, d, w.file.fd, &w.hash, &w.written, err) < 0) {
                if (*err != NULL && (*err)->status == ENOSPC)
                        return pgimg_error_wrap (err, "the disk of %s is full (free some space and pull again)",
                                                 blob_dir);
                return -1;
        }
        return store_writer_commit (&w, NULL, err);
}

int
reg_store_bytes (const char *blob_dir, const char *digest, const char *data, size_t len, pgimg_error_t *err)
{
        return store_put_buf (blob_dir, digest, data, len, NULL, err);
}

int
reg_record_ref (const char *cache_dir, const char *name, const char *digest, pgimg_error_t *err)
{
        cleanup_free char *path = NULL, *dir = NULL, *line = NULL;
        char *slash;

        if (asprintf (&path, "%s/refs/%s", cache_dir, name) < 0 || (dir = strdup (path)) == NULL
            || asprintf (&line, "%s\n", digest) < 0)
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        for (char *p = path + strlen (cache_dir) + 6; *p; p++)
                if (*p == ':')
                        *p = '/';       /* host:port/path:tag -> directories */
        free (dir);
        if ((dir = strdup (path)) == NULL)
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        slash = strrchr (dir, '/');
        *slash = '\0';
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        return fs_write_file_atomic (path, line, strlen (line), 0644, err);
}

/* ---- from a registry ---- */

struct pull {
        struct reg_client c;
        struct oci_ref ref;
        struct reg_manifest m;
        char *blob_dir;
        char top_digest[72];            /* what the reference names: the index, if one */
};

static const char *const accept_all[] = {
        "Accept: " REG_MEDIA_OCI_MANIFEST ", " REG_MEDIA_OCI_INDEX ", " REG_MEDIA_DOCKER_MANIFEST
        ", " REG_MEDIA_DOCKER_LIST,
        NULL,
};

/* GET a manifest by tag or digest into out; its digest is checked
 * against want (when given) and the registry's Docker-Content-Digest. */
static int
get_manifest (struct reg_conn *k, struct pull *p, const char *tag_or_digest, struct buf *out,
              char digest[72], char **media_type, pgimg_error_t *err)
{
        cleanup_free char *url = NULL, *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        char hex[SHA256_HEX_LEN + 1];
        int ret = 0;

        if (asprintf (&url, "/v2/%s/manifests/%s", p->ref.path, tag_or_digest) < 0
            || asprintf (&doing, "the manifest of %s:%s", p->ref.path, tag_or_digest) < 0)
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        q.method = "GET";
        q.url = url;
        q.headers = accept_all;
        q.out = out;
        q.what = doing;
        if (reg_request (k, &q, &r, err) < 0)
                return -1;
        if (r.status == 404) {
                ret = pgimg_make_error (err, ENOENT, "%s has no %s:%s", p->c.what, p->ref.path, tag_or_digest);
        } else if (r.status != 200) {
                ret = reg_status_error (&p->c, &r, doing, err);
        } else if (sha256_buf_hex (out->data ? out->data : "", out->len, hex, err) < 0) {
                ret = -1;
        } else {
                snprintf (digest, 72, "sha256:%s", hex);
                if ((store_digest_hex (tag_or_digest) != NULL && strcmp (tag_or_digest, digest) != 0)
                    || (r.digest != NULL && store_digest_hex (r.digest) != NULL && strcmp (r.digest, digest) != 0))
                        ret = pgimg_make_error (err, EIO, "%s sent a manifest for %s:%s whose digest is %s; refused",
                                                p->c.what, p->ref.path, tag_or_digest, digest);
                else if ((*media_type = reg_json_media_type (out->data, out->len)) == NULL
                         && (*media_type = strdup (r.content_type ? r.content_type : REG_MEDIA_OCI_MANIFEST)) == NULL)
                        ret = pgimg_make_error (err, ENOMEM, "pull: out of memory");
        }
        reg_resp_free (&r);
        return ret;
}

struct blob_fetch {
        struct pull *p;
        struct reg_conn *k;
};

static int
fetch_blob (void *ctx, const struct reg_desc *d, int fd, struct sha256 *h, uint64_t *written,
            pgimg_error_t *err)
{
        struct blob_fetch *f = ctx;
        cleanup_free char *url = NULL, *doing = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (asprintf (&url, "/v2/%s/blobs/%s", f->p->ref.path, d->digest) < 0
            || asprintf (&doing, "the download of blob %s", d->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        q.method = "GET";
        q.url = url;
        q.what = doing;
        q.out_fd = fd;
        q.out_hash = h;
        q.out_written = *written;
        ret = reg_request (f->k, &q, &r, err);
        pthread_mutex_lock (&f->p->c.lock);
        f->p->c.bytes_received += q.out_written - *written;
        pthread_mutex_unlock (&f->p->c.lock);
        *written = q.out_written;
        if (ret == 0 && r.status != 200 && r.status != 206)
                ret = reg_status_error (&f->p->c, &r, doing, err);
        reg_resp_free (&r);
        return ret;
}

static int
pull_blob_job (void *ctx, size_t i, pgimg_error_t *err)
{
        struct pull *p = ctx;
        cleanup_conn struct reg_conn *k = NULL;
        struct blob_fetch f = { .p = p };
        const struct reg_desc *d = i == 0 ? &p->m.config : &p->m.layers[i - 1];

        if (reg_conn_new (&p->c, &k, err) < 0)
                return -1;
        f.k = k;
        return reg_store_blob (p->blob_dir, d, fetch_blob, &f, err);
}

static int
fetch_manifests (struct pull *p, char digest[72], char **media_type, struct buf *m, pgimg_error_t *err)
{
        cleanup_conn struct reg_conn *k = NULL;
        const char *want = p->ref.digest ? p->ref.digest : p->ref.tag;

        if (reg_conn_new (&p->c, &k, err) < 0 || get_manifest (k, p, want, m, digest, media_type, err) < 0)
                return -1;
        strcpy (p->top_digest, digest);
        if (reg_media_is_index (*media_type)) {
                struct reg_desc d;
                if (reg_store_bytes (p->blob_dir, digest, m->data, m->len, err) < 0
                    || reg_index_pick (m->data, m->len, &d, err) < 0)
                        return -1;
                free (*media_type);
                *media_type = NULL;
                buf_reset (m);
                int r = get_manifest (k, p, d.digest, m, digest, media_type, err);
                reg_desc_free (&d);
                if (r < 0)
                        return -1;
        }
        return 0;
}

/* A small blob (a signature payload) into out, checked against its digest. */
static int
get_small_blob (struct reg_conn *k, struct pull *p, const struct reg_desc *d, struct buf *out, pgimg_error_t *err)
{
        cleanup_free char *url = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        char hex[SHA256_HEX_LEN + 1];
        int ret;

        if (asprintf (&url, "/v2/%s/blobs/%s", p->ref.path, d->digest) < 0)
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        q.method = "GET";
        q.url = url;
        q.out = out;
        q.what = "a signature";
        ret = reg_request (k, &q, &r, err);
        if (ret == 0 && r.status != 200)
                ret = reg_status_error (&p->c, &r, "the download of a signature", err);
        reg_resp_free (&r);
        if (ret == 0 && sha256_buf_hex (out->data ? out->data : "", out->len, hex, err) < 0)
                ret = -1;
        if (ret == 0 && strcmp (hex, store_digest_hex (d->digest)) != 0)
                ret = pgimg_make_error (err, EPERM, "signature blob %s of %s does not match its digest; refused",
                                        d->digest, p->ref.path);
        return ret;
}

/* Whether one of the signatures of digest's .sig tag is a trusted key's
 * and names digest: REG_SIG_OK, REG_SIG_OTHER_IMAGE (with *other set)
 * or 0.  Every payload is checked against its digest before it is
 * believed. */
static int
find_signature (struct reg_conn *k, struct pull *p, const struct reg_sig_layers *sl, const char *digest,
                const char *const *keys, char other[72], pgimg_error_t *err)
{
        int best = 0;

        for (size_t i = 0; i < sl->n; i++) {
                cleanup_buf struct buf payload = BUF_INIT_MAX (REG_MAX_SIG_LAYER_BYTES);
                char signed_digest[72];
                int r;
                if (get_small_blob (k, p, &sl->v[i].desc, &payload, err) < 0)
                        return -1;
                r = reg_cosign_check (keys, payload.data ? payload.data : "", payload.len, sl->v[i].signature, digest,
                                      signed_digest, err);
                if (r < 0 || r == REG_SIG_OK)
                        return r;
                if (r == REG_SIG_OTHER_IMAGE) {
                        best = r;
                        strcpy (other, signed_digest);
                }
        }
        return best;
}

/* The .sig tag of digest must hold a cosign signature of digest by one
 * of the trusted keys. */
static int
check_signature (struct pull *p, const char *digest, const struct registry_opts *opts, pgimg_error_t *err)
{
        cleanup_conn struct reg_conn *k = NULL;
        cleanup_buf struct buf m = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        cleanup_free char *media_type = NULL;
        struct reg_sig_layers sl = { 0 };
        char tag[128], sdigest[72], other[72] = "", where[300];
        int keys, r;

        if (reg_keys_check (opts->trusted_keys, &keys, err) < 0)
                return -1;
        snprintf (tag, sizeof (tag), REG_SIGNATURE_TAG_FMT, store_digest_hex (digest));
        if (reg_conn_new (&p->c, &k, err) < 0)
                return -1;
        if (get_manifest (k, p, tag, &m, sdigest, &media_type, err) < 0) {
                if ((*err)->status != ENOENT)
                        return -1;
                pgimg_error_free (err);
                return pgimg_make_error (err, EPERM, "manifest %s of %s is not signed; refused (push it with --sign-key)",
                                         digest, p->ref.path);
        }
        if (reg_sig_layers_parse (m.data, m.len, &sl, err) < 0)
                return pgimg_error_wrap (err, "%s:%s", p->ref.path, tag);
        r = find_signature (k, p, &sl, digest, opts->trusted_keys, other, err);
        if (r == 0 && sl.old_pgimg) {
                reg_sig_layers_free (&sl);
                return pgimg_make_error (err, EPERM,
                                         "manifest %s of %s is signed in the ed25519 format of an older pgimg, "
                                         "which is no longer checked; refused (push it again with --sign-key and "
                                         "a key of `pgimg key generate`)",
                                         digest, p->ref.path);
        }
        reg_sig_layers_free (&sl);
        snprintf (where, sizeof (where), "%s:%s", p->ref.path, tag);
        return r == REG_SIG_OK ? 0 : reg_cosign_refusal (r, where, digest, other, keys, err);
}

static int
pull_registry (const char *src, const char *cache_dir, const char *out_path, const struct registry_opts *opts,
               struct registry_stats *st, pgimg_error_t *err)
{
        struct pull p = { 0 };
        cleanup_free char *what = NULL, *media_type = NULL, *refname = NULL;
        cleanup_buf struct buf m = BUF_INIT_MAX (REG_MAX_MANIFEST_BYTES);
        char digest[72];
        int r = -1;

        if (oci_ref_parse_remote (src, &p.ref, err) < 0)
                return -1;
        if (asprintf (&what, "registry %s", p.ref.domain) < 0
            || asprintf (&refname, "%s/%s:%s", p.ref.domain, p.ref.path, p.ref.tag ? p.ref.tag : "latest") < 0) {
                oci_ref_free (&p.ref);
                return pgimg_make_error (err, ENOMEM, "pull: out of memory");
        }
        if (reg_client_init (&p.c, p.ref.domain, what, opts, err) < 0) {
                oci_ref_free (&p.ref);
                return -1;
        }
        if (asprintf (&p.c.scope, "repository:%s:pull", p.ref.path) < 0)
                p.c.scope = NULL;
        if (p.c.scope == NULL)
                r = pgimg_make_error (err, ENOMEM, "pull: out of memory");
        else if (layer_cache_blob_dir (cache_dir, &p.blob_dir, err) < 0 || fetch_manifests (&p, digest, &media_type, &m, err) < 0)
                r = -1;
        /* Signed is what the reference names, as cosign signs it: an
         * index pins the manifest picked from it. */
        else if (opts->trusted_keys && check_signature (&p, p.top_digest, opts, err) < 0)
                r = -1;
        else if (reg_manifest_parse (m.data, m.len, &p.m, err) < 0)
                r = pgimg_error_wrap (err, "%s", src);
        else if (reg_parallel (opts->config_only ? 1 : p.m.n_layers + 1, opts->jobs, pull_blob_job, &p, err) == 0
                 && reg_store_bytes (p.blob_dir, digest, m.data, m.len, err) == 0
                 && (p.ref.digest || reg_record_ref (cache_dir, refname, digest, err) == 0))
                r = out_path ? oci_write_stored (p.blob_dir, digest, refname, out_path, err) : 0;
        strcpy (st->manifest_digest, r == 0 ? digest : "");
        st->blobs = (unsigned) (p.m.n_layers + 1);
        st->bytes_downloaded = p.c.bytes_received;
        reg_manifest_free (&p.m);
        free (p.blob_dir);
        reg_client_free (&p.c);
        oci_ref_free (&p.ref);
        return r;
}

int
registry_pull (const char *src, const char *cache_dir, const char *out_path, const struct registry_opts *opts,
               struct registry_stats *stats, pgimg_error_t *err)
{
        struct registry_stats ignored;

        if (stats == NULL)
                stats = &ignored;
        memset (stats, 0, sizeof (*stats));
        if (registry_is_s3 (src))
                return reg_s3_pull (src, cache_dir, out_path, opts, stats, err);
        return pull_registry (src, cache_dir, out_path, opts, stats, err);
}
