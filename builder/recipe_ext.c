/* recipe_ext.c - extension recipes (extensions/<name>.json) and image
 * sets (images/<set>.json), read through recipe_field.c like the
 * PostgreSQL recipes of recipe.c.  See docs/extension-recipes.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb_version.h"
#include "builder/recipe.h"
#include "builder/recipe_field.h"
#include "common/buf.h"
#include "common/cleanup.h"

static const char *const ext_top_keys[] = {
        "build", "build_packages", "configure_args", "debian_source", "default_version",
        "extensions", "homepage", "license", "majors", "make_args", "migration", "name", "output_plugins",
        "requires", "runtime_packages", "shared_preload_libraries", "summary", "unsupported", "update", "versions", NULL,
};
static const char *const ext_version_keys[] = { "debs", "debs_arm64", "majors", "note", "sha256", "urls", NULL };
static const char *const ext_deb_keys[] = { "sha256", "url", NULL };
static const char *const ext_migration_keys[] = { "after_restore", "after_upgrade", "before_restore", "dump_loses",
                                                  "dump_loses_why", "no_statistics", "restore_old_version",
                                                  "restore_settings", "same_version", NULL };
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

static const struct recipe_check url_check = { recipe_http_url, "is not an http:// or https:// URL" };
static const struct recipe_check major_check = { recipe_major_valid, "is not a major such as \"15\"" };

static int
ext_deb_entry (const struct recipe_fields *version, json_t *e, const char *major, struct ext_deb *out,
               pgimg_error_t *err)
{
        cleanup_recipe_fields struct recipe_fields d = { 0 };
        json_t *sha;

        if (recipe_fields_enter (version, e, &d, err, "%s.debs[\"%s\"]", version->name, major) < 0)
                return -1;
        if (!recipe_major_valid (major))
                return recipe_field_error (err, &d, NULL, "is not keyed by a major such as \"15\"");
        if (!json_is_object (e))
                return recipe_field_error (err, &d, NULL, "must be an object with url and sha256");
        if (recipe_fields_known (&d, ext_deb_keys, err) < 0)
                return -1;
        if ((out->major = strdup (major)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", d.path);
        if (recipe_field_string (&d, "url", 1, &out->url, err) < 0)
                return -1;
        if (!recipe_http_url (out->url))
                return recipe_field_error (err, &d, "url", "must be an http:// or https:// URL");
        sha = json_object_get (e, "sha256");
        if (!json_is_string (sha) || !sha256_hex_valid (json_string_value (sha)))
                return recipe_field_error (err, &d, NULL, "sha256 must be 64 lowercase hex digits");
        memcpy (out->sha256, json_string_value (sha), SHA256_HEX_LEN + 1);
        return 0;
}

/* A version's majors (its own, or the recipe's) and its note. */
static int
ext_version_majors_and_note (const struct recipe_fields *v, const struct ext_recipe *r,
                             struct ext_version *out, pgimg_error_t *err)
{
        if (out->majors == NULL && json_object_get (v->obj, "majors") != NULL) {
                if (recipe_field_strv (v, "majors", 1, &major_check, &out->majors, NULL, err) < 0)
                        return -1;
        } else if (out->majors == NULL) {
                size_t n = 0;
                while (r->majors[n])
                        n++;
                if ((out->majors = calloc (n + 1, sizeof (char *))) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", v->path);
                for (size_t i = 0; i < n; i++)
                        if ((out->majors[i] = strdup (r->majors[i])) == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", v->path);
        }
        return recipe_field_string (v, "note", 0, &out->note, err);
}

/* The .debs of a version's field debs or debs_arm64: one per major, or
 * several (a module and its SQL scripts, packaged apart), into *out
 * (calloc'ed) and *n.  amd64, when given, is the version read so far:
 * each major must be one of its debs. */
static int
ext_debs_parse (const struct recipe_fields *v, json_t *debs, const char *field, const struct ext_version *amd64,
                struct ext_deb **out, size_t *n_out, pgimg_error_t *err)
{
        size_t total = 0;
        const char *major;
        json_t *e;

        if (!json_is_object (debs) || json_object_size (debs) == 0)
                return recipe_field_error (err, v, NULL, "%s must be an object from major to {url, sha256}", field);
        json_object_foreach (debs, major, e)
                total += json_is_array (e) ? json_array_size (e) : 1;
        if ((*out = calloc (total + 1, sizeof (**out))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", v->path);
        json_object_foreach (debs, major, e) {
                size_t n = json_is_array (e) ? json_array_size (e) : 1;
                if (amd64 != NULL && ext_version_deb (amd64, major) == NULL)
                        return recipe_field_error (err, v, NULL, "%s[\"%s\"] has no amd64 build in debs", field, major);
                if (json_is_array (e) && n == 0)
                        return recipe_field_error (err, v, NULL, "%s[\"%s\"] must not be empty", field, major);
                for (size_t i = 0; i < n; i++)
                        if (ext_deb_entry (v, json_is_array (e) ? json_array_get (e, i) : e, major,
                                           &(*out)[(*n_out)++], err) < 0)
                                return -1;
        }
        return 0;
}

/* Debian builds: the majors of the version are the keys. */
static int
ext_version_debs (const struct recipe_fields *v, json_t *debs, struct ext_version *out,
                  pgimg_error_t *err)
{
        size_t n_majors = 0;
        const char *major;
        json_t *e;

        if (ext_debs_parse (v, debs, "debs", NULL, &out->debs, &out->n_debs, err) < 0)
                return -1;
        if ((out->majors = calloc (json_object_size (debs) + 1, sizeof (char *))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", v->path);
        json_object_foreach (debs, major, e)
                if ((out->majors[n_majors++] = strdup (major)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", v->path);
        if (json_object_get (v->obj, "majors") != NULL)
                return recipe_field_error (err, v, NULL, "lists majors and debs: the majors of debs are their keys");
        return 0;
}

/* A source: its sha256 and the URLs to fetch it from. */
static int
ext_version_source (const struct recipe_fields *v, json_t *sha, struct ext_version *out,
                    pgimg_error_t *err)
{
        if (!json_is_string (sha) || !sha256_hex_valid (json_string_value (sha)))
                return recipe_field_error (err, v, NULL, "sha256 must be 64 lowercase hex digits");
        memcpy (out->sha256, json_string_value (sha), SHA256_HEX_LEN + 1);
        if (recipe_field_strv (v, "urls", 1, &url_check, &out->urls, &out->n_urls, err) < 0)
                return -1;
        if (out->n_urls == 0)
                return recipe_field_error (err, v, "urls", "must list at least one URL");
        return 0;
}

static int
ext_version_entry (const struct recipe_fields *top, json_t *entry, const char *version,
                   const struct ext_recipe *r, struct ext_version *out, pgimg_error_t *err)
{
        cleanup_recipe_fields struct recipe_fields v = { 0 };
        json_t *debs = json_object_get (entry, "debs");
        json_t *debs_arm64 = json_object_get (entry, "debs_arm64");
        json_t *sha = json_object_get (entry, "sha256");
        json_t *urls = json_object_get (entry, "urls");

        if (recipe_fields_enter (top, entry, &v, err, "versions[\"%s\"]", version) < 0)
                return -1;
        if (!ext_version_valid (version))
                return recipe_field_error (err, &v, NULL, "is not a version (letters, digits and . _ - + ~)");
        if (!json_is_object (entry))
                return recipe_field_error (err, &v, NULL, "must be an object with sha256 and urls, or debs");
        if (recipe_fields_known (&v, ext_version_keys, err) < 0)
                return -1;
        if ((out->version = strdup (version)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        if (debs != NULL && (sha != NULL || urls != NULL))
                return recipe_field_error (err, &v, NULL, "has both a source (sha256, urls) and debs: pin one");
        if (r->build == EXT_BUILD_POSTGRES) {
                /* Built from the image's own PostgreSQL source. */
                if (debs != NULL || sha != NULL || urls != NULL || strcmp (version, "postgres") != 0)
                        return recipe_field_error (err, &v, NULL,
                                                   "must be \"postgres\" with no source of its own: the build is \"postgres\"");
                return ext_version_majors_and_note (&v, r, out, err);
        }
        if (debs == NULL && (sha == NULL || urls == NULL))
                return recipe_field_error (err, &v, NULL, "needs sha256 and urls (a source) or debs (Debian builds)");
        if (r->build == EXT_BUILD_DEB && debs == NULL)
                return recipe_field_error (err, &v, NULL, "needs debs: the recipe's build is \"deb\"");
        if (debs != NULL ? ext_version_debs (&v, debs, out, err) < 0 : ext_version_source (&v, sha, out, err) < 0)
                return -1;
        if (debs_arm64 != NULL && debs == NULL)
                return recipe_field_error (err, &v, NULL, "has debs_arm64 but no debs: pin the amd64 builds too");
        /* Debian's arm64 builds, for the majors of debs. */
        if (debs_arm64 != NULL
            && ext_debs_parse (&v, debs_arm64, "debs_arm64", out, &out->debs_arm64, &out->n_debs_arm64, err) < 0)
                return -1;
        return ext_version_majors_and_note (&v, r, out, err);
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
                                                    "majors", "homepage", "unsupported", "migration", NULL };
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
        /* An arm64 layer's key has the arm64 .debs' digests of their own
         * (extension.c), so that pinning them leaves amd64 keys as they were. */
        json_object_del (entry, "debs_arm64");
        if (json_object_set_new (only, version, entry) < 0 || json_object_set_new (copy, "versions", only) < 0)
                return -1;
        for (size_t i = 0; presentation[i]; i++)
                json_object_del (copy, presentation[i]);
        *out = json_dumps (copy, JSON_COMPACT | JSON_SORT_KEYS);
        return *out ? 0 : -1;
}
static int
ext_load_default (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        json_t *d = json_object_get (top->obj, "default_version");
        const char *major;
        json_t *v;
        size_t n = 0;

        if (d == NULL)
                return recipe_field_error (err, top, "default_version", "is missing");
        if (json_is_string (d)) {
                if (ext_recipe_find (r, json_string_value (d)) == NULL)
                        return recipe_field_error (err, top, "default_version", "`%s` is not one of versions",
                                                   json_string_value (d));
                r->default_version = strdup (json_string_value (d));
                return r->default_version ? 0 : pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        }
        if (!json_is_object (d) || json_object_size (d) == 0)
                return recipe_field_error (err, top, "default_version",
                                           "must be a version, or an object from major to version");
        r->default_by_major = calloc (json_object_size (d) + 1, sizeof (char *));
        if (r->default_by_major == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        json_object_foreach (d, major, v) {
                const struct ext_version *ev;
                if (!recipe_major_valid (major) || !json_is_string (v))
                        return recipe_field_error (err, top, "default_version",
                                                   "must map majors (\"15\") to versions");
                ev = ext_recipe_find (r, json_string_value (v));
                if (ev == NULL)
                        return recipe_field_error (err, top, "default_version",
                                                   "`%s` (for %s) is not one of versions", json_string_value (v),
                                                   major);
                if (!ext_version_supports (ev, major))
                        return recipe_field_error (err, top, "default_version", "`%s` does not build for %s",
                                                   json_string_value (v), major);
                if (asprintf (&r->default_by_major[n++], "%s=%s", major, json_string_value (v)) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        }
        return 0;
}

/* Where the recipe does not go and why: "unsupported" maps a major that
 * no version builds for, or "M-image" for a major M that one does, to
 * one line of reason (a cell of the matrix). */
static int
ext_load_unsupported (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        json_t *u = json_object_get (top->obj, "unsupported"), *v;
        const char *key;
        size_t n = 0;

        if (u == NULL)
                return 0;
        if (!json_is_object (u))
                return recipe_field_error (err, top, "unsupported", "must be an object from major to reason");
        if ((r->unsupported = calloc (json_object_size (u) + 1, sizeof (char *))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        json_object_foreach (u, key, v) {
                char major[16];
                size_t len = strcspn (key, "-");
                int image = strcmp (key + len, "-image") == 0, served = 0;
                const char *why = json_string_value (v);

                if (len >= sizeof (major) || (key[len] != '\0' && !image))
                        return recipe_field_error (err, top, "unsupported", "`%s` is not a major or \"M-image\"",
                                                   key);
                memcpy (major, key, len);
                major[len] = '\0';
                if (!recipe_major_valid (major))
                        return recipe_field_error (err, top, "unsupported", "`%s` is not a major or \"M-image\"",
                                                   key);
                if (why == NULL || *why == '\0' || strlen (why) > 300 || strpbrk (why, "|\t\r\n"))
                        return recipe_field_error (err, top, "unsupported",
                                                   "the reason for `%s` must be one line of text without `|`", key);
                for (size_t i = 0; i < r->n_versions; i++)
                        served |= ext_version_supports (&r->versions[i], major);
                if (served != image)
                        return recipe_field_error (err, top, "unsupported",
                                                   image ? "`%s`: no version builds for %s" : "`%s`: a version builds for %s",
                                                   key, major);
                if (asprintf (&r->unsupported[n++], "%s=%s", key, why) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        }
        return 0;
}

const char *
ext_recipe_unsupported (const struct ext_recipe *r, const char *key)
{
        size_t n = strlen (key);

        for (char **p = r->unsupported; p && *p; p++)
                if (strncmp (*p, key, n) == 0 && (*p)[n] == '=')
                        return *p + n + 1;
        return NULL;
}

/* Name (which the file name must match), descriptions and build. */
static int
ext_load_scalars (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        cleanup_free char *build = NULL;
        const char *base = strrchr (top->path, '/');

        if (recipe_field_string (top, "name", 1, &r->name, err) < 0)
                return -1;
        if (!ext_name_valid (r->name))
                return recipe_field_error (err, top, "name", "`%s` must be lowercase letters, digits, _ and -",
                                           r->name);
        base = base ? base + 1 : top->path;
        if (strncmp (base, r->name, strlen (r->name)) != 0 || strcmp (base + strlen (r->name), ".json") != 0)
                return recipe_field_error (err, top, "name", "is \"%s\" but the file is not named %s.json",
                                           r->name, r->name);
        if (recipe_field_string (top, "summary", 1, &r->summary, err) < 0
            || recipe_field_string (top, "license", 1, &r->license, err) < 0
            || recipe_field_string (top, "homepage", 1, &r->homepage, err) < 0
            || recipe_field_string (top, "debian_source", 0, &r->debian_source, err) < 0
            || recipe_field_string (top, "build", 1, &build, err) < 0)
                return -1;
        if (!recipe_http_url (r->homepage))
                return recipe_field_error (err, top, "homepage", "must be an http:// or https:// URL");
        for (r->build = 0; r->build <= EXT_BUILD_POSTGRES; r->build++)
                if (strcmp (build, ext_build_names[r->build]) == 0)
                        return 0;
        return recipe_field_error (err, top, "build",
                                   "`%s` is not one of pgxs, autoconf, cmake, meson, deb, postgres", build);
}

static int
ext_load_lists (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        static const struct recipe_check extension_check = { ext_name_valid, "is not an extension name" };
        static const struct recipe_check library_check = { ext_name_valid, "is not a library name" };
        static const struct recipe_check recipe_name_check = { ext_name_valid, "is not a recipe name" };

        if (recipe_field_strv (top, "majors", 1, &major_check, &r->majors, NULL, err) < 0
            || recipe_field_strv (top, "extensions", 1, &extension_check, &r->extensions, NULL, err) < 0
            || recipe_field_strv (top, "shared_preload_libraries", 0, &library_check, &r->preload, NULL, err) < 0
            || recipe_field_strv (top, "output_plugins", 0, &library_check, &r->output_plugins, NULL, err) < 0
            || recipe_field_strv (top, "requires", 0, &recipe_name_check, &r->requires, NULL, err) < 0
            || recipe_field_strv (top, "build_packages", 0, NULL, &r->build_packages, NULL, err) < 0
            || recipe_field_strv (top, "runtime_packages", 0, NULL, &r->runtime_packages, NULL, err) < 0
            || recipe_field_strv (top, "make_args", 0, NULL, &r->make_args, NULL, err) < 0
            || recipe_field_strv (top, "configure_args", 0, NULL, &r->configure_args, NULL, err) < 0)
                return -1;
        if (r->majors[0] == NULL)
                return recipe_field_error (err, top, "majors", "must list at least one major");
        return 0;
}

/* How an upgrade moves the extension: "alter" (the default) or "recreate". */
static int
ext_load_update (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        cleanup_free char *update = NULL;

        if (recipe_field_string (top, "update", 0, &update, err) < 0)
                return -1;
        if (update && strcmp (update, "recreate") == 0)
                r->update_recreate = 1;
        else if (update && strcmp (update, "alter") != 0)
                return recipe_field_error (err, top, "update", "`%s` is not one of alter, recreate", update);
        return 0;
}

/* "schema.table", lower case, as the migration fingerprint names a table. */
static int
is_qualified_table (const char *s)
{
        const char *dot = strchr (s, '.');

        if (dot == NULL || dot == s || dot[1] == '\0' || strchr (dot + 1, '.') != NULL)
                return 0;
        return strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen (s);
}

/* "name=value" for a server setting: a custom setting's dotted name, and a
 * plain value (it goes into PGOPTIONS as `-c name=value`). */
static int
is_setting (const char *s)
{
        const char *eq = strchr (s, '=');

        if (eq == NULL || eq == s || eq[1] == '\0' || strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789_.") != (size_t) (eq - s))
                return 0;
        return strspn (eq + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen (eq + 1);
}

static const struct recipe_check setting_check = { is_setting, "is not a setting as name=value (letters, digits, _ . -)" };

static const struct recipe_check qualified_table = { is_qualified_table, "is not a table as schema.table (lower case)" };

/* What an upgrade must do for the extension beside updating it
 * ("migration"): SQL around a restored dump and after pg_upgrade, and
 * why pg_upgrade needs OLD's version in NEW.  Not part of any layer key. */
static int
ext_load_migration (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        json_t *m = json_object_get (top->obj, "migration");
        cleanup_recipe_fields struct recipe_fields f = { 0 };

        if (m == NULL)
                return 0;
        if (!json_is_object (m))
                return recipe_field_error (err, top, "migration", "must be an object (%s)",
                                           "after_restore, after_upgrade, before_restore, dump_loses, "
                                           "dump_loses_why, no_statistics, restore_old_version, restore_settings, "
                                           "same_version");
        if (recipe_fields_enter (top, m, &f, err, "migration") < 0 || recipe_fields_known (&f, ext_migration_keys, err) < 0
            || recipe_field_string (&f, "before_restore", 0, &r->mig_before_restore, err) < 0
            || recipe_field_string (&f, "after_restore", 0, &r->mig_after_restore, err) < 0
            || recipe_field_string (&f, "after_upgrade", 0, &r->mig_after_upgrade, err) < 0
            || recipe_field_string (&f, "same_version", 0, &r->mig_same_version, err) < 0
            || recipe_field_string (&f, "no_statistics", 0, &r->mig_no_statistics, err) < 0
            || recipe_field_string (&f, "restore_old_version", 0, &r->mig_restore_old_version, err) < 0
            || recipe_field_strv (&f, "dump_loses", 0, &qualified_table, &r->mig_dump_loses, NULL, err) < 0
            || recipe_field_string (&f, "dump_loses_why", 0, &r->mig_dump_loses_why, err) < 0
            || recipe_field_strv (&f, "restore_settings", 0, &setting_check, &r->mig_restore_settings, NULL, err) < 0)
                return -1;
        if (r->mig_dump_loses[0] != NULL && r->mig_dump_loses_why == NULL)
                return recipe_field_error (err, &f, "dump_loses_why", "is missing: say why a dump leaves %s empty",
                                           "the tables of dump_loses");
        if (r->mig_dump_loses[0] == NULL && r->mig_dump_loses_why != NULL)
                return recipe_field_error (err, &f, "dump_loses", "is missing: name the tables a dump leaves empty, %s",
                                           "as schema.table");
        return 0;
}

static int
ext_load_versions (const struct recipe_fields *top, struct ext_recipe *r, pgimg_error_t *err)
{
        static const char shape[] = "an object pinning at least one version";
        json_t *versions, *entry;
        const char *key;

        if (recipe_field_object (top, "versions", shape, &versions, err) < 0)
                return -1;
        if (json_object_size (versions) == 0)
                return recipe_field_error (err, top, "versions", "must be %s", shape);
        r->versions = calloc (json_object_size (versions), sizeof (*r->versions));
        if (r->versions == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        json_object_foreach (versions, key, entry) {
                struct ext_version *v = &r->versions[r->n_versions++];
                if (ext_version_entry (top, entry, key, r, v, err) < 0)
                        return -1;
                if (ext_version_canonical (top->obj, key, &v->canonical) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", top->path);
        }
        qsort (r->versions, r->n_versions, sizeof (*r->versions), ext_version_cmp_desc);
        return 0;
}

static int
ext_recipe_from_json (json_t *root, const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        struct recipe_fields top = RECIPE_FIELDS_TOP (path, root);

        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: a recipe must be a JSON object", path);
        if (recipe_fields_known (&top, ext_top_keys, err) < 0 || ext_load_scalars (&top, r, err) < 0
            || ext_load_lists (&top, r, err) < 0 || ext_load_update (&top, r, err) < 0
            || ext_load_migration (&top, r, err) < 0)
                return -1;
        if (strv_contains (r->requires, r->name))
                return recipe_field_error (err, &top, "requires", "names the recipe itself");
        if (ext_load_versions (&top, r, err) < 0 || ext_load_unsupported (&top, r, err) < 0)
                return -1;
        return ext_load_default (&top, r, err);
}

/* r (zeroed) from the parsed root; r is zeroed again on failure. */
static int
ext_recipe_from_root (json_t *root, const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        if ((r->path = strdup (path)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (ext_recipe_from_json (root, path, r, err) < 0) {
                ext_recipe_free (r);
                return -1;
        }
        return 0;
}

int
ext_recipe_load_buf (const char *data, size_t len, const char *path, struct ext_recipe *r,
                     pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;

        memset (r, 0, sizeof (*r));
        if (recipe_json_parse (data, len, path, &root, err) < 0)
                return -1;
        return ext_recipe_from_root (root, path, r, err);
}

int
ext_recipe_load (const char *path, struct ext_recipe *r, pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;

        memset (r, 0, sizeof (*r));
        if (recipe_json_load (path, "extension recipe", &root, err) < 0)
                return -1;
        return ext_recipe_from_root (root, path, r, err);
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
                for (size_t j = 0; j < v->n_debs_arm64; j++) {
                        free (v->debs_arm64[j].major);
                        free (v->debs_arm64[j].url);
                }
                free (v->debs_arm64);
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
        strv_free (r->unsupported);
        free (r->mig_before_restore);
        free (r->mig_after_restore);
        free (r->mig_after_upgrade);
        free (r->mig_same_version);
        strv_free (r->mig_dump_loses);
        strv_free (r->mig_restore_settings);
        free (r->mig_no_statistics);
        free (r->mig_restore_old_version);
        free (r->mig_dump_loses_why);
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
        if (recipe_json_files (dir, &paths, &n_paths, err) < 0)
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

const struct ext_deb *
ext_version_deb_arch (const struct ext_version *v, const char *major, const char *arch)
{
        if (arch == NULL || strcmp (arch, "amd64") == 0)
                return ext_version_deb (v, major);
        if (strcmp (arch, "arm64") != 0)
                return NULL;
        for (size_t i = 0; i < v->n_debs_arm64; i++)
                if (strcmp (v->debs_arm64[i].major, major) == 0)
                        return &v->debs_arm64[i];
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
        struct recipe_fields top = RECIPE_FIELDS_TOP (path, NULL);
        cleanup_json json_t *root = NULL;
        cleanup_strv char **add = NULL;
        cleanup_free char *summary = NULL;
        size_t n_have = 0, n_add = 0;
        char **v;

        if (recipe_json_load (path, "image set", &root, err) < 0)
                return -1;
        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: an image set must be a JSON object", path);
        top.obj = root;
        if (recipe_fields_known (&top, keys, err) < 0 || recipe_field_string (&top, "summary", 0, &summary, err) < 0
            || recipe_field_strv (&top, "extensions", 1, NULL, &add, &n_add, err) < 0)
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
