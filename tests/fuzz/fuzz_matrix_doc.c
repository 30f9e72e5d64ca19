/* fuzz_matrix_doc.c - what `pgimg matrix --merge` reads: an extension
 * matrix (docs/extensions.md).  Every line it makes of a cell must be
 * a result line of 7 tab-separated fields.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_matrix_doc tests/fuzz/corpus/fuzz_matrix_doc/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "runner/matrix_doc.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        if (matrix_doc_results ((const char *) data, size, &out, &err) < 0) {
                if (err == NULL || err->msg == NULL || strchr (err->msg, '\n'))
                        abort ();
                pgimg_error_free (&err);
        }
        for (const char *p = out.data; p && *p;) {
                const char *nl = strchr (p, '\n');
                size_t tabs = 0;
                if (nl == NULL)
                        abort ();
                for (const char *q = p; q < nl; q++)
                        tabs += *q == '\t';
                if (tabs != 6)
                        abort ();
                p = nl + 1;
        }
        buf_release (&out);
        return 0;
}

#include "tests/fuzz/replay.h"
