/* options.c - option parsing the commands share: the global options,
 * accepted after the command too; whole numbers with range checks; the
 * options that choose what goes into an image. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/number.h"

/* getopt values of the global options; out of the range of characters,
 * so that no command's own option can take them. */
enum { OPT_CACHE_DIR = 0x4000 };

#define MAX_LONGOPTS 64

/* The option that the last '?' or ':' of cli_getopt was about. */
static char bad_option[64];
static int bad_missing;

static void
note_bad_option (int c, char **argv)
{
        const char *arg = optind > 0 ? argv[optind - 1] : NULL;

        bad_missing = c == ':';
        if (arg && strncmp (arg, "--", 2) == 0)
                snprintf (bad_option, sizeof (bad_option), "%.*s", (int) strcspn (arg, "="), arg);
        else if (optopt > 0 && optopt < 128)
                snprintf (bad_option, sizeof (bad_option), "-%c", optopt);
        else
                snprintf (bad_option, sizeof (bad_option), "%s", arg ? arg : "?");
}

int
cli_getopt (struct pgimg_ctx *ctx, int argc, char **argv, const char *shortopts,
            const struct option *longopts)
{
        struct option merged[MAX_LONGOPTS + 3];
        char shorts[128];
        size_t n = 0;
        const char *order = "";
        int c;

        /* A leading '+' (stop at the first operand) stays first; ':'
         * makes getopt quiet and tell a missing value from an unknown
         * option, which cli_option_error reports. */
        if (*shortopts == '+') {
                order = "+";
                shortopts++;
        }
        if (*shortopts == ':')
                shortopts++;
        snprintf (shorts, sizeof (shorts), "%s:%sq", order, shortopts);
        for (; longopts && longopts[n].name && n < MAX_LONGOPTS; n++)
                merged[n] = longopts[n];
        merged[n++] = (struct option) { "cache-dir", required_argument, NULL, OPT_CACHE_DIR };
        merged[n++] = (struct option) { "quiet", no_argument, NULL, 'q' };
        merged[n] = (struct option) { NULL, 0, NULL, 0 };
        opterr = 0;
        for (;;) {
                c = getopt_long (argc, argv, shorts, merged, NULL);
                if (c == OPT_CACHE_DIR)
                        ctx->cache_dir = optarg;
                else if (c == 'q')
                        ctx->quiet = 1;
                else
                        break;
        }
        if (c == '?' || c == ':')
                note_bad_option (c, argv);
        return c;
}

int
cli_option_error (pgimg_error_t *err, const char *cmd)
{
        if (bad_missing)
                return cli_usage_error (err, cmd, "option `%s` needs a value", bad_option);
        return cli_usage_error (err, cmd, "unknown option `%s`", bad_option[0] ? bad_option : "?");
}

int
cli_parse_long (pgimg_error_t *err, const char *cmd, const char *opt, const char *arg, long min, long max,
                long *out)
{
        if (number_parse_long (arg, min, max, out) == 0)
                return 0;
        return cli_usage_error (err, cmd, "%s takes a whole number from %ld to %ld, not `%s`", opt, min, max, arg);
}

int
cli_parse_int (pgimg_error_t *err, const char *cmd, const char *opt, const char *arg, int min, int max, int *out)
{
        long v;

        if (cli_parse_long (err, cmd, opt, arg, min, max, &v) < 0)
                return -1;
        *out = (int) v;
        return 0;
}

int
cli_image_option (const char *cmd, int c, const char *arg, struct cli_image_opts *io, pgimg_error_t *err)
{
        switch (c) {
        case 'j':
                if (cli_parse_int (err, cmd, "--jobs", arg, 1, CLI_MAX_JOBS, &io->jobs) < 0)
                        return -1;
                return 1;
        case 'J':
                io->json = 1;
                return 1;
        case 'S':
                if (cli_strv_split (arg, &io->sets, &io->n_sets) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "%s", cmd);
                return 1;
        case 'w':
                if (cli_strv_split (arg, &io->with, &io->n_with) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "%s", cmd);
                return 1;
        default:
                return 0;
        }
}

void
cli_image_opts_release (struct cli_image_opts *io)
{
        for (size_t i = 0; io->with && io->with[i]; i++)
                free (io->with[i]);
        for (size_t i = 0; io->sets && io->sets[i]; i++)
                free (io->sets[i]);
        free (io->with);
        free (io->sets);
        *io = (struct cli_image_opts) CLI_IMAGE_OPTS_INIT;
}

int
cli_platform_option (const char *cmd, const char *arg, const char *arches[3], size_t *n, pgimg_error_t *err)
{
        static const char *const known[] = { "amd64", "arm64" };
        int seen[2] = { 0, 0 };
        const char *p = arg;

        *n = 0;
        while (*p) {
                size_t len = strcspn (p, ","), k;
                for (k = 0; k < 2; k++)
                        if (len == strlen ("linux/") + strlen (known[k]) && strncmp (p, "linux/", 6) == 0
                            && strncmp (p + 6, known[k], len - 6) == 0)
                                break;
                if (k == 2)
                        return cli_usage_error (err, cmd, "unknown platform `%.*s`; use linux/amd64, linux/arm64 or both, comma-separated",
                                                (int) len, p);
                if (seen[k]++)
                        return cli_usage_error (err, cmd, "platform linux/%s given twice", known[k]);
                p += len + (p[len] == ',');
        }
        for (size_t k = 0; k < 2; k++)
                if (seen[k])
                        arches[(*n)++] = known[k];
        arches[*n] = NULL;
        if (*n == 0)
                return cli_usage_error (err, cmd, "--platform names no platform; use linux/amd64 or linux/arm64");
        return 0;
}

int
cli_platform_one (const char *cmd, const char *arg, const char **arch, pgimg_error_t *err)
{
        if (strcmp (arg, "linux/amd64") == 0)
                *arch = "amd64";
        else if (strcmp (arg, "linux/arm64") == 0)
                *arch = "arm64";
        else
                return cli_usage_error (err, cmd, "unknown platform `%s`; use linux/amd64 or linux/arm64 (one platform)",
                                        arg);
        return 0;
}
