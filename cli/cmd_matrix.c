/* cmd_matrix.c - `pgimg matrix`: docs/extensions.md from the results of
 * real `pgimg test --results` runs: a row per extension version, a
 * column per major, each cell tested (from source or a Debian build),
 * not supported, failing (with the reason), or not tested.  Majors with
 * extension images (18 and later) get a second column, "M image", from
 * results whose major is "M-image" (tools/matrix-images.sh).  A section
 * "Left out" lists the Debian source packages of extensions/left-out.tsv
 * with why each has no recipe. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/left_out.h"
#include "runner/matrix_doc.h"

static void
help (void)
{
        printf ("usage: pgimg matrix [-o FILE] [--merge MATRIX]... RESULTS...\n"
                "\n"
                "Write the extension matrix (Markdown) from the result files that\n"
                "`pgimg test --results FILE` wrote, against every recipe in extensions/\n"
                "and every major in versions/; then the Debian source packages of\n"
                "extensions/left-out.tsv, each with why it has no recipe.\n"
                "\n"
                "  -o, --output FILE  where to write it (default: stdout)\n"
                "      --merge MATRIX the tested cells of a matrix written earlier (it may\n"
                "                     be FILE) count as results that RESULTS replace: a run\n"
                "                     of a few cells updates them and keeps the others;\n"
                "                     repeatable: a later matrix's cells replace an\n"
                "                     earlier one's (matrices of several machines)\n"
                "\n"
                "Example:\n"
                "  pgimg test postgres-17 --set full --results r17.tsv\n"
                "  pgimg matrix -o docs/extensions.md r*.tsv\n"
                "  pgimg matrix -o docs/extensions.md --merge docs/extensions.md r17.tsv\n");
}

/* One result line: major, pg version, extension, version, kind, status, reason. */
struct result {
        char *f[7];
};

/* The result lines of text (a results file, or what matrix_doc_results
 * read from a matrix), appended to *v; origin names it in errors. */
static int
parse_results (char *text, const char *origin, struct result **v, size_t *n, pgimg_error_t *err)
{
        char *line, *save = NULL;

        for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
                struct result r = { { NULL } };
                char *field = line;
                for (int i = 0; i < 7; i++) {
                        char *tab = i < 6 ? strchr (field, '\t') : NULL;
                        if (i < 6 && tab == NULL) {
                                for (int k = 0; k < i; k++)
                                        free (r.f[k]);
                                return pgimg_make_error (err, EINVAL, "`%s`: a line has fewer than 7 fields: `%s`",
                                                         origin, line);
                        }
                        if (tab)
                                *tab = '\0';
                        if ((r.f[i] = strdup (field)) == NULL) {
                                for (int k = 0; k < i; k++)
                                        free (r.f[k]);
                                return pgimg_make_error_errno (err, ENOMEM, "results");
                        }
                        field = tab ? tab + 1 : field + strlen (field);
                }
                struct result *nv = realloc (*v, (*n + 1) * sizeof (*nv));
                if (nv == NULL) {
                        for (int k = 0; k < 7; k++)
                                free (r.f[k]);
                        return pgimg_make_error_errno (err, ENOMEM, "results");
                }
                *v = nv;
                (*v)[(*n)++] = r;
        }
        return 0;
}

static int
read_results (const char *path, struct result **v, size_t *n, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;

        if (fs_read_file (path, 16 << 20, &text, err) < 0)
                return pgimg_error_wrap (err, "results");
        if (text.data == NULL)
                return 0;
        return parse_results (text.data, path, v, n, err);
}

/* The tested cells of an earlier matrix, as results that the files
 * given after it replace; a missing file has none. */
static int
read_matrix (const char *path, struct result **v, size_t *n, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;
        cleanup_buf struct buf lines = BUF_INIT;

        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, 16 << 20, &text, err) < 0)
                return pgimg_error_wrap (err, "matrix to merge");
        if (matrix_doc_results (text.data ? text.data : "", text.len, &lines, err) < 0)
                return pgimg_error_wrap (err, "`%s`", path);
        if (lines.data == NULL)
                return 0;
        return parse_results (lines.data, path, v, n, err);
}

/* extensions/left-out.tsv, if there is one; a package in it that a
 * recipe names as its Debian source (or its name) is an error, so that
 * the matrix's counts never count a package twice. */
static int
read_left_out (const char *ext_dir, const struct ext_recipe *rs, size_t n, struct left_out **out, size_t *n_out,
               pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        cleanup_buf struct buf text = BUF_INIT;

        if (asprintf (&path, "%s/left-out.tsv", ext_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "left-out.tsv");
        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, 1 << 20, &text, err) < 0)
                return pgimg_error_wrap (err, "left-out packages");
        if (left_out_parse (text.data ? text.data : "", text.len, path, out, n_out, err) < 0)
                return -1;
        for (size_t i = 0; i < *n_out; i++)
                for (size_t k = 0; k < n; k++)
                        if (strcmp ((*out)[i].package, rs[k].debian_source ? rs[k].debian_source : rs[k].name) == 0)
                                return pgimg_make_error (err, EINVAL,
                                                         "`%s`: `%s` has a recipe (%s); remove its line",
                                                         path, (*out)[i].package, rs[k].path);
        return 0;
}

/* The section after the table: one row per left-out package. */
static int
render_left_out (const struct left_out *lo, size_t n_lo, struct buf *out)
{
        int rc = 0;

        if (n_lo == 0)
                return 0;
        rc |= buf_adds (out, "\n## Left out\n\n"
                             "Debian source packages that build against PostgreSQL but have no recipe here\n"
                             "(`extensions/left-out.tsv`), each with the reason.\n\n"
                             "| package | why |\n|---|---|\n");
        for (size_t i = 0; i < n_lo; i++)
                rc |= buf_addf (out, "| %s | %s |\n", lo[i].package, lo[i].reason);
        return rc;
}

/* The newest result for (major, extension, version); later files win. */
static const struct result *
find (const struct result *v, size_t n, const char *major, const char *name, const char *version)
{
        const struct result *hit = NULL;

        for (size_t i = 0; i < n; i++)
                if (strcmp (v[i].f[0], major) == 0 && strcmp (v[i].f[2], name) == 0
                    && (strcmp (v[i].f[3], version) == 0
                        || (strcmp (version, "postgres") == 0 && strcmp (v[i].f[4], "postgres-source") == 0)))
                        hit = &v[i];
        return hit;
}

/* The results of an extension image of major are filed under "M-image". */
static int
has_image_column (const char *major)
{
        return atoi (major) >= 18;
}

/* The cell of v on major; key is the major the results are filed under. */
static int
cell (struct buf *b, const struct ext_recipe *r, const struct ext_version *v, const char *major,
      const char *key, const struct result *res, size_t n_res, size_t counts[4])
{
        const struct result *hit = find (res, n_res, key, r->name, v->version);
        const char *why = ext_recipe_unsupported (r, key);

        if (!ext_version_supports (v, major)) {
                for (size_t i = 0; i < r->n_versions; i++)
                        if (ext_version_supports (&r->versions[i], major))
                                return buf_addf (b, " – (%s) |", r->versions[i].version);
                counts[2]++;
                if (why)
                        return buf_addf (b, " not supported: %s |", why);
                /* The image column of a major the recipe says why it skips. */
                if (strcmp (key, major) != 0 && ext_recipe_unsupported (r, major))
                        return buf_addf (b, " not supported: as on %s |", major);
                return buf_adds (b, v->n_debs ? " no Debian build |" : " not supported upstream |");
        }
        if (why) {
                counts[2]++;
                return buf_addf (b, " not supported: %s |", why);
        }
        if (hit == NULL) {
                counts[3]++;
                return buf_adds (b, " not tested |");
        }
        if (strcmp (hit->f[5], "passed") == 0) {
                counts[0]++;
                return buf_addf (b, " ✅ %s (%s) |", strcmp (hit->f[4], "debian") == 0 ? "Debian build" : "from source",
                                 hit->f[1]);
        }
        counts[1]++;
        return buf_addf (b, " ❌ %s: %s |", strcmp (hit->f[5], "not-built") == 0 ? "build fails" : "test fails",
                         hit->f[6]);
}

static int
render (const struct ext_recipe *rs, size_t n, const struct recipe *pgs, size_t n_pg,
        const struct result *res, size_t n_res, size_t n_lo, struct buf *out, pgimg_error_t *err)
{
        cleanup_buf struct buf rows = BUF_INIT;
        size_t counts[4] = { 0, 0, 0, 0 };
        int rc = 0;

        rc |= buf_adds (&rows, "| extension | version |");
        for (size_t m = 0; m < n_pg; m++)
                rc |= buf_addf (&rows, " %s |", pgs[m].major);
        for (size_t m = 0; m < n_pg; m++)
                if (has_image_column (pgs[m].major))
                        rc |= buf_addf (&rows, " %s image |", pgs[m].major);
        rc |= buf_adds (&rows, "\n|---|---|");
        for (size_t m = 0; m < n_pg; m++)
                rc |= buf_adds (&rows, has_image_column (pgs[m].major) ? "---|---|" : "---|");
        rc |= buf_adds (&rows, "\n");
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < rs[i].n_versions; k++) {
                        const struct ext_version *v = &rs[i].versions[k];
                        rc |= buf_addf (&rows, "| %s | %s |", rs[i].name, v->version);
                        for (size_t m = 0; m < n_pg; m++)
                                rc |= cell (&rows, &rs[i], v, pgs[m].major, pgs[m].major, res, n_res, counts);
                        for (size_t m = 0; m < n_pg; m++) {
                                char key[40];
                                if (!has_image_column (pgs[m].major))
                                        continue;
                                snprintf (key, sizeof (key), "%s-image", pgs[m].major);
                                rc |= cell (&rows, &rs[i], v, pgs[m].major, key, res, n_res, counts);
                        }
                        rc |= buf_adds (&rows, "\n");
                }
        rc |= buf_addf (out,
                        "# Extensions\n\n"
                        "Generated by `pgimg matrix` from the results of `pgimg test` runs (`tools/matrix.sh`);\n"
                        "do not edit by hand.  A cell is a real build and smoke test in a container: ✅ built\n"
                        "and tested (from source, or from Debian's build for that major, with the PostgreSQL\n"
                        "version it ran on), ❌ failing (with the reason), not supported (upstream, or as an\n"
                        "extension image; with the reason where the recipe gives one), no Debian build for that\n"
                        "major, or not tested; – (V) where another pinned version, V,\n"
                        "serves that major.  An \"image\" column is the extension image of that version\n"
                        "(`pgimg build extension`, docs/extension-images.md) mounted into a server built without\n"
                        "extensions, as CloudNativePG's image volumes mount it, and its smoke test there.\n"
                        "Spread over N machines, each takes its share with `pgimg list --extensions --slice I/N`\n"
                        "(balanced by the build times in the cache; docs/cli.md) and `pgimg test --with` it, and\n"
                        "`pgimg matrix` puts all their `--results` files together.\n\n"
                        "%zu recipes; %zu cells tested, %zu failing, %zu not supported, %zu not tested",
                        n, counts[0], counts[1], counts[2], counts[3]);
        if (n_lo)
                rc |= buf_addf (out, "; %zu Debian source packages left out (below)", n_lo);
        rc |= buf_adds (out, ".\n\n");
        rc |= buf_add (out, rows.data, rows.len);
        return rc < 0 ? pgimg_make_error_errno (err, ENOMEM, "matrix") : 0;
}

int
cmd_matrix (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { "merge", required_argument, NULL, 'M' },
                { NULL, 0, NULL, 0 },
        };
        cleanup_free char *ext_dir = cli_data_path (ctx, "extensions");
        cleanup_free char *pg_dir = cli_data_path (ctx, "versions");
        cleanup_buf struct buf out = BUF_INIT;
        struct ext_recipe *rs = NULL;
        struct recipe *pgs = NULL;
        struct result *res = NULL;
        struct left_out *lo = NULL;
        size_t n = 0, n_pg = 0, n_res = 0, n_lo = 0;
        const char *output = NULL, *merge[8];
        size_t n_merge = 0;
        int c, rc = 0;

        while ((c = cli_getopt (ctx, argc, argv, "ho:", opts)) != -1) {
                switch (c) {
                case 'h':
                        help ();
                        return 0;
                case 'o':
                        output = optarg;
                        break;
                case 'M':
                        if (n_merge == sizeof merge / sizeof merge[0])
                                return cli_usage_error (err, "matrix", "at most 8 `--merge` matrices");
                        merge[n_merge++] = optarg;
                        break;
                default:
                        return cli_option_error (err, "matrix");
                }
        }
        if (optind >= argc && n_merge == 0)
                return cli_usage_error (err, "matrix", "expected result files of `pgimg test --results`");
        if (ext_dir == NULL || pg_dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "matrix");
        for (size_t i = 0; i < n_merge && rc == 0; i++)
                rc = read_matrix (merge[i], &res, &n_res, err);
        for (int i = optind; i < argc && rc == 0; i++)
                rc = read_results (argv[i], &res, &n_res, err);
        if (rc == 0)
                rc = ext_recipe_load_all (ext_dir, &rs, &n, err);
        if (rc == 0)
                rc = recipe_load_all (pg_dir, &pgs, &n_pg, err);
        if (rc == 0)
                rc = read_left_out (ext_dir, rs, n, &lo, &n_lo, err);
        if (rc == 0)
                rc = render (rs, n, pgs, n_pg, res, n_res, n_lo, &out, err);
        if (rc == 0 && render_left_out (lo, n_lo, &out) < 0)
                rc = pgimg_make_error_errno (err, ENOMEM, "matrix");
        if (rc == 0 && output)
                rc = fs_write_file_atomic (output, out.data, out.len, 0644, err);
        else if (rc == 0 && fwrite (out.data, 1, out.len, stdout) != out.len)
                rc = pgimg_make_error_errno (err, errno, "matrix: write to stdout");
        for (size_t i = 0; i < n_res; i++)
                for (int k = 0; k < 7; k++)
                        free (res[i].f[k]);
        free (res);
        left_out_free (lo, n_lo);
        ext_recipes_free (rs, n);
        for (size_t i = 0; i < n_pg; i++)
                recipe_free (&pgs[i]);
        free (pgs);
        return rc < 0 ? pgimg_error_wrap (err, "matrix") : 0;
}
