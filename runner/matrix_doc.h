/* matrix_doc.h - the tested cells of an extension matrix that `pgimg
 * matrix` wrote (docs/extensions.md), read back as result lines, so that
 * a run of a few cells can be merged into the matrix of earlier runs.
 * Only ✅ and ❌ cells are results; the others follow from the recipes.
 */
#ifndef PGIMG_MATRIX_DOC_H
#define PGIMG_MATRIX_DOC_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

/* Append to out one line per ✅ or ❌ cell of the table in text[0..len),
 * in the format of `pgimg test --results`: major (or "M-image"), the
 * PostgreSQL version ("-" for a failure), extension, version, kind
 * ("source" or "debian"), "passed", "failed" or "not-built", reason,
 * tab-separated.  Text without the table adds nothing.  A header
 * column that is not a major or "M image" is an error naming it. */
int matrix_doc_results (const char *text, size_t len, struct buf *out, pgimg_error_t *err);

#endif
