/* cmd_build.c - pgimg build: a PostgreSQL image from a recipe. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/progress.h"
#include "oci/image.h"
#include "registry/registry.h"


static void
help (void)
{
        printf ("usage: pgimg build [OPTIONS] postgres-MAJOR[.MINOR]\n"
                "\n"
                "Build a PostgreSQL image from versions/MAJOR.json and the lock, in\n"
                "rootless namespaces, into reproducible layers; write it as a tarball\n"
                "that `docker load` and OCI tools read.\n"
                "\n"
                "  -o, --output PATH         where to write the image (default postgres-VERSION.tar,\n"
                "                            or postgres-VERSION for --format oci-dir)\n"
                "      --compression ALGO    gzip (default) or zstd\n"
                "      --format FORMAT       docker-archive (default; also an OCI layout) or oci-dir\n"
                "  -j, --jobs N              parallel make jobs (default: the CPUs available)\n"
                "      --with EXT[@VER],...  add extensions (extensions/EXT.json); repeatable\n"
                "      --set NAME            add the extensions of images/NAME.json (default, full);\n"
                "                            those that do not support the major are left out\n"
                "      --cache-from REF      first take the layers a remote cache (REF or s3://...)\n"
                "                            has; an unreachable or badly signed cache is skipped\n"
                "      --cache-to REF        afterwards push the layer cache there\n"
                "      --cache-endpoint URL  the S3 endpoint of an s3:// cache\n"
                "      --insecure-registry   plain HTTP to the cache's registry\n"
                "      --sign-key FILE       sign what --cache-to pushes\n"
                "      --trusted-key FILE    take --cache-from only when signed by this key\n"
                "      --json                print a JSON summary on stdout\n"
                "\n"
                "Example:\n"
                "  pgimg build postgres-15 -o pg15.tar && docker load -i pg15.tar\n"
                "  pgimg build postgres-17 --with pgvector,pg_cron@1.6.5 -o pg17.tar\n");
}

static int
write_receipt (const struct pipeline_result *res, const char *out, const char *manifest,
               pgimg_error_t *err)
{
        cleanup_buf struct buf receipt = BUF_INIT;
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s.receipt.json", out) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "receipt");
        if (pipeline_receipt (res, PGIMG_VERSION, res->n_layers, manifest, &receipt, err) < 0)
                return -1;
        return fs_write_file_atomic (path, receipt.data, receipt.len, 0644, err);
}

static int
print_summary (const struct pipeline_result *res, const char *out, const char *manifest, int json,
               pgimg_error_t *err)
{
        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;

                jsonw_init (&w, &b);
                jsonw_object (&w);
                jsonw_kv_string (&w, "image", res->tags[0]);
                jsonw_kv_string (&w, "output", out);
                jsonw_kv_string (&w, "manifest", manifest);
                jsonw_key (&w, "layers");
                jsonw_array (&w);
                for (size_t i = 0; i < res->n_layers; i++) {
                        jsonw_object (&w);
                        jsonw_kv_string (&w, "name", res->layers[i].name);
                        jsonw_kv_string (&w, "digest", res->layers[i].desc.digest);
                        jsonw_kv_string (&w, "diffID", res->layers[i].desc.diff_id);
                        jsonw_kv_uint (&w, "size", res->layers[i].desc.size);
                        jsonw_kv_bool (&w, "built", res->layers[i].built);
                        jsonw_end (&w);
                }
                jsonw_end (&w);
                jsonw_end (&w);
                return cli_print_json (&w, &b, err);
        }
        for (size_t i = 0; i < res->n_layers; i++)
                progress_note ("layer %-10s %s %7.1f MB  %s", res->layers[i].name,
                               res->layers[i].desc.digest, res->layers[i].desc.size / 1e6,
                               res->layers[i].built ? "built" : "cached");
        progress_note ("image %s (%s) written to %s", res->tags[0], manifest, out);
        return 0;
}

int
cmd_build (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "cache-endpoint", required_argument, NULL, 'E' },
                { "cache-from", required_argument, NULL, 'F' },
                { "cache-to", required_argument, NULL, 'T' },
                { "compression", required_argument, NULL, 'c' },
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { "insecure-registry", no_argument, NULL, 'k' },
                { "jobs", required_argument, NULL, 'j' },
                { "json", no_argument, NULL, 'J' },
                { "output", required_argument, NULL, 'o' },
                { "set", required_argument, NULL, 'S' },
                { "sign-key", required_argument, NULL, 'K' },
                { "trusted-key", required_argument, NULL, 'Y' },
                { "with", required_argument, NULL, 'w' },
                { NULL, 0, NULL, 0 },
        };
        struct registry_opts ro = { .retries = -1 };
        const char *cache_from = NULL, *cache_to = NULL;
        const char *trusted[2] = { NULL, NULL };
        struct pipeline_opts po = { 0 };
        struct pipeline_result res;
        enum oci_format fmt = OCI_FORMAT_ARCHIVE;
        cleanup_free char *out = NULL;
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        char manifest[LAYER_DIGEST_LEN];
        const char *output = NULL;
        int c, r;

        po.compression = LAYER_GZIP;
        while ((c = cli_getopt (ctx, argc, argv, "hj:o:", opts)) != -1) {
                if ((r = cli_image_option ("build", c, optarg, &io, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'c':
                        if (layer_compression_parse (optarg, &po.compression, err) < 0)
                                return cli_usage_error (err, "build", "unknown compression `%s`", optarg);
                        break;
                case 'f':
                        if (oci_format_parse (optarg, &fmt, err) < 0)
                                return cli_usage_error (err, "build", "unknown format `%s`", optarg);
                        break;
                case 'h':
                        help ();
                        return 0;
                case 'o':
                        output = optarg;
                        break;
                case 'E':
                        ro.s3_endpoint = optarg;
                        break;
                case 'F':
                        cache_from = optarg;
                        break;
                case 'T':
                        cache_to = optarg;
                        break;
                case 'k':
                        ro.insecure = 1;
                        break;
                case 'K':
                        ro.sign_key = optarg;
                        break;
                case 'Y':
                        trusted[0] = optarg;
                        ro.trusted_keys = trusted;
                        break;
                default:
                        return cli_option_error (err, "build");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "build", "expected one image to build, like postgres-18");
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        po.cache_dir = ctx->cache_dir;
        po.data_dir = ctx->data_dir;
        po.spec = argv[optind];
        po.source_date_epoch = -1;
        po.pgimg_version = PGIMG_VERSION;
        po.jobs = io.jobs ? io.jobs : build_jobs ();
        po.with = (const char *const *) io.with;
        po.sets = (const char *const *) io.sets;

        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0)
                return pgimg_error_wrap (err, "build %s: cache", po.spec);
        if (cache_from) {
                /* A remote cache only saves work: without it, build. */
                pgimg_error_t e = NULL;
                unsigned entries = 0;
                if (registry_cache_pull (ctx->cache_dir, cache_from, &ro, NULL, &entries, &e) < 0) {
                        progress_note ("not using the cache %s: %s; building instead", cache_from, e->msg);
                        pgimg_error_free (&e);
                } else {
                        progress_note ("took %u layer entries from the cache %s", entries, cache_from);
                }
        }
        r = pipeline_postgres (&po, &res, err);
        if (r < 0) {
                cli_print_failed_log (res.failed_log);
                pipeline_result_free (&res);
                return pgimg_error_wrap (err, "build %s", po.spec);
        }
        if (output == NULL) {
                if (asprintf (&out, "postgres-%s%s", res.version->version,
                              fmt == OCI_FORMAT_DIR ? "" : ".tar") < 0) {
                        pipeline_result_free (&res);
                        return pgimg_make_error_errno (err, ENOMEM, "build");
                }
                output = out;
        }
        r = cli_write_image (&res, fmt, output, manifest, err);
        if (r == 0)
                r = write_receipt (&res, output, manifest, err);
        if (r == 0)
                r = print_summary (&res, output, manifest, io.json, err);
        if (r == 0 && cache_to && registry_cache_push (ctx->cache_dir, cache_to, &ro, NULL, err) < 0)
                r = pgimg_error_wrap (err, "--cache-to %s", cache_to);
        pipeline_result_free (&res);
        if (r < 0)
                return pgimg_error_wrap (err, "build %s", po.spec);
        return 0;
}
