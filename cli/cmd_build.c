/* cmd_build.c - pgimg build: a PostgreSQL image from a recipe. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build.h"
#include "builder/disk.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/progress.h"
#include "common/timings.h"
#include "oci/image.h"
#include "registry/registry.h"


static void
help (void)
{
        printf ("usage: pgimg build [OPTIONS] postgres-MAJOR[.MINOR]\n"
                "       pgimg build extension [OPTIONS] EXT[@VERSION]   (see --help there)\n"
                "\n"
                "Build a PostgreSQL image from versions/MAJOR.json and the lock, in\n"
                "rootless namespaces, into reproducible layers; write it as a tarball\n"
                "that `docker load` and OCI tools read, with its SPDX SBOM beside it\n"
                "(OUTPUT.spdx.json) and inside it (/usr/share/pgimg/sbom.spdx.json).\n"
                "\n"
                "  -o, --output PATH         where to write the image (default postgres-VERSION.tar,\n"
                "                            or postgres-VERSION for --format oci-dir)\n"
                "      --compression ALGO    gzip (default) or zstd\n"
                "      --format FORMAT       docker-archive (default; also an OCI layout), oci-dir,\n"
                "                            or disk: a bootable UEFI disk image (docs/vm.md)\n"
                "      --disk-format FMT     raw (default), qcow2, vmdk or vhd (with --format disk)\n"
                "      --disk-size SIZE      the disk's size, like 4G (default) or 6144M\n"
                "  -j, --jobs N              parallel make jobs (default: the CPUs available)\n"
                "      --with EXT[@VER],...  add extensions (extensions/EXT.json); repeatable;\n"
                "                            `jit` adds the JIT layer (LLVM)\n"
                "      --platform PLATFORM   linux/amd64 (default: the machine pgimg runs on) or\n"
                "                            linux/arm64, cross-built (docs/platforms.md); both,\n"
                "                            comma-separated: one image index of the two\n"
                "      --set NAME            add the extensions of images/NAME.json (default, full);\n"
                "                            those that do not support the major are left out\n"
                "      --cache-from REF      first take the layers a remote cache (REF or s3://...)\n"
                "                            has; an unreachable or badly signed cache is skipped;\n"
                "                            repeatable: each is taken in order (docs/farm.md)\n"
                "      --cache-to REF        afterwards push the layer cache there; meanwhile hold a\n"
                "                            lease on each extension layer built (docs/farm.md)\n"
                "      --lease-time SECONDS  how long such a lease lasts (default 10800; 0: none)\n"
                "      --cache-endpoint URL  the S3 endpoint of an s3:// cache\n"
                "      --insecure-registry   plain HTTP to the cache's registry\n"
                "      --sign-key FILE       sign what --cache-to pushes\n"
                "      --trusted-key FILE    take --cache-from only when signed by this key\n"
                "      --json                print a JSON summary on stdout (with the timings)\n"
                "      --timings             print where the time went, phase by phase, on stderr\n"
                "      --plan, --dry-run     build nothing: list each layer, its cache key and whether\n"
                "                            the cache (or --cache-from) has it (cached, remote, build)\n"
                "\n"
                "Example:\n"
                "  pgimg build postgres-15 -o pg15.tar && docker load -i pg15.tar\n"
                "  pgimg build postgres-18 --set default --plan\n"
                "  pgimg build postgres-17 --with pgvector,pg_cron@1.6.5 -o pg17.tar\n"
                "  pgimg build postgres-18 --set default --format disk -o pg18.raw\n"
                "  pgimg build postgres-18 --platform linux/arm64 -o pg18-arm64.tar\n"
                "  pgimg build postgres-18 --platform linux/amd64,linux/arm64 -o pg18.tar\n");
}

/* The receipt and the SBOM beside the output: x.tar.receipt.json and
 * x.tar.spdx.json, or DIR.spdx.json next to an OCI layout directory
 * (given as DIR or DIR/), where `pgimg push` takes it from. */
int
cli_write_beside (const char *out, const struct buf *receipt, const char *sbom, size_t sbom_len, pgimg_error_t *err)
{
        cleanup_free char *receipt_path = fs_path_beside (out, ".receipt.json");
        cleanup_free char *sbom_path = fs_path_beside (out, ".spdx.json");

        if (receipt_path == NULL || sbom_path == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "receipt");
        if (fs_write_file_atomic (receipt_path, receipt->data, receipt->len, 0644, err) < 0)
                return -1;
        return fs_write_file_atomic (sbom_path, sbom, sbom_len, 0644, err);
}

/* Before anything is written: the files beside the output must be
 * files (or not exist yet), or the image would be written without them. */
int
cli_check_beside (const char *out, const char *infix, pgimg_error_t *err)
{
        static const char *const suffixes[] = { ".receipt.json", ".spdx.json" };

        for (size_t i = 0; i < sizeof (suffixes) / sizeof (suffixes[0]); i++) {
                cleanup_free char *suffix = NULL, *path = NULL;
                struct stat st;
                if (asprintf (&suffix, "%s%s", infix, suffixes[i]) < 0
                    || (path = fs_path_beside (out, suffix)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "output");
                if (stat (path, &st) == 0 && !S_ISREG (st.st_mode))
                        return pgimg_make_error (err, EISDIR, "`%s` is in the way of the file pgimg writes beside the image; remove it or choose another -o",
                                                 path);
        }
        return 0;
}

static void
json_layer (struct jsonw *w, const struct pipeline_layer *l)
{
        jsonw_object (w);
        jsonw_kv_string (w, "name", l->name);
        jsonw_kv_string (w, "digest", l->desc.digest);
        jsonw_kv_string (w, "diffID", l->desc.diff_id);
        jsonw_kv_uint (w, "size", l->desc.size);
        jsonw_kv_bool (w, "built", l->built);
        jsonw_end (w);
}

static void
note_layer (const struct pipeline_layer *l)
{
        progress_note ("layer %-10s %s %7.1f MB  %s", l->name, l->desc.digest, l->desc.size / 1e6,
                       l->built ? "built" : "cached");
}

/* The layers (and a disk's machine layer) and what was written: an
 * image with its manifest digest, or a disk (manifest NULL). */
static int
print_summary (const struct pipeline_result *res, const char *out, const char *manifest, int json,
               const struct timings *times, pgimg_error_t *err)
{
        int disk = manifest == NULL;

        if (json) {
                cleanup_buf struct buf b = BUF_INIT;
                struct jsonw w;

                jsonw_init (&w, &b);
                jsonw_object (&w);
                jsonw_kv_string (&w, "image", res->tags[0]);
                jsonw_kv_string (&w, "output", out);
                jsonw_kv_string (&w, disk ? "format" : "manifest", disk ? "disk" : manifest);
                jsonw_key (&w, "layers");
                jsonw_array (&w);
                for (size_t i = 0; i < res->n_layers; i++)
                        json_layer (&w, &res->layers[i]);
                if (disk)
                        json_layer (&w, &res->machine);
                jsonw_end (&w);
                jsonw_key (&w, "timings");
                timings_json (times, &w);
                jsonw_end (&w);
                return cli_print_json (&w, &b, err);
        }
        for (size_t i = 0; i < res->n_layers; i++)
                note_layer (&res->layers[i]);
        if (disk)
                note_layer (&res->machine);
        else
                progress_note ("image %s (%s) written to %s", res->tags[0], manifest, out);
        return 0;
}

static const struct option opts[] = {
        { "cache-endpoint", required_argument, NULL, 'E' },
        { "cache-from", required_argument, NULL, 'F' },
        { "cache-to", required_argument, NULL, 'T' },
        { "compression", required_argument, NULL, 'c' },
        { "disk-format", required_argument, NULL, 'D' },
        { "disk-size", required_argument, NULL, 'Z' },
        { "dry-run", no_argument, NULL, 'P' },
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "insecure-registry", no_argument, NULL, 'k' },
        { "jobs", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, 'J' },
        { "lease-time", required_argument, NULL, 'L' },
        { "output", required_argument, NULL, 'o' },
        { "plan", no_argument, NULL, 'P' },
        { "platform", required_argument, NULL, 'A' },
        { "set", required_argument, NULL, 'S' },
        { "sign-key", required_argument, NULL, 'K' },
        { "timings", no_argument, NULL, 'M' },
        { "trusted-key", required_argument, NULL, 'Y' },
        { "with", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
};

/* What the command line asks for. */
struct build_args {
        struct cli_image_opts *io;
        struct registry_opts ro;
        const char **cache_from;        /* --cache-from, in order; NULL-terminated */
        size_t n_cache_from;
        const char *cache_to;
        long long lease_s;              /* --lease-time */
        const char *trusted[2];
        enum layer_compression compression;
        enum oci_format fmt;
        int disk;                       /* --format disk */
        const char *disk_option;        /* the first --disk-* option given */
        enum disk_format disk_format;
        uint64_t disk_size_mib;
        const char *output;
        int show_timings;               /* --timings */
        int plan;                       /* --plan, --dry-run */
        const char *arch;               /* --platform linux/ARCH: ARCH */
        const char *arches[3];          /* --platform linux/amd64,linux/arm64: both, amd64 first */
        size_t n_arches;
        struct timings times;           /* recorded whether shown or not, for --json */
        double start;                   /* timings_now () when the command began */
};

static void
build_args_release (struct build_args *a)
{
        timings_free (&a->times);
        free (a->cache_from);
}

static int
add_cache_from (struct build_args *a, const char *ref, pgimg_error_t *err)
{
        const char **v = realloc (a->cache_from, (a->n_cache_from + 2) * sizeof (*v));

        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "build");
        v[a->n_cache_from++] = ref;
        v[a->n_cache_from] = NULL;
        a->cache_from = v;
        return 0;
}

/* --disk-format or --disk-size; bad values are usage errors. */
static int
disk_option (int c, const char *arg, struct build_args *a, pgimg_error_t *err)
{
        pgimg_error_t e = NULL;
        int r;

        a->disk_option = c == 'D' ? "--disk-format" : "--disk-size";
        r = c == 'D' ? disk_format_parse (arg, &a->disk_format, &e) : disk_size_parse (arg, &a->disk_size_mib, &e);
        if (r < 0) {
                r = cli_usage_error (err, "build", "%s", e->msg);
                pgimg_error_free (&e);
        }
        return r;
}

/* --lease-time: seconds, at most a week. */
static int
lease_time_option (const char *arg, long long *seconds, pgimg_error_t *err)
{
        char *end;

        errno = 0;
        *seconds = strtoll (arg, &end, 10);
        if (errno || end == arg || *end || *seconds < 0 || *seconds > BUILD_LEASE_MAX_S)
                return cli_usage_error (err, "build", "--lease-time `%s`: give seconds, 0 to %d", arg, BUILD_LEASE_MAX_S);
        return 0;
}

static int
platform_option (const char *arg, struct build_args *a, pgimg_error_t *err)
{
        if (cli_platform_option ("build", arg, a->arches, &a->n_arches, err) < 0)
                return -1;
        a->arch = a->n_arches == 1 ? a->arches[0] : NULL;
        return 0;
}

/* What the options ask for together, once they are all read. */
static int
check_args (int argc, const struct build_args *a, pgimg_error_t *err)
{
        if (argc - optind != 1)
                return cli_usage_error (err, "build", "expected one image to build, like postgres-18");
        if (a->disk_option && !a->disk)
                return cli_usage_error (err, "build", "%s is for disk images; add --format disk", a->disk_option);
        if (a->disk && (pipeline_is_cross (a->arch) || a->n_arches > 1))
                return cli_usage_error (err, "build", "disk images are amd64 only; leave out --platform");
        if (a->plan && a->n_arches > 1)
                return cli_usage_error (err, "build", "--plan takes one platform; give --platform linux/amd64 or linux/arm64");
        return 0;
}

/* The options; 1 when --help was printed. */
static int
parse_args (struct pgimg_ctx *ctx, int argc, char **argv, struct build_args *a, pgimg_error_t *err)
{
        int c, r;

        while ((c = cli_getopt (ctx, argc, argv, "hj:o:", opts)) != -1) {
                if ((r = cli_image_option ("build", c, optarg, a->io, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'A':
                        if (platform_option (optarg, a, err) < 0)
                                return -1;
                        break;
                case 'c':
                        if (layer_compression_parse (optarg, &a->compression, err) < 0)
                                return cli_usage_error (err, "build", "unknown compression `%s`", optarg);
                        break;
                case 'f':
                        a->disk = strcmp (optarg, "disk") == 0;
                        if (!a->disk && oci_format_parse (optarg, &a->fmt, err) < 0)
                                return cli_usage_error (err, "build", "unknown format `%s`; use docker-archive, oci-dir or disk",
                                                        optarg);
                        break;
                case 'D':
                case 'Z':
                        if (disk_option (c, optarg, a, err) < 0)
                                return -1;
                        break;
                case 'h':
                        help ();
                        return 1;
                case 'o':
                        /* `-o pg17/` names the directory pg17: the receipt
                         * goes beside it, not into it. */
                        for (size_t n = strlen (optarg); n > 1 && optarg[n - 1] == '/'; n--)
                                optarg[n - 1] = '\0';
                        a->output = optarg;
                        break;
                case 'E':
                        a->ro.s3_endpoint = optarg;
                        break;
                case 'F':
                        if (add_cache_from (a, optarg, err) < 0)
                                return -1;
                        break;
                case 'T':
                        a->cache_to = optarg;
                        break;
                case 'k':
                        a->ro.insecure = 1;
                        break;
                case 'K':
                        a->ro.sign_key = optarg;
                        break;
                case 'L':
                        if (lease_time_option (optarg, &a->lease_s, err) < 0)
                                return -1;
                        break;
                case 'M':
                        a->show_timings = 1;
                        break;
                case 'P':
                        a->plan = 1;
                        break;
                case 'Y':
                        a->trusted[0] = optarg;
                        a->ro.trusted_keys = a->trusted;
                        break;
                default:
                        return cli_option_error (err, "build");
                }
        }
        return check_args (argc, a, err);
}

/* A remote cache only saves work: without it, build.  Each is taken in
 * the order given; one that cannot be taken does not stop the others. */
static void
take_remote_caches (struct pgimg_ctx *ctx, struct build_args *a)
{
        double t = timings_now ();

        for (size_t i = 0; i < a->n_cache_from; i++) {
                pgimg_error_t e = NULL;
                unsigned entries = 0;
                if (registry_cache_pull (ctx->cache_dir, a->cache_from[i], &a->ro, NULL, &entries, &e) < 0) {
                        progress_note ("not using the cache %s: %s; building instead", a->cache_from[i], e->msg);
                        pgimg_error_free (&e);
                } else {
                        progress_note ("took %u layer entries from the cache %s", entries, a->cache_from[i]);
                }
        }
        timings_since (&a->times, "prepare", "--cache-from", t);
}

/* Write the image res defines, its receipt, the summary, and push the
 * layer cache when asked. */
static int
write_and_report (struct pgimg_ctx *ctx, struct build_args *a, const struct pipeline_result *res,
                  pgimg_error_t *err)
{
        cleanup_free char *out = NULL;
        char manifest[LAYER_DIGEST_LEN];
        const char *output = a->output;
        struct timings *times = &a->times;
        double t = timings_now (), total;

        if (output == NULL) {
                if (asprintf (&out, "postgres-%s%s", res->version->version,
                              a->fmt == OCI_FORMAT_DIR ? "" : ".tar") < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "build");
                output = out;
        }
        if (cli_check_beside (output, "", err) < 0 || cli_write_image (res, a->fmt, output, manifest, err) < 0)
                return -1;
        t = timings_since (times, "image", a->fmt == OCI_FORMAT_DIR ? "write OCI layout" : "write tarball", t);
        cleanup_buf struct buf receipt = BUF_INIT;
        if (pipeline_receipt (res, PGIMG_VERSION, res->n_layers, manifest, &receipt, err) < 0
            || cli_write_beside (output, &receipt, res->sbom, res->sbom_len, err) < 0)
                return -1;
        t = timings_since (times, "image", "receipt and SBOM files", t);
        total = t - a->start;
        if (print_summary (res, output, manifest, a->io->json, times, err) < 0
            || (a->show_timings && cli_print_timings (times, total, err) < 0))
                return -1;
        if (a->cache_to && registry_cache_push (ctx->cache_dir, a->cache_to, &a->ro, NULL, err) < 0)
                return pgimg_error_wrap (err, "--cache-to %s", a->cache_to);
        return 0;
}

/* --format disk: the disk, then the summary. */
static int
write_disk (struct pgimg_ctx *ctx, struct build_args *a, const struct pipeline_opts *po, struct pipeline_result *res,
            pgimg_error_t *err)
{
        cleanup_free char *out = NULL;
        const char *output = a->output;

        if (output == NULL) {
                if (asprintf (&out, "postgres-%s.%s", res->version->version, disk_format_name (a->disk_format)) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "build");
                output = out;
        }
        if (cli_check_beside (output, "", err) < 0
            || cli_write_disk (ctx, po, res, output, a->disk_format, a->disk_size_mib, err) < 0)
                return -1;
        double total = timings_now () - a->start;
        if (print_summary (res, output, NULL, a->io->json, &a->times, err) < 0
            || (a->show_timings && cli_print_timings (&a->times, total, err) < 0))
                return -1;
        return 0;
}

/* The keys every --cache-from lists, as one sorted list; one that
 * cannot be read is skipped with a note, as a build skips it. */
static int
read_remote_caches (struct build_args *a, struct layer_cache_entries *remote, pgimg_error_t *err)
{
        const char *tmp = getenv ("TMPDIR");

        for (size_t i = 0; i < a->n_cache_from; i++) {
                struct layer_cache_entries one = { 0 };
                pgimg_error_t e = NULL;
                int r;
                if (registry_cache_entries (a->cache_from[i], tmp && *tmp ? tmp : "/tmp", &a->ro, &one, &e) < 0) {
                        progress_note ("not using the cache %s: %s; the plan builds instead", a->cache_from[i],
                                       e->msg);
                        pgimg_error_free (&e);
                        free (one.v);
                        continue;
                }
                r = layer_cache_entries_merge (remote, &one, err);
                free (one.v);
                if (r < 0)
                        return -1;
        }
        return 0;
}

/* --plan: every layer's key and where it is, nothing built or written.
 * A remote cache is read as far as its list of keys (manifest and
 * config), as the build would take it. */
static int
build_plan (struct build_args *a, struct pipeline_opts *po, pgimg_error_t *err)
{
        struct layer_cache_entries remote = { 0 };
        struct pipeline_result res;
        int r;

        if (read_remote_caches (a, &remote, err) < 0) {
                free (remote.v);
                return pgimg_error_wrap (err, "build %s --plan", po->spec);
        }
        if (a->n_cache_from)
                po->remote = &remote;
        po->plan = 1;
        r = pipeline_postgres (po, &res, err);
        if (r == 0)
                r = cli_print_plan (&res, NULL, a->io->json, err);
        pipeline_result_free (&res);
        free (remote.v);
        return r < 0 ? pgimg_error_wrap (err, "build %s --plan", po->spec) : 0;
}

int
cmd_build (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        __attribute__ ((cleanup (build_args_release))) struct build_args a = {
                .io = &io, .ro = { .retries = -1 }, .compression = LAYER_GZIP, .fmt = OCI_FORMAT_ARCHIVE,
                .times = TIMINGS_INIT, .start = timings_now (), .disk_size_mib = DISK_DEFAULT_SIZE_MIB,
                .lease_s = 3 * 3600,
        };
        __attribute__ ((cleanup (build_leases_free))) struct build_leases leases = { 0 };
        struct pipeline_opts po;
        struct pipeline_result res;
        int r;

        if (argc > 1 && strcmp (argv[1], "extension") == 0)
                return cmd_build_extension (ctx, argc - 1, argv + 1, err);
        if ((r = parse_args (ctx, argc, argv, &a, err)) != 0)
                return r < 0 ? r : 0;
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        cli_pipeline_opts (ctx, argv[optind], &io, &po);
        po.compression = a.compression;
        po.timings = &a.times;
        po.arch = a.arch;
        if (a.plan)
                return build_plan (&a, &po, err);

        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0)
                return pgimg_error_wrap (err, "build %s: cache", po.spec);
        take_remote_caches (ctx, &a);
        if (a.cache_to && a.lease_s > 0) {
                if (build_leases_init (&leases, ctx->cache_dir, a.cache_to, &a.ro, a.lease_s, err) < 0)
                        return pgimg_error_wrap (err, "build %s", po.spec);
                po.lease = &leases.ops;
        }
        if (a.n_arches > 1) {
                r = cli_build_platforms (ctx, &po, a.arches, a.n_arches, a.fmt, a.output, io.json, err);
                if (r == 0 && a.cache_to && registry_cache_push (ctx->cache_dir, a.cache_to, &a.ro, NULL, err) < 0)
                        r = pgimg_error_wrap (err, "build %s: --cache-to %s", po.spec, a.cache_to);
                build_leases_end (&leases);
                return r;
        }
        if (cli_build (ctx, "build", &po, &res, err) < 0) {
                /* Whoever waits for a layer leased here builds it now. */
                build_leases_end (&leases);
                return -1;
        }
        r = a.disk ? write_disk (ctx, &a, &po, &res, err) : write_and_report (ctx, &a, &res, err);
        pipeline_result_free (&res);
        /* After the cache push: whoever waits finds the layers there. */
        build_leases_end (&leases);
        if (r < 0)
                return pgimg_error_wrap (err, "build %s", po.spec);
        return 0;
}
