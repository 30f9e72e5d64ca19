/* cmd_test.c - `pgimg test`: build an image with its extensions and
 * pgTAP, start it in a container (pgimg's own runtime, or the Docker
 * Engine), run every extension's smoke test. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "runner/engine.h"
#include "runner/platform.h"
#include "runner/smoke.h"

static void
help (void)
{
        printf ("usage: pgimg test [OPTIONS] postgres-MAJOR[.MINOR]\n"
                "\n"
                "Build the image with the given extensions and pgTAP (from its own layer),\n"
                "start it in a container, and run tests/smoke/<extension>.sql for each\n"
                "extension in a fresh database.  Two versions of one extension side by side\n"
                "(--with semver@0.32.0,semver@0.40.0) also test ALTER EXTENSION ... UPDATE from\n"
                "one to the next: its C functions must move to the new version's module.\n"
                "Prints TAP, then `N passed, N failed`; exits 1 when a test failed.\n"
                "\n"
                "      --with EXT[@VER],...  extensions to test; repeatable\n"
                "      --set NAME            the extensions of images/NAME.json\n"
                "      --engine ENGINE       pgimg (default: pgimg's own rootless runtime, no\n"
                "                            Docker needed) or docker (docker load and run)\n"
                "      --platform PLATFORM   linux/amd64 (default) or linux/arm64: cross-built,\n"
                "                            run through qemu-user (binfmt_misc's qemu-aarch64)\n"
                "      --results FILE        write one line per extension (tab-separated: major,\n"
                "                            version, extension, its version, source, result,\n"
                "                            reason) for `pgimg matrix`\n"
                "  -j, --jobs N              parallel make jobs\n"
                "  -h, --help                this text\n"
                "\n"
                "Example:\n"
                "  pgimg test postgres-17 --with pgvector,pg_cron\n"
                "  pgimg test postgres-18 --set default --platform linux/arm64\n");
}

static int
test_cases (const struct pgimg_ctx *ctx, const struct pipeline_result *res,
            struct smoke_case **out, char ***owned, pgimg_error_t *err)
{
        struct smoke_case *c = calloc (res->n_picks + 1, sizeof (*c));
        char **names = calloc (2 * res->n_picks + 1, sizeof (char *));

        *out = c;
        *owned = names;
        if (c == NULL || names == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "test");
        for (size_t i = 0; i < res->n_picks; i++) {
                const struct extension_pick *p = &res->picks[i];
                if ((names[2 * i] = strdup (res->ext_layers[i].name)) == NULL
                    || asprintf (&names[2 * i + 1], "%s/tests/smoke/%s.sql", ctx->data_dir, p->recipe->name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "test");
                c[i].name = names[2 * i];
                c[i].file = names[2 * i + 1];
                c[i].not_built = res->ext_layers[i].failed_msg;
        }
        return 0;
}

/* Consecutive versions of one extension in the image (picks are sorted
 * by name, then version): each pair is an update to test. */
static int
test_updates (const struct pipeline_result *res, const struct smoke_case *cases, struct smoke_update **out,
              size_t *n, char ***owned, pgimg_error_t *err)
{
        struct smoke_update *u = calloc (res->n_picks + 1, sizeof (*u));
        char **names = calloc (res->n_picks + 1, sizeof (char *));

        *out = u;
        *owned = names;
        *n = 0;
        if (u == NULL || names == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "test");
        for (size_t i = 0; i + 1 < res->n_picks; i++) {
                const struct extension_pick *a = &res->picks[i], *b = &res->picks[i + 1];
                if (a->recipe != b->recipe || a->recipe->extensions[0] == NULL
                    || res->ext_layers[i].failed_msg || res->ext_layers[i + 1].failed_msg)
                        continue;
                if (asprintf (&names[*n], "%s %s -> %s", a->recipe->name, a->version->version, b->version->version) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "test");
                u[*n] = (struct smoke_update) { names[*n], a->recipe->extensions[0], a->version->version,
                                                b->version->version, cases[i + 1].file, 0 };
                (*n)++;
        }
        return 0;
}

/* The image under a name of its own, so that loading it for a test
 * never moves a user's pgimg/postgres tags. */
static int
test_tags (struct pipeline_result *res, pgimg_error_t *err)
{
        char **tags = calloc (2, sizeof (char *));

        if (tags == NULL || asprintf (&tags[0], "pgimg-test/postgres:%s-%ld", res->recipe.major,
                                      (long) getpid ()) < 0) {
                free (tags);
                return pgimg_make_error_errno (err, ENOMEM, "test");
        }
        strv_free (res->tags);
        res->tags = tags;
        res->image.oci.tags = (const char *const *) tags;
        return 0;
}

/* One line a case: what `pgimg matrix` reads. */
static int
write_results (const char *path, const struct pipeline_result *res, const struct smoke_case *cases,
               pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        int rc = 0;

        for (size_t i = 0; i < res->n_picks && rc == 0; i++) {
                const struct extension_pick *p = &res->picks[i];
                const char *kind = p->recipe->build == EXT_BUILD_POSTGRES ? "postgres-source"
                                   : p->version->n_debs ? "debian" : "source";
                rc = buf_addf (&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res->recipe.major, res->version->version,
                               p->recipe->name, p->version->version, kind,
                               cases[i].passed ? "passed" : cases[i].not_built ? "not-built" : "failed",
                               cases[i].passed ? "" : cases[i].reason);
        }
        for (size_t i = 0; res->skipped && res->skipped[i] && rc == 0; i++)
                rc = buf_addf (&b, "%s\t%s\t%s\t-\t-\tunsupported\t\n", res->recipe.major, res->version->version,
                               res->skipped[i]);
        if (rc < 0)
                return pgimg_make_error_errno (err, ENOMEM, "results");
        return fs_write_file_atomic (path, b.data ? b.data : "", b.len, 0644, err);
}

enum engine_kind { ENGINE_PGIMG, ENGINE_DOCKER };

/* How long the first start (initdb) may take: under qemu-user an
 * arm64 server runs several times slower. */
static int
start_timeout_s (const struct pipeline_result *res)
{
        return pipeline_is_cross (res->arch) ? 600 : 120;
}

static int
start_engine (struct pgimg_ctx *ctx, struct pipeline_result *res, enum engine_kind kind,
              const char *tmp, struct engine *eng, pgimg_error_t *err)
{
        /* Logical decoding for wal2json and pglogical; room for MobilityDB's locks. */
        static const char *const server_args[] = { "-c", "wal_level=logical", "-c", "max_locks_per_transaction=128", NULL };
        cleanup_free char *tarball = NULL;
        char manifest[LAYER_DIGEST_LEN];

        if (kind == ENGINE_PGIMG) {
                struct engine_pgimg_image img = {
                        .cache_dir = ctx->cache_dir,
                        .blob_dir = res->blob_dir,
                        .layers = res->image.oci.layers,
                        .n_layers = res->image.oci.n_layers,
                        .env = res->image.oci.env,
                        .volume = res->image.oci.volumes[0],
                        .work_dir = tmp,
                };
                progress_note ("starting postgres-%s in pgimg's runtime", res->version->version);
                return engine_pgimg_start (eng, &img, server_args, start_timeout_s (res), err);
        }
        if (asprintf (&tarball, "%s/image.tar", tmp) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "test");
        if (test_tags (res, err) < 0 || cli_write_image (res, OCI_FORMAT_ARCHIVE, tarball, manifest, err) < 0)
                return -1;
        progress_note ("starting %s in the Docker Engine", res->tags[0]);
        return engine_docker_start (eng, tarball, res->tags[0], res->arch, server_args, start_timeout_s (res), err);
}

static int
run_tests (struct pgimg_ctx *ctx, struct pipeline_result *res, enum engine_kind kind, const char *tmp,
           const char *results, struct smoke_report *rep, pgimg_error_t *err)
{
        cleanup_free struct smoke_case *cases = NULL;
        cleanup_free struct smoke_update *updates = NULL;
        cleanup_strv char **owned = NULL;
        cleanup_strv char **owned_updates = NULL;
        size_t n_updates = 0;
        struct engine eng = ENGINE_INIT;
        pgimg_error_t ignored = NULL;
        int rc;

        if (test_cases (ctx, res, &cases, &owned, err) < 0
            || test_updates (res, cases, &updates, &n_updates, &owned_updates, err) < 0)
                return -1;
        rc = start_engine (ctx, res, kind, tmp, &eng, err);
        if (rc == 0)
                rc = smoke_run (&eng, cases, res->n_picks, updates, n_updates, rep, err);
        if (rc == 0 && results)
                rc = write_results (results, res, cases, err);
        if (engine_stop (&eng, rc < 0 ? &ignored : err) < 0 && rc == 0)
                rc = -1;
        pgimg_error_free (&ignored);
        engine_free (&eng);
        return rc;
}

static const struct option opts[] = {
        { "engine", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { "jobs", required_argument, NULL, 'j' },
        { "platform", required_argument, NULL, 'A' },
        { "results", required_argument, NULL, 'R' },
        { "set", required_argument, NULL, 'S' },
        { "with", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
};

int
cmd_test (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        struct pipeline_opts po;
        struct pipeline_result res;
        struct smoke_report rep = { 0, 0 };
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        cleanup_free char *work = NULL;
        cleanup_free char *tmp = NULL;
        enum engine_kind kind = ENGINE_PGIMG;
        const char *results = NULL;
        const char *arch = NULL;
        int c, r;

        while ((c = cli_getopt (ctx, argc, argv, "hj:", opts)) != -1) {
                if ((r = cli_image_option ("test", c, optarg, &io, err)) != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'e':
                        if (strcmp (optarg, "pgimg") == 0)
                                kind = ENGINE_PGIMG;
                        else if (strcmp (optarg, "docker") == 0)
                                kind = ENGINE_DOCKER;
                        else
                                return cli_usage_error (err, "test", "unknown engine `%s` (pgimg, docker)", optarg);
                        break;
                case 'A':
                        if (cli_platform_one ("test", optarg, &arch, err) < 0)
                                return -1;
                        break;
                case 'h':
                        help ();
                        return 0;
                case 'R':
                        results = optarg;
                        break;
                default:
                        return cli_option_error (err, "test");
                }
        }
        if (argc - optind != 1)
                return cli_usage_error (err, "test", "expected one image to test, like postgres-17");
        /* Before a build it could not run. */
        if (arch != NULL && platform_runnable (arch, "test --platform linux/arm64", NULL, err) < 0)
                return -1;
        /* pgTAP runs the tests: it is in every test image. */
        if (cli_strv_split ("pgtap", &io.with, &io.n_with) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "test");
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        cli_pipeline_opts (ctx, argv[optind], &io, &po);
        po.keep_going = 1;
        po.arch = arch;
        if (cli_build (ctx, "test", &po, &res, err) < 0)
                return -1;
        r = asprintf (&work, "%s/work", ctx->cache_dir) < 0 ? pgimg_make_error_errno (err, ENOMEM, "test") : 0;
        if (r == 0)
                r = fs_mkdtemp (work, "test", &tmp, err);
        if (r == 0)
                r = run_tests (ctx, &res, kind, tmp, results, &rep, err);
        fs_drop_temp_dir (tmp);
        if (r == 0) {
                printf ("postgres-%s: %zu passed, %zu failed\n", res.version->version, rep.passed, rep.failed);
                if (rep.failed)
                        r = pgimg_make_error (err, EIO, "%zu of %zu smoke tests failed on PostgreSQL %s",
                                              rep.failed, rep.passed + rep.failed, res.version->version);
        }
        pipeline_result_free (&res);
        if (r < 0)
                return pgimg_error_wrap (err, "test %s", po.spec);
        return 0;
}
