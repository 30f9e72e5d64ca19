/* resolve.c - paths inside a root, as if it were "/" (crun's safe_openat).
 *
 * No allocation, no lock, no stdio: see resolve.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/resolve.h"

/* As the kernel: at most 40 symlinks in one walk. */
#define MAX_LINKS 40
#define MAX_DEPTH 256

/* Cleared once the kernel says it has no openat2, and by tests. */
static int openat2_works = 1;

void
resolve_use_openat2 (int use)
{
        openat2_works = use;
}

static void
close_keep_errno (int fd)
{
        int saved = errno;

        close (fd);
        errno = saved;
}

/* Put target in place of a symlink: rest becomes target "/" tail.  tail
 * may point into rest. */
static int
splice_link (char rest[static PATH_MAX], const char *target, const char *tail)
{
        char next[PATH_MAX];
        size_t tn = strlen (target), rn = strlen (tail);

        if (tn + rn + 2 > sizeof (next)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy (next, target, tn);
        next[tn] = '/';
        memcpy (next + tn + 1, tail, rn + 1);
        memcpy (rest, next, tn + rn + 2);
        return 0;
}

/* The target of the symlink name in dir_fd; -1 with EINVAL when it is
 * not a symlink. */
static int
read_link (int dir_fd, const char *name, char target[static PATH_MAX])
{
        ssize_t n = readlinkat (dir_fd, name, target, PATH_MAX - 1);

        if (n < 0)
                return -1;
        target[n] = '\0';
        return 0;
}

struct walk {
        int stack[MAX_DEPTH];   /* stack[0]: the root; stack[depth]: where the walk is */
        size_t depth;
        int links;
};

static void
walk_release (struct walk *w)
{
        int saved = errno;

        for (size_t i = 0; i <= w->depth; i++)
                close (w->stack[i]);
        errno = saved;
}

/* Follow a symlink to target: an absolute one takes the walk back to
 * the root; rest becomes target "/" tail.  Returns 1 (rest rewritten). */
static int
walk_follow (struct walk *w, const char *target, char rest[static PATH_MAX], const char *tail)
{
        if (++w->links > MAX_LINKS) {
                errno = ELOOP;
                return -1;
        }
        if (target[0] == '/')
                while (w->depth > 0)
                        close (w->stack[w->depth--]);
        if (splice_link (rest, target, tail) < 0)
                return -1;
        return 1;
}

/* Step into the directory name (not "." or ".."), or splice the
 * symlink it is into rest.  Returns 1 when rest was rewritten. */
static int
walk_step (struct walk *w, const char *name, char rest[static PATH_MAX], const char *tail)
{
        char target[PATH_MAX];
        int fd;

        if (w->depth + 1 >= MAX_DEPTH) {
                errno = ENAMETOOLONG;
                return -1;
        }
        /* O_NOFOLLOW with O_DIRECTORY fails on a symlink rather than
         * follow it, even one swapped in since we looked. */
        fd = openat (w->stack[w->depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                w->stack[++w->depth] = fd;
                return 0;
        }
        if (errno != ENOTDIR && errno != ELOOP)
                return -1;
        if (read_link (w->stack[w->depth], name, target) < 0) {
                errno = ENOTDIR;
                return -1;
        }
        return walk_follow (w, target, rest, tail);
}

/* The last component: open it with the caller's flags, following a
 * symlink by splicing unless O_NOFOLLOW or O_CREAT | O_EXCL say not to
 * (openat2 behaves the same).  Returns 1 when rest was rewritten. */
static int
walk_last (struct walk *w, const char *name, char rest[static PATH_MAX], int flags, mode_t mode,
           int *out)
{
        char target[PATH_MAX];
        int exclusive = (flags & O_CREAT) && (flags & O_EXCL);

        if (!(flags & O_NOFOLLOW) && !exclusive && read_link (w->stack[w->depth], name, target) == 0) {
                return walk_follow (w, target, rest, "");
        }
        /* A symlink swapped in since readlinkat makes this fail (or, with
         * O_PATH, open the link itself): it is never followed. */
        *out = openat (w->stack[w->depth], name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        return *out < 0 ? -1 : 0;
}

/* openat2's RESOLVE_IN_ROOT by hand. */
static int
open_by_hand (int root_fd, const char *path, int flags, mode_t mode)
{
        char rest[PATH_MAX];
        struct walk w = { .depth = 0, .links = 0 };
        size_t len = strlen (path);
        int fd = -1;

        if (len >= sizeof (rest)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy (rest, path, len + 1);
        w.stack[0] = openat (root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w.stack[0] < 0)
                return -1;
        for (char *r = rest;;) {
                char name[NAME_MAX + 1];
                size_t n;
                int last, step;

                while (*r == '/')
                        r++;
                n = strcspn (r, "/");
                if (n > NAME_MAX) {
                        walk_release (&w);
                        errno = ENAMETOOLONG;
                        return -1;
                }
                memcpy (name, r, n);
                name[n] = '\0';
                r += n;
                last = r[strspn (r, "/")] == '\0';
                if (n == 2 && name[0] == '.' && name[1] == '.') {
                        if (w.depth > 0)
                                close (w.stack[w.depth--]);
                        name[0] = '.', name[1] = '\0';
                } else if (n == 0) {
                        name[0] = '.', name[1] = '\0';
                }
                if (last)
                        step = walk_last (&w, name, rest, flags, mode, &fd);
                else if (strcmp (name, ".") == 0)
                        step = 0;
                else
                        step = walk_step (&w, name, rest, r);
                if (step < 0) {
                        walk_release (&w);
                        return -1;
                }
                if (step > 0)
                        r = rest;
                else if (last)
                        break;
        }
        walk_release (&w);
        return fd;
}

int
resolve_open (int root_fd, const char *path, int flags, mode_t mode)
{
        while (*path == '/')
                path++;
        if (*path == '\0')
                path = ".";
        if (openat2_works) {
                struct open_how how = {
                        .flags = (uint64_t) (flags | O_CLOEXEC),
                        .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? (uint64_t) mode : 0,
                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
                };
                int fd, tries = 0;

                /* EAGAIN: a rename raced with ".."; the walk by hand
                 * settles it when the retries do not. */
                do
                        fd = (int) syscall (SYS_openat2, root_fd, path, &how, sizeof (how));
                while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 64)));
                if (fd >= 0 || (errno != ENOSYS && errno != EAGAIN))
                        return fd;
                if (errno == ENOSYS)
                        openat2_works = 0;
        }
        return open_by_hand (root_fd, path, flags, mode);
}

int
resolve_normalise (char buf[static PATH_MAX], const char *path)
{
        size_t n = 0;

        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                if (*p == '\0')
                        break;
                if (n > 0)
                        buf[n++] = '/';
                while (*p && *p != '/') {
                        if (n >= PATH_MAX - 2) {
                                errno = ENAMETOOLONG;
                                return -1;
                        }
                        buf[n++] = *p++;
                }
        }
        buf[n] = '\0';
        return 0;
}

/* Make the missing directory name in parent_fd (buf[0..start) is the
 * parent's path, buf[end..] the rest).  Returns its descriptor, or -2
 * when name turned out to be a dangling symlink, which buf then
 * replaces by its target. */
static int
make_dir (int parent_fd, char buf[static PATH_MAX], size_t start, size_t end, mode_t mode)
{
        char name[NAME_MAX + 1], target[PATH_MAX], tail[PATH_MAX];
        size_t n = end - start;

        if (n > NAME_MAX) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy (name, buf + start, n);
        name[n] = '\0';
        if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0) {
                errno = ENOENT; /* its parent went away under us */
                return -1;
        }
        if (mkdirat (parent_fd, name, mode) < 0) {
                if (errno != EEXIST)
                        return -1;
                /* Made meanwhile by someone else, or a dangling symlink. */
                if (read_link (parent_fd, name, target) < 0)
                        return openat (parent_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
                return openat (parent_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        /* A relative target is relative to the link's directory. */
        strcpy (tail, buf + end);
        if (target[0] == '/') {
                buf[0] = '\0';
        } else {
                buf[start] = '\0';
        }
        if (strlen (buf) + strlen (target) + strlen (tail) + 2 > PATH_MAX) {
                errno = ENAMETOOLONG;
                return -1;
        }
        strcat (buf, target);
        strcat (buf, tail);
        return -2;
}

int
resolve_mkdir_p (int root_fd, const char *path, mode_t mode)
{
        char buf[PATH_MAX], spliced[PATH_MAX];
        int links = 0;

        if (resolve_normalise (buf, path) < 0)
                return -1;
restart:;
        int parent = resolve_open (root_fd, ".", O_PATH | O_DIRECTORY, 0);
        size_t start = 0;

        if (parent < 0)
                return -1;
        for (size_t i = 0;; i++) {
                char c = buf[i];
                int fd;

                if (c != '/' && c != '\0')
                        continue;
                if (i == start) /* "" : the root itself */
                        return parent;
                buf[i] = '\0';
                fd = resolve_open (root_fd, buf, O_PATH | O_DIRECTORY, 0);
                buf[i] = c;
                if (fd < 0 && errno == ENOENT)
                        fd = make_dir (parent, buf, start, i, mode);
                if (fd == -2) {
                        close (parent);
                        if (++links > MAX_LINKS) {
                                errno = ELOOP;
                                return -1;
                        }
                        if (resolve_normalise (spliced, buf) < 0)
                                return -1;
                        memcpy (buf, spliced, sizeof (buf));
                        goto restart;
                }
                close_keep_errno (parent);
                if (fd < 0)
                        return -1;
                parent = fd;
                if (c == '\0')
                        return parent;
                start = i + 1;
        }
}

int
resolve_open_parent (int root_fd, const char *path, int create, mode_t mode,
                     char name[static NAME_MAX + 1])
{
        char buf[PATH_MAX];
        char *slash, *last;
        size_t n;

        if (resolve_normalise (buf, path) < 0)
                return -1;
        slash = strrchr (buf, '/');
        last = slash ? slash + 1 : buf;
        n = strlen (last);
        if (n == 0 || strcmp (last, ".") == 0 || strcmp (last, "..") == 0) {
                errno = EINVAL;
                return -1;
        }
        if (n > NAME_MAX) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy (name, last, n + 1);
        if (slash)
                *slash = '\0';
        else
                buf[0] = '\0';
        if (create)
                return resolve_mkdir_p (root_fd, buf, mode);
        return resolve_open (root_fd, buf, O_PATH | O_DIRECTORY, 0);
}
