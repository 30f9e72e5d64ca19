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

#endif
