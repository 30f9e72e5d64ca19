/* The four places where a library's errors become pgimg errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/error.h"
#include "common/libarchive.h"
#include "common/libcurl.h"
#include "common/libjson.h"
#include "common/libssl.h"

static void
json_error_names_file_line_and_column (void **state)
{
        cleanup_json json_t *j = NULL;
        pgimg_error_t err = NULL;
        json_error_t je;

        (void) state;
        j = json_loads ("{\"a\": 1,\n \"b\" 2}", 0, &je);
        assert_null (j);
        assert_int_equal (pgimg_error_from_json (&err, "x.json", &je), -EINVAL - 1);
        assert_string_equal (err->msg, "`x.json`: line 2, column 6: ':' expected near '2'");
        pgimg_error_free (&err);
}

static void
json_str_is_null_unless_a_string (void **state)
{
        cleanup_json json_t *j = json_loads ("{\"s\": \"v\", \"n\": 1}", 0, NULL);

        (void) state;
        assert_string_equal (pgimg_json_str (j, "s"), "v");
        assert_null (pgimg_json_str (j, "n"));
        assert_null (pgimg_json_str (j, "missing"));
        assert_null (pgimg_json_str (NULL, "s"));
}

static void
archive_error_carries_libarchive_text (void **state)
{
        cleanup_archive struct archive *a = archive_read_new ();
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (a);
        assert_int_equal (archive_read_support_format_tar (a), ARCHIVE_OK);
        assert_int_not_equal (archive_read_open_filename (a, "/nonexistent/x.tar", 10240), ARCHIVE_OK);
        assert_int_equal (pgimg_error_from_archive (&err, a, "open `%s`", "/nonexistent/x.tar"),
                          -ENOENT - 1);
        assert_non_null (strstr (err->msg, "open `/nonexistent/x.tar`: "));
        pgimg_error_free (&err);
        assert_int_equal (pgimg_error_from_archive (&err, NULL, "read `%s`", "y"), -EIO - 1);
        assert_string_equal (err->msg, "read `y`: unknown libarchive error");
        pgimg_error_free (&err);
}

static void
ssl_error_drains_the_queue (void **state)
{
        cleanup_bio BIO *b = BIO_new_mem_buf ("not a key", -1);
        pgimg_error_t err = NULL;

        (void) state;
        ERR_clear_error ();
        assert_null (PEM_read_bio_PrivateKey (b, NULL, NULL, NULL));
        assert_int_not_equal (ERR_peek_error (), 0);
        assert_int_equal (pgimg_error_from_ssl (&err, "key `%s`", "x"), -EIO - 1);
        assert_non_null (strstr (err->msg, "key `x`: error:"));
        assert_int_equal (ERR_peek_error (), 0);
        pgimg_error_free (&err);
}

static void
curl_error_says_http_status_or_why (void **state)
{
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (pgimg_error_from_curl (&err, CURLE_HTTP_RETURNED_ERROR, 404, NULL, "http://h/x"),
                          -EIO - 1);
        assert_string_equal (err->msg, "http://h/x: HTTP 404");
        pgimg_error_free (&err);
        assert_int_equal (pgimg_error_from_curl (&err, CURLE_OPERATION_TIMEDOUT, 0, "", "u"),
                          -ETIMEDOUT - 1);
        assert_string_equal (err->msg, "u: Timeout was reached");
        pgimg_error_free (&err);
        pgimg_error_from_curl (&err, CURLE_COULDNT_CONNECT, 0, "Failed to connect", "u");
        assert_string_equal (err->msg, "u: Failed to connect");
        pgimg_error_free (&err);
        pgimg_error_from_curl (&err, CURLE_HTTP_RETURNED_ERROR, 503, NULL, NULL);
        assert_string_equal (err->msg, "HTTP 503");
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (json_error_names_file_line_and_column),
                cmocka_unit_test (json_str_is_null_unless_a_string),
                cmocka_unit_test (archive_error_carries_libarchive_text),
                cmocka_unit_test (ssl_error_drains_the_queue),
                cmocka_unit_test (curl_error_says_http_status_or_why),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
