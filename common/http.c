/* http.c - pgimg's one HTTP client, on libcurl (see http.h).
 *
 * A libcurl error becomes a pgimg error only through common/libcurl.h;
 * no CURLcode leaves this file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/http.h"
#include "common/libcurl.h"
#include "common/progress.h"

#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 30L
#define LOW_SPEED_BYTES_PER_S 1024L
#define MAX_REDIRECTS 10L
#define MAX_HEADER_BYTES 8192
#define BACKOFF_FIRST_MS 1000L
#define BACKOFF_MAX_MS 8000L
/* A server asking for a longer pause (Retry-After) is better given up on. */
#define RETRY_AFTER_MAX_S 30L
#define PROGRESS_INTERVAL_MS 200L

struct http_conn {
        CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void
curl_init_once (void)
{
        curl_init_code = curl_global_init (CURL_GLOBAL_DEFAULT);
}


/* ---- headers ---- */

int
http_headers_add (struct http_headers *h, const char *line)
{
        char *copy;

        if (h->n + 1 >= h->alloc) {
                size_t alloc = h->alloc ? h->alloc * 2 : 8;
                char **v = realloc (h->v, alloc * sizeof (*v));
                if (v == NULL)
                        return -1;
                h->v = v;
                h->alloc = alloc;
        }
        if ((copy = strdup (line)) == NULL)
                return -1;
        h->v[h->n++] = copy;
        h->v[h->n] = NULL;
        return 0;
}

void
http_headers_free (struct http_headers *h)
{
        for (size_t i = 0; i < h->n; i++) {
                if (strncasecmp (h->v[i], "Authorization:", 14) == 0)
                        explicit_bzero (h->v[i], strlen (h->v[i]));
                free (h->v[i]);
        }
        free (h->v);
        memset (h, 0, sizeof (*h));
}

/* ---- connections ---- */

int
http_conn_new (struct http_conn **out, pgimg_error_t *err)
{
        struct http_conn *k;

        pthread_once (&curl_once, curl_init_once);
        if (curl_init_code != CURLE_OK)
                return pgimg_error_from_curl (err, curl_init_code, 0, NULL, NULL);
        if ((k = calloc (1, sizeof (*k))) == NULL || (k->curl = curl_easy_init ()) == NULL) {
                free (k);
                return pgimg_make_error (err, ENOMEM, "cannot create a libcurl handle");
        }
        *out = k;
        return 0;
}

void
http_conn_free (struct http_conn *k)
{
        curl_easy_cleanup (k->curl);
        free (k);
}

/* ---- retries ---- */

int
http_status_transient (long status)
{
        return status >= 500 || status == 429 || status == 408;
}

int
http_retry_worthwhile (const struct http_result *r, int have_other_server)
{
        return r->transient && !(have_other_server && r->failure == HTTP_FAIL_CONNECT);
}

long
http_backoff_ms (int retry, long retry_after_s)
{
        long ms = BACKOFF_FIRST_MS << (retry < 4 ? (retry < 0 ? 0 : retry) : 4);

        if (ms > BACKOFF_MAX_MS)
                ms = BACKOFF_MAX_MS;
        if (retry_after_s > 0 && retry_after_s <= RETRY_AFTER_MAX_S && retry_after_s * 1000 > ms)
                ms = retry_after_s * 1000;
        return ms;
}

void
http_backoff (int retry, long retry_after_s)
{
        long ms = http_backoff_ms (retry, retry_after_s);
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
                ;
}

char *
http_escape (const char *s)
{
        static const char keep[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        char *out = malloc (strlen (s) * 3 + 1), *o = out;

        if (out == NULL)
                return NULL;
        for (; *s; s++) {
                if (strchr (keep, *s) != NULL)
                        *o++ = *s;
                else
                        o += sprintf (o, "%%%02X", (unsigned char) *s);
        }
        *o = '\0';
        return out;
}

/* ---- one transfer ---- */

/* The state of one attempt, seen by libcurl's callbacks. */
struct xfer {
        const struct http_req *q;
        CURL *curl;
        uint64_t body_pos;
        uint64_t received;
        pgimg_error_t err;              /* why a callback stopped the transfer */
        struct timespec last_draw;
        int drawn;
};

static size_t
on_read (char *dst, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        const struct http_req *q = x->q;
        uint64_t left = q->body_len - x->body_pos;
        size_t n = size * nmemb;

        if (n > left)
                n = (size_t) left;
        if (n == 0)
                return 0;
        if (q->body_fd < 0) {
                memcpy (dst, (const char *) q->body + x->body_pos, n);
        } else {
                ssize_t got;
                do
                        got = pread (q->body_fd, dst, n, (off_t) (q->body_off + x->body_pos));
                while (got < 0 && errno == EINTR);
                if (got <= 0) {
                        pgimg_make_error_errno (&x->err, got < 0 ? errno : EIO, "reading the request body");
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

/* Returning less than asked makes libcurl stop; x->err says why. */
static size_t
on_write (char *data, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        size_t n = size * nmemb;
        long status = 0;

        curl_easy_getinfo (x->curl, CURLINFO_RESPONSE_CODE, &status);
        if (x->q->on_data != NULL && x->q->on_data (x->q->ctx, status, data, n, &x->err) < 0)
                return 0;
        x->received += n;
        return n;
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *userdata)
{
        struct xfer *x = userdata;
        size_t n = size * nmemb, len;
        const char *colon, *v;

        if (x->q->on_header == NULL)
                return n;
        if (n >= 5 && strncmp (data, "HTTP/", 5) == 0)
                return x->q->on_header (x->q->ctx, NULL, 0, NULL, 0, &x->err) < 0 ? 0 : n;
        colon = memchr (data, ':', n);
        if (colon == NULL || n > MAX_HEADER_BYTES)
                return n;
        v = colon + 1;
        while (v < data + n && (*v == ' ' || *v == '\t'))
                v++;
        len = (size_t) (data + n - v);
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
                len--;
        return x->q->on_header (x->q->ctx, data, (size_t) (colon - data), v, len, &x->err) < 0 ? 0 : n;
}

static long
ms_since (const struct timespec *t)
{
        struct timespec now;

        clock_gettime (CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L;
}

static void
draw (struct xfer *x, curl_off_t now, curl_off_t total)
{
        if (total > 0)
                progress_update ("%s: %.1f/%.1f MB", x->q->progress_label, (double) now / 1e6,
                                 (double) total / 1e6);
        else
                progress_update ("%s: %.1f MB", x->q->progress_label, (double) now / 1e6);
        x->drawn = 1;
        clock_gettime (CLOCK_MONOTONIC, &x->last_draw);
}

static int
on_progress (void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        struct xfer *x = data;

        /* An upload has no download to show, and the other way round. */
        if (dlnow == 0 && ulnow > 0) {
                dlnow = ulnow;
                dltotal = ultotal;
        }
        if (dlnow > 0 && (!x->drawn || ms_since (&x->last_draw) >= PROGRESS_INTERVAL_MS))
                draw (x, dlnow, dltotal);
        return 0;
}

/* The transport and TLS policy every request shares, then what this
 * one asks for. */
static CURLcode
setup (struct xfer *x, struct curl_slist *headers, char *errbuf)
{
        const struct http_req *q = x->q;
        const char *method = q->method ? q->method : "GET";
        CURL *curl = x->curl;
        CURLcode rc = CURLE_OK;

        curl_easy_reset (curl);
#define SET(opt, val) \
        if (rc == CURLE_OK) \
                rc = curl_easy_setopt (curl, opt, val)
        SET (CURLOPT_URL, q->url);
        SET (CURLOPT_ERRORBUFFER, errbuf);
        /* Signals would be unsafe with threads; timeouts use the clock. */
        SET (CURLOPT_NOSIGNAL, 1L);
        /* file:// only when named directly; a redirect may lead only to
         * http(s), and nothing else is ever spoken. */
        SET (CURLOPT_PROTOCOLS_STR, q->allow_file ? "http,https,file" : "http,https");
        SET (CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET (CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
        SET (CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES_PER_S);
        SET (CURLOPT_LOW_SPEED_TIME, q->stall_timeout_s > 0 ? q->stall_timeout_s : STALL_TIMEOUT_S);
        /* Peers and host names are always verified (libcurl's default,
         * said here so that nobody turns it off): against the system
         * CAs, or the one CA file the user named. */
        SET (CURLOPT_SSL_VERIFYPEER, 1L);
        SET (CURLOPT_SSL_VERIFYHOST, 2L);
        if (q->ca_file)
                SET (CURLOPT_CAINFO, q->ca_file);
        SET (CURLOPT_USERAGENT, "pgimg");
        SET (CURLOPT_HTTPHEADER, headers);
        SET (CURLOPT_HEADERFUNCTION, on_header);
        SET (CURLOPT_HEADERDATA, x);
        SET (CURLOPT_WRITEFUNCTION, on_write);
        SET (CURLOPT_WRITEDATA, x);
        if (q->fail_on_http_error)
                SET (CURLOPT_FAILONERROR, 1L);
        if (q->rate_bytes_per_s) {
                SET (CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t) q->rate_bytes_per_s);
                SET (CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) q->rate_bytes_per_s);
        }
        if (q->progress_label && !progress_quiet () && isatty (STDERR_FILENO)) {
                SET (CURLOPT_XFERINFOFUNCTION, on_progress);
                SET (CURLOPT_XFERINFODATA, x);
                SET (CURLOPT_NOPROGRESS, 0L);
        }
        if (strcmp (method, "HEAD") == 0) {
                SET (CURLOPT_NOBODY, 1L);
        } else if (strcmp (method, "GET") == 0) {
                if (q->follow_redirects) {
                        /* libcurl sends an Authorization header on a
                         * redirect only to the same scheme, host and
                         * port: never from https to http. */
                        SET (CURLOPT_FOLLOWLOCATION, 1L);
                        SET (CURLOPT_UNRESTRICTED_AUTH, 0L);
                        SET (CURLOPT_MAXREDIRS, MAX_REDIRECTS);
                }
        } else {
                SET (CURLOPT_UPLOAD, 1L);
                SET (CURLOPT_CUSTOMREQUEST, method);
                SET (CURLOPT_INFILESIZE_LARGE, (curl_off_t) q->body_len);
                SET (CURLOPT_READFUNCTION, on_read);
                SET (CURLOPT_READDATA, x);
                SET (CURLOPT_SEEKFUNCTION, on_seek);
                SET (CURLOPT_SEEKDATA, x);
        }
#undef SET
        return rc;
}

/* What kind of failure code is, and whether it may pass. */
static void
classify (CURLcode code, int connected, struct http_result *r)
{
        switch (code) {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                r->failure = HTTP_FAIL_TLS;
                break;
        case CURLE_SSL_CONNECT_ERROR:
                r->failure = HTTP_FAIL_TLS;
                r->transient = 1;
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                r->failure = HTTP_FAIL_CONNECT;
                break;
        case CURLE_COULDNT_CONNECT:
                r->failure = HTTP_FAIL_CONNECT;
                r->transient = 1;
                break;
        case CURLE_OPERATION_TIMEDOUT:
                r->failure = connected ? HTTP_FAIL_TRANSFER : HTTP_FAIL_CONNECT;
                r->transient = 1;
                break;
        case CURLE_HTTP_RETURNED_ERROR:
                r->failure = HTTP_FAIL_STATUS;
                r->transient = http_status_transient (r->status);
                break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                r->failure = HTTP_FAIL_TRANSFER;
                r->transient = 1;
                break;
        default:
                r->failure = HTTP_FAIL_TRANSFER;
                break;
        }
}

static int
perform (struct http_conn *k, struct xfer *x, struct http_result *r, pgimg_error_t *err)
{
        const struct http_req *q = x->q;
        cleanup_curl_slist struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_off_t sent = 0, retry_after = 0, connect_us = 0;
        CURLcode rc;

        for (size_t i = 0; q->headers && i < q->headers->n; i++) {
                struct curl_slist *t = curl_slist_append (headers, q->headers->v[i]);
                if (t == NULL)
                        return pgimg_make_error (err, ENOMEM, "out of memory");
                headers = t;
        }
        rc = setup (x, headers, errbuf);
        if (rc == CURLE_OK)
                rc = curl_easy_perform (k->curl);
        curl_easy_getinfo (k->curl, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_getinfo (k->curl, CURLINFO_SIZE_UPLOAD_T, &sent);
        curl_easy_getinfo (k->curl, CURLINFO_RETRY_AFTER, &retry_after);
        curl_easy_getinfo (k->curl, CURLINFO_CONNECT_TIME_T, &connect_us);
        r->bytes_sent = sent > 0 ? (uint64_t) sent : 0;
        r->bytes_received = x->received;
        r->retry_after_s = retry_after > 0 ? (long) retry_after : 0;
        if (headers != NULL)
                for (struct curl_slist *l = headers; l; l = l->next)
                        if (strncasecmp (l->data, "Authorization:", 14) == 0)
                                explicit_bzero (l->data, strlen (l->data));
        if (x->err != NULL) {
                r->failure = HTTP_FAIL_CALLBACK;
                pgimg_error_free (err);
                *err = steal_pointer (&x->err);
                return -1;
        }
        if (rc == CURLE_OK)
                return 0;
        classify (rc, connect_us > 0 || r->status > 0, r);
        /* No URL in the message: upload URLs carry state; callers name the server. */
        return pgimg_error_from_curl (err, rc, r->status, errbuf, NULL);
}

int
http_perform (struct http_conn *k, const struct http_req *q, struct http_result *r, pgimg_error_t *err)
{
        struct xfer x = { .q = q, .curl = k->curl };
        int ret;

        memset (r, 0, sizeof (*r));
        ret = perform (k, &x, r, err);
        if (x.drawn) {
                if (ret == 0)
                        draw (&x, (curl_off_t) x.received, (curl_off_t) x.received);
                else
                        progress_done ();
        }
        pgimg_error_free (&x.err);
        return ret;
}
