/* recipe.h - recipes: versions/<major>.json and extensions/<name>.json.
 *
 * The only module that parses recipes; jansson values never leave it.
 * See docs/recipes.md for the format.
 */
#ifndef PGIMG_RECIPE_H
#define PGIMG_RECIPE_H

#include <stddef.h>

#include "common/error.h"
#include "common/sha256.h"

struct recipe_version {
        char *version;                  /* "15.18" */
        char **urls;                    /* NULL-terminated: upstream first */
        size_t n_urls;
        char sha256[SHA256_HEX_LEN + 1];
        char *note;                     /* e.g. "Debian repack (+dfsg)", may be NULL */
        char *canonical;                /* the recipe reduced to this one version (no other
                                         * pins, no default_version), compact with sorted keys:
                                         * pinning a new minor leaves it unchanged */
};

struct recipe {
        char *path;
        char *name;                     /* "postgres" */
        char *major;                    /* "15" */
        char *default_version;
        struct recipe_version *versions;
        size_t n_versions;
        char **configure_args;          /* NULL-terminated */
        char **build_packages;          /* NULL-terminated */
        char **runtime_packages;        /* NULL-terminated */
        char *license;                  /* SPDX */
        char *homepage;
        char *canonical;                /* compact JSON with sorted keys: a cache-key input */
};

/* Load and validate one recipe.  Errors name the file and, for JSON
 * syntax, line and column.  r is filled on success (release it with
 * recipe_free) and left zeroed on failure.  versions are sorted newest
 * first. */
int recipe_load (const char *path, struct recipe *r, pgimg_error_t *err);
/* The same from text in memory; path only names it in messages. */
int recipe_load_buf (const char *data, size_t len, const char *path, struct recipe *r,
                     pgimg_error_t *err);
/* Free what r owns and zero it; safe on a zeroed recipe. */
void recipe_free (struct recipe *r);

/* "postgres-15" (default minor) or "postgres-15.17" (exact) against
 * dir (versions/).  *v points into r, which the caller frees with
 * recipe_free; on failure r is zeroed.  Unknown majors and versions are
 * errors that list what exists. */
int recipe_resolve (const char *dir, const char *spec, struct recipe *r,
                    const struct recipe_version **v, pgimg_error_t *err);

/* All recipes (*.json) in dir, sorted by major (numerically).  *out is
 * malloc'ed: recipe_free each, then free (*out).  One invalid recipe
 * fails the whole call, naming it. */
int recipe_load_all (const char *dir, struct recipe **out, size_t *n, pgimg_error_t *err);

/* ------------------------------------------------------------------ */
/* Extension recipes: extensions/<name>.json (docs/extension-recipes.md) */

enum ext_build {
        EXT_BUILD_PGXS = 0,
        EXT_BUILD_AUTOCONF,
        EXT_BUILD_CMAKE,
        EXT_BUILD_MESON,
        EXT_BUILD_DEB,
        EXT_BUILD_POSTGRES,     /* a part of PostgreSQL's own source (plperl) */
};

/* A Debian build of one version for one major. */
struct ext_deb {
        char *major;
        char *url;
        char sha256[SHA256_HEX_LEN + 1];
};

struct ext_version {
        char *version;                  /* upstream's: "0.8.0" */
        char **urls;                    /* source, NULL-terminated; NULL for Debian builds */
        size_t n_urls;
        char sha256[SHA256_HEX_LEN + 1];        /* of the source; "" for Debian builds */
        struct ext_deb *debs;           /* Debian builds by major, or NULL */
        size_t n_debs;
        /* Debian's arm64 builds of the same versions ("debs_arm64"), for
         * --platform linux/arm64; NULL when none is pinned.  Their majors
         * are among those of debs. */
        struct ext_deb *debs_arm64;
        size_t n_debs_arm64;
        char **majors;                  /* the majors this version builds for */
        char *note;
        char *canonical;                /* the recipe reduced to this version: a key input */
};

struct ext_recipe {
        char *path;
        char *name;                     /* "pgvector": what --with takes */
        char *summary;
        char *license;
        char *homepage;
        char *debian_source;            /* may be NULL */
        enum ext_build build;
        char **majors;                  /* NULL-terminated */
        char *default_version;          /* one default for every major, or NULL ... */
        char **default_by_major;        /* ... "15=1.7.0" pairs, NULL-terminated */
        /* "13=reason", "18-image=reason": where it does not go and why
         * (a major no version builds for, or as an extension image of
         * major M); NULL-terminated, may be NULL. */
        char **unsupported;
        char **extensions;              /* CREATE EXTENSION names */
        char **preload;                 /* shared_preload_libraries */
        char **output_plugins;          /* logical decoding plugins (output_plugin_libraries) */
        char **requires;                /* other recipes */
        char **build_packages;
        char **runtime_packages;
        char **make_args;
        char **configure_args;
        /* How an upgrade moves the extension to a new version: 0 ALTER
         * EXTENSION ... UPDATE (its update scripts) only; 1 DROP and
         * CREATE where no update path leads there (it keeps no data). */
        int update_recreate;
        /* "migration": what pgimg migration-test does for the extension
         * (its first CREATE EXTENSION name), each NULL when not said: SQL
         * run in a database being restored from a dump right after the
         * dump creates the extension, SQL run in each database that has
         * it after the restore, and after pg_upgrade or a restart; and
         * why pg_upgrade needs OLD's installed version in NEW too. */
        char *mig_before_restore, *mig_after_restore, *mig_after_upgrade, *mig_same_version;
        /* Tables ("schema.table") of the extension that a dump leaves
         * empty by design (never NULL; empty when not said), and why. */
        char **mig_dump_loses;
        char *mig_dump_loses_why;
        /* Settings ("name=value", never NULL) of the session that restores
         * a dump into NEW: credcheck must let hashed passwords in. */
        char **mig_restore_settings;
        /* Why pg_upgrade (18 and later) must not carry planner statistics
         * when the extension is installed, or NULL. */
        char *mig_no_statistics;
        /* Why a dump must be restored at OLD's installed version of the
         * extension (then updated, as pg_upgrade does), or NULL. */
        char *mig_restore_old_version;
        struct ext_version *versions;   /* newest first */
        size_t n_versions;
};

int ext_recipe_load (const char *path, struct ext_recipe *r, pgimg_error_t *err);
int ext_recipe_load_buf (const char *data, size_t len, const char *path, struct ext_recipe *r,
                         pgimg_error_t *err);
void ext_recipe_free (struct ext_recipe *r);

/* Every <name>.json in dir (extensions/), sorted by name; free with
 * ext_recipes_free.  One invalid recipe fails the call, naming it. */
int ext_recipe_load_all (const char *dir, struct ext_recipe **out, size_t *n, pgimg_error_t *err);
void ext_recipes_free (struct ext_recipe *v, size_t n);

/* The pinned version, or NULL. */
const struct ext_version *ext_recipe_find (const struct ext_recipe *r, const char *version);
/* Why r does not go on key (a major, or "M-image" for its extension
 * images of major M), from its recipe; NULL when it does not say. */
const char *ext_recipe_unsupported (const struct ext_recipe *r, const char *key);
/* 1 when v builds for major. */
int ext_version_supports (const struct ext_version *v, const char *major);
/* The Debian build of v for major, or NULL. */
const struct ext_deb *ext_version_deb (const struct ext_version *v, const char *major);
/* The same for the Debian architecture arch (NULL or "amd64": debs;
 * "arm64": debs_arm64). */
const struct ext_deb *ext_version_deb_arch (const struct ext_version *v, const char *major, const char *arch);

/* "pgvector" or "pgvector@0.8.0" for major: the recipe's version, or
 * an error that names the extension, the version and the major (and
 * lists what exists).  *v points into r. */
int ext_recipe_pick (const struct ext_recipe *r, const char *version, const char *major,
                     const struct ext_version **v, pgimg_error_t *err);

const char *ext_build_name (enum ext_build b);

/* An image set (images/default.json: {"summary": "...", "extensions":
 * ["pgvector", "pg_cron@1.6.5", ...]}): its items appended to *items, a
 * NULL-terminated vector the caller frees with strv_free. */
int ext_image_set_load (const char *path, char ***items, pgimg_error_t *err);

#endif
