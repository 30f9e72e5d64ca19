/* runtime.c - run a PostgreSQL image in pgimg's sandbox.
 *
 * Networking: the server keeps the host's network namespace
 * (sandbox_opts.share_net) and listens on 127.0.0.1:PORT itself.  The
 * other choice, a private namespace with a forwarder in pgimg, would
 * need a process copying every connection's bytes for as long as the
 * server runs, plus slirp-like setup to reach into the namespace; the
 * server already knows how to listen on one address, and loopback is
 * not reachable from other machines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "layers/store.h"
#include "runner/runtime.h"
#include "sandbox/resolve.h"

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "runtime");
}

/* Mount points the runs bind over, made in the root while it is still
 * being unpacked: created at run time they would be made in a root that
 * other runs share, and removed under them. */
static const char *const mount_points[] = { "proc", "dev", "tmp", "run/postgresql",
                                            "var/lib/postgresql/data" };

/* The key of a root: its layers' diff_ids, which unpack_layers checks
 * while it unpacks (a root is renamed to its key only once every layer
 * matched).  "verified" tells these roots from those of older pgimg,
 * which trusted the config's diff_ids and are never reused. */
static int
rootfs_key (const struct layer_desc *layers, size_t n, char hex[SHA256_HEX_LEN + 1],
            pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;

        if (sha256_init (&h, err) < 0 || sha256_update (&h, "verified\n", 9, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
                if (store_digest_hex (layers[i].diff_id) == NULL)
                        return pgimg_make_error (err, EINVAL, "layer %zu: the diff_id `%.80s` is not a sha256 digest",
                                                 i + 1, layers[i].diff_id);
                if (sha256_update (&h, layers[i].diff_id, strlen (layers[i].diff_id), err) < 0
                    || sha256_update (&h, "\n", 1, err) < 0)
                        return -1;
        }
        return sha256_final_hex (&h, hex, err);
}

static int
unpack_layers (const char *dir, const char *blob_dir, const struct layer_desc *layers, size_t n,
               pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                cleanup_fd int fd = -1;

                if (store_open (blob_dir, layers[i].digest, layers[i].size, &fd, err) < 0
                    || layer_extract_fd (fd, layers[i].digest, layers[i].diff_id, dir, NULL, err) < 0)
                        return pgimg_error_wrap (err, "unpack layer %zu", i + 1);
        }
        cleanup_fd int root_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", dir);
        for (size_t i = 0; i < sizeof (mount_points) / sizeof (mount_points[0]); i++) {
                /* Inside the root, whatever its symlinks say: a symlink
                 * (var/run -> /run) is followed as the server will see
                 * it, and `run -> /home/you` lands in the root's
                 * /home/you, never on the host. */
                int fd = resolve_mkdir_p (root_fd, mount_points[i], 0755);
                if (fd < 0)
                        return pgimg_make_error_errno (err, errno,
                                                       "the image's /%s: cannot make it a directory",
                                                       mount_points[i]);
                close (fd);
        }
        return 0;
}

int
runtime_rootfs (const char *cache_dir, const char *blob_dir, const struct layer_desc *layers,
                size_t n_layers, char **out, pgimg_error_t *err)
{
        char key[SHA256_HEX_LEN + 1];
        cleanup_free char *parent = NULL;
        cleanup_free char *final = NULL;
        cleanup_free char *tmp = NULL;

        if (rootfs_key (layers, n_layers, key, err) < 0)
                return -1;
        if (asprintf (&parent, "%s/rootfs", cache_dir) < 0 || asprintf (&final, "%s/%s", parent, key) < 0)
                return oom (err);
        if (fs_exists (final)) {
                *out = steal_pointer (&final);
                return 0;
        }
        if (fs_mkdir_p (parent, 0755, err) < 0 || fs_sweep_temps (parent, err) < 0
            || fs_mkdtemp (parent, "rootfs", &tmp, err) < 0)
                return pgimg_error_wrap (err, "root of the image");
        if (unpack_layers (tmp, blob_dir, layers, n_layers, err) < 0)
                goto fail;
        if (rename (tmp, final) < 0) {
                /* Another run unpacked the same layers first: use its root. */
                if (errno != EEXIST && errno != ENOTEMPTY) {
                        pgimg_make_error_errno (err, errno, "rename %s to %s", tmp, final);
                        goto fail;
                }
                pgimg_error_t ignored = NULL;
                fs_rm_rf (tmp, &ignored);
                pgimg_error_free (&ignored);
        }
        fs_forget_temp (tmp);
        *out = steal_pointer (&final);
        return 0;

fail:
        {
                pgimg_error_t ignored = NULL;
                fs_rm_rf (tmp, &ignored);
                pgimg_error_free (&ignored);
                fs_forget_temp (tmp);
        }
        return pgimg_error_wrap (err, "root of the image");
}

/* ---- The environment. ---- */

const char *
runtime_env_get (const char *const *env, const char *key)
{
        size_t n = strlen (key);

        for (size_t i = 0; env && env[i]; i++)
                if (strncmp (env[i], key, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static size_t
strv_len (const char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

int
runtime_env_merge (const char *const *image_env, const char *const *overrides, char ***out,
                   pgimg_error_t *err)
{
        size_t n_img = strv_len (image_env), n_over = strv_len (overrides), n = 0;
        cleanup_strv char **v = calloc (n_img + n_over + 1, sizeof (char *));

        if (v == NULL)
                return oom (err);
        for (size_t i = 0; i < n_over; i++) {
                const char *eq = strchr (overrides[i], '=');
                if (eq == NULL || eq == overrides[i])
                        return pgimg_make_error (err, EINVAL, "environment `%s` is not KEY=VALUE",
                                                 overrides[i]);
        }
        for (size_t i = 0; i < n_img + n_over; i++) {
                const char *e = i < n_img ? image_env[i] : overrides[i - n_img];
                size_t key_len = strcspn (e, "=");
                size_t j;

                for (j = 0; j < n; j++)
                        if (strncmp (v[j], e, key_len + 1) == 0)
                                break;
                char *copy = strdup (e);
                if (copy == NULL)
                        return oom (err);
                if (j < n) {
                        free (v[j]);
                        v[j] = copy;
                } else {
                        v[n++] = copy;
                }
        }
        *out = steal_pointer (&v);
        return 0;
}

/* ---- Readiness. ---- */

int
runtime_ready_reply (const unsigned char *data, size_t len)
{
        uint32_t msg_len;

        if (len < 1)
                return -1;
        if (data[0] == 'R')
                return 1;
        if (data[0] != 'E')
                return 1; /* it answers: not a PostgreSQL we know, but up */
        if (len < 5)
                return -1;
        memcpy (&msg_len, data + 1, 4);
        msg_len = ntohl (msg_len);
        if (msg_len < 4 || len < 1 + (size_t) msg_len)
                return -1;
        /* Fields: a type byte, a NUL-terminated string; a 0 ends them. */
        for (size_t i = 5; i < 1 + (size_t) msg_len && data[i] != 0;) {
                const unsigned char *f = data + i + 1;
                size_t flen = strnlen ((const char *) f, 1 + msg_len - i - 1);
                /* 57P03: cannot_connect_now (starting up, shutting down,
                 * in recovery) */
                if (data[i] == 'C')
                        return !(flen == 5 && memcmp (f, "57P03", 5) == 0);
                i += 1 + flen + 1;
        }
        return 1;
}

/* The startup packet on a connected socket, and the reply judged. */
static int
probe_connected (int fd)
{
        static const char params[] = "user\0postgres\0database\0postgres\0";
        unsigned char pkt[8 + sizeof (params)], reply[512];
        uint32_t v;
        size_t got = 0;
        int r = -1;

        v = htonl ((uint32_t) sizeof (pkt));
        memcpy (pkt, &v, 4);
        v = htonl (196608); /* protocol 3.0 */
        memcpy (pkt + 4, &v, 4);
        memcpy (pkt + 8, params, sizeof (params)); /* ends with the final NUL */
        if (fs_write_all (fd, pkt, sizeof (pkt)) < 0)
                return 0;
        while (r < 0 && got < sizeof (reply)) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;
                if (poll (&p, 1, 1000) <= 0)
                        return 0;
                n = read (fd, reply + got, sizeof (reply) - got);
                if (n <= 0)
                        return 0;
                got += (size_t) n;
                r = runtime_ready_reply (reply, got);
        }
        return r == 1;
}

int
runtime_probe (int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
        cleanup_fd int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return 0;
        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        if (connect (fd, (struct sockaddr *) &a, sizeof (a)) < 0)
                return 0;
        return probe_connected (fd);
}

int
runtime_probe_unix (const char *path)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        cleanup_fd int fd = -1;

        if (strlen (path) >= sizeof (a.sun_path))
                return 0;
        strcpy (a.sun_path, path);
        if ((fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
            || connect (fd, (struct sockaddr *) &a, sizeof (a)) < 0)
                return 0;
        return probe_connected (fd);
}

int
runtime_wait_ready (struct sandbox *sb, int port, int timeout_ms, int *exit_code, pgimg_error_t *err)
{
        return runtime_wait_ready_at (sb, port, NULL, timeout_ms, exit_code, err);
}

int
runtime_wait_ready_at (struct sandbox *sb, int port, const char *unix_path, int timeout_ms, int *exit_code,
                       pgimg_error_t *err)
{
        struct timespec start, now, tick = { 0, 20 * 1000 * 1000 };

        clock_gettime (CLOCK_MONOTONIC, &start);
        for (;;) {
                siginfo_t si = { 0 };

                /* WNOWAIT: sandbox_wait reaps it and tidies up. */
                if (waitid (P_PID, (id_t) sandbox_pid (sb), &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                        return pgimg_make_error_errno (err, errno, "wait for the server");
                if (si.si_pid != 0) {
                        if (sandbox_wait (sb, exit_code, err) < 0)
                                return -1;
                        return pgimg_make_error (err, EIO, "the server stopped before it was ready (exit %d)",
                                                 *exit_code);
                }
                if (unix_path ? runtime_probe_unix (unix_path) : runtime_probe (port))
                        return 0;
                clock_gettime (CLOCK_MONOTONIC, &now);
                if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > timeout_ms) {
                        if (unix_path)
                                return pgimg_make_error (err, ETIMEDOUT,
                                                         "the server did not accept connections on %s within %d s",
                                                         unix_path, timeout_ms / 1000);
                        return pgimg_make_error (err, ETIMEDOUT,
                                                 "the server did not accept connections on 127.0.0.1:%d within %d s",
                                                 port, timeout_ms / 1000);
                }
                nanosleep (&tick, NULL);
        }
}

/* ---- Starting and stopping. ---- */

static int
check_port_free (int port, pgimg_error_t *err)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
        cleanup_fd int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "socket");
        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        /* As the server will: a port in TIME_WAIT is free to it. */
        if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one)) < 0)
                return pgimg_make_error_errno (err, errno, "setsockopt");
        if (bind (fd, (struct sockaddr *) &a, sizeof (a)) < 0)
                return pgimg_make_error_errno (err, errno, "127.0.0.1:%d is not free (--port)", port);
        return 0;
}

/* ---- Who may connect (runtime.h). ---- */

static const char hba_conf[] =
        "# pg_hba.conf of pgimg's runtime, written at every start and read\n"
        "# instead of the data directory's (-c hba_file).  The socket directory\n"
        "# is the caller's own (mode 0700), so the socket is trusted; TCP, on\n"
        "# the host's own network, always needs the password.\n"
        "local   all             all                     trust\n"
        "local   replication     all                     trust\n"
        "host    all             all     all             scram-sha-256\n"
        "host    replication     all     all             scram-sha-256\n";

const char *
runtime_hba_conf (void)
{
        return hba_conf;
}

int
runtime_private_dir (const char *dir, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        struct stat st;

        if (mkdir (dir, 0700) < 0 && errno != EEXIST)
                return pgimg_make_error_errno (err, errno, "create %s", dir);
        /* O_NOFOLLOW: a link planted there must not be chmod'ed for us. */
        fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
                return pgimg_make_error (err, ENOTDIR, "%s is not a directory (a symbolic link?): remove it", dir);
        if (fd < 0 || fstat (fd, &st) < 0)
                return pgimg_make_error_errno (err, errno, "open %s", dir);
        if (st.st_uid != geteuid ())
                return pgimg_make_error (err, EPERM, "%s belongs to uid %u, not to you (uid %u): remove it", dir,
                                         (unsigned) st.st_uid, (unsigned) geteuid ());
        if ((st.st_mode & 07777) != 0700 && fchmod (fd, 0700) < 0)
                return pgimg_make_error_errno (err, errno, "chmod 0700 %s", dir);
        return 0;
}

const char *
runtime_host_auth_ignored (const char *const *env)
{
        const char *v = runtime_env_get (env, "POSTGRES_HOST_AUTH_METHOD");

        if (v == NULL || v[0] == '\0' || strcmp (v, "scram-sha-256") == 0)
                return NULL;
        return v;
}

/* On 13, initdb stores the first password as md5 unless told that host
 * connections use scram-sha-256 (then it writes password_encryption =
 * scram-sha-256 first), and pgimg's pg_hba.conf could not check it. */
int
runtime_server_env (const char *const *env, char ***out, pgimg_error_t *err)
{
        const char *user = runtime_env_get (env, "POSTGRES_INITDB_ARGS");
        cleanup_free char *args = NULL;
        const char *over[] = { NULL, NULL };

        if (asprintf (&args, "POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256%s%s", user && *user ? " " : "",
                      user ? user : "")
            < 0)
                return oom (err);
        over[0] = args;
        return runtime_env_merge (env, over, out, err);
}

int
runtime_server_start (const struct runtime_server *s, struct sandbox **out, pgimg_error_t *err)
{
        /* After ARGS, so that they cannot loosen who may connect. */
        static const char *const enforced[] = {
                "-c", "hba_file=" RUNTIME_HBA_FILE,
                "-c", "unix_socket_directories=" RUNTIME_SOCKET_DIR,
                "-c", "unix_socket_permissions=0700",
        };
        enum { N_ENFORCED = sizeof (enforced) / sizeof (enforced[0]) };
        char port_arg[32];
        const char *argv[64];
        size_t n = 0;
        cleanup_strv char **env = NULL;
        const struct sandbox_bind binds[] = {
                { s->data_dir, s->volume, 1 },
                { s->socket_dir, RUNTIME_SOCKET_DIR, 1 },
                { s->hba_file, RUNTIME_HBA_FILE, 0 },
        };
        struct sandbox_opts o = {
                .root_dir = s->rootfs,
                .binds = binds,
                .n_binds = 3,
                .argv = argv,
                .hostname = "pgimg",
                .stdout_fd = s->stdout_fd,
                .stderr_fd = s->stderr_fd,
                .uid_inside = RUNTIME_PG_UID,
                .gid_inside = RUNTIME_PG_GID,
                .share_net = 1,
        };

        if (s->hba_file == NULL)
                return pgimg_make_error (err, EINVAL, "runtime: no place for the server's pg_hba.conf");
        if (fs_mkdir_p (s->data_dir, 0700, err) < 0 || runtime_private_dir (s->socket_dir, err) < 0)
                return -1;
        if (fs_write_file_atomic (s->hba_file, hba_conf, sizeof (hba_conf) - 1, 0600, err) < 0)
                return -1;
        if (runtime_server_env (s->env, &env, err) < 0)
                return -1;
        o.envp = (const char *const *) env;
        if (check_port_free (s->port, err) < 0)
                return -1;
        snprintf (port_arg, sizeof (port_arg), "port=%d", s->port);
        argv[n++] = "docker-entrypoint.sh";
        argv[n++] = "postgres";
        argv[n++] = "-c";
        argv[n++] = "listen_addresses=127.0.0.1";
        argv[n++] = "-c";
        argv[n++] = port_arg;
        argv[n++] = "-c";
        argv[n++] = "password_encryption=scram-sha-256";
        for (size_t i = 0; s->args && s->args[i]; i++) {
                if (n >= 63 - N_ENFORCED)
                        return pgimg_make_error (err, E2BIG, "too many postgres arguments");
                argv[n++] = s->args[i];
        }
        for (size_t i = 0; i < N_ENFORCED; i++)
                argv[n++] = enforced[i];
        argv[n] = NULL;
        return sandbox_start (&o, out, err);
}

int
runtime_server_stop (struct sandbox *sb, int *exit_code, pgimg_error_t *err)
{
        if (sandbox_pid (sb) > 0 && sandbox_kill (sb, SIGINT, err) < 0)
                return -1;
        return sandbox_wait (sb, exit_code, err);
}

int
runtime_exec (const struct runtime_exec *x, int *exit_code, pgimg_error_t *err)
{
        char pgport[32];
        const char *const *env = x->env;
        const char *defaults[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                   "LANG=C.UTF-8", pgport, NULL };
        cleanup_strv char **merged = NULL;
        const char *over[] = { pgport, NULL };
        const struct sandbox_bind binds[] = { { x->socket_dir, "/run/postgresql", 1 } };
        struct sandbox_opts o = {
                .root_dir = x->rootfs,
                .binds = binds,
                .n_binds = 1,
                .argv = x->argv,
                .hostname = "pgimg",
                .stdin_fd = x->stdin_fd,
                .use_stdin = x->stdin_fd >= 0,
                .stdout_fd = x->stdout_fd,
                .stderr_fd = x->stderr_fd,
                .uid_inside = RUNTIME_PG_UID,
                .gid_inside = RUNTIME_PG_GID,
        };

        snprintf (pgport, sizeof (pgport), "PGPORT=%d", x->port);
        if (env == NULL)
                env = defaults;
        if (runtime_env_merge (env, over, &merged, err) < 0)
                return -1;
        o.envp = (const char *const *) merged;
        return sandbox_run (&o, exit_code, err);
}

/* ---- The state of a named run. ---- */

int
runtime_state_format (const struct runtime_state *st, struct buf *out, pgimg_error_t *err)
{
        if (strchr (st->rootfs, '\n') != NULL)
                return pgimg_make_error (err, EINVAL, "root path `%s` has a newline", st->rootfs);
        if (buf_addf (out, "port %d\nrootfs %s\n", st->port, st->rootfs) < 0)
                return oom (err);
        for (size_t i = 0; st->env && st->env[i]; i++) {
                if (strchr (st->env[i], '\n') != NULL)
                        return pgimg_make_error (err, EINVAL, "environment `%s` has a newline", st->env[i]);
                if (buf_addf (out, "env %s\n", st->env[i]) < 0)
                        return oom (err);
        }
        return 0;
}

int
runtime_state_parse (const char *text, size_t len, struct runtime_state *st, pgimg_error_t *err)
{
        const char *p = text, *end = text + len;

        memset (st, 0, sizeof (*st));
        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (n > 5 && memcmp (p, "port ", 5) == 0) {
                        char num[16];
                        char *e;
                        long v;
                        if (n - 5 >= sizeof (num))
                                goto bad;
                        memcpy (num, p + 5, n - 5);
                        num[n - 5] = '\0';
                        v = strtol (num, &e, 10);
                        if (*e != '\0' || v < 1 || v > 65535)
                                goto bad;
                        st->port = (int) v;
                } else if (n > 7 && memcmp (p, "rootfs ", 7) == 0) {
                        free (st->rootfs);
                        if ((st->rootfs = strndup (p + 7, n - 7)) == NULL)
                                return oom (err);
                } else if (n > 4 && memcmp (p, "env ", 4) == 0 && memchr (p + 4, '=', n - 4) != NULL) {
                        size_t k = 0;
                        char **v;
                        while (st->env && st->env[k])
                                k++;
                        v = realloc (st->env, (k + 2) * sizeof (char *));
                        if (v == NULL)
                                return oom (err);
                        st->env = v;
                        v[k + 1] = NULL;
                        if ((v[k] = strndup (p + 4, n - 4)) == NULL)
                                return oom (err);
                } else if (n != 0) {
                        goto bad;
                }
                p += n + 1;
        }
        if (st->port == 0 || st->rootfs == NULL)
                goto bad;
        return 0;
bad:
        runtime_state_free (st);
        return pgimg_make_error (err, EINVAL,
                                 "malformed run state (want `port N`, `rootfs PATH` and `env K=V` lines)");
}

void
runtime_state_free (struct runtime_state *st)
{
        free (st->rootfs);
        st->rootfs = NULL;
        strv_free (st->env);
        st->env = NULL;
}
