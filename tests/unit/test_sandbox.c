/* test_sandbox.c - the sandbox's promises, checked from inside it.
 *
 * The root is assembled in a temporary directory: the host's /usr bound
 * read-only at /usr (its mount point is missing on purpose, so it must
 * be created and removed again), merged-/usr symlinks, and a host
 * directory bound writable at /out.  Exits 77 without user namespaces.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox/resolve.h"
#include "sandbox/sandbox.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"

static char top[] = "/tmp/pgimg-test-sandbox-XXXXXX";
static char root_dir[64];
static char out_dir[64];

static const char *const default_env[] = { "PATH=/usr/bin:/bin", NULL };

struct result {
        int exit_code;
        char out[8192];
};

static int
run_step (const char *const *argv, const char *const *envp, const char *hostname,
          struct result *r, pgimg_error_t *err)
{
        const struct sandbox_bind binds[] = {
                { "/usr", "/usr", 0 },
                { out_dir, "/out", 1 },
        };
        cleanup_fd int out = memfd_create ("step-stdout", MFD_CLOEXEC);
        struct sandbox_opts o = {
                .root_dir = root_dir,
                .binds = binds,
                .n_binds = 2,
                .argv = argv,
                .envp = envp ? envp : default_env,
                .hostname = hostname,
                .stdout_fd = out,
                .stderr_fd = STDERR_FILENO,
        };
        ssize_t n;

        assert_true (out >= 0);
        memset (r, 0, sizeof (*r));
        if (sandbox_run (&o, &r->exit_code, err) < 0)
                return -1;
        assert_int_equal (lseek (out, 0, SEEK_SET), 0);
        n = read (out, r->out, sizeof (r->out) - 1);
        assert_true (n >= 0);
        r->out[n] = '\0';
        return 0;
}

/* Run `sh -c script`; fails the test on a setup error. */
static void
run_sh (const char *script, struct result *r)
{
        const char *const argv[] = { "sh", "-c", script, NULL };
        pgimg_error_t err = NULL;

        if (run_step (argv, NULL, NULL, r, &err) < 0)
                fail_msg ("sandbox_run: %s", err->msg);
}

/* Host processes whose command line is exactly argv0 arg1. */
static int
count_processes (const char *argv0, const char *arg1)
{
        cleanup_dir DIR *d = opendir ("/proc");
        struct dirent *de;
        int count = 0;

        assert_non_null (d);
        while ((de = readdir (d)) != NULL) {
                char path[300], cmd[256];
                cleanup_fd int fd = -1;
                ssize_t n;
                size_t l0 = strlen (argv0);

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                snprintf (path, sizeof (path), "/proc/%s/cmdline", de->d_name);
                fd = open (path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read (fd, cmd, sizeof (cmd) - 1);
                if (n <= 0)
                        continue;
                cmd[n] = '\0';
                if ((size_t) n == l0 + strlen (arg1) + 2 && strcmp (cmd, argv0) == 0
                    && strcmp (cmd + l0 + 1, arg1) == 0)
                        count++;
        }
        return count;
}

static void
runs_as_root_inside (void **state)
{
        struct result r;
        struct stat st;
        (void) state;

        run_sh ("id -u; id -g", &r);
        assert_int_equal (r.exit_code, 0);
        assert_string_equal (r.out, "0\n0\n");
        /* The /usr mount point was made for the step and is gone again. */
        char usr[80];
        snprintf (usr, sizeof (usr), "%s/usr", root_dir);
        assert_int_equal (lstat (usr, &st), -1);
        assert_int_equal (errno, ENOENT);
}

static void
hostname_is_fixed (void **state)
{
        const char *const argv[] = { "cat", "/proc/sys/kernel/hostname", NULL };
        pgimg_error_t err = NULL;
        struct result r;
        (void) state;

        assert_int_equal (run_step (argv, NULL, NULL, &r, &err), 0);
        assert_string_equal (r.out, "pgimg\n");
        assert_int_equal (run_step (argv, NULL, "step-host", &r, &err), 0);
        assert_string_equal (r.out, "step-host\n");
}

static void
root_is_read_only_binds_as_asked (void **state)
{
        char path[128];
        struct stat st;
        struct result r;
        (void) state;

        run_sh ("{ echo > /x; } 2>/dev/null", &r);
        assert_int_not_equal (r.exit_code, 0);
        run_sh ("{ echo > /usr/pgimg-test-x; } 2>/dev/null", &r);
        assert_int_not_equal (r.exit_code, 0);
        run_sh ("echo hello > /tmp/t && echo > /dev/null && echo step > /out/made", &r);
        assert_int_equal (r.exit_code, 0);
        snprintf (path, sizeof (path), "%s/made", out_dir);
        assert_int_equal (stat (path, &st), 0);
        assert_int_equal (st.st_uid, geteuid ());
        assert_int_equal (st.st_gid, getegid ());
        assert_int_equal (st.st_size, 5);
        unlink (path);
}

static void
dev_holds_only_the_safe_nodes (void **state)
{
        struct result r;
        (void) state;

        run_sh ("ls /dev | tr '\\n' ' '; { echo > /dev/newfile; } 2>/dev/null", &r);
        assert_string_equal (r.out, "fd full null random shm stderr stdin stdout tty urandom zero ");
        assert_int_not_equal (r.exit_code, 0);
}

static void
pid_namespace_is_new (void **state)
{
        struct result r;
        (void) state;

        /* The command's parent is PID 1, the sandbox's init. */
        run_sh ("echo $PPID; grep '^Pid:' /proc/1/status", &r);
        assert_int_equal (r.exit_code, 0);
        assert_string_equal (r.out, "1\nPid:\t1\n");
        run_sh ("grep '^Pid:' /proc/self/status | cut -f2", &r);
        assert_true (atoi (r.out) > 1 && atoi (r.out) < 10);
}

static void
network_is_loopback_only (void **state)
{
        struct sockaddr_in a = { .sin_family = AF_INET };
        socklen_t len = sizeof (a);
        cleanup_fd int listener = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cleanup_fd int probe = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char script[256];
        struct result r;
        (void) state;

        a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        assert_int_equal (bind (listener, (struct sockaddr *) &a, sizeof (a)), 0);
        assert_int_equal (listen (listener, 4), 0);
        assert_int_equal (getsockname (listener, (struct sockaddr *) &a, &len), 0);
        /* Reachable from the host ... */
        assert_int_equal (connect (probe, (struct sockaddr *) &a, sizeof (a)), 0);
        /* ... refused inside: the step's 127.0.0.1 is its own. */
        snprintf (script, sizeof (script),
                  "exec bash -c 'echo x > /dev/tcp/127.0.0.1/%d' 2>/dev/null", ntohs (a.sin_port));
        run_sh (script, &r);
        assert_int_not_equal (r.exit_code, 0);
        /* Only loopback exists. */
        run_sh ("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", &r);
        assert_string_equal (r.out, "lo\n");
}

static void
background_processes_die_with_the_step (void **state)
{
        struct result r;
        (void) state;

        /* Until the exec, the child's cmdline is still the shell's. */
        run_sh ("sleep 987654 & until tr '\\0' ' ' < /proc/$!/cmdline | grep -q '^sleep '; do :; done;"
                " tr '\\0' ' ' < /proc/$!/cmdline", &r);
        assert_int_equal (r.exit_code, 0);
        assert_string_equal (r.out, "sleep 987654 ");
        assert_int_equal (count_processes ("sleep", "987654"), 0);
}

static void
exit_status_and_signals_propagate (void **state)
{
        struct result r;
        (void) state;

        run_sh ("exit 3", &r);
        assert_int_equal (r.exit_code, 3);
        run_sh ("kill -KILL $$", &r);
        assert_int_equal (r.exit_code, 128 + SIGKILL);
        run_sh ("kill -TERM $$", &r);
        assert_int_equal (r.exit_code, 128 + SIGTERM);
}

static void
environment_is_exactly_envp (void **state)
{
        const char *const argv[] = { "env", NULL };
        const char *const envp[] = { "PATH=/usr/bin", "FOO=bar baz", "EMPTY=", NULL };
        const char *const no_path[] = { "PATH=/nonexistent", NULL };
        pgimg_error_t err = NULL;
        struct result r;
        (void) state;

        assert_int_equal (run_step (argv, envp, NULL, &r, &err), 0);
        assert_string_equal (r.out, "PATH=/usr/bin\nFOO=bar baz\nEMPTY=\n");
        /* The command is searched in envp's PATH, not pgimg's. */
        assert_true (run_step (argv, no_path, NULL, &r, &err) < 0);
        assert_string_equal (err->msg, "sandbox: exec `env`: No such file or directory");
        pgimg_error_free (&err);
}

/* A command kept running, then stopped with a forwarded SIGTERM. */
static void
step_api_forwards_signals (void **state)
{
        const char *const argv[] = { "sleep", "987655", NULL };
        struct sandbox_opts o = {
                .root_dir = root_dir,
                .binds = &(struct sandbox_bind) { "/usr", "/usr", 0 },
                .n_binds = 1,
                .argv = argv,
                .envp = default_env,
                .stdout_fd = -1,
                .stderr_fd = -1,
        };
        struct timespec tick = { 0, 10 * 1000 * 1000 };
        pgimg_error_t err = NULL;
        struct sandbox *sb = NULL;
        int code = -1;
        (void) state;

        assert_int_equal (sandbox_start (&o, &sb, &err), 0);
        assert_true (sandbox_pid (sb) > 0);
        for (int i = 0; i < 300 && count_processes ("sleep", "987655") == 0; i++)
                nanosleep (&tick, NULL);
        assert_int_equal (count_processes ("sleep", "987655"), 1);
        assert_int_equal (sandbox_kill (sb, SIGTERM, &err), 0);
        assert_int_equal (sandbox_wait (sb, &code, &err), 0);
        assert_int_equal (code, 128 + SIGTERM);
        assert_int_equal (sandbox_pid (sb), 0);
        assert_true (sandbox_kill (sb, SIGTERM, &err) < 0);
        assert_string_equal (err->msg, "sandbox: the step has ended");
        pgimg_error_free (&err);
        sandbox_free (sb);

        /* Dropping a running step kills it. */
        assert_int_equal (sandbox_start (&o, &sb, &err), 0);
        for (int i = 0; i < 300 && count_processes ("sleep", "987655") == 0; i++)
                nanosleep (&tick, NULL);
        assert_int_equal (count_processes ("sleep", "987655"), 1);
        sandbox_free (sb);
        assert_int_equal (count_processes ("sleep", "987655"), 0);
}

/* A bind through an absolute symlink of the root lands inside the root,
 * never on the host path the link names. */
static void
symlinks_in_the_root_stay_inside (void **state)
{
        const char *const argv[] = { "sh", "-c", "echo in > /pgimg-escape-test/f", NULL };
        const struct sandbox_bind binds[] = {
                { "/usr", "/usr", 0 },
                { out_dir, "/hostroot/pgimg-escape-test", 1 },
        };
        struct sandbox_opts o = {
                .root_dir = root_dir,
                .binds = binds,
                .n_binds = 2,
                .argv = argv,
                .envp = default_env,
                .stdout_fd = -1,
                .stderr_fd = STDERR_FILENO,
        };
        char link[128], path[128];
        pgimg_error_t err = NULL;
        struct stat st;
        int code = -1;
        (void) state;

        snprintf (link, sizeof (link), "%s/hostroot", root_dir);
        assert_int_equal (symlink ("/", link), 0);
        assert_int_equal (sandbox_run (&o, &code, &err), 0);
        assert_int_equal (code, 0);
        snprintf (path, sizeof (path), "%s/f", out_dir);
        assert_int_equal (unlink (path), 0);
        assert_int_equal (lstat ("/pgimg-escape-test", &st), -1);
        snprintf (path, sizeof (path), "%s/pgimg-escape-test", root_dir);
        assert_int_equal (lstat (path, &st), -1); /* made for the step, removed after */
        assert_int_equal (unlink (link), 0);
}

/* A hostile root: var -> a host directory that exists on the host but
 * not in the root.  The bind's mount point must be made in the root's
 * own copy of that path, through openat2 and through the walk by hand
 * (the child inherits the switch). */
static void
mount_points_through_host_links (int use_openat2)
{
        const char *const argv[] = { "sh", "-c", "echo in > /var/lib/postgresql/data/f", NULL };
        const struct sandbox_bind binds[] = {
                { "/usr", "/usr", 0 },
                { out_dir, "/var/lib/postgresql/data", 1 },
        };
        struct sandbox_opts o = {
                .root_dir = root_dir,
                .binds = binds,
                .n_binds = 2,
                .argv = argv,
                .envp = default_env,
                .stdout_fd = -1,
                .stderr_fd = STDERR_FILENO,
        };
        char host[] = "/tmp/pgimg-test-host-XXXXXX";
        char link[128], path[192], cmd[256];
        pgimg_error_t err = NULL;
        int code = -1, r;

        assert_non_null (mkdtemp (host));
        snprintf (link, sizeof (link), "%s/var", root_dir);
        assert_int_equal (symlink (host, link), 0);
        resolve_use_openat2 (use_openat2);
        r = sandbox_run (&o, &code, &err);
        resolve_use_openat2 (1);
        if (r < 0)
                fail_msg ("%s", err->msg);
        assert_int_equal (code, 0);
        snprintf (path, sizeof (path), "%s/f", out_dir);
        assert_int_equal (unlink (path), 0);
        /* Nothing on the host; the points made in the root are gone again. */
        snprintf (path, sizeof (path), "%s/lib", host);
        assert_false (fs_exists (path));
        snprintf (path, sizeof (path), "%s%s/lib", root_dir, host);
        assert_false (fs_exists (path));
        assert_int_equal (unlink (link), 0);
        snprintf (cmd, sizeof (cmd), "rm -rf '%s' '%s/tmp/pgimg-test-host-'*", host, root_dir);
        assert_int_equal (system (cmd), 0);
}

static void
mount_points_stay_in_root_openat2 (void **state)
{
        (void) state;
        mount_points_through_host_links (1);
}

static void
mount_points_stay_in_root_by_hand (void **state)
{
        (void) state;
        mount_points_through_host_links (0);
}

static void
setup_errors_name_the_step (void **state)
{
        const char *const argv[] = { "true", NULL };
        struct sandbox_opts o = {
                .root_dir = "/nonexistent/pgimg-root",
                .argv = argv,
                .envp = default_env,
                .stdout_fd = -1,
                .stderr_fd = -1,
        };
        struct sandbox_bind into_ro[] = {
                { "/usr", "/usr", 0 },
                { out_dir, "/usr/pgimg-no-such-dir", 1 },
        };
        char want[256];
        pgimg_error_t err = NULL;
        int code = -1;
        (void) state;

        assert_true (sandbox_run (&o, &code, &err) < 0);
        assert_string_equal (err->msg, "sandbox: root /nonexistent/pgimg-root: No such file or directory");
        pgimg_error_free (&err);

        /* Reported by the child, after the clone. */
        o.root_dir = root_dir;
        o.binds = into_ro;
        o.n_binds = 2;
        assert_true (sandbox_run (&o, &code, &err) < 0);
        snprintf (want, sizeof (want),
                  "sandbox: create mount point /usr/pgimg-no-such-dir in %s: Read-only file system",
                  root_dir);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);

        o.n_binds = 1;
        o.cwd = "/no-such-cwd";
        assert_true (sandbox_run (&o, &code, &err) < 0);
        snprintf (want, sizeof (want), "sandbox: chdir to /no-such-cwd inside %s: No such file or directory",
                  root_dir);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);

        o.cwd = NULL;
        into_ro[0].host_path = "/nonexistent/pgimg-src";
        assert_true (sandbox_run (&o, &code, &err) < 0);
        assert_string_equal (err->msg, "sandbox: bind source /nonexistent/pgimg-src: No such file or directory");
        pgimg_error_free (&err);
}

static int
make_root (void **state)
{
        static const char *const dirs[] = { "proc", "dev", "tmp" };
        static const char *const links[][2] = {
                { "usr/bin", "bin" }, { "usr/lib", "lib" }, { "usr/lib64", "lib64" }, { "usr/sbin", "sbin" },
        };
        char path[128];
        (void) state;

        if (mkdtemp (top) == NULL)
                return -1;
        snprintf (root_dir, sizeof (root_dir), "%s/root", top);
        snprintf (out_dir, sizeof (out_dir), "%s/out", top);
        if (mkdir (root_dir, 0755) < 0 || mkdir (out_dir, 0755) < 0)
                return -1;
        for (size_t i = 0; i < sizeof (dirs) / sizeof (dirs[0]); i++) {
                snprintf (path, sizeof (path), "%s/%s", root_dir, dirs[i]);
                if (mkdir (path, 0755) < 0)
                        return -1;
        }
        for (size_t i = 0; i < sizeof (links) / sizeof (links[0]); i++) {
                snprintf (path, sizeof (path), "%s/%s", root_dir, links[i][1]);
                if (symlink (links[i][0], path) < 0)
                        return -1;
        }
        return 0;
}

static int
remove_root (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;

        if (fs_rm_rf (top, &err) < 0) {
                fprintf (stderr, "%s\n", err->msg);
                pgimg_error_free (&err);
                return -1;
        }
        return 0;
}

/* pgimg run's options: a non-root uid inside whose files are the
 * caller's outside, and the caller's stdin. */
static void
runs_as_uid_inside_with_stdin (void **state)
{
        const struct sandbox_bind binds[] = {
                { "/usr", "/usr", 0 },
                { out_dir, "/out", 1 },
        };
        const char *const argv[] = { "sh", "-c", "read line; echo \"$(id -u):$(id -g):$line\"; touch /out/by-999", NULL };
        cleanup_fd int out = memfd_create ("step-stdout", MFD_CLOEXEC);
        cleanup_fd int in = memfd_create ("step-stdin", MFD_CLOEXEC);
        char path[128], text[64];
        pgimg_error_t err = NULL;
        struct stat st;
        int code;
        ssize_t n;

        (void) state;
        assert_true (out >= 0 && in >= 0);
        assert_int_equal (write (in, "hello\n", 6), 6);
        assert_int_equal (lseek (in, 0, SEEK_SET), 0);
        struct sandbox_opts o = {
                .root_dir = root_dir,
                .binds = binds,
                .n_binds = 2,
                .argv = argv,
                .envp = default_env,
                .stdin_fd = in,
                .use_stdin = 1,
                .stdout_fd = out,
                .stderr_fd = STDERR_FILENO,
                .uid_inside = 999,
                .gid_inside = 999,
        };
        if (sandbox_run (&o, &code, &err) < 0)
                fail_msg ("sandbox_run: %s", err->msg);
        assert_int_equal (code, 0);
        assert_int_equal (lseek (out, 0, SEEK_SET), 0);
        n = read (out, text, sizeof (text) - 1);
        assert_true (n > 0);
        text[n] = '\0';
        assert_string_equal (text, "999:999:hello\n");
        snprintf (path, sizeof (path), "%s/by-999", out_dir);
        assert_int_equal (stat (path, &st), 0);
        assert_int_equal (st.st_uid, geteuid ());
        unlink (path);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (runs_as_root_inside),
                cmocka_unit_test (hostname_is_fixed),
                cmocka_unit_test (root_is_read_only_binds_as_asked),
                cmocka_unit_test (dev_holds_only_the_safe_nodes),
                cmocka_unit_test (pid_namespace_is_new),
                cmocka_unit_test (network_is_loopback_only),
                cmocka_unit_test (background_processes_die_with_the_step),
                cmocka_unit_test (exit_status_and_signals_propagate),
                cmocka_unit_test (environment_is_exactly_envp),
                cmocka_unit_test (step_api_forwards_signals),
                cmocka_unit_test (symlinks_in_the_root_stay_inside),
                cmocka_unit_test (mount_points_stay_in_root_openat2),
                cmocka_unit_test (mount_points_stay_in_root_by_hand),
                cmocka_unit_test (setup_errors_name_the_step),
                cmocka_unit_test (runs_as_uid_inside_with_stdin),
        };
        pgimg_error_t err = NULL;

        if (sandbox_check (&err) < 0) {
                printf ("1..0 # SKIP %s\n", err->msg);
                pgimg_error_free (&err);
                return 77;
        }
        return cmocka_run_group_tests (tests, make_root, remove_root);
}
