/* cmd_sandbox.c - `pgimg sandbox`: run one command in a build sandbox,
 * to debug a step by hand and for the integration tests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "cli/cli.h"
#include "common/cleanup.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void
usage (FILE *f)
{
        fprintf (f,
                 "usage: pgimg sandbox --root DIR [OPTIONS] -- COMMAND [ARGS]\n"
                 "\n"
                 "Run COMMAND as root in new namespaces, with DIR as a read-only /,\n"
                 "private /proc, /dev and /tmp, only loopback networking.  pgimg exits\n"
                 "with COMMAND's status (128 + N when it died of signal N).\n"
                 "\n"
                 "  -b, --bind SRC:DEST     bind host SRC at DEST, read-only (repeatable)\n"
                 "  -w, --bind-rw SRC:DEST  the same, writable\n"
                 "  -C, --cwd DIR           working directory inside (default /)\n"
                 "  -e, --env K=V           set a variable; the environment is only\n"
                 "                          these and PATH (default %s)\n"
                 "  -h, --help              this text\n"
                 "  -H, --hostname NAME     (default pgimg)\n"
                 "  -r, --root DIR          the root directory (required)\n"
                 "\n"
                 "Example:\n"
                 "  pgimg sandbox --root ./rootfs --bind-rw ./out:/out -- sh -c 'id > /out/id'\n",
                 DEFAULT_PATH + 5);
}

struct sandbox_args {
        struct sandbox_bind *binds;
        size_t n_binds;
        const char **envp;      /* NULL-terminated; the strings are argv's */
        size_t n_env;
};

static void
sandbox_args_free (struct sandbox_args *a)
{
        free (a->binds);
        free (a->envp);
}

static int
add_bind (struct sandbox_args *a, char *spec, int writable, pgimg_error_t *err)
{
        char *colon = strrchr (spec, ':');
        struct sandbox_bind *v;

        if (colon == NULL || colon == spec || colon[1] != '/')
                return cli_usage_error (err, "sandbox", "--bind wants SRC:/DEST, got `%s`", spec);
        v = realloc (a->binds, (a->n_binds + 1) * sizeof (*v));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        a->binds = v;
        *colon = '\0'; /* argv is ours to cut */
        v[a->n_binds++] = (struct sandbox_bind) { spec, colon + 1, writable };
        return 0;
}

/* A later K=V replaces an earlier one with the same K, PATH included. */
static int
add_env (struct sandbox_args *a, const char *kv, pgimg_error_t *err)
{
        const char *eq = strchr (kv, '=');
        const char **v;

        if (eq == NULL || eq == kv)
                return cli_usage_error (err, "sandbox", "--env wants K=V, got `%s`", kv);
        for (size_t i = 0; i < a->n_env; i++)
                if (strncmp (a->envp[i], kv, (size_t) (eq - kv + 1)) == 0) {
                        a->envp[i] = kv;
                        return 0;
                }
        v = realloc (a->envp, (a->n_env + 2) * sizeof (*v));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        a->envp = v;
        v[a->n_env++] = kv;
        v[a->n_env] = NULL;
        return 0;
}

int
cmd_sandbox (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "bind", required_argument, NULL, 'b' },
                { "bind-rw", required_argument, NULL, 'w' },
                { "cwd", required_argument, NULL, 'C' },
                { "env", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "hostname", required_argument, NULL, 'H' },
                { "root", required_argument, NULL, 'r' },
                { NULL, 0, NULL, 0 },
        };
        struct sandbox_args a __attribute__ ((cleanup (sandbox_args_free))) = { 0 };
        struct sandbox_opts so = { .stdout_fd = STDOUT_FILENO, .stderr_fd = STDERR_FILENO };
        int c, exit_code;

        if (add_env (&a, DEFAULT_PATH, err) < 0)
                return -1;
        /* '+': the command's own options start at the first non-option. */
        while ((c = cli_getopt (ctx, argc, argv, "+b:C:e:hH:r:w:", opts)) != -1) {
                switch (c) {
                case 'b':
                case 'w':
                        if (add_bind (&a, optarg, c == 'w', err) < 0)
                                return -1;
                        break;
                case 'C':
                        so.cwd = optarg;
                        break;
                case 'e':
                        if (add_env (&a, optarg, err) < 0)
                                return -1;
                        break;
                case 'h':
                        usage (stdout);
                        return 0;
                case 'H':
                        so.hostname = optarg;
                        break;
                case 'r':
                        so.root_dir = optarg;
                        break;
                default:
                        return cli_option_error (err, "sandbox");
                }
        }
        if (so.root_dir == NULL)
                return cli_usage_error (err, "sandbox", "--root DIR is required");
        if (optind >= argc)
                return cli_usage_error (err, "sandbox", "no command given");
        if (so.cwd != NULL && so.cwd[0] != '/')
                return cli_usage_error (err, "sandbox", "--cwd wants an absolute path");

        so.binds = a.binds;
        so.n_binds = a.n_binds;
        so.argv = (const char *const *) argv + optind;
        so.envp = a.envp;
        if (sandbox_run (&so, &exit_code, err) < 0)
                return -1;
        return exit_code;
}
