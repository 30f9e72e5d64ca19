/* child.c - the sandbox's child, from the clone to the exec.
 *
 * The order of the setup follows bubblewrap: clone into the new
 * namespaces, let the parent write the uid and gid maps, build the new
 * root from mounts in the private mount namespace, pivot_root into it,
 * then become a tiny init that runs the command.  As in bubblewrap and
 * crun, a failing setup step is sent to the parent through a CLOEXEC
 * pipe, so the caller gets "mount proc on /x/proc: ..." and not an
 * exit code; the pipe reaches EOF when the command has been executed.
 *
 * The child is made with the raw clone system call and calls no libc
 * function that allocates or takes a lock: pgimg may have other
 * threads, whose locks the child would inherit held.  Everything it
 * needs is prepared by the parent before the clone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "sandbox/child.h"
#include "sandbox/resolve.h"
#include "sandbox/sandbox.h"

extern char **environ;

/* Signals that PID 1 passes on to the command (a server's shutdown
 * modes and reload); any other signal from outside is ignored by the
 * kernel for a namespace's init, except SIGKILL. */
static const int forwarded_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 };

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const char *const dev_node_paths[] = { "/dev/null", "/dev/zero", "/dev/full",
                                              "/dev/random", "/dev/urandom", "/dev/tty" };
static const struct {
        const char *name;
        const char *target;
} dev_links[] = {
        { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" },
};

static const char *
target_path (const struct sandbox_opts *opts, int index)
{
        switch (index) {
        case TARGET_PROC:
                return "/proc";
        case TARGET_DEV:
                return "/dev";
        case TARGET_TMP:
                return "/tmp";
        default:
                return opts->binds[index].sandbox_path;
        }
}

/* ---- Helpers shared by parent and child: no allocation. ---- */

pid_t
child_clone (unsigned long flags)
{
#if defined(__s390__) || defined(__CRIS__)
        return (pid_t) syscall (SYS_clone, NULL, flags);
#else
        return (pid_t) syscall (SYS_clone, flags, NULL, NULL, NULL, NULL);
#endif
}

/* "/proc/self/fd/<fd>": a mount target named by a descriptor, so that
 * the path was resolved once, inside the root. */
static void
fd_path (char buf[static 32], int fd)
{
        char digits[12];
        int n = 0;
        unsigned v = (unsigned) fd;
        char *p = buf;

        do {
                digits[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v != 0);
        memcpy (p, "/proc/self/fd/", 14);
        p += 14;
        while (n > 0)
                *p++ = digits[--n];
        *p = '\0';
}

/* ---- The child: only system calls from here to the exec. ---- */

static _Noreturn void
child_fail (const struct child_ctx *c, int step, int index)
{
        struct child_error e = { step, index, errno };
        ssize_t n;

        /* A lost report still fails the step: the parent then sees EOF
         * and a non-zero exit status. */
        do
                n = write (c->error_fd, &e, sizeof (e));
        while (n < 0 && errno == EINTR);
        _exit (127);
}

/* Binds, remounts and propagation changes ignore the source or type;
 * they get "none" rather than NULL, which valgrind takes for a bad
 * pointer. */
static int
mount_on_fd (const char *source, int target_fd, const char *fstype, unsigned long flags,
             const char *data)
{
        char target[32];

        fd_path (target, target_fd);
        return mount (source, target, fstype, flags, data);
}

static int
mount_in_root (int root_fd, const char *path, const char *source, const char *fstype,
               unsigned long flags, const char *data)
{
        int fd = resolve_open (root_fd, path, O_PATH, 0);
        int r, saved;

        if (fd < 0)
                return -1;
        r = mount_on_fd (source, fd, fstype, flags, data);
        saved = errno;
        close (fd);
        errno = saved;
        return r;
}

/* Flags of a mount that an unprivileged remount must repeat: the
 * kernel locks them when the mount came from a more privileged
 * namespace, and a remount without them fails with EPERM. */
static unsigned long
locked_mount_flags (const struct statvfs *sv)
{
        static const struct {
                unsigned long st, ms;
        } map[] = {
                { ST_NOSUID, MS_NOSUID },         { ST_NODEV, MS_NODEV },
                { ST_NOEXEC, MS_NOEXEC },         { ST_NOATIME, MS_NOATIME },
                { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
        };
        unsigned long flags = 0;

        for (size_t i = 0; i < sizeof (map) / sizeof (map[0]); i++)
                if (sv->f_flag & map[i].st)
                        flags |= map[i].ms;
        return flags;
}

/* Make the mount at path (freshly opened: the mount on top) read-only. */
static int
remount_read_only (int root_fd, const char *path)
{
        struct statvfs sv;
        int fd = resolve_open (root_fd, path, O_PATH, 0);
        int r, saved;

        if (fd < 0)
                return -1;
        r = fstatvfs (fd, &sv);
        if (r == 0)
                r = mount_on_fd ("none", fd, "none",
                                 MS_REMOUNT | MS_BIND | MS_RDONLY | locked_mount_flags (&sv), NULL);
        saved = errno;
        close (fd);
        errno = saved;
        return r;
}

/* Create a missing mount point, like mkdir -p inside the root.  This
 * runs in the step's mount namespace before the root is remounted
 * read-only, so a point lands wherever its parent lies in the sandbox's
 * view: in root_dir on disk (the parent removes it after the step, see
 * remove_made_paths), in /tmp's tmpfs, or in an earlier writable bind;
 * inside an earlier read-only bind it fails with EROFS.  Mounting a
 * tmpfs over the parent instead would hide the parent's contents
 * (binding into /usr/lib would empty /usr/lib). */
static int
ensure_mount_point (int root_fd, const char *path, int is_dir)
{
        char name[NAME_MAX + 1];
        int fd, dir_fd, r, saved;

        fd = resolve_open (root_fd, path, O_PATH, 0);
        if (fd >= 0 || errno != ENOENT)
                return fd < 0 ? -1 : close (fd);
        if (is_dir) {
                fd = resolve_mkdir_p (root_fd, path, 0755);
                return fd < 0 ? -1 : close (fd);
        }
        /* An empty file to bind a file onto. */
        dir_fd = resolve_open_parent (root_fd, path, 1, 0755, name);
        if (dir_fd < 0)
                return -1;
        fd = openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        r = fd < 0 ? -1 : close (fd);
        saved = errno;
        close (dir_fd);
        errno = saved;
        return r;
}

static void
child_reset_signals (const struct child_ctx *c)
{
        sigset_t none;

        /* pgimg's own handlers (removing its temporary files) must never
         * run in the step. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP && signal (sig, SIG_DFL) == SIG_ERR
                    && errno != EINVAL)
                        child_fail (c, STEP_SIGNALS, 0);
        sigemptyset (&none);
        if (sigprocmask (SIG_SETMASK, &none, NULL) < 0)
                child_fail (c, STEP_SIGNALS, 0);
}

static void
child_mount_dev (const struct child_ctx *c, int root_fd)
{
        int dev_fd;

        if (ensure_mount_point (root_fd, "dev", 1) < 0)
                child_fail (c, STEP_MOUNT_POINT, TARGET_DEV);
        if (mount_in_root (root_fd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
                child_fail (c, STEP_MOUNT_DEV, 0);
        dev_fd = resolve_open (root_fd, "dev", O_PATH | O_DIRECTORY, 0);
        if (dev_fd < 0)
                child_fail (c, STEP_MOUNT_DEV, 0);
        /* mknod is not allowed in a user namespace: bind the host's nodes. */
        for (size_t i = 0; i < sizeof (dev_nodes) / sizeof (dev_nodes[0]); i++) {
                int fd = openat (dev_fd, dev_nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
                if (fd < 0 || mount_on_fd (dev_node_paths[i], fd, "none", MS_BIND, NULL) < 0)
                        child_fail (c, STEP_DEV_NODE, (int) i);
                close (fd);
        }
        for (size_t i = 0; i < sizeof (dev_links) / sizeof (dev_links[0]); i++)
                if (symlinkat (dev_links[i].target, dev_fd, dev_links[i].name) < 0)
                        child_fail (c, STEP_DEV_LINK, (int) i);
        if (mkdirat (dev_fd, "shm", 0755) < 0
            || mount_in_root (root_fd, "dev/shm", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                              "mode=1777")
                       < 0)
                child_fail (c, STEP_MOUNT_SHM, 0);
        close (dev_fd);
        /* Nothing more may appear in /dev; the nodes and /dev/shm are
         * mounts of their own and stay writable. */
        if (remount_read_only (root_fd, "dev") < 0)
                child_fail (c, STEP_DEV_READ_ONLY, 0);
}

static void
child_mount_binds (const struct child_ctx *c, int root_fd)
{
        const struct sandbox_opts *o = c->opts;

        for (size_t i = 0; i < o->n_binds; i++) {
                const struct sandbox_bind *b = &o->binds[i];
                int fd;

                if (ensure_mount_point (root_fd, b->sandbox_path, c->bind_is_dir[i]) < 0)
                        child_fail (c, STEP_MOUNT_POINT, (int) i);
                fd = resolve_open (root_fd, b->sandbox_path, O_PATH, 0);
                if (fd < 0 || mount_on_fd (b->host_path, fd, "none", MS_BIND | MS_REC, NULL) < 0)
                        child_fail (c, STEP_BIND, (int) i);
                close (fd);
                if (!b->writable && remount_read_only (root_fd, b->sandbox_path) < 0)
                        child_fail (c, STEP_BIND_READ_ONLY, (int) i);
        }
}

/* Build the new root and enter it.  The mounts live in the step's own
 * mount namespace, so nothing is left behind when the step ends. */
static void
child_build_root (const struct child_ctx *c)
{
        const struct sandbox_opts *o = c->opts;
        int root_fd;

        /* Private: no mount made here propagates back to the host, and
         * pivot_root refuses a shared mount. */
        if (mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail (c, STEP_MAKE_PRIVATE, 0);
        /* pivot_root needs the new root to be a mount point. */
        if (mount (o->root_dir, o->root_dir, "none", MS_BIND | MS_REC, NULL) < 0)
                child_fail (c, STEP_BIND_ROOT, 0);
        root_fd = open (o->root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                child_fail (c, STEP_BIND_ROOT, 0);

        if (ensure_mount_point (root_fd, "proc", 1) < 0)
                child_fail (c, STEP_MOUNT_POINT, TARGET_PROC);
        if (mount_in_root (root_fd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail (c, STEP_MOUNT_PROC, 0);
        child_mount_dev (c, root_fd);
        if (ensure_mount_point (root_fd, "tmp", 1) < 0)
                child_fail (c, STEP_MOUNT_POINT, TARGET_TMP);
        if (mount_in_root (root_fd, "tmp", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
                child_fail (c, STEP_MOUNT_TMP, 0);
        child_mount_binds (c, root_fd);
        /* Last, since the mount points above may have been created in it. */
        if (remount_read_only (root_fd, ".") < 0)
                child_fail (c, STEP_ROOT_READ_ONLY, 0);

        /* pivot_root (".", ".") stacks the old root under the new one;
         * detaching it leaves only the new root (bubblewrap, runc). */
        if (fchdir (root_fd) < 0 || syscall (SYS_pivot_root, ".", ".") < 0
            || umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
                child_fail (c, STEP_PIVOT_ROOT, 0);
        close (root_fd);
        if (chdir (c->cwd) < 0)
                child_fail (c, STEP_CWD, 0);
}

static void
child_bring_up_loopback (const struct child_ctx *c)
{
        struct ifreq ifr;
        int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                child_fail (c, STEP_LOOPBACK, 0);
        memset (&ifr, 0, sizeof (ifr));
        memcpy (ifr.ifr_name, "lo", 3);
        if (ioctl (fd, SIOCGIFFLAGS, &ifr) < 0)
                child_fail (c, STEP_LOOPBACK, 0);
        ifr.ifr_flags |= IFF_UP;
        if (ioctl (fd, SIOCSIFFLAGS, &ifr) < 0)
                child_fail (c, STEP_LOOPBACK, 0);
        close (fd);
}

/* Descriptors the caller left open without CLOEXEC must not reach the
 * command. */
static void
mark_fds_cloexec (void)
{
        struct rlimit rl;

        if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
                return;
        /* Before Linux 5.11. */
        if (getrlimit (RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                rl.rlim_cur = 65536;
        for (rlim_t fd = 3; fd < rl.rlim_cur; fd++)
                fcntl ((int) fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void
exec_command (const struct child_ctx *c, const sigset_t *mask)
{
        static const char *const empty_env[] = { NULL };
        const struct sandbox_opts *o = c->opts;

        if (sigprocmask (SIG_SETMASK, mask, NULL) < 0)
                child_fail (c, STEP_EXEC, 0);
        mark_fds_cloexec ();
        /* execvpe would search the PATH of pgimg's environment; with
         * environ set, execvp searches the step's. */
        environ = (char **) (o->envp ? o->envp : empty_env);
        execvp (o->argv[0], (char *const *) o->argv);
        child_fail (c, STEP_EXEC, 0);
}

int
child_exit_code (int status)
{
        if (WIFEXITED (status))
                return WEXITSTATUS (status);
        if (WIFSIGNALED (status))
                return 128 + WTERMSIG (status);
        return 255;
}

/* PID 1 of the step: run the command, pass signals on, reap orphans,
 * exit with the command's status.  When it exits the kernel kills
 * whatever is left in the pid namespace. */
static _Noreturn void
child_init (const struct child_ctx *c)
{
        sigset_t waited, old;
        pid_t cmd;

        sigemptyset (&waited);
        sigaddset (&waited, SIGCHLD);
        for (size_t i = 0; i < sizeof (forwarded_signals) / sizeof (forwarded_signals[0]); i++)
                sigaddset (&waited, forwarded_signals[i]);
        if (sigprocmask (SIG_BLOCK, &waited, &old) < 0)
                child_fail (c, STEP_FORK, 0);
        /* Raw clone, not fork: fork's handlers would take locks that
         * another thread of pgimg may have held at the first clone. */
        cmd = child_clone (SIGCHLD);
        if (cmd < 0)
                child_fail (c, STEP_FORK, 0);
        if (cmd == 0)
                exec_command (c, &old);
        close (c->error_fd);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo (&waited, &si);

                if (sig < 0)
                        continue; /* EINTR */
                if (sig != SIGCHLD) {
                        kill (cmd, sig);
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t p = waitpid (-1, &status, WNOHANG);
                        if (p == cmd)
                                _exit (child_exit_code (status));
                        if (p <= 0)
                                break;
                }
        }
}

_Noreturn void
child_main (const struct child_ctx *c)
{
        char byte;
        ssize_t n;

        child_reset_signals (c);
        /* The step dies with pgimg.  If pgimg died before this call, the
         * read below sees EOF instead. */
        if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail (c, STEP_SIGNALS, 0);
        do
                n = read (c->sync_fd, &byte, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                _exit (127); /* the parent failed and reports why */
        close (c->sync_fd);

        for (int i = 0; i < 3; i++)
                if (dup2 (c->stdio[i], i) < 0)
                        child_fail (c, STEP_STDIO, i);
        child_build_root (c);
        if (sethostname (c->hostname, strlen (c->hostname)) < 0)
                child_fail (c, STEP_HOSTNAME, 0);
        /* The host's loopback is up already, and not ours to change. */
        if (!c->opts->share_net)
                child_bring_up_loopback (c);
        if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail (c, STEP_NO_NEW_PRIVS, 0);
        child_init (c);
}

/* ---- In the parent: the child's report as a message. ---- */

int
child_describe_error (const struct sandbox_opts *o, const struct child_error *e, pgimg_error_t *err)
{
        const char *root = o->root_dir;
        int en = e->errno_;
        int i = e->index;

        switch (e->step) {
        case STEP_SIGNALS:
                return pgimg_make_error_errno (err, en, "sandbox: reset signals");
        case STEP_STDIO:
                return pgimg_make_error_errno (err, en, "sandbox: redirect fd %d", i);
        case STEP_MAKE_PRIVATE:
                return pgimg_make_error_errno (err, en, "sandbox: make / private");
        case STEP_BIND_ROOT:
                return pgimg_make_error_errno (err, en, "sandbox: bind root %s", root);
        case STEP_MOUNT_POINT:
                return pgimg_make_error_errno (err, en, "sandbox: create mount point %s in %s",
                                               target_path (o, i), root);
        case STEP_MOUNT_PROC:
                return pgimg_make_error_errno (err, en, "sandbox: mount proc on %s/proc", root);
        case STEP_MOUNT_DEV:
                return pgimg_make_error_errno (err, en, "sandbox: mount tmpfs on %s/dev", root);
        case STEP_DEV_NODE:
                return pgimg_make_error_errno (err, en, "sandbox: bind %s on %s/dev/%s",
                                               dev_node_paths[i], root, dev_nodes[i]);
        case STEP_DEV_LINK:
                return pgimg_make_error_errno (err, en, "sandbox: symlink %s/dev/%s", root,
                                               dev_links[i].name);
        case STEP_MOUNT_SHM:
                return pgimg_make_error_errno (err, en, "sandbox: mount tmpfs on %s/dev/shm", root);
        case STEP_DEV_READ_ONLY:
                return pgimg_make_error_errno (err, en, "sandbox: remount %s/dev read-only", root);
        case STEP_MOUNT_TMP:
                return pgimg_make_error_errno (err, en, "sandbox: mount tmpfs on %s/tmp", root);
        case STEP_BIND:
                return pgimg_make_error_errno (err, en, "sandbox: bind %s on %s%s",
                                               o->binds[i].host_path, root,
                                               o->binds[i].sandbox_path);
        case STEP_BIND_READ_ONLY:
                return pgimg_make_error_errno (err, en, "sandbox: remount %s%s read-only", root,
                                               o->binds[i].sandbox_path);
        case STEP_ROOT_READ_ONLY:
                return pgimg_make_error_errno (err, en, "sandbox: remount %s read-only", root);
        case STEP_PIVOT_ROOT:
                return pgimg_make_error_errno (err, en, "sandbox: pivot_root into %s", root);
        case STEP_CWD:
                return pgimg_make_error_errno (err, en, "sandbox: chdir to %s inside %s",
                                               o->cwd ? o->cwd : "/", root);
        case STEP_HOSTNAME:
                return pgimg_make_error_errno (err, en, "sandbox: set hostname");
        case STEP_LOOPBACK:
                return pgimg_make_error_errno (err, en, "sandbox: bring up lo");
        case STEP_NO_NEW_PRIVS:
                return pgimg_make_error_errno (err, en, "sandbox: set no_new_privs");
        case STEP_FORK:
                return pgimg_make_error_errno (err, en, "sandbox: fork the command");
        case STEP_EXEC:
                return pgimg_make_error_errno (err, en, "sandbox: exec `%s`", o->argv[0]);
        default:
                return pgimg_make_error_errno (err, en, "sandbox: setup step %d", e->step);
        }
}
