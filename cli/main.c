/* main.c - option parsing common to every command, and the command table. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

#ifndef PGIMG_DATADIR
#define PGIMG_DATADIR "/usr/local/share/pgimg"
#endif
#ifndef PGIMG_VERSION
#define PGIMG_VERSION "0.1.0"
#endif

static const struct command {
        const char *name;
        cmd_fn fn;
        const char *summary;
} commands[] = {
        { "build", cmd_build, "build a PostgreSQL image" },
        { "key", cmd_key, "make a key pair that signs pushed images" },
        { "layer", cmd_layer, "turn a directory into a reproducible layer" },
        { "list", cmd_list, "show what can be built" },
        { "lock", cmd_lock, "resolve Debian packages into the lock file" },
        { "matrix", cmd_matrix, "write the extension matrix from test results" },
        { "migration-test", cmd_migration_test, "prove that an upgrade between two builds loses nothing" },
        { "pull", cmd_pull, "fetch an image from a registry or S3" },
        { "push", cmd_push, "send an image to a registry or S3" },
        { "psql", cmd_psql, "connect to a server started with `pgimg run`" },
        { "run", cmd_run, "start an image in pgimg's rootless runtime" },
        { "sandbox", cmd_sandbox, "run a command in a build sandbox" },
        { "stop", cmd_stop, "shut down a server started with `pgimg run -d`" },
        { "test", cmd_test, "run the extensions' smoke tests in a container" },
};

static void
usage (FILE *f)
{
        fprintf (f, "usage: pgimg [--cache-dir DIR] [-q] COMMAND [ARGS]\n\ncommands:\n");
        for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
                fprintf (f, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf (f, "\n--cache-dir and -q may also follow COMMAND.  `pgimg COMMAND --help` for a\n"
                    "command's options.  Example:\n"
                    "  pgimg build postgres-18 -o pg18.tar && docker load -i pg18.tar\n");
}

/* The directory holding versions/: $PGIMG_DATA_DIR, else next to the
 * executable (a source checkout), else the installed data directory. */
static char *
find_data_dir (void)
{
        const char *env = getenv ("PGIMG_DATA_DIR");
        char exe[PATH_MAX];
        ssize_t n;

        if (env && *env)
                return strdup (env);
        n = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
        if (n > 0) {
                cleanup_free char *probe = NULL;
                exe[n] = '\0';
                char *dir = dirname (exe);
                if (asprintf (&probe, "%s/versions", dir) >= 0 && fs_exists (probe))
                        return strdup (dir);
                free (probe);
                probe = NULL;
                /* build/pgimg inside a checkout */
                if (asprintf (&probe, "%s/../versions", dir) >= 0 && fs_exists (probe)) {
                        char *up = NULL;
                        if (asprintf (&up, "%s/..", dir) < 0)
                                return NULL;
                        return up;
                }
        }
        return strdup (PGIMG_DATADIR);
}

static char *
default_cache_dir (void)
{
        const char *env = getenv ("PGIMG_CACHE_DIR");
        const char *xdg = getenv ("XDG_CACHE_HOME");
        const char *home = getenv ("HOME");
        char *p = NULL;

        if (env && *env)
                return strdup (env);
        if (xdg && *xdg)
                return asprintf (&p, "%s/pgimg", xdg) < 0 ? NULL : p;
        if (home && *home)
                return asprintf (&p, "%s/.cache/pgimg", home) < 0 ? NULL : p;
        return strdup ("/var/cache/pgimg");
}

int
main (int argc, char **argv)
{
        static const struct option opts[] = {
                { "cache-dir", required_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                { "quiet", no_argument, NULL, 'q' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        cleanup_free char *cache_dir = NULL;
        cleanup_free char *data_dir = NULL;
        struct pgimg_ctx ctx = { 0 };
        pgimg_error_t err = NULL;
        int c, ret;

        /* '+': stop at the command name; its options are its own. */
        while ((c = getopt_long (argc, argv, "+C:hqV", opts, NULL)) != -1) {
                switch (c) {
                case 'C':
                        free (cache_dir);
                        cache_dir = strdup (optarg);
                        break;
                case 'h':
                        usage (stdout);
                        return 0;
                case 'q':
                        ctx.quiet = 1;
                        break;
                case 'V':
                        printf ("pgimg %s\n", PGIMG_VERSION);
                        return 0;
                default:
                        usage (stderr);
                        return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                usage (stderr);
                return EXIT_USAGE;
        }
        if (cache_dir == NULL)
                cache_dir = default_cache_dir ();
        data_dir = find_data_dir ();
        if (cache_dir == NULL || data_dir == NULL) {
                fprintf (stderr, "pgimg: out of memory\n");
                return 1;
        }
        ctx.cache_dir = cache_dir;
        ctx.data_dir = data_dir;
        if (fs_install_signal_cleanup (&err) < 0) {
                fprintf (stderr, "pgimg: %s\n", err->msg);
                pgimg_error_free (&err);
                return 1;
        }

        for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++) {
                if (strcmp (argv[optind], commands[i].name) != 0)
                        continue;
                /* The command sees argv[0] = its name; getopt restarts. */
                optind++;
                int sub_argc = argc - optind + 1;
                char **sub_argv = argv + optind - 1;
                optind = 0;
                ret = commands[i].fn (&ctx, sub_argc, sub_argv, &err);
                if (ret >= 0)
                        return ret; /* `pgimg sandbox`: its command's status */
                /* A full disk met where no path was at hand still says
                 * what to do, unless the message does already. */
                if (err && fs_is_disk_full (err->status) && strstr (err->msg, "free") == NULL)
                        fprintf (stderr, "pgimg: %s (the disk is full: free space or point --cache-dir / -o elsewhere)\n",
                                 err->msg);
                else
                        fprintf (stderr, "pgimg: %s\n", err ? err->msg : "failed");
                ret = err && err->status == CLI_USAGE_STATUS ? EXIT_USAGE : 1;
                pgimg_error_free (&err);
                return ret;
        }
        fprintf (stderr, "pgimg: unknown command `%s` (see `pgimg --help`)\n", argv[optind]);
        return EXIT_USAGE;
}
