/* fuzz_registry.c - what a registry sends back, through the registry
 * client's parsers: the first byte picks one, the rest is its input.
 *   0: a WWW-Authenticate header      1: an image manifest
 *   2: an index or manifest list      3: a reference
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_registry corpus/
 *   cc ... -o replay tests/fuzz/fuzz_registry.c libpgimg.a && ./replay crash-file
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        pgimg_error_t err = NULL;
        char *s;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 4) {
        case 0: {
                struct reg_challenge c;
                if (reg_challenge_parse (s, &c, &err) == 0)
                        reg_challenge_free (&c);
                break;
        }
        case 1: {
                struct reg_manifest m;
                if (reg_manifest_parse (s, size - 1, &m, &err) == 0)
                        reg_manifest_free (&m);
                break;
        }
        case 2: {
                struct reg_desc d;
                if (reg_index_pick (s, size - 1, &d, &err) == 0)
                        reg_desc_free (&d);
                free (reg_json_media_type (s, size - 1));
                break;
        }
        default: {
                struct oci_ref r;
                if (oci_ref_parse_remote (s, &r, &err) == 0)
                        oci_ref_free (&r);
                break;
        }
        }
        pgimg_error_free (&err);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
