/* `pgimg list` against the real versions/ (run from the repository
 * root), and the option parsing every command shares.  The command is
 * compiled in here, since cli/ is not part of libpgimg.a, with the
 * helpers of cli/util.c and cli/options.c. */
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
#include "cli/options.c"
#include "cli/util.c"
#include "common/number.h"
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

static void
numbers_are_whole_and_in_range (void **state)
{
        long v = 7;
        (void) state;

        assert_int_equal (number_parse_long ("4", 1, 1024, &v), 0);
        assert_int_equal (v, 4);
        assert_int_equal (number_parse_long ("-3", -5, 5, &v), 0);
        assert_int_equal (v, -3);
        assert_int_equal (number_parse_long ("0", 0, 0, &v), 0);
        v = 7;
        assert_int_equal (number_parse_long ("4x", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long ("", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long (" 4", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long ("+4", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long ("4 ", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long ("0x10", 1, 1024, &v), -EINVAL);
        assert_int_equal (number_parse_long ("-", -5, 5, &v), -EINVAL);
        assert_int_equal (number_parse_long (NULL, 1, 5, &v), -EINVAL);
        assert_int_equal (number_parse_long ("0", 1, 1024, &v), -ERANGE);
        assert_int_equal (number_parse_long ("1025", 1, 1024, &v), -ERANGE);
        assert_int_equal (number_parse_long ("99999999999999999999999", 1, 1024, &v), -ERANGE);
        assert_int_equal (v, 7);        /* untouched on failure */
}

static void
integer_options_name_option_and_value (void **state)
{
        pgimg_error_t err = NULL;
        int jobs = 0;
        long mb = 0;
        (void) state;

        assert_int_equal (cli_parse_int (&err, "build", "--jobs", "12", 1, CLI_MAX_JOBS, &jobs), 0);
        assert_int_equal (jobs, 12);
        assert_true (cli_parse_int (&err, "build", "--jobs", "4x", 1, CLI_MAX_JOBS, &jobs) < 0);
        assert_int_equal (jobs, 12);
        assert_int_equal (err->status, CLI_USAGE_STATUS);
        assert_string_equal (err->msg, "build: --jobs takes a whole number from 1 to 1024, not `4x` "
                                       "(see `pgimg build --help`)");
        pgimg_error_free (&err);
        assert_true (cli_parse_long (&err, "push", "--chunk-size", "5000", 1, 4096, &mb) < 0);
        assert_string_equal (err->msg, "push: --chunk-size takes a whole number from 1 to 4096, not `5000` "
                                       "(see `pgimg push --help`)");
        pgimg_error_free (&err);
}

/* Parse argv as a command would, through cli_getopt and the shared
 * image options; 0, or <0 with *err. */
static int
parse_like_build (struct pgimg_ctx *ctx, int argc, char **argv, struct cli_image_opts *io, const char **output,
                  pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "jobs", required_argument, NULL, 'j' },
                { "json", no_argument, NULL, 'J' },
                { "output", required_argument, NULL, 'o' },
                { "set", required_argument, NULL, 'S' },
                { "with", required_argument, NULL, 'w' },
                { NULL, 0, NULL, 0 },
        };
        int c, r;

        optind = 0;
        while ((c = cli_getopt (ctx, argc, argv, "hj:o:", opts)) != -1) {
                if ((r = cli_image_option ("build", c, optarg, io, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'o':
                        *output = optarg;
                        break;
                default:
                        return cli_option_error (err, "build");
                }
        }
        return optind;
}

static void
global_options_after_the_command (void **state)
{
        char *argv[] = { (char *) "build", (char *) "--cache-dir", (char *) "/c", (char *) "postgres-18",
                         (char *) "-q", (char *) "--with", (char *) "a,b", (char *) "--with=c",
                         (char *) "--set", (char *) "default", (char *) "-j", (char *) "3",
                         (char *) "--json", (char *) "-o", (char *) "x.tar", NULL };
        struct pgimg_ctx ctx = { .cache_dir = "/default", .data_dir = "." };
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        const char *output = NULL;
        pgimg_error_t err = NULL;
        int first;
        (void) state;

        first = parse_like_build (&ctx, 15, argv, &io, &output, &err);
        assert_int_equal (first, 14);
        assert_string_equal (argv[first], "postgres-18");
        assert_string_equal (ctx.cache_dir, "/c");
        assert_int_equal (ctx.quiet, 1);
        assert_int_equal (io.n_with, 3);
        assert_string_equal (io.with[2], "c");
        assert_int_equal (io.n_sets, 1);
        assert_int_equal (io.jobs, 3);
        assert_int_equal (io.json, 1);
        assert_string_equal (output, "x.tar");
}

static void
option_errors_name_the_option (void **state)
{
        char *bad_jobs[] = { (char *) "build", (char *) "--jobs", (char *) "4x", (char *) "postgres-18", NULL };
        char *unknown[] = { (char *) "build", (char *) "--frob=1", (char *) "postgres-18", NULL };
        char *short_unknown[] = { (char *) "build", (char *) "-z", (char *) "postgres-18", NULL };
        char *missing[] = { (char *) "build", (char *) "postgres-18", (char *) "--cache-dir", NULL };
        struct pgimg_ctx ctx = { .cache_dir = "/default", .data_dir = "." };
        const char *output = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        {
                cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
                assert_true (parse_like_build (&ctx, 4, bad_jobs, &io, &output, &err) < 0);
                assert_string_equal (err->msg, "build: --jobs takes a whole number from 1 to 1024, not `4x` "
                                               "(see `pgimg build --help`)");
                pgimg_error_free (&err);
        }
        {
                cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
                assert_true (parse_like_build (&ctx, 3, unknown, &io, &output, &err) < 0);
                assert_string_equal (err->msg, "build: unknown option `--frob` (see `pgimg build --help`)");
                pgimg_error_free (&err);
        }
        {
                cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
                assert_true (parse_like_build (&ctx, 3, short_unknown, &io, &output, &err) < 0);
                assert_string_equal (err->msg, "build: unknown option `-z` (see `pgimg build --help`)");
                pgimg_error_free (&err);
        }
        {
                cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
                assert_true (parse_like_build (&ctx, 3, missing, &io, &output, &err) < 0);
                assert_string_equal (err->msg, "build: option `--cache-dir` needs a value (see `pgimg build --help`)");
                pgimg_error_free (&err);
        }
        assert_string_equal (ctx.cache_dir, "/default");
}

/* How many times `"name":"NAME"` is in out. */
static int
count_name (const char *out, const char *name)
{
        char want[128];
        int n = 0;

        snprintf (want, sizeof (want), "\"name\":\"%s\"", name);
        for (const char *p = out; (p = strstr (p, want)) != NULL; p += strlen (want))
                n++;
        return n;
}

static int
count_items (const char *out)
{
        int n = 0;

        for (const char *p = out; (p = strstr (p, "{\"name\":\"")) != NULL; p++)
                n++;
        return n;
}

/* The slices of one set for one major, as a farm job lists its share:
 * together the set, each item in one slice only, with the item that
 * --with takes; jit is listed as the jit layer. */
static void
set_slices_make_up_the_set (void **state)
{
        static const char *const defaults[] = { "pg_cron", "pgvector", "pg_partman", "pgtap", "hypopg",
                                                 "plpgsql_check", "wal2json" };
        char *one[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "default",
                        (char *) "--major", (char *) "18", (char *) "--slice", (char *) "1/2", (char *) "--json", NULL };
        char *two[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "default",
                        (char *) "--major", (char *) "18", (char *) "--slice", (char *) "2/2", (char *) "--json", NULL };
        cleanup_free char *out1 = NULL, *out2 = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (run_list (".", one, 9, &out1, &err), 0);
        assert_int_equal (run_list (".", two, 9, &out2, &err), 0);
        for (size_t i = 0; i < sizeof (defaults) / sizeof (defaults[0]); i++)
                assert_int_equal (count_name (out1, defaults[i]) + count_name (out2, defaults[i]), 1);
        assert_int_equal (count_name (out1, "postgis") + count_name (out2, "postgis"), 0);
        assert_non_null (strstr (out1, "\"with\":\""));
        assert_non_null (strstr (out2, "\"build_seconds\":"));
        /* seven items of equal weight (no records here): 4 and 3 */
        assert_int_equal (count_items (out1), 4);
        assert_int_equal (count_items (out2), 3);
}

/* --major leaves out what does not build for that major (http: 17 and
 * 18 only), as a build of the set does; jit builds for every major. */
static void
major_leaves_out_what_it_cannot_build (void **state)
{
        char *m13[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "full",
                        (char *) "--major", (char *) "13", (char *) "--json", NULL };
        char *m18[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "full",
                        (char *) "--major", (char *) "18", (char *) "--json", NULL };
        char *table[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "full", NULL };
        cleanup_free char *out13 = NULL, *out18 = NULL, *outt = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (run_list (".", m13, 7, &out13, &err), 0);
        assert_int_equal (run_list (".", m18, 7, &out18, &err), 0);
        assert_int_equal (count_name (out13, "http"), 0);
        assert_int_equal (count_name (out18, "http"), 1);
        assert_int_equal (count_name (out13, "pgvector"), 1);
        assert_non_null (strstr (out13, "{\"name\":\"jit\",\"build\":\"jit\","));
        assert_non_null (strstr (out18, "\"name\":\"pgvector\",\"build\":\"pgxs\""));
        assert_int_equal (run_list (".", table, 4, &outt, &err), 0);
        assert_non_null (strstr (outt, "\njit                      jit     \n"));
}

/* What a recipe requires is built with it: PostGIS and the two that
 * require it (MobilityDB, pgRouting) always share a slice. */
static void
required_recipes_share_a_slice (void **state)
{
        int found = 0;
        (void) state;

        for (int n = 2; n <= 5; n++)
                for (int i = 1; i <= n; i++) {
                        char spec[8];
                        snprintf (spec, sizeof (spec), "%d/%d", i, n);
                        char *argv[] = { (char *) "list", (char *) "--extensions", (char *) "--set", (char *) "full",
                                         (char *) "--major", (char *) "18", (char *) "--slice", spec,
                                         (char *) "--json", NULL };
                        cleanup_free char *out = NULL;
                        pgimg_error_t err = NULL;
                        assert_int_equal (run_list (".", argv, 9, &out, &err), 0);
                        int k = count_name (out, "postgis");
                        assert_int_equal (count_name (out, "mobilitydb"), k);
                        assert_int_equal (count_name (out, "pgrouting"), k);
                        found += k;
                }
        assert_int_equal (found, 4);    /* once in each of the four slicings */
}

static void
set_and_major_errors (void **state)
{
        struct {
                int argc;
                const char *argv[6];
                const char *msg;
        } cases[] = {
                { 3, { "list", "--set", "default" }, "list: --set goes with --extensions (see `pgimg list --help`)" },
                { 3, { "list", "--major", "18" }, "list: --major goes with --extensions (see `pgimg list --help`)" },
                { 4, { "list", "-e", "--major", "1x" },
                  "list: --major takes a PostgreSQL major like 18, not `1x` (see `pgimg list --help`)" },
                { 4, { "list", "-e", "--major", "99" },
                  "list: --major 99: PostgreSQL 99 has no recipe (no `./versions/99.json`) (see `pgimg list --help`)" },
                { 4, { "list", "-e", "--set", "nosuch" }, "list: no image set `nosuch` (no `./images/nosuch.json`)" },
                { 4, { "list", "-e", "--set", "../x" }, "list: `../x` is not an image set name (see images/)" },
        };
        (void) state;

        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                cleanup_free char *out = NULL;
                pgimg_error_t err = NULL;
                assert_true (run_list (".", (char **) cases[i].argv, cases[i].argc, &out, &err) < 0);
                assert_string_equal (err->msg, cases[i].msg);
                assert_string_equal (out, "");
                pgimg_error_free (&err);
        }
}

/* The slices of --extensions --slice I/N, put together, are the whole
 * listing, each recipe once; a bad slice is a usage error. */
static void
slices_make_up_the_catalogue (void **state)
{
        char *all_argv[] = { (char *) "list", (char *) "--extensions", NULL };
        cleanup_free char *all = NULL;
        size_t total = 0, lines = 0;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (run_list (".", all_argv, 2, &all, &err), 0);
        for (char *p = all; *p; p++)
                lines += *p == '\n';
        for (int i = 1; i <= 3; i++) {
                char spec[8];
                snprintf (spec, sizeof (spec), "%d/3", i);
                char *argv[] = { (char *) "list", (char *) "--extensions", (char *) "--slice", spec, NULL };
                cleanup_free char *out = NULL;
                assert_int_equal (run_list (".", argv, 4, &out, &err), 0);
                for (char *line = out, *nl; (nl = strchr (line, '\n')) != NULL; line = nl + 1) {
                        *nl = '\0';
                        assert_non_null (strstr (all, line));
                        total++;
                }
        }
        assert_int_equal (total, lines);
        {
                char *argv[] = { (char *) "list", (char *) "--extensions", (char *) "--slice", (char *) "4/3", NULL };
                cleanup_free char *out = NULL;
                assert_true (run_list (".", argv, 4, &out, &err) < 0);
                assert_int_equal (err->status, CLI_USAGE_STATUS);
                assert_string_equal (err->msg, "list: --slice: `4/3` is not a slice: write I/N, whole numbers with "
                                               "1 <= I <= N <= 1024 (like 2/4) (see `pgimg list --help`)");
                pgimg_error_free (&err);
        }
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (lists_majors_with_default_first),
                cmocka_unit_test (json_is_an_array),
                cmocka_unit_test (usage_errors),
                cmocka_unit_test (missing_versions_dir),
                cmocka_unit_test (numbers_are_whole_and_in_range),
                cmocka_unit_test (integer_options_name_option_and_value),
                cmocka_unit_test (global_options_after_the_command),
                cmocka_unit_test (option_errors_name_the_option),
                cmocka_unit_test (slices_make_up_the_catalogue),
                cmocka_unit_test (set_slices_make_up_the_set),
                cmocka_unit_test (major_leaves_out_what_it_cannot_build),
                cmocka_unit_test (required_recipes_share_a_slice),
                cmocka_unit_test (set_and_major_errors),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
