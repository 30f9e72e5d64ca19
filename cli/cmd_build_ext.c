/* cmd_build_ext.c - pgimg build extension: one extension version as a
 * standalone image for CloudNativePG's image volumes (builder/ext_image). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_image.h"
#include "builder/fetch.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/progress.h"
#include "common/timings.h"

static void
help (void)
{
        printf ("usage: pgimg build extension [OPTIONS] EXT[@VERSION]\n"
                "\n"
                "Build one extension version as an image FROM scratch that CloudNativePG\n"
                "mounts as an image volume (docs/extension-images.md): /lib, /share/extension,\n"
                "/system, /licenses, user 65532.  PostgreSQL 18 and later only.\n"
                "\n"
                "  -o, --output PATH         where to write the image (default EXT-VERSION-pgMAJOR.tar,\n"
                "                            or EXT-VERSION-pgMAJOR for --format oci-dir)\n"
                "      --major MAJOR         the PostgreSQL major it is for (default 18)\n"
                "      --compression ALGO    gzip (default) or zstd\n"
                "      --format FORMAT       docker-archive (default; also an OCI layout) or oci-dir\n"
                "  -j, --jobs N              parallel make jobs (default: the CPUs available)\n"
                "      --json                print a JSON summary on stdout (with the timings)\n"
                "      --timings             print where the time went, phase by phase, on stderr\n"
                "      --plan, --dry-run     build nothing: list each layer, its cache key and whether\n"
                "                            the cache has it (cached or build)\n"
                "\n"
                "Example:\n"
                "  pgimg build extension pgvector --major 18 -o pgvector.tar\n");
}

static const struct option opts[] = {
        { "compression", required_argument, NULL, 'c' },
        { "dry-run", no_argument, NULL, 'P' },
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "jobs", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, 'J' },
        { "major", required_argument, NULL, 'M' },
        { "output", required_argument, NULL, 'o' },
        { "plan", no_argument, NULL, 'P' },
        { "timings", no_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
};

struct ext_args {
        struct cli_image_opts io;
        enum layer_compression compression;
        enum oci_format fmt;
        const char *output;
        const char *major;
        int show_timings;               /* --timings */
        int plan;                       /* --plan, --dry-run */
        struct timings times;           /* recorded whether shown or not, for --json */
        double start;
};

/* The options; 1 when --help was printed. */
static int
parse_args (struct pgimg_ctx *ctx, int argc, char **argv, struct ext_args *a, pgimg_error_t *err)
{
        int c;

        while ((c = cli_getopt (ctx, argc, argv, "hj:o:", opts)) != -1) {
                switch (c) {
                case 'c':
                        if (layer_compression_parse (optarg, &a->compression, err) < 0)
                                return cli_usage_error (err, "build extension", "unknown compression `%s`", optarg);
                        break;
                case 'f':
                        if (oci_format_parse (optarg, &a->fmt, err) < 0)
                                return cli_usage_error (err, "build extension", "unknown format `%s`", optarg);
                        break;
                case 'h':
                        help ();
                        return 1;
                case 'j':
                case 'J':
                        if (cli_image_option ("build extension", c, optarg, &a->io, err) < 0)
                                return -1;
                        break;
                case 'M':
                        a->major = optarg;
                        break;
                case 'o':
                        a->output = optarg;
                        break;
                case 'P':
                        a->plan = 1;
                        break;
                case 'T':
                        a->show_timings = 1;
                        break;
                default:
                        return cli_option_error (err, "build extension");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "build extension", "expected one extension, like pgvector or pgvector@0.8.7");
        if (strspn (a->major, "0123456789") != strlen (a->major) || a->major[0] == '\0')
                return cli_usage_error (err, "build extension", "--major takes a major like 18, not `%s`", a->major);
        return 0;
}

static int
print_summary (const struct ext_image *img, const char *out, const char *manifest, int json,
               const struct timings *times, pgimg_error_t *err)
{
        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;

                jsonw_init (&w, &b);
                jsonw_object (&w);
                jsonw_kv_string (&w, "image", img->tags[0]);
                jsonw_kv_string (&w, "output", out);
                jsonw_kv_string (&w, "manifest", manifest);
                jsonw_kv_string (&w, "layer", img->layer.digest);
                jsonw_kv_bool (&w, "built", img->built);
                jsonw_key (&w, "rewritten");
                jsonw_array (&w);
                for (char **p = img->rewritten; p && *p; p++)
                        jsonw_string (&w, *p);
                jsonw_end (&w);
                jsonw_key (&w, "timings");
                timings_json (times, &w);
                jsonw_end (&w);
                return cli_print_json (&w, &b, err);
        }
        for (char **p = img->rewritten; p && *p; p++)
                progress_note ("took `$libdir/` out of %s", *p);
        progress_note ("layer %s %7.1f MB  %s", img->layer.digest, img->layer.size / 1e6,
                       img->built ? "built" : "cached");
        progress_note ("image %s (%s) written to %s", img->tags[0], manifest, out);
        return 0;
}

/* The extension image of argv[optind] for --major, written to -o. */
static int
build_and_write (struct pgimg_ctx *ctx, struct ext_args *a, const char *item, struct ext_image *img,
                 pgimg_error_t *err)
{
        double t, total;
        cleanup_free char *spec = NULL, *out = NULL;
        char manifest[LAYER_DIGEST_LEN];
        struct pipeline_opts po;
        const char *output = a->output;

        if (asprintf (&spec, "postgres-%s", a->major) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "build extension");
        cli_pipeline_opts (ctx, spec, &a->io, &po);
        po.compression = a->compression;
        po.timings = &a->times;
        if (ext_image_check_major (a->major, err) < 0)
                return -1;
        if (a->plan) {
                po.plan = 1;
                if (ext_image_build (&po, item, img, err) < 0)
                        return -1;
                return cli_print_plan (&img->res, &img->step, a->io.json, err);
        }
        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0)
                return -1;
        if (ext_image_build (&po, item, img, err) < 0) {
                cli_print_failed_log (img->res.failed_log);
                return -1;
        }
        if (output == NULL) {
                if (asprintf (&out, "%s-%s-pg%s%s", img->pick->recipe->name, img->pick->version->version, a->major,
                              a->fmt == OCI_FORMAT_DIR ? "" : ".tar") < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "build extension");
                output = out;
        }
        t = timings_now ();
        if (oci_write_image (img->res.blob_dir, &img->oci, a->fmt, output, manifest, err) < 0)
                return -1;
        t = timings_since (&a->times, "image", a->fmt == OCI_FORMAT_DIR ? "write OCI layout" : "write tarball", t);
        total = t - a->start;
        if (print_summary (img, output, manifest, a->io.json, &a->times, err) < 0)
                return -1;
        return a->show_timings ? cli_print_timings (&a->times, total, err) : 0;
}

int
cmd_build_extension (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        struct ext_args a = {
                .io = CLI_IMAGE_OPTS_INIT, .compression = LAYER_GZIP, .fmt = OCI_FORMAT_ARCHIVE, .major = "18",
                .times = TIMINGS_INIT, .start = timings_now (),
        };
        struct ext_image img;
        int r;

        if ((r = parse_args (ctx, argc, argv, &a, err)) != 0) {
                cli_image_opts_release (&a.io);
                timings_free (&a.times);
                return r < 0 ? r : 0;
        }
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        memset (&img, 0, sizeof (img));
        r = build_and_write (ctx, &a, argv[optind], &img, err);
        ext_image_free (&img);
        cli_image_opts_release (&a.io);
        timings_free (&a.times);
        if (r < 0)
                return pgimg_error_wrap (err, "build extension %s", argv[optind]);
        return 0;
}
