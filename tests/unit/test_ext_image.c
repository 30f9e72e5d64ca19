/* The extension image's layout: `$libdir/` taken out of control and SQL
 * files, the control file's version, the refusal before 18, and an
 * extension layer's tree laid out as an image volume holds it. */
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

#include "builder/ext_image.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

static void
libdir_is_taken_out (void **state)
{
        static const char sql[] = "AS '$libdir/vector', 'f'; AS 'MODULE_PATHNAME'; $libdir";
        cleanup_buf struct buf out = BUF_INIT;
        (void) state;

        assert_int_equal (ext_image_strip_libdir (sql, strlen (sql), &out), 1);
        assert_string_equal (out.data, "AS 'vector', 'f'; AS 'MODULE_PATHNAME'; $libdir");
        buf_reset (&out);
        assert_int_equal (ext_image_strip_libdir ("plain", 5, &out), 0);
        assert_int_equal (out.len, 5);
}

static void
control_version_is_read (void **state)
{
        static const char ctl[] = "comment = 'x'\n default_version= '1.4.4'\nmodule_pathname = '$libdir/x'\n";
        char *v = NULL;
        (void) state;

        assert_int_equal (ext_image_control_version (ctl, strlen (ctl), &v), 0);
        assert_string_equal (v, "1.4.4");
        free (v);
        assert_int_equal (ext_image_control_version ("default_version = '1", 19, &v), 0);
        assert_null (v);
}

static void
majors_before_18_are_refused (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (ext_image_check_major ("18", &err), 0);
        assert_true (ext_image_check_major ("17", &err) < 0);
        assert_non_null (strstr (err->msg, "PostgreSQL 17 has no extension_control_path (new in 18)"));
        assert_non_null (strstr (err->msg, "--major 18"));
        pgimg_error_free (&err);
}

static void
put (const char *root, const char *rel, const char *text)
{
        char *path = NULL, *dir;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&path, "%s/%s", root, rel) > 0);
        dir = strdup (path);
        *strrchr (dir, '/') = '\0';
        assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
        assert_int_equal (fs_write_file_atomic (path, text, strlen (text), 0644, &err), 0);
        free (dir);
        free (path);
}

static char *
slurp (const char *root, const char *rel)
{
        cleanup_free char *path = NULL;
        struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&path, "%s/%s", root, rel) > 0);
        assert_int_equal (fs_read_file (path, 1 << 20, &b, &err), 0);
        return buf_detach (&b, NULL);
}

static int
exists_in (const char *root, const char *rel)
{
        cleanup_free char *path = NULL;

        assert_true (asprintf (&path, "%s/%s", root, rel) > 0);
        return fs_exists (path);
}

static void
layer_is_laid_out (void **state)
{
        char tmp[] = "/tmp/pgimg-test-extimg-XXXXXX";
        cleanup_free char *src = NULL, *dst = NULL, *lic = NULL, *sql = NULL, *ctl = NULL, *so = NULL;
        char **rewritten = NULL, *version = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_non_null (mkdtemp (tmp));
        assert_true (asprintf (&src, "%s/src", tmp) > 0 && asprintf (&dst, "%s/dst", tmp) > 0
                     && asprintf (&lic, "%s/lic", tmp) > 0);
        put (src, "usr/lib/postgresql/18/lib/hypo.so", "ELF");
        put (src, "usr/lib/postgresql/18/lib/bitcode/hypo/a.bc", "BC");
        put (src, "usr/lib/postgresql/18/share/extension/hypo.control",
             "default_version = '1.0'\nmodule_pathname = '$libdir/hypo'\n");
        put (src, "usr/lib/postgresql/18/share/extension/hypo--1.0.sql", "AS '$libdir/hypo', 'f';\n");
        put (src, "usr/lib/postgresql/18/share/extension/hypo--0.9--1.0.sql", "SELECT 1;\n");
        put (src, "usr/lib/x86_64-linux-gnu/libfoo.so.1", "LIB");
        put (src, "usr/lib/x86_64-linux-gnu/sasl2/libplugin.so", "PLUGIN");
        put (src, "usr/lib/libscrypt.so.0", "NOT MULTIARCH");
        put (lic, "hypo/LICENSE", "terms");

        assert_int_equal (ext_image_tree (src, "18", "hypo", lic, dst, &rewritten, &version, &err), 0);
        assert_string_equal (version, "1.0");
        assert_non_null (rewritten);
        assert_string_equal (rewritten[0], "share/extension/hypo--1.0.sql");
        assert_string_equal (rewritten[1], "share/extension/hypo.control");
        assert_null (rewritten[2]);
        assert_non_null (so = slurp (dst, "lib/hypo.so"));
        assert_true (exists_in (dst, "lib/bitcode/hypo/a.bc"));
        assert_non_null (sql = slurp (dst, "share/extension/hypo--1.0.sql"));
        assert_string_equal (sql, "AS 'hypo', 'f';\n");
        assert_non_null (ctl = slurp (dst, "share/extension/hypo.control"));
        assert_non_null (strstr (ctl, "module_pathname = 'hypo'"));
        assert_true (exists_in (dst, "system/libfoo.so.1"));
        assert_false (exists_in (dst, "system/libplugin.so"));
        assert_true (exists_in (dst, "system/libscrypt.so.0"));
        assert_true (exists_in (dst, "licenses/hypo/LICENSE"));
        strv_free (rewritten);
        free (version);
        assert_int_equal (fs_rm_rf (tmp, &err), 0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (libdir_is_taken_out),
                cmocka_unit_test (control_version_is_read),
                cmocka_unit_test (majors_before_18_are_refused),
                cmocka_unit_test (layer_is_laid_out),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
