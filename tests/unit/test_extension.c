/* Extension recipes and --with lists: the real recipes in extensions/
 * load; every way a recipe or a --with item can be wrong gives the
 * message a user would see; smoke-test TAP is judged as pg_prove would;
 * the ELF check reads a real binary's libraries.  Run from the
 * repository root. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/build.h"
#include "builder/elfcheck.h"
#include "builder/extension.h"
#include "builder/recipe.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/left_out.h"
#include "runner/matrix_doc.h"
#include "runner/smoke.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A valid recipe with one source version and one Debian build. */
static const char good[] =
        "{\"name\": \"demo\", \"summary\": \"a demo\", \"license\": \"MIT\",\n"
        " \"homepage\": \"https://example.org\", \"build\": \"pgxs\",\n"
        " \"majors\": [\"15\", \"17\"], \"default_version\": {\"15\": \"1.0\", \"17\": \"1.10\"},\n"
        " \"extensions\": [\"demo\"], \"shared_preload_libraries\": [\"demo\"],\n"
        " \"unsupported\": {\"13\": \"needs 14\", \"17-image\": \"reads its own files\"},\n"
        " \"versions\": {\n"
        "  \"1.0\": {\"sha256\": \"" SHA_A "\", \"urls\": [\"https://example.org/demo-1.0.tar.gz\"]},\n"
        "  \"1.10\": {\"debs\": {\"17\": [{\"url\": \"http://deb/a.deb\", \"sha256\": \"" SHA_A "\"},\n"
        "                              {\"url\": \"http://deb/b.deb\", \"sha256\": \"" SHA_B "\"}]}}\n"
        " }}\n";

static int
load (const char *text, struct ext_recipe *r, pgimg_error_t *err)
{
        return ext_recipe_load_buf (text, strlen (text), "extensions/demo.json", r, err);
}

static void
good_recipe_loads (void **state)
{
        struct ext_recipe r;
        pgimg_error_t err = NULL;
        const struct ext_version *v;

        (void) state;
        assert_int_equal (load (good, &r, &err), 0);
        assert_string_equal (r.name, "demo");
        assert_int_equal (r.build, EXT_BUILD_PGXS);
        assert_string_equal (ext_recipe_unsupported (&r, "13"), "needs 14");
        assert_string_equal (ext_recipe_unsupported (&r, "17-image"), "reads its own files");
        assert_null (ext_recipe_unsupported (&r, "17"));
        assert_int_equal (r.n_versions, 2);
        /* Debian version order: 1.10 is newer than 1.0, and first. */
        assert_string_equal (r.versions[0].version, "1.10");
        assert_int_equal (r.versions[0].n_debs, 2);
        assert_string_equal (r.versions[0].majors[0], "17");
        assert_null (r.versions[0].majors[1]);
        assert_string_equal (r.versions[1].majors[1], "17");
        assert_int_equal (ext_recipe_pick (&r, NULL, "15", &v, &err), 0);
        assert_string_equal (v->version, "1.0");
        assert_int_equal (ext_recipe_pick (&r, NULL, "17", &v, &err), 0);
        assert_string_equal (v->version, "1.10");
        assert_non_null (ext_version_deb (v, "17"));
        assert_null (ext_version_deb (v, "15"));
        /* The canonical form leaves out the other version and the summary. */
        assert_null (strstr (r.versions[0].canonical, SHA_A "\",\"urls"));
        assert_null (strstr (r.versions[0].canonical, "a demo"));
        ext_recipe_free (&r);
}

static void
pick_errors_name_extension_version_and_major (void **state)
{
        struct ext_recipe r;
        pgimg_error_t err = NULL;
        const struct ext_version *v;

        (void) state;
        assert_int_equal (load (good, &r, &err), 0);
        assert_true (ext_recipe_pick (&r, "1.10", "15", &v, &err) < 0);
        assert_string_equal (err->msg, "extension `demo@1.10` does not support PostgreSQL 15; pinned: 1.10 (17), 1.0 (15, 17)");
        pgimg_error_free (&err);
        assert_true (ext_recipe_pick (&r, NULL, "13", &v, &err) < 0);
        assert_int_equal (err->status, ENOTSUP);
        assert_non_null (strstr (err->msg, "does not support PostgreSQL 13"));
        pgimg_error_free (&err);
        assert_true (ext_recipe_pick (&r, "2.0", "17", &v, &err) < 0);
        assert_string_equal (err->msg, "extension `demo`: version 2.0 is not pinned (for PostgreSQL 17); pinned: 1.10 (17), 1.0 (15, 17)");
        pgimg_error_free (&err);
        ext_recipe_free (&r);
}

static void
bad_recipes_are_refused (void **state)
{
        static const struct { const char *from, *to, *message; } cases[] = {
                { "\"build\": \"pgxs\"", "\"build\": \"scons\"", "field `build` `scons` is not one of pgxs" },
                { "\"summary\"", "\"sumary\"", "unknown field `sumary`" },
                { SHA_A "\", \"urls\"", "abc\", \"urls\"", "sha256 must be 64 lowercase hex digits" },
                { "\"17\": \"1.10\"}", "\"17\": \"9.9\"}", "`9.9` (for 17) is not one of versions" },
                { "\"15\": \"1.0\"", "\"15\": \"1.10\"", "`1.10` does not build for 15" },
                { "\"name\": \"demo\"", "\"name\": \"other\"", "the file is not named other.json" },
                { "\"majors\": [\"15\", \"17\"]", "\"majors\": [\"015\"]", "is not a major" },
                { "\"1.0\": {\"sha256\"", "\"1.0\": {\"debs\": {}, \"sha256\"", "has both a source" },
                { "https://example.org/demo", "ftp://example.org/demo", "is not an http:// or https:// URL" },
                { "\"13\": \"needs 14\"", "\"15\": \"needs 14\"", "`15`: a version builds for 15" },
                { "\"17-image\"", "\"13-image\"", "`13-image`: no version builds for 13" },
                { "\"17-image\"", "\"17-docker\"", "`17-docker` is not a major" },
                { "\"needs 14\"", "\"a | b\"", "one line of text without `|`" },
        };
        (void) state;
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                cleanup_free char *text = malloc (sizeof (good) + 64);
                const char *at = strstr (good, cases[i].from);
                struct ext_recipe r;
                pgimg_error_t err = NULL;
                assert_non_null (at);
                snprintf (text, sizeof (good) + 64, "%.*s%s%s", (int) (at - good), good, cases[i].to,
                          at + strlen (cases[i].from));
                assert_true (load (text, &r, &err) < 0);
                if (strstr (err->msg, cases[i].message) == NULL)
                        fail_msg ("case %zu: `%s` lacks `%s`", i, err->msg, cases[i].message);
                assert_non_null (strstr (err->msg, "extensions/demo.json"));
                pgimg_error_free (&err);
        }
}

static void
real_recipes_load_and_resolve (void **state)
{
        struct ext_recipe *rs = NULL;
        struct extension_pick *picks = NULL;
        size_t n = 0, n_picks = 0;
        pgimg_error_t err = NULL;
        const char *items[] = { "pg_cron", "hypopg", "pg_cron", NULL };
        const char *unknown[] = { "no_such_ext", NULL };
        const char *bad[] = { "pg_cron@", NULL };
        const char *sbs[] = { "semver@0.40.0", "hypopg", "semver@0.32.0", NULL };

        (void) state;
        if (ext_recipe_load_all ("extensions", &rs, &n, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_true (n >= 16);
        for (size_t i = 1; i < n; i++)
                assert_true (strcmp (rs[i - 1].name, rs[i].name) < 0);
        /* Duplicates merge; the result is sorted by name. */
        assert_int_equal (extension_resolve (rs, n, items, "17", &picks, &n_picks, &err), 0);
        assert_int_equal (n_picks, 2);
        assert_string_equal (picks[0].recipe->name, "hypopg");
        assert_string_equal (picks[1].recipe->name, "pg_cron");
        assert_false (picks[0].side_by_side || picks[1].side_by_side);
        free (picks);
        /* Two versions of one recipe: both layers version their modules,
         * the other extension's does not; the newest is on top. */
        assert_int_equal (extension_resolve (rs, n, sbs, "15", &picks, &n_picks, &err), 0);
        assert_int_equal (n_picks, 3);
        assert_string_equal (picks[1].version->version, "0.32.0");
        assert_string_equal (picks[2].version->version, "0.40.0");
        assert_true (!picks[0].side_by_side && picks[1].side_by_side && picks[2].side_by_side);
        free (picks);
        assert_true (extension_resolve (rs, n, unknown, "17", &picks, &n_picks, &err) < 0);
        assert_non_null (strstr (err->msg, "unknown extension `no_such_ext`"));
        pgimg_error_free (&err);
        assert_true (extension_resolve (rs, n, bad, "17", &picks, &n_picks, &err) < 0);
        assert_non_null (strstr (err->msg, "expected NAME or NAME@VERSION"));
        pgimg_error_free (&err);
        ext_recipes_free (rs, n);
}

/* Which extensions of the real recipes build for arm64: Debian's arm64
 * builds (bookworm's for 15, bullseye's for 13), PGXS whose build
 * packages the real cross lock's set `build` has (pgtap's patch); the
 * others say why. */
static void
arm64_support_of_real_recipes (void **state)
{
        static const struct { const char *item, *major, *reason; int no_lock; } cases[] = {
                { "pg_cron", "18", NULL, 0 },
                { "pgvector", "18", NULL, 0 },
                { "pg_partman", "18", NULL, 0 },
                { "pgtap", "18", NULL, 0 },
                { "pg_cron", "15", NULL, 0 },
                { "wal2json", "13", NULL, 0 },
                { "pldebugger", "15", "no Debian arm64 build for PostgreSQL 15 is pinned; add it to debs_arm64", 0 },
                { "hll", "15", NULL, 0 },
                { "pgtap", "18", "its build package `patch` is not in set `build` of the cross toolchain's lock", 1 },
                { "postgis", "18", "which is not cross-built for arm64 yet", 0 },
        };
        struct ext_recipe *rs = NULL;
        struct lock host;
        size_t n = 0;
        pgimg_error_t err = NULL;

        (void) state;
        if (ext_recipe_load_all ("extensions", &rs, &n, &err) < 0)
                fail_msg ("%s", err->msg);
        if (lock_load ("lock/trixie-amd64-cross-arm64.lock.json", &host, &err) < 0)
                fail_msg ("%s", err->msg);
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                const char *items[] = { cases[i].item, NULL };
                struct extension_pick *picks = NULL;
                size_t n_picks = 0;
                int rc;
                if (extension_resolve (rs, n, items, cases[i].major, &picks, &n_picks, &err) < 0)
                        fail_msg ("%s", err->msg);
                rc = extension_cross_supported (&picks[n_picks - 1], cases[i].major, "arm64",
                                                cases[i].no_lock ? NULL : &host, &err);
                free (picks);
                if (cases[i].reason == NULL && rc < 0)
                        fail_msg ("%s for %s: %s", cases[i].item, cases[i].major, err->msg);
                if (cases[i].reason != NULL) {
                        assert_true (rc < 0);
                        if (strstr (err->msg, cases[i].reason) == NULL || strstr (err->msg, cases[i].item) == NULL)
                                fail_msg ("%s for %s: %s", cases[i].item, cases[i].major, err->msg);
                        pgimg_error_free (&err);
                }
        }
        lock_free (&host);
        ext_recipes_free (rs, n);
}

static void
image_sets_load (void **state)
{
        cleanup_strv char **items = NULL;
        cleanup_strv char **full = NULL;
        struct ext_recipe *rs = NULL;
        size_t n = 0;
        pgimg_error_t err = NULL;

        (void) state;
        if (ext_image_set_load ("images/default.json", &items, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_non_null (items);
        assert_non_null (items[0]);
        /* pg_cron is in the default set; the full set names every recipe. */
        int cron = 0;
        for (char **p = items; *p; p++)
                cron |= strcmp (*p, "pg_cron") == 0;
        assert_true (cron);
        assert_int_equal (ext_image_set_load ("images/full.json", &full, &err), 0);
        assert_int_equal (ext_recipe_load_all ("extensions", &rs, &n, &err), 0);
        for (size_t i = 0; i < n; i++) {
                int listed = 0;
                for (char **p = full; *p; p++)
                        listed |= strcmp (*p, rs[i].name) == 0;
                if (!listed)
                        fail_msg ("images/full.json lacks `%s`", rs[i].name);
        }
        ext_recipes_free (rs, n);
}

static void
tap_is_judged (void **state)
{
        static const char pass[] = " 1..3\n ok 1 - a\n ok 2 - b # SKIP no\nok 3\n";
        static const char fail[] = "1..3\nok 1 - a\nnot ok 2 - b\n# Failed test 2: \"b\"\n#     have: 1\n#     want: 2\nok 3\n";
        static const char short_run[] = "1..3\nok 1\nok 2\n";
        static const char no_plan[] = "ok 1\n";
        struct smoke_tap t;

        (void) state;
        smoke_tap_parse (pass, strlen (pass), &t);
        assert_true (smoke_tap_ok (&t));
        assert_int_equal (t.skipped, 1);
        buf_release (&t.failures);
        smoke_tap_parse (fail, strlen (fail), &t);
        assert_false (smoke_tap_ok (&t));
        assert_int_equal (t.failed, 1);
        assert_non_null (strstr (t.failures.data, "want: 2"));
        buf_release (&t.failures);
        smoke_tap_parse (short_run, strlen (short_run), &t);
        assert_false (smoke_tap_ok (&t));
        buf_release (&t.failures);
        smoke_tap_parse (no_plan, strlen (no_plan), &t);
        assert_false (smoke_tap_ok (&t));
        buf_release (&t.failures);
}

/* A failure's reason is the line that says why, not a NOTICE before it. */
static void
reasons_name_the_error (void **state)
{
        static const char psql_err[] = "NOTICE:  database \"smoke\" does not exist, skipping\n"
                                       "psql:<stdin>:8: ERROR:  extension \"x\" has no installation script\n";
        static const char lost[] = "NOTICE:  n\npsql:<stdin>:14: error: connection to server was lost\n";
        static const char log[] = "gcc -c a.c\nIn file included from a.c:1:\n"
                                  "a.c:12:5: error: implicit declaration of function 'f'\n"
                                  "make: *** [a.o] Error 1\n";
        char path[] = "/tmp/pgimg-test-log-XXXXXX", why[40];
        int fd;

        (void) state;
        assert_string_equal (smoke_error_line (psql_err), psql_err + strcspn (psql_err, "\n") + 1);
        assert_string_equal (smoke_error_line (lost), "psql:<stdin>:14: error: connection to server was lost\n");
        assert_string_equal (smoke_error_line ("just this\n"), "just this\n");
        assert_true ((fd = mkstemp (path)) >= 0);
        assert_int_equal (write (fd, log, strlen (log)), (ssize_t) strlen (log));
        close (fd);
        assert_int_equal (build_log_error (path, why, sizeof (why)), 39);
        assert_string_equal (why, "a.c:12:5: error: implicit declaration o");
        assert_true ((fd = open (path, O_WRONLY | O_TRUNC)) >= 0);
        assert_int_equal (write (fd, "x\n/bin/sh: 1: ./autogen.sh: not found\n", 38), 38);
        close (fd);
        assert_true (build_log_error (path, why, sizeof (why)) > 0);
        assert_string_equal (why, "/bin/sh: 1: ./autogen.sh: not found");
        unlink (path);
        assert_int_equal (build_log_error (path, why, sizeof (why)), 0);
        assert_string_equal (why, "");
}

/* Every ✅ and ❌ cell of the real matrix reads back as one result line;
 * a column that is not a major is refused. */
static void
matrix_cells_read_back (void **state)
{
        cleanup_buf struct buf doc = BUF_INIT, lines = BUF_INIT, small = BUF_INIT;
        pgimg_error_t err = NULL;
        size_t cells = 0, n = 0;
        static const char table[] = "| extension | version | 17 | 18 image |\n|---|---|---|---|\n"
                                    "| a | 1.0 | \xe2\x9c\x85 Debian build (17.11) | \xe2\x9d\x8c test fails: ERROR:  x |\n";
        static const char bad[] = "| extension | version | 17 | eighteen |\n";

        (void) state;
        assert_int_equal (fs_read_file ("docs/extensions.md", 0, &doc, &err), 0);
        for (const char *p = doc.data; (p = strstr (p, "| \xe2\x9c\x85 ")); p++)
                cells++;
        for (const char *p = doc.data; (p = strstr (p, "| \xe2\x9d\x8c ")); p++)
                cells++;
        assert_int_equal (matrix_doc_results (doc.data, doc.len, &lines, &err), 0);
        for (const char *p = lines.data; p && (p = strchr (p, '\n')); p++)
                n++;
        assert_int_equal (n, cells);
        assert_int_equal (matrix_doc_results (table, strlen (table), &small, &err), 0);
        assert_string_equal (small.data, "17\t17.11\ta\t1.0\tdebian\tpassed\t\n"
                                         "18-image\t-\ta\t1.0\tsource\tfailed\tERROR:  x\n");
        assert_int_equal (matrix_doc_results (bad, strlen (bad), &small, &err), -EINVAL - 1);
        assert_non_null (strstr (err->msg, "`eighteen`"));
        pgimg_error_free (&err);
}

/* extensions/left-out.tsv parses, sorted, every package named once and
 * none with a recipe; each kind of bad line is refused naming the file,
 * the line and what to write. */
static void
left_out_lines (void **state)
{
        cleanup_buf struct buf doc = BUF_INIT;
        struct left_out *lo = NULL;
        pgimg_error_t err = NULL;
        size_t n = 0;
        static const char ok[] = "# comment\npg-x\tneeds libfoo\r\n\nabc+1.2\ta client\n";
        static const struct {
                const char *text, *want;
        } bad[] = {
                { "pg_x\tneeds libfoo\n", "`t.tsv` line 1: expected `source-package<TAB>reason`" },
                { "\n\nno-tab here\n", "`t.tsv` line 3: expected" },
                { "Pg-x\tr\n", "line 1: expected" },
                { "pg-x\t\n", "`t.tsv` line 1 (pg-x): an empty reason" },
                { "pg-x\ta | b\n", "a '|' in the reason" },
                { "pg-x\ta\tb\n", "a tab or control character" },
                { "pg-x\t a\n", "spaces around the reason" },
                { "pg-x\ta\npg-y\tb\npg-x\tc\n", "`t.tsv`: `pg-x` is listed twice; keep one line" },
                { "pg-x\ta\0b\n", "line 1: a NUL byte" },
        };

        (void) state;
        assert_int_equal (left_out_parse (ok, strlen (ok), "t.tsv", &lo, &n, &err), 0);
        assert_int_equal (n, 2);
        assert_string_equal (lo[0].package, "abc+1.2");
        assert_string_equal (lo[1].package, "pg-x");
        assert_string_equal (lo[1].reason, "needs libfoo");
        left_out_free (lo, n);
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                size_t len = strlen (bad[i].text);
                if (strstr (bad[i].want, "NUL"))
                        len = 9;        /* past the NUL */
                lo = NULL;
                assert_true (left_out_parse (bad[i].text, len, "t.tsv", &lo, &n, &err) < 0);
                assert_null (lo);
                if (strstr (err->msg, bad[i].want) == NULL)
                        fail_msg ("%s: %s", bad[i].want, err->msg);
                pgimg_error_free (&err);
        }
        assert_int_equal (fs_read_file ("extensions/left-out.tsv", 0, &doc, &err), 0);
        assert_int_equal (left_out_parse (doc.data, doc.len, "extensions/left-out.tsv", &lo, &n, &err), 0);
        assert_true (n > 0);
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *path = NULL;
                assert_true (asprintf (&path, "extensions/%s.json", lo[i].package) > 0);
                assert_false (fs_exists (path));
        }
        left_out_free (lo, n);
}

static void
elf_needed_of_a_real_binary (void **state)
{
        cleanup_buf struct buf needed = BUF_INIT;
        pgimg_error_t err = NULL;
        char dir[] = "/tmp/pgimg-test-elf-XXXXXX";
        const char *roots[] = { "/", NULL };
        const char *none[] = { NULL };
        cleanup_free char *copy = NULL;
        cleanup_free char *sh = realpath ("/bin/sh", NULL);
        int found = 0;

        (void) state;
        assert_non_null (sh);
        assert_int_equal (elfcheck_needed (sh, &needed, &err), 0);
        for (size_t off = 0; off < needed.len; off += strlen (needed.data + off) + 1)
                found |= strcmp (needed.data + off, "libc.so.6") == 0;
        assert_true (found);
        /* Not ELF: nothing, no error. */
        buf_release (&needed);
        assert_int_equal (elfcheck_needed ("Makefile", &needed, &err), 0);
        assert_int_equal (needed.len, 0);

        assert_non_null (mkdtemp (dir));
        assert_true (asprintf (&copy, "%s/sh", dir) > 0);
        assert_int_equal (fs_copy_file (sh, copy, &err), 0);
        /* Against the host's libraries it resolves; alone it does not. */
        assert_int_equal (elfcheck_tree (dir, roots, &err), 0);
        assert_true (elfcheck_tree (dir, none, &err) < 0);
        assert_non_null (strstr (err->msg, "`/sh` needs `libc.so.6`, which is not in the image"));
        pgimg_error_free (&err);
        /* The host's sh is x86-64: fine in an amd64 image, refused in an
         * arm64 one, whatever its libraries. */
        assert_int_equal (elfcheck_tree_arch (dir, roots, "amd64", &err), 0);
        assert_true (elfcheck_tree_arch (dir, roots, "arm64", &err) < 0);
        assert_string_equal (err->msg, "`/sh` is x86-64 machine code; an image for arm64 cannot run it");
        pgimg_error_free (&err);
        assert_true (elfcheck_tree_arch (dir, roots, "s390x", &err) < 0);
        assert_non_null (strstr (err->msg, "no ELF check for architecture `s390x`"));
        pgimg_error_free (&err);
        fs_rm_rf (dir, &err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (good_recipe_loads),
                cmocka_unit_test (arm64_support_of_real_recipes),
                cmocka_unit_test (pick_errors_name_extension_version_and_major),
                cmocka_unit_test (bad_recipes_are_refused),
                cmocka_unit_test (real_recipes_load_and_resolve),
                cmocka_unit_test (image_sets_load),
                cmocka_unit_test (tap_is_judged),
                cmocka_unit_test (reasons_name_the_error),
                cmocka_unit_test (matrix_cells_read_back),
                cmocka_unit_test (left_out_lines),
                cmocka_unit_test (elf_needed_of_a_real_binary),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
