/* cmd_list.c - `pgimg list`: the majors and pinned minors that can be
 * built, from <data_dir>/versions/<major>.json.
 *
 * The listing is the command's answer, meant for grep and awk as much
 * as for eyes, so both forms go to stdout (like `git branch`).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/cleanup.h"

static void
list_usage (FILE *f)
{
        fprintf (f, "usage: pgimg list [--extensions] [--json]\n"
                    "\n"
                    "Show each PostgreSQL major that has a recipe, its default minor and\n"
                    "the other pinned minors, newest first.\n"
                    "\n"
                    "  -e, --extensions  list the extension recipes instead: name, build,\n"
                    "                    then each version with the majors it builds for\n"
                    "  -h, --help        show this help\n"
                    "      --json        print a JSON array on stdout instead\n"
                    "\n"
                    "Example:\n"
                    "  $ pgimg list\n"
                    "  postgres-15  15.18 (default)  15.17  15.15\n"
                    "  $ pgimg build postgres-15.17\n");
}

/* JSON string literal for s.  Recipe names and versions are validated
 * to plain ASCII, but the escaping does not rely on it. */
static void
json_string (FILE *f, const char *s)
{
        fputc ('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf (f, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf (f, "\\u%04x", *p);
                else
                        fputc (*p, f);
        }
        fputc ('"', f);
}

static void
print_json (FILE *f, const struct recipe *rs, size_t n)
{
        fputc ('[', f);
        for (size_t i = 0; i < n; i++) {
                const struct recipe *r = &rs[i];
                fprintf (f, "%s{\"recipe\":\"%s-%s\",\"name\":", i ? "," : "", r->name, r->major);
                json_string (f, r->name);
                fputs (",\"major\":", f);
                json_string (f, r->major);
                fputs (",\"default_version\":", f);
                json_string (f, r->default_version);
                fputs (",\"versions\":[", f);
                for (size_t k = 0; k < r->n_versions; k++) {
                        fputs (k ? "," : "", f);
                        json_string (f, r->versions[k].version);
                }
                fputs ("]}", f);
        }
        fputs ("]\n", f);
}

/* postgres-15  15.18 (default)  15.17  15.15 */
static void
print_table (FILE *f, const struct recipe *rs, size_t n)
{
        int width = 0;

        for (size_t i = 0; i < n; i++) {
                int w = (int) (strlen (rs[i].name) + 1 + strlen (rs[i].major));
                if (w > width)
                        width = w;
        }
        for (size_t i = 0; i < n; i++) {
                const struct recipe *r = &rs[i];
                int w = (int) (strlen (r->name) + 1 + strlen (r->major));
                fprintf (f, "%s-%s%*s  %s (default)", r->name, r->major, width - w, "",
                         r->default_version);
                for (size_t k = 0; k < r->n_versions; k++)
                        if (strcmp (r->versions[k].version, r->default_version) != 0)
                                fprintf (f, "  %s", r->versions[k].version);
                fputc ('\n', f);
        }
}

/* pgvector  pgxs  0.8.7 (13 15 17 18)  0.8.0 (13 15 17 18)  Open-source ... */
static void
print_extensions (FILE *f, const struct ext_recipe *rs, size_t n, int json)
{
        if (json)
                fputc ('[', f);
        for (size_t i = 0; i < n; i++) {
                const struct ext_recipe *r = &rs[i];
                if (json) {
                        fprintf (f, "%s{\"name\":", i ? "," : "");
                        json_string (f, r->name);
                        fprintf (f, ",\"build\":\"%s\",\"summary\":", ext_build_name (r->build));
                        json_string (f, r->summary);
                        fputs (",\"versions\":[", f);
                } else {
                        fprintf (f, "%-24s %-8s", r->name, ext_build_name (r->build));
                }
                for (size_t k = 0; k < r->n_versions; k++) {
                        const struct ext_version *v = &r->versions[k];
                        if (json) {
                                fprintf (f, "%s{\"version\":", k ? "," : "");
                                json_string (f, v->version);
                                fprintf (f, ",\"debian_build\":%s,\"majors\":[", v->n_debs ? "true" : "false");
                                for (char **m = v->majors; *m; m++)
                                        fprintf (f, "%s\"%s\"", m == v->majors ? "" : ",", *m);
                                fputs ("],\"default_for\":[", f);
                                int first = 1;
                                for (char **m = v->majors; *m; m++) {
                                        const struct ext_version *d = NULL;
                                        pgimg_error_t ignored = NULL;
                                        if (ext_recipe_pick (r, NULL, *m, &d, &ignored) < 0)
                                                pgimg_error_free (&ignored);
                                        if (d == v) {
                                                fprintf (f, "%s\"%s\"", first ? "" : ",", *m);
                                                first = 0;
                                        }
                                }
                                fputs ("]}", f);
                                continue;
                        }
                        fprintf (f, "  %s (", v->version);
                        for (char **m = v->majors; *m; m++)
                                fprintf (f, "%s%s", m == v->majors ? "" : " ", *m);
                        fputc (')', f);
                }
                fputs (json ? "]}" : "\n", f);
        }
        if (json)
                fputs ("]\n", f);
}

int
cmd_list (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "extensions", no_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { NULL, 0, NULL, 0 },
        };
        cleanup_free char *dir = NULL;
        struct recipe *rs = NULL;
        size_t n = 0;
        int c, json = 0, ret = 0, exts = 0;

        while ((c = cli_getopt (ctx, argc, argv, "+eh", opts)) != -1) {
                switch (c) {
                case 'e':
                        exts = 1;
                        break;
                case 'h':
                        list_usage (stdout);
                        return 0;
                case 'j':
                        json = 1;
                        break;
                default:
                        return cli_option_error (err, "list");
                }
        }
        if (optind < argc)
                return cli_usage_error (err, "list", "unexpected argument `%s`", argv[optind]);

        dir = cli_data_path (ctx, exts ? "extensions" : "versions");
        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        if (exts) {
                struct ext_recipe *es = NULL;
                if (ext_recipe_load_all (dir, &es, &n, err) < 0)
                        return pgimg_error_wrap (err, "list");
                print_extensions (stdout, es, n, json);
                ext_recipes_free (es, n);
                if (fflush (stdout) != 0 || ferror (stdout))
                        return pgimg_make_error_errno (err, errno, "list: write to stdout");
                return 0;
        }
        if (recipe_load_all (dir, &rs, &n, err) < 0)
                return pgimg_error_wrap (err, "list");
        if (n == 0)
                ret = pgimg_make_error (err, ENOENT, "list: no recipes in `%s`", dir);
        else if (json)
                print_json (stdout, rs, n);
        else
                print_table (stdout, rs, n);
        for (size_t i = 0; i < n; i++)
                recipe_free (&rs[i]);
        free (rs);
        if (ret == 0 && (fflush (stdout) != 0 || ferror (stdout)))
                ret = pgimg_make_error_errno (err, errno, "list: write to stdout");
        return ret;
}
