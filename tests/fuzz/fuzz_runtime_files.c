/* fuzz_runtime_files.c - the texts read from the runtime set's packages
 * while the runtime base is assembled: passwd and group files turned into
 * shadow files, the shadow group added, debianutils' shells lists merged.
 * The first byte picks one (its value mod 4; the seeds use the digits
 * '0' to '3'), the rest is its input.
 *   0: passwd -> shadow   1: group -> gshadow   2: group + shadow group
 *   3: shells list
 * What is accepted must come out line by line: every output line ends
 * with a newline and has no NUL.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_runtime_files tests/fuzz/corpus/fuzz_runtime_files/
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/rootfs.h"
#include "common/buf.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_lines (const struct buf *b)
{
        if (b->len == 0)
                return;
        if (b->data[b->len - 1] != '\n' || strlen (b->data) != b->len)
                abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;
        char *s;
        int r;

        if (size < 1 || (s = malloc (size)) == NULL)
                return 0;
        memcpy (s, data + 1, size - 1);
        s[size - 1] = '\0';
        switch (data[0] % 4) {
        case 0:
        case 1:
                r = rootfs_shadow_text (s, data[0] % 4, &out, &err);
                break;
        case 2:
                r = rootfs_group_with (s, "shadow", 42, &out, &err);
                /* An accepted group file ends with the shadow group. */
                if (r == 0 && strstr (out.data, "shadow:") == NULL)
                        abort ();
                break;
        default:
                if (buf_adds (&out, "# /etc/shells\n") < 0)
                        abort ();
                r = rootfs_shells_add (&out, s, &err);
                break;
        }
        if (r == 0 && (data[0] % 4) != 2)
                check_lines (&out);
        pgimg_error_free (&err);
        buf_release (&out);
        free (s);
        return 0;
}

#include "tests/fuzz/replay.h"
