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
#include "builder/pipeline.h"
#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/slice.h"

static void
list_usage (FILE *f)
{
        fprintf (f, "usage: pgimg list [--extensions [--set NAME] [--major M] [--slice I/N]] [--json]\n"
                    "\n"
                    "Show each PostgreSQL major that has a recipe, its default minor and\n"
                    "the other pinned minors, newest first.\n"
                    "\n"
                    "  -e, --extensions  list the extension recipes instead: name, build,\n"
                    "                    then each version with the majors it builds for\n"
                    "  -h, --help        show this help\n"
                    "      --json        print a JSON array on stdout instead\n"
                    "      --major M     with --extensions: only those that build for PostgreSQL M\n"
                    "                    (what a build of that major leaves out is not listed)\n"
                    "      --set NAME    with --extensions: only the items of images/NAME.json\n"
                    "                    (`jit` included, as the jit layer)\n"
                    "      --slice I/N   with --extensions: only the I-th of N slices that share\n"
                    "                    what is listed, balanced by the build times the cache\n"
                    "                    recorded (one CI machine of N; docs/farm.md)\n"
                    "\n"
                    "Example:\n"
                    "  $ pgimg list\n"
                    "  postgres-15  15.18 (default)  15.17  15.15\n"
                    "  $ pgimg build postgres-15.17\n"
                    "  $ pgimg list --extensions --slice 2/4 --json\n"
                    "  $ pgimg list --extensions --set default --major 18 --slice 1/2 --json\n");
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

/* One line of the extension listing: a recipe, or the jit layer (an
 * item of a set that is built like an extension but has no recipe). */
struct ext_item {
        const struct ext_recipe *r;     /* NULL: the jit layer */
        const char *name;
        const char *with;               /* what --with takes to build it as listed */
        double seconds;                 /* recorded build seconds, added up; <0: none */
        unsigned slice;                 /* 0-based */
};

/* What to list: every recipe, or a set's items; for one major or all. */
struct ext_listing {
        struct ext_recipe *rs;          /* every recipe, owned */
        size_t n_rs;
        char **set;                     /* the set's items, owned; NULL: the catalogue */
        struct ext_item *items;         /* the candidates, before slicing */
        size_t n;
        unsigned want;                  /* the slice to list (0-based) */
};

static void
ext_listing_release (struct ext_listing *l)
{
        ext_recipes_free (l->rs, l->n_rs);
        strv_free (l->set);
        free (l->items);
}

#define JIT_ITEM "jit"
static const char jit_summary[] = "PostgreSQL's LLVM JIT provider with its LLVM libraries: the jit layer (docs/jit.md)";

static void
json_ext_item (struct jsonw *w, const struct ext_item *it)
{
        const struct ext_recipe *r = it->r;

        jsonw_object (w);
        jsonw_kv_string (w, "name", it->name);
        jsonw_kv_string (w, "build", r ? ext_build_name (r->build) : JIT_ITEM);
        jsonw_kv_string (w, "summary", r ? r->summary : jit_summary);
        jsonw_kv_string (w, "with", it->with);
        jsonw_key (w, "versions");
        jsonw_array (w);
        for (size_t k = 0; r && k < r->n_versions; k++)
                json_ext_version (w, r, &r->versions[k]);
        jsonw_end (w);
        jsonw_key (w, "build_seconds");
        if (it->seconds < 0)
                jsonw_string (w, NULL);
        else
                jsonw_fixed (w, it->seconds, 1);
        jsonw_end (w);
}

static int
print_extensions_json (const struct ext_listing *l, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;

        jsonw_init (&w, &b);
        jsonw_array (&w);
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i].slice == l->want)
                        json_ext_item (&w, &l->items[i]);
        jsonw_end (&w);
        return cli_print_json (&w, &b, err);
}

/* pgvector  pgxs  0.8.7 (13 15 17 18)  0.8.0 (13 15 17 18)  Open-source ... */
static void
print_extensions (FILE *f, const struct ext_listing *l)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct ext_recipe *r = l->items[i].r;
                if (l->items[i].slice != l->want)
                        continue;
                fprintf (f, "%-24s %-8s", l->items[i].name, r ? ext_build_name (r->build) : JIT_ITEM);
                for (size_t k = 0; r && k < r->n_versions; k++) {
                        const struct ext_version *v = &r->versions[k];
                        fprintf (f, "  %s (", v->version);
                        for (char **m = v->majors; *m; m++)
                                fprintf (f, "%s%s", m == v->majors ? "" : " ", *m);
                        fputc (')', f);
                }
                fputs ("\n", f);
        }
}

/* The recorded build seconds of every item into it->seconds (<0: none),
 * and its weight into weights[i]: the seconds, or for an item without a
 * record the mean of those with one (1 when none has one, so that slices
 * then hold about as many items). */
static int
weigh_items (const struct pgimg_ctx *ctx, struct ext_listing *l, double *weights, pgimg_error_t *err)
{
        double known = 0;
        size_t n_known = 0;

        for (size_t i = 0; i < l->n; i++) {
                struct ext_item *it = &l->items[i];
                int r = ext_times_total (ctx->cache_dir, it->name, &it->seconds, err);
                if (r < 0)
                        return -1;
                if (r == 0)
                        it->seconds = -1;
                else
                        known += it->seconds, n_known++;
        }
        for (size_t i = 0; i < l->n; i++)
                weights[i] = l->items[i].seconds >= 0 ? l->items[i].seconds : n_known ? known / (double) n_known : 1;
        return 0;
}

/* group[i]: the first item of the group item i is in.  An item and
 * the listed items its recipe requires are one group, since building
 * it builds them too: one slice then makes them all, and no two slices
 * build the same layer. */
static void
group_requires (const struct ext_listing *l, size_t *group)
{
        for (size_t i = 0; i < l->n; i++)
                group[i] = i;
        for (size_t i = 0; i < l->n; i++) {
                const struct ext_recipe *r = l->items[i].r;
                for (char **q = r ? r->requires : NULL; q && *q; q++)
                        for (size_t j = 0; j < l->n; j++) {
                                size_t from = group[j], to = group[i];
                                if (strcmp (l->items[j].name, *q) != 0 || from == to)
                                        continue;
                                if (from < to)
                                        from = group[i], to = group[j];
                                for (size_t k = 0; k < l->n; k++)
                                        if (group[k] == from)
                                                group[k] = to;
                        }
        }
}

/* The slice of every item: the groups (group_requires), each named by
 * its first item and weighing what its items weigh, shared out by
 * slice_assign. */
static int
slice_extensions (const struct pgimg_ctx *ctx, const struct slice_spec *spec, struct ext_listing *l,
                  pgimg_error_t *err)
{
        cleanup_free double *weights = calloc (l->n + 1, sizeof (*weights));
        cleanup_free double *group_weights = calloc (l->n + 1, sizeof (*group_weights));
        cleanup_free const char **names = calloc (l->n + 1, sizeof (*names));
        cleanup_free size_t *group = calloc (l->n + 1, sizeof (*group));
        cleanup_free size_t *first = calloc (l->n + 1, sizeof (*first));
        cleanup_free unsigned *slice_of = calloc (l->n + 1, sizeof (*slice_of));
        size_t n_groups = 0;

        if (weights == NULL || group_weights == NULL || names == NULL || group == NULL || first == NULL
            || slice_of == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        if (weigh_items (ctx, l, weights, err) < 0)
                return -1;
        group_requires (l, group);
        for (size_t i = 0; i < l->n; i++) {
                if (group[i] != i)
                        continue;
                first[n_groups] = i;
                names[n_groups] = l->items[i].name;
                for (size_t k = 0; k < l->n; k++)
                        if (group[k] == i)
                                group_weights[n_groups] += weights[k];
                n_groups++;
        }
        l->want = spec->index - 1;
        if (slice_assign (names, group_weights, n_groups, spec->count, slice_of, err) < 0)
                return -1;
        for (size_t g = 0; g < n_groups; g++)
                for (size_t k = 0; k < l->n; k++)
                        if (group[k] == first[g])
                                l->items[k].slice = slice_of[g];
        return 0;
}

static const struct ext_recipe *
find_recipe (const struct ext_listing *l, const char *name, size_t len)
{
        for (size_t i = 0; i < l->n_rs; i++)
                if (strlen (l->rs[i].name) == len && strncmp (l->rs[i].name, name, len) == 0)
                        return &l->rs[i];
        return NULL;
}

/* 1 when what --with item (recipe r, version or NULL) builds for major
 * (NULL: any), 0 when that major is not supported, as a build of the
 * set leaves it out; another error (no such version) is <0. */
static int
item_builds_for (const struct ext_recipe *r, const char *version, const char *major, pgimg_error_t *err)
{
        const struct ext_version *v = NULL;
        pgimg_error_t e = NULL;

        if (major == NULL) {
                if (version && ext_recipe_find (r, version) == NULL)
                        return pgimg_make_error (err, ENOENT, "extension `%s`: version %s is not pinned", r->name,
                                                 version);
                return 1;
        }
        if (ext_recipe_pick (r, version, major, &v, &e) == 0)
                return 1;
        if (e->status == ENOTSUP) {
                pgimg_error_free (&e);
                return 0;
        }
        *err = e;
        return -1;
}

/* Add item (a set's item or a recipe's name, which the listing keeps)
 * when it builds for major; an item already there is not added again. */
static int
add_item (struct ext_listing *l, const char *item, const char *major, const char *set, pgimg_error_t *err)
{
        const char *at = strchr (item, '@');
        size_t len = at ? (size_t) (at - item) : strlen (item);
        const struct ext_recipe *r = NULL;
        cleanup_free char *version = at ? strdup (at + 1) : NULL;
        int ok;

        if (at && version == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        if (strcmp (item, JIT_ITEM) != 0 && (r = find_recipe (l, item, len)) == NULL)
                return pgimg_make_error (err, ENOENT, "image set `%s`: no extension recipe `%.*s` (extensions/%.*s.json)",
                                         set, (int) len, item, (int) len, item);
        ok = r ? item_builds_for (r, version, major, err) : 1;
        if (ok < 0 && set)
                return pgimg_error_wrap (err, "image set `%s`", set);
        if (ok <= 0)
                return ok;
        for (size_t i = 0; i < l->n; i++)
                if (strcmp (l->items[i].name, r ? r->name : JIT_ITEM) == 0)
                        return 0;
        l->items[l->n++] = (struct ext_item) { r, r ? r->name : JIT_ITEM, item, -1, 0 };
        return 0;
}

/* The candidates: the set's items (NULL: every recipe) that build for
 * major (NULL: any). */
static int
choose_items (const struct pgimg_ctx *ctx, struct ext_listing *l, const char *set, const char *major,
              pgimg_error_t *err)
{
        size_t n = l->n_rs;

        if (set && pipeline_set_load (ctx->data_dir, set, &l->set, err) < 0)
                return -1;
        for (size_t i = 0; l->set && l->set[i]; i++)
                n++;
        if ((l->items = calloc (n + 1, sizeof (*l->items))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        for (size_t i = 0; l->set && l->set[i]; i++)
                if (add_item (l, l->set[i], major, set, err) < 0)
                        return -1;
        for (size_t i = 0; set == NULL && i < l->n_rs; i++)
                if (add_item (l, l->rs[i].name, major, NULL, err) < 0)
                        return -1;
        return 0;
}

/* What `list --extensions` was asked for. */
struct ext_query {
        struct slice_spec spec;
        const char *set;                /* --set, or NULL */
        const char *major;              /* --major, or NULL */
        int json;
};

static int
list_extensions (const struct pgimg_ctx *ctx, const char *dir, const struct ext_query *q, pgimg_error_t *err)
{
        __attribute__ ((cleanup (ext_listing_release))) struct ext_listing l = { 0 };
        int ret;

        if (ext_recipe_load_all (dir, &l.rs, &l.n_rs, err) < 0)
                return pgimg_error_wrap (err, "list");
        ret = choose_items (ctx, &l, q->set, q->major, err);
        if (ret == 0)
                ret = slice_extensions (ctx, &q->spec, &l, err);
        if (ret == 0 && q->json)
                ret = print_extensions_json (&l, err);
        else if (ret == 0)
                print_extensions (stdout, &l);
        if (ret == 0 && (fflush (stdout) != 0 || ferror (stdout)))
                return pgimg_make_error_errno (err, errno, "list: write to stdout");
        return ret < 0 ? pgimg_error_wrap (err, "list") : 0;
}

/* --major M: whole digits naming a recipe (versions/M.json). */
static int
check_major (const struct pgimg_ctx *ctx, const char *major, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (major[0] == '\0' || strspn (major, "0123456789") != strlen (major))
                return cli_usage_error (err, "list", "--major takes a PostgreSQL major like 18, not `%s`", major);
        if (asprintf (&path, "%s/versions/%s.json", ctx->data_dir, major) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        if (!fs_exists (path))
                return cli_usage_error (err, "list", "--major %s: PostgreSQL %s has no recipe (no `%s`)", major, major, path);
        return 0;
}

/* --slice I/N as a usage error when it is not one. */
static int
parse_slice (const char *arg, struct slice_spec *spec, pgimg_error_t *err)
{
        if (slice_parse (arg, spec, err) == 0)
                return 0;
        cleanup_free char *msg = steal_pointer (&(*err)->msg);
        pgimg_error_free (err);
        return cli_usage_error (err, "list", "--slice: %s", msg);
}

static int
list_majors (const struct pgimg_ctx *ctx, int json, pgimg_error_t *err)
{
        cleanup_free char *dir = cli_data_path (ctx, "versions");
        struct recipe *rs = NULL;
        size_t n = 0;
        int ret = 0;

        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
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

int
cmd_list (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "extensions", no_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "major", required_argument, NULL, 'm' },
                { "set", required_argument, NULL, 'S' },
                { "slice", required_argument, NULL, 's' },
                { NULL, 0, NULL, 0 },
        };
        struct ext_query q = { .spec = { 1, 1 } };
        cleanup_free char *dir = NULL;
        const char *slice = NULL;
        int c, exts = 0;

        while ((c = cli_getopt (ctx, argc, argv, "+eh", opts)) != -1) {
                switch (c) {
                case 'e':
                        exts = 1;
                        break;
                case 'h':
                        list_usage (stdout);
                        return 0;
                case 'j':
                        q.json = 1;
                        break;
                case 'm':
                        q.major = optarg;
                        break;
                case 'S':
                        q.set = optarg;
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
        if (!exts && (slice || q.set || q.major))
                return cli_usage_error (err, "list", "%s goes with --extensions",
                                        slice ? "--slice" : q.set ? "--set" : "--major");
        if (slice && parse_slice (slice, &q.spec, err) < 0)
                return -1;
        if (q.major && check_major (ctx, q.major, err) < 0)
                return -1;
        if (!exts)
                return list_majors (ctx, q.json, err);
        if ((dir = cli_data_path (ctx, "extensions")) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "list");
        return list_extensions (ctx, dir, &q, err);
}
