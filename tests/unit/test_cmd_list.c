/* `pgimg list` against the real versions/ (run from the repository
 * root).  The command is compiled in here, since cli/ is not part of
 * libpgimg.a, with the helpers of cli/util.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cmd_list.c"
#include "cli/util.c"
#include "common/buf.h"
#include "common/fsutil.h"

/* Run `pgimg list ARGS` with stdout captured into *out. */
static int
run_list (const char *data_dir, char **argv, int argc, char **out, pgimg_error_t *err)
{
        struct pgimg_ctx ctx = { .cache_dir = "/nonexistent", .data_dir = data_dir };
        char path[] = "/tmp/pgimg-test-list-XXXXXX";
        int fd = mkstemp (path), saved = dup (STDOUT_FILENO), ret;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t read_err = NULL;

        assert_true (fd >= 0 && saved >= 0);
        fflush (stdout);
        assert_true (dup2 (fd, STDOUT_FILENO) >= 0);
        optind = 0;
        ret = cmd_list (&ctx, argc, argv, err);
        fflush (stdout);
        assert_true (dup2 (saved, STDOUT_FILENO) >= 0);
        close (saved);
        close (fd);
        assert_int_equal (fs_read_file (path, 0, &b, &read_err), 0);
        unlink (path);
        buf_adds (&b, "");
        *out = buf_detach (&b, NULL);
        return ret;
}

static void
lists_majors_with_default_first (void **state)
{
        char *argv[] = { (char *) "list", NULL };
        cleanup_free char *out = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (run_list (".", argv, 1, &out, &err), 0);
        assert_string_equal (out, "postgres-13  13.23 (default)  13.16\n"
                                  "postgres-15  15.18 (default)  15.17  15.15\n"
                                  "postgres-17  17.11 (default)  17.10  17.9\n"
                                  "postgres-18  18.6 (default)  18.4  18.3\n");
}

static void
json_is_an_array (void **state)
{
        char *argv[] = { (char *) "list", (char *) "--json", NULL };
        cleanup_free char *out = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (run_list (".", argv, 2, &out, &err), 0);
        static const char head[] = "[{\"recipe\":\"postgres-13\",\"name\":\"postgres\",\"major\":\"13\","
                                   "\"default_version\":\"13.23\",\"versions\":[\"13.23\",\"13.16\"]},";
        assert_true (strncmp (out, head, sizeof (head) - 1) == 0);
        assert_non_null (strstr (out, "{\"recipe\":\"postgres-18\",\"name\":\"postgres\",\"major\":\"18\","
                                      "\"default_version\":\"18.6\",\"versions\":[\"18.6\",\"18.4\",\"18.3\"]}]\n"));
}

static void
usage_errors (void **state)
{
        char *extra[] = { (char *) "list", (char *) "postgres-15", NULL };
        char *unknown[] = { (char *) "list", (char *) "--jsn", NULL };
        cleanup_free char *out1 = NULL;
        cleanup_free char *out2 = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (run_list (".", extra, 2, &out1, &err) < 0);
        assert_int_equal (err->status, CLI_USAGE_STATUS);
        assert_string_equal (err->msg, "list: unexpected argument `postgres-15` (see `pgimg list --help`)");
        pgimg_error_free (&err);
        assert_true (run_list (".", unknown, 2, &out2, &err) < 0);
        assert_string_equal (err->msg, "list: unknown option `--jsn` (see `pgimg list --help`)");
        pgimg_error_free (&err);
}

static void
missing_versions_dir (void **state)
{
        char *argv[] = { (char *) "list", NULL };
        cleanup_free char *out = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (run_list ("/nonexistent", argv, 1, &out, &err) < 0);
        assert_string_equal (err->msg, "list: open `/nonexistent/versions`: No such file or directory");
        assert_string_equal (out, "");
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (lists_majors_with_default_first),
                cmocka_unit_test (json_is_an_array),
                cmocka_unit_test (usage_errors),
                cmocka_unit_test (missing_versions_dir),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
