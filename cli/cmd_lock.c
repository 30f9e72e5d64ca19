/* cmd_lock.c - `pgimg lock`: resolve the Debian package sets. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/extension.h"
#include "builder/lock.h"
#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

static void
lock_usage (FILE *f)
{
        fprintf (f, "usage: pgimg lock [--update] [--input FILE] [--output FILE]\n"
                    "\n"
                    "Resolve the package sets of the lock input against the Debian archive\n"
                    "(InRelease checked with gpgv) and write the lock file.  Versions already\n"
                    "in the lock are kept while the archive still has them, unless --update.\n"
                    "\n"
                    "  -i, --input FILE   lock input (default: <data>/lock/packages.json)\n"
                    "  -o, --output FILE  lock file (default: <data>/lock/trixie-amd64.lock.json)\n"
                    "  -u, --update       resolve every package afresh\n"
                    "  -h, --help         this text\n"
                    "\n"
                    "Example:\n"
                    "  pgimg lock --update && git diff lock/\n");
}

static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "input", required_argument, NULL, 'i' },
        { "output", required_argument, NULL, 'o' },
        { "update", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
};

/* Resolve input into output, with each extension's packages as sets of
 * their own, so that one recipe's change leaves the others' layers
 * alone (unless the input says "extensions": false). */
static int
lock_with_extensions (struct pgimg_ctx *ctx, const char *input, const char *output, int update,
                      pgimg_error_t *err)
{
        cleanup_free char *ext_dir = cli_data_path (ctx, "extensions");
        struct ext_recipe *exts = NULL;
        size_t n_exts = 0, n_req = 0;
        int wanted = 1;

        if (ext_dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        if (lock_input_wants_extensions (input, &wanted, err) < 0)
                return -1;
        if (!wanted)
                return lock_update (input, NULL, 0, output, ctx->cache_dir, update, err);
        if (fs_exists (ext_dir) && ext_recipe_load_all (ext_dir, &exts, &n_exts, err) < 0)
                return -1;
        struct lock_request *req = calloc (2 * n_exts + 1, sizeof (*req));
        char **names = calloc (2 * n_exts + 1, sizeof (char *));
        int rc = req && names ? 0 : pgimg_make_error_errno (err, ENOMEM, "lock");
        for (size_t i = 0; rc == 0 && i < n_exts; i++) {
                char *b, *r;
                if ((rc = extension_set_names (&exts[i], &b, &r, err)) < 0)
                        break;
                names[2 * i] = b;
                names[2 * i + 1] = r;
                if (exts[i].build_packages[0])
                        req[n_req++] = (struct lock_request) { b, (const char *const *) exts[i].build_packages };
                if (exts[i].runtime_packages[0])
                        req[n_req++] = (struct lock_request) { r, (const char *const *) exts[i].runtime_packages };
        }
        if (rc == 0)
                rc = lock_update (input, req, n_req, output, ctx->cache_dir, update, err);
        for (size_t i = 0; names && i < 2 * n_exts; i++)
                free (names[i]);
        free (names);
        free (req);
        ext_recipes_free (exts, n_exts);
        return rc;
}

/* Read the lock at path back and, unless quiet, print its summary:
 * what a build sees. */
static int
print_summary (const char *path, int quiet, pgimg_error_t *err)
{
        struct lock lock;

        if (lock_load (path, &lock, err) < 0)
                return -1;
        if (quiet) {
                lock_free (&lock);
                return 0;
        }
        fprintf (stderr, "locked %zu packages in %zu sets", lock.n_pkgs, lock.n_sets);
        for (size_t i = 0; i < lock.n_sets; i++) {
                uint64_t bytes = 0;
                for (size_t j = 0; j < lock.sets[i].n; j++)
                        bytes += lock_find (&lock, lock.sets[i].packages[j])->size;
                fprintf (stderr, "%s %s: %zu (%.1f MB)", i ? "," : ";", lock.sets[i].name, lock.sets[i].n,
                         bytes / 1e6);
        }
        fprintf (stderr, "\n");
        lock_free (&lock);
        return 0;
}

int
cmd_lock (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        cleanup_free char *input = NULL;
        cleanup_free char *output = NULL;
        int update = 0, c;

        while ((c = cli_getopt (ctx, argc, argv, ":hi:o:u", opts)) != -1) {
                switch (c) {
                case 'h':
                        lock_usage (stdout);
                        return 0;
                case 'i':
                        free (input);
                        input = strdup (optarg);
                        break;
                case 'o':
                        free (output);
                        output = strdup (optarg);
                        break;
                case 'u':
                        update = 1;
                        break;
                default:
                        return cli_option_error (err, "lock");
                }
        }
        if (optind < argc)
                return cli_usage_error (err, "lock", "unexpected argument `%s`", argv[optind]);
        if (input == NULL)
                input = cli_data_path (ctx, "lock/packages.json");
        if (output == NULL)
                output = cli_data_path (ctx, "lock/trixie-amd64.lock.json");
        if (input == NULL || output == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        if (lock_with_extensions (ctx, input, output, update, err) < 0)
                return pgimg_error_wrap (err, "lock");
        if (print_summary (output, ctx->quiet, err) < 0)
                return pgimg_error_wrap (err, "lock");
        return 0;
}
