/* recipe_field.c - the field readers of the recipe loader. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe_field.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

int
recipe_json_parse (const char *data, size_t len, const char *path, json_t **root, pgimg_error_t *err)
{
        json_error_t je;

        *root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &je);
        if (*root == NULL)
                return pgimg_error_from_json (err, path, &je);
        return 0;
}

int
recipe_json_load (const char *path, const char *what, json_t **root, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;

        *root = NULL;
        if (fs_read_file (path, RECIPE_MAX_BYTES, &text, err) < 0)
                return pgimg_error_wrap (err, "%s", what);
        return recipe_json_parse (text.data ? text.data : "", text.len, path, root, err);
}

int
recipe_fields_enter (const struct recipe_fields *parent, json_t *obj, struct recipe_fields *f,
                     pgimg_error_t *err, const char *name_fmt, ...)
{
        va_list ap;
        int n;

        f->path = parent->path;
        f->obj = obj;
        va_start (ap, name_fmt);
        n = vasprintf (&f->name, name_fmt, ap);
        va_end (ap);
        if (n < 0) {
                f->name = NULL;
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", parent->path);
        }
        return 0;
}

void
recipe_fields_release (struct recipe_fields *f)
{
        free (f->name);
        f->name = NULL;
}

/* "<name>.<key>", "<name>" or "<key>"; NULL when out of memory. */
static char *
field_name (const struct recipe_fields *f, const char *key)
{
        char *s = NULL;

        if (asprintf (&s, "%s%s%s", f->name ? f->name : "", f->name && key ? "." : "", key ? key : "") < 0)
                return NULL;
        return s;
}

int
recipe_field_error (pgimg_error_t *err, const struct recipe_fields *f, const char *key,
                    const char *fmt, ...)
{
        cleanup_free char *what = NULL;
        cleanup_free char *field = field_name (f, key);
        va_list ap;

        va_start (ap, fmt);
        if (vasprintf (&what, fmt, ap) < 0)
                what = NULL;
        va_end (ap);
        if (field == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
        return pgimg_make_error (err, EINVAL, "`%s`: field `%s` %s", f->path, field,
                                 what ? what : "is invalid");
}

static int
in_list (const char *const *list, const char *s)
{
        for (; *list; list++)
                if (strcmp (*list, s) == 0)
                        return 1;
        return 0;
}

int
recipe_fields_known (const struct recipe_fields *f, const char *const *known, pgimg_error_t *err)
{
        const char *key;
        json_t *value;
        cleanup_buf struct buf names = BUF_INIT;

        json_object_foreach (f->obj, key, value) {
                cleanup_free char *field = NULL;
                if (in_list (known, key))
                        continue;
                for (const char *const *k = known; *k; k++)
                        if (buf_addf (&names, "%s%s", k == known ? "" : ", ", *k) < 0)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
                if ((field = field_name (f, key)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
                return pgimg_make_error (err, EINVAL, "`%s`: unknown field `%s` (known: %s)", f->path,
                                         field, names.data);
        }
        return 0;
}

int
recipe_field_string (const struct recipe_fields *f, const char *key, int required, char **out,
                     pgimg_error_t *err)
{
        json_t *v = json_object_get (f->obj, key);

        *out = NULL;
        if (v == NULL)
                return required ? recipe_field_error (err, f, key, "is missing") : 0;
        if (!json_is_string (v))
                return recipe_field_error (err, f, key, "must be a string");
        if (json_string_length (v) == 0)
                return recipe_field_error (err, f, key, "must not be empty");
        *out = strdup (json_string_value (v));
        if (*out == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
        return 0;
}

/* Element i of the array key: "field `<name>.<key>[i]` ...". */
static int
element_error (pgimg_error_t *err, const struct recipe_fields *f, const char *key, size_t i,
               const char *value, const char *what)
{
        cleanup_free char *field = field_name (f, key);

        if (field == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
        if (value == NULL)
                return pgimg_make_error (err, EINVAL, "`%s`: field `%s[%zu]` %s", f->path, field, i, what);
        return pgimg_make_error (err, EINVAL, "`%s`: field `%s[%zu]` (`%s`) %s", f->path, field, i,
                                 value, what);
}

int
recipe_field_strv (const struct recipe_fields *f, const char *key, int required,
                   const struct recipe_check *check, char ***out, size_t *n_out, pgimg_error_t *err)
{
        json_t *arr = json_object_get (f->obj, key);
        cleanup_strv char **v = NULL;
        size_t n;

        if (arr == NULL && required)
                return recipe_field_error (err, f, key, "is missing");
        if (arr != NULL && !json_is_array (arr))
                return recipe_field_error (err, f, key, "must be an array of strings");
        n = arr ? json_array_size (arr) : 0;
        v = calloc (n + 1, sizeof (char *));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get (arr, i);
                if (!json_is_string (e) || json_string_length (e) == 0)
                        return element_error (err, f, key, i, NULL, "must be a non-empty string");
                if (check && !check->ok (json_string_value (e)))
                        return element_error (err, f, key, i, json_string_value (e), check->fails);
                v[i] = strdup (json_string_value (e));
                if (v[i] == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", f->path);
        }
        if (n_out)
                *n_out = n;
        *out = steal_pointer (&v);
        return 0;
}

int
recipe_field_object (const struct recipe_fields *f, const char *key, const char *shape,
                     json_t **out, pgimg_error_t *err)
{
        json_t *v = json_object_get (f->obj, key);

        *out = NULL;
        if (v == NULL)
                return recipe_field_error (err, f, key, "is missing");
        if (!json_is_object (v))
                return recipe_field_error (err, f, key, "must be %s", shape);
        *out = v;
        return 0;
}

int
recipe_field_sha256 (const struct recipe_fields *f, const char *key, char out[SHA256_HEX_LEN + 1],
                     pgimg_error_t *err)
{
        json_t *v = json_object_get (f->obj, key);

        if (v == NULL)
                return recipe_field_error (err, f, key, "is missing");
        if (!json_is_string (v) || !sha256_hex_valid (json_string_value (v)))
                return recipe_field_error (err, f, key, "must be 64 lowercase hex digits");
        memcpy (out, json_string_value (v), SHA256_HEX_LEN + 1);
        return 0;
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

/* Short enough to be a number; no leading zero, so that "015" and "15"
 * cannot name one major twice. */
int
recipe_major_valid (const char *s)
{
        return all_digits (s) && s[0] != '0' && strlen (s) <= 4;
}

int
recipe_http_url (const char *s)
{
        return (strncmp (s, "https://", 8) == 0 && s[8] != '\0')
               || (strncmp (s, "http://", 7) == 0 && s[7] != '\0');
}

int
recipe_json_files (const char *dir, char ***out, size_t *n_out, pgimg_error_t *err)
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
