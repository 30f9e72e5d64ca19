/* sandbox.c - run one build step in its own namespaces: the parent's
 * side.  It checks the options, prepares everything the child needs (the
 * child allocates nothing, see child.c), clones it, writes its uid and
 * gid maps, turns its report into an error, and afterwards removes the
 * mount points the child had to create in root_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "sandbox/child.h"
#include "sandbox/resolve.h"
#include "sandbox/sandbox.h"

#define NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC \
                    | CLONE_NEWUTS)

/* A mount point that did not exist in root_dir before the step: path
 * (normalised, relative to root_dir), of which the first existing_len
 * bytes did exist.  Removed again after the step. */
struct made_path {
        char *path;
        size_t existing_len;
};

struct sandbox {
        pid_t pid;              /* PID 1 of the step; 0 once reaped */
        int root_fd;            /* O_PATH, to remove made paths */
        struct made_path *made;
        size_t n_made;
};

static int
write_proc_file (pid_t pid, const char *name, const char *content, pgimg_error_t *err)
{
        char path[64];
        cleanup_fd int fd = -1;

        snprintf (path, sizeof (path), "/proc/%d/%s", (int) pid, name);
        fd = open (path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && strcmp (name, "setgroups") == 0)
                return 0; /* before Linux 3.19 */
        if (fd < 0 || fs_write_all (fd, content, strlen (content)) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: write %s", path);
        return 0;
}

/* Map the caller to uid_inside (root by default).  setgroups must be denied before an
 * unprivileged process may write gid_map. */
static int
write_id_maps (pid_t pid, const struct sandbox_opts *o, pgimg_error_t *err)
{
        char map[64];

        snprintf (map, sizeof (map), "%u %u 1\n", o->uid_inside, (unsigned) geteuid ());
        if (write_proc_file (pid, "uid_map", map, err) < 0)
                return -1;
        if (write_proc_file (pid, "setgroups", "deny", err) < 0)
                return -1;
        snprintf (map, sizeof (map), "%u %u 1\n", o->gid_inside, (unsigned) getegid ());
        return write_proc_file (pid, "gid_map", map, err);
}

/* Remember a target whose path is missing in root_dir now, so that
 * what the child creates for it on disk can be removed afterwards. */
static int
note_missing (struct sandbox *sb, const char *path, pgimg_error_t *err)
{
        char buf[PATH_MAX];
        size_t existing = 0;
        struct made_path *v;

        if (resolve_normalise (buf, path) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: mount point %s", path);
        for (size_t i = 0;; i++) {
                char c = buf[i];
                int fd;
                if (c != '/' && c != '\0')
                        continue;
                if (i == 0)
                        return 0;
                buf[i] = '\0';
                fd = resolve_open (sb->root_fd, buf, O_PATH, 0);
                if (fd < 0 && errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "sandbox: mount point %s", path);
                buf[i] = c;
                if (fd < 0)
                        break;
                close (fd);
                existing = i;
                if (c == '\0')
                        return 0; /* all there */
        }
        v = realloc (sb->made, (sb->n_made + 1) * sizeof (*v));
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        sb->made = v;
        v[sb->n_made].path = strdup (buf);
        v[sb->n_made].existing_len = existing;
        if (v[sb->n_made].path == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        sb->n_made++;
        return 0;
}

/* Undo ensure_mount_point in root_dir: remove, deepest first, the
 * components that did not exist before, as long as they are empty
 * directories or the empty files made for file binds.  Errors are
 * ignored: the point may have been made in a tmpfs instead. */
static void
remove_made_paths (struct sandbox *sb)
{
        while (sb->n_made > 0) {
                struct made_path *m = &sb->made[--sb->n_made];
                char *p = m->path;
                size_t len = strlen (p);

                while (len > m->existing_len) {
                        char *slash;
                        const char *name = p;
                        struct stat st;
                        int dir_fd, flags = -1;

                        p[len] = '\0';
                        slash = strrchr (p, '/');
                        if (slash != NULL) {
                                *slash = '\0';
                                dir_fd = resolve_open (sb->root_fd, p, O_PATH | O_DIRECTORY, 0);
                                *slash = '/';
                                name = slash + 1;
                        } else {
                                dir_fd = resolve_open (sb->root_fd, ".", O_PATH | O_DIRECTORY, 0);
                        }
                        if (dir_fd >= 0 && fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                                if (S_ISDIR (st.st_mode))
                                        flags = AT_REMOVEDIR;
                                else if (S_ISREG (st.st_mode) && st.st_size == 0)
                                        flags = 0;
                        }
                        if (flags >= 0)
                                unlinkat (dir_fd, name, flags);
                        if (dir_fd >= 0)
                                close (dir_fd);
                        len = slash != NULL ? (size_t) (slash - p) : 0;
                }
                free (m->path);
        }
        free (sb->made);
        sb->made = NULL;
}

void
sandbox_free (struct sandbox *sb)
{
        if (sb == NULL)
                return;
        cleanup_pidp (&sb->pid);
        if (sb->root_fd >= 0) {
                remove_made_paths (sb);
                close (sb->root_fd);
        }
        free (sb->made);
        free (sb);
}

pid_t
sandbox_pid (const struct sandbox *sb)
{
        return sb->pid;
}

int
sandbox_kill (struct sandbox *sb, int sig, pgimg_error_t *err)
{
        if (sb->pid <= 0)
                return pgimg_make_error (err, ESRCH, "sandbox: the step has ended");
        if (kill (sb->pid, sig) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: kill %d", (int) sb->pid);
        return 0;
}

int
sandbox_wait (struct sandbox *sb, int *exit_code, pgimg_error_t *err)
{
        int status;
        pid_t r;

        if (sb->pid <= 0)
                return pgimg_make_error (err, ECHILD, "sandbox: the step was already waited for");
        do
                r = waitpid (sb->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: waitpid %d", (int) sb->pid);
        sb->pid = 0;
        *exit_code = child_exit_code (status);
        remove_made_paths (sb);
        return 0;
}

/* Check what can be checked before the clone, for errors that name
 * the caller's paths rather than a mount step. */
static int
check_opts (const struct sandbox_opts *o, unsigned char *bind_is_dir, pgimg_error_t *err)
{
        struct stat st;

        if (o->root_dir == NULL || o->argv == NULL || o->argv[0] == NULL)
                return pgimg_make_error (err, EINVAL, "sandbox: no root directory or no command");
        if (stat (o->root_dir, &st) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: root %s", o->root_dir);
        if (!S_ISDIR (st.st_mode))
                return pgimg_make_error (err, ENOTDIR, "sandbox: root %s is not a directory",
                                         o->root_dir);
        if (o->cwd != NULL && o->cwd[0] != '/')
                return pgimg_make_error (err, EINVAL, "sandbox: cwd %s is not absolute", o->cwd);
        for (size_t i = 0; i < o->n_binds; i++) {
                const struct sandbox_bind *b = &o->binds[i];
                if (b->sandbox_path == NULL || b->sandbox_path[0] != '/')
                        return pgimg_make_error (err, EINVAL, "sandbox: bind target %s is not absolute",
                                                 b->sandbox_path ? b->sandbox_path : "(null)");
                if (stat (b->host_path, &st) < 0)
                        return pgimg_make_error_errno (err, errno, "sandbox: bind source %s",
                                                       b->host_path);
                bind_is_dir[i] = S_ISDIR (st.st_mode);
        }
        return 0;
}

/* The descriptors that become the command's 0, 1 and 2, duplicated
 * above 2 so that dup2 in the child cannot clobber one with another. */
static int
open_stdio (const struct sandbox_opts *o, int stdio[3], pgimg_error_t *err)
{
        const int want[3] = { o->use_stdin ? o->stdin_fd : -1, o->stdout_fd, o->stderr_fd };

        for (int i = 0; i < 3; i++) {
                if (want[i] >= 0)
                        stdio[i] = fcntl (want[i], F_DUPFD_CLOEXEC, 3);
                else
                        stdio[i] = open ("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
                if (stdio[i] < 0)
                        return pgimg_make_error_errno (err, errno, "sandbox: stdio of the step (fd %d)", i);
        }
        return 0;
}

static void
close_stdio (int stdio[3])
{
        for (int i = 0; i < 3; i++)
                cleanup_fdp (&stdio[i]);
}

/* Read the child's report: 1 with *e filled, 0 at EOF (the command was
 * executed), -1 on a read error. */
static int
read_child_error (int fd, struct child_error *e)
{
        size_t got = 0;

        while (got < sizeof (*e)) {
                ssize_t n = read (fd, (char *) e + got, sizeof (*e) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n == 0)
                        return got == 0 ? 0 : -1;
                got += (size_t) n;
        }
        return 1;
}

/* Clone the child, write its maps, let it go, and wait for its report. */
static int
start_child (struct sandbox *sb, const struct child_ctx *ctx_in, pgimg_error_t *err)
{
        struct child_ctx c = *ctx_in;
        const struct sandbox_opts *o = c.opts;
        cleanup_fd int sync_parent = -1, sync_child = -1, err_read = -1, err_write = -1;
        cleanup_pid pid_t pid = 0;
        struct child_error e;
        int sv[2], p[2], r;

        /* A socket, not a pipe, for the go signal: MSG_NOSIGNAL keeps a
         * child that died early from killing pgimg with SIGPIPE. */
        if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: socketpair");
        sync_parent = sv[0];
        sync_child = sv[1];
        if (pipe2 (p, O_CLOEXEC) < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: pipe");
        err_read = p[0];
        err_write = p[1];
        c.sync_fd = sync_child;
        c.error_fd = err_write;

        pid = child_clone ((o->share_net ? NAMESPACES & ~CLONE_NEWNET : NAMESPACES) | SIGCHLD);
        if (pid < 0) {
                int saved = errno;
                pid = 0;
                if (sandbox_check (err) < 0)
                        return -1;
                return pgimg_make_error_errno (err, saved, "sandbox: clone into new namespaces");
        }
        if (pid == 0) {
                close (sync_parent);
                close (err_read);
                child_main (&c);
        }
        cleanup_fdp (&sync_child);
        sync_child = -1;
        cleanup_fdp (&err_write);
        err_write = -1;

        if (write_id_maps (pid, o, err) < 0)
                return -1;
        do
                r = (int) send (sync_parent, "x", 1, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r != 1)
                return pgimg_make_error_errno (err, errno, "sandbox: start the step");

        r = read_child_error (err_read, &e);
        if (r < 0)
                return pgimg_make_error_errno (err, errno ? errno : EPROTO,
                                               "sandbox: read the step's setup report");
        if (r > 0)
                return child_describe_error (o, &e, err);
        sb->pid = pid;
        pid = 0;
        return 0;
}

int
sandbox_start (const struct sandbox_opts *opts, struct sandbox **out, pgimg_error_t *err)
{
        cleanup_free unsigned char *bind_is_dir = calloc (opts->n_binds + 1, 1);
        struct sandbox *sb = NULL;
        struct child_ctx c = { 0 };
        int stdio[3] = { -1, -1, -1 };

        if (bind_is_dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        if (check_opts (opts, bind_is_dir, err) < 0)
                return -1;
        sb = calloc (1, sizeof (*sb));
        if (sb == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sandbox");
        sb->root_fd = open (opts->root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sb->root_fd < 0) {
                pgimg_make_error_errno (err, errno, "sandbox: root %s", opts->root_dir);
                goto fail;
        }
        if (note_missing (sb, "proc", err) < 0 || note_missing (sb, "dev", err) < 0
            || note_missing (sb, "tmp", err) < 0)
                goto fail;
        for (size_t i = 0; i < opts->n_binds; i++)
                if (note_missing (sb, opts->binds[i].sandbox_path, err) < 0)
                        goto fail;
        if (open_stdio (opts, stdio, err) < 0)
                goto fail;

        c.opts = opts;
        c.bind_is_dir = bind_is_dir;
        c.cwd = opts->cwd ? opts->cwd : "/";
        c.hostname = opts->hostname ? opts->hostname : "pgimg";
        memcpy (c.stdio, stdio, sizeof (stdio));
        if (start_child (sb, &c, err) < 0)
                goto fail;
        close_stdio (stdio);
        *out = sb;
        return 0;

fail:
        close_stdio (stdio);
        sandbox_free (sb);
        return -1;
}

int
sandbox_run (const struct sandbox_opts *opts, int *exit_code, pgimg_error_t *err)
{
        cleanup_sandbox struct sandbox *sb = NULL;

        if (sandbox_start (opts, &sb, err) < 0)
                return -1;
        return sandbox_wait (sb, exit_code, err);
}

/* ---- The probe. ---- */

/* What may forbid user namespaces, with the value that forbids them. */
static const struct {
        const char *file;
        const char *bad;        /* content that forbids */
        const char *hint;
} userns_knobs[] = {
        { "/proc/sys/kernel/unprivileged_userns_clone", "0",
          "sysctl -w kernel.unprivileged_userns_clone=1" },
        { "/proc/sys/user/max_user_namespaces", "0", "sysctl -w user.max_user_namespaces=15000" },
        { "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
          "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile "
          "that allows userns for pgimg" },
};

static int
knob_forbids (const char *file, const char *bad)
{
        char buf[32];
        cleanup_fd int fd = open (file, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return 0;
        n = read (fd, buf, sizeof (buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        buf[strcspn (buf, "\n")] = '\0';
        return strcmp (buf, bad) == 0;
}

static int
userns_unavailable (int errno_, pgimg_error_t *err)
{
        char hints[512] = "";
        size_t len = 0;

        for (size_t i = 0; i < sizeof (userns_knobs) / sizeof (userns_knobs[0]); i++) {
                if (!knob_forbids (userns_knobs[i].file, userns_knobs[i].bad))
                        continue;
                int n = snprintf (hints + len, sizeof (hints) - len, "%s%s is %s (%s)",
                                  len ? "; " : "", userns_knobs[i].file, userns_knobs[i].bad,
                                  userns_knobs[i].hint);
                if (n > 0 && (size_t) n < sizeof (hints) - len)
                        len += (size_t) n;
        }
        if (len == 0)
                snprintf (hints, sizeof (hints),
                          "check /proc/sys/kernel/unprivileged_userns_clone (must be 1), "
                          "/proc/sys/user/max_user_namespaces (must be above 0) and "
                          "/proc/sys/kernel/apparmor_restrict_unprivileged_userns (must be 0); "
                          "inside a container, its seccomp profile may forbid unshare");
        return pgimg_make_error (err, errno_, "sandbox: user namespaces are unavailable (%s): %s",
                                 strerror (errno_), hints);
}

/* Exits 0, the errno of unshare (CLONE_NEWUSER), or 128 + the errno of
 * the other namespaces' unshare. */
static _Noreturn void
probe_child (void)
{
        if (unshare (CLONE_NEWUSER) < 0)
                _exit (errno & 0xff);
        if (unshare (NAMESPACES & ~CLONE_NEWUSER) < 0)
                _exit (128 | (errno & 0x7f));
        _exit (0);
}

int
sandbox_check (pgimg_error_t *err)
{
        int status, code;
        pid_t r, pid = child_clone (SIGCHLD);

        if (pid < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: fork the probe");
        if (pid == 0)
                probe_child ();
        do
                r = waitpid (pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return pgimg_make_error_errno (err, errno, "sandbox: wait for the probe");
        if (!WIFEXITED (status))
                return pgimg_make_error (err, EIO, "sandbox: the namespace probe died");
        code = WEXITSTATUS (status);
        if (code == 0)
                return 0;
        if (code & 128)
                return pgimg_make_error_errno (err, code & 0x7f,
                                               "sandbox: cannot create mount, pid, network, ipc "
                                               "and uts namespaces in a user namespace");
        return userns_unavailable (code, err);
}
