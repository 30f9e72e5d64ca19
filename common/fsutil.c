#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"

/* Temporary paths that an interruption must not leave behind.  The
 * handler runs asynchronously, so the table is a fixed array of
 * pointers that are set and cleared atomically. */
#define MAX_TEMPS 64
static char *volatile temps[MAX_TEMPS];
static volatile sig_atomic_t temp_is_dir[MAX_TEMPS];
/* A child whose work may still be writing into those paths: it is
 * killed (and with it, as the init of its pid namespace, everything it
 * started) before they are removed. */
static volatile pid_t child_pid;

void
fs_register_child (pid_t pid)
{
        child_pid = pid;
}

static void
register_temp (char *path, int is_dir)
{
        for (int i = 0; i < MAX_TEMPS; i++)
                if (temps[i] == NULL) {
                        temp_is_dir[i] = is_dir;
                        temps[i] = path;
                        return;
                }
}

void
fs_forget_temp (const char *path)
{
        for (int i = 0; i < MAX_TEMPS; i++)
                if (temps[i] != NULL && strcmp (temps[i], path) == 0) {
                        temps[i] = NULL;
                        return;
                }
}

/* Only async-signal-safe calls here.  A directory is removed by a
 * child "rm -rf", since nftw is not async-signal-safe. */
static void
cleanup_on_signal (int sig)
{
        pid_t child = child_pid;

        if (child > 0) {
                kill (child, SIGKILL);
                while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        for (int i = 0; i < MAX_TEMPS; i++) {
                char *p = temps[i];
                if (p == NULL)
                        continue;
                if (!temp_is_dir[i]) {
                        unlink (p);
                        continue;
                }
                pid_t pid = fork ();
                if (pid == 0) {
                        char *const argv[] = { (char *) "rm", (char *) "-rf", p, NULL };
                        char *const envp[] = { (char *) "PATH=/usr/bin:/bin", NULL };
                        execve ("/usr/bin/rm", argv, envp);
                        execve ("/bin/rm", argv, envp);
                        _exit (127);
                }
                if (pid > 0)
                        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
                                ;
        }
        signal (sig, SIG_DFL);
        raise (sig);
}

int
fs_install_signal_cleanup (pgimg_error_t *err)
{
        struct sigaction sa;
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

        memset (&sa, 0, sizeof (sa));
        sa.sa_handler = cleanup_on_signal;
        sigemptyset (&sa.sa_mask);
        for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
                if (sigaction (sigs[i], &sa, NULL) < 0)
                        return pgimg_make_error_errno (err, errno, "sigaction");
        return 0;
}

int
fs_mkdir_p (const char *path, mode_t mode, pgimg_error_t *err)
{
        cleanup_free char *copy = strdup (path);
        char *p;

        if (copy == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "mkdir `%s`", path);
        for (p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir (copy, mode) < 0 && errno != EEXIST)
                        return fs_is_disk_full (errno) ? fs_write_error (err, errno, copy)
                                                       : pgimg_make_error_errno (err, errno, "mkdir `%s`", copy);
                *p = '/';
        }
        if (mkdir (copy, mode) < 0 && errno != EEXIST)
                return fs_is_disk_full (errno) ? fs_write_error (err, errno, copy)
                                               : pgimg_make_error_errno (err, errno, "mkdir `%s`", copy);
        return 0;
}

int
fs_read_chunks (int fd, void *chunk, size_t chunk_bytes, fs_chunk_fn fn, void *ctx,
                pgimg_error_t *err, const char *read_fmt, ...)
{
        for (;;) {
                ssize_t n = read (fd, chunk, chunk_bytes);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        va_list ap;

                        va_start (ap, read_fmt);
                        r = pgimg_make_error_errnov (err, errno, read_fmt, ap);
                        va_end (ap);
                        return r;
                }
                if (n == 0)
                        return 0;
                if ((r = fn (ctx, chunk, (size_t) n, err)) != 0)
                        return r;
        }
}

struct file_read {
        const char *path;
        size_t max_bytes;
        size_t start;
        struct buf *b;
};

static int
file_read_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct file_read *f = ctx;

        if (f->max_bytes && f->b->len - f->start + len > f->max_bytes)
                return pgimg_make_error (err, EFBIG, "`%s` is larger than %zu bytes", f->path,
                                         f->max_bytes);
        if (buf_add (f->b, data, len) < 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", f->path);
        return 0;
}

int
fs_read_file (const char *path, size_t max_bytes, struct buf *b, pgimg_error_t *err)
{
        cleanup_fd int fd = open (path, O_RDONLY | O_CLOEXEC);
        struct file_read f = { path, max_bytes, b->len, b };
        char chunk[65536];

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", path);
        return fs_read_chunks (fd, chunk, sizeof (chunk), file_read_chunk, &f, err, "read `%s`", path);
}

int
fs_write_all (int fd, const void *data, size_t len)
{
        const char *p = data;

        while (len > 0) {
                ssize_t n = write (fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

char *
fs_dir_of (const char *path)
{
        cleanup_free char *copy = strdup (path);
        if (copy == NULL)
                return NULL;
        return strdup (dirname (copy));
}

/* The first temporary file or directory this process makes in a
 * directory sweeps that directory of dead runs' leftovers first (an -o
 * output's directory, the blob store, the downloads): once per
 * directory, for the first MAX_SWEPT directories.  Best effort. */
#define MAX_SWEPT 32
static char *swept[MAX_SWEPT];
static size_t n_swept;
static pthread_mutex_t swept_lock = PTHREAD_MUTEX_INITIALIZER;

static void
sweep_once (const char *dir)
{
        pgimg_error_t ignored = NULL;
        int seen = 0;

        pthread_mutex_lock (&swept_lock);
        for (size_t i = 0; i < n_swept && !seen; i++)
                seen = strcmp (swept[i], dir) == 0;
        if (!seen && (n_swept >= MAX_SWEPT || (swept[n_swept] = strdup (dir)) == NULL))
                seen = 1;
        else if (!seen)
                n_swept++;
        pthread_mutex_unlock (&swept_lock);
        if (!seen && fs_sweep_temps (dir, &ignored) < 0)
                pgimg_error_free (&ignored);
}

int
fs_atomic_open (struct fs_atomic *a, const char *final_path, mode_t mode, pgimg_error_t *err)
{
        cleanup_free char *dir = fs_dir_of (final_path);

        a->fd = -1;
        a->tmp_path = NULL;
        if (dir != NULL)
                sweep_once (dir);
        if (dir == NULL || asprintf (&a->tmp_path, "%s/.tmp-%ld-XXXXXX", dir, (long) getpid ()) < 0) {
                a->tmp_path = NULL;
                return pgimg_make_error_errno (err, ENOMEM, "create `%s`", final_path);
        }
        a->fd = mkostemp (a->tmp_path, O_CLOEXEC);
        if (a->fd < 0) {
                int e = errno;
                free (a->tmp_path);
                a->tmp_path = NULL;
                if (fs_is_disk_full (e))
                        return fs_write_error (err, e, final_path);
                return pgimg_make_error_errno (err, e, "create a temporary file in `%s`", dir);
        }
        register_temp (a->tmp_path, 0);
        if (fchmod (a->fd, mode) < 0) {
                int e = errno;
                fs_atomic_abort (a);
                return pgimg_make_error_errno (err, e, "chmod `%s`", final_path);
        }
        return 0;
}

static int
fsync_dir (const char *path)
{
        cleanup_free char *dir = fs_dir_of (path);
        cleanup_fd int fd = -1;

        if (dir == NULL)
                return -1;
        fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        return fsync (fd);
}

int
fs_atomic_commit (struct fs_atomic *a, const char *final_path, pgimg_error_t *err)
{
        int e;

        if (fsync (a->fd) < 0)
                goto fail;
        if (close (a->fd) < 0) {
                a->fd = -1;
                goto fail;
        }
        a->fd = -1;
        if (rename (a->tmp_path, final_path) < 0)
                goto fail;
        fs_forget_temp (a->tmp_path);
        free (a->tmp_path);
        a->tmp_path = NULL;
        if (fsync_dir (final_path) < 0)
                return pgimg_make_error_errno (err, errno, "fsync the directory of `%s`", final_path);
        return 0;
fail:
        e = errno;
        fs_atomic_abort (a);
        return fs_write_error (err, e, final_path);
}

void
fs_atomic_abort (struct fs_atomic *a)
{
        if (a->fd >= 0) {
                close (a->fd);
                a->fd = -1;
        }
        if (a->tmp_path) {
                fs_forget_temp (a->tmp_path);
                unlink (a->tmp_path);
                free (a->tmp_path);
                a->tmp_path = NULL;
        }
}

char *
fs_path_beside (const char *path, const char *suffix)
{
        size_t len = strlen (path);
        char *out = NULL;

        while (len > 1 && path[len - 1] == '/')
                len--;
        if (asprintf (&out, "%.*s%s", (int) len, path, suffix) < 0)
                return NULL;
        return out;
}

int
fs_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode,
                      pgimg_error_t *err)
{
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;

        if (fs_atomic_open (&a, path, mode, err) < 0)
                return -1;
        if (fs_write_all (a.fd, data, len) < 0)
                return fs_write_error (err, errno, path);
        return fs_atomic_commit (&a, path, err);
}

int
fs_mkdtemp (const char *parent, const char *tag, char **out, pgimg_error_t *err)
{
        char *p = NULL;

        sweep_once (parent);
        if (asprintf (&p, "%s/.tmp-%ld-%s-XXXXXX", parent, (long) getpid (), tag) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "temporary directory in `%s`", parent);
        if (mkdtemp (p) == NULL) {
                int e = errno;
                free (p);
                if (fs_is_disk_full (e))
                        return fs_write_error (err, e, parent);
                return pgimg_make_error_errno (err, e, "create a temporary directory in `%s`", parent);
        }
        register_temp (p, 1);
        *out = p;
        return 0;
}

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                return rmdir (path);
        return unlink (path);
}

/* Directories without write or search permission (a build may leave
 * them) cannot be emptied: open them up first. */
static int
chmod_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) ftw;
        if (flag == FTW_D && (st->st_mode & 0700) != 0700)
                chmod (path, (st->st_mode & 07777) | 0700);
        return 0;
}

int
fs_rm_rf (const char *path, pgimg_error_t *err)
{
        struct stat st;

        if (lstat (path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return pgimg_make_error_errno (err, errno, "remove `%s`", path);
        }
        if (!S_ISDIR (st.st_mode)) {
                if (unlink (path) < 0 && errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "remove `%s`", path);
                return 0;
        }
        if (chmod (path, (st.st_mode & 07777) | 0700) < 0)
                return pgimg_make_error_errno (err, errno, "remove `%s`", path);
        nftw (path, chmod_entry, 64, FTW_PHYS);
        if (nftw (path, rm_entry, 64, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return pgimg_make_error_errno (err, errno, "remove `%s`", path);
        return 0;
}

/* When the process pid started, in seconds since the epoch: its start
 * time in clock ticks since boot (field 22 of /proc/PID/stat) plus the
 * boot time (btime of /proc/stat).  -1 when unknown. */
static long long
process_start_time (pid_t pid)
{
        char path[64], buf[1024];
        cleanup_fd int fd = -1;
        cleanup_file FILE *f = NULL;
        unsigned long long ticks = 0;
        long long btime = -1;
        long hz = sysconf (_SC_CLK_TCK);
        ssize_t n;
        char *p;

        snprintf (path, sizeof (path), "/proc/%ld/stat", (long) pid);
        if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
                return -1;
        while ((n = read (fd, buf, sizeof (buf) - 1)) < 0 && errno == EINTR)
                ;
        if (n <= 0 || hz <= 0)
                return -1;
        buf[n] = '\0';
        /* The command name may hold spaces and parentheses: skip to the
         * last ')', after which come fields 3 (state) to 22 (starttime). */
        if ((p = strrchr (buf, ')')) == NULL)
                return -1;
        p++;
        for (int field = 3; field < 22; field++) {
                p += strspn (p, " ");
                p += strcspn (p, " ");
        }
        if (sscanf (p, " %llu", &ticks) != 1)
                return -1;
        if ((f = fopen ("/proc/stat", "re")) == NULL)
                return -1;
        while (fgets (buf, sizeof (buf), f) != NULL)
                if (sscanf (buf, "btime %lld", &btime) == 1)
                        break;
        if (btime < 0)
                return -1;
        return btime + (long long) (ticks / (unsigned long long) hz);
}

int
fs_temp_is_stale (int dir_fd, const char *name)
{
        const char *digits = name + 5;
        char *end;
        long pid;
        long long started;
        struct stat st;

        if (strncmp (name, ".tmp-", 5) != 0 || *digits < '0' || *digits > '9')
                return 0;
        errno = 0;
        pid = strtol (digits, &end, 10);
        if (errno != 0 || *end != '-' || end[1] == '\0' || pid <= 0 || pid != (long) (pid_t) pid)
                return 0;
        if ((pid_t) pid == getpid ())
                return 0;
        if (kill ((pid_t) pid, 0) < 0 && errno == ESRCH)
                return 1;
        /* The pid is in use.  By the process that made the leftover, unless
         * that process started after the leftover was last written (pid
         * reuse); when either time is unknown, keep it. */
        started = process_start_time ((pid_t) pid);
        if (started < 0 || fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        /* The change time, not the modification time: unpacking into a
         * temporary directory may set its mtime to any date, but not its
         * ctime.  Ten minutes of slack: the start time is computed from
         * the boot time on today's wall clock, the ctime was read off the
         * wall clock of then, and a step of that clock must not make a
         * running pgimg's file look older than its process.  Keeping a
         * leftover too long costs only disk space until the next sweep. */
        return (long long) st.st_ctime + 600 < started;
}

int
fs_sweep_temps (const char *dir, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (dir);
        struct dirent *de;

        if (d == NULL)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "open `%s`", dir);
        while ((de = readdir (d)) != NULL) {
                cleanup_free char *p = NULL;
                pgimg_error_t ignored = NULL;
                /* Only leftovers of processes that are gone: another
                 * pgimg may be writing into the same directory right now. */
                if (!fs_temp_is_stale (dirfd (d), de->d_name))
                        continue;
                if (asprintf (&p, "%s/%s", dir, de->d_name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "sweep `%s`", dir);
                if (fs_rm_rf (p, &ignored) < 0)
                        pgimg_error_free (&ignored);
        }
        return 0;
}

int
fs_sweep_temps_beside (const char *path, pgimg_error_t *err)
{
        cleanup_free char *dir = fs_dir_of (path);

        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "sweep beside `%s`", path);
        return fs_sweep_temps (dir, err);
}

int
fs_is_disk_full (int errno_)
{
        return errno_ == ENOSPC || errno_ == EDQUOT;
}

int
fs_write_error (pgimg_error_t *err, int errno_, const char *path)
{
        if (fs_is_disk_full (errno_))
                return pgimg_make_error (err, errno_,
                                         "no space left on the disk holding `%s`: free space or point "
                                         "--cache-dir / -o elsewhere",
                                         path);
        return pgimg_make_error_errno (err, errno_, "write `%s`", path);
}

int
fs_write_error_fd (pgimg_error_t *err, int errno_, int fd)
{
        char link[64], target[PATH_MAX];
        cleanup_free char *dir = NULL;
        ssize_t n;

        snprintf (link, sizeof (link), "/proc/self/fd/%d", fd);
        n = readlink (link, target, sizeof (target) - 1);
        if (n <= 0)
                return fs_write_error (err, errno_, "(unknown file)");
        target[n] = '\0';
        if ((dir = fs_dir_of (target)) == NULL)
                return fs_write_error (err, errno_, target);
        return fs_write_error (err, errno_, dir);
}

struct file_copy {
        int fd;
        const char *dst;
};

static int
file_copy_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct file_copy *c = ctx;

        if (fs_write_all (c->fd, data, len) < 0)
                return fs_write_error (err, errno, c->dst);
        return 0;
}

int
fs_copy_file (const char *src, const char *dst, pgimg_error_t *err)
{
        cleanup_fd int in = open (src, O_RDONLY | O_CLOEXEC);
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
        struct file_copy c;
        struct stat st;
        char chunk[1 << 16];

        if (in < 0 || fstat (in, &st) < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", src);
        if (fs_atomic_open (&a, dst, st.st_mode & 07777, err) < 0)
                return -1;
        c.fd = a.fd;
        c.dst = dst;
        if (fs_read_chunks (in, chunk, sizeof (chunk), file_copy_chunk, &c, err, "read `%s`", src) < 0)
                return -1;
        return fs_atomic_commit (&a, dst, err);
}

int
fs_exists (const char *path)
{
        struct stat st;
        return lstat (path, &st) == 0;
}

static int
link_tree_at (int src_dir, int dst_dir, const char *src_path, pgimg_error_t *err)
{
        DIR *d;
        struct dirent *de;
        int fd = dup (src_dir);

        if (fd < 0 || (d = fdopendir (fd)) == NULL) {
                if (fd >= 0)
                        close (fd);
                return pgimg_make_error_errno (err, errno, "read `%s`", src_path);
        }
        while ((errno = 0, de = readdir (d)) != NULL) {
                struct stat st;
                if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
                        continue;
                if (fstatat (src_dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        goto fail;
                if (S_ISDIR (st.st_mode)) {
                        cleanup_fd int s = -1, t = -1;
                        if (mkdirat (dst_dir, de->d_name, 0700) < 0
                            || (s = openat (src_dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0
                            || (t = openat (dst_dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                                goto fail;
                        if (link_tree_at (s, t, src_path, err) < 0) {
                                closedir (d);
                                return -1;
                        }
                        if (fchmod (t, st.st_mode & 07777) < 0)
                                goto fail;
                } else if (S_ISLNK (st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t n = readlinkat (src_dir, de->d_name, target, sizeof (target) - 1);
                        if (n < 0)
                                goto fail;
                        target[n] = '\0';
                        if (symlinkat (target, dst_dir, de->d_name) < 0)
                                goto fail;
                } else if (linkat (src_dir, de->d_name, dst_dir, de->d_name, 0) < 0) {
                        goto fail;
                }
        }
        if (errno != 0)
                goto fail;
        closedir (d);
        return 0;
fail:
        {
                int e = errno;
                cleanup_free char *name = de ? strdup (de->d_name) : NULL;
                closedir (d);
                if (fs_is_disk_full (e))
                        return fs_write_error (err, e, src_path);
                return pgimg_make_error_errno (err, e, "link the tree `%s` (at `%s`)", src_path,
                                               name ? name : "?");
        }
}

int
fs_link_tree (const char *src, const char *dst, pgimg_error_t *err)
{
        cleanup_fd int s = open (src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_fd int t = -1;
        struct stat st;

        if (s < 0 || fstat (s, &st) < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", src);
        if (mkdir (dst, 0700) < 0 || (t = open (dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return pgimg_make_error_errno (err, errno, "create `%s`", dst);
        if (link_tree_at (s, t, src, err) < 0)
                return -1;
        if (fchmod (t, st.st_mode & 07777) < 0)
                return pgimg_make_error_errno (err, errno, "chmod `%s`", dst);
        return 0;
}

void
fs_drop_temp_dir (const char *path)
{
        pgimg_error_t ignored = NULL;

        if (path == NULL)
                return;
        fs_rm_rf (path, &ignored);
        pgimg_error_free (&ignored);
        fs_forget_temp (path);
}

int
fs_work_dir (const char *cache_dir, const char *tag, char **out, pgimg_error_t *err)
{
        cleanup_free char *work = NULL;

        if (asprintf (&work, "%s/work", cache_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "work directory");
        if (fs_mkdir_p (work, 0755, err) < 0 || fs_sweep_temps (work, err) < 0)
                return -1;
        return fs_mkdtemp (work, tag, out, err);
}
