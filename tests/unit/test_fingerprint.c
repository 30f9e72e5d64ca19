/* test_fingerprint.c - what the migration test compares: facts before
 * and after, schema dumps with masks, data directory listings, and the
 * refusals that come before anything runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/fingerprint.h"
#include "runner/migrate.h"

static const char before[] =
        "migration\ttable\tpublic.orders\t1000\t123456\n"
        "migration\ttable\tpublic.items\t50\t999\n"
        "migration\tsequence\tpublic.orders_id_seq\t1000\tt\n"
        "migration\textension\tvector\t0.8.0\tpublic\n"
        "postgres\trole\tmig_reader\tlogin\t\n";

static void
equal_facts_in_any_order_match (void **state)
{
        static const char after[] =
                "postgres\trole\tmig_reader\tlogin\t\n"
                "migration\tsequence\tpublic.orders_id_seq\t1000\tt\n"
                "migration\ttable\tpublic.items\t50\t999\n"
                "migration\textension\tvector\t0.8.0\tpublic\n"
                "migration\ttable\tpublic.orders\t1000\t123456\n";
        cleanup_buf struct buf report = BUF_INIT;
        cleanup_buf struct buf updates = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (fp_compare (before, strlen (before), after, strlen (after), 10, &report, &updates, &r, &err), 0);
        assert_int_equal (r.n_diffs, 0);
        assert_int_equal (r.n_facts, 5);
        assert_int_equal (r.n_tables, 2);
        assert_int_equal (r.n_rows, 1050);
        assert_int_equal (report.len, 0);
}

/* An extension's update may change its own tables (PoWA adds modules to
 * its config): where the extension's version moved, its tables pass when
 * no row was lost, and its new tables pass; at one version they must be
 * equal, and another extension's or a plain table's change is named. */
static void
an_updated_extension_may_change_its_tables (void **state)
{
        static const char a[] =
                "migration\textension\tpowa\t5.0.2\tpublic\n"
                "migration\textension\tcron\t1.6\tcron\n"
                "migration\ttable\tpublic.powa_modules\t16\t111\tpowa 5.0.2\n"
                "migration\ttable\tpublic.powa_servers\t3\t222\tpowa 5.0.2\n"
                "migration\ttable\tpublic.powa_same\t4\t444\tpowa 5.0.2\n"
                "migration\ttable\tcron.job\t2\t333\tcron 1.6\n"
                "migration\ttable\tpublic.orders\t10\t555\n";
        static const char b[] =
                "migration\textension\tpowa\t5.3.0\tpublic\n"
                "migration\textension\tcron\t1.6\tcron\n"
                "migration\ttable\tpublic.powa_modules\t18\t999\tpowa 5.3.0\n"
                "migration\ttable\tpublic.powa_servers\t2\t888\tpowa 5.3.0\n"
                "migration\ttable\tpublic.powa_same\t4\t444\tpowa 5.3.0\n"
                "migration\ttable\tpublic.powa_new\t0\t0\tpowa 5.3.0\n"
                "migration\ttable\tcron.new\t0\t0\tcron 1.6\n"
                "migration\ttable\tcron.job\t3\t777\tcron 1.6\n"
                "migration\ttable\tpublic.orders\t11\t666\n";
        cleanup_buf struct buf report = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (fp_compare (a, strlen (a), b, strlen (b), 10, &report, NULL, &r, &err), 0);
        /* powa_modules changed with rows added, powa_new is new: passed. */
        assert_int_equal (r.n_ext_changed, 2);
        assert_int_equal (r.n_updates, 1);
        assert_int_equal (r.n_diffs, 4);
        assert_non_null (strstr (report.data, "migration table public.powa_servers: 3 222 powa 5.0.2 before, 2 888 powa 5.3.0 after"));
        assert_non_null (strstr (report.data, "migration table cron.job: 2 333 cron 1.6 before, 3 777 cron 1.6 after"));
        assert_non_null (strstr (report.data, "migration table cron.new: only after"));
        assert_non_null (strstr (report.data, "migration table public.orders: 10 555 before, 11 666 after"));
}

static void
a_lost_row_is_named_down_to_the_table (void **state)
{
        static const char after[] =
                "migration\ttable\tpublic.orders\t999\t654321\n"
                "migration\ttable\tpublic.items\t50\t999\n"
                "migration\tsequence\tpublic.orders_id_seq\t1000\tt\n"
                "migration\textension\tvector\t0.8.7\tpublic\n";
        cleanup_buf struct buf report = BUF_INIT;
        cleanup_buf struct buf updates = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (fp_compare (before, strlen (before), after, strlen (after), 10, &report, &updates, &r, &err), 0);
        /* The table's rows and the role that went missing; the
         * extension's new version is an update, not a difference. */
        assert_int_equal (r.n_diffs, 2);
        assert_non_null (strstr (report.data, "migration table public.orders: 1000 123456 before, 999 654321 after"));
        assert_non_null (strstr (report.data, "postgres role mig_reader: missing after the upgrade"));
        assert_int_equal (r.n_updates, 1);
        assert_string_equal (updates.data, "vector 0.8.0 -> 0.8.7");
}

static void
an_extension_that_moved_schema_is_a_difference (void **state)
{
        static const char a[] = "db\textension\tpg_cron\t1.4\tpublic\n";
        static const char b[] = "db\textension\tpg_cron\t1.6\tpg_catalog\n";
        cleanup_buf struct buf report = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (fp_compare (a, strlen (a), b, strlen (b), 10, &report, NULL, &r, &err), 0);
        assert_int_equal (r.n_diffs, 1);
}

static void
an_index_query_must_still_use_an_index (void **state)
{
        static const char a[] = "db\tindex\tbtree_lookup\tabc123\tt\n";
        static const char b[] = "db\tindex\tbtree_lookup\tabc123\tf\n";
        cleanup_buf struct buf report = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (fp_compare (a, strlen (a), a, strlen (a), 10, &report, NULL, &r, &err), 0);
        assert_int_equal (r.n_diffs, 0);
        /* The same result by a sequential scan: the index was not checked. */
        assert_int_equal (fp_compare (a, strlen (a), b, strlen (b), 10, &report, NULL, &r, &err), 0);
        assert_int_equal (r.n_diffs, 2);
        assert_non_null (strstr (report.data, "db index btree_lookup: the query did not use an index"));
}

static void
report_lines_are_capped_but_counted (void **state)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf report = BUF_INIT;
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        for (int i = 0; i < 100; i++)
                assert_int_equal (buf_addf (&a, "db\ttable\tt%03d\t1\t1\n", i), 0);
        assert_int_equal (fp_compare (a.data, a.len, "", 0, 5, &report, NULL, &r, &err), 0);
        assert_int_equal (r.n_diffs, 100);
        assert_non_null (strstr (report.data, "t004"));
        assert_null (strstr (report.data, "t005"));
}

static void
a_malformed_fingerprint_fails (void **state)
{
        static const char bad[] = "just one field\n";
        struct fp_result r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (fp_compare (bad, strlen (bad), "", 0, 5, NULL, NULL, &r, &err) < 0);
        assert_non_null (strstr (err->msg, "bad line"));
        pgimg_error_free (&err);
}

static void
schema_noise_and_masks_are_dropped (void **state)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf report = BUF_INIT;
        size_t n;
        pgimg_error_t err = NULL;

        (void) state;
        buf_adds (&a, "-- Dumped from database version 15.18\nSET statement_timeout = 0;\n\\restrict abc\n"
                      "CREATE TABLE public.t (id integer);\nCOMMENT ON SCHEMA public IS 'standard public schema';\n");
        buf_adds (&b, "-- Dumped from database version 18.6\n\\restrict xyz\nCREATE TABLE public.t (id integer);\n"
                      "CREATE INDEX t_id ON public.t USING btree (id);\n");
        assert_int_equal (fp_normalize (&a, "# comment\n^COMMENT ON SCHEMA public IS\n", &err), 0);
        assert_int_equal (fp_normalize (&b, "^COMMENT ON SCHEMA public IS\n", &err), 0);
        assert_string_equal (a.data, "CREATE TABLE public.t (id integer);\n");
        assert_int_equal (fp_schema_compare ("db", a.data, b.data, 10, &report, &n, &err), 0);
        assert_int_equal (n, 1);
        assert_non_null (strstr (report.data, "only after: CREATE INDEX t_id"));
}

static void
substitutions_and_policy_roles_are_normalized (void **state)
{
        static const char masks[] = "s\t^( .*[ (,])[a-z_][a-z0-9_]*\\.([a-z_][a-z0-9_]*)\t\\1\\2\n";
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        buf_adds (&a, " SELECT accounts.id, sum(orders.amount) AS amount\n"
                      "CREATE POLICY p ON mig.accounts FOR SELECT TO mig_reader, mig_auditor USING (true);\n");
        buf_adds (&b, " SELECT id, sum(amount) AS amount\n"
                      "CREATE POLICY p ON mig.accounts FOR SELECT TO mig_auditor, mig_reader USING (true);\n");
        assert_int_equal (fp_normalize (&a, masks, &err), 0);
        assert_int_equal (fp_normalize (&b, masks, &err), 0);
        assert_string_equal (a.data, b.data);
        /* An unindented line keeps its schema. */
        buf_reset (&a);
        buf_adds (&a, "CREATE TABLE mig.accounts (\n");
        assert_int_equal (fp_normalize (&a, masks, &err), 0);
        assert_string_equal (a.data, "CREATE TABLE mig.accounts (\n");
}

static void
a_bad_mask_is_named (void **state)
{
        cleanup_buf struct buf a = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        buf_adds (&a, "x\n");
        assert_true (fp_normalize (&a, "([unclosed\n", &err) < 0);
        assert_non_null (strstr (err->msg, "([unclosed"));
        pgimg_error_free (&err);
}

static void
write_file (const char *dir, const char *name, const char *text)
{
        char path[4096];
        FILE *f;

        snprintf (path, sizeof (path), "%s/%s", dir, name);
        f = fopen (path, "w");
        assert_non_null (f);
        fputs (text, f);
        fclose (f);
}

static void
data_directory_changes_outside_volatile_files_are_found (void **state)
{
        char dir[] = "/tmp/pgimg-fp-XXXXXX";
        char sub[4200];
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf report = BUF_INIT;
        unsigned long long bytes;
        size_t n, checked;
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (mkdtemp (dir));
        snprintf (sub, sizeof (sub), "%s/global", dir);
        assert_int_equal (mkdir (sub, 0755), 0);
        snprintf (sub, sizeof (sub), "%s/pg_wal", dir);
        assert_int_equal (mkdir (sub, 0755), 0);
        write_file (dir, "global/1262", "catalog");
        write_file (dir, "global/pg_control", "control 1");
        write_file (dir, "pg_wal/000000010000000000000001", "wal 1");
        assert_int_equal (fp_tree_manifest (dir, &a, &bytes, &err), 0);
        assert_int_equal (bytes, 7 + 9 + 5);

        /* A start and stop rewrites the control file and WAL: not a change. */
        write_file (dir, "global/pg_control", "control 2");
        write_file (dir, "pg_wal/000000010000000000000002", "wal 2");
        assert_int_equal (fp_tree_manifest (dir, &b, NULL, &err), 0);
        assert_int_equal (fp_tree_compare (a.data, b.data, 10, &report, &n, &checked, &err), 0);
        assert_int_equal (n, 0);
        assert_int_equal (checked, 1);

        /* A relation file that changed is. */
        write_file (dir, "global/1262", "catalog, changed");
        buf_reset (&b);
        assert_int_equal (fp_tree_manifest (dir, &b, NULL, &err), 0);
        assert_int_equal (fp_tree_compare (a.data, b.data, 10, &report, &n, &checked, &err), 0);
        assert_int_equal (n, 1);
        assert_non_null (strstr (report.data, "global/1262 changed"));
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

static void
volatile_files (void **state)
{
        (void) state;
        assert_true (fp_tree_volatile ("global/pg_control"));
        assert_true (fp_tree_volatile ("pg_wal/000000010000000000000001"));
        assert_true (fp_tree_volatile ("base/16384/pg_internal.init"));
        assert_false (fp_tree_volatile ("base/16384/2600"));
        assert_false (fp_tree_volatile ("global/pg_control.old"));
}

static void
refusals_before_anything_runs (void **state)
{
        struct mig_opts o = { 0 };
        pgimg_error_t err = NULL;

        (void) state;
        o.old_img = (struct mig_image) { "postgres-18.6", "/", NULL, 18, "18.6" };
        o.new_img = (struct mig_image) { "postgres-15.18", "/", NULL, 15, "15.18" };
        o.method = MIG_PG_UPGRADE;
        o.scale = 1;
        assert_true (mig_validate (&o, &err) < 0);
        assert_non_null (strstr (err->msg, "refusing a downgrade"));
        pgimg_error_free (&err);

        /* A minor downgrade too. */
        o.old_img = (struct mig_image) { "postgres-18.6", "/", NULL, 18, "18.6" };
        o.new_img = (struct mig_image) { "postgres-18.3", "/", NULL, 18, "18.3" };
        o.method = MIG_RESTART;
        assert_true (mig_validate (&o, &err) < 0);
        assert_non_null (strstr (err->msg, "refusing a downgrade"));
        pgimg_error_free (&err);

        o.new_img = (struct mig_image) { "postgres-18.10", "/", NULL, 18, "18.10" };
        assert_int_equal (mig_validate (&o, &err), 0);

        o.method = MIG_PG_UPGRADE;
        assert_true (mig_validate (&o, &err) < 0);
        assert_non_null (strstr (err->msg, "use restart"));
        pgimg_error_free (&err);

        o.new_img = (struct mig_image) { "postgres-15.18", "/", NULL, 15, "15.18" };
        o.old_img = (struct mig_image) { "postgres-13.23", "/", NULL, 13, "13.23" };
        o.method = MIG_RESTART;
        assert_true (mig_validate (&o, &err) < 0);
        assert_non_null (strstr (err->msg, "two minors of one major"));
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (equal_facts_in_any_order_match),
                cmocka_unit_test (a_lost_row_is_named_down_to_the_table),
                cmocka_unit_test (an_updated_extension_may_change_its_tables),
                cmocka_unit_test (an_extension_that_moved_schema_is_a_difference),
                cmocka_unit_test (an_index_query_must_still_use_an_index),
                cmocka_unit_test (report_lines_are_capped_but_counted),
                cmocka_unit_test (a_malformed_fingerprint_fails),
                cmocka_unit_test (schema_noise_and_masks_are_dropped),
                cmocka_unit_test (substitutions_and_policy_roles_are_normalized),
                cmocka_unit_test (a_bad_mask_is_named),
                cmocka_unit_test (data_directory_changes_outside_volatile_files_are_found),
                cmocka_unit_test (volatile_files),
                cmocka_unit_test (refusals_before_anything_runs),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
