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

static int
run_update (struct engine *eng, struct smoke_update *u, size_t number, pgimg_error_t *err)
{
        cleanup_buf struct buf create = BUF_INIT, update = BUF_INIT, query = BUF_INIT;
        cleanup_buf struct buf out = BUF_INIT_MAX (1 << 16);
        cleanup_buf struct buf errout = BUF_INIT_MAX (1 << 16);
        int status, rc = 0;

        u->passed = 0;
        rc |= buf_adds (&create, "CREATE EXTENSION ");
        rc |= sql_quoted (&create, u->ext, '"');
        rc |= buf_adds (&create, " VERSION ");
        rc |= sql_quoted (&create, u->from, '\'');
        rc |= buf_adds (&create, " CASCADE");
        rc |= buf_adds (&update, "ALTER EXTENSION ");
        rc |= sql_quoted (&update, u->ext, '"');
        rc |= buf_adds (&update, " UPDATE TO ");
        rc |= sql_quoted (&update, u->to, '\'');
        rc |= buf_adds (&query, "SELECT extversion FROM pg_extension WHERE extname = ");
        rc |= sql_quoted (&query, u->ext, '\'');
        if (rc < 0)
                return pgimg_make_error_errno (err, ENOMEM, "update test");
        const char *argv[] = { "psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "smoke",
                               "-c", create.data, "-c", update.data, "-c", query.data, NULL };
        if (psql (eng, "postgres", "DROP DATABASE IF EXISTS smoke", NULL, NULL, &errout, &status, err) < 0
            || psql (eng, "postgres", "CREATE DATABASE smoke", NULL, NULL, &errout, &status, err) < 0
            || engine_exec (eng, argv, NULL, &out, &errout, &status, err) < 0)
                return -1;
        while (out.len && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == ' '))
                out.data[--out.len] = '\0';
        if (WIFEXITED (status) && WEXITSTATUS (status) == 0 && out.data && strcmp (out.data, u->to) == 0) {
                printf ("ok %zu - %s: ALTER EXTENSION %s UPDATE\n", number, u->name, u->ext);
                u->passed = 1;
        } else {
                printf ("not ok %zu - %s: ALTER EXTENSION %s UPDATE TO '%s' (installed: %s)\n", number, u->name,
                        u->ext, u->to, out.data ? out.data : "nothing");
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
