/* cli.h - the commands.  Only cli/ prints errors and chooses exit codes:
 * 0 success, 1 failed work, 2 bad usage (see docs/cli.md). */
#ifndef PGIMG_CLI_H
#define PGIMG_CLI_H

#include <stddef.h>

#include <stdint.h>

#include "builder/disk.h"
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

/* Option parsing the commands share (options.c). */
struct option;
/* getopt_long over the command's options plus the global ones, which
 * are accepted after the command too: --cache-dir DIR (sets
 * ctx->cache_dir) and -q/--quiet (ctx->quiet); those never reach the
 * caller.  getopt prints nothing: on '?' (an unknown option) or ':' (a
 * missing value) the caller returns cli_option_error (err, cmd), which
 * names the option. */
int cli_getopt (struct pgimg_ctx *ctx, int argc, char **argv, const char *shortopts,
                const struct option *longopts);
int cli_option_error (pgimg_error_t *err, const char *cmd);

/* arg as a whole number from min to max, or a usage error naming cmd,
 * the option and the value ("--jobs takes a whole number from 1 to
 * 1024, not `4x`").  No trailing text, no blanks. */
int cli_parse_long (pgimg_error_t *err, const char *cmd, const char *opt, const char *arg, long min, long max,
                    long *out);
int cli_parse_int (pgimg_error_t *err, const char *cmd, const char *opt, const char *arg, int min, int max,
                   int *out);

/* --platform linux/amd64 or linux/arm64, or both, comma-separated (an
 * image index), into arches (NULL-terminated, *n of them): always in
 * the order amd64, arm64, so the same bytes however they were given.
 * A usage error naming cmd for anything else. */
int cli_platform_option (const char *cmd, const char *arg, const char *arches[3], size_t *n, pgimg_error_t *err);

/* The options that choose what goes into an image, shared by build,
 * test, run and migration-test: --with and --set (comma lists,
 * repeatable), -j/--jobs (parallel make jobs) and --json.  Their getopt
 * values are 'w', 'S', 'j' and 'J'. */
#define CLI_MAX_JOBS 1024
struct cli_image_opts {
        char **with;            /* NULL-terminated, owned */
        size_t n_with;
        char **sets;            /* NULL-terminated, owned */
        size_t n_sets;
        int jobs;               /* 0 when not given */
        int json;
};
#define CLI_IMAGE_OPTS_INIT { NULL, 0, NULL, 0, 0, 0 }
/* 1 when c was one of them (taken into *io), 0 when not, <0 on a bad
 * value with *err set. */
int cli_image_option (const char *cmd, int c, const char *arg, struct cli_image_opts *io, pgimg_error_t *err);
void cli_image_opts_release (struct cli_image_opts *io);
/* --platform of a command that runs one image (test, migration-test):
 * linux/amd64 or linux/arm64 into *arch as a Debian architecture
 * ("amd64", "arm64"), or a usage error naming cmd and arg. */
int cli_platform_one (const char *cmd, const char *arg, const char **arch, pgimg_error_t *err);
static inline void
cleanup_image_optsp (struct cli_image_opts *io)
{
        cli_image_opts_release (io);
}
#define cleanup_image_opts __attribute__ ((cleanup (cleanup_image_optsp)))

#ifndef PGIMG_VERSION
#define PGIMG_VERSION "0.1.0"
#endif

/* Print the document w wrote into b on stdout, with a newline: what
 * --json prints.  Fails when w failed (ENOMEM, unbalanced) or stdout
 * cannot be written. */
struct jsonw;
struct buf;
int cli_print_json (struct jsonw *w, struct buf *b, pgimg_error_t *err);

/* The phase table of --timings (timings_format) on stderr, even with
 * -q: it was asked for. */
struct timings;
int cli_print_timings (const struct timings *times, double total_seconds, pgimg_error_t *err);

/* The last lines of a failed build step's log, on stderr; log may be NULL. */
void cli_print_failed_log (const char *log);

/* Write the image a build defined (res->image) to out; with out NULL,
 * only its config and manifest into the build's blob store. */
int cli_write_image (const struct pipeline_result *res, enum oci_format fmt, const char *out,
                     char manifest[LAYER_DIGEST_LEN], pgimg_error_t *err);

/* The pipeline options of a command that builds spec: gzip layers, the
 * lock's date (or $SOURCE_DATE_EPOCH), and io's extensions and jobs
 * (default: the CPUs available); io may be NULL (no extensions, one
 * make job).  po points into io and spec. */
void cli_pipeline_opts (const struct pgimg_ctx *ctx, const char *spec, const struct cli_image_opts *io,
                        struct pipeline_opts *po);

/* Make the cache directory and run the pipeline into *res.  On failure
 * the last lines of a failed step's log are printed, res is freed (and
 * needs no pipeline_result_free) and err is prefixed with "CMD SPEC"
 * when cmd is not NULL. */
int cli_build (struct pgimg_ctx *ctx, const char *cmd, const struct pipeline_opts *po, struct pipeline_result *res,
               pgimg_error_t *err);

/* Write the disk image of res (built by cli_build) to output: the machine layer, the root tree, the disk
 * (builder/disk.h), then its receipt and SBOM beside it (cli_write_beside).  Nothing is left at output on
 * failure. */
int cli_write_disk (struct pgimg_ctx *ctx, const struct pipeline_opts *po, struct pipeline_result *res,
                    const char *output, enum disk_format format, uint64_t size_mib, pgimg_error_t *err);
/* The receipt and the SBOM (sbom_len bytes) beside the output out: OUT.receipt.json and OUT.spdx.json,
 * each written whole or not at all. */
int cli_write_beside (const char *out, const struct buf *receipt, const char *sbom, size_t sbom_len,
                      pgimg_error_t *err);
/* Before anything is written: OUT<infix>.receipt.json and
 * OUT<infix>.spdx.json must be files or not exist (infix "" or
 * ".arm64"), else an error naming the one in the way. */
int cli_check_beside (const char *out, const char *infix, pgimg_error_t *err);

/* A plan's steps (res->plan, and extra after them when not NULL) on
 * stdout: a table, or with json an array of {step, name, version, key,
 * state} (key null when it needs an earlier step's output, named by
 * "after"). */
int cli_print_plan (const struct pipeline_result *res, const struct pipeline_step *extra, int json,
                    pgimg_error_t *err);

/* An image's root for pgimg's runtime (runtime_rootfs), its Env and
 * volume: from a spec through the build pipeline (po filled but for
 * nothing else; po->arch chooses the platform), or from an image on
 * disk (an OCI layout, or a tarball pgimg wrote), with its Debian
 * architecture in *arch when arch is not NULL.  An image of a platform
 * this machine does not run is refused (platform_runnable).  The
 * outputs are malloc'ed. */
int cli_image_from_spec (struct pgimg_ctx *ctx, struct pipeline_opts *po, char **rootfs, char ***env,
                         char **volume, pgimg_error_t *err);
int cli_image_from_path (struct pgimg_ctx *ctx, const char *path, char **rootfs, char ***env, char **volume,
                         char **arch, pgimg_error_t *err);

/* Build po->spec for each of the n (at most 2) Debian architectures
 * arches (po->arch is set to each in turn) and write the images as one
 * OCI image index at output (NULL: postgres-VERSION[.tar]) in format
 * fmt, each platform's receipt and SBOM beside it, then the summary
 * (JSON on stdout with json).  docs/platforms.md. */
int cli_build_platforms (struct pgimg_ctx *ctx, struct pipeline_opts *po, const char *const *arches, size_t n,
                         enum oci_format fmt, const char *output, int json, pgimg_error_t *err);

int cmd_build (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
/* `pgimg build extension ...`, argv[0] being "extension". */
int cmd_build_extension (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
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
/* Leases on the extension layers `build --cache-to` builds (in
 * build_lease.c): ops goes into pipeline_opts.lease. */
#define BUILD_LEASE_MAX_S (7 * 86400)   /* the longest --lease-time */
struct build_leases {
        struct pipeline_lease ops;
        const char *cache_dir;
        const struct registry_opts *ro;
        char *cache;                    /* --cache-to with its tag */
        char holder[128];               /* "host pid" */
        long long seconds;              /* how long a lease lasts */
        char **held;                    /* the lease references held */
        size_t n_held;
};
/* Set b up for a build into cache_dir that pushes to cache_to; ro and
 * cache_to are borrowed.  Free with build_leases_free. */
int build_leases_init (struct build_leases *b, const char *cache_dir, const char *cache_to,
                       const struct registry_opts *ro, long long seconds, pgimg_error_t *err);
/* End every lease held (after the cache push, or a failed build): a
 * lease that cannot be ended is a note, and expires on its own. */
void build_leases_end (struct build_leases *b);
void build_leases_free (struct build_leases *b);
int cmd_key (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_pull (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_push (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_run (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_stop (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_psql (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);
int cmd_sandbox (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err);

#endif
