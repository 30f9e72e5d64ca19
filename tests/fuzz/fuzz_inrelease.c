/* fuzz_inrelease.c - the text of an InRelease file, as gpgv hands it
 * over once the signature checks out (a mirror chooses every byte of
 * it), through the lock maker's readers: the Acquire-By-Hash and Date
 * fields, the SHA256 line of a Packages index, and the Date turned
 * into a snapshot timestamp.
 *
 * These readers are static, so the file that holds them is compiled in
 * here; when they move, change the #include.
 *
 *   tools/fuzz.sh 60 fuzz_inrelease
 *   make build/tests/fuzz/fuzz_inrelease && build/tests/fuzz/fuzz_inrelease crash-file
 */
#include "builder/lock_make.c"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *text = strndup ((const char *) data, size);
        char hex[SHA256_HEX_LEN + 1], ts[17];
        char *date;

        if (text == NULL)
                return 0;
        free (release_field (text, "Acquire-By-Hash"));
        if (release_sha256 (text, "main/binary-amd64/Packages.xz", hex) == 0 && !sha256_hex_valid (hex))
                abort ();
        date = release_field (text, "Date");
        if (date != NULL && lock_date_timestamp (date, ts) == 0 && strlen (ts) != 16)
                abort ();
        free (date);
        free (text);
        return 0;
}

#include "tests/fuzz/replay.h"
