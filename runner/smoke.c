#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/smoke.h"

/* What a smoke file's first line may ask for. */
#define DIRECTIVE "-- pgimg-smoke: database="

void
smoke_tap_parse (const char *text, size_t len, struct smoke_tap *t)
{
        const char *p = text, *end = text + len;
        int in_failure = 0;

        t->planned = -1;
        t->passed = t->failed = t->skipped = 0;
        t->failures = (struct buf) BUF_INIT_MAX (1 << 16);
        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                int a, b;
                /* psql -q prints the rows of SELECT plan() and finish()
                 * with a leading space: TAP lines may be indented. */
                while (n > 0 && *p == ' ') {
                        p++;
                        n--;
                }
                if (n >= 6 && strncmp (p, "not ok", 6) == 0) {
                        t->failed++;
                        in_failure = 1;
                        buf_add (&t->failures, p, n);
                        buf_adds (&t->failures, "\n");
                } else if (n >= 2 && strncmp (p, "ok", 2) == 0 && (n == 2 || p[2] == ' ')) {
                        const char *hash = memchr (p, '#', n);
                        t->passed++;
                        if (hash && (size_t) (p + n - hash) >= 6 && strncasecmp (hash, "# skip", 6) == 0)
                                t->skipped++;
                        in_failure = 0;
                } else if (sscanf (p, "%d..%d", &a, &b) == 2 && a == 1) {
                        t->planned = b;
                        in_failure = 0;
                } else if (in_failure && n > 0 && *p == '#') {
                        buf_add (&t->failures, p, n);
                        buf_adds (&t->failures, "\n");
                }
                p += n + (nl ? 1 : 0);
        }
}

int
smoke_tap_ok (const struct smoke_tap *t)
{
        return t->planned >= 0 && t->failed == 0 && t->passed == t->planned;
}

/* "postgres" for a file that asks for it, else "smoke". */
static int
database_of (const char *file, char db[64], pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;
        size_t n = strlen (DIRECTIVE);

        if (fs_read_file (file, 1 << 20, &text, err) < 0)
                return -1;
        strcpy (db, "smoke");
        if (text.len > n && strncmp (text.data, DIRECTIVE, n) == 0) {
                size_t len = strcspn (text.data + n, " \r\n");
                if (len == 0 || len >= 64)
                        return pgimg_make_error (err, EINVAL, "`%s`: bad first line", file);
                memcpy (db, text.data + n, len);
                db[len] = '\0';
        }
        return 0;
}

static int
psql (struct engine *eng, const char *db, const char *command, const char *file,
      struct buf *out, struct buf *errout, int *status, pgimg_error_t *err)
{
        const char *argv[] = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", db,
                               command ? "-c" : "-f", command ? command : "-", NULL };
        return engine_exec (eng, argv, file, out, errout, status, err);
}

/* A fresh database with pgTAP in it. */
static int
prepare (struct engine *eng, const char *db, struct buf *errout, int *status, pgimg_error_t *err)
{
        if (strcmp (db, "smoke") == 0) {
                if (psql (eng, "postgres", "DROP DATABASE IF EXISTS smoke", NULL, NULL, errout, status, err) < 0)
                        return -1;
                if (!WIFEXITED (*status) || WEXITSTATUS (*status) != 0)
                        return 0;
                if (psql (eng, "postgres", "CREATE DATABASE smoke", NULL, NULL, errout, status, err) < 0)
                        return -1;
                if (!WIFEXITED (*status) || WEXITSTATUS (*status) != 0)
                        return 0;
        }
        return psql (eng, db, "CREATE EXTENSION IF NOT EXISTS pgtap", NULL, NULL, errout, status, err);
}

/* The first line of text, tabs and all, as a one-line reason. */
static void
first_line (char *out, size_t size, const char *text)
{
        size_t n = strcspn (text, "\n");
        if (n >= size)
                n = size - 1;
        memcpy (out, text, n);
        out[n] = '\0';
        for (char *p = out; *p; p++)
                if (*p == '\t' || *p == '|' || *p == '\r')
                        *p = ' ';
}

/* The line of psql's stderr that says what went wrong: the first
 * ERROR:, FATAL: or PANIC: of the server, or psql's own "error:" (a lost
 * connection), not the NOTICEs before it; else its first line. */
const char *
smoke_error_line (const char *text)
{
        static const char *const needles[] = { "ERROR:", "FATAL:", "PANIC:", " error: " };

        for (size_t i = 0; i < sizeof (needles) / sizeof (needles[0]); i++) {
                const char *hit = strstr (text, needles[i]);
                if (hit) {
                        while (hit > text && hit[-1] != '\n')
                                hit--;
                        return hit;
                }
        }
        return text;
}

/* Why a build failed, without the "; log: PATH" that names a file on
 * the machine that ran it. */
static void
build_reason (char *out, size_t size, const char *msg)
{
        first_line (out, size, msg);
        char *log = strstr (out, "; log: ");
        if (log)
                *log = '\0';
}

static void
print_indented (const char *text, size_t len)
{
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                printf ("#   %.*s\n", (int) n, p);
                p += n + 1;
        }
}

static int
run_case (struct engine *eng, struct smoke_case *c, size_t number, int *passed,
          pgimg_error_t *err)
{
        cleanup_buf struct buf out = BUF_INIT_MAX (4 << 20);
        cleanup_buf struct buf errout = BUF_INIT_MAX (1 << 20);
        struct smoke_tap tap;
        char db[64];
        int status;

        *passed = 0;
        if (c->not_built) {
                printf ("not ok %zu - %s: not built: %s\n", number, c->name, c->not_built);
                build_reason (c->reason, sizeof (c->reason), c->not_built);
                return 0;
        }
        if (!fs_exists (c->file)) {
                printf ("not ok %zu - %s: no smoke test `%s`\n", number, c->name, c->file);
                snprintf (c->reason, sizeof (c->reason), "no smoke test");
                return 0;
        }
        if (database_of (c->file, db, err) < 0)
                return -1;
        if (prepare (eng, db, &errout, &status, err) < 0)
                return -1;
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
                printf ("not ok %zu - %s: could not prepare database `%s`\n", number, c->name, db);
                snprintf (c->reason, sizeof (c->reason), "could not prepare database %s: ", db);
                first_line (c->reason + strlen (c->reason), sizeof (c->reason) - strlen (c->reason),
                            errout.len ? smoke_error_line (errout.data) : "no output");
                print_indented (errout.data ? errout.data : "", errout.len);
                return 0;
        }
        if (psql (eng, db, NULL, c->file, &out, &errout, &status, err) < 0)
                return -1;
        smoke_tap_parse (out.data ? out.data : "", out.len, &tap);
        if (WIFEXITED (status) && WEXITSTATUS (status) == 0 && smoke_tap_ok (&tap)) {
                printf ("ok %zu - %s (%d assertions%s)\n", number, c->name, tap.passed,
                        tap.skipped ? ", some skipped" : "");
                *passed = 1;
        } else {
                printf ("not ok %zu - %s: %d of %d assertions passed%s\n", number, c->name,
                        tap.passed - tap.skipped, tap.planned < 0 ? tap.passed + tap.failed : tap.planned,
                        WIFEXITED (status) && WEXITSTATUS (status) == 0 ? "" : ", psql failed");
                print_indented (tap.failures.data ? tap.failures.data : "", tap.failures.len);
                print_indented (errout.data ? errout.data : "", errout.len);
                first_line (c->reason, sizeof (c->reason),
                            tap.failures.len ? tap.failures.data
                            : errout.len ? smoke_error_line (errout.data) : "no TAP output");
        }
        buf_release (&tap.failures);
        if (strcmp (db, "smoke") == 0)
                psql (eng, "postgres", "DROP DATABASE IF EXISTS smoke", NULL, NULL, NULL, &status, err);
        return 0;
}

/* Quote s as an SQL literal ('…', quotes doubled) or identifier. */
static int
sql_quoted (struct buf *b, const char *s, char q)
{
        if (buf_add (b, &q, 1) < 0)
                return -1;
        for (; *s; s++)
                if ((*s == q && buf_add (b, &q, 1) < 0) || buf_add (b, s, 1) < 0)
                        return -1;
        return buf_add (b, &q, 1);
}

/* The C functions of the extension (-v ext=…), the modules they name
 * and the libraries of PostgreSQL's lib directory that this backend has
 * loaded, after loading every one of them (fmgr_c_validator finds each
 * symbol in its module): "probin probin|lib.so lib.so". */
static const char load_query[] =
        "CREATE TEMP VIEW pgimg_c AS SELECT p.oid, p.probin FROM pg_catalog.pg_proc p"
        " JOIN pg_catalog.pg_depend d ON d.objid = p.oid AND d.deptype = 'e'"
        "  AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"
        "  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
        " JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid"
        " JOIN pg_catalog.pg_language l ON l.oid = p.prolang"
        " WHERE e.extname = :'ext' AND l.lanname = 'c';\n"
        "SELECT count(*) FROM pgimg_c, LATERAL pg_catalog.fmgr_c_validator (pgimg_c.oid) \\g /dev/null\n"
        "SELECT coalesce ((SELECT pg_catalog.string_agg (DISTINCT probin, ' ') FROM pgimg_c), '') || '|'"
        " || coalesce ((SELECT pg_catalog.string_agg (DISTINCT pg_catalog.substring (m, '[^/]+$'), ' ')"
        "   FROM pg_catalog.regexp_split_to_table (pg_catalog.pg_read_file ('/proc/self/maps', 0, 16777216), E'\\n') m"
        "   WHERE m ~ '/lib/postgresql/[^/]+/lib/[^/]+[.]so$'), '');\n";

/* psql -tA in database smoke with -v ext=EXT (for a script), the
 * commands on stdin (script) or given with -c; its output trimmed.  0 when it ran and
 * exited 0, 1 when it failed (errout says why), <0 when the engine
 * failed. */
static int
psql_smoke (struct engine *eng, const char *ext, const char *script, const char *c1, const char *c2,
            struct buf *out, struct buf *errout, pgimg_error_t *err)
{
        cleanup_free char *var = NULL, *path = NULL;
        int status;

        if (asprintf (&var, "ext=%s", ext) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "update test");
        const char *argv[] = { "psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-v", var, "-U", "postgres",
                               "-d", "smoke", c1 ? "-c" : "-f", c1 ? c1 : "-", c2 ? "-c" : NULL, c2, NULL };
        if (script) {
                char tmpl[] = "/tmp/pgimg-update-XXXXXX";
                int fd = mkstemp (tmpl);
                if (fd < 0)
                        return pgimg_make_error_errno (err, errno, "update test");
                path = strdup (tmpl);
                int w = fs_write_all (fd, script, strlen (script));
                close (fd);
                if (path == NULL || w < 0) {
                        unlink (tmpl);
                        return pgimg_make_error_errno (err, ENOMEM, "update test");
                }
        }
        int rc = engine_exec (eng, argv, path, out, errout, &status, err);
        if (path)
                unlink (path);
        if (rc < 0)
                return -1;
        while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' '))
                out->data[--out->len] = '\0';
        return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : 1;
}

/* Whether a word of the space-separated list ends in "-VERSION" plus
 * suffix; all: every word does (and there is one). */
static int
words_end (const char *list, const char *version, const char *suffix, int all)
{
        cleanup_free char *tail = NULL;
        int any = 0, every = 1;

        if (asprintf (&tail, "-%s%s", version, suffix) < 0)
                return 0;
        for (const char *p = list; *p;) {
                size_t n = strcspn (p, " |");
                int hit = n >= strlen (tail) && strncmp (p + n - strlen (tail), tail, strlen (tail)) == 0;
                any |= hit;
                every &= hit;
                p += n;
                if (*p == '|')
                        break;
                p += *p == ' ';
        }
        return all ? any && every : any;
}

/* What the two loads say: the old version's functions ran its module,
 * the updated ones run the new version's (when the image versions the
 * extension's module: docs/extension-recipes.md).  NULL when right. */
static const char *
judge_modules (const struct smoke_update *u, const char *before, const char *after)
{
        const char *maps_before = strchr (before, '|'), *maps_after = strchr (after, '|');

        if (maps_before == NULL || maps_after == NULL)
                return "no report of the modules";
        if (!words_end (before, u->from, "", 0))
                return NULL;    /* no versioned module: pure SQL, or one module (preloaded) */
        if (!words_end (after, u->to, "", 1))
                return "after the update, a C function names another module than the new version's";
        if (!words_end (maps_before + 1, u->from, ".so", 0))
                return "before the update, the old version's module was not loaded";
        if (!words_end (maps_after + 1, u->to, ".so", 0) || words_end (maps_after + 1, u->from, ".so", 0))
                return "after the update, the new version's module alone should be loaded";
        return NULL;
}

/* The schema the smoke test wants the extension in ("CREATE EXTENSION
 * IF NOT EXISTS pg_partman SCHEMA partman"), or "". */
static void
smoke_schema (const char *file, const char *ext, char schema[64])
{
        cleanup_buf struct buf text = BUF_INIT;
        cleanup_free char *needle = NULL;
        pgimg_error_t ignored = NULL;
        const char *hit;

        schema[0] = '\0';
        if (file == NULL || asprintf (&needle, "CREATE EXTENSION IF NOT EXISTS %s SCHEMA ", ext) < 0)
                return;
        if (fs_read_file (file, 1 << 20, &text, &ignored) < 0) {
                pgimg_error_free (&ignored);
                return;
        }
        if ((hit = strstr (text.data, needle)) != NULL) {
                size_t n = strspn (hit + strlen (needle), "abcdefghijklmnopqrstuvwxyz0123456789_");
                if (n < 64) {
                        memcpy (schema, hit + strlen (needle), n);
                        schema[n] = '\0';
                }
        }
}

/* Session 1: the old version, created and loaded; its report into before. */
static int
create_old (struct engine *eng, struct smoke_update *u, struct buf *before, struct buf *errout,
            pgimg_error_t *err)
{
        cleanup_buf struct buf script = BUF_INIT;
        char schema[64];
        int rc = 0;

        smoke_schema (u->file, u->ext, schema);
        if (schema[0])
                rc |= buf_addf (&script, "CREATE SCHEMA IF NOT EXISTS %s;\n", schema);
        rc |= buf_adds (&script, "CREATE EXTENSION ");
        rc |= sql_quoted (&script, u->ext, '"');
        if (schema[0])
                rc |= buf_addf (&script, " SCHEMA %s", schema);
        rc |= buf_adds (&script, " VERSION ");
        rc |= sql_quoted (&script, u->from, '\'');
        rc |= buf_adds (&script, " CASCADE;\n");
        rc |= buf_adds (&script, load_query);
        if (rc < 0)
                return pgimg_make_error_errno (err, ENOMEM, "update test");
        return psql_smoke (eng, u->ext, script.data, NULL, NULL, before, errout, err);
}

/* Session 2: the update, and the installed version into version. */
static int
update_new (struct engine *eng, struct smoke_update *u, struct buf *version, struct buf *errout,
            pgimg_error_t *err)
{
        cleanup_buf struct buf update = BUF_INIT, query = BUF_INIT;
        int rc = 0;

        rc |= buf_adds (&update, "ALTER EXTENSION ");
        rc |= sql_quoted (&update, u->ext, '"');
        rc |= buf_adds (&update, " UPDATE TO ");
        rc |= sql_quoted (&update, u->to, '\'');
        /* psql's variables are not interpolated in -c commands. */
        rc |= buf_adds (&query, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = ");
        rc |= sql_quoted (&query, u->ext, '\'');
        if (rc < 0)
                return pgimg_make_error_errno (err, ENOMEM, "update test");
        return psql_smoke (eng, u->ext, NULL, update.data, query.data, version, errout, err);
}

/* The smoke test on the updated extension, when it runs in database
 * smoke: *why says why it failed. */
static int
use_new (struct engine *eng, struct smoke_update *u, const char **why, struct buf *errout, pgimg_error_t *err)
{
        cleanup_buf struct buf out = BUF_INIT_MAX (4 << 20);
        struct smoke_tap tap;
        char db[64];
        int status;

        if (u->file == NULL || !fs_exists (u->file))
                return 0;
        if (database_of (u->file, db, err) < 0)
                return -1;
        if (strcmp (db, "smoke") != 0)
                return 0;
        if (psql (eng, "smoke", "CREATE EXTENSION IF NOT EXISTS pgtap", NULL, NULL, errout, &status, err) < 0
            || psql (eng, "smoke", NULL, u->file, &out, errout, &status, err) < 0)
                return -1;
        smoke_tap_parse (out.data ? out.data : "", out.len, &tap);
        if (!(WIFEXITED (status) && WEXITSTATUS (status) == 0 && smoke_tap_ok (&tap))) {
                *why = "its smoke test fails on the updated extension";
                buf_add (errout, tap.failures.data ? tap.failures.data : "", tap.failures.len);
        }
        buf_release (&tap.failures);
        return 0;
}

/* The module lists of a report ("a b|x.so"), for a TAP line. */
static void
print_report (const char *when, const struct buf *report)
{
        printf ("#   %s: %.*s\n", when, report->data ? (int) strcspn (report->data, "|") : 0,
                report->data ? report->data : "");
}

/* The old version created and loaded (session 1), updated (2), the new
 * one loaded (3) and its smoke test run: each its own backend, as a
 * user's sessions are before and after an update. */
static int
run_update (struct engine *eng, struct smoke_update *u, size_t number, pgimg_error_t *err)
{
        cleanup_buf struct buf before = BUF_INIT_MAX (1 << 16), after = BUF_INIT_MAX (1 << 16);
        cleanup_buf struct buf version = BUF_INIT_MAX (1 << 16), errout = BUF_INIT_MAX (1 << 16);
        const char *why = NULL;
        int status, r;

        u->passed = 0;
        if (psql (eng, "postgres", "DROP DATABASE IF EXISTS smoke", NULL, NULL, &errout, &status, err) < 0
            || psql (eng, "postgres", "CREATE DATABASE smoke", NULL, NULL, &errout, &status, err) < 0)
                return -1;
        if ((r = create_old (eng, u, &before, &errout, err)) != 0)
                why = "could not create and load the old version";
        else if ((r = update_new (eng, u, &version, &errout, err)) != 0
                 || strcmp (version.data ? version.data : "", u->to) != 0)
                why = "the update did not reach the new version";
        else if ((r = psql_smoke (eng, u->ext, load_query, NULL, NULL, &after, &errout, err)) != 0)
                why = "could not load the updated functions";
        else if ((why = judge_modules (u, before.data ? before.data : "", after.data ? after.data : "")) == NULL)
                r = use_new (eng, u, &why, &errout, err);
        if (r < 0)
                return -1;
        if (why == NULL) {
                printf ("ok %zu - %s: ALTER EXTENSION %s UPDATE", number, u->name, u->ext);
                if (before.data && before.data[0] != '|')
                        printf (" (C functions: %.*s -> %.*s)", (int) strcspn (before.data, "|"), before.data,
                                after.data ? (int) strcspn (after.data, "|") : 0, after.data ? after.data : "");
                printf ("\n");
                u->passed = 1;
        } else {
                printf ("not ok %zu - %s: ALTER EXTENSION %s UPDATE TO '%s': %s (installed: %s)\n", number,
                        u->name, u->ext, u->to, why, version.data ? version.data : "nothing");
                print_report ("before", &before);
                print_report ("after", &after);
                print_indented (errout.data ? errout.data : "", errout.len);
        }
        psql (eng, "postgres", "DROP DATABASE IF EXISTS smoke", NULL, NULL, NULL, &status, err);
        return 0;
}

int
smoke_run (struct engine *eng, struct smoke_case *cases, size_t n, struct smoke_update *updates,
           size_t n_updates, struct smoke_report *rep, pgimg_error_t *err)
{
        rep->passed = rep->failed = 0;
        printf ("1..%zu\n", n + n_updates);
        for (size_t i = 0; i < n; i++) {
                int ok;
                if (run_case (eng, &cases[i], i + 1, &ok, err) < 0)
                        return -1;
                cases[i].passed = ok;
                if (ok)
                        rep->passed++;
                else
                        rep->failed++;
                fflush (stdout);
        }
        for (size_t i = 0; i < n_updates; i++) {
                if (run_update (eng, &updates[i], n + i + 1, err) < 0)
                        return -1;
                if (updates[i].passed)
                        rep->passed++;
                else
                        rep->failed++;
                fflush (stdout);
        }
        return 0;
}
