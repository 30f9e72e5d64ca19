/* test_migrate.c - the migration test's look into an image's root:
 * whether NEW has the extensions OLD uses is asked of the image's own
 * tree, never of the host through the image's symlinks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/migrate_internal.h"

#define EXT_DIR "lib/postgresql/18/share/extension"

static char *
make_temp_dir (void)
{
        char *d = strdup ("/tmp/pgimg-test-migrate-XXXXXX");
        assert_non_null (d);
        assert_non_null (mkdtemp (d));
        return d;
}

static void
put_control (const char *dir, const char *name)
{
        cleanup_free char *p = NULL;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&p, "%s/" EXT_DIR "/%s.control", dir, name) > 0);
        *strrchr (p, '/') = '\0';
        assert_int_equal (fs_mkdir_p (p, 0755, &err), 0);
        *strchr (p, '\0') = '/';
        assert_int_equal (fs_write_file_atomic (p, "comment = 'x'\n", 14, 0644, &err), 0);
}

static int
check (const char *rootfs, const char *facts, pgimg_error_t *err)
{
        struct mig_opts o = { 0 };
        struct mig_report r = { 0 };
        struct mig m = { 0 };

        o.old_img.label = "postgres-17.6";
        o.new_img.label = "postgres-18.1";
        o.new_img.rootfs = rootfs;
        o.new_img.major = 18;
        m.o = &o;
        m.r = &r;
        return mig_check_new_has_extensions (&m, facts, err);
}

/* NEW's usr is a symlink to a host directory that has the control
 * file: inside the image it leads nowhere, so NEW lacks the extension. */
static void
extensions_are_looked_up_inside_the_root (void **state)
{
        cleanup_free char *host = make_temp_dir ();
        cleanup_free char *root = make_temp_dir ();
        cleanup_free char *usr = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        put_control (host, "probe");
        assert_true (asprintf (&usr, "%s/usr", root) > 0);
        assert_int_equal (symlink (host, usr), 0);
        assert_true (check (root, "migration\textension\tprobe\n", &err) < 0);
        assert_string_equal (err->msg,
                             "extension probe is installed in OLD (postgres-17.6, database migration) but NEW "
                             "(postgres-18.1) does not have it: build NEW with it (--with) or leave it out of OLD");
        pgimg_error_free (&err);

        /* A usr inside the root is found, through an in-root symlink too. */
        assert_int_equal (unlink (usr), 0);
        {
                cleanup_free char *real = NULL;
                assert_true (asprintf (&real, "%s/real-usr", root) > 0);
                put_control (real, "probe");
        }
        assert_int_equal (symlink ("/real-usr", usr), 0);
        assert_int_equal (check (root, "migration\textension\tprobe\nmigration\tlanguage\tplpgsql\n", &err), 0);

        assert_int_equal (fs_rm_rf (root, &err), 0);
        assert_int_equal (fs_rm_rf (host, &err), 0);
}

/* pg_upgrade needs OLD's installed version of an extension whose recipe
 * says same_version: NEW has only 2.19.3's script, OLD has 2.17.0. */
static void
same_version_is_checked_before_pg_upgrade (void **state)
{
        cleanup_free char *root = make_temp_dir ();
        struct mig_ext exts[] = { { .name = "timescaledb", .same_version = "its library is named after its version" } };
        struct mig_opts o = { .exts = exts, .n_exts = 1 };
        struct mig_report r = { 0 };
        struct mig m = { .o = &o, .r = &r };
        pgimg_error_t err = NULL;
        (void) state;

        o.new_img.label = "postgres-18.1";
        o.new_img.rootfs = root;
        o.new_img.major = 18;
        {
                static const char control[] = "default_version = '2.19.3'\n";
                cleanup_free char *dir = NULL;
                cleanup_free char *file = NULL;
                cleanup_free char *ctl = NULL;
                assert_true (asprintf (&dir, "%s/usr/" EXT_DIR, root) > 0);
                assert_true (asprintf (&file, "%s/timescaledb--2.19.3.sql", dir) > 0);
                assert_true (asprintf (&ctl, "%s/timescaledb.control", dir) > 0);
                assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
                assert_int_equal (fs_write_file_atomic (file, "-- 2.19.3\n", 10, 0644, &err), 0);
                /* 2.17.0's script without its library (the control file's
                 * default is 2.19.3, no timescaledb--2.17.0.control):
                 * Debian's repmgr 5.5 ships 5.2's script so. */
                free (file);
                assert_true (asprintf (&file, "%s/timescaledb--2.17.0.sql", dir) > 0);
                assert_int_equal (fs_write_file_atomic (file, "-- 2.17.0\n", 10, 0644, &err), 0);
                assert_int_equal (fs_write_file_atomic (ctl, control, strlen (control), 0644, &err), 0);
        }
        assert_true (mig_check_same_versions (&m, "migration\textension\ttimescaledb\t2.17.0\tpublic\n", &err) < 0);
        assert_string_equal (err->msg, "pg_upgrade cannot carry timescaledb 2.17.0 (database migration): NEW "
                             "(postgres-18.1) does not have version 2.17.0, and its library is named after its "
                             "version; use pg_dumpall, or build NEW with timescaledb 2.17.0");
        pgimg_error_free (&err);
        /* Another extension, or the version NEW has, passes. */
        assert_int_equal (mig_check_same_versions (&m, "migration\textension\ttimescaledb\t2.19.3\tpublic\n"
                                                   "migration\textension\tvector\t0.8.0\tpublic\n", &err), 0);
        assert_int_equal (fs_rm_rf (root, &err), 0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (extensions_are_looked_up_inside_the_root),
                cmocka_unit_test (same_version_is_checked_before_pg_upgrade),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
