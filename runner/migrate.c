/* migrate.c - the migration test (see migrate.h).
 *
 * Layout of the work directory, and where the sandboxes see it:
 *
 *   clusters/old, clusters/new   /var/lib/postgresql/{old,new}   one bind, so
 *                                that pg_upgrade --link can hard-link across
 *   sock/                        /run/postgresql: the old server on port
 *                                5433, the new one on 5434; mode 0700 and
 *                                sockets 0700: the servers trust their
 *                                socket, so it is the caller's alone
 *   in/                          /tmp/in, read-only: the SQL and settings
 *   out/                         /tmp/out: fingerprints, dumps, logs
 *   (OLD's root)                 /tmp/old, read-only, for pg_upgrade -b
 *
 * PostgreSQL's binaries find their share and lib directories relative to
 * their own path, so OLD's binaries run from /tmp/old over NEW's root (its
 * C library and the base's shared libraries).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/engine.h"
#include "runner/fingerprint.h"
#include "runner/migrate.h"
#include "runner/runtime.h"

#define OLD_PORT 5433
#define STR_(x) #x
#define STR(x) STR_ (x)
#define NEW_PORT 5434
#define READY_MS (300 * 1000)
#define MAX_REPORT_LINES 40

static volatile sig_atomic_t interrupted;
/* What a signal is forwarded to: the servers get SIGINT (a fast, clean
 * shutdown), a step is killed with its whole pid namespace: pg_upgrade
 * runs its programs through system(), which ignores SIGINT meanwhile,
 * so a SIGINT to it alone would not stop it. */
static volatile pid_t servers[2], steps[2];

void
mig_interrupt (int sig)
{
        interrupted = sig;
        for (size_t i = 0; i < 2; i++) {
                if (servers[i] > 0)
                        kill (servers[i], SIGINT);
                if (steps[i] > 0)
                        kill (steps[i], SIGKILL);
        }
}

/* Add (on) or remove a step's or server's pid; a step's is gone from
 * sandbox_pid once it was waited for, so the caller keeps it. */
static void
track (pid_t pid, int on, int is_server)
{
        volatile pid_t *v = is_server ? servers : steps;

        for (size_t i = 0; i < 2 && pid > 0; i++)
                if (on ? v[i] == 0 : v[i] == pid) {
                        v[i] = on ? pid : 0;
                        return;
                }
}

const char *
mig_method_name (enum mig_method m)
{
        return m == MIG_PG_UPGRADE ? "pg_upgrade" : m == MIG_PG_DUMPALL ? "pg_dumpall" : "restart";
}

const char *
mig_mode_name (enum mig_mode m)
{
        return m == MIG_LINK ? "link" : m == MIG_CLONE ? "clone" : "copy";
}

void
mig_report_free (struct mig_report *r)
{
        buf_release (&r->differences);
        buf_release (&r->updates);
        buf_release (&r->check_output);
        buf_release (&r->skipped);
}

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "migration test");
}

/* "15.18" < "18.6": by major, then minor. */
static int
version_cmp (const char *a, const char *b)
{
        long ma = strtol (a, NULL, 10), mb = strtol (b, NULL, 10);
        const char *da = strchr (a, '.'), *db = strchr (b, '.');
        long na = da ? strtol (da + 1, NULL, 10) : 0, nb = db ? strtol (db + 1, NULL, 10) : 0;

        if (ma != mb)
                return ma < mb ? -1 : 1;
        return (na > nb) - (na < nb);
}

int
mig_validate (const struct mig_opts *o, pgimg_error_t *err)
{
        const struct mig_image *a = &o->old_img, *b = &o->new_img;

        if (version_cmp (a->version, b->version) > 0)
                return pgimg_make_error (err, EINVAL,
                                         "refusing a downgrade: OLD is PostgreSQL %s, NEW is %s; an upgrade only goes forward "
                                         "(swap OLD and NEW)", a->version, b->version);
        if (o->method == MIG_RESTART && a->major != b->major)
                return pgimg_make_error (err, EINVAL,
                                         "restart needs two minors of one major (OLD %s, NEW %s): use pg_upgrade or pg_dumpall",
                                         a->version, b->version);
        if (o->method == MIG_PG_UPGRADE && a->major == b->major)
                return pgimg_make_error (err, EINVAL,
                                         "OLD %s and NEW %s are one major: a minor update needs no pg_upgrade, use restart",
                                         a->version, b->version);
        if (o->method != MIG_PG_UPGRADE && (o->mode != MIG_COPY || o->check_only))
                return pgimg_make_error (err, EINVAL, "--link, --clone and --check are pg_upgrade's");
        if (o->scale < 1)
                return pgimg_make_error (err, EINVAL, "--scale must be 1 or more");
        return 0;
}

struct mig {
        const struct mig_opts *o;
        struct mig_report *r;
        char *clusters, *sock, *in, *out, *log;
        int log_fd;
        struct sandbox *old_srv, *new_srv;
};

static double
now_s (void)
{
        struct timespec t;

        clock_gettime (CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* For a one-line error: the last line of the log since offset `from`
 * that says ERROR, FATAL or error, else its last non-empty line. */
static void
log_tail (const struct mig *m, off_t from, char *out, size_t size)
{
        static const char *const needles[] = { "ERROR", "FATAL", "error" };
        char b[16384];
        off_t end = lseek (m->log_fd, 0, SEEK_END);
        ssize_t n;
        char *p = NULL, *q;

        snprintf (out, size, "no output");
        if (end - from > (off_t) sizeof (b) - 1)
                from = end - (off_t) sizeof (b) + 1;
        if (end <= from || (n = pread (m->log_fd, b, (size_t) (end - from), from)) <= 0)
                return;
        b[n] = '\0';
        while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' '))
                b[--n] = '\0';
        for (size_t i = 0; i < sizeof (needles) / sizeof (needles[0]) && p == NULL; i++)
                for (q = b; (q = strstr (q, needles[i])) != NULL; q++)
                        p = q;
        if (p) {
                while (p > b && p[-1] != '\n')
                        p--;
                if ((q = strchr (p, '\n')) != NULL)
                        *q = '\0';
        } else {
                p = strrchr (b, '\n');
                p = p ? p + 1 : b;
        }
        if (strlen (p) >= size)
                p[size - 1] = '\0';
        memcpy (out, p, strlen (p) + 1);
}

static int
log_note (struct mig *m, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int
log_note (struct mig *m, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start (ap, fmt);
        r = vdprintf (m->log_fd, fmt, ap);
        va_end (ap);
        return r < 0 ? -1 : 0;
}

static const char *
cluster_dir (int is_old)
{
        return is_old ? "/var/lib/postgresql/old" : "/var/lib/postgresql/new";
}

/* The sandbox of a step or server over img's root. */
static int
sandbox_for (struct mig *m, const struct mig_image *img, int bind_old_root, const char *const *argv,
             const char *const *extra_env, int out_fd, int err_fd, int is_server, struct sandbox **sb,
             pgimg_error_t *err)
{
        static const char *const over_base[] = { "PGHOST=/run/postgresql", "PGUSER=postgres",
                                                 "PGDATABASE=postgres", "LANG=C.UTF-8", NULL };
        const struct sandbox_bind binds[] = {
                { m->clusters, "/var/lib/postgresql", 1 },
                { m->sock, "/run/postgresql", 1 },
                { m->in, "/tmp/in", 0 },
                { m->out, "/tmp/out", 1 },
                { m->o->old_img.rootfs, "/tmp/old", 0 },
        };
        cleanup_strv char **base = NULL;
        cleanup_strv char **env = NULL;
        struct sandbox_opts so = {
                .root_dir = img->rootfs,
                .binds = binds,
                .n_binds = bind_old_root ? 5 : 4,
                .argv = argv,
                .cwd = "/var/lib/postgresql",
                .hostname = "pgimg",
                .stdout_fd = out_fd >= 0 ? out_fd : m->log_fd,
                .stderr_fd = err_fd >= 0 ? err_fd : m->log_fd,
                .uid_inside = RUNTIME_PG_UID,
                .gid_inside = RUNTIME_PG_GID,
        };

        if (runtime_env_merge (img->env, over_base, &base, err) < 0
            || runtime_env_merge ((const char *const *) base, extra_env, &env, err) < 0)
                return -1;
        so.envp = (const char *const *) env;
        if (sandbox_start (&so, sb, err) < 0)
                return -1;
        track (sandbox_pid (*sb), 1, is_server);
        return 0;
}

/* The work directory's filesystem has (nearly) no room left: a step
 * that failed there most likely failed for that. */
static int
disk_full (const struct mig *m)
{
        struct statvfs v;

        if (statvfs (m->o->work_dir, &v) == 0 && (unsigned long long) v.f_bavail * v.f_frsize < 1024 * 1024)
                return 1;
        /* A server that ran out of room stops, and its files go: the
         * space may be back by now, but its log says why. */
        for (int port = OLD_PORT; port <= NEW_PORT; port++) {
                cleanup_free char *path = NULL;
                cleanup_buf struct buf b = BUF_INIT;
                pgimg_error_t ignored = NULL;
                int hit;
                if (asprintf (&path, "%s/server-%d.log", m->out, port) < 0)
                        return 0;
                hit = fs_read_file (path, 64 << 20, &b, &ignored) == 0 && b.data
                      && strstr (b.data, "No space left on device") != NULL;
                pgimg_error_free (&ignored);
                if (hit)
                        return 1;
        }
        return 0;
}

/* Run script with bash in img's root; stdout to out_fd (-1: the log). */
static int
step (struct mig *m, const struct mig_image *img, int bind_old_root, const char *what,
      const char *const *extra_env, int out_fd, const char *script, pgimg_error_t *err)
{
        const char *argv[] = { "bash", "-c", script, NULL };
        cleanup_sandbox struct sandbox *sb = NULL;
        char line[512];
        off_t from;
        pid_t pid;
        int code, r;

        if (interrupted)
                return pgimg_make_error (err, EINTR, "interrupted before %s", what);
        log_note (m, "\n==> %s (%s)\n", what, img->label);
        from = lseek (m->log_fd, 0, SEEK_END);
        if (sandbox_for (m, img, bind_old_root, argv, extra_env, out_fd, -1, 0, &sb, err) < 0)
                return pgimg_error_wrap (err, "%s", what);
        pid = sandbox_pid (sb);
        r = sandbox_wait (sb, &code, err);
        track (pid, 0, 0);
        if (r < 0)
                return pgimg_error_wrap (err, "%s", what);
        if (interrupted)
                return pgimg_make_error (err, EINTR, "interrupted during %s", what);
        if (code != 0) {
                log_tail (m, from, line, sizeof (line));
                if (disk_full (m))
                        return pgimg_make_error (err, ENOSPC, "%s failed: No space left on device in %s "
                                                 "(free some space or point --keep elsewhere); the last error: %s",
                                                 what, m->o->work_dir, line);
                return pgimg_make_error (err, EIO, "%s failed (exit %d): %s", what, code, line);
        }
        return 0;
}

static int
server_start (struct mig *m, const struct mig_image *img, int on_old_data, int port, struct sandbox **sb,
              pgimg_error_t *err)
{
        char port_arg[32], data_env[64], sock_path[4096], line[400];
        const char *argv[] = { "postgres", "-D", cluster_dir (on_old_data), "-c", "listen_addresses=",
                               "-c", port_arg, "-c", "unix_socket_permissions=0700", NULL };
        const char *env[] = { data_env, NULL };
        cleanup_free char *log = NULL;
        cleanup_fd int fd = -1;
        pid_t pid;
        int code;

        snprintf (port_arg, sizeof (port_arg), "port=%d", port);
        snprintf (data_env, sizeof (data_env), "PGDATA=%s", cluster_dir (on_old_data));
        snprintf (sock_path, sizeof (sock_path), "%s/.s.PGSQL.%d", m->sock, port);
        if (asprintf (&log, "%s/server-%d.log", m->out, port) < 0)
                return oom (err);
        if ((fd = open (log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", log);
        log_note (m, "\n==> start %s on %s (port %d; its log: out/server-%d.log)\n", img->label,
                  cluster_dir (on_old_data), port, port);
        if (sandbox_for (m, img, 0, argv, env, fd, fd, 1, sb, err) < 0)
                return pgimg_error_wrap (err, "start %s", img->label);
        pid = sandbox_pid (*sb);
        if (runtime_wait_ready_at (*sb, 0, sock_path, READY_MS, &code, err) < 0) {
                struct mig tail = *m;
                track (pid, 0, 1);
                tail.log_fd = fd;
                log_tail (&tail, 0, line, sizeof (line));
                pgimg_error_free (err);
                return pgimg_make_error (err, EIO, "the %s server did not start: %s", img->label, line);
        }
        return 0;
}

static int
server_stop (struct mig *m, struct sandbox **sb, const char *label, pgimg_error_t *err)
{
        int code;

        if (*sb == NULL)
                return 0;
        track (sandbox_pid (*sb), 0, 1);
        if (sandbox_pid (*sb) > 0 && runtime_server_stop (*sb, &code, err) < 0) {
                sandbox_free (*sb);
                *sb = NULL;
                return -1;
        }
        sandbox_free (*sb);
        *sb = NULL;
        if (code != 0)
                return pgimg_make_error (err, EIO, "the %s server exited %d on shutdown (see %s)", label, code, m->log);
        return 0;
}

static int
read_out (struct mig *m, const char *name, struct buf *b, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s/%s", m->out, name) < 0)
                return oom (err);
        buf_reset (b);
        if (fs_read_file (path, (size_t) 1 << 30, b, err) < 0)
                return -1;
        if (b->data == NULL && buf_add (b, "", 0) < 0)
                return oom (err);
        return 0;
}

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

/* The old cluster's shared_preload_libraries carried over to the new
 * one: NEW's own list, plus any library OLD preloaded that it lacks. */
static int
carry_preload (struct mig *m, const char *conf, int fd, pgimg_error_t *err)
{
        cleanup_buf struct buf old_list = BUF_INIT;
        cleanup_buf struct buf new_list = BUF_INIT;
        cleanup_buf struct buf merged = BUF_INIT;
        cleanup_free char *path = NULL;
        cleanup_fd int out = -1;
        size_t added = 0, n;

        if (read_out (m, "preload-before.txt", &old_list, err) < 0)
                return -1;
        if (asprintf (&path, "%s/preload-new.txt", m->out) < 0)
                return oom (err);
        if ((out = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", path);
        if (step (m, &m->o->new_img, 0, "read the new cluster's preload libraries", NULL, out,
                  "exec postgres -D /var/lib/postgresql/new -C shared_preload_libraries", err) < 0
            || read_out (m, "preload-new.txt", &new_list, err) < 0)
                return -1;
        old_list.data[strcspn (old_list.data, "\n")] = '\0';
        new_list.data[strcspn (new_list.data, "\n")] = '\0';
        if (buf_adds (&merged, new_list.data) < 0)
                return oom (err);
        for (const char *p = old_list.data, *it; (it = next_item (&p, &n)) != NULL;) {
                if (n == 0 || list_has (merged.data, it, n))
                        continue;
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

/* Initialize a cluster as the image's entrypoint does, then add the
 * test's settings.  The superuser's password is random and only in a
 * file of in/ that the sandbox reads. */
static int
init_cluster (struct mig *m, const struct mig_image *img, int is_old, const char *initdb_args,
              pgimg_error_t *err)
{
        char hex[25], data_env[64];
        cleanup_free char *pw = NULL;
        cleanup_free char *args = NULL;
        cleanup_free char *conf = NULL;
        const char *env[4] = { data_env, NULL, NULL, NULL };
        cleanup_buf struct buf extra = BUF_INIT;
        cleanup_fd int fd = -1;
        int r;

        snprintf (data_env, sizeof (data_env), "PGDATA=%s", cluster_dir (is_old));
        if (engine_random_password (hex, err) < 0)
                return -1;
        r = asprintf (&pw, "POSTGRES_PASSWORD=%s", hex);
        explicit_bzero (hex, sizeof (hex));
        if (r < 0 || asprintf (&args, "POSTGRES_INITDB_ARGS=%s", initdb_args ? initdb_args : "") < 0)
                return oom (err);
        env[1] = pw;
        env[2] = args;
        /* The temporary server of initdb gets the arguments too. */
        r = step (m, img, 0, is_old ? "initialize the old cluster" : "initialize the new cluster", env, -1,
                  "exec docker-ensure-initdb.sh postgres -c unix_socket_permissions=0700", err);
        explicit_bzero (pw, strlen (pw));
        /* The entrypoint's functions set it to 03775. */
        if (r < 0 || runtime_private_dir (m->sock, err) < 0)
                return -1;
        /* The host owns the files (it is postgres inside): append directly. */
        if (asprintf (&conf, "%s/%s/postgresql.conf", m->clusters, is_old ? "old" : "new") < 0)
                return oom (err);
        if (fs_read_file (m->o->conf_file, 1 << 20, &extra, err) < 0)
                return pgimg_error_wrap (err, "test settings");
        if ((fd = open (conf, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
                return pgimg_make_error_errno (err, errno, "open %s", conf);
        if (fs_write_all (fd, "\n# tests/postgresql.conf\n", 25) < 0
            || (extra.len && fs_write_all (fd, extra.data, extra.len) < 0))
                return pgimg_make_error_errno (err, errno, "write %s", conf);
        return is_old ? 0 : carry_preload (m, conf, fd, err);
}

/* Facts and schemas of every database, with NEW's client programs:
 * out/fp-TAG.txt ("DB\t" before each line of fingerprint.sql) and
 * out/schema-TAG.sql (each database's dump after a "\connect" line). */
static int
fingerprint (struct mig *m, int port, const char *tag, pgimg_error_t *err)
{
        cleanup_free char *script = NULL;
        char what[64];

        snprintf (what, sizeof (what), "fingerprint (%s)", tag);
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
        return step (m, &m->o->new_img, 0, what, NULL, -1, script, err);
}

/* Extensions whose default version in NEW differs from the installed
 * one are moved to it in every database, as the pg_upgrade docs say
 * (pg_upgrade keeps the old version's objects): ALTER EXTENSION ...
 * UPDATE, or, where no update path leads there, DROP and CREATE for the
 * extensions that keep no data and say so (opts.recreate). */
static int
update_extensions (struct mig *m, int port, pgimg_error_t *err)
{
        cleanup_buf struct buf recreate = BUF_INIT;
        cleanup_free char *script = NULL;

        for (size_t i = 0; m->o->recreate && m->o->recreate[i]; i++) {
                const char *n = m->o->recreate[i];
                if (n[strspn (n, "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
                        return pgimg_make_error (err, EINVAL, "extension name `%s`", n);
                if (buf_addf (&recreate, "%s'%s'", recreate.len ? ", " : "", n) < 0)
                        return oom (err);
        }
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "export PGPORT=%d\n"
                      "for db in $(psql -X -At -d postgres -c \"SELECT datname FROM pg_database WHERE datallowconn "
                      "AND NOT datistemplate ORDER BY 1\"); do\n"
                      "  psql -X -At -v ON_ERROR_STOP=1 -d \"$db\" -c \"SELECT CASE WHEN a.name = ANY (ARRAY[%s]::text[]) "
                      "AND NOT EXISTS (SELECT 1 FROM pg_extension_update_paths(a.name) p WHERE p.source = a.installed_version "
                      "AND p.target = a.default_version AND p.path IS NOT NULL) "
                      "THEN format('DROP EXTENSION %%I; CREATE EXTENSION %%I SCHEMA %%I;', a.name, a.name, n.nspname) "
                      "ELSE format('ALTER EXTENSION %%I UPDATE;', a.name) END "
                      "FROM pg_available_extensions a JOIN pg_extension e ON e.extname = a.name "
                      "JOIN pg_namespace n ON n.oid = e.extnamespace "
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
                      port, recreate.len ? recreate.data : "") < 0)
                return oom (err);
        return step (m, &m->o->new_img, 0, "update extensions", NULL, -1, script, err);
}

/* The extensions of an image's PostgreSQL: "<root>/usr/lib/postgresql/N/share/extension/NAME.control". */
static int
has_control (const struct mig_image *img, const char *name)
{
        cleanup_free char *p = NULL;

        if (asprintf (&p, "%s/usr/lib/postgresql/%d/share/extension/%s.control", img->rootfs, img->major, name) < 0)
                return -1;
        return fs_exists (p);
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
                if (m->o->new_img.major < dropped[i].removed_in || has_control (&m->o->old_img, dropped[i].name) != 1)
                        continue;
                if (buf_addf (skip, "%s%s", skip->len ? "," : "", dropped[i].name) < 0
                    || buf_addf (&m->r->skipped, "%s%s (PostgreSQL %d removed it)", m->r->skipped.len ? ", " : "",
                                 dropped[i].name, dropped[i].removed_in) < 0)
                        return oom (err);
        }
        if (skip->data == NULL && buf_add (skip, "", 0) < 0)
                return oom (err);
        return 0;
}

/* Every extension installed in OLD must exist in NEW: say which one does
 * not, and where it is installed. */
static int
check_new_has_extensions (struct mig *m, const char *facts, pgimg_error_t *err)
{
        for (const char *p = facts; p && *p;) {
                const char *nl = strchr (p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen (p);
                char db[128], kind[32], name[128];
                cleanup_free char *line = strndup (p, n);

                if (line == NULL)
                        return oom (err);
                if (sscanf (line, "%127[^\t]\t%31[^\t]\t%127[^\t]", db, kind, name) == 3
                    && strcmp (kind, "extension") == 0 && has_control (&m->o->new_img, name) == 0)
                        return pgimg_make_error (err, ENOENT,
                                                 "extension %s is installed in OLD (%s, database %s) but NEW (%s) does not have it: "
                                                 "build NEW with it (--with) or leave it out of OLD",
                                                 name, m->o->old_img.label, db, m->o->new_img.label);
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

static int
load_data (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf skip = BUF_INIT;
        cleanup_free char *script = NULL;
        double t0 = now_s ();

        if (prime_skip (m, &skip, err) < 0)
                return -1;
        /* OLD's own psql loads the data, as a user of OLD would. */
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "export PGPORT=%d\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE migration'\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d migration -v skip='%s' -f /tmp/in/prime.sql\n"
                      "psql -X -q -v ON_ERROR_STOP=1 -d migration -v scale=%d -f /tmp/in/data.sql\n",
                      OLD_PORT, skip.data, m->o->scale) < 0)
                return oom (err);
        if (step (m, &m->o->old_img, 0, "load the data set", NULL, -1, script, err) < 0)
                return -1;
        m->r->load_seconds = now_s () - t0;
        return 0;
}

static int
manifest (struct mig *m, const char *name, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;

        if (asprintf (&dir, "%s/old", m->clusters) < 0 || asprintf (&path, "%s/%s", m->out, name) < 0)
                return oom (err);
        if (fp_tree_manifest (dir, &b, NULL, err) < 0)
                return pgimg_error_wrap (err, "list the old data directory");
        return fs_write_file_atomic (path, b.data, b.len, 0644, err);
}

/* The old data directory against its listing from before the upgrade. */
static int
check_old_data (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        size_t n_diffs, n_checked;

        if (manifest (m, "old-after.txt", err) < 0 || read_out (m, "old-before.txt", &a, err) < 0
            || read_out (m, "old-after.txt", &b, err) < 0)
                return -1;
        if (fp_tree_compare (a.data, b.data, MAX_REPORT_LINES, &m->r->differences, &n_diffs, &n_checked, err) < 0)
                return -1;
        m->r->diffs += n_diffs;
        m->r->old_files = n_checked;
        m->r->old_data = n_diffs ? "changed" : "unchanged";
        return 0;
}

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
        if (step (m, &m->o->old_img, 0, "read the old control file", NULL, fd,
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

static int
run_pg_upgrade (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_free char *cmd = NULL;
        cleanup_free char *check = NULL;
        cleanup_free char *run = NULL;
        cleanup_free char *analyze = NULL;
        cleanup_free char *out_path = NULL;
        cleanup_buf struct buf output = BUF_INIT;
        cleanup_fd int fd = -1;
        /* Copy is the default; pg_upgrade has a --copy option from 16 on only. */
        const char *mode = o->mode == MIG_LINK ? " --link" : o->mode == MIG_CLONE ? " --clone"
                           : o->new_img.major >= 16 ? " --copy" : "";
        int checksums = 0, r;

        if (controldata_checksums (m, &checksums, err) < 0)
                return -1;
        /* initdb enables checksums by default from 18 on: the new cluster
         * must say what the old one says, or pg_upgrade refuses it. */
        if (init_cluster (m, &o->new_img, 0, checksums ? "--data-checksums"
                          : o->new_img.major >= 18 ? "--no-data-checksums" : "", err) < 0)
                return -1;
        if (asprintf (&cmd, "pg_upgrade -U postgres -b /tmp/old/usr/lib/postgresql/%d/bin "
                      "-B /usr/lib/postgresql/%d/bin -d /var/lib/postgresql/old -D /var/lib/postgresql/new "
                      "-p 50432 -P 50433 --jobs %d%s",
                      o->old_img.major, o->new_img.major, o->jobs, mode) < 0
            || asprintf (&check, "exec %s --check", cmd) < 0 || asprintf (&run, "exec %s", cmd) < 0
            || asprintf (&out_path, "%s/pg_upgrade-check.txt", m->out) < 0)
                return oom (err);
        if ((fd = open (out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", out_path);
        r = step (m, &o->new_img, 1, "pg_upgrade --check", NULL, fd, check, err);
        if (r < 0 && !interrupted) {
                pgimg_error_t ignored = NULL;
                if (fs_read_file (out_path, 1 << 20, &output, &ignored) == 0 && output.data)
                        check_report (m, output.data, &ignored);
                pgimg_error_free (&ignored);
                if (m->r->check_output.len) {
                        /* The failed check's line, squeezed, as the error; or
                         * the line before "Failure, exiting" when no check
                         * says "failed" (a mode the filesystem lacks). */
                        const char *first = m->r->check_output.data;
                        const char *fail = strstr (first, "\nFailure, exiting");
                        char line[256];
                        size_t k = 0;
                        if (strstr (first, "failed check") == NULL && strstr (first, "fatal") == NULL && fail) {
                                while (fail > first && (fail[-1] == '\n' || fail[-1] == ' '))
                                        fail--;
                                while (fail > first && fail[-1] != '\n')
                                        fail--;
                                first = fail;
                        }
                        for (const char *q = first; *q && *q != '\n' && k + 1 < sizeof (line); q++)
                                if (!(*q == ' ' && k > 0 && line[k - 1] == ' '))
                                        line[k++] = *q;
                        line[k] = '\0';
                        pgimg_error_free (err);
                        if (o->mode == MIG_CLONE && strstr (line, "clone") != NULL)
                                return pgimg_make_error (err, EOPNOTSUPP,
                                                         "pg_upgrade --check failed: %s: --clone needs a filesystem with "
                                                         "reflinks (XFS, Btrfs) under %s; use copy or --link here",
                                                         line, o->work_dir);
                        return pgimg_make_error (err, EIO, "pg_upgrade --check failed: %s (its report is above)", line);
                }
                return -1;
        }
        if (r < 0 || o->check_only)
                return r;
        if (step (m, &o->new_img, 1, "pg_upgrade", NULL, -1, run, err) < 0)
                return -1;
        if (server_start (m, &o->new_img, 0, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        /* From 18 on pg_upgrade carries the planner statistics over; only
         * what it could not carry needs ANALYZE. */
        if (asprintf (&analyze, "exec vacuumdb -p %d --all --analyze-in-stages --jobs %d%s", NEW_PORT, o->jobs,
                      o->new_img.major >= 18 ? " --missing-stats-only" : "") < 0)
                return oom (err);
        if (step (m, &o->new_img, 0, "rebuild statistics", NULL, -1, analyze, err) < 0)
                return -1;
        return update_extensions (m, NEW_PORT, err);
}

static int
run_pg_dumpall (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_free char *script = NULL;
        cleanup_buf struct buf errors = BUF_INIT;
        const char *p;

        if (init_cluster (m, &o->new_img, 0, "", err) < 0)
                return -1;
        if (server_start (m, &o->old_img, 1, OLD_PORT, &m->old_srv, err) < 0
            || server_start (m, &o->new_img, 0, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        /* NEW's pg_dumpall, as the docs advise; the superuser exists
         * already, so its CREATE ROLE is the one error allowed. */
        if (asprintf (&script,
                      "set -euo pipefail\n"
                      "pg_dumpall -p %d | psql -X -q -p %d -d postgres > /dev/null 2> /tmp/out/restore-errors.txt\n"
                      "vacuumdb -p %d --all --analyze-only --jobs %d\n",
                      OLD_PORT, NEW_PORT, NEW_PORT, o->jobs) < 0)
                return oom (err);
        if (step (m, &o->new_img, 0, "pg_dumpall | psql", NULL, -1, script, err) < 0)
                return -1;
        if (read_out (m, "restore-errors.txt", &errors, err) < 0)
                return -1;
        for (p = strstr (errors.data, "ERROR:"); p; p = strstr (p + 1, "ERROR:")) {
                size_t n = strcspn (p, "\n");
                if (strncmp (p, "ERROR:  role \"postgres\" already exists", 38) == 0)
                        continue;
                return pgimg_make_error (err, EIO, "restoring the dump into NEW failed: %.*s", (int) n, p);
        }
        if (server_stop (m, &m->old_srv, o->old_img.label, err) < 0)
                return -1;
        return update_extensions (m, NEW_PORT, err);
}

static int
run_restart (struct mig *m, pgimg_error_t *err)
{
        if (server_start (m, &m->o->new_img, 1, NEW_PORT, &m->new_srv, err) < 0)
                return -1;
        return update_extensions (m, NEW_PORT, err);
}

static int
copy_input (struct mig *m, const char *src, const char *name, pgimg_error_t *err)
{
        cleanup_free char *dst = NULL;

        if (asprintf (&dst, "%s/%s", m->in, name) < 0)
                return oom (err);
        if (!fs_exists (src))
                return pgimg_make_error (err, ENOENT, "%s is missing: the data set cannot be made without it", src);
        return fs_copy_file (src, dst, err);
}

static int
setup (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        const char *w = o->work_dir;
        cleanup_free char *old = NULL;
        cleanup_free char *new_ = NULL;

        if (asprintf (&m->clusters, "%s/clusters", w) < 0 || asprintf (&m->sock, "%s/sock", w) < 0
            || asprintf (&m->in, "%s/in", w) < 0 || asprintf (&m->out, "%s/out", w) < 0
            || asprintf (&m->log, "%s/out/migration.log", w) < 0 || asprintf (&old, "%s/old", m->clusters) < 0
            || asprintf (&new_, "%s/new", m->clusters) < 0)
                return oom (err);
        if (fs_mkdir_p (m->clusters, 0755, err) < 0 || runtime_private_dir (m->sock, err) < 0
            || fs_mkdir_p (m->in, 0755, err) < 0 || fs_mkdir_p (m->out, 0755, err) < 0)
                return -1;
        if ((m->log_fd = open (m->log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
                return pgimg_make_error_errno (err, errno, "create %s", m->log);
        if (copy_input (m, o->conf_file, "postgresql.conf", err) < 0
            || copy_input (m, o->prime_file, "prime.sql", err) < 0
            || copy_input (m, o->data_file, "data.sql", err) < 0
            || copy_input (m, o->fingerprint_file, "fingerprint.sql", err) < 0)
                return -1;
        return 0;
}

static int
compare (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf masks = BUF_INIT;
        struct fp_result res;
        size_t n;

        if (read_out (m, "fp-before.txt", &a, err) < 0 || read_out (m, "fp-after.txt", &b, err) < 0)
                return -1;
        if (m->o->fact_masks_file && fs_read_file (m->o->fact_masks_file, 1 << 20, &masks, err) < 0)
                return pgimg_error_wrap (err, "fact masks");
        if (fp_normalize (&a, masks.data, err) < 0 || fp_normalize (&b, masks.data, err) < 0)
                return -1;
        buf_reset (&masks);
        if (fp_compare (a.data, a.len, b.data, b.len, MAX_REPORT_LINES, &m->r->differences, &m->r->updates, &res,
                        err) < 0)
                return -1;
        m->r->rows = res.n_rows;
        m->r->tables = res.n_tables;
        m->r->facts = res.n_facts;
        m->r->diffs += res.n_diffs;
        if (m->o->masks_file && fs_read_file (m->o->masks_file, 1 << 20, &masks, err) < 0)
                return pgimg_error_wrap (err, "schema masks");
        if (read_out (m, "schema-before.sql", &a, err) < 0 || read_out (m, "schema-after.sql", &b, err) < 0
            || fp_normalize (&a, masks.data, err) < 0 || fp_normalize (&b, masks.data, err) < 0)
                return -1;
        if (fp_schema_compare ("the databases", a.data, b.data, MAX_REPORT_LINES, &m->r->differences, &n, err) < 0)
                return -1;
        m->r->diffs += n;
        return 0;
}

static int
run_all (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_buf struct buf facts = BUF_INIT;
        cleanup_buf struct buf size = BUF_INIT;
        double t;

        if (setup (m, err) < 0 || init_cluster (m, &o->old_img, 1, "", err) < 0)
                return -1;
        if (server_start (m, &o->old_img, 1, OLD_PORT, &m->old_srv, err) < 0 || load_data (m, err) < 0)
                return -1;
        /* Every tuple frozen and its hint bits set, so that reading the
         * old cluster (pg_upgrade dumps its schema) dirties no page: its
         * files must come out of a copy-mode upgrade as they went in. */
        if (step (m, &o->new_img, 0, "freeze the old cluster", NULL, -1,
                  "exec vacuumdb -p " STR (OLD_PORT) " --all --freeze --quiet", err) < 0)
                return -1;
        t = now_s ();
        if (fingerprint (m, OLD_PORT, "before", err) < 0)
                return -1;
        m->r->fingerprint_seconds = now_s () - t;
        if (read_out (m, "size-before.txt", &size, err) < 0 || read_out (m, "fp-before.txt", &facts, err) < 0)
                return -1;
        m->r->db_bytes = strtoull (size.data, NULL, 10);
        if (check_new_has_extensions (m, facts.data, err) < 0)
                return -1;
        if (server_stop (m, &m->old_srv, o->old_img.label, err) < 0 || manifest (m, "old-before.txt", err) < 0)
                return -1;
        t = now_s ();
        if (o->method == MIG_PG_UPGRADE) {
                if (run_pg_upgrade (m, err) < 0)
                        return -1;
                if (o->check_only)
                        return 0;
        } else if (o->method == MIG_PG_DUMPALL) {
                if (run_pg_dumpall (m, err) < 0)
                        return -1;
        } else if (run_restart (m, err) < 0) {
                return -1;
        }
        m->r->upgrade_seconds = now_s () - t;
        if (fingerprint (m, NEW_PORT, "after", err) < 0)
                return -1;
        if (server_stop (m, &m->new_srv, o->new_img.label, err) < 0)
                return -1;
        if (compare (m, err) < 0)
                return -1;
        if (o->method == MIG_RESTART) {
                m->r->old_data = "now NEW's (restart runs the new binaries on it)";
        } else if (o->method == MIG_PG_UPGRADE && o->mode == MIG_LINK) {
                cleanup_free char *disabled = NULL;
                if (asprintf (&disabled, "%s/old/global/pg_control.old", m->clusters) < 0)
                        return oom (err);
                m->r->old_data = fs_exists (disabled) ? "disabled by --link (global/pg_control.old), as pg_upgrade documents"
                                                      : "still startable after --link";
                if (!fs_exists (disabled)) {
                        m->r->diffs++;
                        if (buf_adds (&m->r->differences, "  old data directory: global/pg_control.old missing after --link\n") < 0)
                                return oom (err);
                }
        } else if (check_old_data (m, err) < 0) {
                return -1;
        }
        if (m->r->diffs)
                return pgimg_make_error (err, EIO, "%zu difference%s between OLD %s and NEW %s after %s", m->r->diffs,
                                         m->r->diffs == 1 ? "" : "s", o->old_img.version, o->new_img.version,
                                         mig_method_name (o->method));
        return 0;
}

int
mig_run (const struct mig_opts *o, struct mig_report *r, pgimg_error_t *err)
{
        struct mig m = { .o = o, .r = r, .log_fd = -1 };
        double t0 = now_s ();
        pgimg_error_t ignored = NULL;
        int rc;

        memset (r, 0, sizeof (*r));
        interrupted = 0;
        if (mig_validate (o, err) < 0)
                return -1;
        if (o->work_dir == NULL)
                return pgimg_make_error (err, EINVAL, "migration test: no work directory");
        rc = run_all (&m, err);
        /* Whatever happened, no server is left running on the data. */
        server_stop (&m, &m.old_srv, o->old_img.label, rc < 0 ? &ignored : err);
        pgimg_error_free (&ignored);
        server_stop (&m, &m.new_srv, o->new_img.label, rc < 0 ? &ignored : err);
        pgimg_error_free (&ignored);
        r->interrupted = interrupted;
        if (rc < 0 && interrupted && m.out) {
                /* Show that the interruption left OLD's data as it was. */
                cleanup_free char *before = NULL;
                if (asprintf (&before, "%s/old-before.txt", m.out) >= 0 && fs_exists (before)
                    && !(o->method == MIG_PG_UPGRADE && o->mode == MIG_LINK) && o->method != MIG_RESTART) {
                        size_t n = r->diffs;
                        if (check_old_data (&m, &ignored) < 0)
                                r->old_data = NULL;
                        r->diffs = n;
                        pgimg_error_free (&ignored);
                }
        }
        r->seconds = now_s () - t0;
        if (m.log_fd >= 0)
                close (m.log_fd);
        free (m.clusters);
        free (m.sock);
        free (m.in);
        free (m.out);
        free (m.log);
        return rc;
}
