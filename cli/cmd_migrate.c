/* cmd_migrate.c - `pgimg migration-test OLD NEW METHOD`: build or read
 * the two images, run the migration test (runner/migrate.h), print what
 * was verified or every difference. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/number.h"
#include "common/progress.h"
#include "runner/migrate.h"
#include "runner/platform.h"
#include "runner/runtime.h"

static void
help (void)
{
        printf ("usage: pgimg migration-test [OPTIONS] OLD NEW METHOD\n"
                "\n"
                "Create a cluster with OLD, load tests/prime.sql (every extension that can be\n"
                "created) and tests/migrations/data.sql, fingerprint it, move it to NEW with\n"
                "METHOD, fingerprint it again and compare: per table the row count and a hash\n"
                "of every row, sequences, large objects, the schema, roles and privileges,\n"
                "extensions, and index scans.  The old data directory must be left as it was.\n"
                "Everything runs in pgimg's rootless runtime; nothing is left behind.  Both\n"
                "images are of one platform: linux/arm64 ones run through qemu-user.\n"
                "\n"
                "OLD and NEW: 15, 15.17, postgres-17, \"postgres-17 --with pgvector\", or an\n"
                "image that `pgimg build` wrote (a tarball or an OCI layout directory).\n"
                "Without --with or --set an image from a version gets the default set.\n"
                "\n"
                "METHOD: pg_upgrade (between majors), pg_dumpall, or restart (a minor update:\n"
                "NEW's binaries on OLD's data).\n"
                "\n"
                "      --link, --clone       pg_upgrade's mode (default: copy)\n"
                "      --check               stop after pg_upgrade --check\n"
                "  -j, --jobs N              pg_upgrade --jobs and vacuumdb --jobs (default: 2);\n"
                "                            also make jobs when an image is built\n"
                "      --with EXT,...        extensions of both images (when a side names none)\n"
                "      --set NAME            an image set of both images (default: default)\n"
                "      --scale N             multiply the data set's rows by N (default 1)\n"
                "      --data FILE           the data set (default tests/migrations/data.sql)\n"
                "      --platform PLATFORM   linux/amd64 (default) or linux/arm64: images built\n"
                "                            for it, run through qemu-user (binfmt_misc's\n"
                "                            qemu-aarch64); an image file must be of it\n"
                "      --keep DIR            work in DIR (new or empty) and keep it: clusters,\n"
                "                            fingerprints, dumps and the log\n"
                "      --results FILE        append one tab-separated line (old, new, method,\n"
                "                            mode, result, seconds, upgrade seconds, rows,\n"
                "                            tables, updates, reason) for tools/migration-matrix.sh\n"
                "  -h, --help                this text\n"
                "\n"
                "Examples:\n"
                "  pgimg migration-test 15 18 pg_upgrade --link\n"
                "  pgimg migration-test 17.9 17.11 restart\n"
                "  pgimg migration-test 15 18 pg_upgrade --platform linux/arm64\n"
                "  pgimg migration-test old-pg15.tar \"postgres-18 --with pgvector\" pg_dumpall\n");
}

struct side {
        char *spec;             /* "postgres-15" or a path */
        int is_path;
        char **with, **sets;
        size_t n_with, n_sets;
        char *rootfs, *volume, *label;
        char *arch;             /* its Debian architecture */
        char **env;
};

static void
side_free (struct side *s)
{
        free (s->spec);
        strv_free (s->with);
        strv_free (s->sets);
        free (s->rootfs);
        free (s->volume);
        free (s->label);
        free (s->arch);
        strv_free (s->env);
}

/* "15", "15.17", "postgres-17 --with a,b --set full", or a path. */
static int
side_parse (const char *arg, struct side *s, pgimg_error_t *err)
{
        cleanup_free char *copy = strdup (arg);
        char *save = NULL, *tok;

        if (copy == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        tok = strtok_r (copy, " \t", &save);
        if (tok == NULL)
                return cli_usage_error (err, "migration-test", "an empty image");
        s->is_path = strchr (tok, '/') != NULL || fs_exists (tok);
        if (s->is_path || strncmp (tok, "postgres-", 9) == 0)
                s->spec = strdup (tok);
        else if (tok[0] >= '0' && tok[0] <= '9' && asprintf (&s->spec, "postgres-%s", tok) < 0)
                s->spec = NULL;
        else if (!(tok[0] >= '0' && tok[0] <= '9'))
                return cli_usage_error (err, "migration-test",
                                        "`%s` is neither a version (15, 15.17, postgres-17) nor an image file or directory", tok);
        if (s->spec == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        while ((tok = strtok_r (NULL, " \t", &save)) != NULL) {
                char *val = strtok_r (NULL, " \t", &save);
                int r;
                if (val == NULL || (strcmp (tok, "--with") != 0 && strcmp (tok, "--set") != 0))
                        return cli_usage_error (err, "migration-test", "in `%s`: expected --with LIST or --set NAME after the version", arg);
                if (s->is_path)
                        return cli_usage_error (err, "migration-test", "in `%s`: an image file has its extensions already", arg);
                r = strcmp (tok, "--with") == 0 ? cli_strv_split (val, &s->with, &s->n_with)
                                                 : cli_strv_split (val, &s->sets, &s->n_sets);
                if (r < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        }
        return 0;
}

/* An image file of another platform than --platform (arch, NULL when
 * not given) asks for: refused before its layers are unpacked. */
static int
side_platform (const struct side *s, const char *arch, pgimg_error_t *err)
{
        if (arch == NULL || strcmp (s->arch, arch) == 0)
                return 0;
        return pgimg_make_error (err, EINVAL, "`%s` is an image for linux/%s, not --platform linux/%s: build it for "
                                 "that platform or leave out --platform", s->spec, s->arch, arch);
}

static int
side_open (struct pgimg_ctx *ctx, struct side *s, const struct side *both, int jobs, const char *arch,
           struct mig_image *img, pgimg_error_t *err)
{
        const char *major, *version;
        long m;
        int r;

        if (s->is_path) {
                r = cli_image_from_path (ctx, s->spec, &s->rootfs, &s->env, &s->volume, &s->arch, err);
                if (r == 0)
                        r = side_platform (s, arch, err);
        } else {
                struct pipeline_opts po;
                cli_pipeline_opts (ctx, s->spec, NULL, &po);
                po.jobs = jobs;
                po.arch = arch;
                if ((s->arch = strdup (arch ? arch : "amd64")) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "migration-test");
                if (s->n_with || s->n_sets) {
                        po.with = (const char *const *) s->with;
                        po.sets = (const char *const *) s->sets;
                } else {
                        po.with = (const char *const *) both->with;
                        po.sets = (const char *const *) both->sets;
                }
                r = cli_image_from_spec (ctx, &po, &s->rootfs, &s->env, &s->volume, err);
        }
        if (r < 0)
                return pgimg_error_wrap (err, "image %s", s->spec);
        major = runtime_env_get ((const char *const *) s->env, "PG_MAJOR");
        version = runtime_env_get ((const char *const *) s->env, "PG_VERSION");
        if (major == NULL || version == NULL)
                return pgimg_make_error (err, EINVAL, "image %s: its config has no PG_MAJOR and PG_VERSION: not a pgimg image",
                                         s->spec);
        if (asprintf (&s->label, "postgres-%s", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        img->label = s->label;
        img->rootfs = s->rootfs;
        img->env = (const char *const *) s->env;
        /* The image says which major it is: a number, checked, as it
         * names directories (/usr/lib/postgresql/MAJOR) and the method. */
        if (number_parse_long (major, 1, 999, &m) < 0)
                return pgimg_make_error (err, EINVAL, "image %s: its config's PG_MAJOR is not a major version "
                                         "(a number from 1 to 999): not a pgimg image", s->spec);
        img->major = (int) m;
        img->version = version;
        return 0;
}

/* What the recipes say about each CREATE EXTENSION name, for an upgrade
 * to NEW's major: the names of those that say "update": "recreate",
 * their "migration" steps, and why NEW's major cannot have one.  The
 * strings point into the recipes, which live as long as this. */
struct recipe_facts {
        struct ext_recipe *v;
        size_t n;
        char **recreate;
        struct mig_ext *exts;
        size_t n_exts;
        char major[16];
};

static void
recipe_facts_free (struct recipe_facts *f)
{
        ext_recipes_free (f->v, f->n);
        strv_free (f->recreate);
        free (f->exts);
}

static int
recipe_facts_load (struct pgimg_ctx *ctx, int new_major, struct recipe_facts *f, pgimg_error_t *err)
{
        cleanup_free char *dir = cli_data_path (ctx, "extensions");
        size_t k = 0, total = 0;

        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        if (ext_recipe_load_all (dir, &f->v, &f->n, err) < 0)
                return -1;
        snprintf (f->major, sizeof (f->major), "%d", new_major);
        for (size_t i = 0; i < f->n; i++)
                for (char **x = f->v[i].extensions; x && *x; x++)
                        total++;
        if ((f->exts = calloc (total + 1, sizeof (*f->exts))) == NULL
            || (f->recreate = calloc (total + 1, sizeof (char *))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        for (size_t i = 0; i < f->n; i++) {
                const struct ext_recipe *r = &f->v[i];
                const struct ext_version *v;
                pgimg_error_t why = NULL;
                const char *not_in_new = NULL;
                if (ext_recipe_pick (r, NULL, f->major, &v, &why) < 0) {
                        not_in_new = ext_recipe_unsupported (r, f->major);
                        if (not_in_new == NULL)
                                not_in_new = "no version of its recipe builds for NEW's major";
                }
                pgimg_error_free (&why);
                for (size_t j = 0; r->extensions[j]; j++) {
                        struct mig_ext *e = &f->exts[f->n_exts++];
                        e->name = r->extensions[j];
                        e->not_in_new = not_in_new;
                        if (j == 0) {
                                e->before_restore = r->mig_before_restore;
                                e->after_restore = r->mig_after_restore;
                                e->after_upgrade = r->mig_after_upgrade;
                                e->same_version = r->mig_same_version;
                                e->dump_loses = (const char *const *) r->mig_dump_loses;
                                e->dump_loses_why = r->mig_dump_loses_why;
                                e->restore_settings = (const char *const *) r->mig_restore_settings;
                                e->no_statistics = r->mig_no_statistics;
                                e->restore_old_version = r->mig_restore_old_version;
                        }
                        if (r->update_recreate && (f->recreate[k++] = strdup (r->extensions[j])) == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
                }
        }
        return 0;
}

static void
on_signal (int sig)
{
        mig_interrupt (sig);
}

static int
install_signals (void)
{
        struct sigaction sa;
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        memset (&sa, 0, sizeof (sa));
        sa.sa_handler = on_signal;
        sigemptyset (&sa.sa_mask);
        for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
                if (sigaction (sigs[i], &sa, NULL) < 0)
                        return -1;
        return 0;
}

static int
write_results (const char *path, const struct mig_opts *o, const struct mig_report *r, const char *reason,
               pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_fd int fd = -1;
        cleanup_free char *clean = strdup (reason ? reason : "");

        if (clean == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "results");
        for (char *p = clean; *p; p++)
                if (*p == '\t' || *p == '\n')
                        *p = ' ';
        if (buf_addf (&b, "%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%llu\t%zu\t%s\t%s\t%s\t%s\t%s\t%s\n", o->old_img.version,
                      o->new_img.version, mig_method_name (o->method),
                      o->method == MIG_PG_UPGRADE ? mig_mode_name (o->mode) : "-", reason ? "failed" : "passed",
                      r->seconds, r->upgrade_seconds, r->rows, r->tables, r->updates.len ? r->updates.data : "-",
                      clean, r->carried.len ? r->carried.data : "-", r->skipped.len ? r->skipped.data : "-",
                      r->only_new.len ? r->only_new.data : "-", r->fixtures.len ? r->fixtures.data : "-") < 0)
                return pgimg_make_error_errno (err, ENOMEM, "results");
        if ((fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "open %s", path);
        if (fs_write_all (fd, b.data, b.len) < 0)
                return pgimg_make_error_errno (err, errno, "write %s", path);
        return 0;
}

static void
print_report (const struct mig_opts *o, const struct mig_report *r, int ok)
{
        double mbs = r->fingerprint_seconds > 0 ? (double) r->db_bytes / 1048576.0 / r->fingerprint_seconds : 0;

        printf ("%s %s -> %s %s%s%s%s: %s in %.1f s\n", ok ? "ok" : "FAILED", o->old_img.version, o->new_img.version,
                mig_method_name (o->method), o->method == MIG_PG_UPGRADE ? " (" : "",
                o->method == MIG_PG_UPGRADE ? mig_mode_name (o->mode) : "", o->method == MIG_PG_UPGRADE ? ")" : "",
                ok ? "nothing lost" : "differences", r->seconds);
        printf ("  verified: %zu tables, %llu rows, %zu facts (sequences, large objects, roles, privileges, "
                "extensions, index scans) and the schema; %.1f MB of data\n",
                r->tables, r->rows, r->facts, (double) r->db_bytes / 1048576.0);
        printf ("  times: load %.1f s, %s %.1f s, fingerprint %.1f s (%.0f MB/s)\n", r->load_seconds,
                mig_method_name (o->method), r->upgrade_seconds, r->fingerprint_seconds, mbs);
        if (r->updates.len)
                printf ("  extensions updated: %s\n", r->updates.data);
        if (r->ext_changed)
                printf ("  tables the updates changed or added, no row lost: %zu\n", r->ext_changed);
        if (r->skipped.len)
                printf ("  not created in OLD: %s\n", r->skipped.data);
        if (r->not_preloaded.len)
                printf ("  OLD's preload libraries NEW lacks, not carried: %s\n", r->not_preloaded.data);
        if (r->only_new.len)
                printf ("  only in NEW (OLD lacks them): %s\n", r->only_new.data);
        if (r->fixtures.len)
                printf ("  extension fixtures loaded: %s\n", r->fixtures.data);
        if (r->no_statistics.len)
                printf ("  pg_upgrade without planner statistics (ANALYZE made them): %s\n", r->no_statistics.data);
        if (r->old_version.len)
                printf ("  restored at OLD's version, then updated: %s\n", r->old_version.data);
        if (r->dump_lost.len)
                printf ("  left empty by the dump, as the recipes say: %s\n", r->dump_lost.data);
        if (r->carried.len)
                printf ("  extensions in NEW: %s\n", r->carried.data);
        if (r->old_data && r->old_files)
                printf ("  old data directory: %s (%zu files compared)\n", r->old_data, r->old_files);
        else if (r->old_data)
                printf ("  old data directory: %s\n", r->old_data);
}

/* The log outlives the work directory: <cache>/logs/migration-OLD-NEW-METHOD.log. */
static char *
keep_log (const struct pgimg_ctx *ctx, const char *work, const struct mig_opts *o)
{
        cleanup_free char *src = NULL;
        cleanup_free char *dir = NULL;
        char *dst = NULL;
        pgimg_error_t ignored = NULL;

        if (asprintf (&src, "%s/out/migration.log", work) < 0 || asprintf (&dir, "%s/logs", ctx->cache_dir) < 0
            || asprintf (&dst, "%s/migration-%s-%s-%s.log", dir, o->old_img.version, o->new_img.version,
                         mig_method_name (o->method)) < 0)
                return NULL;
        if (!fs_exists (src) || fs_mkdir_p (dir, 0755, &ignored) < 0 || fs_copy_file (src, dst, &ignored) < 0) {
                pgimg_error_free (&ignored);
                free (dst);
                return NULL;
        }
        return dst;
}

static const struct option opts[] = {
        { "check", no_argument, NULL, 'k' },
        { "clone", no_argument, NULL, 'c' },
        { "data", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' },
        { "jobs", required_argument, NULL, 'j' },
        { "keep", required_argument, NULL, 'K' },
        { "link", no_argument, NULL, 'l' },
        { "platform", required_argument, NULL, 'A' },
        { "results", required_argument, NULL, 'R' },
        { "scale", required_argument, NULL, 's' },
        { "set", required_argument, NULL, 'S' },
        { "with", required_argument, NULL, 'w' },
        { NULL, 0, NULL, 0 },
};

/* What the command line asks for, beside the test's own options. */
struct mig_args {
        struct side old_side, new_side, both;
        const char *keep, *results, *data_arg;
        const char *arch;       /* --platform: "amd64", "arm64", or NULL */
        int jobs;
};

static void
mig_args_free (struct mig_args *a)
{
        side_free (&a->old_side);
        side_free (&a->new_side);
        side_free (&a->both);
}

static int
parse_method (const char *s, struct mig_opts *o, pgimg_error_t *err)
{
        if (strcmp (s, "pg_upgrade") == 0)
                o->method = MIG_PG_UPGRADE;
        else if (strcmp (s, "pg_dumpall") == 0)
                o->method = MIG_PG_DUMPALL;
        else if (strcmp (s, "restart") == 0)
                o->method = MIG_RESTART;
        else
                return cli_usage_error (err, "migration-test", "unknown method `%s` (pg_upgrade, pg_dumpall, restart)", s);
        if (o->method != MIG_PG_UPGRADE && (o->mode != MIG_COPY || o->check_only))
                return cli_usage_error (err, "migration-test", "--link, --clone and --check are pg_upgrade's");
        return 0;
}

/* The options and OLD NEW METHOD into o and a; 1 when --help was printed. */
static int
parse_mig_args (struct pgimg_ctx *ctx, int argc, char **argv, struct mig_opts *o, struct mig_args *a,
                pgimg_error_t *err)
{
        cleanup_image_opts struct cli_image_opts io = CLI_IMAGE_OPTS_INIT;
        int c, taken;

        while ((c = cli_getopt (ctx, argc, argv, "hj:", opts)) != -1) {
                if ((taken = cli_image_option ("migration-test", c, optarg, &io, err)) != 0) {
                        if (taken < 0)
                                return taken;
                        continue;
                }
                switch (c) {
                case 'A':
                        if (cli_platform_one ("migration-test", optarg, &a->arch, err) < 0)
                                return -1;
                        break;
                case 'k':
                        o->check_only = 1;
                        break;
                case 'c':
                        o->mode = MIG_CLONE;
                        break;
                case 'l':
                        o->mode = MIG_LINK;
                        break;
                case 'D':
                        a->data_arg = optarg;
                        break;
                case 'h':
                        help ();
                        return 1;
                case 'K':
                        a->keep = optarg;
                        break;
                case 'R':
                        a->results = optarg;
                        break;
                case 's':
                        if (cli_parse_int (err, "migration-test", "--scale", optarg, 1, 100000, &o->scale) < 0)
                                return -1;
                        break;
                default:
                        return cli_option_error (err, "migration-test");
                }
        }
        if (io.jobs)
                a->jobs = io.jobs;
        a->both.with = steal_pointer (&io.with);
        a->both.n_with = io.n_with;
        a->both.sets = steal_pointer (&io.sets);
        a->both.n_sets = io.n_sets;
        if (argc - optind != 3)
                return cli_usage_error (err, "migration-test", "expected OLD NEW METHOD, like: 15 18 pg_upgrade");
        if (parse_method (argv[optind + 2], o, err) < 0)
                return -1;
        o->jobs = a->jobs;
        if (a->both.n_with == 0 && a->both.n_sets == 0
            && cli_strv_split ("default", &a->both.sets, &a->both.n_sets) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        return 0;
}

/* The test's files under <data>/tests/, the data set --data names. */
struct mig_files {
        char *conf, *prime, *data, *fp, *masks, *fact_masks;
};

static void
mig_files_free (struct mig_files *f)
{
        free (f->conf);
        free (f->prime);
        free (f->data);
        free (f->fp);
        free (f->masks);
        free (f->fact_masks);
}

static int
mig_files_init (struct pgimg_ctx *ctx, const char *data_arg, struct mig_files *f, struct mig_opts *o,
                pgimg_error_t *err)
{
        if ((f->conf = cli_data_path (ctx, "tests/postgresql.conf")) == NULL
            || (f->prime = cli_data_path (ctx, "tests/prime.sql")) == NULL
            || (f->fp = cli_data_path (ctx, "tests/migrations/fingerprint.sql")) == NULL
            || (f->masks = cli_data_path (ctx, "tests/migrations/schema-masks.txt")) == NULL
            || (f->fact_masks = cli_data_path (ctx, "tests/migrations/fact-masks.txt")) == NULL
            || (f->data = data_arg ? strdup (data_arg) : cli_data_path (ctx, "tests/migrations/data.sql")) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "migration-test");
        if (!fs_exists (f->data))
                return pgimg_make_error (err, ENOENT, "no data set to migrate: %s does not exist (pass --data FILE)",
                                         f->data);
        o->conf_file = f->conf;
        o->prime_file = f->prime;
        o->data_file = f->data;
        o->fingerprint_file = f->fp;
        o->masks_file = fs_exists (f->masks) ? f->masks : NULL;
        o->fact_masks_file = fs_exists (f->fact_masks) ? f->fact_masks : NULL;
        return 0;
}

/* --keep DIR, or a scratch directory of the cache, into *work. */
static int
mig_work_dir (struct pgimg_ctx *ctx, const char *keep, char **work, pgimg_error_t *err)
{
        if (keep) {
                if (fs_mkdir_p (keep, 0755, err) < 0)
                        return -1;
                if ((*work = realpath (keep, NULL)) == NULL)
                        return pgimg_make_error_errno (err, errno, "--keep %s", keep);
        } else if (fs_work_dir (ctx->cache_dir, "migrate", work, err) < 0) {
                return -1;
        }
        /* The servers' sockets are made there; a Unix socket's path has 107 bytes. */
        if (strlen (*work) + sizeof ("/sock/.s.PGSQL.5433") > 107)
                return pgimg_make_error (err, ENAMETOOLONG, "work directory %s: too long a path for the servers' sockets",
                                         *work);
        return 0;
}

/* Report the run that returned r: what was verified or the differences,
 * pg_upgrade's words, the results file, the log; then drop the work
 * directory unless kept.  Returns the command's status. */
static int
mig_finish (struct pgimg_ctx *ctx, const struct mig_opts *o, struct mig_report *rep, int r,
            const struct mig_args *a, const char *work, pgimg_error_t *err)
{
        cleanup_free char *log = NULL;

        if (r == 0 && o->check_only) {
                printf ("ok %s -> %s: pg_upgrade --check passed\n", o->old_img.version, o->new_img.version);
        } else if (r == 0 || rep->diffs) {
                print_report (o, rep, r == 0);
                fflush (stdout);
                if (rep->differences.len)
                        fprintf (stderr, "differences:\n%s", rep->differences.data);
        }
        if (rep->check_output.len)
                fprintf (stderr, "pg_upgrade --check says:\n%s\n", rep->check_output.data);
        if (r < 0 && rep->interrupted && rep->old_data)
                fprintf (stderr, "pgimg: interrupted; the old data directory is %s (%zu files compared)\n",
                         rep->old_data, rep->old_files);
        if (a->results && !o->check_only) {
                pgimg_error_t ignored = NULL;
                if (write_results (a->results, o, rep, r < 0 && *err ? (*err)->msg : NULL, r < 0 ? &ignored : err) < 0
                    && r == 0)
                        r = -1;
                pgimg_error_free (&ignored);
        }
        if (r < 0 && (log = keep_log (ctx, work, o)) != NULL)
                fprintf (stderr, "pgimg: migration-test: the log is %s\n", log);
        mig_report_free (rep);
        if (a->keep)
                progress_note ("kept %s", work);
        else
                fs_drop_temp_dir (work);
        if (r < 0 && rep->interrupted) {
                fprintf (stderr, "pgimg: migration-test: %s\n", (*err)->msg);
                pgimg_error_free (err);
                r = 128 + rep->interrupted;
        }
        return r;
}

/* pg_upgrade runs OLD's programs beside NEW's on one data directory:
 * the two images must be of one platform. */
static int
both_one_platform (const struct mig_args *a, pgimg_error_t *err)
{
        if (strcmp (a->old_side.arch, a->new_side.arch) == 0)
                return 0;
        return pgimg_make_error (err, EINVAL, "OLD (%s) is an image for linux/%s and NEW (%s) for linux/%s: migrate "
                                 "between images of one platform (--platform)", a->old_side.spec, a->old_side.arch,
                                 a->new_side.spec, a->new_side.arch);
}

int
cmd_migration_test (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        __attribute__ ((cleanup (mig_args_free))) struct mig_args a = { .jobs = 2 };
        __attribute__ ((cleanup (mig_files_free))) struct mig_files files = { 0 };
        struct mig_opts o = { .scale = 1, .mode = MIG_COPY };
        struct mig_report rep;
        cleanup_free char *work = NULL;
        __attribute__ ((cleanup (recipe_facts_free))) struct recipe_facts facts = { 0 };
        cleanup_free char *fixtures = NULL;
        int r;

        if ((r = parse_mig_args (ctx, argc, argv, &o, &a, err)) != 0)
                return r < 0 ? r : 0;
        /* Before anything else: images that could not run here. */
        if (a.arch != NULL && platform_runnable (a.arch, "migration-test --platform linux/arm64", NULL, err) < 0)
                return -1;
        if (side_parse (argv[optind], &a.old_side, err) < 0 || side_parse (argv[optind + 1], &a.new_side, err) < 0
            || mig_files_init (ctx, a.data_arg, &files, &o, err) < 0)
                return pgimg_error_wrap (err, "migration-test");
        progress_set_quiet (ctx->quiet);
        fetch_set_quiet (ctx->quiet);
        if (fs_mkdir_p (ctx->cache_dir, 0755, err) < 0
            || side_open (ctx, &a.old_side, &a.both, a.jobs, a.arch, &o.old_img, err) < 0
            || side_open (ctx, &a.new_side, &a.both, a.jobs, a.arch, &o.new_img, err) < 0
            || both_one_platform (&a, err) < 0
            || mig_validate (&o, err) < 0 || mig_work_dir (ctx, a.keep, &work, err) < 0)
                return pgimg_error_wrap (err, "migration-test");
        o.work_dir = work;
        if (recipe_facts_load (ctx, o.new_img.major, &facts, err) < 0)
                return pgimg_error_wrap (err, "migration-test");
        o.recreate = (const char *const *) facts.recreate;
        o.exts = facts.exts;
        o.n_exts = facts.n_exts;
        if ((fixtures = cli_data_path (ctx, "tests/migrations/extensions")) == NULL)
                return pgimg_error_wrap (err, "migration-test");
        o.fixtures_dir = fixtures;
        if (install_signals () < 0) {
                pgimg_make_error_errno (err, errno, "sigaction");
                return pgimg_error_wrap (err, "migration-test");
        }
        progress_note ("migration test %s -> %s by %s (work: %s)", o.old_img.label, o.new_img.label,
                       mig_method_name (o.method), work);
        r = mig_run (&o, &rep, err);
        r = mig_finish (ctx, &o, &rep, r, &a, work, err);
        if (r < 0)
                return pgimg_error_wrap (err, "migration-test");
        return r;
}
