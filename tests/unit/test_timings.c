#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/jsonw.h"
#include "common/timings.h"

static void
timings_freep (struct timings *t)
{
        timings_free (t);
}
#define cleanup_timings __attribute__ ((cleanup (timings_freep)))

/* A phase that runs more than once is one record of the sum, in the
 * place of its first run. */
static void
repeated_phases_add_up_in_first_order (void **state)
{
        cleanup_timings struct timings t = TIMINGS_INIT;
        (void) state;

        timings_add (&t, "postgres", "sandbox set-up", 0.25);
        timings_add (&t, "postgres", "configure", 10);
        timings_add (&t, "postgres", "sandbox set-up", 0.5);
        timings_add (&t, "base", "configure", 1);
        timings_add (NULL, "postgres", "make", 1);      /* nowhere: no crash */
        timings_add (&t, NULL, "make", 1);
        assert_int_equal (t.n, 3);
        assert_string_equal (t.items[0].phase, "sandbox set-up");
        assert_true (fabs (t.items[0].seconds - 0.75) < 1e-9);
        assert_string_equal (t.items[1].phase, "configure");
        assert_string_equal (t.items[2].step, "base");
        assert_int_equal (t.failed, 0);
}

static void
since_measures_and_chains (void **state)
{
        cleanup_timings struct timings t = TIMINGS_INIT;
        double start = timings_now () - 2.0;    /* as if it began 2 s ago */
        double next;
        (void) state;

        next = timings_since (&t, "image", "write tarball", start);
        assert_true (next >= start + 2.0);
        assert_true (t.items[0].seconds >= 2.0 && t.items[0].seconds < 60);
        assert_false (t.items[0].cached);
        timings_cached (&t, "base", "layer", next);
        assert_true (t.items[1].cached);
        assert_true (t.items[1].seconds >= 0);
}

/* A layer a worker built, then found by its parent in the cache, was built. */
static void
cached_only_when_nothing_ran (void **state)
{
        cleanup_timings struct timings worker = TIMINGS_INIT;
        cleanup_timings struct timings t = TIMINGS_INIT;
        (void) state;

        timings_add (&worker, "pgvector@0.8.0", "layer", 1.5);
        timings_merge (&t, &worker);
        timings_cached (&t, "pgvector@0.8.0", "layer", timings_now ());
        assert_int_equal (t.n, 1);
        assert_false (t.items[0].cached);
        timings_cached (&t, "pg_cron@1.6.5", "layer", timings_now ());
        timings_cached (&t, "pg_cron@1.6.5", "layer", timings_now ());
        assert_true (t.items[1].cached);
}

/* Three records: two phases that ran, one cached. */
static void
sample (struct timings *t)
{
        timings_add (t, "postgres", "make \"all\"", 30);
        timings_add (t, "postgres", "configure", 7.5);
        timings_add (t, "base", "layer", 0.004);
        t->items[2].cached = 1;
}

static void
table_has_shares_cached_and_total (void **state)
{
        cleanup_timings struct timings t = TIMINGS_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        (void) state;

        sample (&t);
        assert_int_equal (timings_format (&t, 40, &b), 0);
        assert_string_equal (b.data,
                             "step      phase         seconds   share\n"
                             "postgres  make \"all\"      30.00   75.0%\n"
                             "postgres  configure        7.50   18.8%\n"
                             "base      layer            0.00    0.0%  cached\n"
                             "total                     40.00  100.0%\n");
        buf_reset (&b);
        timings_free (&t);
        assert_int_equal (timings_format (&t, 0, &b), 0);
        assert_string_equal (b.data, "step   phase    seconds   share\n"
                                     "total              0.00  100.0%\n");
}

static void
json_array_of_step_phase_seconds (void **state)
{
        cleanup_timings struct timings t = TIMINGS_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;
        (void) state;

        sample (&t);
        jsonw_init (&w, &b);
        timings_json (&t, &w);
        assert_int_equal (jsonw_finish (&w), 0);
        assert_string_equal (b.data, "[{\"step\":\"postgres\",\"phase\":\"make \\\"all\\\"\",\"seconds\":30.000},"
                                     "{\"step\":\"postgres\",\"phase\":\"configure\",\"seconds\":7.500},"
                                     "{\"step\":\"base\",\"phase\":\"layer\",\"seconds\":0.004,\"cached\":true}]");

        /* A lost record is reported where the records are shown. */
        t.failed = 1;
        buf_reset (&b);
        jsonw_init (&w, &b);
        timings_json (&t, &w);
        assert_int_equal (jsonw_finish (&w), -1);
        assert_int_equal (errno, ENOMEM);
        errno = 0;
        assert_int_equal (timings_format (&t, 1, &b), -1);
        assert_int_equal (errno, ENOMEM);
        assert_int_equal (timings_serialize (&t, &b), -1);
}

/* What a worker process hands back comes back the same; a line that is
 * not a record is skipped. */
static void
serialize_and_parse_round_trip (void **state)
{
        cleanup_timings struct timings t = TIMINGS_INIT;
        cleanup_timings struct timings back = TIMINGS_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        static const char junk[] = "\n"
                                   "x\ty\n"                     /* too few fields */
                                   "x\ty\t-1\t0\n"              /* negative */
                                   "x\ty\tnan\t0\n"
                                   "x\ty\t1e99\t0\n"
                                   "x\ty\t1s\t0\n"
                                   "x\ty\t1\t2\n"               /* cached is 0 or 1 */
                                   "\ty\t1\t0\n"                /* no step */
                                   "x\ty\t1\t0\textra\n"
                                   "last\tline\t0.5\t1";       /* no newline: kept */
        (void) state;

        timings_add (&t, "pgvector@0.8.0", "build", 4.25);
        timings_add (&t, "pgvector@0.8.0", "layer", 0.125);
        t.items[1].cached = 1;
        assert_int_equal (timings_serialize (&t, &b), 0);
        timings_parse (&back, b.data, b.len);
        timings_parse (&back, junk, sizeof (junk) - 1);
        assert_int_equal (back.n, 3);
        assert_string_equal (back.items[0].step, "pgvector@0.8.0");
        assert_string_equal (back.items[0].phase, "build");
        assert_true (fabs (back.items[0].seconds - 4.25) < 1e-6);
        assert_false (back.items[0].cached);
        assert_true (back.items[1].cached);
        assert_string_equal (back.items[2].step, "last");
        assert_true (back.items[2].cached);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (repeated_phases_add_up_in_first_order),
                cmocka_unit_test (since_measures_and_chains),
                cmocka_unit_test (cached_only_when_nothing_ran),
                cmocka_unit_test (table_has_shares_cached_and_total),
                cmocka_unit_test (json_array_of_step_phase_seconds),
                cmocka_unit_test (serialize_and_parse_round_trip),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
