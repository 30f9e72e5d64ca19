/* recipe.c - the recipe loader: JSON text in, validated plain structs out.
 *
 * Validation is strict on purpose: a recipe is a reproducibility input,
 * so a misspelt key or a truncated checksum must stop the build here,
 * naming the file and the field, rather than be silently ignored.
 *
 * This file reads PostgreSQL recipes (versions/<major>.json);
 * recipe_ext.c reads extension recipes and image sets; both read their
 * fields through recipe_field.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe.h"
#include "builder/recipe_field.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

static const char *const top_level_keys[] = {
        "build_packages", "configure", "default_version", "homepage", "license",
        "major", "name", "runtime_packages", "versions", NULL,
};
static const char *const version_keys[] = { "note", "sha256", "urls", NULL };

/* "<major>.<minor>" with a numeric minor. */
static int
version_valid (const char *major, const char *v)
{
        size_t n = strlen (major);
        const char *minor;

        if (strncmp (v, major, n) != 0 || v[n] != '.')
                return 0;
        minor = v + n + 1;
        if (*minor == '\0' || strlen (minor) > 4)
                return 0;
        for (; *minor; minor++)
                if (*minor < '0' || *minor > '9')
                        return 0;
        return 1;
}

static int
name_valid (const char *s)
{
        if (*s == '\0' || *s == '-')
                return 0;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return 0;
        return 1;
}

/* An option, or a variable configure reads (autoconf's "precious"
 * variables: CLANG=..., LLVM_CONFIG=..., CXX=...), which a recipe must
 * be able to name when the program's generic name is not in the root. */
static int
configure_arg_valid (const char *s)
{
        const char *p = s;

        if (strncmp (s, "--", 2) == 0)
                return s[2] != '\0';
        if (!(*p >= 'A' && *p <= 'Z'))
                return 0;
        while ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
                p++;
        return *p == '=' && p[1] != '\0';
}

static const struct recipe_check url_check = { recipe_http_url, "is not an http:// or https:// URL" };
static const struct recipe_check configure_check = { configure_arg_valid,
                                                     "must be an option starting with -- or a VARIABLE=value" };

static int
version_entry (const struct recipe_fields *top, json_t *entry, const char *major, const char *version,
               struct recipe_version *out, pgimg_error_t *err)
{
        cleanup_recipe_fields struct recipe_fields v = { 0 };

        if (recipe_fields_enter (top, entry, &v, err, "versions[\"%s\"]", version) < 0)
                return -1;
        if (!version_valid (major, version))
                return recipe_field_error (err, &v, NULL, "is not a version of major %s (expected %s.<minor>)",
                                           major, major);
        if (!json_is_object (entry))
                return recipe_field_error (err, &v, NULL, "must be an object with sha256 and urls");
        if (recipe_fields_known (&v, version_keys, err) < 0)
                return -1;
        out->version = strdup (version);
        if (out->version == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        if (recipe_field_sha256 (&v, "sha256", out->sha256, err) < 0
            || recipe_field_strv (&v, "urls", 1, &url_check, &out->urls, &out->n_urls, err) < 0)
                return -1;
        if (out->n_urls == 0)
                return recipe_field_error (err, &v, "urls", "must list at least one URL");
        return recipe_field_string (&v, "note", 0, &out->note, err);
}

static unsigned long
minor_of (const char *version)
{
        const char *dot = strchr (version, '.');
        return dot ? strtoul (dot + 1, NULL, 10) : 0;
}

/* Newest first, so that listings and error messages read naturally. */
static int
version_cmp_desc (const void *a, const void *b)
{
        unsigned long ma = minor_of (((const struct recipe_version *) a)->version);
        unsigned long mb = minor_of (((const struct recipe_version *) b)->version);
        return ma < mb ? 1 : ma > mb ? -1 : 0;
}

static int
load_versions (const struct recipe_fields *top, struct recipe *r, pgimg_error_t *err)
{
        const char *key;
        json_t *versions, *entry;
        size_t n;

        if (recipe_field_object (top, "versions", "an object keyed by version (\"15.18\": {...})",
                                 &versions, err) < 0)
                return -1;
        n = json_object_size (versions);
        if (n == 0)
                return recipe_field_error (err, top, "versions", "must pin at least one version");
        r->versions = calloc (n, sizeof (*r->versions));
        if (r->versions == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        json_object_foreach (versions, key, entry) {
                if (version_entry (top, entry, r->major, key, &r->versions[r->n_versions++], err) < 0)
                        return -1;
        }
        qsort (r->versions, r->n_versions, sizeof (*r->versions), version_cmp_desc);
        return 0;
}

static int
load_scalars (const struct recipe_fields *top, struct recipe *r, pgimg_error_t *err)
{
        if (recipe_field_string (top, "name", 1, &r->name, err) < 0)
                return -1;
        if (!name_valid (r->name))
                return recipe_field_error (err, top, "name", "`%s` must be lowercase letters, digits and -",
                                           r->name);
        if (recipe_field_string (top, "major", 1, &r->major, err) < 0)
                return -1;
        if (!recipe_major_valid (r->major))
                return recipe_field_error (err, top, "major", "`%s` must be a number such as \"15\"",
                                           r->major);
        if (recipe_field_string (top, "default_version", 1, &r->default_version, err) < 0
            || recipe_field_string (top, "license", 1, &r->license, err) < 0
            || recipe_field_string (top, "homepage", 1, &r->homepage, err) < 0)
                return -1;
        if (!recipe_http_url (r->homepage))
                return recipe_field_error (err, top, "homepage", "must be an http:// or https:// URL");
        return 0;
}

static const struct recipe_version *
find_version (const struct recipe *r, const char *version)
{
        for (size_t i = 0; i < r->n_versions; i++)
                if (strcmp (r->versions[i].version, version) == 0)
                        return &r->versions[i];
        return NULL;
}

/* "15.18, 15.17, 15.15" into b. */
static int
join_versions (const struct recipe *r, struct buf *b)
{
        for (size_t i = 0; i < r->n_versions; i++)
                if (buf_addf (b, "%s%s", i ? ", " : "", r->versions[i].version) < 0)
                        return -1;
        return 0;
}

/* The recipe as it applies to one version: the other pins and the
 * default left out, so that pinning a new minor does not change the
 * cache keys of builds of the existing ones. */
static int
version_canonical (json_t *root, const char *version, char **out)
{
        cleanup_json json_t *copy = json_deep_copy (root);
        json_t *versions, *entry, *only;

        if (copy == NULL)
                return -1;
        versions = json_object_get (copy, "versions");
        entry = json_object_get (versions, version);
        only = json_object ();
        if (only == NULL || json_object_set (only, version, entry) < 0
            || json_object_set_new (copy, "versions", only) < 0)
                return -1;
        json_object_del (copy, "default_version");
        *out = json_dumps (copy, JSON_COMPACT | JSON_SORT_KEYS);
        return *out ? 0 : -1;
}

static int
recipe_from_json (json_t *root, const char *path, struct recipe *r, pgimg_error_t *err)
{
        struct recipe_fields top = RECIPE_FIELDS_TOP (path, root);

        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: a recipe must be a JSON object", path);
        if (recipe_fields_known (&top, top_level_keys, err) < 0)
                return -1;
        if (load_scalars (&top, r, err) < 0 || load_versions (&top, r, err) < 0)
                return -1;
        if (find_version (r, r->default_version) == NULL) {
                cleanup_buf struct buf pinned = BUF_INIT;
                if (join_versions (r, &pinned) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                return recipe_field_error (err, &top, "default_version", "`%s` is not one of versions (%s)",
                                           r->default_version, pinned.data);
        }
        if (recipe_field_strv (&top, "configure", 1, &configure_check, &r->configure_args, NULL, err) < 0
            || recipe_field_strv (&top, "build_packages", 0, NULL, &r->build_packages, NULL, err) < 0
            || recipe_field_strv (&top, "runtime_packages", 0, NULL, &r->runtime_packages, NULL, err) < 0)
                return -1;
        r->canonical = json_dumps (root, JSON_COMPACT | JSON_SORT_KEYS);
        if (r->canonical == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t i = 0; i < r->n_versions; i++)
                if (version_canonical (root, r->versions[i].version, &r->versions[i].canonical) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        return 0;
}

/* r (zeroed) from the parsed root; r is zeroed again on failure. */
static int
recipe_from_root (json_t *root, const char *path, struct recipe *r, pgimg_error_t *err)
{
        if ((r->path = strdup (path)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (recipe_from_json (root, path, r, err) < 0) {
                recipe_free (r);
                return -1;
        }
        return 0;
}

int
recipe_load_buf (const char *data, size_t len, const char *path, struct recipe *r,
                 pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;

        memset (r, 0, sizeof (*r));
        if (recipe_json_parse (data, len, path, &root, err) < 0)
                return -1;
        return recipe_from_root (root, path, r, err);
}

int
recipe_load (const char *path, struct recipe *r, pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;

        memset (r, 0, sizeof (*r));
        if (recipe_json_load (path, "recipe", &root, err) < 0)
                return -1;
        return recipe_from_root (root, path, r, err);
}

void
recipe_free (struct recipe *r)
{
        if (r == NULL)
                return;
        free (r->path);
        free (r->name);
        free (r->major);
        free (r->default_version);
        for (size_t i = 0; i < r->n_versions; i++) {
                free (r->versions[i].version);
                strv_free (r->versions[i].urls);
                free (r->versions[i].note);
                free (r->versions[i].canonical);
        }
        free (r->versions);
        strv_free (r->configure_args);
        strv_free (r->build_packages);
        strv_free (r->runtime_packages);
        free (r->license);
        free (r->homepage);
        free (r->canonical);
        memset (r, 0, sizeof (*r));
}

static int
ulong_cmp (const void *a, const void *b)
{
        unsigned long x = *(const unsigned long *) a, y = *(const unsigned long *) b;
        return x < y ? -1 : x > y;
}

/* "13, 15, 17, 18": the majors with a recipe file in dir, by name
 * only, so that one broken recipe does not hide the others. */
static int
list_majors (const char *dir, struct buf *out, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (dir);
        cleanup_free unsigned long *majors = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;

        if (d == NULL)
                return pgimg_make_error_errno (err, errno, "open `%s`", dir);
        while ((de = readdir (d)) != NULL) {
                char *dot = strrchr (de->d_name, '.');
                if (dot == NULL || strcmp (dot, ".json") != 0)
                        continue;
                *dot = '\0';
                if (!recipe_major_valid (de->d_name))
                        continue;
                if (n == alloc) {
                        unsigned long *p = realloc (majors, (alloc = alloc * 2 + 8) * sizeof (*p));
                        if (p == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "list `%s`", dir);
                        majors = p;
                }
                majors[n++] = strtoul (de->d_name, NULL, 10);
        }
        if (n == 0)
                return buf_adds (out, "none") < 0 ? pgimg_make_error_errno (err, ENOMEM, "list") : 0;
        qsort (majors, n, sizeof (*majors), ulong_cmp);
        for (size_t i = 0; i < n; i++)
                if (buf_addf (out, "%s%lu", i ? ", " : "", majors[i]) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "list `%s`", dir);
        return 0;
}

/* The file name says which major a recipe is for; a copy that was not
 * edited to match would otherwise answer for the wrong major. */
static int
check_file_matches_major (const struct recipe *r, pgimg_error_t *err)
{
        struct recipe_fields top = RECIPE_FIELDS_TOP (r->path, NULL);
        const char *base = strrchr (r->path, '/');
        size_t n = strlen (r->major);

        base = base ? base + 1 : r->path;
        if (strncmp (base, r->major, n) == 0 && strcmp (base + n, ".json") == 0)
                return 0;
        return recipe_field_error (err, &top, "major", "is \"%s\" but the file is not named %s.json",
                                   r->major, r->major);
}

/* Split "postgres-15.17" into name "postgres", major "15" and version
 * "15.17" (NULL for "postgres-15").  Only digits reach a file name. */
static int
parse_spec (const char *spec, char **name, char **major, char **version, pgimg_error_t *err)
{
        const char *dash = strrchr (spec, '-');
        const char *ver, *dot;

        if (dash == NULL || dash == spec)
                goto bad;
        ver = dash + 1;
        dot = strchr (ver, '.');
        *name = strndup (spec, (size_t) (dash - spec));
        *major = strndup (ver, dot ? (size_t) (dot - ver) : strlen (ver));
        *version = dot ? strdup (ver) : NULL;
        if (*name == NULL || *major == NULL || (dot && *version == NULL))
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", spec);
        if (!name_valid (*name) || !recipe_major_valid (*major) || (dot && !version_valid (*major, ver)))
                goto bad;
        return 0;
bad:
        return pgimg_make_error (err, EINVAL,
                                 "`%s` is not a recipe: expected <name>-<major> or "
                                 "<name>-<major>.<minor>, e.g. postgres-15 or postgres-15.17",
                                 spec);
}

static int
resolve_loaded (const char *spec, const char *name, const char *version, struct recipe *r,
                const struct recipe_version **v, pgimg_error_t *err)
{
        cleanup_buf struct buf pinned = BUF_INIT;

        if (check_file_matches_major (r, err) < 0)
                return -1;
        if (strcmp (r->name, name) != 0)
                return pgimg_make_error (err, ENOENT, "unknown recipe `%s` in `%s` (`%s` is %s-%s)",
                                         name, spec, r->path, r->name, r->major);
        *v = find_version (r, version ? version : r->default_version);
        if (*v != NULL)
                return 0;
        if (join_versions (r, &pinned) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", spec);
        return pgimg_make_error (err, ENOENT, "`%s`: version %s is not pinned; pinned versions of %s-%s: %s",
                                 spec, version, r->name, r->major, pinned.data);
}

int
recipe_resolve (const char *dir, const char *spec, struct recipe *r,
                const struct recipe_version **v, pgimg_error_t *err)
{
        cleanup_free char *name = NULL;
        cleanup_free char *major = NULL;
        cleanup_free char *version = NULL;
        cleanup_free char *path = NULL;

        memset (r, 0, sizeof (*r));
        *v = NULL;
        if (parse_spec (spec, &name, &major, &version, err) < 0)
                return -1;
        if (asprintf (&path, "%s/%s.json", dir, major) < 0) {
                path = NULL;
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", spec);
        }
        if (!fs_exists (path)) {
                cleanup_buf struct buf majors = BUF_INIT;
                if (list_majors (dir, &majors, err) < 0)
                        return -1;
                return pgimg_make_error (err, ENOENT,
                                         "`%s`: no recipe for major %s (no `%s`); available majors: %s",
                                         spec, major, path, majors.data);
        }
        if (recipe_load (path, r, err) < 0)
                return -1;
        if (resolve_loaded (spec, name, version, r, v, err) < 0) {
                recipe_free (r);
                return -1;
        }
        return 0;
}

static int
recipe_major_cmp (const void *a, const void *b)
{
        unsigned long x = strtoul (((const struct recipe *) a)->major, NULL, 10);
        unsigned long y = strtoul (((const struct recipe *) b)->major, NULL, 10);
        return x < y ? -1 : x > y;
}

static void
recipes_free (struct recipe *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                recipe_free (&v[i]);
        free (v);
}

int
recipe_load_all (const char *dir, struct recipe **out, size_t *n_out, pgimg_error_t *err)
{
        cleanup_strv char **paths = NULL;
        struct recipe *v = NULL;
        size_t n = 0, n_paths = 0;

        *out = NULL;
        *n_out = 0;
        if (recipe_json_files (dir, &paths, &n_paths, err) < 0)
                return -1;
        if ((v = calloc (n_paths + 1, sizeof (*v))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "load recipes from `%s`", dir);
        for (; n < n_paths; n++)
                if (recipe_load (paths[n], &v[n], err) < 0 || check_file_matches_major (&v[n], err) < 0) {
                        recipes_free (v, n + 1);
                        return -1;
                }
        qsort (v, n, sizeof (*v), recipe_major_cmp);
        *out = v;
        *n_out = n;
        return 0;
}
