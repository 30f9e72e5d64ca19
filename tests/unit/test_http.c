#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/http.h"

/* One schedule for downloads and registries: 1, 2, 4, 8, 8 s, or the
 * server's Retry-After when longer and at most 30 s. */
static void
backoff_is_one_schedule (void **state)
{
        (void) state;
        assert_int_equal (http_backoff_ms (0, 0), 1000);
        assert_int_equal (http_backoff_ms (1, 0), 2000);
        assert_int_equal (http_backoff_ms (2, 0), 4000);
        assert_int_equal (http_backoff_ms (3, 0), 8000);
        assert_int_equal (http_backoff_ms (9, 0), 8000);
        assert_int_equal (http_backoff_ms (-1, 0), 1000);
        assert_int_equal (http_backoff_ms (0, 5), 5000);
        assert_int_equal (http_backoff_ms (3, 5), 8000);
        assert_int_equal (http_backoff_ms (0, 31), 1000);
}

static void
retries_follow_one_policy (void **state)
{
        struct http_result r = { 0 };
        (void) state;

        assert_true (http_status_transient (500));
        assert_true (http_status_transient (503));
        assert_true (http_status_transient (429));
        assert_true (http_status_transient (408));
        assert_false (http_status_transient (404));
        assert_false (http_status_transient (401));

        r.failure = HTTP_FAIL_TRANSFER;
        r.transient = 1;
        assert_true (http_retry_worthwhile (&r, 0));
        assert_true (http_retry_worthwhile (&r, 1));
        r.failure = HTTP_FAIL_CONNECT;
        assert_true (http_retry_worthwhile (&r, 0));
        assert_false (http_retry_worthwhile (&r, 1));
        r.failure = HTTP_FAIL_TLS;
        r.transient = 0;
        assert_false (http_retry_worthwhile (&r, 0));
}

static void
escape_and_headers (void **state)
{
        struct http_headers h = HTTP_HEADERS_INIT;
        cleanup_free char *e = http_escape ("repository:a/b:pull,push x~");
        (void) state;

        assert_string_equal (e, "repository%3Aa%2Fb%3Apull%2Cpush%20x~");
        for (int i = 0; i < 20; i++)
                assert_int_equal (http_headers_add (&h, i % 2 ? "Authorization: Basic eA==" : "X-A: b"), 0);
        assert_int_equal (h.n, 20);
        assert_null (h.v[20]);
        assert_string_equal (h.v[1], "Authorization: Basic eA==");
        http_headers_free (&h);
        assert_int_equal (h.n, 0);
        assert_null (h.v);
}

/* No answer at all: a refused connection is a connect failure, said
 * without the URL (callers name the server). */
static void
refused_connection_is_a_connect_failure (void **state)
{
        cleanup_http_conn struct http_conn *k = NULL;
        struct http_req q = HTTP_REQ_INIT;
        struct http_result r;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (http_conn_new (&k, &err), 0);
        q.url = "http://127.0.0.1:1/x";
        assert_true (http_perform (k, &q, &r, &err) < 0);
        assert_int_equal (r.failure, HTTP_FAIL_CONNECT);
        assert_true (r.transient);
        assert_int_equal (r.status, 0);
        assert_null (strstr (err->msg, "127.0.0.1:1/x"));
        pgimg_error_free (&err);

        q.url = "ftp://127.0.0.1:1/x";
        assert_true (http_perform (k, &q, &r, &err) < 0);
        assert_false (r.transient);
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (backoff_is_one_schedule),
                cmocka_unit_test (retries_follow_one_policy),
                cmocka_unit_test (escape_and_headers),
                cmocka_unit_test (refused_connection_is_a_connect_failure),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
