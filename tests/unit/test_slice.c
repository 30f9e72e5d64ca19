/* common/slice: the slices of a CI matrix (`pgimg list --extensions
 * --slice I/N`), and builder/ext_times, the build times they weigh. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/ext_times.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/slice.h"

static void
parses_i_of_n (void **state)
{
        struct slice_spec s = { 0, 0 };
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (slice_parse ("2/4", &s, &err), 0);
        assert_int_equal (s.index, 2);
        assert_int_equal (s.count, 4);
        assert_int_equal (slice_parse ("1/1", &s, &err), 0);
        assert_int_equal (slice_parse ("1024/1024", &s, &err), 0);
        assert_int_equal (s.index, 1024);
}

static void
bad_slices_are_one_line_errors (void **state)
{
        static const char *const bad[] = { "0/3", "4/3", "x", "1/0", "", "/", "1/", "/3", "1/3x", " 1/3", "1/ 3",
                                           "+1/3", "-1/3", "1/2/3", "1/1025", "99999999999999999999/1", "1.0/3" };
        struct slice_spec s = { 7, 7 };
        pgimg_error_t err = NULL;
        (void) state;

        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                assert_int_equal (slice_parse (bad[i], &s, &err), -EINVAL - 1);
                assert_non_null (strstr (err->msg, "is not a slice: write I/N"));
                assert_null (strchr (err->msg, '\n'));
                pgimg_error_free (&err);
        }
        assert_int_equal (slice_parse ("4/3", &s, &err), -EINVAL - 1);
        assert_string_equal (err->msg, "`4/3` is not a slice: write I/N, whole numbers with 1 <= I <= N <= 1024 (like 2/4)");
        pgimg_error_free (&err);
        assert_int_equal (s.index, 7);
}

/* The slice of each item, one digit an item, in the items' order. */
static const char *
assigned (const char *const *names, const double *w, size_t n, unsigned count)
{
        static char out[16];
        unsigned got[16];
        pgimg_error_t err = NULL;

        assert_true (n < sizeof (out));
        assert_int_equal (slice_assign (names, w, n, count, got, &err), 0);
        for (size_t i = 0; i < n; i++)
                out[i] = (char) ('0' + got[i]);
        out[n] = '\0';
        return out;
}

/* Longest first onto the least loaded slice; of equal weights the
 * smaller name first: c=8 -> 0; g=7 -> 1; e=5 -> 2; f=4 -> 2 (9);
 * b=3 -> 1 (10); d=3 -> 0 (11); a=1 -> 2 (10). */
static void
greedy_longest_first (void **state)
{
        const char *names[] = { "a", "b", "c", "d", "e", "f", "g" };
        const double w[] = { 1, 3, 8, 3, 5, 4, 7 };
        (void) state;

        assert_string_equal (assigned (names, w, 7, 3), "2100221");
}

/* Equal weights (no build time known) go by name, round the slices,
 * whatever order the items come in. */
static void
equal_weights_by_name_in_any_order (void **state)
{
        const char *names[] = { "e", "b", "d", "a", "c" };
        const char *sorted[] = { "a", "b", "c", "d", "e" };
        const double w[] = { 1, 1, 1, 1, 1 };
        (void) state;

        assert_string_equal (assigned (sorted, w, 5, 2), "01010");
        assert_string_equal (assigned (names, w, 5, 2), "01100");
}

/* Every item is in exactly one slice below N, also with more slices
 * than items (some are empty) and odd weights. */
static void
slices_cover_everything_once (void **state)
{
        char buf[40][8];
        const char *names[40];
        double w[40];
        unsigned got[40];
        pgimg_error_t err = NULL;
        (void) state;

        for (size_t i = 0; i < 40; i++) {
                snprintf (buf[i], sizeof (buf[i]), "x%02zu", i);
                names[i] = buf[i];
                w[i] = i % 3 == 0 ? -1 : (double) (i * 7 % 11);
        }
        for (unsigned n = 1; n <= 50; n++) {
                double load[50] = { 0 };
                assert_int_equal (slice_assign (names, w, 40, n, got, &err), 0);
                for (size_t i = 0; i < 40; i++) {
                        assert_true (got[i] < n);
                        load[got[i]] += w[i] > 0 ? w[i] : 0;
                }
                /* Greedy keeps every slice within the heaviest item of the lightest. */
                for (unsigned a = 0; a < n; a++)
                        for (unsigned b = 0; b < n; b++)
                                assert_true (load[a] - load[b] <= 10);
        }
        assert_true (slice_assign (names, w, 40, 0, got, &err) < 0);
        pgimg_error_free (&err);
}

static void
build_times_add_up_per_extension (void **state)
{
        char dir[] = "/tmp/pgimg-test-times-XXXXXX";
        pgimg_error_t err = NULL;
        double s = -1;
        (void) state;

        assert_non_null (mkdtemp (dir));
        assert_int_equal (ext_times_total (dir, "pgvector", &s, &err), 0);
        assert_true (s == 0);
        assert_int_equal (ext_times_record (dir, "pgvector", "0.8.7", "18", 12.3456, &err), 0);
        assert_int_equal (ext_times_record (dir, "pgvector", "0.8.0", "17", 2.5, &err), 0);
        assert_int_equal (ext_times_record (dir, "pgvector", "0.8.7", "18", 10, &err), 0);     /* the last counts */
        assert_int_equal (ext_times_record (dir, "pgvector_x", "1", "18", 100, &err), 0);
        assert_int_equal (ext_times_total (dir, "pgvector", &s, &err), 1);
        assert_true (s > 12.49 && s < 12.51);
        assert_true (ext_times_record (dir, "../x", "1", "18", 1, &err) < 0);
        assert_string_equal (err->msg, "build time of `../x@1`: not a name for a file");
        pgimg_error_free (&err);
        {
                /* A damaged record is unknown, not an error. */
                cleanup_free char *p = NULL;
                assert_true (asprintf (&p, "%s/build-times/pgvector@0.8.0-pg17", dir) > 0);
                assert_int_equal (fs_write_file_atomic (p, "12x\n", 4, 0644, &err), 0);
        }
        assert_int_equal (ext_times_total (dir, "pgvector", &s, &err), 1);
        assert_true (s > 9.99 && s < 10.01);
        /* One record: this version on this major, or unknown. */
        s = ext_times_get (dir, "pgvector", "0.8.7", "18");
        assert_true (s > 9.99 && s < 10.01);
        assert_true (ext_times_get (dir, "pgvector", "0.8.7", "17") < 0);
        assert_true (ext_times_get (dir, "pgvector", "0.8.0", "17") < 0);      /* damaged */
        assert_true (ext_times_get (dir, "..", "1", "18") < 0);
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

static void
records_parse_strictly (void **state)
{
        double s = -1;
        (void) state;

        assert_int_equal (ext_times_parse ("1500\n", 5, &s), 0);
        assert_true (s == 1.5);
        assert_int_equal (ext_times_parse ("0", 1, &s), 0);
        assert_int_equal (ext_times_parse ("", 0, &s), -1);
        assert_int_equal (ext_times_parse ("\n", 1, &s), -1);
        assert_int_equal (ext_times_parse ("-1\n", 3, &s), -1);
        assert_int_equal (ext_times_parse ("1 \n", 3, &s), -1);
        assert_int_equal (ext_times_parse ("1\0002", 3, &s), -1);
        assert_int_equal (ext_times_parse ("999999999999999999999", 21, &s), -1);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (parses_i_of_n),
                cmocka_unit_test (bad_slices_are_one_line_errors),
                cmocka_unit_test (greedy_longest_first),
                cmocka_unit_test (equal_weights_by_name_in_any_order),
                cmocka_unit_test (slices_cover_everything_once),
                cmocka_unit_test (build_times_add_up_per_extension),
                cmocka_unit_test (records_parse_strictly),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
