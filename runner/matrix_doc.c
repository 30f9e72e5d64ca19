#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "runner/matrix_doc.h"

#define HEADER "| extension | version |"
#define MAX_COLUMNS 32
#define PASSED "\xe2\x9c\x85 "          /* ✅ */
#define FAILED "\xe2\x9d\x8c "          /* ❌ */

/* The cells of one table row: each trimmed, NUL-terminated in place. */
static size_t
split_row (char *line, char **cells, size_t max)
{
        size_t n = 0;
        char *p = line + 1;             /* past the leading '|' */

        while (n < max) {
                char *bar = strchr (p, '|');
                if (bar == NULL)
                        break;
                *bar = '\0';
                while (*p == ' ')
                        p++;
                for (char *e = bar; e > p && e[-1] == ' ';)
                        *--e = '\0';
                cells[n++] = p;
                p = bar + 1;
        }
        return n;
}

/* "17" stays "17", "18 image" becomes "18-image"; else -1. */
static int
column_key (const char *head, char key[24])
{
        size_t digits = strspn (head, "0123456789");

        if (digits == 0 || digits > 8)
                return -1;
        if (head[digits] == '\0')
                memcpy (key, head, digits + 1);
        else if (strcmp (head + digits, " image") == 0) {
                memcpy (key, head, digits);
                memcpy (key + digits, "-image", 7);
        } else
                return -1;
        return 0;
}

static int
add_line (struct buf *out, const char *key, const char *pgver, const char *name, const char *version,
          const char *kind, const char *status, const char *reason)
{
        return buf_addf (out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", key, pgver, name, version, kind, status, reason);
}

/* One cell as a result line; other cells add nothing. */
static int
add_cell (struct buf *out, const char *key, const char *name, const char *version, const char *cell)
{
        static const char *const kinds[][2] = { { "from source (", "source" }, { "Debian build (", "debian" } };
        size_t np = strlen (PASSED), nf = strlen (FAILED);

        if (strncmp (cell, PASSED, np) == 0) {
                const char *rest = cell + np;
                for (size_t i = 0; i < 2; i++) {
                        size_t k = strlen (kinds[i][0]), m;
                        if (strncmp (rest, kinds[i][0], k) != 0)
                                continue;
                        m = strlen (rest + k);
                        if (m < 2 || rest[k + m - 1] != ')' || memchr (rest + k, '\t', m))
                                return 0;
                        char pgver[32];
                        if (m - 1 >= sizeof (pgver))
                                return 0;
                        memcpy (pgver, rest + k, m - 1);
                        pgver[m - 1] = '\0';
                        return add_line (out, key, pgver, name, version, kinds[i][1], "passed", "");
                }
                return 0;
        }
        if (strncmp (cell, FAILED, nf) == 0) {
                const char *rest = cell + nf;
                if (strncmp (rest, "build fails: ", 13) == 0)
                        return add_line (out, key, "-", name, version, "source", "not-built", rest + 13);
                if (strncmp (rest, "test fails: ", 12) == 0)
                        return add_line (out, key, "-", name, version, "source", "failed", rest + 12);
        }
        return 0;
}

int
matrix_doc_results (const char *text, size_t len, struct buf *out, pgimg_error_t *err)
{
        char keys[MAX_COLUMNS][24];
        size_t n_keys = 0;
        int in_table = 0;
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                cleanup_free char *line = strndup (p, n);
                char *cells[MAX_COLUMNS + 2];
                size_t nc;

                p += n + (nl ? 1 : 0);
                if (line == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "matrix");
                if (strlen (line) != n || memchr (line, '\t', n))
                        return pgimg_make_error (err, EINVAL, "the matrix has a line with a NUL or a tab");
                if (!in_table) {
                        if (strncmp (line, HEADER, strlen (HEADER)) != 0)
                                continue;
                        nc = split_row (line, cells, MAX_COLUMNS + 2);
                        for (size_t i = 2; i < nc; i++)
                                if (column_key (cells[i], keys[n_keys++]) < 0)
                                        return pgimg_make_error (err, EINVAL,
                                                                 "the matrix has a column `%s`, not a major", cells[i]);
                        in_table = 1;
                        continue;
                }
                if (line[0] != '|')
                        break;
                if (strncmp (line, "|---", 4) == 0)
                        continue;
                nc = split_row (line, cells, MAX_COLUMNS + 2);
                if (nc != n_keys + 2)
                        return pgimg_make_error (err, EINVAL, "the matrix has a row of %zu cells, not %zu: `%.60s`",
                                                 nc, n_keys + 2, line);
                for (size_t i = 2; i < nc; i++)
                        if (add_cell (out, keys[i - 2], cells[0], cells[1], cells[i]) < 0)
                                return pgimg_make_error_errno (err, ENOMEM, "matrix");
        }
        return 0;
}
