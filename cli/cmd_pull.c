/* cmd_pull.c - pgimg pull: an image from a registry or S3 into the store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/jsonw.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "registry/registry.h"

#define MAX_KEYS 16

/* --json: what was pulled; entries < 0 for an image (blobs), else a
 * layer cache (its entries). */
static int
print_json (const struct registry_stats *st, long entries, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;

        jsonw_init (&w, &b);
        jsonw_object (&w);
        jsonw_kv_string (&w, "manifest", st->manifest_digest);
        if (entries < 0)
                jsonw_kv_uint (&w, "blobs", st->blobs);
        else
                jsonw_kv_uint (&w, "entries", (uint64_t) entries);
        jsonw_kv_uint (&w, "bytesDownloaded", st->bytes_downloaded);
        jsonw_end (&w);
        return cli_print_json (&w, &b, err);
}

static void
help (void)
{
        printf ("usage: pgimg pull [OPTIONS] SRC\n"
                "       pgimg pull --cache [OPTIONS] SRC\n"
                "\n"
                "Fetch an image from an OCI registry (HOST[:PORT]/NAME[:TAG][@sha256:HEX]) or\n"
                "from S3 (s3://BUCKET/PREFIX[:TAG]) into the local blob store\n"
                "(<cache>/blobs/sha256), checking every digest.  A blob lands in the store\n"
                "only once it checks out; the tag is recorded under <cache>/refs/.\n"
                "With --cache, SRC is a layer cache pushed by `pgimg push --cache`: its\n"
                "layers join the local cache, and a build takes them instead of building.\n"
                "\n"
                "      --cache               pull a layer cache, not an image\n"
                "  -o, --output FILE         also write the image as a tarball (docker load, OCI tools)\n"
                "      --ca-file FILE        trust this CA instead of the system's\n"
                "      --endpoint URL        S3 endpoint, path-style (http://127.0.0.1:9000)\n"
                "      --insecure            plain HTTP (also: PGIMG_INSECURE_REGISTRIES=host:port,...)\n"
                "  -j, --jobs N              blobs fetched at once (default 4)\n"
                "      --json                print a JSON summary on stdout\n"
                "      --limit-rate MB       at most MB per second per transfer\n"
                "      --retries N           retries per request on 5xx, 429 and drops (default 4)\n"
                "      --trusted-key FILE    refuse the image unless signed by this key, a PEM P-256\n"
                "                            public key (pgimg key generate, cosign.pub; repeatable)\n"
                "\n"
                "Example:\n"
                "  pgimg pull localhost:5000/pgimg/postgres:17 --insecure -o pg17.tar\n"
                "  pgimg pull --cache s3://ci-cache/pgimg:main && pgimg build postgres-17\n");
}

int
cmd_pull (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "ca-file", required_argument, NULL, 'A' },
                { "cache", no_argument, NULL, 'C' },
                { "endpoint", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "insecure", no_argument, NULL, 'k' },
                { "jobs", required_argument, NULL, 'j' },
                { "json", no_argument, NULL, 'J' },
                { "limit-rate", required_argument, NULL, 'L' },
                { "output", required_argument, NULL, 'o' },
                { "retries", required_argument, NULL, 'r' },
                { "trusted-key", required_argument, NULL, 'T' },
                { NULL, 0, NULL, 0 },
        };
        const char *keys[MAX_KEYS] = { NULL };
        size_t n_keys = 0;
        struct registry_opts ro = { .retries = -1 };
        struct registry_stats st;
        const char *output = NULL, *src;
        int c, json = 0, cache = 0;
        unsigned entries = 0;

        while ((c = cli_getopt (ctx, argc, argv, "hj:o:", opts)) != -1) {
                int r = cli_registry_option ("pull", c, optarg, &ro, err);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                switch (c) {
                case 'C':
                        cache = 1;
                        break;
                case 'h':
                        help ();
                        return 0;
                case 'J':
                        json = 1;
                        break;
                case 'o':
                        output = optarg;
                        break;
                case 'T':
                        if (n_keys + 1 >= MAX_KEYS)
                                return cli_usage_error (err, "pull", "too many --trusted-key");
                        keys[n_keys++] = optarg;
                        ro.trusted_keys = keys;
                        break;
                default:
                        return cli_option_error (err, "pull");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "pull", "expected one image to pull");
        src = argv[optind];
        progress_set_quiet (ctx->quiet);
        if (cache && output != NULL)
                return cli_usage_error (err, "pull", "--cache takes no --output");
        if (cache) {
                if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0
                    || registry_cache_pull (ctx->cache_dir, src, &ro, &st, &entries, err) < 0)
                        return pgimg_error_wrap (err, "pull --cache %s", src);
                if (json)
                        return print_json (&st, entries, err);
                else
                        progress_note ("pulled the layer cache %s: %u entries, %.1f MB downloaded", src, entries,
                                       st.bytes_downloaded / 1e6);
                return 0;
        }
        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0 || registry_pull (src, ctx->cache_dir, output, &ro, &st, err) < 0)
                return pgimg_error_wrap (err, "pull %s", src);
        if (json)
                return print_json (&st, -1, err);
        else
                progress_note ("pulled %s (%s): %u blobs, %.1f MB downloaded%s%s", src, st.manifest_digest, st.blobs,
                               st.bytes_downloaded / 1e6, output ? ", written to " : "", output ? output : "");
        return 0;
}
