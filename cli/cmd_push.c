/* cmd_push.c - pgimg push: an image to a registry or to S3. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/progress.h"
#include "registry/registry.h"

#define MAX_REPEATS 16

static void
help (void)
{
        printf ("usage: pgimg push [OPTIONS] IMAGE DEST\n"
                "       pgimg push --cache [OPTIONS] DEST\n"
                "\n"
                "Push an image to an OCI registry or to S3.  IMAGE is an image tarball or\n"
                "an OCI layout directory (as `pgimg build` writes), or postgres-MAJOR[.MINOR]\n"
                "to build that image first.  DEST is HOST[:PORT]/NAME[:TAG] or\n"
                "s3://BUCKET/PREFIX[:TAG].  Blobs already there are not sent again.\n"
                "An image index of several platforms (pgimg build --platform\n"
                "linux/amd64,linux/arm64) goes whole: every platform's blobs and\n"
                "manifest, then the index under the tag (in S3 as a registry holds it).\n"
                "With --platform, postgres-MAJOR is built for those platforms and pushed\n"
                "as one image, or as an image index of both.\n"
                "With --cache, push the layer cache instead (every layer built so far,\n"
                "by input key): a build elsewhere that pulls it builds none of them.\n"
                "With --sign-key, a cosign signature goes to the tag sha256-<hex>.sig, and\n"
                "IMAGE.spdx.json, when there is one (for postgres-MAJOR, the build's SBOM),\n"
                "as a signed SBOM attestation to\n"
                "sha256-<hex>.att (`cosign verify`, `cosign verify-attestation` read them).\n"
                "\n"
                "      --cache               push the layer cache, not an image\n"
                "      --ca-file FILE        trust this CA instead of the system's\n"
                "      --chunk-size MB       blobs above go up in chunks of this size (default 16)\n"
                "      --endpoint URL        S3 endpoint, path-style (http://127.0.0.1:9000)\n"
                "      --insecure            plain HTTP (also: PGIMG_INSECURE_REGISTRIES=host:port,...)\n"
                "  -j, --jobs N              blobs sent at once (default 4)\n"
                "      --json                print a JSON summary on stdout\n"
                "      --limit-rate MB       at most MB per second per transfer\n"
                "      --mount-from REPO     mount blobs from this repository of the same registry\n"
                "      --platform PLATFORMS  for postgres-MAJOR: linux/amd64 (default), linux/arm64\n"
                "                            or both, comma-separated (an image index)\n"
                "      --retries N           retries per request on 5xx, 429 and drops (default 4)\n"
                "      --sign-key FILE       sign the image with this P-256 key, as cosign does\n"
                "  -t, --tag TAG             point this tag at the image as well (repeatable)\n"
                "\n"
                "Credentials: PGIMG_REGISTRY_USER and PGIMG_REGISTRY_PASSWORD, else\n"
                "~/.docker/config.json; for S3 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,\n"
                "else ~/.aws/credentials.\n"
                "\n"
                "Example:\n"
                "  pgimg push pg17.tar localhost:5000/pgimg/postgres:17 --insecure\n"
                "  pgimg push postgres-18 --platform linux/amd64,linux/arm64 registry.example/pgimg/postgres:18\n"
                "  pgimg push --cache --sign-key ci.key s3://ci-cache/pgimg:main\n");
}

int
cli_registry_option (const char *cmd, int c, const char *arg, struct registry_opts *ro, pgimg_error_t *err)
{
        switch (c) {
        case 'A':
                ro->ca_file = arg;
                return 1;
        case 'e':
                ro->s3_endpoint = arg;
                return 1;
        case 'j':
                return cli_parse_int (err, cmd, "--jobs", arg, 1, 16, &ro->jobs) < 0 ? -1 : 1;
        case 'k':
                ro->insecure = 1;
                return 1;
        case 'L': {
                long mb;
                if (cli_parse_long (err, cmd, "--limit-rate", arg, 1, 1L << 20, &mb) < 0)
                        return -1;
                ro->rate_bytes_per_s = (uint64_t) mb << 20;
                return 1;
        }
        case 'r':
                return cli_parse_int (err, cmd, "--retries", arg, 0, 10, &ro->retries) < 0 ? -1 : 1;
        default:
                return 0;
        }
}

static int
add_repeat (const char **v, size_t *n, const char *arg, const char *opt, pgimg_error_t *err)
{
        if (*n + 1 >= MAX_REPEATS)
                return cli_usage_error (err, "push", "%s given more than %d times", opt, MAX_REPEATS - 1);
        v[(*n)++] = arg;
        v[*n] = NULL;
        return 0;
}

/* Build spec through the pipeline for arch (NULL: amd64; its layers
 * come from the cache when they are there) and push the image it makes
 * straight from the blob store: its config and manifest are written
 * there, no tarball. */
static int
push_built (struct pgimg_ctx *ctx, const char *spec, const char *arch, const char *dest,
            const struct registry_opts *ro, struct registry_stats *st, pgimg_error_t *err)
{
        struct pipeline_opts po;
        struct pipeline_result res;
        char manifest[LAYER_DIGEST_LEN];
        cleanup_free char *work = NULL, *sbom = NULL;
        int r;

        /* No extensions; --jobs is the blobs pushed at once, not make's. */
        cli_pipeline_opts (ctx, spec, NULL, &po);
        po.arch = arch;
        if (cli_build (ctx, "build", &po, &res, err) < 0)
                return -1;
        r = cli_write_image (&res, OCI_FORMAT_ARCHIVE, NULL, manifest, err);
        if (r < 0)
                pgimg_error_wrap (err, "build %s", spec);
        /* The SBOM goes up as a tarball's beside it would. */
        if (r == 0 && ro->sign_key)
                r = fs_work_dir (ctx->cache_dir, "sbom", &work, err);
        if (r == 0 && work && (sbom = fs_path_beside (work, "/sbom.spdx.json")) == NULL)
                r = pgimg_make_error_errno (err, ENOMEM, "push");
        if (r == 0 && sbom)
                r = fs_write_file_atomic (sbom, res.sbom, res.sbom_len, 0644, err);
        if (r == 0)
                r = registry_push_stored (res.blob_dir, manifest, sbom, dest, ro, st, err);
        fs_drop_temp_dir (work);
        pipeline_result_free (&res);
        return r;
}

/* Build spec for every platform of arches and push them as one image
 * index: written as `pgimg build --platform A,B --format oci-dir` writes
 * it (its blobs hard-linked from the store where they can be), with the
 * linux/amd64 SBOM beside it for --sign-key, into a scratch directory
 * removed after. */
static int
push_built_index (struct pgimg_ctx *ctx, const char *spec, const char *const *arches, size_t n, const char *dest,
                  const struct registry_opts *ro, struct registry_stats *st, pgimg_error_t *err)
{
        struct pipeline_opts po;
        cleanup_free char *work = NULL, *layout = NULL;
        int r;

        cli_pipeline_opts (ctx, spec, NULL, &po);
        r = fs_work_dir (ctx->cache_dir, "push-index", &work, err);
        if (r == 0 && (layout = fs_path_beside (work, "/image")) == NULL)
                r = pgimg_make_error_errno (err, ENOMEM, "push");
        if (r == 0)
                r = cli_build_platforms (ctx, &po, arches, n, OCI_FORMAT_DIR, layout, 0, err);
        if (r == 0)
                r = registry_push (layout, ctx->cache_dir, dest, ro, st, err);
        fs_drop_temp_dir (work);
        return r;
}

static int
print_summary (const char *dest, const struct registry_stats *st, int json, pgimg_error_t *err)
{
        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;

                jsonw_init (&w, &b);
                jsonw_object (&w);
                jsonw_kv_string (&w, "destination", dest);
                jsonw_kv_string (&w, "manifest", st->manifest_digest);
                jsonw_kv_uint (&w, "blobs", st->blobs);
                jsonw_kv_uint (&w, "present", st->blobs_present);
                jsonw_kv_uint (&w, "mounted", st->blobs_mounted);
                jsonw_kv_uint (&w, "uploaded", st->blobs_uploaded);
                jsonw_kv_uint (&w, "bytesUploaded", st->bytes_uploaded);
                jsonw_end (&w);
                return cli_print_json (&w, &b, err);
        }
        progress_note ("pushed %s (%s): %u blobs, %u already there, %u mounted, %u uploaded (%.1f MB)", dest,
                       st->manifest_digest, st->blobs, st->blobs_present, st->blobs_mounted, st->blobs_uploaded,
                       st->bytes_uploaded / 1e6);
        return 0;
}

static int
plain_text (const char *s)
{
        for (; *s; s++)
                if (*s == '"' || *s == '\\' || (unsigned char) *s < 0x20)
                        return 0;
        return 1;
}

static const struct option opts[] = {
        { "ca-file", required_argument, NULL, 'A' },
        { "cache", no_argument, NULL, 'C' },
        { "chunk-size", required_argument, NULL, 'c' },
        { "endpoint", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { "insecure", no_argument, NULL, 'k' },
        { "jobs", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, 'J' },
        { "limit-rate", required_argument, NULL, 'L' },
        { "mount-from", required_argument, NULL, 'm' },
        { "platform", required_argument, NULL, 'P' },
        { "retries", required_argument, NULL, 'r' },
        { "sign-key", required_argument, NULL, 's' },
        { "tag", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
};

int
cmd_push (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        const char *mounts[MAX_REPEATS] = { NULL }, *tags[MAX_REPEATS] = { NULL }, *arches[3] = { NULL };
        size_t n_mounts = 0, n_tags = 0, n_arches = 0;
        struct registry_opts ro = { .retries = -1, .mount_from = mounts, .extra_tags = tags };
        struct registry_stats st;
        const char *image, *dest;
        struct stat sb;
        int c, json = 0, cache = 0, r;
        long n;

        while ((c = cli_getopt (ctx, argc, argv, "hj:t:", opts)) != -1) {
                if ((r = cli_registry_option ("push", c, optarg, &ro, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'C':
                        cache = 1;
                        break;
                case 'c':
                        if (cli_parse_long (err, "push", "--chunk-size", optarg, 1, 4096, &n) < 0)
                                return -1;
                        ro.chunk_bytes = (uint64_t) n << 20;
                        break;
                case 'h':
                        help ();
                        return 0;
                case 'J':
                        json = 1;
                        break;
                case 'm':
                        if (add_repeat (mounts, &n_mounts, optarg, "--mount-from", err) < 0)
                                return -1;
                        break;
                case 'P':
                        if (cli_platform_option ("push", optarg, arches, &n_arches, err) < 0)
                                return -1;
                        break;
                case 's':
                        ro.sign_key = optarg;
                        break;
                case 't':
                        if (add_repeat (tags, &n_tags, optarg, "--tag", err) < 0)
                                return -1;
                        break;
                default:
                        return cli_option_error (err, "push");
                }
        }
        if (argc - optind != 2 - cache)
                return cli_usage_error (err, "push", cache ? "expected a destination for the cache"
                                                           : "expected an image and a destination");
        image = cache ? NULL : argv[optind];
        dest = argv[argc - 1];
        if (!plain_text (dest))
                return cli_usage_error (err, "push", "the destination holds quotes or control characters");
        if (n_arches > 0 && (cache || stat (image, &sb) == 0 || strncmp (image, "postgres-", 9) != 0))
                return cli_usage_error (err, "push",
                                        "--platform goes with postgres-MAJOR, which is built for it; an image file "
                                        "or the cache is pushed with the platforms it has");
        progress_set_quiet (ctx->quiet);
        if (cache) {
                if (registry_cache_push (ctx->cache_dir, dest, &ro, &st, err) < 0)
                        return pgimg_error_wrap (err, "push --cache %s", dest);
                return print_summary (dest, &st, json, err);
        }
        if (n_arches > 1)
                r = push_built_index (ctx, image, arches, n_arches, dest, &ro, &st, err);
        else if (n_arches == 1 || (stat (image, &sb) < 0 && errno == ENOENT && strncmp (image, "postgres-", 9) == 0))
                r = push_built (ctx, image, arches[0], dest, &ro, &st, err);
        else
                r = registry_push (image, ctx->cache_dir, dest, &ro, &st, err);
        if (r < 0)
                return pgimg_error_wrap (err, "push %s", dest);
        return print_summary (dest, &st, json, err);
}
