/* util.c - helpers every command uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/cleanup.h"

int
cli_usage_error (pgimg_error_t *err, const char *cmd, const char *fmt, ...)
{
        va_list ap;
        cleanup_free char *msg = NULL;

        va_start (ap, fmt);
        if (vasprintf (&msg, fmt, ap) < 0)
                msg = NULL;
        va_end (ap);
        return pgimg_make_error (err, CLI_USAGE_STATUS, "%s: %s (see `pgimg %s --help`)", cmd,
                                 msg ? msg : "bad usage", cmd);
}

char *
cli_data_path (const struct pgimg_ctx *ctx, const char *sub)
{
        char *p = NULL;
        if (asprintf (&p, "%s/%s", ctx->data_dir, sub) < 0)
                return NULL;
        return p;
}
