/* deb_meta.c - fields of a status paragraph, the licences of a DEP-5
 * copyright file, the distribution of os-release.  Every parser works
 * on a NUL-terminated copy of at most META_MAX_BYTES of its input. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/deb_meta.h"
#include "common/buf.h"
#include "common/cleanup.h"

#define META_MAX_BYTES (4u << 20)
#define MAX_LICENSE_FIELDS 64
#define MAX_LICENSE_NAME 64

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "package metadata");
}

static char *
text_copy (const char *text, size_t len)
{
        return strndup (text ? text : "", len > META_MAX_BYTES ? META_MAX_BYTES : len);
}

/* The value after "field:" on line (NULL when line is not that field). */
static const char *
field_value (const char *line, const char *field)
{
        size_t n = strlen (field);

        if (strncasecmp (line, field, n) != 0 || line[n] != ':')
                return NULL;
        line += n + 1;
        return line + strspn (line, " \t");
}

static char *
trimmed (const char *s, size_t len)
{
        while (len > 0 && isspace ((unsigned char) s[len - 1]))
                len--;
        return strndup (s, len);
}

int
deb_meta_field (const char *text, size_t len, const char *field, char **out, pgimg_error_t *err)
{
        cleanup_free char *copy = text_copy (text, len);

        *out = NULL;
        if (copy == NULL)
                return oom (err);
        for (char *line = copy; line && *line && *line != '\n'; ) {
                char *nl = strchr (line, '\n');
                const char *v = field_value (line, field);
                if (v != NULL) {
                        *out = trimmed (v, nl ? (size_t) (nl - v) : strlen (v));
                        return *out ? 0 : oom (err);
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* Debian's short names (copyright-format 1.0, "Short names") and the
 * SPDX identifiers they stand for; matched case-insensitively.  A name
 * that is an SPDX identifier already maps to itself. */
static const struct { const char *debian, *spdx; } license_map[] = {
        { "AGPL-3", "AGPL-3.0-only" }, { "AGPL-3+", "AGPL-3.0-or-later" },
        { "Apache-1.0", "Apache-1.0" }, { "Apache-1.1", "Apache-1.1" },
        { "Apache-2", "Apache-2.0" }, { "Apache-2.0", "Apache-2.0" }, { "Apache-2.0+", "Apache-2.0" },
        { "Artistic", "Artistic-1.0-Perl" }, { "Artistic-1.0", "Artistic-1.0" },
        { "Artistic-2.0", "Artistic-2.0" }, { "BSD-2-clause", "BSD-2-Clause" },
        { "BSD-3-clause", "BSD-3-Clause" }, { "BSD-4-clause", "BSD-4-Clause" },
        { "BSL-1.0", "BSL-1.0" }, { "CC0", "CC0-1.0" }, { "CC0-1.0", "CC0-1.0" },
        { "curl", "curl" }, { "Expat", "MIT" }, { "FSFAP", "FSFAP" }, { "FSFUL", "FSFUL" },
        { "FSFULLR", "FSFULLR" }, { "GFDL-1.2", "GFDL-1.2-only" }, { "GFDL-1.2+", "GFDL-1.2-or-later" },
        { "GFDL-1.3", "GFDL-1.3-only" }, { "GFDL-1.3+", "GFDL-1.3-or-later" },
        { "GPL", "GPL-1.0-or-later" }, { "GPL-1", "GPL-1.0-only" }, { "GPL-1+", "GPL-1.0-or-later" },
        { "GPL-2", "GPL-2.0-only" }, { "GPL-2+", "GPL-2.0-or-later" }, { "GPL-2.0", "GPL-2.0-only" },
        { "GPL-2.0+", "GPL-2.0-or-later" }, { "GPL-2.0-only", "GPL-2.0-only" },
        { "GPL-2.0-or-later", "GPL-2.0-or-later" }, { "GPL-3.0-only", "GPL-3.0-only" },
        { "GPL-3.0-or-later", "GPL-3.0-or-later" }, { "LGPL-2.1-only", "LGPL-2.1-only" },
        { "LGPL-2.1-or-later", "LGPL-2.1-or-later" }, { "0BSD", "0BSD" }, { "MIT-0", "MIT-0" },
        { "CC-BY-3.0", "CC-BY-3.0" }, { "CC-BY-4.0", "CC-BY-4.0" }, { "Unlicense", "Unlicense" }, { "GPL-3", "GPL-3.0-only" }, { "GPL-3+", "GPL-3.0-or-later" },
        { "GPL-3.0", "GPL-3.0-only" }, { "GPL-3.0+", "GPL-3.0-or-later" }, { "ISC", "ISC" },
        { "LGPL-2", "LGPL-2.0-only" }, { "LGPL-2+", "LGPL-2.0-or-later" },
        { "LGPL-2.0", "LGPL-2.0-only" }, { "LGPL-2.0+", "LGPL-2.0-or-later" },
        { "LGPL-2.1", "LGPL-2.1-only" }, { "LGPL-2.1+", "LGPL-2.1-or-later" },
        { "LGPL-3", "LGPL-3.0-only" }, { "LGPL-3+", "LGPL-3.0-or-later" },
        { "LGPL-3.0", "LGPL-3.0-only" }, { "LGPL-3.0+", "LGPL-3.0-or-later" }, { "MIT", "MIT" },
        { "MPL-1.1", "MPL-1.1" }, { "MPL-2.0", "MPL-2.0" }, { "OpenSSL", "OpenSSL" },
        { "PostgreSQL", "PostgreSQL" }, { "PSF-2", "PSF-2.0" }, { "Python-2.0", "Python-2.0" },
        { "Tcl", "TCL" }, { "Unicode-DFS-2016", "Unicode-DFS-2016" }, { "X11", "X11" },
        { "Zlib", "Zlib" }, { "ZPL-2.1", "ZPL-2.1" },
};

/* A licence name as SPDX: the map's identifier, or LicenseRef-<name>
 * with what SPDX does not allow in an identifier made "-". */
static int
spdx_id (const char *name, struct buf *out)
{
        char ref[MAX_LICENSE_NAME + 1];
        size_t i;

        for (i = 0; i < sizeof (license_map) / sizeof (license_map[0]); i++)
                if (strcasecmp (name, license_map[i].debian) == 0)
                        return buf_adds (out, license_map[i].spdx);
        for (i = 0; name[i] && i < MAX_LICENSE_NAME; i++)
                ref[i] = isalnum ((unsigned char) name[i]) || name[i] == '.' ? name[i] : '-';
        ref[i] = '\0';
        return buf_addf (out, "LicenseRef-%s", ref);
}

static int
is_word (const char *s, size_t n, const char *w)
{
        return n == strlen (w) && strncasecmp (s, w, n) == 0;
}

/* One License field's short names ("GPL-2+ or Artistic", "BSD-3-clause
 * and public domain", "GPL-2+ with OpenSSL exception") as an SPDX
 * expression in out; 0 with out empty when it names none. */
static int
field_expression (const char *value, struct buf *out, size_t *n_names)
{
        char name[MAX_LICENSE_NAME + 1];
        const char *op = NULL;
        size_t name_len = 0, names = 0;
        int skipping = 0;

        for (const char *p = value;; ) {
                p += strspn (p, " \t,");
                size_t n = strcspn (p, " \t,");
                int end = n == 0;
                int is_op = !end && (is_word (p, n, "or") || is_word (p, n, "and"));
                if ((end || is_op) && name_len > 0) {
                        name[name_len] = '\0';
                        if ((names && buf_addf (out, " %s ", op ? op : "AND") < 0) || spdx_id (name, out) < 0)
                                return -1;
                        names++;
                        name_len = 0;
                }
                if (end)
                        break;
                if (is_op) {
                        op = is_word (p, n, "or") ? "OR" : "AND";
                        skipping = 0;
                } else if (is_word (p, n, "with")) {
                        skipping = 1;   /* an exception: the licence is what came before */
                } else if (!skipping && name_len + n + 1 < MAX_LICENSE_NAME) {
                        if (name_len)
                                name[name_len++] = '-';
                        memcpy (name + name_len, p, n);
                        name_len += n;
                }
                p += n;
        }
        *n_names = names;
        return 0;
}

static int
cmp_str (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Add expression e (taken over) to v unless it is there. */
static int
add_distinct (char **v, size_t *n, char *e)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp (v[i], e) == 0) {
                        free (e);
                        return 0;
                }
        if (*n == MAX_LICENSE_FIELDS) {
                free (e);
                return 0;
        }
        v[(*n)++] = e;
        return 0;
}

/* A field's expression e into v: one with OR as a whole, in
 * parentheses; one with only AND as its licences, each on its own,
 * since the file's fields are joined by AND anyway. */
static int
add_field (char **v, size_t *n, struct buf *e, size_t names)
{
        char *x = NULL;

        if (names > 1 && strstr (e->data, " OR ") != NULL) {
                if (asprintf (&x, "(%s)", e->data) < 0)
                        return -1;
                return add_distinct (v, n, x);
        }
        for (char *p = e->data; p; ) {
                char *and = strstr (p, " AND ");
                if ((x = and ? strndup (p, (size_t) (and - p)) : strdup (p)) == NULL || add_distinct (v, n, x) < 0)
                        return -1;
                p = and ? and + 5 : NULL;
        }
        return 0;
}

/* The expressions of every License field of text into v. */
static int
license_fields (char *text, char **v, size_t *n)
{
        for (char *line = text; line && *line; ) {
                char *nl = strchr (line, '\n');
                const char *value;
                if (nl)
                        *nl = '\0';
                value = field_value (line, "License");
                if (value != NULL) {
                        cleanup_buf struct buf e = BUF_INIT;
                        size_t names = 0;
                        if (field_expression (value, &e, &names) < 0)
                                return -1;
                        if (names > 0 && add_field (v, n, &e, names) < 0)
                                return -1;
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

int
deb_meta_license (const char *text, size_t len, char **out, pgimg_error_t *err)
{
        cleanup_free char *copy = text_copy (text, len);
        cleanup_buf struct buf expr = BUF_INIT;
        char *v[MAX_LICENSE_FIELDS];
        size_t n = 0;
        int r = 0;

        *out = NULL;
        if (copy == NULL)
                return oom (err);
        r = license_fields (copy, v, &n);
        if (r == 0 && n > 0) {
                qsort (v, n, sizeof (v[0]), cmp_str);
                for (size_t i = 0; i < n && r == 0; i++)
                        r = buf_addf (&expr, "%s%s", i ? " AND " : "", v[i]);
                /* A lone field needs no parentheses. */
                if (r == 0 && n == 1 && expr.data[0] == '(')
                        r = (*out = strndup (expr.data + 1, expr.len - 2)) ? 0 : -1;
                else if (r == 0)
                        *out = buf_detach (&expr, NULL);
        }
        for (size_t i = 0; i < n; i++)
                free (v[i]);
        return r < 0 ? oom (err) : 0;
}

/* An os-release value without quotes, only [a-z0-9._-] kept. */
static char *
os_release_value (const char *v)
{
        char *out = malloc (strlen (v) + 1);
        size_t k = 0;

        if (out == NULL)
                return NULL;
        for (; *v && *v != '\n'; v++)
                if (islower ((unsigned char) *v) || isdigit ((unsigned char) *v) || strchr ("._-", *v))
                        out[k++] = *v;
        out[k] = '\0';
        return out;
}

int
deb_meta_distro (const char *text, size_t len, const char *debian_version, char **out,
                 pgimg_error_t *err)
{
        cleanup_free char *copy = text_copy (text, len);
        cleanup_free char *id = NULL, *version = NULL;

        *out = NULL;
        if (copy == NULL)
                return oom (err);
        for (char *line = copy; line && *line; ) {
                char *nl = strchr (line, '\n');
                char **slot = strncmp (line, "ID=", 3) == 0 ? &id
                              : strncmp (line, "VERSION_ID=", 11) == 0 ? &version : NULL;
                if (slot && *slot == NULL && (*slot = os_release_value (strchr (line, '=') + 1)) == NULL)
                        return oom (err);
                line = nl ? nl + 1 : NULL;
        }
        /* "13.8", not "trixie/sid" */
        if (debian_version && isdigit ((unsigned char) debian_version[0])) {
                free (version);
                if ((version = os_release_value (debian_version)) == NULL)
                        return oom (err);
        }
        if (id == NULL || version == NULL || !*id || !*version)
                return 0;
        if (asprintf (out, "%s-%s", id, version) < 0) {
                *out = NULL;
                return oom (err);
        }
        return 0;
}
