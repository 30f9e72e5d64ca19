/* migrate_method.c - the three ways the migration test moves a cluster
 * to NEW: pg_upgrade (after its --check), pg_dumpall piped into psql,
 * and a restart on NEW's binaries (see migrate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/fingerprint.h"
#include "runner/migrate_internal.h"

static int
controldata_checksums (struct mig *m, int *on, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *path = NULL;
        cleanup_fd int fd = -1;
        const char *p;

        if (asprintf (&path, "%s/controldata.txt", m->out) < 0)
                return oom (err);
        if ((fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", path);
        if (mig_step (m, &m->o->old_img, 0, "read the old control file", NULL, fd,
                  "exec pg_controldata /var/lib/postgresql/old", err) < 0)
                return -1;
        if (fs_read_file (path, 1 << 20, &b, err) < 0)
                return -1;
        p = b.data ? strstr (b.data, "Data page checksum version:") : NULL;
        if (p == NULL)
                return pgimg_make_error (err, EIO, "pg_controldata of the old cluster has no checksum line");
        *on = strtol (p + strlen ("Data page checksum version:"), NULL, 10) != 0;
        return 0;
}

/* pg_upgrade's output from its first failed check on, and the files it
 * names (the lists of what to fix), for the user to read. */
static int
check_report (struct mig *m, const char *output, pgimg_error_t *err)
{
        const char *p = output ? strstr (output, "failed check") : NULL;
        struct buf *b = &m->r->check_output;

        if (p == NULL && output)
                p = strstr (output, "fatal");

        if (p == NULL)
                p = output ? output : "";
        while (p > output && p[-1] != '\n')
                p--;
        if (buf_adds (b, p) < 0)
                return oom (err);
        for (const char *q = strstr (p, "/var/lib/postgresql/"); q; q = strstr (q + 1, "/var/lib/postgresql/")) {
                size_t n = strcspn (q, " \n\t");
                cleanup_free char *inside = strndup (q, n);
                cleanup_free char *host = NULL;
                cleanup_buf struct buf f = BUF_INIT;
                pgimg_error_t ignored = NULL;

                if (inside == NULL || asprintf (&host, "%s/%s", m->clusters, inside + strlen ("/var/lib/postgresql/")) < 0)
                        return oom (err);
                if (fs_read_file (host, 1 << 16, &f, &ignored) == 0 && f.data) {
                        if (buf_addf (b, "\n%s:\n%s", inside, f.data) < 0)
                                return oom (err);
                }
                pgimg_error_free (&ignored);
        }
        return 0;
}

/* The line of pg_upgrade's report that says what failed, its spaces
 * squeezed: the failed check's, or the one before "Failure, exiting"
 * when no check says "failed" (a mode the filesystem lacks). */
static void
check_line (const char *report, char *line, size_t size)
{
        const char *first = report;
        const char *fail = strstr (first, "\nFailure, exiting");
        size_t k = 0;

        if (strstr (first, "failed check") == NULL && strstr (first, "fatal") == NULL && fail) {
                while (fail > first && (fail[-1] == '\n' || fail[-1] == ' '))
                        fail--;
                while (fail > first && fail[-1] != '\n')
                        fail--;
                first = fail;
        }
        for (const char *q = first; *q && *q != '\n' && k + 1 < size; q++)
                if (!(*q == ' ' && k > 0 && line[k - 1] == ' '))
                        line[k++] = *q;
        line[k] = '\0';
}

/* pg_upgrade --check failed, its output in out_path: keep its report
 * for the user, and make the line that says why the error. */
static int
check_failed (struct mig *m, const char *out_path, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_buf struct buf output = BUF_INIT;
        pgimg_error_t ignored = NULL;
        char line[256];

        if (fs_read_file (out_path, 1 << 20, &output, &ignored) == 0 && output.data)
                check_report (m, output.data, &ignored);
        pgimg_error_free (&ignored);
        if (m->r->check_output.len == 0)
                return -1;
        check_line (m->r->check_output.data, line, sizeof (line));
        pgimg_error_free (err);
        if (o->mode == MIG_CLONE && strstr (line, "clone") != NULL)
                return pgimg_make_error (err, EOPNOTSUPP,
                                         "pg_upgrade --check failed: %s: --clone needs a filesystem with "
                                         "reflinks (XFS, Btrfs) under %s; use copy or --link here",
                                         line, o->work_dir);
        return pgimg_make_error (err, EIO, "pg_upgrade --check failed: %s (its report is above)", line);
}

int
mig_run_pg_upgrade (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_free char *cmd = NULL;
        cleanup_free char *check = NULL;
        cleanup_free char *run = NULL;
        cleanup_free char *analyze = NULL;
        cleanup_free char *out_path = NULL;
        cleanup_buf struct buf settings = BUF_INIT;
        cleanup_fd int fd = -1;
        /* Copy is the default; pg_upgrade has a --copy option from 16 on only. */
        const char *mode = o->mode == MIG_LINK ? " --link" : o->mode == MIG_CLONE ? " --clone"
                           : o->new_img.major >= 16 ? " --copy" : "";
        int checksums = 0, r;

        if (controldata_checksums (m, &checksums, err) < 0)
                return -1;
        /* initdb enables checksums by default from 18 on: the new cluster
         * must say what the old one says, or pg_upgrade refuses it. */
        if (mig_init_cluster (m, &o->new_img, 0, checksums ? "--data-checksums"
                              : o->new_img.major >= 18 ? "--no-data-checksums" : "", err) < 0)
                return -1;
        /* The new server restores OLD's roles and schemas: the recipes'
         * restore settings apply to it (credcheck and hashed passwords). */
        if (mig_restore_settings (o, &o->new_img, &settings, err) < 0)
                return -1;
        /* From 18 pg_upgrade restores the planner statistics before the
         * data is there: an extension whose type's input reads its own
         * tables (unit) says so, and ANALYZE makes them instead. */
        for (size_t i = 0; o->new_img.major >= 18 && i < o->n_exts; i++)
                if (o->exts[i].no_statistics && mig_has_control (&o->old_img, o->exts[i].name) == 1
                    && buf_addf (&m->r->no_statistics, "%s%s: %s", m->r->no_statistics.len ? "; " : "",
                                 o->exts[i].name, o->exts[i].no_statistics) < 0)
                        return oom (err);
        if (asprintf (&cmd, "pg_upgrade -U postgres -b /tmp/old/usr/lib/postgresql/%d/bin "
                      "-B /usr/lib/postgresql/%d/bin -d /var/lib/postgresql/old -D /var/lib/postgresql/new "
                      "-p 50432 -P 50433 --jobs %d%s%s%s%s%s",
                      o->old_img.major, o->new_img.major, o->jobs, mode, settings.len ? " -O '" : "",
                      settings.data, settings.len ? "'" : "", m->r->no_statistics.len ? " --no-statistics" : "") < 0
            || asprintf (&check, "exec %s --check", cmd) < 0 || asprintf (&run, "exec %s", cmd) < 0
            || asprintf (&out_path, "%s/pg_upgrade-check.txt", m->out) < 0)
                return oom (err);
        if ((fd = open (out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", out_path);
        r = mig_step (m, &o->new_img, 1, "pg_upgrade --check", NULL, fd, check, err);
        if (r < 0 && !mig_was_interrupted ())
                return check_failed (m, out_path, err);
        if (r < 0 || o->check_only)
                return r;
        if (mig_step (m, &o->new_img, 1, "pg_upgrade", NULL, -1, run, err) < 0)
                return -1;
        if (mig_server_start (m, &o->new_img, 0, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        /* From 18 on pg_upgrade carries the planner statistics over; only
         * what it could not carry needs ANALYZE. */
        if (asprintf (&analyze, "exec vacuumdb -p %d --all --analyze-in-stages --jobs %d%s", NEW_PORT, o->jobs,
                      o->new_img.major >= 18 && m->r->no_statistics.len == 0 ? " --missing-stats-only" : "") < 0)
                return oom (err);
        if (mig_step (m, &o->new_img, 0, "rebuild statistics", NULL, -1, analyze, err) < 0)
                return -1;
        return mig_update_extensions (m, NEW_PORT, err);
}

/* The filter between pg_dumpall and psql.  After the dump's CREATE
 * EXTENSION NAME it inserts the recipe's before_restore
 * (/tmp/in/restore/NAME.sql), with the search path on the extension's
 * schema (the dump empties it, and the recipe's SQL names its functions
 * as their documentation does) and emptied again after; an extension listed in
 * /tmp/out/restore-versions.tsv for the database being restored
 * ("db<TAB>name<TAB>version", versions NEW has a script for) is created
 * at that version, OLD's: pg_dump leaves the version out on purpose, and
 * a newer version's CREATE EXTENSION may seed config rows that OLD's
 * dump carries too (PoWA).  The update to NEW's version follows the
 * restore, as after pg_upgrade. */
static const char restore_awk[] =
        "BEGIN { while ((getline l < \"/tmp/out/restore-versions.tsv\") > 0) {\n"
        "    split(l, a, \"\\t\"); v[a[1] SUBSEP a[2]] = a[3] } }\n"
        "/^\\\\connect / { db = ($2 == \"-reuse-previous=on\") ? $3 : $2\n"
        "  if (db ~ /^\"dbname=/) { sub(/^\"dbname='/, \"\", db); sub(/'\"$/, \"\", db) } else gsub(/\"/, \"\", db) }\n"
        "/^CREATE EXTENSION / { n = ($3 == \"IF\") ? $6 : $3; sub(/;$/, \"\", n); gsub(/\"/, \"\", n)\n"
        "  if ((db SUBSEP n) in v) { x = v[db SUBSEP n]; gsub(/'/, \"''\", x); sub(/;$/, \" VERSION '\" x \"';\") } }\n"
        "{ print }\n"
        "/^CREATE EXTENSION / { f = \"/tmp/in/restore/\" n \".sql\"; s = \"public\"\n"
        "  if (match($0, / SCHEMA [^ ;]+/)) s = substr($0, RSTART + 8, RLENGTH - 8)\n"
        "  if ((getline l < f) > 0) {\n"
        "    print \"SET search_path = \" s \", pg_catalog;\"; print l\n"
        "    while ((getline l < f) > 0) print l\n"
        "    print \"SELECT pg_catalog.set_config('search_path', '', false);\" }\n"
        "  close(f) }\n";

/* Shell lines that write /tmp/out/restore-versions.tsv: for each of OLD's
 * databases, the installed version of each extension whose recipe says
 * restore_old_version, where NEW has a script for that version.  OLD's
 * version strings reach NEW's psql only as variables. */
static int
restore_versions_script (const struct mig_opts *o, struct buf *b, pgimg_error_t *err)
{
        cleanup_buf struct buf names = BUF_INIT;

        for (size_t i = 0; i < o->n_exts; i++)
                if (o->exts[i].restore_old_version && buf_addf (&names, "%s'%s'", names.len ? ", " : "",
                                                                 o->exts[i].name) < 0)
                        return oom (err);
        if (names.len == 0)
                return buf_adds (b, ": > /tmp/out/restore-versions.tsv\n") < 0 ? oom (err) : 0;
        if (buf_addf (b,
                      "for db in $(psql -X -At -p %d -d postgres -c \"SELECT datname FROM pg_database WHERE datallowconn "
                      "AND NOT datistemplate ORDER BY 1\"); do\n"
                      "  psql -X -At -F \"$(printf '\\t')\" -p %d -d \"$db\" -c \"SELECT current_database(), extname, "
                      "extversion FROM pg_extension WHERE extname = ANY (ARRAY[%s]::text[])\"\n"
                      "done | while IFS=\"$(printf '\\t')\" read -r d n v; do\n"
                      "  if [ \"$(echo \"SELECT count(*) FROM pg_available_extension_versions WHERE name = :'n' "
                      "AND version = :'v'\" | psql -X -At -p %d -d postgres -v n=\"$n\" -v v=\"$v\")\" = 1 ]; then\n"
                      "    printf '%%s\\t%%s\\t%%s\\n' \"$d\" \"$n\" \"$v\"\n"
                      "  fi\n"
                      "done > /tmp/out/restore-versions.tsv\n",
                      OLD_PORT, OLD_PORT, names.data, NEW_PORT) < 0)
                return oom (err);
        return 0;
}

/* The report's line of what was restored at OLD's version, and why. */
static int
report_old_versions (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf used = BUF_INIT;

        if (mig_read_out (m, "restore-versions.tsv", &used, err) < 0)
                return -1;
        for (size_t i = 0; used.len && i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                cleanup_free char *key = NULL;
                const char *at;
                if (e->restore_old_version == NULL)
                        continue;
                if (asprintf (&key, "\t%s\t", e->name) < 0)
                        return oom (err);
                if ((at = strstr (used.data, key)) == NULL)
                        continue;
                at += strlen (key);
                if (buf_addf (&m->r->old_version, "%s%s %.*s (%s)", m->r->old_version.len ? "; " : "", e->name,
                              (int) strcspn (at, "\n"), at, e->restore_old_version) < 0)
                        return oom (err);
        }
        return 0;
}

/* The recipes' SQL for a restored dump: before_restore into
 * in/restore/NAME.sql, which the restore inserts right after the dump's
 * CREATE EXTENSION NAME (TimescaleDB's timescaledb_pre_restore() must
 * run in the database before its catalog's rows are loaded), and the
 * after_restore lines for a loop over NEW's databases into *after. */
static int
restore_steps (struct mig *m, struct buf *after, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        cleanup_free char *awk = NULL;

        if (asprintf (&dir, "%s/restore", m->in) < 0)
                return oom (err);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        if (asprintf (&awk, "%s/restore.awk", m->in) < 0)
                return oom (err);
        if (fs_write_file_atomic (awk, restore_awk, strlen (restore_awk), 0644, err) < 0)
                return -1;
        for (size_t i = 0; i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                cleanup_free char *path = NULL;
                cleanup_free char *sql = NULL;
                if (e->after_restore && mig_ext_sql (after, e->name, e->after_restore) < 0)
                        return oom (err);
                if (e->before_restore == NULL)
                        continue;
                if (asprintf (&path, "%s/%s.sql", dir, e->name) < 0 || asprintf (&sql, "%s;\n", e->before_restore) < 0)
                        return oom (err);
                if (fs_write_file_atomic (path, sql, strlen (sql), 0644, err) < 0)
                        return -1;
        }
        if (after->data == NULL && buf_add (after, "", 0) < 0)
                return oom (err);
        return 0;
}

int
mig_run_pg_dumpall (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_free char *script = NULL;
        cleanup_buf struct buf errors = BUF_INIT;
        cleanup_buf struct buf after = BUF_INIT;
        cleanup_buf struct buf settings = BUF_INIT;
        cleanup_buf struct buf versions = BUF_INIT;
        const char *p;

        if (mig_init_cluster (m, &o->new_img, 0, "", err) < 0 || restore_steps (m, &after, err) < 0)
                return -1;
        if (mig_restore_settings (o, &o->new_img, &settings, err) < 0 || restore_versions_script (o, &versions, err) < 0)
                return -1;
        if (mig_server_start (m, &o->old_img, 1, OLD_PORT, &m->old_srv, err) < 0
            || mig_server_start (m, &o->new_img, 0, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        /* NEW's pg_dumpall, as the docs advise; the superuser exists
         * already, so its CREATE ROLE is the one error allowed.  After a
         * CREATE EXTENSION of the dump comes its recipe's before_restore. */
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "%s"
                      "pg_dumpall -p %d | awk -f /tmp/in/restore.awk"
                      " | PGOPTIONS='%s' psql -X -q -p %d -d postgres > /dev/null 2> /tmp/out/restore-errors.txt\n"
                      "export PGPORT=%d\n"
                      "for db in $(psql -X -At -d postgres -c \"SELECT datname FROM pg_database WHERE datallowconn "
                      "AND NOT datistemplate ORDER BY 1\"); do\n"
                      "%s"
                      "done\n"
                      "vacuumdb -p %d --all --analyze-only --jobs %d\n",
                      versions.data, OLD_PORT, settings.data, NEW_PORT, NEW_PORT, after.data, NEW_PORT, o->jobs) < 0)
                return oom (err);
        if (mig_step (m, &o->new_img, 0, "pg_dumpall | psql", NULL, -1, script, err) < 0)
                return -1;
        if (mig_read_out (m, "restore-errors.txt", &errors, err) < 0)
                return -1;
        for (p = strstr (errors.data, "ERROR:"); p; p = strstr (p + 1, "ERROR:")) {
                size_t n = strcspn (p, "\n");
                if (strncmp (p, "ERROR:  role \"postgres\" already exists", 38) == 0)
                        continue;
                return pgimg_make_error (err, EIO, "restoring the dump into NEW failed: %.*s", (int) n, p);
        }
        if (report_old_versions (m, err) < 0)
                return -1;
        if (mig_server_stop (m, &m->old_srv, o->old_img.label, err) < 0)
                return -1;
        return mig_update_extensions (m, NEW_PORT, err);
}

int
mig_run_restart (struct mig *m, pgimg_error_t *err)
{
        if (mig_server_start (m, &m->o->new_img, 1, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        return mig_update_extensions (m, NEW_PORT, err);
}
