/* s3.c - registry_push and registry_pull against S3.
 *
 * Layout under s3://bucket/prefix, like BuildKit's S3 cache:
 *     blobs/sha256/<hex>        config, layers and manifests (and image indexes)
 *     signatures/<hex>.json     cosign's simple-signing payload for manifest <hex>
 *     signatures/<hex>.sig      its ECDSA signature in base64 (`cosign sign-blob`'s)
 *     manifests/<tag>           a small OCI index naming the manifest
 * An image index of several platforms is stored as a registry stores
 * it: every platform's blobs, each platform's manifest and the index
 * itself under blobs/sha256/, and manifests/<tag> naming the index.
 * The index of a tag is written last, so a failed push leaves the old
 * one.  Requests are signed with AWS Signature V4 (HMAC-SHA256 through
 * OpenSSL); a custom --endpoint is addressed path-style (endpoint/bucket/
 * key), AWS itself virtual-hosted.  Blobs above the chunk size go up as
 * multipart uploads.  Credentials never appear in messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "oci/image.h"
#include "registry/internal.h"

#define DEFAULT_PART_BYTES (16ull << 20)
#define MIN_PART_BYTES (5ull << 20)     /* S3 refuses smaller parts but the last */
#define MAX_PARTS 10000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
        struct reg_client c;
        char *bucket;
        char *prefix;           /* "" or "a/b/" */
        char *tag;
        char *key_prefix;       /* "/bucket/prefix" (path-style) or "/prefix" */
        char *host;             /* what the Host header says */
        char *region;
        char *access_key;
        char *secret_key;
        char *session_token;
        const struct reg_image *img;
        unsigned present, uploaded;
};

/* ---- Signature V4 ---- */

static int
hmac (const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
        unsigned int len = 32;

        return HMAC (EVP_sha256 (), key, (int) key_len, (const unsigned char *) msg, strlen (msg), out, &len) ? 0 : -1;
}

static void
hex_of (const unsigned char *v, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++)
                sprintf (out + 2 * i, "%02x", v[i]);
}

/* The path and the query of a request URL, split for signing. */
static void
split_url (const char *url, const char **path, size_t *path_len, const char **query)
{
        const char *p = url, *q;

        if (strncmp (p, "http://", 7) == 0 || strncmp (p, "https://", 8) == 0)
                p = strchr (strstr (p, "//") + 2, '/');
        if (p == NULL)
                p = "/";
        q = strchr (p, '?');
        *path = p;
        *path_len = q ? (size_t) (q - p) : strlen (p);
        *query = q ? q + 1 : "";
}

static int
sign_v4 (struct reg_client *c, struct reg_req *q, struct http_headers *headers, pgimg_error_t *err)
{
        struct s3 *s = c->sign_ctx;
        char amz_date[17], day[9], payload[SHA256_HEX_LEN + 1], creq_hash[SHA256_HEX_LEN + 1];
        unsigned char k[32], sig[32];
        char sig_hex[65];
        cleanup_free char *creq = NULL, *sts = NULL, *secret = NULL, *scope = NULL, *signed_headers = NULL;
        cleanup_free char *h_auth = NULL, *h_date = NULL, *h_sha = NULL, *h_token = NULL;
        const char *path, *query;
        size_t path_len;
        time_t now = time (NULL);
        struct tm tm;

        gmtime_r (&now, &tm);
        strftime (amz_date, sizeof (amz_date), "%Y%m%dT%H%M%SZ", &tm);
        strftime (day, sizeof (day), "%Y%m%d", &tm);
        if (q->has_body && q->body_fd < 0) {
                if (sha256_buf_hex (q->body ? q->body : "", q->body_len, payload, err) < 0)
                        return -1;
        } else if (q->has_body && q->body_len > 0) {
                /* Blobs are checked by their digest on every pull. */
                strcpy (payload, "UNSIGNED-PAYLOAD");
        } else {
                strcpy (payload, EMPTY_SHA256);
        }
        split_url (q->url, &path, &path_len, &query);
        if (asprintf (&signed_headers, "host;x-amz-content-sha256;x-amz-date%s",
                      s->session_token ? ";x-amz-security-token" : "")
                    < 0
            || asprintf (&creq, "%s\n%.*s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n%s%s%s\n%s\n%s",
                         q->method, (int) path_len, path, query, s->host, payload, amz_date,
                         s->session_token ? "x-amz-security-token:" : "", s->session_token ? s->session_token : "",
                         s->session_token ? "\n" : "", signed_headers, payload)
                       < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        if (sha256_buf_hex (creq, strlen (creq), creq_hash, err) < 0)
                return -1;
        if (asprintf (&scope, "%s/%s/s3/aws4_request", day, s->region) < 0
            || asprintf (&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash) < 0
            || asprintf (&secret, "AWS4%s", s->secret_key) < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        if (hmac (secret, strlen (secret), day, k) < 0 || hmac (k, 32, s->region, k) < 0 || hmac (k, 32, "s3", k) < 0
            || hmac (k, 32, "aws4_request", k) < 0 || hmac (k, 32, sts, sig) < 0)
                return pgimg_make_error (err, EINVAL, "S3: HMAC-SHA256 failed");
        explicit_bzero (secret, strlen (secret));
        explicit_bzero (k, sizeof (k));
        hex_of (sig, 32, sig_hex);
        if (asprintf (&h_auth, "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                      s->access_key, scope, signed_headers, sig_hex)
                    < 0
            || asprintf (&h_date, "x-amz-date: %s", amz_date) < 0
            || asprintf (&h_sha, "x-amz-content-sha256: %s", payload) < 0
            || (s->session_token && asprintf (&h_token, "x-amz-security-token: %s", s->session_token) < 0))
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        const char *add[] = { h_auth, h_date, h_sha, h_token };
        for (size_t i = 0; i < 4; i++) {
                if (add[i] == NULL)
                        continue;
                if (http_headers_add (headers, add[i]) < 0)
                        return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        }
        return 0;
}

/* ---- requests ---- */

/* What an S3 error code asks the user to do. */
static int
s3_error (struct s3 *s, const struct reg_resp *r, const char *doing, pgimg_error_t *err)
{
        const char *code = r->s3_error ? r->s3_error : "";

        if (strcmp (code, "SignatureDoesNotMatch") == 0)
                return pgimg_make_error (err, EACCES,
                                         "bucket %s refused the request signature (SignatureDoesNotMatch) for %s: "
                                         "check AWS_SECRET_ACCESS_KEY (and the clock)",
                                         s->bucket, doing);
        /* versitygw says XAdminUserNotFound where AWS says InvalidAccessKeyId. */
        if (strcmp (code, "InvalidAccessKeyId") == 0 || strcmp (code, "XAdminUserNotFound") == 0)
                return pgimg_make_error (err, EACCES, "bucket %s does not know the access key (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID",
                                         s->bucket);
        if (strcmp (code, "NoSuchBucket") == 0)
                return pgimg_make_error (err, ENOENT, "bucket %s does not exist: create it first", s->bucket);
        if (strcmp (code, "AccessDenied") == 0 || r->status == 403)
                return pgimg_make_error (err, EACCES, "bucket %s denied %s (%s): check the key's permissions", s->bucket,
                                         doing, *code ? code : "HTTP 403");
        return reg_status_error (&s->c, r, doing, err);
}

static char *
key_url (struct s3 *s, const char *key, const char *query)
{
        char *u = NULL;

        if (asprintf (&u, "%s/%s%s%s%s", s->key_prefix, s->prefix, key, query ? "?" : "", query ? query : "") < 0)
                return NULL;
        return u;
}

/* One request on key; r is filled. */
static int
s3_do (struct reg_conn *k, struct s3 *s, const char *method, const char *key, const char *query,
       struct reg_req *q, struct reg_resp *r, pgimg_error_t *err)
{
        cleanup_free char *url = key_url (s, key, query);

        if (url == NULL)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        q->method = method;
        q->url = url;
        if (q->what == NULL)
                q->what = key;
        return reg_request (k, q, r, err);
}

/* PUT bytes in memory to key. */
static int
put_bytes (struct reg_conn *k, struct s3 *s, const char *key, const char *data, size_t len, pgimg_error_t *err)
{
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret;

        q.has_body = 1;
        q.body = data;
        q.body_len = len;
        if (s3_do (k, s, "PUT", key, NULL, &q, &r, err) < 0)
                return -1;
        ret = r.status == 200 ? 0 : s3_error (s, &r, key, err);
        reg_resp_free (&r);
        return ret;
}

static int
get_bytes (struct reg_conn *k, struct s3 *s, const char *key, struct buf *out, int *missing, pgimg_error_t *err)
{
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        q.out = out;
        if (s3_do (k, s, "GET", key, NULL, &q, &r, err) < 0)
                return -1;
        if (r.status == 404 && missing != NULL)
                *missing = 1;
        else if (r.status != 200)
                ret = s3_error (s, &r, key, err);
        reg_resp_free (&r);
        return ret;
}

/* The text of <tag>...</tag> in an XML reply, malloc'ed, or NULL. */
static char *
xml_value (const struct buf *b, const char *tag)
{
        char open[64], close[64];
        const char *s, *e;

        snprintf (open, sizeof (open), "<%s>", tag);
        snprintf (close, sizeof (close), "</%s>", tag);
        if (b->data == NULL || (s = strstr (b->data, open)) == NULL)
                return NULL;
        s += strlen (open);
        if ((e = strstr (s, close)) == NULL)
                return NULL;
        return strndup (s, (size_t) (e - s));
}

/* ---- push ---- */

static int
blob_key (const char *digest, char key[96])
{
        return snprintf (key, 96, "blobs/sha256/%s", digest + 7);
}

static int
put_part (struct reg_conn *k, struct s3 *s, const struct reg_blob *b, const char *key, const char *upload_id,
          int part, uint64_t off, uint64_t len, struct buf *complete, pgimg_error_t *err)
{
        cleanup_free char *query = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (asprintf (&query, "partNumber=%d&uploadId=%s", part, upload_id) < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        q.has_body = 1;
        q.body_fd = b->fd;
        q.body_off = b->offset + off;
        q.body_len = len;
        if (s3_do (k, s, "PUT", key, query, &q, &r, err) < 0)
                return -1;
        if (r.status != 200 || r.etag == NULL)
                ret = s3_error (s, &r, key, err);
        else if (buf_addf (complete, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", part, r.etag) < 0)
                ret = pgimg_make_error (err, ENOMEM, "S3: out of memory");
        reg_resp_free (&r);
        return ret;
}

static void
abort_multipart (struct reg_conn *k, struct s3 *s, const char *key, const char *upload_id)
{
        cleanup_free char *query = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        pgimg_error_t ignored = NULL;

        if (asprintf (&query, "uploadId=%s", upload_id) < 0)
                return;
        q.has_body = 1;
        q.no_retry = 1;
        s3_do (k, s, "DELETE", key, query, &q, &r, &ignored);
        pgimg_error_free (&ignored);
        reg_resp_free (&r);
}

static int
complete_multipart (struct reg_conn *k, struct s3 *s, const char *key, const char *upload_id,
                    struct buf *complete, pgimg_error_t *err)
{
        cleanup_free char *query = NULL;
        cleanup_buf struct buf reply = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int ret = 0;

        if (asprintf (&query, "uploadId=%s", upload_id) < 0 || buf_adds (complete, "</CompleteMultipartUpload>") < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        q.has_body = 1;
        q.body = complete->data;
        q.body_len = complete->len;
        q.out = &reply;
        if (s3_do (k, s, "POST", key, query, &q, &r, err) < 0)
                return -1;
        /* S3 may answer 200 and put the error in the body. */
        if (r.status != 200 || (reply.data && strstr (reply.data, "<Error>"))) {
                if (r.s3_error == NULL)
                        r.s3_error = xml_value (&reply, "Code");
                ret = s3_error (s, &r, key, err);
        }
        reg_resp_free (&r);
        return ret;
}

static int
upload_multipart (struct reg_conn *k, struct s3 *s, const struct reg_blob *b, const char *key, pgimg_error_t *err)
{
        uint64_t part_bytes = s->c.opts->chunk_bytes ? s->c.opts->chunk_bytes : DEFAULT_PART_BYTES;
        cleanup_buf struct buf reply = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        cleanup_buf struct buf complete = BUF_INIT;
        cleanup_free char *upload_id = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        int part = 1, ret;

        if (part_bytes < MIN_PART_BYTES)
                part_bytes = MIN_PART_BYTES;
        while (b->size / part_bytes >= MAX_PARTS)
                part_bytes *= 2;
        q.has_body = 1;
        q.out = &reply;
        if (s3_do (k, s, "POST", key, "uploads=", &q, &r, err) < 0)
                return -1;
        if (r.status != 200 || (upload_id = xml_value (&reply, "UploadId")) == NULL) {
                ret = s3_error (s, &r, key, err);
                reg_resp_free (&r);
                return ret;
        }
        reg_resp_free (&r);
        if (buf_adds (&complete, "<CompleteMultipartUpload>") < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        for (uint64_t off = 0; off < b->size; off += part_bytes, part++) {
                uint64_t len = b->size - off < part_bytes ? b->size - off : part_bytes;
                if (put_part (k, s, b, key, upload_id, part, off, len, &complete, err) < 0) {
                        abort_multipart (k, s, key, upload_id);
                        return -1;
                }
        }
        if (complete_multipart (k, s, key, upload_id, &complete, err) < 0) {
                abort_multipart (k, s, key, upload_id);
                return -1;
        }
        return 0;
}

/* HEAD of key.  A refusal has no body to say why, so it is asked
 * again as a GET of one byte, whose error document names the cause
 * (SignatureDoesNotMatch, InvalidAccessKeyId). */
static int
s3_head (struct reg_conn *k, struct s3 *s, const char *key, struct reg_resp *r, pgimg_error_t *err)
{
        static const char *const one_byte[] = { "Range: bytes=0-0", NULL };
        cleanup_buf struct buf ignored = BUF_INIT_MAX (16);
        struct reg_req q = REG_REQ_INIT;

        if (s3_do (k, s, "HEAD", key, NULL, &q, r, err) < 0)
                return -1;
        if (r->status != 403 && r->status != 400)
                return 0;
        q = (struct reg_req) REG_REQ_INIT;
        q.headers = one_byte;
        q.out = &ignored;
        return s3_do (k, s, "GET", key, NULL, &q, r, err);
}

static int
push_blob (struct reg_conn *k, struct s3 *s, const struct reg_blob *b, pgimg_error_t *err)
{
        uint64_t threshold = s->c.opts->chunk_bytes ? s->c.opts->chunk_bytes : DEFAULT_PART_BYTES;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        char key[96];
        int ret = 0;

        blob_key (b->digest, key);
        if (s3_head (k, s, key, &r, err) < 0)
                return -1;
        if (r.status == 200) {
                reg_resp_free (&r);
                pthread_mutex_lock (&s->c.lock);
                s->present++;
                pthread_mutex_unlock (&s->c.lock);
                return 0;
        }
        if (r.status != 404)
                ret = s3_error (s, &r, key, err);
        reg_resp_free (&r);
        if (ret < 0)
                return -1;
        if (b->data == NULL && b->size > threshold && b->size > MIN_PART_BYTES) {
                ret = upload_multipart (k, s, b, key, err);
        } else {
                q = (struct reg_req) REG_REQ_INIT;
                q.has_body = 1;
                if (b->data != NULL) {
                        q.body = b->data;
                } else {
                        q.body_fd = b->fd;
                        q.body_off = b->offset;
                }
                q.body_len = b->size;
                if ((ret = s3_do (k, s, "PUT", key, NULL, &q, &r, err)) == 0 && r.status != 200)
                        ret = s3_error (s, &r, key, err);
                reg_resp_free (&r);
        }
        if (ret < 0)
                return -1;
        pthread_mutex_lock (&s->c.lock);
        s->uploaded++;
        pthread_mutex_unlock (&s->c.lock);
        progress_note ("pushed blob %s (%.1f MB)", b->digest, b->size / 1e6);
        return 0;
}

static int
s3_blob_job (void *ctx, size_t i, pgimg_error_t *err)
{
        struct s3 *s = ctx;
        cleanup_conn struct reg_conn *k = NULL;

        if (reg_conn_new (&s->c, &k, err) < 0)
                return -1;
        return push_blob (k, s, &s->img->blobs[i], err);
}

/* ---- setup ---- */

static void
s3_free (struct s3 *s)
{
        reg_client_free (&s->c);
        free (s->bucket);
        free (s->prefix);
        free (s->tag);
        free (s->key_prefix);
        free (s->host);
        free (s->region);
        free (s->access_key);
        if (s->secret_key)
                explicit_bzero (s->secret_key, strlen (s->secret_key));
        free (s->secret_key);
        free (s->session_token);
}

static int
s3_open (const char *url, const struct registry_opts *opts, struct s3 *s, pgimg_error_t *err)
{
        const char *endpoint = opts->s3_endpoint ? opts->s3_endpoint : getenv ("AWS_ENDPOINT_URL");
        cleanup_free char *what = NULL;
        char *base = NULL;
        const char *h;

        if (reg_s3_location_parse (url, &s->bucket, &s->prefix, &s->tag, err) < 0 || reg_s3_creds_lookup (s->bucket, &s->access_key, &s->secret_key, &s->session_token, &s->region, err) < 0)
                return -1;
        if (endpoint && *endpoint) {
                size_t n = strlen (endpoint);
                while (n > 0 && endpoint[n - 1] == '/')
                        n--;
                if (strncmp (endpoint, "http://", 7) != 0 && strncmp (endpoint, "https://", 8) != 0)
                        return pgimg_make_error (err, EINVAL, "--endpoint `%s`: want http://HOST:PORT or https://…", endpoint);
                if (strncmp (endpoint, "http://", 7) == 0 && !opts->insecure
                    && strncmp (endpoint, "http://127.", 11) != 0 && strncmp (endpoint, "http://localhost", 16) != 0)
                        return pgimg_make_error (err, EINVAL,
                                                 "--endpoint `%s` is plain HTTP: add --insecure to send requests unencrypted",
                                                 endpoint);
                base = strndup (endpoint, n);
                if (base == NULL || asprintf (&s->key_prefix, "/%s", s->bucket) < 0)
                        s->key_prefix = NULL;
        } else {
                if (asprintf (&base, "https://%s.s3.%s.amazonaws.com", s->bucket, s->region) < 0)
                        base = NULL;
                s->key_prefix = strdup ("");
        }
        if (base == NULL || s->key_prefix == NULL || asprintf (&what, "bucket %s", s->bucket) < 0) {
                free (base);
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        }
        h = strstr (base, "//") + 2;
        s->host = strndup (h, strcspn (h, "/"));
        /* Only the address of the client is used: TLS and retries stay. */
        if (reg_client_init (&s->c, s->host ? s->host : "", "", opts, err) < 0) {
                free (base);
                return -1;
        }
        reg_creds_free (&s->c.creds);
        free (s->c.base);
        s->c.base = base;
        s->c.what = NULL;
        s->c.sign = sign_v4;
        s->c.sign_ctx = s;
        return s->host == NULL ? pgimg_make_error (err, ENOMEM, "S3: out of memory") : 0;
}

static int
index_doc (const char *digest, const char *media_type, size_t size, char **out)
{
        cleanup_json json_t *j = json_pack ("{s:i,s:s,s:[{s:s,s:s,s:I}]}", "schemaVersion", 2, "mediaType",
                                            REG_MEDIA_OCI_INDEX, "manifests", "mediaType", media_type, "digest",
                                            digest, "size", (json_int_t) size);

        *out = j ? json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        return *out ? 0 : -1;
}

/* The payload and its signature as two objects, so that `cosign
 * verify-blob --signature <hex>.sig <hex>.json` checks them too.  A key
 * that will not do was refused by reg_push_image before any request. */
static int
s3_put_signature (struct reg_conn *k, struct s3 *s, const char *digest, const char *key_path, pgimg_error_t *err)
{
        cleanup_free char *identity = NULL, *payload = NULL, *sig = NULL;
        char key[112];

        if (asprintf (&identity, "s3://%s/%s", s->bucket, s->prefix) < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        if (reg_cosign_sign_blob (identity, digest, key_path, &payload, &sig, err) < 0)
                return -1;
        snprintf (key, sizeof (key), "signatures/%s.json", store_digest_hex (digest));
        if (put_bytes (k, s, key, payload, strlen (payload), err) < 0)
                return -1;
        snprintf (key, sizeof (key), "signatures/%s.sig", store_digest_hex (digest));
        return put_bytes (k, s, key, sig, strlen (sig), err);
}

int
reg_s3_push (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
             struct registry_stats *st, pgimg_error_t *err)
{
        struct s3 s = { .img = img };
        cleanup_conn struct reg_conn *k = NULL;
        cleanup_free char *index = NULL, *tag_key = NULL, *what = NULL;
        char key[96];
        int r;

        r = s3_open (dest, opts, &s, err);
        if (r == 0 && asprintf (&what, "bucket %s", s.bucket) < 0)
                r = pgimg_make_error (err, ENOMEM, "S3: out of memory");
        s.c.what = what;
        if (r == 0)
                r = reg_parallel (img->n_blobs, opts->jobs, s3_blob_job, &s, err);
        if (r == 0)
                r = reg_conn_new (&s.c, &k, err);
        /* An index: each platform's manifest before the index naming them. */
        for (size_t i = 0; r == 0 && i < img->n_platforms; i++) {
                const struct reg_image *m = &img->platforms[i];
                blob_key (m->manifest_digest, key);
                r = put_bytes (k, &s, key, m->manifest, m->manifest_len, err);
        }
        blob_key (img->manifest_digest, key);
        if (r == 0)
                r = put_bytes (k, &s, key, img->manifest, img->manifest_len, err);
        if (r == 0 && opts->sign_key)
                r = s3_put_signature (k, &s, img->manifest_digest, opts->sign_key, err);
        if (r == 0 && (index_doc (img->manifest_digest, img->manifest_media_type, img->manifest_len, &index) < 0
                       || asprintf (&tag_key, "manifests/%s", s.tag) < 0))
                r = pgimg_make_error (err, ENOMEM, "S3: out of memory");
        if (r == 0)
                r = put_bytes (k, &s, tag_key, index, strlen (index), err);
        for (const char *const *t = opts->extra_tags; r == 0 && t && *t; t++) {
                free (tag_key);
                if (asprintf (&tag_key, "manifests/%s", *t) < 0)
                        tag_key = NULL;
                r = tag_key ? put_bytes (k, &s, tag_key, index, strlen (index), err)
                            : pgimg_make_error (err, ENOMEM, "S3: out of memory");
        }
        st->blobs = (unsigned) img->n_blobs;
        st->blobs_present = s.present;
        st->blobs_uploaded = s.uploaded;
        st->bytes_uploaded = s.c.bytes_sent;
        k = (k ? (reg_conn_free (k), NULL) : NULL);
        s3_free (&s);
        return r;
}

/* ---- pull ---- */

struct s3_fetch {
        struct s3 *s;
        struct reg_conn *k;
        const struct reg_manifest *m;
        const char *blob_dir;
};

static int
fetch_blob (void *ctx, const struct reg_desc *d, int fd, struct sha256 *h, uint64_t *written, pgimg_error_t *err)
{
        struct s3_fetch *f = ctx;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        char key[96];
        int ret;

        blob_key (d->digest, key);
        q.out_fd = fd;
        q.out_hash = h;
        q.out_written = *written;
        ret = s3_do (f->k, f->s, "GET", key, NULL, &q, &r, err);
        pthread_mutex_lock (&f->s->c.lock);
        f->s->c.bytes_received += q.out_written - *written;
        pthread_mutex_unlock (&f->s->c.lock);
        *written = q.out_written;
        if (ret == 0 && r.status != 200 && r.status != 206)
                ret = s3_error (f->s, &r, key, err);
        reg_resp_free (&r);
        return ret;
}

static int
s3_pull_job (void *ctx, size_t i, pgimg_error_t *err)
{
        struct s3_fetch f = *(struct s3_fetch *) ctx;
        cleanup_conn struct reg_conn *k = NULL;
        const struct reg_desc *d = i == 0 ? &f.m->config : &f.m->layers[i - 1];

        if (reg_conn_new (&f.s->c, &k, err) < 0)
                return -1;
        f.k = k;
        return reg_store_blob (f.blob_dir, d, fetch_blob, &f, err);
}

static int
check_signature (struct reg_conn *k, struct s3 *s, const char *digest, const char *const *keys, pgimg_error_t *err)
{
        cleanup_buf struct buf payload = BUF_INIT_MAX (REG_MAX_SIG_LAYER_BYTES);
        cleanup_buf struct buf sig = BUF_INIT_MAX (4096);
        char key[112], other[72];
        int missing = 0, n, r;

        if (reg_keys_check (keys, &n, err) < 0)
                return -1;
        snprintf (key, sizeof (key), "signatures/%s.json", store_digest_hex (digest));
        if (get_bytes (k, s, key, &payload, &missing, err) < 0)
                return -1;
        snprintf (key, sizeof (key), "signatures/%s.sig", store_digest_hex (digest));
        if (!missing && get_bytes (k, s, key, &sig, &missing, err) < 0)
                return -1;
        if (missing)
                return pgimg_make_error (err, EPERM, "manifest %s in bucket %s is not signed; refused (push it with --sign-key)",
                                         digest, s->bucket);
        while (sig.len > 0 && (sig.data[sig.len - 1] == '\n' || sig.data[sig.len - 1] == '\r'))
                sig.data[--sig.len] = '\0';    /* as a text file may end */
        r = reg_cosign_check (keys, payload.data ? payload.data : "", payload.len, sig.data ? sig.data : "", digest,
                              other, err);
        return r == REG_SIG_OK ? 0 : reg_cosign_refusal (r, key, digest, other, n, err);
}

/* The object blobs/sha256/<hex> of descriptor d into m, checked
 * against d's digest before anything reads it. */
static int
get_checked (struct reg_conn *k, struct s3 *s, const struct reg_desc *d, struct buf *m, pgimg_error_t *err)
{
        char key[96], hex[SHA256_HEX_LEN + 1];

        blob_key (d->digest, key);
        buf_reset (m);
        if (get_bytes (k, s, key, m, NULL, err) < 0 || sha256_buf_hex (m->data ? m->data : "", m->len, hex, err) < 0)
                return -1;
        if (strcmp (hex, d->digest + 7) != 0)
                return pgimg_make_error (err, EIO, "bucket %s: manifest %s has digest sha256:%s; refused", s->bucket,
                                         d->digest, hex);
        return 0;
}

/* From manifests/<tag> to the image manifest: d is what the tag names
 * (top, whose signature a pull checks), and when that is an image
 * index, stored in blob_dir, its linux/amd64 manifest (as a registry
 * pull picks it) is fetched and checked as well.  *d ends as the
 * manifest's descriptor and m holds its bytes. */
static int
s3_fetch_manifest (struct reg_conn *k, struct s3 *s, const char *blob_dir, struct buf *m, struct reg_desc *d,
                   char top[72], pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        cleanup_free char *tag_key = NULL, *media_type = NULL;
        int missing = 0;

        if (asprintf (&tag_key, "manifests/%s", s->tag) < 0)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        if (get_bytes (k, s, tag_key, &index, &missing, err) < 0)
                return -1;
        if (missing)
                return pgimg_make_error (err, ENOENT, "bucket %s has no %s%s", s->bucket, s->prefix, tag_key);
        if (reg_index_pick (index.data, index.len, d, err) < 0)
                return pgimg_error_wrap (err, "bucket %s: %s", s->bucket, tag_key);
        if (get_checked (k, s, d, m, err) < 0)
                return -1;
        strcpy (top, d->digest);
        media_type = reg_json_media_type (m->data, m->len);
        if (!reg_media_is_index (media_type))
                return 0;
        if (reg_store_bytes (blob_dir, d->digest, m->data, m->len, err) < 0)
                return -1;
        reg_desc_free (d);
        if (reg_index_pick (m->data, m->len, d, err) < 0)
                return pgimg_error_wrap (err, "bucket %s: image index %s", s->bucket, top);
        return get_checked (k, s, d, m, err);
}

int
reg_s3_pull (const char *src, const char *cache_dir, const char *out_path, const struct registry_opts *opts,
             struct registry_stats *st, pgimg_error_t *err)
{
        struct s3 s = { 0 };
        cleanup_conn struct reg_conn *k = NULL;
        cleanup_buf struct buf m = BUF_INIT_MAX (REG_MAX_MANIFEST_BYTES);
        cleanup_free char *blob_dir = NULL, *what = NULL, *refname = NULL;
        struct reg_manifest man = { 0 };
        struct reg_desc d = { 0 };
        char top[72] = "";
        int r;

        r = s3_open (src, opts, &s, err);
        if (r == 0 && (asprintf (&what, "bucket %s", s.bucket) < 0
                       || asprintf (&refname, "s3/%s/%s%s", s.bucket, s.prefix, s.tag) < 0))
                r = pgimg_make_error (err, ENOMEM, "S3: out of memory");
        s.c.what = what;
        if (r == 0)
                r = layer_cache_blob_dir (cache_dir, &blob_dir, err);
        if (r == 0)
                r = reg_conn_new (&s.c, &k, err);
        if (r == 0)
                r = s3_fetch_manifest (k, &s, blob_dir, &m, &d, top, err);
        /* Signed is what the tag names, as for a registry: an index pins
         * the manifest picked from it. */
        if (r == 0 && opts->trusted_keys)
                r = check_signature (k, &s, top, opts->trusted_keys, err);
        if (r == 0)
                r = reg_manifest_parse (m.data, m.len, &man, err);
        if (r == 0) {
                struct s3_fetch f = { .s = &s, .m = &man, .blob_dir = blob_dir };
                r = reg_parallel (opts->config_only ? 1 : man.n_layers + 1, opts->jobs, s3_pull_job, &f, err);
        }
        if (r == 0)
                r = reg_store_bytes (blob_dir, d.digest, m.data, m.len, err);
        if (r == 0)
                r = reg_record_ref (cache_dir, refname, d.digest, err);
        if (r == 0 && out_path)
                r = oci_write_stored (blob_dir, d.digest, "pgimg/pulled:latest", out_path, err);
        strcpy (st->manifest_digest, r == 0 ? d.digest : "");
        st->blobs = (unsigned) (man.n_layers + 1);
        st->bytes_downloaded = s.c.bytes_received;
        reg_manifest_free (&man);
        reg_desc_free (&d);
        k = (k ? (reg_conn_free (k), NULL) : NULL);
        s3_free (&s);
        return r;
}
