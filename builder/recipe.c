/* recipe.c - the recipe loader: JSON text in, validated plain structs out.
 *
 * Validation is strict on purpose: a recipe is a reproducibility input,
 * so a misspelt key or a truncated checksum must stop the build here,
 * naming the file and the field, rather than be silently ignored.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb.h"
#include "builder/recipe.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libjson.h"

/* A recipe is a few kilobytes; anything much larger is not one. */
#define RECIPE_MAX_BYTES (1024 * 1024)

static const char *const top_level_keys[] = {
        "build_packages", "configure", "default_version", "homepage", "license",
        "major", "name", "runtime_packages", "versions", NULL,
};
static const char *const version_keys[] = { "note", "sha256", "urls", NULL };

static int field_error (pgimg_error_t *err, const char *path, const char *field,
                        const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* "`versions/15.json`: field `versions["15.18"].sha256` must be ..." */
static int
field_error (pgimg_error_t *err, const char *path, const char *field, const char *fmt, ...)
{
        va_list ap;
        cleanup_free char *what = NULL;

        va_start (ap, fmt);
        if (vasprintf (&what, fmt, ap) < 0)
                what = NULL;
        va_end (ap);
        return pgimg_make_error (err, EINVAL, "`%s`: field `%s` %s", path, field,
                                 what ? what : "is invalid");
}

static int
all_digits (const char *s)
{
        if (*s == '\0')
                return 0;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return 0;
        return 1;
}

/* "15": digits without a leading zero, short enough to be a number. */
static int
major_valid (const char *s)
{
        return all_digits (s) && s[0] != '0' && strlen (s) <= 4;
}

/* "<major>.<minor>" with a numeric minor. */
static int
version_valid (const char *major, const char *v)
{
        size_t n = strlen (major);
        if (strncmp (v, major, n) != 0 || v[n] != '.')
                return 0;
        return all_digits (v + n + 1) && strlen (v + n + 1) <= 4;
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

static int
http_url (const char *s)
{
        return (strncmp (s, "https://", 8) == 0 && s[8] != '\0')
               || (strncmp (s, "http://", 7) == 0 && s[7] != '\0');
}

static int
in_list (const char *const *list, const char *s)
{
        for (; *list; list++)
                if (strcmp (*list, s) == 0)
                        return 1;
        return 0;
}

static int
reject_unknown_keys (json_t *obj, const char *const *known, const char *path,
                     const char *where, pgimg_error_t *err)
{
        const char *key;
        json_t *value;
        cleanup_buf struct buf names = BUF_INIT;

        json_object_foreach (obj, key, value) {
                if (in_list (known, key))
                        continue;
                for (const char *const *k = known; *k; k++)
                        if (buf_addf (&names, "%s%s", k == known ? "" : ", ", *k) < 0)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                return pgimg_make_error (err, EINVAL, "`%s`: unknown field `%s%s` (known: %s)", path,
                                         where, key, names.data);
        }
        return 0;
}

/* A required (or, when !required, optional) non-empty string. */
static int
get_string (json_t *obj, const char *key, const char *path, const char *field, int required,
            char **out, pgimg_error_t *err)
{
        json_t *v = json_object_get (obj, key);

        *out = NULL;
        if (v == NULL)
                return required ? field_error (err, path, field, "is missing") : 0;
        if (!json_is_string (v))
                return field_error (err, path, field, "must be a string");
        if (json_string_length (v) == 0)
                return field_error (err, path, field, "must not be empty");
        *out = strdup (json_string_value (v));
        if (*out == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        return 0;
}

/* An array of non-empty strings into a NULL-terminated vector.  A
 * missing optional array is an empty vector.  check, when given, is a
 * predicate each element must pass, described by check_what. */
static int
get_strv (json_t *obj, const char *key, const char *path, const char *field, int required,
          int (*check) (const char *), const char *check_what, char ***out, size_t *n_out,
          pgimg_error_t *err)
{
        json_t *arr = json_object_get (obj, key);
        size_t i, n = 0;
        cleanup_strv char **v = NULL;

        if (arr == NULL && required)
                return field_error (err, path, field, "is missing");
        if (arr != NULL && !json_is_array (arr))
                return field_error (err, path, field, "must be an array of strings");
        n = arr ? json_array_size (arr) : 0;
        v = calloc (n + 1, sizeof (char *));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (i = 0; i < n; i++) {
                json_t *e = json_array_get (arr, i);
                if (!json_is_string (e) || json_string_length (e) == 0)
                        return pgimg_make_error (err, EINVAL, "`%s`: field `%s[%zu]` must be a non-empty string",
                                                 path, field, i);
                if (check && !check (json_string_value (e)))
                        return pgimg_make_error (err, EINVAL, "`%s`: field `%s[%zu]` (`%s`) %s", path,
                                                 field, i, json_string_value (e), check_what);
                v[i] = strdup (json_string_value (e));
                if (v[i] == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        if (n_out)
                *n_out = n;
        *out = steal_pointer (&v);
        return 0;
}

static int
configure_arg_valid (const char *s)
{
        return strncmp (s, "--", 2) == 0 && s[2] != '\0';
}

static int
version_entry (json_t *entry, const char *path, const char *major, const char *version,
               struct recipe_version *out, pgimg_error_t *err)
{
        cleanup_free char *field = NULL;
        cleanup_free char *where = NULL;
        json_t *sha;

        if (asprintf (&field, "versions[\"%s\"]", version) < 0
            || asprintf (&where, "versions[\"%s\"].", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (!version_valid (major, version))
                return field_error (err, path, field, "is not a version of major %s (expected %s.<minor>)",
                                    major, major);
        if (!json_is_object (entry))
                return field_error (err, path, field, "must be an object with sha256 and urls");
        if (reject_unknown_keys (entry, version_keys, path, where, err) < 0)
                return -1;
        out->version = strdup (version);
        if (out->version == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);

        free (field);
        if (asprintf (&field, "versions[\"%s\"].sha256", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        sha = json_object_get (entry, "sha256");
        if (sha == NULL)
                return field_error (err, path, field, "is missing");
        if (!json_is_string (sha) || !sha256_hex_valid (json_string_value (sha)))
                return field_error (err, path, field, "must be 64 lowercase hex digits");
        memcpy (out->sha256, json_string_value (sha), SHA256_HEX_LEN + 1);

        free (field);
        if (asprintf (&field, "versions[\"%s\"].urls", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (get_strv (entry, "urls", path, field, 1, http_url, "is not an http:// or https:// URL",
                      &out->urls, &out->n_urls, err) < 0)
                return -1;
        if (out->n_urls == 0)
                return field_error (err, path, field, "must list at least one URL");

        free (field);
        if (asprintf (&field, "versions[\"%s\"].note", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        return get_string (entry, "note", path, field, 0, &out->note, err);
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
load_versions (json_t *root, const char *path, struct recipe *r, pgimg_error_t *err)
{
        json_t *versions = json_object_get (root, "versions");
        const char *key;
        json_t *entry;
        size_t n;

        if (versions == NULL)
                return field_error (err, path, "versions", "is missing");
        if (!json_is_object (versions))
                return field_error (err, path, "versions",
                                    "must be an object keyed by version (\"15.18\": {...})");
        n = json_object_size (versions);
        if (n == 0)
                return field_error (err, path, "versions", "must pin at least one version");
        r->versions = calloc (n, sizeof (*r->versions));
        if (r->versions == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        json_object_foreach (versions, key, entry) {
                if (version_entry (entry, path, r->major, key, &r->versions[r->n_versions++], err) < 0)
                        return -1;
        }
        qsort (r->versions, r->n_versions, sizeof (*r->versions), version_cmp_desc);
        return 0;
}

static int
load_scalars (json_t *root, const char *path, struct recipe *r, pgimg_error_t *err)
{
        if (get_string (root, "name", path, "name", 1, &r->name, err) < 0)
                return -1;
        if (!name_valid (r->name))
                return field_error (err, path, "name", "`%s` must be lowercase letters, digits and -",
                                    r->name);
        if (get_string (root, "major", path, "major", 1, &r->major, err) < 0)
                return -1;
        if (!major_valid (r->major))
                return field_error (err, path, "major", "`%s` must be a number such as \"15\"", r->major);
        if (get_string (root, "default_version", path, "default_version", 1, &r->default_version,
                        err) < 0)
                return -1;
        if (get_string (root, "license", path, "license", 1, &r->license, err) < 0)
                return -1;
        if (get_string (root, "homepage", path, "homepage", 1, &r->homepage, err) < 0)
                return -1;
        if (!http_url (r->homepage))
                return field_error (err, path, "homepage", "must be an http:// or https:// URL");
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
        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: a recipe must be a JSON object", path);
        if (reject_unknown_keys (root, top_level_keys, path, "", err) < 0)
                return -1;
        if (load_scalars (root, path, r, err) < 0 || load_versions (root, path, r, err) < 0)
                return -1;
        if (find_version (r, r->default_version) == NULL) {
                cleanup_buf struct buf pinned = BUF_INIT;
                if (join_versions (r, &pinned) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                return field_error (err, path, "default_version", "`%s` is not one of versions (%s)",
                                    r->default_version, pinned.data);
        }
        if (get_strv (root, "configure", path, "configure", 1, configure_arg_valid,
                      "must be an option starting with --", &r->configure_args, NULL, err) < 0
            || get_strv (root, "build_packages", path, "build_packages", 0, NULL, NULL,
                         &r->build_packages, NULL, err) < 0
            || get_strv (root, "runtime_packages", path, "runtime_packages", 0, NULL, NULL,
                         &r->runtime_packages, NULL, err) < 0)
                return -1;
        r->canonical = json_dumps (root, JSON_COMPACT | JSON_SORT_KEYS);
        if (r->canonical == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t i = 0; i < r->n_versions; i++)
                if (version_canonical (root, r->versions[i].version, &r->versions[i].canonical) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        return 0;
}

int
recipe_load_buf (const char *data, size_t len, const char *path, struct recipe *r,
                 pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;
        json_error_t je;

        memset (r, 0, sizeof (*r));
        /* Duplicate keys would let two pins of one version disagree. */
        root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
                return pgimg_error_from_json (err, path, &je);
        r->path = strdup (path);
        if (r->path == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (recipe_from_json (root, path, r, err) < 0) {
                recipe_free (r);
                return -1;
        }
        return 0;
}

int
recipe_load (const char *path, struct recipe *r, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;

        memset (r, 0, sizeof (*r));
        if (fs_read_file (path, RECIPE_MAX_BYTES, &text, err) < 0)
                return pgimg_error_wrap (err, "recipe");
        return recipe_load_buf (text.data ? text.data : "", text.len, path, r, err);
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
                if (!major_valid (de->d_name))
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
        const char *base = strrchr (r->path, '/');
        size_t n = strlen (r->major);

        base = base ? base + 1 : r->path;
        if (strncmp (base, r->major, n) == 0 && strcmp (base + n, ".json") == 0)
                return 0;
        return field_error (err, r->path, "major", "is \"%s\" but the file is not named %s.json",
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
        if (!name_valid (*name) || !major_valid (*major) || (dot && !version_valid (*major, ver)))
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

/* The paths of the *.json files directly in dir (hidden ones left out),
 * a NULL-terminated vector. */
static int
json_files (const char *dir, char ***out, size_t *n_out, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (dir);
        cleanup_strv char **v = NULL;
        size_t n = 0;
        struct dirent *de;

        if (d == NULL)
                return pgimg_make_error_errno (err, errno, "open `%s`", dir);
        if ((v = calloc (1, sizeof (char *))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list `%s`", dir);
        while ((errno = 0, de = readdir (d)) != NULL) {
                size_t len = strlen (de->d_name);
                char **nv;
                if (de->d_name[0] == '.' || len <= 5 || strcmp (de->d_name + len - 5, ".json") != 0)
                        continue;
                if ((nv = realloc (v, (n + 2) * sizeof (char *))) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "list `%s`", dir);
                v = nv;
                if (asprintf (&v[n], "%s/%s", dir, de->d_name) < 0) {
                        v[n] = NULL;
                        return pgimg_make_error_errno (err, ENOMEM, "list `%s`", dir);
                }
                v[++n] = NULL;
        }
        if (errno != 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", dir);
        *out = steal_pointer (&v);
        *n_out = n;
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
        if (json_files (dir, &paths, &n_paths, err) < 0)
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

/* ------------------------------------------------------------------ */
/* Extension recipes                                                   */

static const char *const ext_top_keys[] = {
        "build", "build_packages", "configure_args", "debian_source", "default_version",
        "extensions", "homepage", "license", "majors", "make_args", "name", "output_plugins", "requires",
        "runtime_packages", "shared_preload_libraries", "summary", "update", "versions", NULL,
};
static const char *const ext_version_keys[] = { "debs", "majors", "note", "sha256", "urls", NULL };
static const char *const ext_deb_keys[] = { "sha256", "url", NULL };
static const char *const ext_build_names[] = {
        [EXT_BUILD_PGXS] = "pgxs", [EXT_BUILD_AUTOCONF] = "autoconf", [EXT_BUILD_CMAKE] = "cmake",
        [EXT_BUILD_MESON] = "meson", [EXT_BUILD_DEB] = "deb", [EXT_BUILD_POSTGRES] = "postgres",
};

const char *
ext_build_name (enum ext_build b)
{
        return ext_build_names[b];
}

/* Extension and SQL names: lowercase letters, digits, '_' and '-'. */
static int
ext_name_valid (const char *s)
{
        if (*s == '\0' || *s == '-' || *s == '_' || strlen (s) > 64)
                return 0;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                        return 0;
        return 1;
}

/* Upstream versions: "0.8.0", "2.4.5", "18.0", "1.3.15" (no spaces, no
 * '/', no '@', so that they can name files and --with arguments). */
static int
ext_version_valid (const char *s)
{
        if (*s == '\0' || strlen (s) > 64 || !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z')))
                return 0;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
                      || *s == '.' || *s == '_' || *s == '-' || *s == '+' || *s == '~'))
                        return 0;
        return 1;
}

static int
strv_contains (char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (strcmp (*v, s) == 0)
                        return 1;
        return 0;
}

static int
ext_deb_entry (json_t *e, const char *path, const char *version, const char *major,
               struct ext_deb *out, pgimg_error_t *err)
{
        cleanup_free char *field = NULL;
        cleanup_free char *where = NULL;
        json_t *sha;

        if (asprintf (&field, "versions[\"%s\"].debs[\"%s\"]", version, major) < 0
            || asprintf (&where, "versions[\"%s\"].debs[\"%s\"].", version, major) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (!major_valid (major))
                return field_error (err, path, field, "is not keyed by a major such as \"15\"");
        if (!json_is_object (e))
                return field_error (err, path, field, "must be an object with url and sha256");
        if (reject_unknown_keys (e, ext_deb_keys, path, where, err) < 0)
                return -1;
        if ((out->major = strdup (major)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (get_string (e, "url", path, field, 1, &out->url, err) < 0)
                return -1;
        if (!http_url (out->url))
                return field_error (err, path, field, "url must be an http:// or https:// URL");
        sha = json_object_get (e, "sha256");
        if (!json_is_string (sha) || !sha256_hex_valid (json_string_value (sha)))
                return field_error (err, path, field, "sha256 must be 64 lowercase hex digits");
        memcpy (out->sha256, json_string_value (sha), SHA256_HEX_LEN + 1);
        return 0;
}

/* A version's majors (its own, or the recipe's) and its note. */
static int
ext_version_majors_and_note (json_t *entry, const char *path, const char *version,
                             const struct ext_recipe *r, struct ext_version *out, pgimg_error_t *err)
{
        cleanup_free char *field = NULL;

        if (asprintf (&field, "versions[\"%s\"].majors", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (out->majors == NULL && json_object_get (entry, "majors") != NULL) {
                if (get_strv (entry, "majors", path, field, 1, major_valid, "is not a major such as \"15\"",
                              &out->majors, NULL, err) < 0)
                        return -1;
        } else if (out->majors == NULL) {
                size_t n = 0;
                while (r->majors[n])
                        n++;
                if ((out->majors = calloc (n + 1, sizeof (char *))) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                for (size_t i = 0; i < n; i++)
                        if ((out->majors[i] = strdup (r->majors[i])) == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        free (field);
        if (asprintf (&field, "versions[\"%s\"].note", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        return get_string (entry, "note", path, field, 0, &out->note, err);
}

static int
ext_version_entry (json_t *entry, const char *path, const char *version, const struct ext_recipe *r,
                   struct ext_version *out, pgimg_error_t *err)
{
        cleanup_free char *field = NULL;
        cleanup_free char *where = NULL;
        json_t *debs = json_object_get (entry, "debs");
        json_t *sha = json_object_get (entry, "sha256");
        json_t *urls = json_object_get (entry, "urls");

        if (asprintf (&field, "versions[\"%s\"]", version) < 0
            || asprintf (&where, "versions[\"%s\"].", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (!ext_version_valid (version))
                return field_error (err, path, field, "is not a version (letters, digits and . _ - + ~)");
        if (!json_is_object (entry))
                return field_error (err, path, field, "must be an object with sha256 and urls, or debs");
        if (reject_unknown_keys (entry, ext_version_keys, path, where, err) < 0)
                return -1;
        if ((out->version = strdup (version)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (debs != NULL && (sha != NULL || urls != NULL))
                return field_error (err, path, field, "has both a source (sha256, urls) and debs: pin one");
        if (r->build == EXT_BUILD_POSTGRES) {
                /* Built from the image's own PostgreSQL source. */
                if (debs != NULL || sha != NULL || urls != NULL || strcmp (version, "postgres") != 0)
                        return field_error (err, path, field,
                                            "must be \"postgres\" with no source of its own: the build is \"postgres\"");
                return ext_version_majors_and_note (entry, path, version, r, out, err);
        }
        if (debs == NULL && (sha == NULL || urls == NULL))
                return field_error (err, path, field, "needs sha256 and urls (a source) or debs (Debian builds)");
        if (r->build == EXT_BUILD_DEB && debs == NULL)
                return field_error (err, path, field, "needs debs: the recipe's build is \"deb\"");
        if (debs != NULL) {
                const char *major;
                json_t *e;
                if (!json_is_object (debs) || json_object_size (debs) == 0)
                        return field_error (err, path, field, "debs must be an object from major to {url, sha256}");
                size_t total = 0, n_majors = 0;
                json_object_foreach (debs, major, e)
                        total += json_is_array (e) ? json_array_size (e) : 1;
                out->debs = calloc (total + 1, sizeof (*out->debs));
                out->majors = calloc (json_object_size (debs) + 1, sizeof (char *));
                if (out->debs == NULL || out->majors == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                /* One .deb per major, or several (a module and its SQL
                 * scripts, packaged apart). */
                json_object_foreach (debs, major, e) {
                        size_t n = json_is_array (e) ? json_array_size (e) : 1;
                        if (json_is_array (e) && n == 0)
                                return field_error (err, path, field, "debs[\"%s\"] must not be empty", major);
                        for (size_t i = 0; i < n; i++)
                                if (ext_deb_entry (json_is_array (e) ? json_array_get (e, i) : e, path, version,
                                                   major, &out->debs[out->n_debs++], err) < 0)
                                        return -1;
                        if ((out->majors[n_majors++] = strdup (major)) == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                }
                if (json_object_get (entry, "majors") != NULL)
                        return field_error (err, path, field, "lists majors and debs: the majors of debs are their keys");
        } else {
                if (!json_is_string (sha) || !sha256_hex_valid (json_string_value (sha)))
                        return field_error (err, path, field, "sha256 must be 64 lowercase hex digits");
                memcpy (out->sha256, json_string_value (sha), SHA256_HEX_LEN + 1);
                free (field);
                if (asprintf (&field, "versions[\"%s\"].urls", version) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                if (get_strv (entry, "urls", path, field, 1, http_url, "is not an http:// or https:// URL",
                              &out->urls, &out->n_urls, err) < 0)
                        return -1;
                if (out->n_urls == 0)
                        return field_error (err, path, field, "must list at least one URL");
        }
        return ext_version_majors_and_note (entry, path, version, r, out, err);
}

static int
ext_version_cmp_desc (const void *a, const void *b)
{
        return -deb_version_compare (((const struct ext_version *) a)->version,
                                     ((const struct ext_version *) b)->version);
}

/* What a build of one version depends on: the fields that shape its
 * files, with only that version under versions.  Summary, notes and the
 * default are left out, so that editing them rebuilds nothing. */
static int
ext_version_canonical (json_t *root, const char *version, char **out)
{
        static const char *const presentation[] = { "summary", "debian_source", "default_version",
                                                    "majors", "homepage", NULL };
        cleanup_json json_t *copy = json_deep_copy (root);
        json_t *entry, *only;

        if (copy == NULL)
                return -1;
        entry = json_deep_copy (json_object_get (json_object_get (copy, "versions"), version));
        only = json_object ();
        if (entry == NULL || only == NULL) {
                json_decref (entry);
                json_decref (only);
                return -1;
        }
        json_object_del (entry, "note");
        if (json_object_set_new (only, version, entry) < 0 || json_object_set_new (copy, "versions", only) < 0)
                return -1;
        for (size_t i = 0; presentation[i]; i++)
                json_object_del (copy, presentation[i]);
        *out = json_dumps (copy, JSON_COMPACT | JSON_SORT_KEYS);
        return *out ? 0 : -1;
}

static int
ext_load_default (json_t *root, const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        json_t *d = json_object_get (root, "default_version");
        const char *major;
        json_t *v;
        size_t n = 0;

        if (d == NULL)
                return field_error (err, path, "default_version", "is missing");
        if (json_is_string (d)) {
                if (ext_recipe_find (r, json_string_value (d)) == NULL)
                        return field_error (err, path, "default_version", "`%s` is not one of versions",
                                            json_string_value (d));
                r->default_version = strdup (json_string_value (d));
                return r->default_version ? 0 : pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        if (!json_is_object (d) || json_object_size (d) == 0)
                return field_error (err, path, "default_version",
                                    "must be a version, or an object from major to version");
        r->default_by_major = calloc (json_object_size (d) + 1, sizeof (char *));
        if (r->default_by_major == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        json_object_foreach (d, major, v) {
                const struct ext_version *ev;
                if (!major_valid (major) || !json_is_string (v))
                        return field_error (err, path, "default_version",
                                            "must map majors (\"15\") to versions");
                ev = ext_recipe_find (r, json_string_value (v));
                if (ev == NULL)
                        return field_error (err, path, "default_version", "`%s` (for %s) is not one of versions",
                                            json_string_value (v), major);
                if (!ext_version_supports (ev, major))
                        return field_error (err, path, "default_version", "`%s` does not build for %s",
                                            json_string_value (v), major);
                if (asprintf (&r->default_by_major[n++], "%s=%s", major, json_string_value (v)) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        return 0;
}

static int
ext_recipe_from_json (json_t *root, const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        cleanup_free char *build = NULL;
        const char *base = strrchr (path, '/');
        json_t *versions, *entry;
        const char *key;

        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: a recipe must be a JSON object", path);
        if (reject_unknown_keys (root, ext_top_keys, path, "", err) < 0)
                return -1;
        if (get_string (root, "name", path, "name", 1, &r->name, err) < 0)
                return -1;
        if (!ext_name_valid (r->name))
                return field_error (err, path, "name", "`%s` must be lowercase letters, digits, _ and -", r->name);
        base = base ? base + 1 : path;
        if (strncmp (base, r->name, strlen (r->name)) != 0 || strcmp (base + strlen (r->name), ".json") != 0)
                return field_error (err, path, "name", "is \"%s\" but the file is not named %s.json", r->name, r->name);
        if (get_string (root, "summary", path, "summary", 1, &r->summary, err) < 0
            || get_string (root, "license", path, "license", 1, &r->license, err) < 0
            || get_string (root, "homepage", path, "homepage", 1, &r->homepage, err) < 0
            || get_string (root, "debian_source", path, "debian_source", 0, &r->debian_source, err) < 0
            || get_string (root, "build", path, "build", 1, &build, err) < 0)
                return -1;
        if (!http_url (r->homepage))
                return field_error (err, path, "homepage", "must be an http:// or https:// URL");
        for (r->build = 0; r->build <= EXT_BUILD_POSTGRES; r->build++)
                if (strcmp (build, ext_build_names[r->build]) == 0)
                        break;
        if (r->build > EXT_BUILD_POSTGRES)
                return field_error (err, path, "build", "`%s` is not one of pgxs, autoconf, cmake, meson, deb, postgres", build);
        if (get_strv (root, "majors", path, "majors", 1, major_valid, "is not a major such as \"15\"",
                      &r->majors, NULL, err) < 0
            || get_strv (root, "extensions", path, "extensions", 1, ext_name_valid,
                         "is not an extension name", &r->extensions, NULL, err) < 0
            || get_strv (root, "shared_preload_libraries", path, "shared_preload_libraries", 0,
                         ext_name_valid, "is not a library name", &r->preload, NULL, err) < 0
            || get_strv (root, "output_plugins", path, "output_plugins", 0, ext_name_valid,
                         "is not a library name", &r->output_plugins, NULL, err) < 0
            || get_strv (root, "requires", path, "requires", 0, ext_name_valid, "is not a recipe name",
                         &r->requires, NULL, err) < 0
            || get_strv (root, "build_packages", path, "build_packages", 0, NULL, NULL,
                         &r->build_packages, NULL, err) < 0
            || get_strv (root, "runtime_packages", path, "runtime_packages", 0, NULL, NULL,
                         &r->runtime_packages, NULL, err) < 0
            || get_strv (root, "make_args", path, "make_args", 0, NULL, NULL, &r->make_args, NULL, err) < 0
            || get_strv (root, "configure_args", path, "configure_args", 0, NULL, NULL,
                         &r->configure_args, NULL, err) < 0)
                return -1;
        if (r->majors[0] == NULL)
                return field_error (err, path, "majors", "must list at least one major");
        {
                cleanup_free char *update = NULL;
                if (get_string (root, "update", path, "update", 0, &update, err) < 0)
                        return -1;
                if (update && strcmp (update, "recreate") == 0)
                        r->update_recreate = 1;
                else if (update && strcmp (update, "alter") != 0)
                        return field_error (err, path, "update", "`%s` is not one of alter, recreate", update);
        }
        if (strv_contains (r->requires, r->name))
                return field_error (err, path, "requires", "names the recipe itself");
        versions = json_object_get (root, "versions");
        if (!json_is_object (versions) || json_object_size (versions) == 0)
                return field_error (err, path, "versions", "must be an object pinning at least one version");
        r->versions = calloc (json_object_size (versions), sizeof (*r->versions));
        if (r->versions == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        json_object_foreach (versions, key, entry) {
                struct ext_version *v = &r->versions[r->n_versions++];
                if (ext_version_entry (entry, path, key, r, v, err) < 0)
                        return -1;
                if (ext_version_canonical (root, key, &v->canonical) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        qsort (r->versions, r->n_versions, sizeof (*r->versions), ext_version_cmp_desc);
        return ext_load_default (root, path, r, err);
}

int
ext_recipe_load_buf (const char *data, size_t len, const char *path, struct ext_recipe *r,
                     pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;
        json_error_t je;

        memset (r, 0, sizeof (*r));
        root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
                return pgimg_error_from_json (err, path, &je);
        if ((r->path = strdup (path)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (ext_recipe_from_json (root, path, r, err) < 0) {
                ext_recipe_free (r);
                return -1;
        }
        return 0;
}

int
ext_recipe_load (const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;

        memset (r, 0, sizeof (*r));
        if (fs_read_file (path, RECIPE_MAX_BYTES, &text, err) < 0)
                return pgimg_error_wrap (err, "extension recipe");
        return ext_recipe_load_buf (text.data ? text.data : "", text.len, path, r, err);
}

void
ext_recipe_free (struct ext_recipe *r)
{
        if (r == NULL)
                return;
        for (size_t i = 0; i < r->n_versions; i++) {
                struct ext_version *v = &r->versions[i];
                free (v->version);
                strv_free (v->urls);
                for (size_t j = 0; j < v->n_debs; j++) {
                        free (v->debs[j].major);
                        free (v->debs[j].url);
                }
                free (v->debs);
                strv_free (v->majors);
                free (v->note);
                free (v->canonical);
        }
        free (r->versions);
        free (r->path);
        free (r->name);
        free (r->summary);
        free (r->license);
        free (r->homepage);
        free (r->debian_source);
        strv_free (r->majors);
        free (r->default_version);
        strv_free (r->default_by_major);
        strv_free (r->extensions);
        strv_free (r->preload);
        strv_free (r->output_plugins);
        strv_free (r->requires);
        strv_free (r->build_packages);
        strv_free (r->runtime_packages);
        strv_free (r->make_args);
        strv_free (r->configure_args);
        memset (r, 0, sizeof (*r));
}

void
ext_recipes_free (struct ext_recipe *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ext_recipe_free (&v[i]);
        free (v);
}

static int
ext_recipe_name_cmp (const void *a, const void *b)
{
        return strcmp (((const struct ext_recipe *) a)->name, ((const struct ext_recipe *) b)->name);
}

int
ext_recipe_load_all (const char *dir, struct ext_recipe **out, size_t *n_out, pgimg_error_t *err)
{
        cleanup_strv char **paths = NULL;
        struct ext_recipe *v = NULL;
        size_t n = 0, n_paths = 0;

        *out = NULL;
        *n_out = 0;
        if (json_files (dir, &paths, &n_paths, err) < 0)
                return -1;
        if ((v = calloc (n_paths + 1, sizeof (*v))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "load extension recipes from `%s`", dir);
        for (; n < n_paths; n++)
                if (ext_recipe_load (paths[n], &v[n], err) < 0) {
                        ext_recipes_free (v, n);
                        return -1;
                }
        qsort (v, n, sizeof (*v), ext_recipe_name_cmp);
        *out = v;
        *n_out = n;
        return 0;
}

const struct ext_version *
ext_recipe_find (const struct ext_recipe *r, const char *version)
{
        for (size_t i = 0; i < r->n_versions; i++)
                if (strcmp (r->versions[i].version, version) == 0)
                        return &r->versions[i];
        return NULL;
}

int
ext_version_supports (const struct ext_version *v, const char *major)
{
        return strv_contains (v->majors, major);
}

const struct ext_deb *
ext_version_deb (const struct ext_version *v, const char *major)
{
        for (size_t i = 0; i < v->n_debs; i++)
                if (strcmp (v->debs[i].major, major) == 0)
                        return &v->debs[i];
        return NULL;
}

/* "0.8.0 (13, 15), 0.8.7 (17)": what the recipe pins, for messages. */
static int
ext_join_versions (const struct ext_recipe *r, struct buf *b)
{
        for (size_t i = 0; i < r->n_versions; i++) {
                if (buf_addf (b, "%s%s (", i ? ", " : "", r->versions[i].version) < 0)
                        return -1;
                for (char **m = r->versions[i].majors; *m; m++)
                        if (buf_addf (b, "%s%s", m == r->versions[i].majors ? "" : ", ", *m) < 0)
                                return -1;
                if (buf_adds (b, ")") < 0)
                        return -1;
        }
        return 0;
}

int
ext_recipe_pick (const struct ext_recipe *r, const char *version, const char *major,
                 const struct ext_version **v, pgimg_error_t *err)
{
        cleanup_buf struct buf pinned = BUF_INIT;
        const char *want = version;

        *v = NULL;
        if (want == NULL && r->default_by_major != NULL) {
                size_t n = strlen (major);
                for (char **p = r->default_by_major; *p; p++)
                        if (strncmp (*p, major, n) == 0 && (*p)[n] == '=')
                                want = *p + n + 1;
        }
        if (want == NULL)
                want = r->default_version;
        if (want != NULL)
                *v = ext_recipe_find (r, want);
        if (*v != NULL && ext_version_supports (*v, major))
                return 0;
        if (ext_join_versions (r, &pinned) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension `%s`", r->name);
        if (*v != NULL || (version == NULL && !strv_contains (r->majors, major))) {
                *v = NULL;
                return pgimg_make_error (err, ENOTSUP,
                                         "extension `%s%s%s` does not support PostgreSQL %s; pinned: %s",
                                         r->name, version ? "@" : "", version ? version : "", major,
                                         pinned.data);
        }
        if (version == NULL)
                return pgimg_make_error (err, ENOENT,
                                         "extension `%s` has no default version for PostgreSQL %s; pick one of: %s",
                                         r->name, major, pinned.data);
        return pgimg_make_error (err, ENOENT,
                                 "extension `%s`: version %s is not pinned (for PostgreSQL %s); pinned: %s",
                                 r->name, version, major, pinned.data);
}

int
ext_image_set_load (const char *path, char ***items, pgimg_error_t *err)
{
        static const char *const keys[] = { "extensions", "summary", NULL };
        cleanup_buf struct buf text = BUF_INIT;
        cleanup_json json_t *root = NULL;
        cleanup_strv char **add = NULL;
        cleanup_free char *summary = NULL;
        json_error_t je;
        size_t n_have = 0, n_add = 0;
        char **v;

        if (fs_read_file (path, RECIPE_MAX_BYTES, &text, err) < 0)
                return pgimg_error_wrap (err, "image set");
        root = json_loadb (text.data ? text.data : "", text.len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
                return pgimg_error_from_json (err, path, &je);
        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: an image set must be a JSON object", path);
        if (reject_unknown_keys (root, keys, path, "", err) < 0
            || get_string (root, "summary", path, "summary", 0, &summary, err) < 0
            || get_strv (root, "extensions", path, "extensions", 1, NULL, NULL, &add, &n_add, err) < 0)
                return -1;
        while (*items && (*items)[n_have])
                n_have++;
        v = realloc (*items, (n_have + n_add + 1) * sizeof (char *));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t i = 0; i < n_add; i++) {
                v[n_have + i] = add[i];
                add[i] = NULL;
        }
        v[n_have + n_add] = NULL;
        *items = v;
        return 0;
}
