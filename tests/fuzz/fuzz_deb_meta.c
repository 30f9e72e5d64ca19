/* fuzz_deb_meta.c - what an image's packages say of themselves, as
 * pgimg reads it back for the SBOM: a copyright file's License fields,
 * a status paragraph's fields and os-release, all from the same bytes.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_deb_meta tests/fuzz/corpus/fuzz_deb_meta/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "builder/deb_meta.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        static const char *const fields[] = { "Package", "Version", "Source", "Architecture" };
        const char *text = (const char *) data;
        pgimg_error_t err = NULL;
        char *out = NULL;

        deb_meta_license (text, size, &out, &err);
        free (out);
        pgimg_error_free (&err);
        for (size_t i = 0; i < sizeof (fields) / sizeof (fields[0]); i++) {
                deb_meta_field (text, size, fields[i], &out, &err);
                free (out);
                pgimg_error_free (&err);
        }
        deb_meta_distro (text, size, size > 0 && data[size - 1] == '\0' ? text : NULL, &out, &err);
        free (out);
        pgimg_error_free (&err);
        return 0;
}

#include "tests/fuzz/replay.h"
