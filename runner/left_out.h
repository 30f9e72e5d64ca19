/* left_out.h - extensions/left-out.tsv: the Debian source packages that
 * build against PostgreSQL but have no recipe, one line each,
 * `source-package<TAB>one-line reason`, for the "Left out" section of
 * the extension matrix (`pgimg matrix`).  Blank lines and lines that
 * start with '#' are skipped.  It only parses; it reads no file.
 */
#ifndef PGIMG_LEFT_OUT_H
#define PGIMG_LEFT_OUT_H

#include <stddef.h>

#include "common/error.h"

struct left_out {
        char *package;                  /* Debian source package: "pg-gvm" */
        char *reason;                   /* one line, no tab, no '|' */
};

/* Parse text[0..len) into *out (n_out entries), sorted by package; the
 * caller frees it with left_out_free.  A line that is not a Debian
 * source name, a tab and a reason (non-empty, printable, no '|', which
 * would break the Markdown table), or a package named twice, is an
 * error naming origin, the line number and what to fix; *out is then
 * untouched. */
int left_out_parse (const char *text, size_t len, const char *origin, struct left_out **out, size_t *n_out,
                    pgimg_error_t *err);

void left_out_free (struct left_out *v, size_t n);

#endif
