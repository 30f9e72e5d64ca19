/* fuzz_cosign.c - what a registry says about signatures: the first byte
 * picks one, the rest is its input.
 *   0: the manifest of a .sig tag (its simple-signing layers and their
 *      signature annotations); what it accepts stays within the limits
 *   1: a simple-signing payload: the manifest digest it names
 *   2: a signature annotation: base64 into bytes
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_cosign tests/fuzz/corpus/fuzz_cosign/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
sig_manifest (const char *s, size_t len)
{
        struct reg_sig_layers sl;
        pgimg_error_t err = NULL;

        if (reg_sig_layers_parse (s, len, &sl, &err) < 0) {
                pgimg_error_free (&err);
                return;
        }
        if (sl.n > 64)
                abort ();
        for (size_t i = 0; i < sl.n; i++)
                if (sl.v[i].signature == NULL || sl.v[i].desc.size > REG_MAX_SIG_LAYER_BYTES
                    || store_digest_hex (sl.v[i].desc.digest) == NULL)
                        abort ();
        reg_sig_layers_free (&sl);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        pgimg_error_t err = NULL;
        char digest[72], *s, *out = NULL;
        size_t out_len;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 3) {
        case 0:
                sig_manifest (s, size - 1);
                break;
        case 1:
                if (reg_cosign_payload_digest (s, size - 1, digest, &err) == 0 && store_digest_hex (digest) == NULL)
                        abort ();
                break;
        default:
                if (reg_unbase64 (s, &out, &out_len) == 0 && out_len > strlen (s) / 4 * 3 + 3)
                        abort ();
                free (out);
                break;
        }
        pgimg_error_free (&err);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
