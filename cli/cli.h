/* cli.h - the commands.  Only cli/ prints errors and chooses exit codes:
 * 0 success, 1 failed work, 2 bad usage (see docs/cli.md). */
#ifndef PGIMG_CLI_H
#define PGIMG_CLI_H

#include <stddef.h>

#include "builder/pipeline.h"
#include "common/error.h"
#include "oci/image.h"

#define EXIT_USAGE 2

struct pgimg_ctx {
        const char *cache_dir;  /* --cache-dir, $PGIMG_CACHE_DIR, $XDG_CACHE_HOME/pgimg */
        const char *data_dir;   /* where versions/, extensions/, lock/, image/ live */
        int quiet;
};

/* A command returns 0, or a negative value with *err set.  A usage
 * error is reported by returning cli_usage_error ().  A command that
 * passes on another program's status (`pgimg sandbox`) returns it, a
 * positive value, and pgimg exits with it. */
typedef int (*cmd_fn) (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);

int cli_usage_error (pgimg_error_t *err, const char *cmd, const char *fmt, ...)
        __attribute__ ((format (printf, 3, 4)));
/* The status a usage error carries, to tell it apart in main. */
#define CLI_USAGE_STATUS 10000

/* "<data_dir>/<sub>", malloc'ed, or NULL on ENOMEM. */
char *cli_data_path (const struct pgimg_ctx *ctx, const char *sub);

/* Append the comma-separated words of list to *v (NULL-terminated, *n
 * words so far); empty words are dropped.  -1 on ENOMEM. */
int cli_strv_split (const char *list, char ***v, size_t *n);

#ifndef PGIMG_VERSION
#define PGIMG_VERSION "0.1.0"
#endif

/* The last lines of a failed build step's log, on stderr; log may be NULL. */
void cli_print_failed_log (const char *log);

/* Write the image of a build (its layers, config, tags) to out; with
 * out NULL, only its config and manifest into the build's blob store. */
int cli_write_image (const struct pipeline_result *res, enum oci_format fmt, const char *out,
                     char manifest[LAYER_DIGEST_LEN], pgimg_error_t *err);

/* An image's root for pgimg's runtime (runtime_rootfs), its Env and
 * volume: from a spec through the build pipeline (po filled but for
 * nothing else), or from an image on disk (an OCI layout, or a tarball
 * pgimg wrote).  The outputs are malloc'ed. */
int cli_image_from_spec (struct pgimg_ctx *ctx, struct pipeline_opts *po, char **rootfs, char ***env,
                         char **volume, pgimg_error_t *err);
int cli_image_from_path (struct pgimg_ctx *ctx, const char *path, char **rootfs, char ***env, char **volume,
                         pgimg_error_t *err);

int cmd_build (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_list (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_lock (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_layer (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_migration_test (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_matrix (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_test (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
/* The options push and pull share (--ca-file, --endpoint, --insecure,
 * --jobs, --limit-rate, --retries), by their getopt value: 1 when c was one, 0 when
 * not, <0 on a bad value.  In cmd_push.c. */
struct registry_opts;
int cli_registry_option (const char *cmd, int c, const char *arg, struct registry_opts *ro,
                         pgimg_error_t *err);
int cmd_key (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_pull (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_push (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_run (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_stop (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_psql (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_sandbox (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);

#endif
