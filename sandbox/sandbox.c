/* sandbox.c - run one build step in its own namespaces.
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
#include <stdio.h>
#include <stdlib.h>
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

#include "sandbox/resolve.h"
#include "sandbox/sandbox.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

extern char **environ;

#define NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC \
                    | CLONE_NEWUTS)

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

/* The setup steps the child reports.  The parent turns (step, index,
 * errno) into a message, since the child cannot allocate one. */
enum setup_step {
        STEP_SIGNALS = 1,
        STEP_STDIO,
        STEP_MAKE_PRIVATE,
        STEP_BIND_ROOT,
        STEP_MOUNT_POINT,       /* index: a target, see target_path */
        STEP_MOUNT_PROC,
        STEP_MOUNT_DEV,
        STEP_DEV_NODE,          /* index into dev_nodes */
        STEP_DEV_LINK,          /* index into dev_links */
        STEP_MOUNT_SHM,
        STEP_DEV_READ_ONLY,
        STEP_MOUNT_TMP,
        STEP_BIND,              /* index into opts->binds */
        STEP_BIND_READ_ONLY,
        STEP_ROOT_READ_ONLY,
        STEP_PIVOT_ROOT,
        STEP_CWD,
        STEP_HOSTNAME,
        STEP_LOOPBACK,
        STEP_NO_NEW_PRIVS,
        STEP_FORK,
        STEP_EXEC,
};

struct child_error {
        int32_t step;
        int32_t index;
        int32_t errno_;
};

/* Mount targets other than binds, numbered below 0 so that one index
 * names any target. */
enum { TARGET_PROC = -1, TARGET_DEV = -2, TARGET_TMP = -3 };

struct child_ctx {
        const struct sandbox_opts *opts;
        const unsigned char *bind_is_dir;
        const char *cwd;
        const char *hostname;
        int sync_fd;            /* the parent writes one byte once the maps are written */
        int error_fd;           /* write end, CLOEXEC */
        int stdio[3];           /* >= 3, CLOEXEC; become 0, 1, 2 */
};

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

static pid_t
raw_clone (unsigned long flags)
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

/* Copy path without leading, trailing or repeated slashes. */
static int
normalise_path (char out[static PATH_MAX], const char *path)
{
        size_t n = 0;

        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;
                if (n > 0)
                        out[n++] = '/';
                while (*p && *p != '/') {
                        if (n >= PATH_MAX - 2) {
                                errno = ENAMETOOLONG;
                                return -1;
                        }
                        out[n++] = *p++;
                }
        }
        out[n] = '\0';
        return 0;
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

static int
status_to_exit_code (int status)
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
        cmd = raw_clone (SIGCHLD);
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
                                _exit (status_to_exit_code (status));
                        if (p <= 0)
                                break;
                }
        }
}

static _Noreturn void
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

/* ---- The parent. ---- */

static int
setup_error (const struct sandbox_opts *o, const struct child_error *e, pgimg_error_t *err)
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

        if (normalise_path (buf, path) < 0)
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
        *exit_code = status_to_exit_code (status);
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

        pid = raw_clone ((o->share_net ? NAMESPACES & ~CLONE_NEWNET : NAMESPACES) | SIGCHLD);
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
                return setup_error (o, &e, err);
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
        pid_t r, pid = raw_clone (SIGCHLD);

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
