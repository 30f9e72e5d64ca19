/* migrate_cluster.c - the steps of the migration test on a cluster:
 * loading the data set, fingerprinting it, carrying preload libraries
 * over and updating extensions after the upgrade (see migrate.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runner/fingerprint.h"
#include "runner/migrate_internal.h"
#include "sandbox/resolve.h"

/* The next item of a comma-separated list at *p (spaces around it left
 * out): its start and *len, *p moved past it; NULL at the end. */
static const char *
next_item (const char **p, size_t *len)
{
        const char *item;

        *p += strspn (*p, " ");
        if (**p == '\0')
                return NULL;
        item = *p;
        *len = strcspn (item, ",");
        *p = item + *len + (item[*len] == ',');
        while (*len > 0 && item[*len - 1] == ' ')
                (*len)--;
        return item;
}

static int
list_has (const char *list, const char *item, size_t len)
{
        const char *it;
        size_t n;

        while ((it = next_item (&list, &n)) != NULL)
                if (n == len && strncmp (it, item, len) == 0)
                        return 1;
        return 0;
}

static int has_lib (const struct mig_image *img, const char *name);

/* The old cluster's shared_preload_libraries carried over to the new
 * one: NEW's own list, plus any library OLD preloaded that it lacks. */
int
mig_carry_preload (struct mig *m, const char *conf, int fd, pgimg_error_t *err)
{
        cleanup_buf struct buf old_list = BUF_INIT;
        cleanup_buf struct buf new_list = BUF_INIT;
        cleanup_buf struct buf merged = BUF_INIT;
        cleanup_free char *path = NULL;
        cleanup_fd int out = -1;
        size_t added = 0, n;

        if (mig_read_out (m, "preload-before.txt", &old_list, err) < 0)
                return -1;
        if (asprintf (&path, "%s/preload-new.txt", m->out) < 0)
                return oom (err);
        if ((out = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", path);
        if (mig_step (m, &m->o->new_img, 0, "read the new cluster's preload libraries", NULL, out,
                  "exec postgres -D /var/lib/postgresql/new -C shared_preload_libraries", err) < 0
            || mig_read_out (m, "preload-new.txt", &new_list, err) < 0)
                return -1;
        old_list.data[strcspn (old_list.data, "\n")] = '\0';
        new_list.data[strcspn (new_list.data, "\n")] = '\0';
        if (buf_adds (&merged, new_list.data) < 0)
                return oom (err);
        for (const char *p = old_list.data, *it; (it = next_item (&p, &n)) != NULL;) {
                cleanup_free char *lib = strndup (it, n);
                if (lib == NULL)
                        return oom (err);
                if (n == 0 || list_has (merged.data, it, n))
                        continue;
                /* The library of an extension only OLD's major has (it was
                 * not created in OLD): NEW could not start with it. */
                if (has_lib (&m->o->new_img, lib) == 0) {
                        if (buf_addf (&m->r->not_preloaded, "%s%s", m->r->not_preloaded.len ? ", " : "", lib) < 0)
                                return oom (err);
                        continue;
                }
                if (buf_addf (&merged, "%s%.*s", merged.len ? "," : "", (int) n, it) < 0)
                        return oom (err);
                added++;
        }
        if (added == 0)
                return 0;
        if (strchr (merged.data, '\'') != NULL)
                return pgimg_make_error (err, EINVAL, "shared_preload_libraries `%s`: a quote in a library name", merged.data);
        if (dprintf (fd, "# carried over from the old cluster\nshared_preload_libraries = '%s'\n", merged.data) < 0)
                return pgimg_make_error_errno (err, errno, "write %s", conf);
        return 0;
}

/* Facts and schemas of every database, with NEW's client programs:
 * out/fp-TAG.txt ("DB\t" before each line of fingerprint.sql) and
 * out/schema-TAG.sql (each database's dump after a "\connect" line). */
int
mig_fingerprint (struct mig *m, int port, const char *tag, pgimg_error_t *err)
{
        cleanup_free char *script = NULL;
        char what[64];

        snprintf (what, sizeof (what), "mig_fingerprint (%s)", tag);
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "export PGPORT=%d\n"
                      "dbs=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \"SELECT datname FROM pg_database "
                      "WHERE datallowconn AND NOT datistemplate ORDER BY 1\")\n"
                      "psql -X -At -v ON_ERROR_STOP=1 -d postgres -c \"SELECT sum(pg_database_size(datname))::bigint "
                      "FROM pg_database WHERE datallowconn AND NOT datistemplate\" > /tmp/out/size-%s.txt\n"
                      "psql -X -At -v ON_ERROR_STOP=1 -d postgres -c 'SHOW shared_preload_libraries' > /tmp/out/preload-%s.txt\n"
                      ": > /tmp/out/fp-%s.txt; : > /tmp/out/schema-%s.sql\n"
                      "for db in $dbs; do\n"
                      "  psql -X -At -F $'\\t' -v ON_ERROR_STOP=1 -d \"$db\" -f /tmp/in/fingerprint.sql"
                      " | sed \"s/^/$db\\t/\" >> /tmp/out/fp-%s.txt\n"
                      "  echo \"\\\\connect $db\" >> /tmp/out/schema-%s.sql\n"
                      "  pg_dump --schema-only -d \"$db\" >> /tmp/out/schema-%s.sql\n"
                      "done\n",
                      port, tag, tag, tag, tag, tag, tag, tag) < 0)
                return oom (err);
        return mig_step (m, &m->o->new_img, 0, what, NULL, -1, script, err);
}

/* Shell lines, inside a loop over the databases ($db), that run sql in
 * $db when extension name is installed there.  -1 out of memory. */
int
mig_ext_sql (struct buf *b, const char *name, const char *sql)
{
        return buf_addf (b, "  if [ \"$(psql -X -At -d \"$db\" -c \"SELECT count(*) FROM pg_extension "
                         "WHERE extname = '%s'\")\" = 1 ]; then\n"
                         "    echo \"database $db: %s\"\n"
                         "    psql -X -q -v ON_ERROR_STOP=1 -d \"$db\" <<'PGIMG_SQL'\n%s;\nPGIMG_SQL\n"
                         "  fi\n", name, name, sql);
}

/* Extensions whose default version in NEW differs from the installed
 * one are moved to it in every database, as the pg_upgrade docs say
 * (pg_upgrade keeps the old version's objects): ALTER EXTENSION ...
 * UPDATE, or DROP and CREATE for the extensions that keep no data and
 * say so (opts.recreate): their update scripts are not needed, and some
 * are missing or fail (pg_stat_kcache 2.3.0's from 2.2 drops a view its
 * other view is built on).  Those are
 * also dropped before, and created after, the update of an extension
 * they require: pg_stat_statements' update replaces its view, which
 * pg_stat_kcache's views are built on. */
int
mig_update_extensions (struct mig *m, int port, pgimg_error_t *err)
{
        cleanup_buf struct buf recreate = BUF_INIT;
        cleanup_buf struct buf after = BUF_INIT;
        cleanup_free char *script = NULL;

        for (size_t i = 0; m->o->recreate && m->o->recreate[i]; i++) {
                const char *n = m->o->recreate[i];
                if (n[strspn (n, "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
                        return pgimg_make_error (err, EINVAL, "extension name `%s`", n);
                if (buf_addf (&recreate, "%s'%s'", recreate.len ? ", " : "", n) < 0)
                        return oom (err);
        }
        /* A recipe's own upgrade (PostGIS's postgis_extensions_upgrade())
         * first, where the extension's objects were carried as they were. */
        for (size_t i = 0; m->o->method != MIG_PG_DUMPALL && i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                if (e->after_upgrade == NULL)
                        continue;
                if (mig_ext_sql (&after, e->name, e->after_upgrade) < 0)
                        return oom (err);
        }
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "export PGPORT=%d\n"
                      "for db in $(psql -X -At -d postgres -c \"SELECT datname FROM pg_database WHERE datallowconn "
                      "AND NOT datistemplate ORDER BY 1\"); do\n"
                      "%s"
                      "  psql -X -At -v ON_ERROR_STOP=1 -d \"$db\" -c \"SELECT CASE WHEN a.name = ANY (ARRAY[%s]::text[]) "
                      "THEN format('DROP EXTENSION %%I; CREATE EXTENSION %%I SCHEMA %%I;', a.name, a.name, n.nspname) "
                      "ELSE concat_ws(' ', dep.drops, format('ALTER EXTENSION %%I UPDATE;', a.name), dep.creates) END "
                      "FROM pg_available_extensions a JOIN pg_extension e ON e.extname = a.name "
                      "JOIN pg_namespace n ON n.oid = e.extnamespace "
                      "CROSS JOIN LATERAL (SELECT string_agg(format('DROP EXTENSION %%I;', d.extname), ' ') AS drops, "
                      "string_agg(format('CREATE EXTENSION %%I SCHEMA %%I;', d.extname, dn.nspname), ' ') AS creates "
                      "FROM pg_depend p JOIN pg_extension d ON d.oid = p.objid JOIN pg_namespace dn ON dn.oid = d.extnamespace "
                      "WHERE p.classid = 'pg_extension'::regclass AND p.refclassid = 'pg_extension'::regclass "
                      "AND p.refobjid = e.oid AND p.deptype = 'n' AND d.extname = ANY (ARRAY[%s]::text[])) dep "
                      "WHERE a.installed_version <> a.default_version ORDER BY a.name\" > /tmp/out/update-$db.sql\n"
                      "  if [ -s /tmp/out/update-$db.sql ]; then\n"
                      "    echo \"database $db:\"; cat /tmp/out/update-$db.sql\n"
                      "    psql -X -v ON_ERROR_STOP=1 -d \"$db\" -f /tmp/out/update-$db.sql\n"
                      "  fi\n"
                      "  left=$(psql -X -At -d \"$db\" -c \"SELECT string_agg(name || ' ' || installed_version || "
                      "' (NEW has ' || default_version || ')', ', ') FROM pg_available_extensions "
                      "WHERE installed_version IS NOT NULL AND installed_version <> default_version\")\n"
                      "  if [ -n \"$left\" ]; then echo \"database $db: not updated: $left\" >&2; exit 1; fi\n"
                      "done\n",
                      port, after.len ? after.data : "", recreate.len ? recreate.data : "",
                      recreate.len ? recreate.data : "") < 0)
                return oom (err);
        return mig_step (m, &m->o->new_img, 0, "update extensions", NULL, -1, script, err);
}

/* A file of an image's extension directory, "<root>/usr/lib/postgresql/N/share/extension/FILE".
 * The path is resolved inside the image's root, as its server sees it:
 * a symlink in the image (usr -> /home/you) must not let an image ask
 * pgimg whether a host path exists.  1 when it does (the last name is
 * not followed, as lstat), 0 when not, -1 out of memory. */
static int
has_ext_file (const struct mig_image *img, const char *name, const char *suffix)
{
        cleanup_free char *p = NULL;
        cleanup_fd int root_fd = -1;
        cleanup_fd int fd = -1;

        if (asprintf (&p, "usr/lib/postgresql/%d/share/extension/%s%s", img->major, name, suffix) < 0)
                return -1;
        root_fd = open (img->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return 0;
        fd = resolve_open (root_fd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
        return fd >= 0;
}

/* A library of an image's PostgreSQL (lib/NAME.so), resolved as above. */
static int
has_lib (const struct mig_image *img, const char *name)
{
        cleanup_free char *p = NULL;
        cleanup_fd int root_fd = -1;
        cleanup_fd int fd = -1;

        if (strchr (name, '/') != NULL)
                return 1;
        if (asprintf (&p, "usr/lib/postgresql/%d/lib/%s.so", img->major, name) < 0)
                return -1;
        root_fd = open (img->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return 0;
        fd = resolve_open (root_fd, p, O_PATH | O_CLOEXEC, 0);
        return fd >= 0;
}

/* The default_version of an image's NAME.control, resolved as above,
 * into v: 1 when read, 0 when there is none, -1 out of memory. */
static int
control_version (const struct mig_image *img, const char *name, char *v, size_t size)
{
        cleanup_free char *p = NULL;
        cleanup_fd int root_fd = -1;
        cleanup_fd int fd = -1;
        char text[16384];
        ssize_t n;
        const char *at, *q;

        if (asprintf (&p, "usr/lib/postgresql/%d/share/extension/%s.control", img->major, name) < 0)
                return -1;
        root_fd = open (img->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || (fd = resolve_open (root_fd, p, O_RDONLY | O_CLOEXEC, 0)) < 0)
                return 0;
        n = read (fd, text, sizeof (text) - 1);
        if (n <= 0)
                return 0;
        text[n] = '\0';
        for (at = strstr (text, "default_version"); at && at != text && at[-1] != '\n';
             at = strstr (at + 1, "default_version"))
                ;
        if (at == NULL || (at = strchr (at, '\'')) == NULL || (q = strchr (at + 1, '\'')) == NULL
            || (size_t) (q - at - 1) >= size || q - at - 1 == 0)
                return 0;
        memcpy (v, at + 1, (size_t) (q - at - 1));
        v[q - at - 1] = '\0';
        return 1;
}

/* Whether img can run version v of extension name: its install script
 * and a library of that version, which is the control file's default
 * version or a version side by side (its own NAME--V.control).  A script
 * alone is not enough: Debian's repmgr 5.5 ships 5.2's script, whose
 * functions name C symbols its library no longer has.  1 yes, 0 no, -1
 * out of memory. */
static int
has_version (const struct mig_image *img, const char *name, const char *v)
{
        cleanup_free char *script = NULL;
        cleanup_free char *control = NULL;
        char def[64];
        int r;

        if (asprintf (&script, "--%s.sql", v) < 0 || asprintf (&control, "--%s.control", v) < 0)
                return -1;
        if ((r = has_ext_file (img, name, script)) != 1)
                return r;
        if ((r = control_version (img, name, def, sizeof def)) < 0)
                return -1;
        if (r == 1 && strcmp (def, v) == 0)
                return 1;
        return has_ext_file (img, name, control);
}

/* The extensions of an image's PostgreSQL (NAME.control). */
int
mig_has_control (const struct mig_image *img, const char *name)
{
        return has_ext_file (img, name, ".control");
}

static int
str_cmp (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The names of img's control files, sorted, into *out (a vector). */
static int
control_names (const struct mig_image *img, char ***out, size_t *n, pgimg_error_t *err)
{
        cleanup_free char *p = NULL;
        cleanup_fd int root_fd = -1;
        int fd;
        DIR *d;
        struct dirent *e;

        *out = NULL;
        *n = 0;
        if (asprintf (&p, "usr/lib/postgresql/%d/share/extension", img->major) < 0)
                return oom (err);
        if ((root_fd = open (img->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0
            || (fd = resolve_open (root_fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) < 0)
                return 0;
        if ((d = fdopendir (fd)) == NULL) {
                close (fd);
                return pgimg_make_error_errno (err, errno, "%s: the extension directory", img->label);
        }
        while ((e = readdir (d)) != NULL) {
                size_t len = strlen (e->d_name);
                char **grown;
                if (len <= 8 || strcmp (e->d_name + len - 8, ".control") != 0)
                        continue;
                if ((grown = realloc (*out, (*n + 2) * sizeof (char *))) == NULL
                    || (grown[*n] = strndup (e->d_name, len - 8)) == NULL) {
                        if (grown)
                                *out = grown;
                        closedir (d);
                        return oom (err);
                }
                grown[++*n] = NULL;
                *out = grown;
        }
        closedir (d);
        if (*n)
                qsort (*out, *n, sizeof (char *), str_cmp);
        return 0;
}

static const struct mig_ext *
find_ext (const struct mig_opts *o, const char *name)
{
        for (size_t i = 0; i < o->n_exts; i++)
                if (strcmp (o->exts[i].name, name) == 0)
                        return &o->exts[i];
        return NULL;
}

/* The extensions NEW has and OLD lacks, for the report (nothing in OLD
 * can be lost there, but the reader learns what was not tried). */
static int
list_only_new (struct mig *m, pgimg_error_t *err)
{
        cleanup_strv char **names = NULL;
        size_t n;

        if (control_names (&m->o->new_img, &names, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (mig_has_control (&m->o->old_img, names[i]) == 0
                    && buf_addf (&m->r->only_new, "%s%s", m->r->only_new.len ? ", " : "", names[i]) < 0)
                        return oom (err);
        return 0;
}

/* Extensions PostgreSQL itself stopped shipping: not created in OLD
 * when NEW is that major or later (pg_upgrade would refuse them). */
static const struct {
        const char *name;
        int removed_in;
} dropped[] = {
        { "adminpack", 17 },
        { "old_snapshot", 17 },
};

static int
prime_skip (struct mig *m, struct buf *skip, pgimg_error_t *err)
{
        for (size_t i = 0; i < sizeof (dropped) / sizeof (dropped[0]); i++) {
                if (m->o->new_img.major < dropped[i].removed_in || mig_has_control (&m->o->old_img, dropped[i].name) != 1)
                        continue;
                if (buf_addf (skip, "%s%s", skip->len ? "," : "", dropped[i].name) < 0
                    || buf_addf (&m->r->skipped, "%s%s (PostgreSQL %d removed it)", m->r->skipped.len ? ", " : "",
                                 dropped[i].name, dropped[i].removed_in) < 0)
                        return oom (err);
        }
        /* An extension NEW's major cannot have (no version of its recipe
         * builds for it) is OLD's only: named, with the recipe's reason.
         * One NEW could have but was built without stays an error
         * (mig_check_new_has_extensions). */
        for (size_t i = 0; i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                if (e->not_in_new == NULL || mig_has_control (&m->o->old_img, e->name) != 1
                    || mig_has_control (&m->o->new_img, e->name) != 0)
                        continue;
                if (buf_addf (skip, "%s%s", skip->len ? "," : "", e->name) < 0
                    || buf_addf (&m->r->skipped, "%s%s (only in OLD: %s)", m->r->skipped.len ? ", " : "", e->name,
                                 e->not_in_new) < 0)
                        return oom (err);
        }
        /* pg_upgrade cannot carry an extension whose library is named
         * after its version (same_version) when NEW lacks OLD's version:
         * left out of OLD, named, as real upgrades must do; pg_dumpall
         * carries it. */
        for (size_t i = 0; m->o->method == MIG_PG_UPGRADE && i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                char v[64];
                int r;
                if (e->same_version == NULL || mig_has_control (&m->o->old_img, e->name) != 1
                    || (r = control_version (&m->o->old_img, e->name, v, sizeof v)) == 0)
                        continue;
                if (r < 0 || (r = has_version (&m->o->new_img, e->name, v)) < 0)
                        return oom (err);
                if (r == 1)
                        continue;
                if (buf_addf (skip, "%s%s", skip->len ? "," : "", e->name) < 0
                    || buf_addf (&m->r->skipped, "%s%s %s (pg_upgrade cannot carry it: NEW lacks version %s, and %s)",
                                 m->r->skipped.len ? ", " : "", e->name, v, v, e->same_version) < 0)
                        return oom (err);
        }
        if (list_only_new (m, err) < 0)
                return -1;
        if (skip->data == NULL && buf_add (skip, "", 0) < 0)
                return oom (err);
        return 0;
}

/* Every extension installed in OLD must exist in NEW: say which one does
 * not, and where it is installed. */
int
mig_check_new_has_extensions (struct mig *m, const char *facts, pgimg_error_t *err)
{
        for (const char *p = facts; p && *p;) {
                const char *nl = strchr (p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen (p);
                char db[128], kind[32], name[128];
                cleanup_free char *line = strndup (p, n);

                if (line == NULL)
                        return oom (err);
                if (sscanf (line, "%127[^\t]\t%31[^\t]\t%127[^\t]", db, kind, name) == 3
                    && strcmp (kind, "extension") == 0 && mig_has_control (&m->o->new_img, name) == 0)
                        return pgimg_make_error (err, ENOENT,
                                                 "extension %s is installed in OLD (%s, database %s) but NEW (%s) does not have it: "
                                                 "build NEW with it (--with) or leave it out of OLD",
                                                 name, m->o->old_img.label, db, m->o->new_img.label);
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* The restore settings of the recipes whose extension img has, as
 * "-c name=value ..." (names and values are checked by the recipe reader:
 * [a-z0-9_.] = [A-Za-z0-9_.-], safe in single quotes); an empty string
 * when none. */
int
mig_restore_settings (const struct mig_opts *o, const struct mig_image *img, struct buf *out, pgimg_error_t *err)
{
        for (size_t i = 0; i < o->n_exts; i++)
                for (size_t j = 0; o->exts[i].restore_settings && o->exts[i].restore_settings[j]
                                   && mig_has_control (img, o->exts[i].name) == 1; j++)
                        if (buf_addf (out, "%s-c %s", out->len ? " " : "", o->exts[i].restore_settings[j]) < 0)
                                return oom (err);
        if (out->data == NULL && buf_add (out, "", 0) < 0)
                return oom (err);
        return 0;
}

int
mig_load_data (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf skip = BUF_INIT;
        cleanup_free char *script = NULL;
        cleanup_buf struct buf loaded = BUF_INIT;
        cleanup_buf struct buf settings = BUF_INIT;
        double t0 = now_s ();

        if (prime_skip (m, &skip, err) < 0 || mig_restore_settings (m->o, &m->o->old_img, &settings, err) < 0)
                return -1;
        /* OLD's own psql loads the data, as a user of OLD would; then each
         * extension's fixture (in/ext/NAME.sql) where NAME is installed.
         * The data set's roles have hashed passwords: the recipes' restore
         * settings apply (credcheck refuses them otherwise). */
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "export PGPORT=%d PGOPTIONS='%s'\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE migration'\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d migration -v skip='%s' -f /tmp/in/prime.sql\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d migration -v scale=%d -f /tmp/in/data.sql\n"
                      ": > /tmp/out/fixtures.txt\n"
                      "for f in /tmp/in/ext/*.sql; do\n"
                      "  [ -e \"$f\" ] || continue\n"
                      "  e=$(basename \"$f\" .sql)\n"
                      "  [ \"$(psql -X -At -d migration -c \"SELECT count(*) FROM pg_extension WHERE extname = '$e'\")\" = 1 ] || continue\n"
                      "  echo \"==> fixture $e\"\n"
                      "  psql -X -q -v ON_ERROR_STOP=1 -d migration -f \"$f\"\n"
                      "  echo \"$e\" >> /tmp/out/fixtures.txt\n"
                      "done\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d migration -c CHECKPOINT\n",
                      OLD_PORT, settings.data, skip.data, m->o->scale) < 0)
                return oom (err);
        if (mig_step (m, &m->o->old_img, 0, "load the data set", NULL, -1, script, err) < 0)
                return -1;
        if (mig_read_out (m, "fixtures.txt", &loaded, err) < 0)
                return -1;
        for (char *p = loaded.data, *nl; *p; p = nl + 1) {
                if ((nl = strchr (p, '\n')) == NULL)
                        break;
                *nl = '\0';
                if (buf_addf (&m->r->fixtures, "%s%s", m->r->fixtures.len ? ", " : "", p) < 0)
                        return oom (err);
        }
        m->r->load_seconds = now_s () - t0;
        return 0;
}

/* What NEW has installed after the upgrade, from its fingerprint:
 * "name version" of each extension of the database `migration`. */
int
mig_list_carried (struct mig *m, const char *facts, pgimg_error_t *err)
{
        for (const char *p = facts; p && *p;) {
                const char *nl = strchr (p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen (p);
                char db[128], kind[32], name[128], version[128];
                cleanup_free char *line = strndup (p, n);

                if (line == NULL)
                        return oom (err);
                if (sscanf (line, "%127[^\t]\t%31[^\t]\t%127[^\t]\t%127[^\t]", db, kind, name, version) == 4
                    && strcmp (kind, "extension") == 0 && strcmp (db, "migration") == 0
                    && buf_addf (&m->r->carried, "%s%s %s", m->r->carried.len ? ", " : "", name, version) < 0)
                        return oom (err);
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

/* pg_upgrade carries an extension's objects as they are: one whose
 * library is named after its version (its recipe's same_version) needs
 * OLD's installed version in NEW too (its script and its library).  Say which one cannot be carried,
 * and why, before pg_upgrade runs. */
int
mig_check_same_versions (struct mig *m, const char *facts, pgimg_error_t *err)
{
        for (const char *p = facts; p && *p;) {
                const char *nl = strchr (p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen (p);
                char db[128], kind[32], name[128], version[128];
                cleanup_free char *line = strndup (p, n);
                const struct mig_ext *e;
                int r;

                if (line == NULL)
                        return oom (err);
                p = nl ? nl + 1 : NULL;
                if (sscanf (line, "%127[^\t]\t%31[^\t]\t%127[^\t]\t%127[^\t]", db, kind, name, version) != 4
                    || strcmp (kind, "extension") != 0 || (e = find_ext (m->o, name)) == NULL || e->same_version == NULL)
                        continue;
                if ((r = has_version (&m->o->new_img, name, version)) < 0)
                        return oom (err);
                if (r == 0)
                        return pgimg_make_error (err, ENOTSUP,
                                                 "pg_upgrade cannot carry %s %s (database %s): NEW (%s) does not have "
                                                 "version %s, and %s; use pg_dumpall, or build NEW with %s %s",
                                                 name, version, db, m->o->new_img.label, version, e->same_version,
                                                 name, version);
        }
        return 0;
}
