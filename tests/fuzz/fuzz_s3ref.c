/* fuzz_s3ref.c - the checks that keep credentials and paths in place:
 * the first byte picks one, the rest is its input.
 *   0: an S3 location (s3://bucket/prefix:tag); what it accepts must
 *      not name a path outside the bucket's folder
 *   1: a token realm from a registry; 2: an upload Location against
 *      the registry's origin
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_s3ref tests/fuzz/corpus/fuzz_s3ref/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* An accepted location's parts may not climb out of refs/s3/. */
static void
check_parts (const char *bucket, const char *prefix, const char *tag)
{
        char *path = NULL;

        if (asprintf (&path, "/%s/%s%s/", bucket, prefix, tag) < 0)
                return;
        if (strstr (path, "/../") || strstr (path, "/./") || strstr (path, "//") || strchr (tag, '/'))
                abort ();
        free (path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        static const struct registry_opts strict = { .retries = 0 };
        pgimg_error_t err = NULL;
        char *s, *bucket, *prefix, *tag;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 3) {
        case 0:
                if (reg_s3_location_parse (s, &bucket, &prefix, &tag, &err) == 0) {
                        check_parts (bucket, prefix, tag);
                        free (bucket);
                        free (prefix);
                        free (tag);
                }
                break;
        case 1:
                /* Plain http is never allowed when nothing was named insecure. */
                unsetenv ("PGIMG_INSECURE_REGISTRIES");
                if (reg_realm_check (&strict, "registry r", s, &err) == 0 && strncasecmp (s, "https://", 8) != 0)
                        abort ();
                break;
        default:
                if (reg_same_origin ("https://r.example:5000", s)
                    && strncasecmp (s, "https://r.example:5000", 22) != 0)
                        abort ();
                break;
        }
        pgimg_error_free (&err);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
