/* util.c - helpers every command uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "oci/image.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/timings.h"
#include "layers/layer.h"
#include "layers/store.h"
#include "oci/read.h"
#include "runner/platform.h"
#include "runner/runtime.h"

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

int
cli_strv_split (const char *list, char ***v, size_t *n)
{
        const char *p = list;

        while (*p) {
                size_t len = strcspn (p, ",");
                if (len > 0) {
                        char **nv = realloc (*v, (*n + 2) * sizeof (char *));
                        if (nv == NULL)
                                return -1;
                        *v = nv;
                        if ((nv[*n] = strndup (p, len)) == NULL)
                                return -1;
                        nv[++*n] = NULL;
                }
                p += len;
                if (*p == ',')
                        p++;
        }
        return 0;
}

int
cli_write_image (const struct pipeline_result *res, enum oci_format fmt, const char *out,
             char manifest[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        if (out == NULL)
                return oci_write_blobs (res->blob_dir, &res->image.oci, manifest, err);
        return oci_write_image (res->blob_dir, &res->image.oci, fmt, out, manifest, err);
}


int
cli_print_json (struct jsonw *w, struct buf *b, pgimg_error_t *err)
{
        if (jsonw_finish (w) < 0)
                return pgimg_make_error_errno (err, errno, "JSON output");
        if (fwrite (b->data, 1, b->len, stdout) != b->len || putchar ('\n') == EOF || fflush (stdout) != 0)
                return pgimg_make_error_errno (err, errno, "write to stdout");
        return 0;
}

int
cli_print_timings (const struct timings *times, double total_seconds, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;

        if (timings_format (times, total_seconds, &b) < 0)
                return pgimg_make_error_errno (err, errno, "timings");
        if (fputs ("where the time went (wall seconds, share of the whole build):\n", stderr) == EOF
            || fwrite (b.data, 1, b.len, stderr) != b.len || fflush (stderr) != 0)
                return pgimg_make_error_errno (err, errno, "write to stderr");
        return 0;
}

void
cli_print_failed_log (const char *log)
{
        cleanup_buf struct buf tail = BUF_INIT;
        pgimg_error_t ignored = NULL;

        if (log == NULL || build_log_tail (log, 25, &tail, &ignored) < 0) {
                pgimg_error_free (&ignored);
                return;
        }
        fprintf (stderr, "pgimg: last lines of %s:\n%s", log, tail.data ? tail.data : "");
}


void
cli_pipeline_opts (const struct pgimg_ctx *ctx, const char *spec, const struct cli_image_opts *io,
                   struct pipeline_opts *po)
{
        memset (po, 0, sizeof (*po));
        po->cache_dir = ctx->cache_dir;
        po->data_dir = ctx->data_dir;
        po->spec = spec;
        po->compression = LAYER_GZIP;
        po->source_date_epoch = -1;
        po->pgimg_version = PGIMG_VERSION;
        if (io != NULL) {
                po->jobs = io->jobs ? io->jobs : build_jobs ();
                po->with = (const char *const *) io->with;
                po->sets = (const char *const *) io->sets;
        }
}

int
cli_build (struct pgimg_ctx *ctx, const char *cmd, const struct pipeline_opts *po, struct pipeline_result *res,
           pgimg_error_t *err)
{
        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0) {
                memset (res, 0, sizeof (*res));
                return cmd ? pgimg_error_wrap (err, "%s %s: cache", cmd, po->spec) : -1;
        }
        if (pipeline_postgres (po, res, err) < 0) {
                cli_print_failed_log (res->failed_log);
                pipeline_result_free (res);
                return cmd ? pgimg_error_wrap (err, "%s %s", cmd, po->spec) : -1;
        }
        return 0;
}

static const char *
plan_state (const struct pipeline_step *s, char *buf, size_t size)
{
        if (s->after[0] == '\0')
                return pipeline_state_name (s->state);
        snprintf (buf, size, "build (after %s)", s->after);
        return buf;
}

static void
plan_json_step (struct jsonw *w, const struct pipeline_step *s)
{
        jsonw_object (w);
        jsonw_kv_string (w, "step", s->step);
        jsonw_kv_string (w, "name", s->name);
        jsonw_kv_string (w, "version", s->version[0] ? s->version : NULL);
        jsonw_kv_string (w, "key", s->key[0] ? s->key : NULL);
        jsonw_kv_string (w, "state", pipeline_state_name (s->state));
        if (s->after[0])
                jsonw_kv_string (w, "after", s->after);
        jsonw_end (w);
}

int
cli_print_plan (const struct pipeline_result *res, const struct pipeline_step *extra, int json,
                pgimg_error_t *err)
{
        size_t n = res->n_plan + (extra != NULL);
        char state[192];

        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;
                jsonw_init (&w, &b);
                jsonw_array (&w);
                for (size_t i = 0; i < n; i++)
                        plan_json_step (&w, i < res->n_plan ? &res->plan[i] : extra);
                jsonw_end (&w);
                return cli_print_json (&w, &b, err);
        }
        printf ("%-15s %-24s %-12s %-64s %s\n", "step", "name", "version", "key", "state");
        for (size_t i = 0; i < n; i++) {
                const struct pipeline_step *s = i < res->n_plan ? &res->plan[i] : extra;
                printf ("%-15s %-24s %-12s %-64s %s\n", s->step, s->name, s->version[0] ? s->version : "-",
                        s->key[0] ? s->key : "-", plan_state (s, state, sizeof (state)));
        }
        if (fflush (stdout) != 0 || ferror (stdout))
                return pgimg_make_error_errno (err, errno, "write to stdout");
        return 0;
}

/* The image's root, environment and volume, from the build pipeline. */
int
cli_image_from_spec (struct pgimg_ctx *ctx, struct pipeline_opts *po, char **rootfs, char ***env,
                 char **volume, pgimg_error_t *err)
{
        struct pipeline_result res;
        char what[64];
        int r;

        snprintf (what, sizeof (what), "--platform linux/%s", po->arch ? po->arch : "amd64");
        if (platform_runnable (po->arch, what, NULL, err) < 0 || cli_build (ctx, NULL, po, &res, err) < 0)
                return -1;
        r = runtime_rootfs (ctx->cache_dir, res.blob_dir, res.image.oci.layers, res.image.oci.n_layers, rootfs,
                            err);
        /* The image's Env is res.env: taken over, not copied. */
        if (r == 0 && (*volume = strdup (res.image.oci.volumes[0])) == NULL)
                r = pgimg_make_error_errno (err, ENOMEM, "run");
        if (r == 0)
                *env = steal_pointer (&res.env);
        pipeline_result_free (&res);
        return r;
}

/* The same from an image on disk: an OCI layout directory or a tarball
 * that holds one, read into the cache's blob store (every blob checked)
 * by oci_read_image. */
int
cli_image_from_path (struct pgimg_ctx *ctx, const char *path, char **rootfs, char ***env, char **volume,
                     char **arch, pgimg_error_t *err)
{
        cleanup_free char *blob_dir = NULL;
        struct oci_read img;
        int r;

        if (store_dir (ctx->cache_dir, &blob_dir, err) < 0)
                return -1;
        r = oci_read_image (path, blob_dir, &img, err);
        /* An extension image (pgimg build extension) has no server, no
         * environment and no volume: say so rather than fail to exec. */
        if (r == 0 && img.volume == NULL && (img.env == NULL || img.env[0] == NULL))
                r = pgimg_make_error (err, EINVAL, "`%s` holds no PostgreSQL server (an extension image? mount it "
                                      "into a server image: docs/extension-images.md)", path);
        /* An arm64 image's programs run in the sandbox through the
         * host's qemu-user only, which the kernel must be set up to call. */
        if (r == 0 && img.architecture != NULL) {
                cleanup_free char *what = NULL;
                if (asprintf (&what, "`%s`", path) < 0)
                        r = pgimg_make_error_errno (err, ENOMEM, "run");
                else
                        r = platform_runnable (img.architecture, what, NULL, err);
        }
        if (r == 0 && arch != NULL
            && (*arch = strdup (img.architecture ? img.architecture : "amd64")) == NULL)
                r = pgimg_make_error_errno (err, ENOMEM, "run");
        if (r == 0)
                r = runtime_rootfs (ctx->cache_dir, img.blob_dir, img.layers, img.n_layers, rootfs, err);
        if (r == 0) {
                *env = steal_pointer (&img.env);
                *volume = steal_pointer (&img.volume);
                if (*volume == NULL && (*volume = strdup ("/var/lib/postgresql/data")) == NULL)
                        r = pgimg_make_error_errno (err, ENOMEM, "run");
        }
        oci_read_free (&img);
        return r;
}
