/* cmd_list.c - `pgimg list`: the majors and pinned minors that can be
 * built, from <data_dir>/versions/<major>.json; or the extension
 * recipes, all of them or one slice of them for one machine of many.
 *
 * The listing is the command's answer, meant for grep and awk as much
 * as for eyes, so both forms go to stdout (like `git branch`).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_times.h"
#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/jsonw.h"
#include "common/slice.h"

static void
list_usage (FILE *f)
{
        fprintf (f, "usage: pgimg list [--extensions [--slice I/N]] [--json]\n"
                    "\n"
                    "Show each PostgreSQL major that has a recipe, its default minor and\n"
                    "the other pinned minors, newest first.\n"
                    "\n"
                    "  -e, --extensions  list the extension recipes instead: name, build,\n"
                    "                    then each version with the majors it builds for\n"
                    "  -h, --help        show this help\n"
                    "      --json        print a JSON array on stdout instead\n"
                    "      --slice I/N   with --extensions: only the I-th of N slices that share\n"
                    "                    the catalogue, balanced by the build times the cache\n"
                    "                    recorded (one CI machine of N)\n"
                    "\n"
                    "Example:\n"
                    "  $ pgimg list\n"
                    "  postgres-15  15.18 (default)  15.17  15.15\n"
                    "  $ pgimg build postgres-15.17\n"
                    "  $ pgimg list --extensions --slice 2/4 --json\n");
}

static int
print_json (const struct recipe *rs, size_t n, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;

        jsonw_init (&w, &b);
        jsonw_array (&w);
        for (size_t i = 0; i < n; i++) {
                const struct recipe *r = &rs[i];
                cleanup_free char *recipe = NULL;
                if (asprintf (&recipe, "%s-%s", r->name, r->major) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "list");
                jsonw_object (&w);
                jsonw_kv_string (&w, "recipe", recipe);
                jsonw_kv_string (&w, "name", r->name);
                jsonw_kv_string (&w, "major", r->major);
                jsonw_kv_string (&w, "default_version", r->default_version);
                jsonw_key (&w, "versions");
                jsonw_array (&w);
                for (size_t k = 0; k < r->n_versions; k++)
                        jsonw_string (&w, r->versions[k].version);
                jsonw_end (&w);
                jsonw_end (&w);
        }
        jsonw_end (&w);
        return cli_print_json (&w, &b, err);
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

/* One extension version for --json: the majors it builds for, and
 * those it is the default for. */
static void
json_ext_version (struct jsonw *w, const struct ext_recipe *r, const struct ext_version *v)
{
        jsonw_object (w);
        jsonw_kv_string (w, "version", v->version);
        jsonw_kv_bool (w, "debian_build", v->n_debs != 0);
        jsonw_key (w, "majors");
        jsonw_array (w);
        for (char **m = v->majors; *m; m++)
                jsonw_string (w, *m);
        jsonw_end (w);
        jsonw_key (w, "default_for");
        jsonw_array (w);
        for (char **m = v->majors; *m; m++) {
                const struct ext_version *d = NULL;
                pgimg_error_t ignored = NULL;
                if (ext_recipe_pick (r, NULL, *m, &d, &ignored) < 0)
                        pgimg_error_free (&ignored);
                if (d == v)
                        jsonw_string (w, *m);
        }
        jsonw_end (w);
        jsonw_end (w);
}

/* Which recipes to list, and what the cache knows of their build times. */
struct ext_listing {
        const struct ext_recipe *rs;
        size_t n;
        double *seconds;        /* recorded build seconds, added up; <0: none */
        unsigned *slice_of;     /* 0-based slice of each */
        unsigned want;          /* the slice to list (0-based) */
};

static void
ext_listing_release (struct ext_listing *l)
{
        free (l->seconds);
        free (l->slice_of);
}

static int
listed (const struct ext_listing *l, size_t i)
{
        return l->slice_of[i] == l->want;
}

static int
print_extensions_json (const struct ext_listing *l, pgimg_error_t *err)
{
        const struct ext_recipe *rs = l->rs;
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;

        jsonw_init (&w, &b);
        jsonw_array (&w);
        for (size_t i = 0; i < l->n; i++) {
                if (!listed (l, i))
                        continue;
                jsonw_object (&w);
                jsonw_kv_string (&w, "name", rs[i].name);
                jsonw_kv_string (&w, "build", ext_build_name (rs[i].build));
                jsonw_kv_string (&w, "summary", rs[i].summary);
                jsonw_key (&w, "versions");
                jsonw_array (&w);
                for (size_t k = 0; k < rs[i].n_versions; k++)
                        json_ext_version (&w, &rs[i], &rs[i].versions[k]);
                jsonw_end (&w);
                jsonw_key (&w, "build_seconds");
                if (l->seconds[i] < 0)
                        jsonw_string (&w, NULL);
                else
                        jsonw_fixed (&w, l->seconds[i], 1);
                jsonw_end (&w);
        }
        jsonw_end (&w);
        return cli_print_json (&w, &b, err);
}

/* pgvector  pgxs  0.8.7 (13 15 17 18)  0.8.0 (13 15 17 18)  Open-source ... */
static void
print_extensions (FILE *f, const struct ext_listing *l)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct ext_recipe *r = &l->rs[i];
                if (!listed (l, i))
                        continue;
                fprintf (f, "%-24s %-8s", r->name, ext_build_name (r->build));
                for (size_t k = 0; k < r->n_versions; k++) {
                        const struct ext_version *v = &r->versions[k];
                        fprintf (f, "  %s (", v->version);
                        for (char **m = v->majors; *m; m++)
                                fprintf (f, "%s%s", m == v->majors ? "" : " ", *m);
                        fputc (')', f);
                }
                fputs ("\n", f);
        }
}

/* The slice of every recipe, weighed by its recorded build seconds;
 * a recipe without a record weighs the mean of those with one (1 when
 * none has one, so that slices then hold about as many recipes). */
static int
slice_extensions (const struct pgimg_ctx *ctx, const struct slice_spec *spec, struct ext_listing *l,
                  pgimg_error_t *err)
{
        cleanup_free double *weights = calloc (l->n + 1, sizeof (*weights));
        cleanup_free const char **names = calloc (l->n + 1, sizeof (*names));
        double known = 0;
        size_t n_known = 0;

        l->seconds = calloc (l->n + 1, sizeof (*l->seconds));
        l->slice_of = calloc (l->n + 1, sizeof (*l->slice_of));
        if (weights == NULL || names == NULL || l->seconds == NULL || l->slice_of == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        for (size_t i = 0; i < l->n; i++) {
                int r = ext_times_total (ctx->cache_dir, l->rs[i].name, &l->seconds[i], err);
                if (r < 0)
                        return -1;
                if (r == 0)
                        l->seconds[i] = -1;
                else
                        known += l->seconds[i], n_known++;
                names[i] = l->rs[i].name;
        }
        for (size_t i = 0; i < l->n; i++)
                weights[i] = l->seconds[i] >= 0 ? l->seconds[i] : n_known ? known / (double) n_known : 1;
        l->want = spec->index - 1;
        return slice_assign (names, weights, l->n, spec->count, l->slice_of, err);
}

static int
list_extensions (const struct pgimg_ctx *ctx, const char *dir, const struct slice_spec *spec, int json,
                 pgimg_error_t *err)
{
        __attribute__ ((cleanup (ext_listing_release))) struct ext_listing l = { 0 };
        struct ext_recipe *es = NULL;
        int ret;

        if (ext_recipe_load_all (dir, &es, &l.n, err) < 0)
                return pgimg_error_wrap (err, "list");
        l.rs = es;
        ret = slice_extensions (ctx, spec, &l, err);
        if (ret == 0 && json)
                ret = print_extensions_json (&l, err);
        else if (ret == 0)
                print_extensions (stdout, &l);
        ext_recipes_free (es, l.n);
        if (ret == 0 && (fflush (stdout) != 0 || ferror (stdout)))
                return pgimg_make_error_errno (err, errno, "list: write to stdout");
        return ret < 0 ? pgimg_error_wrap (err, "list") : 0;
}

int
cmd_list (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "extensions", no_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "slice", required_argument, NULL, 's' },
                { NULL, 0, NULL, 0 },
        };
        cleanup_free char *dir = NULL;
        struct recipe *rs = NULL;
        struct slice_spec spec = { 1, 1 };
        const char *slice = NULL;
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
                case 's':
                        slice = optarg;
                        break;
                default:
                        return cli_option_error (err, "list");
                }
        }
        if (optind < argc)
                return cli_usage_error (err, "list", "unexpected argument `%s`", argv[optind]);
        if (slice && !exts)
                return cli_usage_error (err, "list", "--slice goes with --extensions");
        if (slice && slice_parse (slice, &spec, err) < 0) {
                cleanup_free char *msg = steal_pointer (&(*err)->msg);
                pgimg_error_free (err);
                return cli_usage_error (err, "list", "--slice: %s", msg);
        }

        dir = cli_data_path (ctx, exts ? "extensions" : "versions");
        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        if (exts)
                return list_extensions (ctx, dir, &spec, json, err);
        if (recipe_load_all (dir, &rs, &n, err) < 0)
                return pgimg_error_wrap (err, "list");
        if (n == 0)
                ret = pgimg_make_error (err, ENOENT, "list: no recipes in `%s`", dir);
        else if (json)
                ret = print_json (rs, n, err);
        else
                print_table (stdout, rs, n);
        for (size_t i = 0; i < n; i++)
                recipe_free (&rs[i]);
        free (rs);
        if (ret == 0 && (fflush (stdout) != 0 || ferror (stdout)))
                ret = pgimg_make_error_errno (err, errno, "list: write to stdout");
        return ret;
}
