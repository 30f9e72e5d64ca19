/* cmd_pending.c - placeholders for commands whose modules are not in
 * this tree yet, so that ./pgimg links while they are written.  They are
 * weak: a real cmd_build.c (etc.) replaces them without a conflict.
 * Remove this file once every command in main.c's table has its own. */
#include <errno.h>

#include "cli/cli.h"

#define PENDING(fn, name)                                                                \
        __attribute__ ((weak)) int fn (struct pgimg_ctx *ctx, int argc, char **argv,     \
                                       pgimg_error_t *err)                               \
        {                                                                                \
                (void) ctx;                                                              \
                (void) argc;                                                             \
                (void) argv;                                                             \
                return pgimg_make_error (err, ENOSYS, "%s: not in this build yet", name); \
        }

PENDING (cmd_build, "build")
PENDING (cmd_list, "list")
PENDING (cmd_lock, "lock")
PENDING (cmd_sandbox, "sandbox")
