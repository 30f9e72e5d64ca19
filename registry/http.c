/* http.c - one registry request: auth, bounded retries, backoff.
 *
 * Requests go through common/http, which holds the transport, TLS and
 * retry policy.  Each thread has its own connection (struct reg_conn),
 * so that connections are kept alive between the requests of one blob;
 * what they share (the current Authorization header, byte counters)
 * sits in struct reg_client under its mutex.  Messages name the
 * registry, never a credential or a full URL (upload URLs carry state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/internal.h"

#define ERROR_BODY_MAX 65536

struct reg_conn {
        struct reg_client *c;
        struct http_conn *h;
};

int
reg_client_init (struct reg_client *c, const char *domain, const char *what,
                 const struct registry_opts *opts, pgimg_error_t *err)
{
        const char *host = strcmp (domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
        int insecure = opts->insecure || reg_named_insecure (domain);

        memset (c, 0, sizeof (*c));
        c->opts = opts;
        c->what = what;
        c->host = domain;
        c->retries = opts->retries < 0 ? 4 : opts->retries;
        if (pthread_mutex_init (&c->lock, NULL) != 0)
                return pgimg_make_error (err, ENOMEM, "%s: cannot create a lock", what);
        if (asprintf (&c->base, "%s://%s", insecure ? "http" : "https", host) < 0) {
                c->base = NULL;
                reg_client_free (c);
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", what);
        }
        if (reg_creds_lookup (domain, &c->creds, err) < 0) {
                reg_client_free (c);
                return pgimg_error_wrap (err, "%s: credentials", what);
        }
        return 0;
}

void
reg_client_free (struct reg_client *c)
{
        if (c->base == NULL && c->what == NULL)
                return;
        reg_creds_free (&c->creds);
        free (c->base);
        free (c->scope);
        if (c->auth_header)
                explicit_bzero (c->auth_header, strlen (c->auth_header));
        free (c->auth_header);
        pthread_mutex_destroy (&c->lock);
        memset (c, 0, sizeof (*c));
}

int
reg_conn_new (struct reg_client *c, struct reg_conn **out, pgimg_error_t *err)
{
        struct reg_conn *k = calloc (1, sizeof (*k));

        if (k == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        if (http_conn_new (&k->h, err) < 0) {
                free (k);
                return pgimg_error_wrap (err, "%s", c->what);
        }
        k->c = c;
        *out = k;
        return 0;
}

void
reg_conn_free (struct reg_conn *k)
{
        http_conn_free (k->h);
        free (k);
}

void
reg_resp_free (struct reg_resp *r)
{
        free (r->location);
        free (r->digest);
        free (r->range);
        free (r->content_type);
        free (r->etag);
        free (r->www_authenticate);
        free (r->s3_error);
        memset (r, 0, sizeof (*r));
}

void
reg_backoff (int retry, long retry_after_s)
{
        http_backoff (retry, retry_after_s);
}

/* The state of one attempt, seen by common/http's callbacks. */
struct xfer {
        struct reg_conn *k;
        struct reg_req *q;
        struct reg_resp *r;
        uint64_t resume_from;           /* Range asked for, or 0 */
        int sink_checked;
        struct buf error_body;          /* of a reply >= 300 */
};

/* The first bytes of a download decide where they go: an error reply to
 * error_body; a full reply (200) to a resumed download starts over. */
static int
check_sink (struct xfer *x, long status, pgimg_error_t *err)
{
        struct reg_req *q = x->q;

        x->sink_checked = 1;
        if (status >= 300 || q->out_fd < 0 || x->resume_from == 0 || status == 206)
                return 0;
        if (ftruncate (q->out_fd, 0) < 0 || lseek (q->out_fd, 0, SEEK_SET) < 0)
                return pgimg_make_error_errno (err, errno, "restarting %s", q->what);
        q->out_written = 0;
        if (q->out_hash) {
                sha256_free (q->out_hash);
                if (sha256_init (q->out_hash, err) < 0)
                        return -1;
        }
        return 0;
}

static int
on_data (void *ctx, long status, const char *data, size_t n, pgimg_error_t *err)
{
        struct xfer *x = ctx;
        struct reg_req *q = x->q;

        if (!x->sink_checked && check_sink (x, status, err) < 0)
                return -1;
        if (status >= 300) {
                if (x->error_body.len + n <= ERROR_BODY_MAX)
                        buf_add (&x->error_body, data, n);
                return 0;
        }
        if (q->out_fd >= 0) {
                if (q->out_hash && sha256_update (q->out_hash, data, n, err) < 0)
                        return -1;
                if (fs_write_all (q->out_fd, data, n) < 0)
                        return pgimg_make_error_errno (err, errno, "writing %s", q->what);
                q->out_written += n;
        } else if (q->out != NULL && buf_add (q->out, data, n) < 0) {
                return pgimg_make_error (err, EFBIG, "%s: the reply to %s is larger than %zu bytes",
                                         x->k->c->what, q->what ? q->what : "a request", q->out->max);
        }
        return 0;
}

static int
keep_header (char **slot, const char *value, size_t len)
{
        free (*slot);
        *slot = strndup (value, len);
        return *slot == NULL ? -1 : 0;
}

static int
on_header (void *ctx, const char *name, size_t name_len, const char *v, size_t len, pgimg_error_t *err)
{
        struct xfer *x = ctx;
        char **slot = NULL;

        if (name == NULL) {
                /* A new response (after 100 Continue or a redirect). */
                reg_resp_free (x->r);
                return 0;
        }
#define IS(h) (name_len == sizeof (h) - 1 && strncasecmp (name, h, name_len) == 0)
        if (IS ("Location"))
                slot = &x->r->location;
        else if (IS ("Docker-Content-Digest"))
                slot = &x->r->digest;
        else if (IS ("Range"))
                slot = &x->r->range;
        else if (IS ("Content-Type"))
                slot = &x->r->content_type;
        else if (IS ("ETag"))
                slot = &x->r->etag;
        else if (IS ("WWW-Authenticate"))
                slot = &x->r->www_authenticate;
#undef IS
        if (slot != NULL && keep_header (slot, v, len) < 0)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", x->k->c->what);
        return 0;
}

/* One transfer of q to url with exactly these headers; the reply's
 * headers and body go where q says.  What common/http returns. */
static int
transfer (struct xfer *x, const char *url, const struct http_headers *headers, struct http_result *hr,
          pgimg_error_t *err)
{
        const struct registry_opts *o = x->k->c->opts;
        struct reg_req *q = x->q;
        struct http_req h = HTTP_REQ_INIT;

        h.method = q->method;
        h.url = url;
        h.headers = headers;
        h.body = q->body;
        h.body_len = q->has_body ? q->body_len : 0;
        h.body_fd = q->body_fd;
        h.body_off = q->body_off;
        h.on_header = on_header;
        h.on_data = on_data;
        h.ctx = x;
        /* Blobs are often served by a redirect to storage. */
        h.follow_redirects = 1;
        h.ca_file = o->ca_file;
        h.rate_bytes_per_s = o->rate_bytes_per_s;
        return http_perform (x->k->h, &h, hr, err);
}

/* The error when no answer came: what common/http said (err's
 * message), put in the registry's words. */
static int
transport_error (struct reg_client *c, const struct http_result *hr, const char *what, int tries,
                 pgimg_error_t *err)
{
        cleanup_free char *why = NULL;
        int status = EIO;

        if (*err != NULL) {
                status = (*err)->status ? (*err)->status : EIO;
                why = steal_pointer (&(*err)->msg);
                pgimg_error_free (err);
        }
        if (why == NULL && (why = strdup ("no answer")) == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        if (hr->failure == HTTP_FAIL_TLS)
                return pgimg_make_error (err, status,
                                         "TLS with %s failed: %s; give its CA with --ca-file, or use "
                                         "--insecure for a plain-HTTP registry",
                                         c->what, why);
        if (hr->failure == HTTP_FAIL_CONNECT)
                return pgimg_make_error (err, status,
                                         "cannot reach %s (%d attempt%s): %s; is it running and is the "
                                         "address right?",
                                         c->what, tries, tries == 1 ? "" : "s", why);
        return pgimg_make_error (err, status,
                                 "%s dropped the connection during %s (%d attempt%s): %s; run the same "
                                 "command again to resume",
                                 c->what, what, tries, tries == 1 ? "" : "s", why);
}

static int
login_error (struct reg_client *c, pgimg_error_t *err)
{
        if (c->creds.user != NULL)
                return pgimg_make_error (err, EACCES, "login refused by %s: check %s", c->what,
                                         c->creds.source);
        return pgimg_make_error (err, EACCES,
                                 "%s asks for a login: set PGIMG_REGISTRY_USER and "
                                 "PGIMG_REGISTRY_PASSWORD, or run `docker login %s`",
                                 c->what, c->host);
}

/* The token URL of a Bearer challenge: realm?service=…&scope=…. */
static int
token_url (struct reg_client *c, const struct reg_challenge *ch, struct buf *url)
{
        const char *scopes[2] = { c->scope, ch->scope };
        int oom = buf_adds (url, ch->realm) < 0 || buf_adds (url, strchr (ch->realm, '?') ? "&" : "?") < 0;

        if (ch->service && !oom) {
                cleanup_free char *e = http_escape (ch->service);
                oom = e == NULL || buf_addf (url, "service=%s", e) < 0;
        }
        for (int i = 0; i < 2 && !oom; i++) {
                cleanup_free char *e = NULL;
                if (scopes[i] == NULL || (i == 1 && scopes[0] && strcmp (scopes[0], scopes[1]) == 0))
                        continue;
                e = http_escape (scopes[i]);
                oom = e == NULL || buf_addf (url, "&scope=%s", e) < 0;
        }
        return oom ? -1 : 0;
}

/* "Authorization: Basic …" for c's credentials, malloc'ed; NULL on
 * ENOMEM.  The caller zeroes it before freeing. */
static char *
basic_header (struct reg_client *c)
{
        cleanup_free char *userpass = NULL, *b = NULL;
        char *line = NULL;

        if (asprintf (&userpass, "%s:%s", c->creds.user, c->creds.password) < 0)
                return NULL;
        if ((b = reg_base64 (userpass, strlen (userpass))) != NULL
            && asprintf (&line, "Authorization: Basic %s", b) < 0)
                line = NULL;
        explicit_bzero (userpass, strlen (userpass));
        if (b)
                explicit_bzero (b, strlen (b));
        return line;
}

/* GET the token of a Bearer challenge: {"token" or "access_token",
 * "expires_in"}.  The credentials go with it only where reg_realm_check
 * allows.  Runs with c->lock held. */
static int
fetch_token (struct reg_conn *k, const struct reg_challenge *ch, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        cleanup_buf struct buf url = BUF_INIT;
        cleanup_buf struct buf body = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        cleanup_http_headers struct http_headers headers = HTTP_HEADERS_INIT;
        cleanup_free char *token = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        struct xfer x = { .k = k, .q = &q, .r = &r };
        struct http_result hr;
        long expires;
        int ret;

        if (token_url (c, ch, &url) < 0)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        if (c->creds.user != NULL) {
                if (reg_realm_check (c->opts, c->what, ch->realm, err) < 0)
                        return -1;
                cleanup_free char *basic = basic_header (c);
                int oom = basic == NULL || http_headers_add (&headers, basic) < 0;
                if (basic)
                        explicit_bzero (basic, strlen (basic));
                if (oom)
                        return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        }
        q.method = "GET";
        q.out = &body;
        q.what = "the token request";
        ret = transfer (&x, url.data, &headers, &hr, err);
        buf_release (&x.error_body);
        reg_resp_free (&r);
        if (ret < 0)
                return hr.failure == HTTP_FAIL_CALLBACK ? -1 : transport_error (c, &hr, q.what, 1, err);
        if (hr.status == 401 || hr.status == 403)
                return login_error (c, err);
        if (hr.status != 200)
                return pgimg_make_error (err, EIO, "the token server of %s answered HTTP %ld", c->what,
                                         hr.status);
        if (reg_token_parse (body.data ? body.data : "", body.len, &token, &expires, err) < 0)
                return pgimg_error_wrap (err, "the token server of %s", c->what);
        free (c->auth_header);
        if (asprintf (&c->auth_header, "Authorization: Bearer %s", token) < 0) {
                c->auth_header = NULL;
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        }
        /* Ask again a little before the token expires rather than after. */
        c->auth_expires = time (NULL) + (expires > 10 ? expires - 5 : expires);
        return 0;
}

static int
use_basic (struct reg_client *c, pgimg_error_t *err)
{
        char *basic;

        if (c->creds.user == NULL)
                return login_error (c, err);
        if ((basic = basic_header (c)) == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        if (c->auth_header)
                explicit_bzero (c->auth_header, strlen (c->auth_header));
        free (c->auth_header);
        c->auth_header = basic;
        c->auth_expires = 0;
        return 0;
}

/* Answer a 401: a new Authorization header, unless another thread made
 * one since this request read it (generation). */
static int
authenticate (struct reg_conn *k, const char *challenge, unsigned generation, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        struct reg_challenge ch;
        int r = 0;

        pthread_mutex_lock (&c->lock);
        if (c->auth_generation != generation)
                goto out;
        if (challenge == NULL) {
                r = pgimg_make_error (err, EACCES, "%s answered 401 without saying how to log in", c->what);
                goto out;
        }
        if ((r = reg_challenge_parse (challenge, &ch, err)) < 0) {
                pgimg_error_wrap (err, "%s", c->what);
                goto out;
        }
        r = ch.bearer ? fetch_token (k, &ch, err) : use_basic (c, err);
        reg_challenge_free (&ch);
        if (r == 0)
                c->auth_generation++;
out:
        pthread_mutex_unlock (&c->lock);
        return r;
}

/* The request's headers.  Credentials (the Authorization header, an S3
 * signature) go only to the registry's own origin, whose scheme the user
 * chose; a Location elsewhere gets none (as Docker does). */
static int
build_headers (struct reg_conn *k, struct reg_req *q, const char *url, uint64_t resume_from,
               struct http_headers *out, unsigned *generation, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        int own = reg_same_origin (c->base, url);
        int oom = 0;

        for (const char *const *h = q->headers; h && *h && !oom; h++)
                oom = http_headers_add (out, *h) < 0;
        if (resume_from > 0 && !oom) {
                char range[64];
                snprintf (range, sizeof (range), "Range: bytes=%llu-", (unsigned long long) resume_from);
                oom = http_headers_add (out, range) < 0;
        }
        pthread_mutex_lock (&c->lock);
        *generation = c->auth_generation;
        if (c->auth_header && c->auth_expires && time (NULL) >= c->auth_expires) {
                /* Expired: the next 401 fetches a new one. */
                free (c->auth_header);
                c->auth_header = NULL;
        }
        if (c->auth_header && own && !oom)
                oom = http_headers_add (out, c->auth_header) < 0;
        pthread_mutex_unlock (&c->lock);
        if (oom)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        if (c->sign != NULL && own && c->sign (c, q, out, err) < 0)
                return -1;
        return 0;
}

/* <Code>...</Code> of an S3 error document. */
static char *
s3_error_code (const struct buf *b)
{
        const char *s, *e;

        if (b->data == NULL || (s = strstr (b->data, "<Code>")) == NULL)
                return NULL;
        s += 6;
        if ((e = strstr (s, "</Code>")) == NULL || e - s > 128)
                return NULL;
        return strndup (s, (size_t) (e - s));
}

static int
absolute_location (struct reg_client *c, struct reg_resp *r)
{
        char *abs = NULL;

        if (r->location == NULL || strncmp (r->location, "http://", 7) == 0
            || strncmp (r->location, "https://", 8) == 0)
                return 0;
        if (asprintf (&abs, "%s%s%s", c->base, r->location[0] == '/' ? "" : "/", r->location) < 0)
                return -1;
        free (r->location);
        r->location = abs;
        return 0;
}

/* One attempt.  0 with r filled when an HTTP answer came; -1 when none
 * came (hr says why, *err has the words); -2 when it is not worth a
 * retry (the disk, memory, signing). */
static int
attempt (struct reg_conn *k, struct reg_req *q, struct reg_resp *r, const char *url,
         unsigned *generation, struct http_result *hr, pgimg_error_t *err)
{
        cleanup_http_headers struct http_headers headers = HTTP_HEADERS_INIT;
        struct reg_client *c = k->c;
        struct xfer x = { .k = k, .q = q, .r = r, .resume_from = q->out_fd >= 0 ? q->out_written : 0 };
        int ret;

        memset (hr, 0, sizeof (*hr));
        reg_resp_free (r);
        if (build_headers (k, q, url, x.resume_from, &headers, generation, err) < 0)
                return -2;
        ret = transfer (&x, url, &headers, hr, err);
        if (q->body_fd >= 0 && hr->bytes_sent > 0) {
                pthread_mutex_lock (&c->lock);
                c->bytes_sent += hr->bytes_sent;
                pthread_mutex_unlock (&c->lock);
        }
        if (ret < 0) {
                buf_release (&x.error_body);
                return hr->failure == HTTP_FAIL_CALLBACK ? -2 : -1;
        }
        r->status = hr->status;
        r->s3_error = s3_error_code (&x.error_body);
        buf_release (&x.error_body);
        if (absolute_location (c, r) < 0) {
                pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
                return -2;
        }
        return 0;
}

static int
request_with_retries (struct reg_conn *k, struct reg_req *q, struct reg_resp *r, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        cleanup_free char *url = NULL;
        const char *what = q->what ? q->what : q->method;
        int auth_rounds = 0;

        if (strncmp (q->url, "http://", 7) == 0 || strncmp (q->url, "https://", 8) == 0)
                url = strdup (q->url);
        else if (asprintf (&url, "%s%s", c->base, q->url) < 0)
                url = NULL;
        if (url == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        for (int retry = 0;;) {
                unsigned generation = 0;
                struct http_result hr;
                int a = attempt (k, q, r, url, &generation, &hr, err);

                if (a == -2)
                        return -1;
                if (a < 0) {
                        if (!http_retry_worthwhile (&hr, 0) || q->no_retry || retry >= c->retries)
                                return transport_error (c, &hr, what, retry + 1, err);
                        pgimg_error_free (err);
                        http_backoff (retry++, 0);
                        continue;
                }
                if (r->status == 401 && c->sign == NULL && !reg_same_origin (c->base, url))
                        return pgimg_make_error (err, EACCES,
                                                 "%s sent %s to another server that asks for a login; "
                                                 "pgimg sends credentials only to the registry itself",
                                                 c->what, what);
                if (r->status == 401 && c->sign == NULL) {
                        if (++auth_rounds > 2)
                                return login_error (c, err);
                        if (authenticate (k, r->www_authenticate, generation, err) < 0)
                                return -1;
                        continue;
                }
                if (http_status_transient (r->status) && !q->no_retry && retry < c->retries) {
                        http_backoff (retry++, hr.retry_after_s);
                        continue;
                }
                return 0;
        }
}

int
reg_request (struct reg_conn *k, struct reg_req *q, struct reg_resp *r, pgimg_error_t *err)
{
        int ret = request_with_retries (k, q, r, err);

        /* The caller frees r only when an answer came. */
        if (ret < 0)
                reg_resp_free (r);
        return ret;
}

int
reg_status_error (struct reg_client *c, const struct reg_resp *r, const char *doing, pgimg_error_t *err)
{
        if (r->status == 403)
                return pgimg_make_error (err, EACCES,
                                         "%s refused %s (HTTP 403): the account may not do this here",
                                         c->what, doing);
        if (r->status >= 500 || r->status == 429)
                return pgimg_make_error (err, EIO, "%s answered HTTP %ld to %s after %d retries; try again later",
                                         c->what, r->status, doing, c->retries);
        if (r->s3_error)
                return pgimg_make_error (err, EIO, "%s answered HTTP %ld (%s) to %s", c->what, r->status,
                                         r->s3_error, doing);
        return pgimg_make_error (err, EIO, "%s answered HTTP %ld to %s", c->what, r->status, doing);
}
