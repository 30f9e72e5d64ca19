/* Versions side by side: a layer's tree as semver 0.40.0 installs it
 * (scripts in a directory of their own, MODULE_PATHNAME) and as Debian's
 * 0.32.0 does (AS 'semver') comes out with a versioned module, a secondary
 * control file naming it, and scripts that say MODULE_PATHNAME; a
 * preloaded library and a self-versioned one stay as they are. */
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

#include "builder/ext_side.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

static void
put (const char *root, const char *rel, const char *text)
{
        cleanup_free char *path = NULL, *dir = NULL;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&path, "%s/%s", root, rel) > 0);
        dir = fs_dir_of (path);
        assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
        assert_int_equal (fs_write_file_atomic (path, text, strlen (text), 0644, &err), 0);
}

/* The file's text (malloc'ed), or NULL when there is none. */
static char *
get (const char *root, const char *rel)
{
        cleanup_free char *path = NULL;
        struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&path, "%s/%s", root, rel) > 0);
        if (fs_read_file (path, 1 << 20, &b, &err) < 0) {
                pgimg_error_free (&err);
                return NULL;
        }
        return buf_detach (&b, NULL);
}

/* The file holds exactly want. */
static void
expect_text (const char *root, const char *rel, const char *want)
{
        cleanup_free char *text = get (root, rel);

        assert_non_null (text);
        assert_string_equal (text, want);
}

static void
control_values (void **state)
{
        static const char text[] = "# semver\ncomment = 'Semantic version data type'\n"
                                   "default_version = '0.40.0'\ndirectory = 'semver'\n"
                                   "module_pathname='$libdir/semver'\nrelocatable = true # yes\n"
                                   "default_version = '0.40.1'\nx = 'it''s'";
        char v[64];

        (void) state;
        assert_int_equal (ext_side_control_value (text, strlen (text), "default_version", v, sizeof (v)), 1);
        assert_string_equal (v, "0.40.1");
        assert_int_equal (ext_side_control_value (text, strlen (text), "module_pathname", v, sizeof (v)), 1);
        assert_string_equal (v, "$libdir/semver");
        assert_int_equal (ext_side_control_value (text, strlen (text), "relocatable", v, sizeof (v)), 1);
        assert_string_equal (v, "true");
        assert_int_equal (ext_side_control_value (text, strlen (text), "x", v, sizeof (v)), 1);
        assert_string_equal (v, "it's");
        assert_int_equal (ext_side_control_value (text, strlen (text), "schema", v, sizeof (v)), 0);
        assert_int_equal (ext_side_control_value (text, strlen (text), "comment", v, 8), -1);
}

static void
scripts_say_module_pathname (void **state)
{
        static const char text[] = "CREATE FUNCTION a() RETURNS int AS 'semver' LANGUAGE C;\n"
                                   "CREATE FUNCTION b() RETURNS int\n  AS\n\t'$libdir/semver', 'b' LANGUAGE C;\n"
                                   "SELECT 'semver', 'semverx' AS 'semver2', has 'semver';\n";
        cleanup_buf struct buf out = BUF_INIT;

        (void) state;
        assert_int_equal (ext_side_script_rewrite (text, strlen (text), "semver", "semver", 0, &out), 2);
        assert_string_equal (out.data, "CREATE FUNCTION a() RETURNS int AS 'MODULE_PATHNAME' LANGUAGE C;\n"
                                       "CREATE FUNCTION b() RETURNS int\n  AS\n\t'MODULE_PATHNAME', 'b' LANGUAGE C;\n"
                                       "SELECT 'semver', 'semverx' AS 'semver2', has 'semver';\n");
        buf_reset (&out);
        assert_int_equal (ext_side_script_rewrite ("", 0, "postgis", "postgis-3", 1, &out), 0);
        assert_non_null (strstr (out.data, "SET probin = 'MODULE_PATHNAME'"));
        assert_non_null (strstr (out.data, "probin ~ '^([$]libdir/)?postgis[-]3(-[^/]+)?$'"));
        assert_non_null (strstr (out.data, "WHERE extname = 'postgis')"));
        assert_int_equal (ext_side_script_rewrite ("", 0, "x'y", "x", 1, &out), -1);
        assert_int_equal (errno, EINVAL);
}

static void
layer_tree_side_by_side (void **state)
{
        char tmp[] = "/tmp/pgimg-test-side-XXXXXX";
        cleanup_free char *link = NULL, *primary = NULL, *second = NULL, *update = NULL;
        char cron_name[] = "pg_cron";
        char *const preload[] = { cron_name, NULL };
        pgimg_error_t err = NULL;
        char target[64];
        ssize_t n;

        (void) state;
        assert_non_null (mkdtemp (tmp));
        put (tmp, "usr/lib/postgresql/15/lib/semver.so", "ELF");
        put (tmp, "usr/lib/postgresql/15/lib/pg_cron.so", "ELF");
        put (tmp, "usr/lib/postgresql/15/share/extension/semver.control",
             "comment = 'semver'\ndefault_version = '0.40.0'\ndirectory = 'semver'\n"
             "module_pathname = '$libdir/semver'\nrelocatable = true\n");
        put (tmp, "usr/lib/postgresql/15/share/semver/semver--0.40.0.sql", "AS 'MODULE_PATHNAME'\n");
        put (tmp, "usr/lib/postgresql/15/share/semver/semver--0.32.1--0.40.0.sql", "SELECT 1;\n");
        put (tmp, "usr/lib/postgresql/15/share/semver/semver--0.31.0--0.31.1.sql", "AS '$libdir/semver'\n");
        assert_int_equal (ext_side_by_side (tmp, "15", "0.40.0", preload, &err), 0);

        expect_text (tmp, "usr/lib/postgresql/15/lib/semver-0.40.0.so", "ELF");
        assert_true (asprintf (&link, "%s/usr/lib/postgresql/15/lib/semver.so", tmp) > 0);
        n = readlink (link, target, sizeof (target) - 1);
        assert_true (n > 0);
        target[n] = '\0';
        assert_string_equal (target, "semver-0.40.0.so");
        expect_text (tmp, "usr/lib/postgresql/15/lib/pg_cron.so", "ELF");
        assert_null (get (tmp, "usr/lib/postgresql/15/lib/pg_cron-0.40.0.so"));

        primary = get (tmp, "usr/lib/postgresql/15/share/extension/semver.control");
        assert_non_null (primary);
        assert_null (strstr (primary, "directory"));
        assert_non_null (strstr (primary, "default_version = '0.40.0'"));
        assert_non_null (strstr (primary, "\nmodule_pathname = '$libdir/semver-0.40.0'\n"));
        second = get (tmp, "usr/lib/postgresql/15/share/extension/semver--0.40.0.control");
        assert_non_null (second);
        assert_null (strstr (second, "default_version"));
        assert_non_null (strstr (second, "relocatable = true"));
        assert_non_null (strstr (second, "\nmodule_pathname = '$libdir/semver-0.40.0'\n"));

        expect_text (tmp, "usr/lib/postgresql/15/share/extension/semver--0.40.0.sql", "AS 'MODULE_PATHNAME'\n");
        update = get (tmp, "usr/lib/postgresql/15/share/extension/semver--0.32.1--0.40.0.sql");
        assert_non_null (update);
        assert_non_null (strstr (update, "UPDATE pg_catalog.pg_proc SET probin = 'MODULE_PATHNAME'"));
        expect_text (tmp, "usr/lib/postgresql/15/share/extension/semver--0.31.0--0.31.1.sql", "AS 'MODULE_PATHNAME'\n");
        assert_int_equal (fs_rm_rf (tmp, &err), 0);
}

static void
self_versioned_and_bad_version (void **state)
{
        char tmp[] = "/tmp/pgimg-test-side-XXXXXX";
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (mkdtemp (tmp));
        put (tmp, "usr/lib/postgresql/17/lib/timescaledb.so", "loader");
        put (tmp, "usr/lib/postgresql/17/lib/timescaledb-2.17.2.so", "module");
        assert_int_equal (ext_side_by_side (tmp, "17", "2.17.2", NULL, &err), 0);
        expect_text (tmp, "usr/lib/postgresql/17/lib/timescaledb.so", "loader");
        assert_true (ext_side_by_side (tmp, "17", "1.0'; DROP", NULL, &err) < 0);
        assert_non_null (strstr (err->msg, "version `1.0'; DROP` cannot name a library"));
        pgimg_error_free (&err);
        assert_int_equal (fs_rm_rf (tmp, &err), 0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (control_values),
                cmocka_unit_test (scripts_say_module_pathname),
                cmocka_unit_test (layer_tree_side_by_side),
                cmocka_unit_test (self_versioned_and_bad_version),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
