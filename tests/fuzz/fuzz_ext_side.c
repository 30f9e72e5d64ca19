/* fuzz_ext_side.c - what a layer made for versions side by side reads
 * from an extension's own files (builder/ext_side.h): the first byte
 * picks one, the rest is its input.
 *   0: a control file: its values fit what they are read into, and the
 *      rewritten file says the module last and no directory
 *   1: an SQL script: rewritten, it keeps every byte that is not the
 *      module's name, and says MODULE_PATHNAME once per replacement
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_ext_side tests/fuzz/corpus/fuzz_ext_side/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_side.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static size_t
count (const char *s, const char *needle)
{
        size_t n = 0;

        for (const char *p = s; (p = strstr (p, needle)) != NULL; p += strlen (needle))
                n++;
        return n;
}

static void
control (const char *s, size_t len)
{
        static const char *const keys[] = { "directory", "default_version", "module_pathname", "comment" };
        struct buf out = BUF_INIT;
        char v[32], again[32];

        for (size_t i = 0; i < 4; i++) {
                int r = ext_side_control_value (s, len, keys[i], v, sizeof (v));
                if (r < -1 || r > 1 || (r >= 0 && strlen (v) >= sizeof (v)) || (r == 0 && v[0] != '\0'))
                        abort ();
        }
        if (ext_side_control_rewrite (s, len, "$libdir/m-1.0", 1, &out) < 0)
                abort ();
        if (ext_side_control_value (out.data, out.len, "module_pathname", v, sizeof (v)) != 1
            || strcmp (v, "$libdir/m-1.0") != 0
            || ext_side_control_value (out.data, out.len, "directory", again, sizeof (again)) != 0)
                abort ();
        buf_release (&out);
}

static void
script (const char *s, size_t len)
{
        struct buf out = BUF_INIT;
        int n = ext_side_script_rewrite (s, len, "ext", "mod", 0, &out);

        if (n < 0 || count (out.data ? out.data : "", "'MODULE_PATHNAME'") != count (s, "'MODULE_PATHNAME'") + (size_t) n)
                abort ();
        buf_release (&out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        char *s;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        if (data[0] % 2 == 0)
                control (s, strlen (s));
        else
                script (s, strlen (s));
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
