/* http.h - pgimg's one HTTP client, on libcurl.
 *
 * Downloads (builder/fetch.c) and registries (registry/http.c) send
 * their requests through here, so that they share one transport policy
 * (timeouts, stall detection, protocols, redirects, TLS verification
 * with the system CAs or a --ca-file), one retry and backoff policy, one
 * progress display (common/progress, on a terminal only) and one place
 * where a libcurl error becomes a pgimg error.  Prints nothing itself.
 * libcurl's header is included only by http.c.
 *
 * What is not here: authentication, mirrors and what a status means;
 * the callers decide those.  Credentials are headers the caller adds;
 * libcurl keeps them from a redirect to another scheme, host or port.
 */
#ifndef PGIMG_HTTP_H
#define PGIMG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Extra request headers, "Name: value" each, owned by the list. */
struct http_headers {
        char **v;
        size_t n, alloc;
};
#define HTTP_HEADERS_INIT { NULL, 0, 0 }
/* Append a copy of line; -1 on ENOMEM (the list is unchanged). */
int http_headers_add (struct http_headers *h, const char *line);
/* Free every line; a line that held a credential is zeroed first. */
void http_headers_free (struct http_headers *h);
static inline void
cleanup_http_headersp (struct http_headers *h)
{
        http_headers_free (h);
}
#define cleanup_http_headers __attribute__ ((cleanup (cleanup_http_headersp)))

/* One libcurl handle: it keeps connections alive from one request to
 * the next.  One per thread. */
struct http_conn;
int http_conn_new (struct http_conn **out, pgimg_error_t *err);
void http_conn_free (struct http_conn *k);
static inline void
cleanup_http_connp (struct http_conn **k)
{
        if (*k != NULL)
                http_conn_free (*k);
}
#define cleanup_http_conn __attribute__ ((cleanup (cleanup_http_connp)))

struct http_req {
        const char *method;             /* "GET" (NULL too), "HEAD", "PUT", "POST", "PATCH", "DELETE" */
        const char *url;
        const struct http_headers *headers; /* may be NULL */
        /* The body, for anything but GET and HEAD: bytes in memory, or a
         * range of a file (read with pread, so the offset is not moved). */
        const void *body;
        uint64_t body_len;
        int body_fd;                    /* -1: the body is in memory */
        uint64_t body_off;
        /* Each header of the reply, value trimmed; name NULL when a new
         * response starts (after 100 Continue or a redirect).  <0 with
         * *err set stops the transfer; http_perform returns that error. */
        int (*on_header) (void *ctx, const char *name, size_t name_len, const char *value,
                          size_t value_len, pgimg_error_t *err);
        /* The bytes of the reply body, with the status they come under.
         * <0 with *err set stops the transfer as above. */
        int (*on_data) (void *ctx, long status, const char *data, size_t n, pgimg_error_t *err);
        void *ctx;
        int follow_redirects;           /* GET only; to http(s) only */
        int allow_file;                 /* file:// when named directly (a local mirror) */
        int fail_on_http_error;         /* status >= 400 is a failure; no body is delivered */
        const char *ca_file;            /* NULL: the system CAs */
        uint64_t rate_bytes_per_s;      /* 0: no cap */
        long stall_timeout_s;           /* below 1 KB/s this long: abandoned; 0: 30 s */
        const char *progress_label;     /* "fetch postgresql 15.18": draw "<label>: 3.2/20.0 MB"
                                         * on a terminal (one transfer at a time); NULL: none */
};
#define HTTP_REQ_INIT { .body_fd = -1 }

/* Why no answer came, for the caller's message. */
enum http_failure {
        HTTP_FAIL_NONE,
        HTTP_FAIL_CALLBACK,             /* a callback (or reading the body) stopped it */
        HTTP_FAIL_TLS,                  /* the peer's certificate, the CA file, the handshake */
        HTTP_FAIL_CONNECT,              /* not resolved, refused, or no connection in time */
        HTTP_FAIL_STATUS,               /* status >= 400 with fail_on_http_error */
        HTTP_FAIL_TRANSFER,             /* dropped, stalled or broken after connecting */
};

struct http_result {
        long status;                    /* the last HTTP status, 0: none */
        enum http_failure failure;
        int transient;                  /* another attempt may succeed */
        long retry_after_s;             /* the server's Retry-After, 0: none */
        uint64_t bytes_sent;            /* request body bytes, this attempt */
        uint64_t bytes_received;        /* reply body bytes, this attempt */
};

/* One attempt of q on k.  0 when an HTTP answer came (r->status, any
 * value unless q->fail_on_http_error).  Otherwise <0 with r->failure
 * and r->transient set and *err saying why in a few words (libcurl's
 * text, or "HTTP 404"), without the URL: callers name the server; or
 * the error of the callback that stopped the transfer. */
int http_perform (struct http_conn *k, const struct http_req *q, struct http_result *r,
                  pgimg_error_t *err);

/* The one retry policy.  A status worth asking again: 5xx, 408, 429. */
int http_status_transient (long status);
/* Whether a failed attempt is worth another on the same server: a
 * transient failure, except that a server that never answered is not
 * worth waiting for when there is another to ask (a mirror). */
int http_retry_worthwhile (const struct http_result *r, int have_other_server);

/* The one backoff: the pause before retry number `retry` (0-based),
 * 1 s, 2 s, 4 s, then 8 s, or the server's Retry-After when it asks
 * for longer and at most 30 s. */
void http_backoff (int retry, long retry_after_s);
/* The same pause in milliseconds, without sleeping (for tests). */
long http_backoff_ms (int retry, long retry_after_s);

/* s percent-encoded for a URL query, malloc'ed; NULL on ENOMEM. */
char *http_escape (const char *s);

#endif
