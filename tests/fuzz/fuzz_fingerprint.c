/* fuzz_fingerprint.c - what `pgimg migration-test` reads back from the
 * clusters it compares: two fingerprints (the output of
 * tests/migrations/fingerprint.sql run on OLD's and NEW's servers, which
 * an image someone else made can shape), split at the first NUL byte,
 * normalized with a fact mask and compared.  An error is one line; a
 * report has a line for each difference up to the limit asked for, and
 * comparing a fingerprint with itself finds only index facts whose
 * query used no index.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_fingerprint tests/fuzz/corpus/fuzz_fingerprint/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "runner/fingerprint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static size_t
lines (const struct buf *b)
{
        size_t n = 0;

        for (size_t i = 0; i < b->len; i++)
                n += b->data[i] == '\n';
        return n;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        const char *nul = memchr (data, '\0', size);
        size_t la = nul ? (size_t) (nul - (const char *) data) : size;
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf report = BUF_INIT;
        cleanup_buf struct buf updates = BUF_INIT;
        struct fp_result res;
        pgimg_error_t err = NULL;

        if (buf_add (&a, data, la) < 0 || buf_add (&b, nul ? nul + 1 : "", nul ? size - la - 1 : 0) < 0)
                abort ();
        if (fp_normalize (&a, "s\tarwdDxtm\tarwdDxt\n", &err) < 0 || fp_normalize (&b, "s\tarwdDxtm\tarwdDxt\n", &err) < 0) {
                if (err == NULL || err->msg == NULL || strchr (err->msg, '\n'))
                        abort ();
                pgimg_error_free (&err);
                return 0;
        }
        if (fp_compare (a.data, a.len, b.data, b.len, 5, &report, &updates, &res, &err) < 0) {
                if (err == NULL || err->msg == NULL || strchr (err->msg, '\n'))
                        abort ();
                pgimg_error_free (&err);
                return 0;
        }
        if (lines (&report) != (res.n_diffs < 5 ? res.n_diffs : 5))
                abort ();
        buf_reset (&report);
        if (fp_compare (a.data, a.len, a.data, a.len, 1000000, &report, NULL, &res, &err) < 0 || res.n_ext_changed != 0)
                abort ();
        for (const char *p = report.data; p && *p; p = strchr (p, '\n') + 1) {
                static const char index_line[] = ": the query did not use an index after the upgrade\n";
                const char *nl = strchr (p, '\n');
                if (nl == NULL || (size_t) (nl + 1 - p) < sizeof (index_line) - 1
                    || memcmp (nl + 1 - (sizeof (index_line) - 1), index_line, sizeof (index_line) - 1) != 0)
                        abort ();
        }
        return 0;
}

#include "tests/fuzz/replay.h"
