/* cmd_layer.c - `pgimg layer DIR`: a directory as a reproducible layer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/number.h"
#include "layers/cache.h"
#include "layers/layer.h"

static void
layer_usage (FILE *f)
{
        fprintf (f, "usage: pgimg layer DIR [--compression gzip|zstd|none] [--mtime EPOCH]\n"
                    "                       [--blob-dir DIR] [--json]\n"
                    "\n"
                    "Write DIR as one reproducible OCI layer: sorted entries, owner root,\n"
                    "normalized modes, every mtime EPOCH.  The blob is stored as\n"
                    "BLOB-DIR/<sha256> and its digest, diff_id and size are printed.\n"
                    "\n"
                    "  --blob-dir DIR      where the blob goes (default: <cache>/blobs/sha256)\n"
                    "  --compression C     gzip (default), zstd or none\n"
                    "  --json              print {\"digest\",\"diffID\",\"size\",\"mediaType\"} on stdout\n"
                    "  --mtime EPOCH       mtime of every entry (default: $SOURCE_DATE_EPOCH, else 0)\n"
                    "\n"
                    "Example:\n"
                    "  pgimg layer rootfs/ --compression zstd --mtime 1700000000 --json\n");
}

static int
parse_epoch (const char *s, time_t *out)
{
        long v;

        if (number_parse_long (s, 0, LONG_MAX, &v) < 0)
                return -1;
        *out = (time_t) v;
        return 0;
}

int
cmd_layer (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option longopts[] = {
                { "blob-dir", required_argument, NULL, 'b' },
                { "compression", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "mtime", required_argument, NULL, 'm' },
                { NULL, 0, NULL, 0 },
        };
        struct layer_opts opts = { .compression = LAYER_GZIP };
        cleanup_free char *blob_dir = NULL;
        const char *mtime_arg = getenv ("SOURCE_DATE_EPOCH");
        const char *mtime_from = "SOURCE_DATE_EPOCH";
        struct layer_desc d;
        int json = 0, c;

        while ((c = cli_getopt (ctx, argc, argv, "h", longopts)) != -1) {
                switch (c) {
                case 'b':
                        free (blob_dir);
                        blob_dir = strdup (optarg);
                        if (blob_dir == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "layer");
                        break;
                case 'c':
                        if (layer_compression_parse (optarg, &opts.compression, NULL) < 0)
                                return cli_usage_error (err, "layer",
                                                        "unknown compression `%s` (gzip, zstd or none)",
                                                        optarg);
                        break;
                case 'h':
                        layer_usage (stdout);
                        return 0;
                case 'j':
                        json = 1;
                        break;
                case 'm':
                        mtime_arg = optarg;
                        mtime_from = "--mtime";
                        break;
                default:
                        return cli_option_error (err, "layer");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "layer", "expected one directory, got %d arguments",
                                        argc - optind);
        if (mtime_arg && *mtime_arg && parse_epoch (mtime_arg, &opts.mtime) < 0)
                return cli_usage_error (err, "layer", "%s `%s` is not seconds since 1970",
                                        mtime_from, mtime_arg);
        if (blob_dir == NULL) {
                if (layer_cache_blob_dir (ctx->cache_dir, &blob_dir, err) < 0)
                        return -1;
        } else if (fs_mkdir_p (blob_dir, 0755, err) < 0) {
                return -1;
        }
        if (layer_write (argv[optind], &opts, blob_dir, &d, err) < 0)
                return -1;
        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;

                jsonw_init (&w, &b);
                jsonw_object (&w);
                jsonw_kv_string (&w, "digest", d.digest);
                jsonw_kv_string (&w, "diffID", d.diff_id);
                jsonw_kv_uint (&w, "size", d.size);
                jsonw_kv_string (&w, "mediaType", layer_media_type (d.compression));
                jsonw_end (&w);
                if (cli_print_json (&w, &b, err) < 0)
                        return -1;
        } else if (!ctx->quiet) {
                fprintf (stderr, "digest   %s\ndiff_id  %s\nsize     %" PRIu64 "\nblob     %s/%s\n",
                         d.digest, d.diff_id, d.size, blob_dir, d.digest + strlen ("sha256:"));
        }
        if (fflush (stdout) != 0)
                return pgimg_make_error_errno (err, errno, "write to stdout");
        return 0;
}
