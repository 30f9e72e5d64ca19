/* http.c - one registry request: auth, bounded retries, backoff.
 *
 * Each thread has its own libcurl handle (struct reg_conn), so that
 * connections are kept alive between the requests of one blob; what
 * they share (the current Authorization header, byte counters) sits in
 * struct reg_client under its mutex.  Errors from libcurl are converted
 * here and name the registry, never a credential or a full URL (upload
 * URLs carry state).
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

#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 30L
#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 8000L
#define RETRY_AFTER_MAX_S 30L
#define ERROR_BODY_MAX 65536

struct reg_conn {
        struct reg_client *c;
        CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
        curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static inline void
cleanup_slistp (struct curl_slist **l)
{
        curl_slist_free_all (*l);
}
#define cleanup_slist __attribute__ ((cleanup (cleanup_slistp)))

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
        pthread_once (&curl_once, curl_init_once);
        if (curl_init_code != CURLE_OK)
                return pgimg_make_error (err, EIO, "libcurl: %s", curl_easy_strerror (curl_init_code));
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

        if (k == NULL || (k->curl = curl_easy_init ()) == NULL) {
                free (k);
                return pgimg_make_error (err, ENOMEM, "%s: cannot create a libcurl handle", c->what);
        }
        k->c = c;
        *out = k;
        return 0;
}

void
reg_conn_free (struct reg_conn *k)
{
        curl_easy_cleanup (k->curl);
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
        long ms = BACKOFF_FIRST_MS << (retry < 5 ? retry : 5);
        struct timespec ts;

        if (ms > BACKOFF_MAX_MS)
                ms = BACKOFF_MAX_MS;
        if (retry_after_s > 0 && retry_after_s <= RETRY_AFTER_MAX_S && retry_after_s * 1000 > ms)
                ms = retry_after_s * 1000;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000L;
        while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* The state of one attempt, seen by libcurl's callbacks. */
struct xfer {
        struct reg_conn *k;
        struct reg_req *q;
        struct reg_resp *r;
        uint64_t body_pos;
        uint64_t resume_from;           /* Range asked for, or 0 */
        int sink_checked;
        struct buf error_body;          /* of a reply >= 300 */
        pgimg_error_t err;              /* why a callback stopped the transfer */
};

static size_t
on_read (char *dst, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        uint64_t left = x->q->body_len - x->body_pos;
        size_t n = size * nmemb;

        if (n > left)
                n = (size_t) left;
        if (n == 0)
                return 0;
        if (x->q->body_fd < 0) {
                memcpy (dst, (const char *) x->q->body + x->body_pos, n);
        } else {
                ssize_t got;
                do
                        got = pread (x->q->body_fd, dst, n, (off_t) (x->q->body_off + x->body_pos));
                while (got < 0 && errno == EINTR);
                if (got <= 0) {
                        pgimg_make_error_errno (&x->err, got < 0 ? errno : EIO, "reading %s",
                                                x->q->what ? x->q->what : "the request body");
                        return CURL_READFUNC_ABORT;
                }
                n = (size_t) got;
        }
        x->body_pos += n;
        return n;
}

static int
on_seek (void *userdata, curl_off_t offset, int origin)
{
        struct xfer *x = userdata;

        if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > x->q->body_len)
                return CURL_SEEKFUNC_CANTSEEK;
        x->body_pos = (uint64_t) offset;
        return CURL_SEEKFUNC_OK;
}

/* The first bytes of a download decide where they go: an error reply to
 * error_body; a full reply (200) to a resumed download starts over. */
static int
check_sink (struct xfer *x, long status)
{
        struct reg_req *q = x->q;

        x->sink_checked = 1;
        if (status >= 300 || q->out_fd < 0 || x->resume_from == 0 || status == 206)
                return 0;
        if (ftruncate (q->out_fd, 0) < 0 || lseek (q->out_fd, 0, SEEK_SET) < 0)
                return pgimg_make_error_errno (&x->err, errno, "restarting %s", q->what);
        q->out_written = 0;
        if (q->out_hash) {
                sha256_free (q->out_hash);
                if (sha256_init (q->out_hash, &x->err) < 0)
                        return -1;
        }
        return 0;
}

static size_t
on_write (char *data, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        struct reg_req *q = x->q;
        size_t n = size * nmemb;
        long status = 0;

        curl_easy_getinfo (x->k->curl, CURLINFO_RESPONSE_CODE, &status);
        if (!x->sink_checked && check_sink (x, status) < 0)
                return 0;
        if (status >= 300) {
                if (x->error_body.len + n <= ERROR_BODY_MAX)
                        buf_add (&x->error_body, data, n);
                return n;
        }
        if (q->out_fd >= 0) {
                if (q->out_hash && sha256_update (q->out_hash, data, n, &x->err) < 0)
                        return 0;
                if (fs_write_all (q->out_fd, data, n) < 0) {
                        pgimg_make_error_errno (&x->err, errno, "writing %s", q->what);
                        return 0;
                }
                q->out_written += n;
        } else if (q->out != NULL && buf_add (q->out, data, n) < 0) {
                pgimg_make_error (&x->err, EFBIG, "%s: the reply to %s is larger than %zu bytes",
                                  x->k->c->what, q->what ? q->what : "a request", q->out->max);
                return 0;
        }
        return n;
}

static int
keep_header (char **slot, const char *value, size_t len)
{
        free (*slot);
        *slot = strndup (value, len);
        return *slot == NULL ? -1 : 0;
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        size_t n = size * nmemb, name_len, len;
        const char *colon, *v;
        char **slot = NULL;

        if (n >= 5 && strncmp (data, "HTTP/", 5) == 0) {
                /* A new response (after 100 Continue or a redirect). */
                struct reg_resp *r = x->r;
                reg_resp_free (r);
                return n;
        }
        colon = memchr (data, ':', n);
        if (colon == NULL || n > REG_MAX_HEADER_BYTES)
                return n;
        name_len = (size_t) (colon - data);
        v = colon + 1;
        while (v < data + n && (*v == ' ' || *v == '\t'))
                v++;
        len = (size_t) (data + n - v);
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
                len--;
#define IS(h) (name_len == sizeof (h) - 1 && strncasecmp (data, h, name_len) == 0)
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
                return 0;
        return n;
}

static CURLcode
setup (struct reg_conn *k, struct xfer *x, const char *url, struct curl_slist *headers, char *errbuf)
{
        struct reg_req *q = x->q;
        const struct registry_opts *o = k->c->opts;
        CURLcode rc = CURLE_OK;
        CURL *curl = k->curl;

        curl_easy_reset (curl);
#define SET(opt, val) \
        if (rc == CURLE_OK) \
                rc = curl_easy_setopt (curl, opt, val)
        SET (CURLOPT_URL, url);
        SET (CURLOPT_ERRORBUFFER, errbuf);
        SET (CURLOPT_NOSIGNAL, 1L);
        SET (CURLOPT_PROTOCOLS_STR, "http,https");
        SET (CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET (CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        SET (CURLOPT_LOW_SPEED_LIMIT, 1L);
        SET (CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
        SET (CURLOPT_USERAGENT, "pgimg");
        SET (CURLOPT_HTTPHEADER, headers);
        SET (CURLOPT_HEADERFUNCTION, on_header);
        SET (CURLOPT_HEADERDATA, x);
        SET (CURLOPT_WRITEFUNCTION, on_write);
        SET (CURLOPT_WRITEDATA, x);
        if (o->ca_file)
                SET (CURLOPT_CAINFO, o->ca_file);
        if (o->rate_bytes_per_s) {
                SET (CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t) o->rate_bytes_per_s);
                SET (CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) o->rate_bytes_per_s);
        }
        if (strcmp (q->method, "HEAD") == 0) {
                SET (CURLOPT_NOBODY, 1L);
        } else if (strcmp (q->method, "GET") == 0) {
                /* Blobs are often served by a redirect to storage.  libcurl
                 * sends our Authorization header on a redirect only to the
                 * same scheme, host and port (never https -> http). */
                SET (CURLOPT_FOLLOWLOCATION, 1L);
                SET (CURLOPT_UNRESTRICTED_AUTH, 0L);
                SET (CURLOPT_MAXREDIRS, 5L);
        } else {
                SET (CURLOPT_UPLOAD, 1L);
                SET (CURLOPT_CUSTOMREQUEST, q->method);
                SET (CURLOPT_INFILESIZE_LARGE, (curl_off_t) (q->has_body ? q->body_len : 0));
                SET (CURLOPT_READFUNCTION, on_read);
                SET (CURLOPT_READDATA, x);
                SET (CURLOPT_SEEKFUNCTION, on_seek);
                SET (CURLOPT_SEEKDATA, x);
        }
#undef SET
        return rc;
}

static int
is_transient (CURLcode code)
{
        switch (code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
                return 1;
        default:
                return 0;
        }
}

/* The one place a CURLcode becomes a pgimg error. */
static int
pgimg_error_from_curl (struct reg_client *c, CURLcode code, const char *errbuf, const char *what,
                       int tries, pgimg_error_t *err)
{
        const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror (code);
        int status = code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO;

        if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE
            || code == CURLE_SSL_CONNECT_ERROR)
                return pgimg_make_error (err, status,
                                         "TLS with %s failed: %s; give its CA with --ca-file, or use "
                                         "--insecure for a plain-HTTP registry",
                                         c->what, why);
        if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
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

/* GET the token of a Bearer challenge: {"token" or "access_token",
 * "expires_in"}.  Runs with c->lock held. */
static int
fetch_token (struct reg_conn *k, const struct reg_challenge *ch, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        cleanup_buf struct buf url = BUF_INIT;
        cleanup_buf struct buf body = BUF_INIT_MAX (REG_MAX_REPLY_BYTES);
        cleanup_free char *basic = NULL, *userpass = NULL;
        cleanup_slist struct curl_slist *headers = NULL;
        cleanup_json json_t *j = NULL;
        struct reg_req q = REG_REQ_INIT;
        struct reg_resp r = { 0 };
        struct xfer x = { 0 };
        char errbuf[CURL_ERROR_SIZE] = "";
        const char *scopes[2] = { c->scope, ch->scope };
        json_t *tok;
        json_int_t expires = 60;
        CURLcode rc;

        if (buf_adds (&url, ch->realm) < 0)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        buf_adds (&url, strchr (ch->realm, '?') ? "&" : "?");
        if (ch->service) {
                char *e = curl_easy_escape (k->curl, ch->service, 0);
                buf_addf (&url, "service=%s", e ? e : "");
                curl_free (e);
        }
        for (int i = 0; i < 2; i++) {
                char *e;
                if (scopes[i] == NULL || (i == 1 && scopes[0] && strcmp (scopes[0], scopes[1]) == 0))
                        continue;
                e = curl_easy_escape (k->curl, scopes[i], 0);
                buf_addf (&url, "&scope=%s", e ? e : "");
                curl_free (e);
        }
        if (c->creds.user != NULL) {
                if (reg_realm_check (c->opts, c->what, ch->realm, err) < 0)
                        return -1;
                if (asprintf (&userpass, "%s:%s", c->creds.user, c->creds.password) < 0)
                        userpass = NULL;
                basic = userpass ? reg_base64 (userpass, strlen (userpass)) : NULL;
                cleanup_free char *h = NULL;
                if (basic == NULL || asprintf (&h, "Authorization: Basic %s", basic) < 0
                    || (headers = curl_slist_append (NULL, h)) == NULL)
                        return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
                explicit_bzero (h, strlen (h));
                explicit_bzero (userpass, strlen (userpass));
        }
        q.method = "GET";
        q.out = &body;
        q.what = "the token request";
        x.k = k;
        x.q = &q;
        x.r = &r;
        rc = setup (k, &x, url.data, headers, errbuf);
        if (rc == CURLE_OK)
                rc = curl_easy_perform (k->curl);
        buf_release (&x.error_body);
        reg_resp_free (&r);
        if (x.err != NULL) {
                *err = steal_pointer (&x.err);
                return -1;
        }
        if (rc != CURLE_OK)
                return pgimg_error_from_curl (c, rc, errbuf, "the token request", 1, err);
        curl_easy_getinfo (k->curl, CURLINFO_RESPONSE_CODE, &r.status);
        if (r.status == 401 || r.status == 403)
                return login_error (c, err);
        if (r.status != 200)
                return pgimg_make_error (err, EIO, "the token server of %s answered HTTP %ld", c->what,
                                         r.status);
        j = json_loadb (body.data ? body.data : "", body.len, 0, NULL);
        tok = json_object_get (j, "token");
        if (!json_is_string (tok))
                tok = json_object_get (j, "access_token");
        if (!json_is_string (tok))
                return pgimg_make_error (err, EPROTO, "the token server of %s sent no token", c->what);
        if (json_is_integer (json_object_get (j, "expires_in")))
                expires = json_integer_value (json_object_get (j, "expires_in"));
        free (c->auth_header);
        if (asprintf (&c->auth_header, "Authorization: Bearer %s", json_string_value (tok)) < 0) {
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
        cleanup_free char *userpass = NULL, *b = NULL;

        if (c->creds.user == NULL)
                return login_error (c, err);
        if (asprintf (&userpass, "%s:%s", c->creds.user, c->creds.password) < 0
            || (b = reg_base64 (userpass, strlen (userpass))) == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        explicit_bzero (userpass, strlen (userpass));
        free (c->auth_header);
        if (asprintf (&c->auth_header, "Authorization: Basic %s", b) < 0) {
                c->auth_header = NULL;
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
        }
        explicit_bzero (b, strlen (b));
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
               struct curl_slist **out, unsigned *generation, pgimg_error_t *err)
{
        struct reg_client *c = k->c;
        struct curl_slist *l = NULL, *t;
        int own = reg_same_origin (c->base, url);
        int oom = 0;

        for (const char *const *h = q->headers; h && *h && !oom; h++)
                oom = (t = curl_slist_append (l, *h)) == NULL || (l = t, 0);
        if (resume_from > 0 && !oom) {
                char range[64];
                snprintf (range, sizeof (range), "Range: bytes=%llu-", (unsigned long long) resume_from);
                oom = (t = curl_slist_append (l, range)) == NULL || (l = t, 0);
        }
        pthread_mutex_lock (&c->lock);
        *generation = c->auth_generation;
        if (c->auth_header && c->auth_expires && time (NULL) >= c->auth_expires) {
                /* Expired: the next 401 fetches a new one. */
                free (c->auth_header);
                c->auth_header = NULL;
        }
        if (c->auth_header && own && !oom)
                oom = (t = curl_slist_append (l, c->auth_header)) == NULL || (l = t, 0);
        pthread_mutex_unlock (&c->lock);
        *out = l;
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

/* One attempt.  0 with r filled when an HTTP answer came; else <0 and
 * *rc says why. */
static int
attempt (struct reg_conn *k, struct reg_req *q, struct reg_resp *r, const char *url,
         unsigned *generation, CURLcode *rc, char *errbuf, pgimg_error_t *err)
{
        cleanup_slist struct curl_slist *headers = NULL;
        struct reg_client *c = k->c;
        struct xfer x = { .k = k, .q = q, .r = r, .resume_from = q->out_fd >= 0 ? q->out_written : 0 };
        curl_off_t sent = 0;

        reg_resp_free (r);
        if (build_headers (k, q, url, x.resume_from, &headers, generation, err) < 0)
                return -1;
        *rc = setup (k, &x, url, headers, errbuf);
        if (*rc == CURLE_OK)
                *rc = curl_easy_perform (k->curl);
        curl_easy_getinfo (k->curl, CURLINFO_SIZE_UPLOAD_T, &sent);
        if (q->body_fd >= 0 && sent > 0) {
                pthread_mutex_lock (&c->lock);
                c->bytes_sent += (uint64_t) sent;
                pthread_mutex_unlock (&c->lock);
        }
        if (x.err != NULL) {
                buf_release (&x.error_body);
                *err = steal_pointer (&x.err);
                *rc = CURLE_ABORTED_BY_CALLBACK;
                return -2;      /* not worth a retry: the disk, memory */
        }
        if (*rc == CURLE_OK) {
                curl_easy_getinfo (k->curl, CURLINFO_RESPONSE_CODE, &r->status);
                r->s3_error = s3_error_code (&x.error_body);
                if (absolute_location (c, r) < 0) {
                        buf_release (&x.error_body);
                        return pgimg_make_error (err, ENOMEM, "%s: out of memory", c->what);
                }
        }
        buf_release (&x.error_body);
        return *rc == CURLE_OK ? 0 : -1;
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
                char errbuf[CURL_ERROR_SIZE] = "";
                unsigned generation = 0;
                CURLcode rc = CURLE_OK;
                curl_off_t retry_after = 0;
                int a = attempt (k, q, r, url, &generation, &rc, errbuf, err);

                if (a == -1 && rc == CURLE_OK)
                        return -1;      /* out of memory, signing */
                if (a == -2)
                        return -1;
                if (a < 0) {
                        if (!is_transient (rc) || q->no_retry || retry >= c->retries)
                                return pgimg_error_from_curl (c, rc, errbuf, what, retry + 1, err);
                        reg_backoff (retry++, 0);
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
                if ((r->status >= 500 || r->status == 429) && !q->no_retry && retry < c->retries) {
                        curl_easy_getinfo (k->curl, CURLINFO_RETRY_AFTER, &retry_after);
                        reg_backoff (retry++, (long) retry_after);
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
