/* Recipes: the real ones in versions/ load and resolve; every way a
 * recipe can be wrong gives the message a user would see.  Run from the
 * repository root. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/recipe.h"
#include "builder/recipe_field.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"

#define SHA_15_18 "11df0df97fe3ea4ba9a791faaf39cee1d2fe571e78885b5b55d8517d27c323b4"
#define SHA_ARM64 "2222222222222222222222222222222222222222222222222222222222222222"
#define SHA_15_17 "ae14f24c14727e0b2ded1c5553031666099bd1054db3ef44bfa6e2bd6d554a56"

/* A valid recipe; tests replace one piece of it at a time. */
#define FIELD_NAME "\"name\": \"postgres\",\n"
#define FIELD_MAJOR "\"major\": \"15\",\n"
#define FIELD_DEFAULT "\"default_version\": \"15.18\",\n"
#define FIELD_LICENSE "\"license\": \"PostgreSQL\",\n"
#define FIELD_HOMEPAGE "\"homepage\": \"https://www.postgresql.org\",\n"
#define FIELD_VERSIONS                                                                     \
        "\"versions\": {\n"                                                                \
        " \"15.18\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": [\"http://a/x.tar.bz2\"]}\n" \
        "},\n"
#define FIELD_CONFIGURE "\"configure\": [\"--with-openssl\"]\n"

struct fixture {
        char dir[64];
        char *path;             /* <dir>/15.json */
};

static int
setup (void **state)
{
        struct fixture *f = calloc (1, sizeof (*f));
        if (f == NULL)
                return -1;
        strcpy (f->dir, "/tmp/pgimg-test-recipe-XXXXXX");
        if (mkdtemp (f->dir) == NULL || asprintf (&f->path, "%s/15.json", f->dir) < 0)
                return -1;
        *state = f;
        return 0;
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        fs_rm_rf (f->dir, &err);
        pgimg_error_free (&err);
        free (f->path);
        free (f);
        return 0;
}

/* Write text as <dir>/15.json and load it, expecting failure; returns
 * the message with the temporary directory replaced by "DIR". */
static char *
load_error (struct fixture *f, const char *text)
{
        struct recipe r;
        pgimg_error_t err = NULL;
        char *msg, *at;
        size_t dl = strlen (f->dir);

        assert_int_equal (fs_write_file_atomic (f->path, text, strlen (text), 0644, &err), 0);
        assert_true (recipe_load (f->path, &r, &err) < 0);
        assert_non_null (err);
        assert_null (r.name); /* zeroed on failure */
        msg = strdup (err->msg);
        pgimg_error_free (&err);
        while ((at = strstr (msg, f->dir)) != NULL) {
                memcpy (at, "DIR", 3);
                memmove (at + 3, at + dl, strlen (at + dl) + 1);
        }
        return msg;
}

static void
expect_load_error (void **state, const char *text, const char *want)
{
        cleanup_free char *msg = load_error (*state, text);
        assert_string_equal (msg, want);
}

static void
real_recipes_load (void **state)
{
        struct recipe *rs = NULL;
        size_t n = 0;
        pgimg_error_t err = NULL;
        static const char *const majors[] = { "13", "15", "17", "18" };
        static const char *const defaults[] = { "13.23", "15.18", "17.11", "18.6" };
        (void) state;

        assert_int_equal (recipe_load_all ("versions", &rs, &n, &err), 0);
        assert_int_equal (n, 4);
        for (size_t i = 0; i < n; i++) {
                struct recipe *r = &rs[i];
                assert_string_equal (r->name, "postgres");
                assert_string_equal (r->major, majors[i]);
                assert_string_equal (r->default_version, defaults[i]);
                /* newest first */
                assert_string_equal (r->versions[0].version, defaults[i]);
                for (size_t k = 0; k < r->n_versions; k++) {
                        assert_int_equal (r->versions[k].n_urls, 2);
                        assert_non_null (strstr (r->versions[k].urls[0], "https://ftp.postgresql.org/"));
                        assert_non_null (strstr (r->versions[k].urls[1], "http://deb.debian.org/debian"));
                        assert_null (r->versions[k].urls[2]);
                        assert_non_null (r->versions[k].canonical);
                }
                assert_non_null (r->configure_args[0]);
                assert_non_null (r->build_packages);
                assert_non_null (r->runtime_packages);
                assert_string_equal (r->license, "PostgreSQL");
                /* every major is built for the jit layer, with the LLVM of the lock */
                assert_non_null (strstr (r->canonical,
                                         "{\"build_packages\":[\"clang-19\",\"llvm-19-dev\"],\"configure\":"));
                assert_non_null (strstr (r->canonical, "\"--with-llvm\""));
        }
        /* lz4 arrived in 14 and zstd in 15; ICU is the default from 16 */
        assert_null (strstr (rs[0].canonical, "--with-lz4"));
        assert_null (strstr (rs[0].canonical, "--with-zstd"));
        assert_non_null (strstr (rs[0].canonical, "--with-icu"));
        assert_non_null (strstr (rs[1].canonical, "--with-zstd"));
        assert_string_equal (rs[0].versions[0].urls[1],
                             "http://deb.debian.org/debian-security/pool/updates/main/p/postgresql-13/"
                             "postgresql-13_13.23.orig.tar.bz2");
        assert_int_equal (rs[2].n_versions, 3);
        assert_string_equal (rs[2].versions[2].version, "17.9"); /* numeric, not 17.10 < 17.9 */
        for (size_t i = 0; i < n; i++)
                recipe_free (&rs[i]);
        free (rs);
}

static void
resolve_default_minor (void **state)
{
        struct recipe r;
        const struct recipe_version *v = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (recipe_resolve ("versions", "postgres-15", &r, &v, &err), 0);
        assert_string_equal (v->version, "15.18");
        assert_string_equal (v->sha256, SHA_15_18);
        assert_string_equal (v->urls[0], "https://ftp.postgresql.org/pub/source/v15.18/postgresql-15.18.tar.bz2");
        assert_string_equal (v->urls[1], "http://deb.debian.org/debian/pool/main/p/postgresql-15/"
                                         "postgresql-15_15.18.orig.tar.bz2");
        recipe_free (&r);
}

static void
resolve_exact_minor (void **state)
{
        struct recipe r;
        const struct recipe_version *v = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (recipe_resolve ("versions", "postgres-15.17", &r, &v, &err), 0);
        assert_string_equal (v->version, "15.17");
        assert_string_equal (v->sha256, SHA_15_17);
        recipe_free (&r);
        assert_int_equal (recipe_resolve ("versions", "postgres-18.3", &r, &v, &err), 0);
        assert_string_equal (v->sha256, "d95663fbbf3a80f81a9d98d895266bdcb74ba274bcc04ef6d76630a72dee016f");
        recipe_free (&r);
}

static void
resolve_unknown_major_lists_majors (void **state)
{
        struct recipe r;
        const struct recipe_version *v = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (recipe_resolve ("versions", "postgres-16", &r, &v, &err) < 0);
        assert_string_equal (err->msg, "`postgres-16`: no recipe for major 16 (no `versions/16.json`); "
                                       "available majors: 13, 15, 17, 18");
        assert_null (v);
        pgimg_error_free (&err);
}

static void
resolve_unknown_minor_lists_pinned (void **state)
{
        struct recipe r;
        const struct recipe_version *v = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (recipe_resolve ("versions", "postgres-15.99", &r, &v, &err) < 0);
        assert_string_equal (err->msg, "`postgres-15.99`: version 15.99 is not pinned; pinned versions "
                                       "of postgres-15: 15.18, 15.17, 15.15");
        assert_null (r.name);
        pgimg_error_free (&err);
}

static void
resolve_rejects_bad_specs (void **state)
{
        static const char *const bad[] = { "postgres", "postgres-", "postgres-x", "postgres-../13",
                                           "postgres-15.", "postgres-16.1.2", "-15", "postgres-015" };
        struct recipe r;
        const struct recipe_version *v = NULL;
        pgimg_error_t err = NULL;
        char want[256];
        (void) state;

        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                assert_true (recipe_resolve ("versions", bad[i], &r, &v, &err) < 0);
                snprintf (want, sizeof (want),
                          "`%s` is not a recipe: expected <name>-<major> or <name>-<major>.<minor>, "
                          "e.g. postgres-15 or postgres-15.17",
                          bad[i]);
                assert_string_equal (err->msg, want);
                pgimg_error_free (&err);
        }
        assert_true (recipe_resolve ("versions", "mysql-15", &r, &v, &err) < 0);
        assert_string_equal (err->msg, "unknown recipe `mysql` in `mysql-15` (`versions/15.json` is postgres-15)");
        pgimg_error_free (&err);
}

static void
malformed_json_gives_line_and_column (void **state)
{
        expect_load_error (state, "{\n" FIELD_NAME "\"major\": \"15\"\n\"license\": \"x\"}\n",
                           "`DIR/15.json`: line 4, column 9: '}' expected near '\"license\"'");
        expect_load_error (state, "", "`DIR/15.json`: line 1, column 0: '[' or '{' expected near end of file");
        expect_load_error (state, "{\"name\": \"a\", \"name\": \"b\"}",
                           "`DIR/15.json`: line 1, column 20: duplicate object key near '\"name\"'");
        expect_load_error (state, "[1]", "`DIR/15.json`: a recipe must be a JSON object");
}

static void
missing_field (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_HOMEPAGE FIELD_VERSIONS
                                   FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `license` is missing");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS "\"build_packages\": []}",
                           "`DIR/15.json`: field `configure` is missing");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions` is missing");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"15.18\": {\"urls\": [\"http://a/b\"]}}," FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions[\"15.18\"].sha256` is missing");
}

static void
bad_sha256 (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"15.18\": {\"sha256\": \"11DF0DF9\", \"urls\": [\"http://a/b\"]}},"
                           FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions[\"15.18\"].sha256` must be 64 lowercase hex digits");
}

static void
urls_are_required_and_checked (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"15.18\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": []}},"
                           FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions[\"15.18\"].urls` must list at least one URL");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"15.18\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": [\"file:///x\"]}},"
                           FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions[\"15.18\"].urls[0]` (`file:///x`) is not an "
                           "http:// or https:// URL");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"15.18\": {\"sha256\": \"" SHA_15_18 "\", \"url\": [\"http://a\"]}},"
                           FIELD_CONFIGURE "}",
                           "`DIR/15.json`: unknown field `versions[\"15.18\"].url` (known: note, sha256, urls)");
}

static void
default_not_in_versions (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR "\"default_version\": \"15.19\"," FIELD_LICENSE
                                   FIELD_HOMEPAGE FIELD_VERSIONS FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `default_version` `15.19` is not one of versions (15.18)");
}

static void
unknown_key (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS "\"runtime_pakages\": []," FIELD_CONFIGURE "}",
                           "`DIR/15.json`: unknown field `runtime_pakages` (known: build_packages, "
                           "configure, default_version, homepage, license, major, name, runtime_packages, "
                           "versions)");
}

static void
wrong_types_and_values (void **state)
{
        expect_load_error (state,
                           "{" FIELD_NAME "\"major\": 15," FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `major` must be a string");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                           "\"versions\": {\"16.1\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": [\"http://a/b\"]}},"
                           FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `versions[\"16.1\"]` is not a version of major 15 "
                           "(expected 15.<minor>)");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS "\"configure\": [\"with-openssl\"]}",
                           "`DIR/15.json`: field `configure[0]` (`with-openssl`) must be an option "
                           "starting with -- or a VARIABLE=value");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS "\"configure\": [\"--with-llvm\", \"clang=/usr/bin/clang\"]}",
                           "`DIR/15.json`: field `configure[1]` (`clang=/usr/bin/clang`) must be an option "
                           "starting with -- or a VARIABLE=value");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS "\"configure\": [\"CLANG=\"]}",
                           "`DIR/15.json`: field `configure[0]` (`CLANG=`) must be an option "
                           "starting with -- or a VARIABLE=value");
        expect_load_error (state,
                           "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS FIELD_CONFIGURE ", \"build_packages\": \"gcc\"}",
                           "`DIR/15.json`: field `build_packages` must be an array of strings");
        expect_load_error (state,
                           "{\"name\": \"Postgres\"," FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                                   FIELD_VERSIONS FIELD_CONFIGURE "}",
                           "`DIR/15.json`: field `name` `Postgres` must be lowercase letters, digits and -");
}

static void
missing_file (void **state)
{
        struct recipe r;
        pgimg_error_t err = NULL;
        (void) state;
        assert_true (recipe_load ("versions/nope.json", &r, &err) < 0);
        assert_string_equal (err->msg, "recipe: open `versions/nope.json`: No such file or directory");
        pgimg_error_free (&err);
}

/* A file named 15.json must describe major 15, or postgres-15 would
 * build another major. */
static void
file_name_must_match_major (void **state)
{
        struct fixture *f = *state;
        static const char text[] = "{" FIELD_NAME "\"major\": \"16\", \"default_version\": \"16.1\","
                FIELD_LICENSE FIELD_HOMEPAGE
                "\"versions\": {\"16.1\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": [\"http://a/b\"]}},"
                FIELD_CONFIGURE "}";
        struct recipe *rs = NULL;
        size_t n = 0;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;

        assert_int_equal (fs_write_file_atomic (f->path, text, strlen (text), 0644, &err), 0);
        assert_true (recipe_load_all (f->dir, &rs, &n, &err) < 0);
        assert_true (asprintf (&want, "`%s`: field `major` is \"16\" but the file is not named 16.json",
                               f->path) > 0);
        assert_string_equal (err->msg, want);
        assert_null (rs);
        pgimg_error_free (&err);
}

/* Pinning a new minor changes the recipe's canonical form but not that
 * of the versions already pinned: their cached builds stay valid. */
static void
version_canonical_ignores_other_pins (void **state)
{
        struct recipe a, b;
        pgimg_error_t err = NULL;
        static const char one[] = "{" FIELD_NAME FIELD_MAJOR FIELD_DEFAULT FIELD_LICENSE FIELD_HOMEPAGE
                FIELD_VERSIONS FIELD_CONFIGURE "}";
        static const char two[] = "{" FIELD_NAME FIELD_MAJOR "\"default_version\": \"15.19\","
                FIELD_LICENSE FIELD_HOMEPAGE "\"versions\": {\"15.19\": {\"sha256\": \"" SHA_15_17
                "\", \"urls\": [\"http://a/y\"], \"note\": \"newer\"},"
                " \"15.18\": {\"sha256\": \"" SHA_15_18 "\", \"urls\": [\"http://a/x.tar.bz2\"]}},"
                FIELD_CONFIGURE "}";
        (void) state;

        assert_int_equal (recipe_load_buf (one, strlen (one), "one", &a, &err), 0);
        assert_int_equal (recipe_load_buf (two, strlen (two), "two", &b, &err), 0);
        assert_string_not_equal (a.canonical, b.canonical);
        assert_string_equal (b.versions[0].version, "15.19");
        assert_string_equal (b.versions[0].note, "newer");
        assert_null (b.versions[1].note);
        assert_string_equal (a.versions[0].canonical, b.versions[1].canonical);
        assert_null (strstr (a.versions[0].canonical, "default_version"));
        assert_string_equal (b.path, "two");
        recipe_free (&a);
        recipe_free (&b);
}

/* ------------------------------------------------------------------ */
/* The field reader that both kinds of recipe use                      */

/* call fails, leaving want in err (a pgimg_error_t in the caller). */
#define EXPECT_FIELD_ERROR(call, want)                                   \
        do {                                                             \
                assert_true ((call) < 0);                                \
                assert_non_null (err);                                   \
                assert_string_equal (err->msg, (want));                  \
                pgimg_error_free (&err);                                 \
        } while (0)

static int
short_word (const char *s)
{
        return strlen (s) <= 3;
}

static void
field_reader_messages (void **state)
{
        static const char *const known[] = { "a", "s", "v", NULL };
        static const struct recipe_check short_check = { short_word, "is longer than 3" };
        cleanup_json json_t *root = json_loads ("{\"s\": 1, \"e\": \"\", \"a\": [\"ab\", 2], \"w\": [\"abcd\"],"
                                               " \"o\": [], \"h\": \"ABC\", \"v\": {\"x\": 1}}", 0, NULL);
        struct recipe_fields top = RECIPE_FIELDS_TOP ("r.json", root);
        cleanup_recipe_fields struct recipe_fields v = { 0 };
        cleanup_strv char **strv = NULL;
        char *str = NULL;
        json_t *obj = NULL;
        char hex[SHA256_HEX_LEN + 1];
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (root);
        EXPECT_FIELD_ERROR (recipe_field_string (&top, "missing", 1, &str, &err),
                            "`r.json`: field `missing` is missing");
        EXPECT_FIELD_ERROR (recipe_field_string (&top, "s", 1, &str, &err), "`r.json`: field `s` must be a string");
        EXPECT_FIELD_ERROR (recipe_field_string (&top, "e", 0, &str, &err), "`r.json`: field `e` must not be empty");
        EXPECT_FIELD_ERROR (recipe_field_strv (&top, "s", 0, NULL, &strv, NULL, &err),
                            "`r.json`: field `s` must be an array of strings");
        EXPECT_FIELD_ERROR (recipe_field_strv (&top, "a", 0, NULL, &strv, NULL, &err),
                            "`r.json`: field `a[1]` must be a non-empty string");
        EXPECT_FIELD_ERROR (recipe_field_strv (&top, "w", 0, &short_check, &strv, NULL, &err),
                            "`r.json`: field `w[0]` (`abcd`) is longer than 3");
        EXPECT_FIELD_ERROR (recipe_field_object (&top, "o", "an object of things", &obj, &err),
                            "`r.json`: field `o` must be an object of things");
        EXPECT_FIELD_ERROR (recipe_field_object (&top, "none", "an object", &obj, &err),
                            "`r.json`: field `none` is missing");
        EXPECT_FIELD_ERROR (recipe_field_sha256 (&top, "h", hex, &err),
                            "`r.json`: field `h` must be 64 lowercase hex digits");
        EXPECT_FIELD_ERROR (recipe_fields_known (&top, known, &err),
                            "`r.json`: unknown field `e` (known: a, s, v)");

        /* A nested object names its fields by their path. */
        assert_int_equal (recipe_field_object (&top, "v", "an object", &obj, &err), 0);
        assert_int_equal (recipe_fields_enter (&top, obj, &v, &err, "v[\"%s\"]", "k"), 0);
        EXPECT_FIELD_ERROR (recipe_field_string (&v, "x", 1, &str, &err), "`r.json`: field `v[\"k\"].x` must be a string");
        EXPECT_FIELD_ERROR (recipe_field_strv (&v, "y", 1, NULL, &strv, NULL, &err),
                            "`r.json`: field `v[\"k\"].y` is missing");
        EXPECT_FIELD_ERROR (recipe_fields_known (&v, known, &err), "`r.json`: unknown field `v[\"k\"].x` (known: a, s, v)");
        EXPECT_FIELD_ERROR (recipe_field_error (&err, &v, NULL, "is %s", "odd"), "`r.json`: field `v[\"k\"]` is odd");

        /* What does read. */
        assert_int_equal (recipe_field_string (&top, "absent", 0, &str, &err), 0);
        assert_null (str);
        assert_int_equal (recipe_field_strv (&top, "absent", 0, NULL, &strv, NULL, &err), 0);
        assert_null (strv[0]);
        assert_null (err);
}

/* An extension recipe names its fields the way a PostgreSQL recipe does. */
static void
extension_recipe_uses_the_same_reader (void **state)
{
        static const char good[] =
                "{\"name\": \"demo\", \"summary\": \"a demo\", \"license\": \"MIT\",\n"
                " \"homepage\": \"https://example.org\", \"build\": \"deb\", \"majors\": [\"15\"],\n"
                " \"default_version\": \"1.0\", \"extensions\": [\"demo\"],\n"
                " \"versions\": {\"1.0\": {\"debs\": {\"15\": {\"url\": \"http://d/a.deb\",\n"
                "   \"sha256\": \"" SHA_15_18 "\"}}}}}\n";
        static const struct { const char *from, *to, *message; } cases[] = {
                { "\"url\": \"http://d/a.deb\",", "",
                  "`extensions/demo.json`: field `versions[\"1.0\"].debs[\"15\"].url` is missing" },
                { "\"http://d/a.deb\"", "\"ftp://d/a.deb\"",
                  "`extensions/demo.json`: field `versions[\"1.0\"].debs[\"15\"].url` must be an http:// or "
                  "https:// URL" },
                { "\"url\"", "\"uri\"",
                  "`extensions/demo.json`: unknown field `versions[\"1.0\"].debs[\"15\"].uri` (known: sha256, url)" },
                { "\"majors\": [\"15\"]", "\"majors\": \"15\"",
                  "`extensions/demo.json`: field `majors` must be an array of strings" },
                { "\"versions\": {\"1.0\"", "\"versionz\": {\"1.0\"",
                  "`extensions/demo.json`: unknown field `versionz` (known: build, build_packages, configure_args, "
                  "debian_source, default_version, extensions, homepage, license, majors, make_args, migration, name, "
                  "output_plugins, requires, runtime_packages, shared_preload_libraries, summary, unsupported, update, versions)" },
                { "\"summary\": \"a demo\"", "\"summary\": 3", "`extensions/demo.json`: field `summary` must be a string" },
                { "\"extensions\": [\"demo\"]", "\"extensions\": [\"demo\"], \"migration\": {\"after_upgrad\": \"SELECT 1\"}",
                  "`extensions/demo.json`: unknown field `migration.after_upgrad` (known: after_restore, after_upgrade, "
                  "before_restore, dump_loses, dump_loses_why, no_statistics, restore_old_version, restore_settings, same_version)" },
                { "\"extensions\": [\"demo\"]", "\"extensions\": [\"demo\"], \"migration\": [\"SELECT 1\"]",
                  "`extensions/demo.json`: field `migration` must be an object (after_restore, after_upgrade, "
                  "before_restore, dump_loses, dump_loses_why, no_statistics, restore_old_version, restore_settings, same_version)" },
                { "\"extensions\": [\"demo\"]", "\"extensions\": [\"demo\"], \"migration\": {\"dump_loses\": [\"demo.conf\"]}",
                  "`extensions/demo.json`: field `migration.dump_loses_why` is missing: say why a dump leaves the tables "
                  "of dump_loses empty" },
                { "\"extensions\": [\"demo\"]",
                  "\"extensions\": [\"demo\"], \"migration\": {\"dump_loses\": [\"conf\"], \"dump_loses_why\": \"x\"}",
                  "`extensions/demo.json`: field `migration.dump_loses[0]` (`conf`) is not a table as schema.table "
                  "(lower case)" },
                { "\"extensions\": [\"demo\"]", "\"extensions\": [\"demo\"], \"migration\": {\"restore_old_version\": true}",
                  "`extensions/demo.json`: field `migration.restore_old_version` must be a string" },
        };
        struct ext_recipe r;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (ext_recipe_load_buf (good, strlen (good), "extensions/demo.json", &r, &err), 0);
        ext_recipe_free (&r);
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                const char *at = strstr (good, cases[i].from);
                cleanup_free char *text = NULL;
                assert_non_null (at);
                assert_true (asprintf (&text, "%.*s%s%s", (int) (at - good), good, cases[i].to,
                                       at + strlen (cases[i].from)) > 0);
                assert_true (ext_recipe_load_buf (text, strlen (text), "extensions/demo.json", &r, &err) < 0);
                assert_string_equal (err->msg, cases[i].message);
                assert_null (r.name);
                pgimg_error_free (&err);
        }
}

/* Debian's arm64 builds sit beside the amd64 ones, for the majors of
 * debs, and leave the recipe text of the layer keys as it was. */
static void
extension_recipe_arm64_debs (void **state)
{
#define DEMO_DEBS(arm64) \
        "{\"name\": \"demo\", \"summary\": \"a demo\", \"license\": \"MIT\",\n" \
        " \"homepage\": \"https://example.org\", \"build\": \"deb\", \"majors\": [\"15\"],\n" \
        " \"default_version\": \"1.0\", \"extensions\": [\"demo\"],\n" \
        " \"versions\": {\"1.0\": {\"debs\": {\"15\": {\"url\": \"http://d/a.deb\",\n" \
        "   \"sha256\": \"" SHA_15_18 "\"}}" arm64 "}}}\n"
        static const char amd64_only[] = DEMO_DEBS ("");
        static const char both[] = DEMO_DEBS (", \"debs_arm64\": {\"15\": {\"url\": \"http://d/b.deb\", \"sha256\": \""
                                              SHA_ARM64 "\"}}");
        static const char other_major[] = DEMO_DEBS (", \"debs_arm64\": {\"17\": {\"url\": \"http://d/b.deb\", "
                                                     "\"sha256\": \"" SHA_ARM64 "\"}}");
#undef DEMO_DEBS
        struct ext_recipe a, b, c;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (ext_recipe_load_buf (amd64_only, strlen (amd64_only), "extensions/demo.json", &a, &err), 0);
        assert_int_equal (ext_recipe_load_buf (both, strlen (both), "extensions/demo.json", &b, &err), 0);
        assert_string_equal (a.versions[0].canonical, b.versions[0].canonical);
        assert_null (ext_version_deb_arch (&a.versions[0], "15", "arm64"));
        assert_string_equal (ext_version_deb_arch (&b.versions[0], "15", "arm64")->sha256, SHA_ARM64);
        assert_string_equal (ext_version_deb_arch (&b.versions[0], "15", "amd64")->sha256, SHA_15_18);
        assert_string_equal (ext_version_deb_arch (&b.versions[0], "15", NULL)->url, "http://d/a.deb");
        ext_recipe_free (&a);
        ext_recipe_free (&b);
        assert_true (ext_recipe_load_buf (other_major, strlen (other_major), "extensions/demo.json", &c, &err) < 0);
        assert_string_equal (err->msg, "`extensions/demo.json`: field `versions[\"1.0\"]` debs_arm64[\"17\"] has no amd64 build in debs");
        pgimg_error_free (&err);
        ext_recipe_free (&c);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (real_recipes_load),
                cmocka_unit_test (resolve_default_minor),
                cmocka_unit_test (resolve_exact_minor),
                cmocka_unit_test (resolve_unknown_major_lists_majors),
                cmocka_unit_test (resolve_unknown_minor_lists_pinned),
                cmocka_unit_test (resolve_rejects_bad_specs),
                cmocka_unit_test_setup_teardown (malformed_json_gives_line_and_column, setup, teardown),
                cmocka_unit_test_setup_teardown (missing_field, setup, teardown),
                cmocka_unit_test_setup_teardown (bad_sha256, setup, teardown),
                cmocka_unit_test_setup_teardown (urls_are_required_and_checked, setup, teardown),
                cmocka_unit_test_setup_teardown (default_not_in_versions, setup, teardown),
                cmocka_unit_test_setup_teardown (unknown_key, setup, teardown),
                cmocka_unit_test_setup_teardown (wrong_types_and_values, setup, teardown),
                cmocka_unit_test (missing_file),
                cmocka_unit_test_setup_teardown (file_name_must_match_major, setup, teardown),
                cmocka_unit_test (version_canonical_ignores_other_pins),
                cmocka_unit_test (field_reader_messages),
                cmocka_unit_test (extension_recipe_uses_the_same_reader),
                cmocka_unit_test (extension_recipe_arm64_debs),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
