#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner/left_out.h"

#define MAX_REASON 400

/* Debian Policy 5.6.1: lowercase letters, digits, '+', '-' and '.',
 * at least two characters, starting with a letter or digit. */
static int
is_source_name (const char *s, size_t n)
{
        if (n < 2 || n > 100 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return 0;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr ("+-.", s[i])))
                        return 0;
        return 1;
}

/* Printable ASCII or UTF-8 (bytes >= 0x80), no '|', not blank at either end. */
static const char *
reason_problem (const char *s, size_t n)
{
        if (n == 0)
                return "an empty reason";
        if (n > MAX_REASON)
                return "a reason over 400 bytes";
        if (s[0] == ' ' || s[n - 1] == ' ')
                return "spaces around the reason";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '|')
                        return "a '|' in the reason (it would split the table's cell)";
                if (c < 0x20 || c == 0x7f)
                        return "a tab or control character in the reason";
        }
        return NULL;
}

static int
by_package (const void *a, const void *b)
{
        return strcmp (((const struct left_out *) a)->package, ((const struct left_out *) b)->package);
}

void
left_out_free (struct left_out *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free (v[i].package);
                free (v[i].reason);
        }
        free (v);
}

/* One line (without its newline) appended to *v; lineno for errors. */
static int
parse_line (const char *line, size_t n, const char *origin, size_t lineno, struct left_out **v, size_t *nv,
            pgimg_error_t *err)
{
        const char *tab = memchr (line, '\t', n);
        const char *why;
        struct left_out *nw;

        if (tab == NULL || !is_source_name (line, (size_t) (tab - line)))
                return pgimg_make_error (err, EINVAL,
                                         "`%s` line %zu: expected `source-package<TAB>reason`, with a Debian "
                                         "source package name (lowercase letters, digits, '+', '-', '.')",
                                         origin, lineno);
        if ((why = reason_problem (tab + 1, n - (size_t) (tab + 1 - line))))
                return pgimg_make_error (err, EINVAL, "`%s` line %zu (%.*s): %s; write one line of plain text",
                                         origin, lineno, (int) (tab - line), line, why);
        if ((nw = realloc (*v, (*nv + 1) * sizeof (*nw))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", origin);
        *v = nw;
        nw[*nv].package = strndup (line, (size_t) (tab - line));
        nw[*nv].reason = strndup (tab + 1, n - (size_t) (tab + 1 - line));
        (*nv)++;
        if (nw[*nv - 1].package == NULL || nw[*nv - 1].reason == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", origin);
        return 0;
}

int
left_out_parse (const char *text, size_t len, const char *origin, struct left_out **out, size_t *n_out,
                pgimg_error_t *err)
{
        struct left_out *v = NULL;
        size_t nv = 0, lineno = 0;
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                const char *line = p;

                p += n + (nl ? 1 : 0);
                lineno++;
                if (n > 0 && line[n - 1] == '\r')
                        n--;
                if (memchr (line, '\0', n)) {
                        left_out_free (v, nv);
                        return pgimg_make_error (err, EINVAL, "`%s` line %zu: a NUL byte; the file is text",
                                                 origin, lineno);
                }
                if (n == 0 || line[0] == '#')
                        continue;
                int rc = parse_line (line, n, origin, lineno, &v, &nv, err);
                if (rc < 0) {
                        left_out_free (v, nv);
                        return rc;
                }
        }
        if (nv > 1)
                qsort (v, nv, sizeof (*v), by_package);
        for (size_t i = 1; i < nv; i++)
                if (strcmp (v[i - 1].package, v[i].package) == 0) {
                        int rc = pgimg_make_error (err, EINVAL, "`%s`: `%s` is listed twice; keep one line",
                                                   origin, v[i].package);
                        left_out_free (v, nv);
                        return rc;
                }
        *out = v;
        *n_out = nv;
        return 0;
}
