/* fingerprint.c - compare the facts of two clusters, two schema dumps and
 * two listings of a data directory (see fingerprint.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "runner/fingerprint.h"

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "fingerprint");
}

struct fact {
        const char *line;       /* the whole line, NUL-terminated */
        size_t key_len;         /* DB \t KIND \t NAME */
        const char *kind;       /* inside line */
        size_t kind_len;
};

struct facts {
        char *text;             /* a copy, lines cut at '\n' */
        struct fact *v;
        size_t n;
};

static void
facts_free (struct facts *f)
{
        free (f->text);
        free (f->v);
}

static int
fact_cmp (const void *a, const void *b)
{
        const struct fact *x = a, *y = b;
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = memcmp (x->line, y->line, n);

        if (c != 0)
                return c;
        return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Cut text into facts sorted by key; a line with fewer than three fields
 * fails, quoting it. */
static int
facts_parse (const char *text, size_t len, const char *which, struct facts *f, pgimg_error_t *err)
{
        size_t cap = 1;
        char *p;

        memset (f, 0, sizeof (*f));
        if ((f->text = strndup (text ? text : "", len)) == NULL)
                return oom (err);
        for (size_t i = 0; i < len; i++)
                cap += f->text[i] == '\n';
        if ((f->v = calloc (cap, sizeof (*f->v))) == NULL)
                return oom (err);
        for (p = f->text; *p;) {
                char *nl = strchr (p, '\n');
                char *t1, *t2, *t3;
                if (nl)
                        *nl = '\0';
                if (*p != '\0') {
                        t1 = strchr (p, '\t');
                        t2 = t1 ? strchr (t1 + 1, '\t') : NULL;
                        if (t2 == NULL)
                                return pgimg_make_error (err, EINVAL, "fingerprint %s: bad line `%.80s`", which, p);
                        t3 = strchr (t2 + 1, '\t');
                        f->v[f->n].line = p;
                        f->v[f->n].key_len = t3 ? (size_t) (t3 - p) : strlen (p);
                        f->v[f->n].kind = t1 + 1;
                        f->v[f->n].kind_len = (size_t) (t2 - t1 - 1);
                        f->n++;
                }
                if (nl == NULL)
                        break;
                p = nl + 1;
        }
        qsort (f->v, f->n, sizeof (*f->v), fact_cmp);
        return 0;
}

static int
kind_is (const struct fact *f, const char *kind)
{
        return f->kind_len == strlen (kind) && memcmp (f->kind, kind, f->kind_len) == 0;
}

static const char *
fact_value (const struct fact *f)
{
        return f->line[f->key_len] == '\t' ? f->line + f->key_len + 1 : "";
}

/* "DB KIND NAME" with spaces for a report. */
static int
add_key (struct buf *b, const struct fact *f)
{
        for (size_t i = 0; i < f->key_len; i++)
                if (buf_add (b, f->line[i] == '\t' ? " " : &f->line[i], 1) < 0)
                        return -1;
        return 0;
}

static int
add_value (struct buf *b, const char *v)
{
        for (; *v; v++)
                if (buf_add (b, *v == '\t' ? " " : v, 1) < 0)
                        return -1;
        return 0;
}

static int
report_line (struct buf *report, size_t max_lines, struct fp_result *res, const struct fact *f,
             const char *before, const char *after)
{
        if (res->n_diffs++ >= max_lines)
                return 0;
        if (buf_adds (report, "  ") < 0 || add_key (report, f) < 0)
                return -1;
        if (before == NULL)
                return buf_adds (report, ": only after (") < 0 || add_value (report, after) < 0
                       || buf_adds (report, ")\n") < 0 ? -1 : 0;
        if (after == NULL)
                return buf_adds (report, ": missing after the upgrade (was ") < 0 || add_value (report, before) < 0
                       || buf_adds (report, ")\n") < 0 ? -1 : 0;
        return buf_adds (report, ": ") < 0 || add_value (report, before) < 0 || buf_adds (report, " before, ") < 0
               || add_value (report, after) < 0 || buf_adds (report, " after\n") < 0 ? -1 : 0;
}

/* An index fact's value ends with whether the plan used an index: "t". */
static int
index_used (const struct fact *f)
{
        const char *v = fact_value (f);
        const char *last = strrchr (v, '\t');

        last = last ? last + 1 : v;
        return strcmp (last, "t") == 0 || strcmp (last, "true") == 0;
}

/* An extension's value is "VERSION\tSCHEMA": a new version in the same
 * schema is an update. */
static int
is_update (const struct fact *a, const struct fact *b)
{
        const char *va = fact_value (a), *vb = fact_value (b);
        const char *sa = strchr (va, '\t'), *sb = strchr (vb, '\t');

        if (!kind_is (a, "extension"))
                return 0;
        if (sa == NULL || sb == NULL)
                return sa == sb;
        return strcmp (sa, sb) == 0;
}

/* A table of an extension has a third value, "EXTNAME VERSION"; NULL
 * for other facts and tables. */
static const char *
table_ext (const struct fact *f)
{
        const char *v = fact_value (f);
        const char *t;

        if (!kind_is (f, "table") || (t = strchr (v, '\t')) == NULL || (t = strchr (t + 1, '\t')) == NULL)
                return NULL;
        return t + 1;
}

/* 1 when the extension that table t belongs to ("name version") is at
 * another version, or missing, in facts other: the same database's
 * "extension" fact says. */
static int
ext_moved (const struct facts *other, const struct fact *t)
{
        const char *ext = table_ext (t);
        size_t db_len = (size_t) (t->kind - 1 - t->line);
        size_t name_len;

        if (ext == NULL || (name_len = strcspn (ext, " ")) == strlen (ext))
                return 0;
        for (size_t i = 0; i < other->n; i++) {
                const struct fact *e = &other->v[i];
                const char *name = e->kind + e->kind_len + 1;
                if (!kind_is (e, "extension") || (size_t) (e->kind - 1 - e->line) != db_len
                    || memcmp (e->line, t->line, db_len) != 0 || (size_t) (e->line + e->key_len - name) != name_len
                    || memcmp (name, ext, name_len) != 0)
                        continue;
                return strcspn (fact_value (e), "\t") != strlen (ext + name_len + 1)
                       || memcmp (fact_value (e), ext + name_len + 1, strlen (ext + name_len + 1)) != 0;
        }
        return 1;
}

/* A table of an extension whose version moved between before (a) and
 * after (b) may be changed by the update's scripts (PoWA adds modules to
 * its config tables): it passes when it lost no rows, 1 when its rows
 * changed, 2 when they did not.  An extension's new table passes too. */
static int
ext_update_changed (const struct facts *fa, const struct fact *a, const struct fact *b)
{
        const char *ea = a ? table_ext (a) : NULL, *eb = table_ext (b);

        if (eb == NULL)
                return 0;
        if (a == NULL)
                return ext_moved (fa, b);
        if (ea == NULL || strcspn (ea, " ") != strcspn (eb, " ") || memcmp (ea, eb, strcspn (ea, " ")) != 0
            || strcmp (ea, eb) == 0)
                return 0;
        if (ea - fact_value (a) == eb - fact_value (b) && memcmp (fact_value (a), fact_value (b), (size_t) (ea - fact_value (a))) == 0)
                return 2;
        return strtoull (fact_value (b), NULL, 10) >= strtoull (fact_value (a), NULL, 10);
}

static int
add_update (struct buf *updates, const struct fact *a, const struct fact *b)
{
        const char *va = fact_value (a), *vb = fact_value (b);
        const char *name = a->kind + a->kind_len + 1;
        size_t name_len = a->key_len - (size_t) (name - a->line);
        size_t la = strcspn (va, "\t"), lb = strcspn (vb, "\t");

        if (updates == NULL)
                return 0;
        return buf_addf (updates, "%s%.*s %.*s -> %.*s", updates->len ? ", " : "", (int) name_len, name,
                         (int) la, va, (int) lb, vb);
}

int
fp_compare (const char *before, size_t before_len, const char *after, size_t after_len,
            size_t max_lines, struct buf *report, struct buf *updates, struct fp_result *res,
            pgimg_error_t *err)
{
        struct facts a = { 0 }, b = { 0 };
        size_t i = 0, j = 0;
        int r = 0, k;

        memset (res, 0, sizeof (*res));
        if (facts_parse (before, before_len, "before", &a, err) < 0
            || facts_parse (after, after_len, "after", &b, err) < 0) {
                facts_free (&a);
                facts_free (&b);
                return -1;
        }
        while ((i < a.n || j < b.n) && r == 0) {
                int c = i >= a.n ? 1 : j >= b.n ? -1 : fact_cmp (&a.v[i], &b.v[j]);
                if (c < 0) {
                        r = report_line (report, max_lines, res, &a.v[i], fact_value (&a.v[i]), NULL);
                        i++;
                        continue;
                }
                if (c > 0) {
                        if (ext_update_changed (&a, NULL, &b.v[j]))
                                res->n_ext_changed++;
                        else
                                r = report_line (report, max_lines, res, &b.v[j], NULL, fact_value (&b.v[j]));
                        j++;
                        continue;
                }
                res->n_facts++;
                if (kind_is (&b.v[j], "index") && !index_used (&b.v[j]) && r == 0) {
                        if (res->n_diffs++ < max_lines && (buf_adds (report, "  ") < 0 || add_key (report, &b.v[j]) < 0
                                                           || buf_adds (report, ": the query did not use an index after the upgrade\n") < 0))
                                r = -1;
                }
                if (kind_is (&a.v[i], "table")) {
                        res->n_tables++;
                        res->n_rows += strtoull (fact_value (&a.v[i]), NULL, 10);
                }
                if (strcmp (fact_value (&a.v[i]), fact_value (&b.v[j])) != 0) {
                        if (is_update (&a.v[i], &b.v[j])) {
                                res->n_updates++;
                                r = add_update (updates, &a.v[i], &b.v[j]);
                        } else if ((k = ext_update_changed (&a, &a.v[i], &b.v[j])) > 0) {
                                res->n_ext_changed += k == 1;
                        } else {
                                r = report_line (report, max_lines, res, &a.v[i], fact_value (&a.v[i]),
                                                 fact_value (&b.v[j]));
                        }
                }
                i++;
                j++;
        }
        facts_free (&a);
        facts_free (&b);
        return r < 0 ? oom (err) : 0;
}

/* ---- Schema dumps ---- */

struct mask {
        regex_t re;
        char *repl;             /* NULL: drop matching lines; else substitute */
};

struct masks {
        struct mask *v;
        size_t n;
};

static void
masks_free (struct masks *m)
{
        for (size_t i = 0; i < m->n; i++) {
                regfree (&m->v[i].re);
                free (m->v[i].repl);
        }
        free (m->v);
}

static int
masks_compile (const char *text, struct masks *m, pgimg_error_t *err)
{
        cleanup_free char *copy = strdup (text ? text : "");
        char *save = NULL;
        size_t cap = 1;

        memset (m, 0, sizeof (*m));
        if (copy == NULL)
                return oom (err);
        for (const char *p = copy; *p; p++)
                cap += *p == '\n';
        if ((m->v = calloc (cap, sizeof (*m->v))) == NULL)
                return oom (err);
        for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
                char *pattern = line, *repl = NULL;
                int rc;
                if (line[0] == '#' || line[strspn (line, " \t")] == '\0')
                        continue;
                if (strncmp (line, "s\t", 2) == 0) {
                        pattern = line + 2;
                        repl = strchr (pattern, '\t');
                        if (repl == NULL) {
                                masks_free (m);
                                return pgimg_make_error (err, EINVAL, "schema mask `%s`: s, a tab, the expression, "
                                                         "a tab, the replacement", line);
                        }
                        *repl++ = '\0';
                }
                if ((rc = regcomp (&m->v[m->n].re, pattern, REG_EXTENDED | (repl ? 0 : REG_NOSUB))) != 0) {
                        char msg[128];
                        regerror (rc, &m->v[m->n].re, msg, sizeof (msg));
                        masks_free (m);
                        return pgimg_make_error (err, EINVAL, "schema mask `%s`: %s", pattern, msg);
                }
                if (repl && (m->v[m->n].repl = strdup (repl)) == NULL) {
                        regfree (&m->v[m->n].re);
                        masks_free (m);
                        return oom (err);
                }
                m->n++;
        }
        return 0;
}

/* Every match of mask in line replaced (\1..\9: its groups), left to
 * right, into out. */
static int
substitute (const struct mask *k, const char *line, struct buf *out)
{
        regmatch_t g[10];
        const char *p = line;

        while (*p && regexec (&k->re, p, 10, g, p == line ? 0 : REG_NOTBOL) == 0) {
                if (buf_add (out, p, (size_t) g[0].rm_so) < 0)
                        return -1;
                for (const char *r = k->repl; *r; r++) {
                        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '9') {
                                const regmatch_t *s = &g[r[1] - '0'];
                                if (s->rm_so >= 0 && buf_add (out, p + s->rm_so, (size_t) (s->rm_eo - s->rm_so)) < 0)
                                        return -1;
                                r++;
                        } else if (buf_add (out, r, 1) < 0) {
                                return -1;
                        }
                }
                if (g[0].rm_eo == g[0].rm_so) {
                        if (buf_add (out, p + g[0].rm_eo, 1) < 0)
                                return -1;
                        p += g[0].rm_eo + 1;
                } else {
                        p += g[0].rm_eo;
                }
        }
        return buf_adds (out, p);
}

static int
str_cmp (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The roles of "CREATE POLICY ... TO a, b USING ..." come out in the
 * catalog's order, which a restore or an upgrade does not keep: sorted. */
static int
sort_policy_roles (const char *line, struct buf *out)
{
        const char *to = strncmp (line, "CREATE POLICY ", 14) == 0 ? strstr (line, " TO ") : NULL;
        const char *end;
        cleanup_free char *list = NULL;
        char *words[64], *save = NULL;
        size_t n = 0;

        if (to == NULL)
                return buf_adds (out, line);
        to += 4;
        end = to + strcspn (to, " ;");
        while (end[0] == ' ' && end[-1] == ',')
                end += 1 + strcspn (end + 1, " ;");
        if ((list = strndup (to, (size_t) (end - to))) == NULL)
                return -1;
        for (char *w = strtok_r (list, ", ", &save); w && n < 64; w = strtok_r (NULL, ", ", &save))
                words[n++] = w;
        qsort (words, n, sizeof (char *), str_cmp);
        if (buf_add (out, line, (size_t) (to - line)) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (buf_addf (out, "%s%s", i ? ", " : "", words[i]) < 0)
                        return -1;
        return buf_adds (out, end);
}

static int
schema_line_dropped (const char *line, const struct masks *m)
{
        if (line[0] == '\0' || strncmp (line, "--", 2) == 0 || strncmp (line, "SET ", 4) == 0
            || strncmp (line, "\\restrict", 9) == 0 || strncmp (line, "\\unrestrict", 11) == 0
            || strncmp (line, "SELECT pg_catalog.set_config('search_path'", 42) == 0)
                return 1;
        for (size_t i = 0; i < m->n; i++)
                if (m->v[i].repl == NULL && regexec (&m->v[i].re, line, 0, NULL, 0) == 0)
                        return 1;
        return 0;
}

/* line with every substitution applied, then policy roles sorted. */
static int
schema_line_normalize (const char *line, const struct masks *m, struct buf *out)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;

        if (buf_adds (&a, line) < 0)
                return -1;
        for (size_t i = 0; i < m->n; i++) {
                if (m->v[i].repl == NULL)
                        continue;
                /* Again until the line stays the same: an anchored
                 * expression replaces one match a pass. */
                for (int pass = 0; pass < 64; pass++) {
                        int same;
                        buf_reset (&b);
                        if (substitute (&m->v[i], a.data, &b) < 0)
                                return -1;
                        same = strcmp (a.data, b.data ? b.data : "") == 0;
                        buf_reset (&a);
                        if (buf_adds (&a, b.data ? b.data : "") < 0)
                                return -1;
                        if (same)
                                break;
                }
        }
        return sort_policy_roles (a.data, out);
}

int
fp_normalize (struct buf *dump, const char *masks, pgimg_error_t *err)
{
        struct masks m;
        cleanup_buf struct buf out = BUF_INIT;
        char *p;

        if (masks_compile (masks, &m, err) < 0)
                return -1;
        for (p = dump->data; p && *p;) {
                char *nl = strchr (p, '\n');
                if (nl)
                        *nl = '\0';
                if (!schema_line_dropped (p, &m)
                    && (schema_line_normalize (p, &m, &out) < 0 || buf_add (&out, "\n", 1) < 0)) {
                        masks_free (&m);
                        return oom (err);
                }
                if (nl == NULL)
                        break;
                p = nl + 1;
        }
        masks_free (&m);
        buf_release (dump);
        *dump = out;
        out = (struct buf) BUF_INIT;
        if (dump->data == NULL && buf_add (dump, "", 0) < 0)
                return oom (err);
        return 0;
}

/* The lines of text, sorted; *v points into *copy. */
static int
sorted_lines (const char *text, char **copy, char ***v, size_t *n)
{
        size_t cap = 1;

        *n = 0;
        *v = NULL;
        if ((*copy = strdup (text ? text : "")) == NULL)
                return -1;
        for (const char *p = *copy; *p; p++)
                cap += *p == '\n';
        if ((*v = calloc (cap, sizeof (char *))) == NULL)
                return -1;
        for (char *p = *copy; *p;) {
                char *nl = strchr (p, '\n');
                if (nl)
                        *nl = '\0';
                (*v)[(*n)++] = p;
                if (nl == NULL)
                        break;
                p = nl + 1;
        }
        qsort (*v, *n, sizeof (char *), str_cmp);
        return 0;
}

int
fp_schema_compare (const char *label, const char *before, const char *after, size_t max_lines,
                   struct buf *report, size_t *n_diffs, pgimg_error_t *err)
{
        cleanup_free char *ca = NULL;
        cleanup_free char *cb = NULL;
        cleanup_free char **a = NULL;
        cleanup_free char **b = NULL;
        size_t na, nb, i = 0, j = 0;
        int r = 0;

        *n_diffs = 0;
        if (sorted_lines (before, &ca, &a, &na) < 0 || sorted_lines (after, &cb, &b, &nb) < 0)
                return oom (err);
        while ((i < na || j < nb) && r == 0) {
                int c = i >= na ? 1 : j >= nb ? -1 : strcmp (a[i], b[j]);
                if (c == 0) {
                        i++;
                        j++;
                        continue;
                }
                if ((*n_diffs)++ < max_lines)
                        r = buf_addf (report, "  schema of %s: only %s: %.200s\n", label, c < 0 ? "before" : "after",
                                      c < 0 ? a[i] : b[j]);
                if (c < 0)
                        i++;
                else
                        j++;
        }
        return r < 0 ? oom (err) : 0;
}

/* ---- Data directory listings ---- */

/* nftw has no user pointer: the walk's state, for one walk at a time. */
static struct {
        const char *root;
        size_t root_len;
        char **lines;
        size_t n, cap;
        unsigned long long bytes;
        pgimg_error_t *err;
        int failed;
} walk;

static int
walk_add (char *line)
{
        if (walk.n == walk.cap) {
                size_t cap = walk.cap ? 2 * walk.cap : 256;
                char **v = realloc (walk.lines, cap * sizeof (char *));
                if (v == NULL) {
                        free (line);
                        return -1;
                }
                walk.lines = v;
                walk.cap = cap;
        }
        walk.lines[walk.n++] = line;
        return 0;
}

static int
hash_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        walk.bytes += (unsigned long long) len;
        return sha256_update (ctx, data, len, err);
}

static int
hash_file (const char *path, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        cleanup_fd int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        static char chunk[1 << 16];

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open %s", path);
        if (sha256_init (&h, err) < 0)
                return -1;
        if (fs_read_chunks (fd, chunk, sizeof (chunk), hash_chunk, &h, err, "read %s", path) < 0)
                return -1;
        return sha256_final_hex (&h, hex, err);
}

static int
walk_one (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        const char *rel = path + walk.root_len + 1;
        char *line = NULL;
        char hex[SHA256_HEX_LEN + 1];

        (void) ftw;
        if (type == FTW_F && S_ISREG (st->st_mode)) {
                if (hash_file (path, hex, walk.err) < 0)
                        goto fail;
                if (asprintf (&line, "%s\t%lld\t%s", rel, (long long) st->st_size, hex) < 0)
                        goto oom;
        } else if (type == FTW_SL) {
                char target[PATH_MAX];
                ssize_t n = readlink (path, target, sizeof (target) - 1);
                if (n < 0) {
                        pgimg_make_error_errno (walk.err, errno, "readlink %s", path);
                        goto fail;
                }
                target[n] = '\0';
                if (asprintf (&line, "%s\t->\t%s", rel, target) < 0)
                        goto oom;
        } else if (type == FTW_DNR || type == FTW_NS) {
                pgimg_make_error (walk.err, EACCES, "cannot read %s", path);
                goto fail;
        } else {
                return 0;
        }
        if (walk_add (line) < 0)
                goto oom;
        return 0;
oom:
        oom (walk.err);
fail:
        walk.failed = 1;
        return 1;
}

int
fp_tree_manifest (const char *dir, struct buf *out, unsigned long long *bytes, pgimg_error_t *err)
{
        int r = 0;

        memset (&walk, 0, sizeof (walk));
        walk.root = dir;
        walk.root_len = strlen (dir);
        walk.err = err;
        if (nftw (dir, walk_one, 32, FTW_PHYS) != 0 && !walk.failed)
                r = pgimg_make_error_errno (err, errno, "list %s", dir);
        else if (walk.failed)
                r = -1;
        if (r == 0) {
                qsort (walk.lines, walk.n, sizeof (char *), str_cmp);
                for (size_t i = 0; i < walk.n && r == 0; i++)
                        if (buf_adds (out, walk.lines[i]) < 0 || buf_add (out, "\n", 1) < 0)
                                r = oom (err);
                if (r == 0 && out->data == NULL && buf_add (out, "", 0) < 0)
                        r = oom (err);
        }
        for (size_t i = 0; i < walk.n; i++)
                free (walk.lines[i]);
        free (walk.lines);
        if (bytes)
                *bytes = walk.bytes;
        memset (&walk, 0, sizeof (walk));
        return r;
}

int
fp_tree_volatile (const char *path)
{
        static const char *const files[] = { "global/pg_control", "postmaster.opts", "postmaster.pid",
                                             "pg_logical/replorigin_checkpoint", "current_logfiles" };
        /* pg_subtrans is zeroed at every start. */
        static const char *const dirs[] = { "pg_wal/", "pg_stat/", "pg_stat_tmp/", "pg_subtrans/", "log/" };

        for (size_t i = 0; i < sizeof (files) / sizeof (files[0]); i++)
                if (strcmp (path, files[i]) == 0)
                        return 1;
        const char *base = strrchr (path, '/');

        for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++)
                if (strncmp (path, dirs[i], strlen (dirs[i])) == 0)
                        return 1;
        /* The relation cache's init files, rebuilt by the first backend. */
        return strcmp (base ? base + 1 : path, "pg_internal.init") == 0;
}

/* The path of a manifest line, as a NUL-terminated copy in out. */
static const char *
line_path (const char *line, char *out, size_t size)
{
        size_t n = strcspn (line, "\t");

        if (n >= size)
                n = size - 1;
        memcpy (out, line, n);
        out[n] = '\0';
        return out;
}

int
fp_tree_compare (const char *before, const char *after, size_t max_lines, struct buf *report,
                 size_t *n_diffs, size_t *n_checked, pgimg_error_t *err)
{
        cleanup_free char *ca = NULL;
        cleanup_free char *cb = NULL;
        cleanup_free char **a = NULL;
        cleanup_free char **b = NULL;
        size_t na, nb, i = 0, j = 0;
        char pa[PATH_MAX], pb[PATH_MAX];
        int r = 0;

        *n_diffs = 0;
        *n_checked = 0;
        if (sorted_lines (before, &ca, &a, &na) < 0 || sorted_lines (after, &cb, &b, &nb) < 0)
                return oom (err);
        while ((i < na || j < nb) && r == 0) {
                int c = i >= na ? 1 : j >= nb ? -1 : strcmp (line_path (a[i], pa, sizeof (pa)), line_path (b[j], pb, sizeof (pb)));
                const char *what = NULL, *path;
                if (c == 0) {
                        path = line_path (a[i], pa, sizeof (pa));
                        if (!fp_tree_volatile (path)) {
                                (*n_checked)++;
                                if (strcmp (a[i], b[j]) != 0)
                                        what = "changed";
                        }
                        i++;
                        j++;
                } else if (c < 0) {
                        path = line_path (a[i++], pa, sizeof (pa));
                        if (!fp_tree_volatile (path))
                                what = "removed";
                } else {
                        path = line_path (b[j++], pb, sizeof (pb));
                        if (!fp_tree_volatile (path))
                                what = "added";
                }
                if (what && (*n_diffs)++ < max_lines)
                        r = buf_addf (report, "  old data directory: %s %s\n", path, what);
        }
        return r < 0 ? oom (err) : 0;
}
