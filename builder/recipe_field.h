/* recipe_field.h - reading the fields of a recipe: versions/<major>.json,
 * extensions/<name>.json and images/<set>.json.
 *
 * One set of readers, so that every recipe says what is wrong in one
 * form: "`<file>`: field `<field>` <what>", where <field> is the path
 * to it ("versions[\"15.18\"].urls[0]").  Only the recipe loader
 * (recipe.c, recipe_ext.c) includes this header: jansson stays there.
 */
#ifndef PGIMG_RECIPE_FIELD_H
#define PGIMG_RECIPE_FIELD_H

#include <stddef.h>

#include "common/error.h"
#include "common/libjson.h"
#include "common/sha256.h"

/* A recipe is a few kilobytes; anything much larger is not one. */
#define RECIPE_MAX_BYTES (1024 * 1024)

/* text parsed as JSON into *root (the caller's, for json_decref).
 * Duplicate keys are refused: they would let two pins of one version
 * disagree.  A syntax error names path, its line and column. */
int recipe_json_parse (const char *data, size_t len, const char *path, json_t **root, pgimg_error_t *err);
/* The same for the file path, of at most RECIPE_MAX_BYTES; what names
 * the kind of file when it cannot be read ("recipe: open `x`: ..."). */
int recipe_json_load (const char *path, const char *what, json_t **root, pgimg_error_t *err);

/* The object whose fields are read: obj in the file path, named name
 * ("versions[\"15.18\"]"; NULL for the top level).  obj is borrowed;
 * name is owned (recipe_fields_release frees it). */
struct recipe_fields {
        const char *path;
        json_t *obj;
        char *name;
};
#define RECIPE_FIELDS_TOP(path, obj) { (path), (obj), NULL }

/* The member of parent->obj (or any value) that obj is, named by
 * name_fmt.  Fails only when out of memory. */
int recipe_fields_enter (const struct recipe_fields *parent, json_t *obj, struct recipe_fields *f,
                         pgimg_error_t *err, const char *name_fmt, ...)
        __attribute__ ((format (printf, 5, 6)));
void recipe_fields_release (struct recipe_fields *f);
#define cleanup_recipe_fields __attribute__ ((cleanup (recipe_fields_release)))

/* "`<path>`: field `<name>.<key>` <what>"; key NULL names the object
 * itself.  Returns a negative value (EINVAL). */
int recipe_field_error (pgimg_error_t *err, const struct recipe_fields *f, const char *key,
                        const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/* Refuse a member not in known (NULL-terminated): "`<path>`: unknown
 * field `<name>.<key>` (known: a, b, c)".  A misspelt key must not be
 * ignored: it would silently build something else. */
int recipe_fields_known (const struct recipe_fields *f, const char *const *known, pgimg_error_t *err);

/* A non-empty string, malloc'ed into *out.  A missing optional one is
 * NULL; a missing required one "is missing". */
int recipe_field_string (const struct recipe_fields *f, const char *key, int required, char **out,
                         pgimg_error_t *err);

/* A check on each element of an array: the predicate and what an
 * element that fails it "is" ("is not an http:// or https:// URL"). */
struct recipe_check {
        int (*ok) (const char *);
        const char *fails;
};

/* An array of non-empty strings, as a NULL-terminated vector the
 * caller frees with strv_free (*n_out its length, n_out may be NULL).
 * A missing optional array is an empty vector.  check may be NULL. */
int recipe_field_strv (const struct recipe_fields *f, const char *key, int required,
                       const struct recipe_check *check, char ***out, size_t *n_out,
                       pgimg_error_t *err);

/* A required object, borrowed into *out: "is missing", or "must be
 * <shape>" when it is something else. */
int recipe_field_object (const struct recipe_fields *f, const char *key, const char *shape,
                         json_t **out, pgimg_error_t *err);

/* A required sha256: 64 lowercase hex digits into out. */
int recipe_field_sha256 (const struct recipe_fields *f, const char *key,
                         char out[SHA256_HEX_LEN + 1], pgimg_error_t *err);

/* Value checks that both kinds of recipe use. */
int recipe_major_valid (const char *s);      /* "15": digits, no leading zero */
int recipe_http_url (const char *s);         /* http:// or https:// and more */

/* The paths of the *.json files directly in dir (hidden ones left
 * out), a NULL-terminated vector for strv_free. */
int recipe_json_files (const char *dir, char ***out, size_t *n_out, pgimg_error_t *err);

#endif
