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
#include <dirent.h>
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
#include "runner/migrate_internal.h"
#include "runner/runtime.h"

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

int
mig_was_interrupted (void)
{
        return interrupted;
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
        buf_release (&r->only_new);
        buf_release (&r->not_preloaded);
        buf_release (&r->carried);
        buf_release (&r->fixtures);
        buf_release (&r->dump_lost);
        buf_release (&r->old_version);
        buf_release (&r->no_statistics);
}

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
int
mig_step (struct mig *m, const struct mig_image *img, int bind_old_root, const char *what,
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


int
mig_server_start (struct mig *m, const struct mig_image *img, int on_old_data, int port, struct sandbox **sb,
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

int
mig_server_stop (struct mig *m, struct sandbox **sb, const char *label, pgimg_error_t *err)
{
        int code = 0; /* no pid: the server is already gone, nothing to report */

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

int
mig_read_out (struct mig *m, const char *name, struct buf *b, pgimg_error_t *err)
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

/* Initialize a cluster as the image's entrypoint does, then add the
 * test's settings.  The superuser's password is random and only in a
 * file of in/ that the sandbox reads. */
int
mig_init_cluster (struct mig *m, const struct mig_image *img, int is_old, const char *initdb_args,
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
        r = mig_step (m, img, 0, is_old ? "initialize the old cluster" : "initialize the new cluster", env, -1,
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
        return is_old ? 0 : mig_carry_preload (m, conf, fd, err);
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

/* The extensions' fixtures (NAME.sql) into in/ext/. */
static int
copy_fixtures (struct mig *m, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;
        DIR *d;
        struct dirent *e;
        int r = 0;

        if (asprintf (&dir, "%s/ext", m->in) < 0)
                return oom (err);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        if (m->o->fixtures_dir == NULL || (d = opendir (m->o->fixtures_dir)) == NULL)
                return 0;
        while (r == 0 && (e = readdir (d)) != NULL) {
                size_t len = strlen (e->d_name);
                cleanup_free char *src = NULL;
                cleanup_free char *dst = NULL;
                if (len <= 4 || strcmp (e->d_name + len - 4, ".sql") != 0 || e->d_name[0] == '.')
                        continue;
                if (asprintf (&src, "%s/%s", m->o->fixtures_dir, e->d_name) < 0
                    || asprintf (&dst, "%s/%s", dir, e->d_name) < 0)
                        r = oom (err);
                else
                        r = fs_copy_file (src, dst, err);
        }
        closedir (d);
        return r;
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
        return copy_fixtures (m, err);
}

static int
run_all (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;
        cleanup_buf struct buf facts = BUF_INIT;
        cleanup_buf struct buf size = BUF_INIT;
        double t;

        if (setup (m, err) < 0 || mig_init_cluster (m, &o->old_img, 1, "", err) < 0)
                return -1;
        if (mig_server_start (m, &o->old_img, 1, OLD_PORT, &m->old_srv, err) < 0 || mig_load_data (m, err) < 0)
                return -1;
        /* Every tuple frozen and its hint bits set, so that reading the
         * old cluster (pg_upgrade dumps its schema) dirties no page: its
         * files must come out of a copy-mode upgrade as they went in.
         * Analyzed first: pg_dumpall starts the old server again, and its
         * autovacuum must find no table whose statistics are due; the
         * freeze then covers the statistics rows ANALYZE wrote. */
        if (mig_step (m, &o->new_img, 0, "freeze the old cluster", NULL, -1,
                  "vacuumdb -p " STR (OLD_PORT) " --all --analyze-only --quiet && "
                  "exec vacuumdb -p " STR (OLD_PORT) " --all --freeze --quiet", err) < 0)
                return -1;
        t = now_s ();
        if (mig_fingerprint (m, OLD_PORT, "before", err) < 0)
                return -1;
        m->r->fingerprint_seconds = now_s () - t;
        if (mig_read_out (m, "size-before.txt", &size, err) < 0 || mig_read_out (m, "fp-before.txt", &facts, err) < 0)
                return -1;
        m->r->db_bytes = strtoull (size.data, NULL, 10);
        if (mig_check_new_has_extensions (m, facts.data, err) < 0
            || (o->method == MIG_PG_UPGRADE && mig_check_same_versions (m, facts.data, err) < 0))
                return -1;
        if (mig_server_stop (m, &m->old_srv, o->old_img.label, err) < 0 || mig_manifest (m, "old-before.txt", err) < 0)
                return -1;
        t = now_s ();
        if (o->method == MIG_PG_UPGRADE) {
                if (mig_run_pg_upgrade (m, err) < 0)
                        return -1;
                if (o->check_only)
                        return 0;
        } else if (o->method == MIG_PG_DUMPALL) {
                if (mig_run_pg_dumpall (m, err) < 0)
                        return -1;
        } else if (mig_run_restart (m, err) < 0) {
                return -1;
        }
        m->r->upgrade_seconds = now_s () - t;
        if (mig_fingerprint (m, NEW_PORT, "after", err) < 0 || mig_read_out (m, "fp-after.txt", &facts, err) < 0
            || mig_list_carried (m, facts.data, err) < 0)
                return -1;
        if (mig_server_stop (m, &m->new_srv, o->new_img.label, err) < 0)
                return -1;
        if (mig_compare (m, err) < 0)
                return -1;
        if (mig_judge_old_data (m, err) < 0)
                return -1;
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
        mig_server_stop (&m, &m.old_srv, o->old_img.label, rc < 0 ? &ignored : err);
        pgimg_error_free (&ignored);
        mig_server_stop (&m, &m.new_srv, o->new_img.label, rc < 0 ? &ignored : err);
        pgimg_error_free (&ignored);
        r->interrupted = interrupted;
        if (rc < 0 && interrupted && m.out) {
                /* Show that the interruption left OLD's data as it was. */
                cleanup_free char *before = NULL;
                if (asprintf (&before, "%s/old-before.txt", m.out) >= 0 && fs_exists (before)
                    && !(o->method == MIG_PG_UPGRADE && o->mode == MIG_LINK) && o->method != MIG_RESTART) {
                        size_t n = r->diffs;
                        if (mig_check_old_data (&m, &ignored) < 0)
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
