/* Every case runs twice: through openat2 and through the walk by hand. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "sandbox/resolve.h"

/* The fixture: <dir>/root is the root, <dir>/host stands for the host
 * outside it (and is also the absolute path the hostile links name). */
struct fixture {
        char dir[64];
        char root[96];
        char host[96];
        int root_fd;
};

static void
at (const struct fixture *f, const char *rel, char out[static PATH_MAX])
{
        snprintf (out, PATH_MAX, "%s/%s", f->root, rel);
}

static void
make_link (const struct fixture *f, const char *target, const char *rel)
{
        char p[PATH_MAX];

        at (f, rel, p);
        assert_int_equal (symlink (target, p), 0);
}

static void
make_dir (const struct fixture *f, const char *rel)
{
        char p[PATH_MAX];

        at (f, rel, p);
        assert_int_equal (mkdir (p, 0755), 0);
}

static void
make_file (const struct fixture *f, const char *rel, const char *text)
{
        char p[PATH_MAX];
        pgimg_error_t err = NULL;

        at (f, rel, p);
        assert_int_equal (fs_write_file_atomic (p, text, strlen (text), 0644, &err), 0);
}

/* The content of the file path names in the root, read through the resolver. */
static char *
read_in_root (const struct fixture *f, const char *path)
{
        static char text[64];
        cleanup_fd int fd = resolve_open (f->root_fd, path, O_RDONLY, 0);
        ssize_t n;

        if (fd < 0)
                return NULL;
        n = read (fd, text, sizeof (text) - 1);
        assert_true (n >= 0);
        text[n] = '\0';
        return text;
}

static int
host_is_empty (const struct fixture *f)
{
        char cmd[256];

        snprintf (cmd, sizeof (cmd), "test -z \"$(ls -A %s)\"", f->host);
        return system (cmd) == 0;
}

static int
setup (void **state, int use_openat2)
{
        struct fixture *f = calloc (1, sizeof (*f));
        pgimg_error_t err = NULL;

        assert_non_null (f);
        snprintf (f->dir, sizeof (f->dir), "/tmp/pgimg-test-resolve-XXXXXX");
        assert_non_null (mkdtemp (f->dir));
        snprintf (f->root, sizeof (f->root), "%s/root", f->dir);
        snprintf (f->host, sizeof (f->host), "%s/host", f->dir);
        assert_int_equal (fs_mkdir_p (f->root, 0755, &err), 0);
        assert_int_equal (fs_mkdir_p (f->host, 0755, &err), 0);
        f->root_fd = open (f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true (f->root_fd >= 0);
        /* A root as images have them, plus hostile links. */
        make_dir (f, "etc");
        make_file (f, "etc/passwd", "in root");
        make_dir (f, "usr");
        make_dir (f, "usr/lib");
        make_link (f, "/usr/lib", "lib");               /* absolute, inside */
        make_link (f, "../../..", "usr/lib/up");        /* climbs out */
        make_link (f, "/", "slash");                    /* the root itself */
        make_link (f, f->host, "run");                  /* a host directory */
        make_link (f, "loop2", "loop1");
        make_link (f, "loop1", "loop2");
        resolve_use_openat2 (use_openat2);
        *state = f;
        return 0;
}

static int
setup_openat2 (void **state)
{
        return setup (state, 1);
}

static int
setup_by_hand (void **state)
{
        return setup (state, 0);
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;

        close (f->root_fd);
        fs_rm_rf (f->dir, &err);
        pgimg_error_free (&err);
        free (f);
        resolve_use_openat2 (1);
        return 0;
}

static void
dotdot_stays_in_root (void **state)
{
        struct fixture *f = *state;

        assert_string_equal (read_in_root (f, "../../../../etc/passwd"), "in root");
        assert_string_equal (read_in_root (f, "/usr/../../etc/passwd"), "in root");
        assert_string_equal (read_in_root (f, "usr/lib/up/etc/passwd"), "in root");
}

static void
absolute_links_stay_in_root (void **state)
{
        struct fixture *f = *state;
        char p[PATH_MAX];
        int fd;

        assert_string_equal (read_in_root (f, "slash/etc/passwd"), "in root");
        assert_string_equal (read_in_root (f, "slash/slash/slash/etc/passwd"), "in root");
        /* lib -> /usr/lib is followed inside: a file made through it lands in usr/lib. */
        fd = resolve_open (f->root_fd, "lib/made", O_WRONLY | O_CREAT | O_EXCL, 0644);
        assert_true (fd >= 0);
        close (fd);
        at (f, "usr/lib/made", p);
        assert_true (fs_exists (p));
        /* run -> <host>: the host directory exists, the root's does not. */
        errno = 0;
        assert_int_equal (resolve_open (f->root_fd, "run", O_PATH | O_DIRECTORY, 0), -1);
        assert_int_equal (errno, ENOENT);
        assert_int_equal (resolve_open (f->root_fd, "run/x", O_WRONLY | O_CREAT, 0644), -1);
        assert_true (host_is_empty (f));
}

static void
links_to_slash_open_the_root (void **state)
{
        struct fixture *f = *state;
        struct stat a, b;
        cleanup_fd int fd = resolve_open (f->root_fd, "slash", O_PATH | O_DIRECTORY, 0);

        assert_true (fd >= 0);
        assert_int_equal (fstat (fd, &a), 0);
        assert_int_equal (fstat (f->root_fd, &b), 0);
        assert_true (a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

static void
loops_fail_with_eloop (void **state)
{
        struct fixture *f = *state;

        errno = 0;
        assert_int_equal (resolve_open (f->root_fd, "loop1", O_RDONLY, 0), -1);
        assert_int_equal (errno, ELOOP);
        errno = 0;
        assert_int_equal (resolve_open (f->root_fd, "loop1/x", O_RDONLY, 0), -1);
        assert_int_equal (errno, ELOOP);
        errno = 0;
        assert_int_equal (resolve_mkdir_p (f->root_fd, "loop1/x", 0755), -1);
        assert_int_equal (errno, ELOOP);
}

static void
nofollow_opens_the_link (void **state)
{
        struct fixture *f = *state;
        struct stat st;
        cleanup_fd int fd = resolve_open (f->root_fd, "run", O_PATH | O_NOFOLLOW, 0);

        assert_true (fd >= 0);
        assert_int_equal (fstatat (fd, "", &st, AT_EMPTY_PATH), 0);
        assert_true (S_ISLNK (st.st_mode));
}

/* The runtime's mount points in an image with run -> <host>. */
static void
mkdir_p_creates_in_root (void **state)
{
        struct fixture *f = *state;
        char p[PATH_MAX], q[PATH_MAX];
        struct stat st;
        int fd;

        fd = resolve_mkdir_p (f->root_fd, "/var/lib/postgresql/data", 0755);
        assert_true (fd >= 0);
        close (fd);
        at (f, "var/lib/postgresql/data", p);
        assert_int_equal (lstat (p, &st), 0);
        assert_true (S_ISDIR (st.st_mode));
        /* Through the dangling link run -> <host>: made in <root><host>. */
        fd = resolve_mkdir_p (f->root_fd, "run/postgresql", 0755);
        assert_true (fd >= 0);
        close (fd);
        assert_true (host_is_empty (f));
        snprintf (q, sizeof (q), "%s%s/postgresql", f->root, f->host);
        assert_int_equal (lstat (q, &st), 0);
        assert_true (S_ISDIR (st.st_mode));
        /* Through a symlinked intermediate directory and "..". */
        fd = resolve_mkdir_p (f->root_fd, "lib/a/../b/c", 0755);
        assert_true (fd >= 0);
        close (fd);
        at (f, "usr/lib/b/c", p);
        assert_true (fs_exists (p));
        /* Climbing links are clamped at the root. */
        fd = resolve_mkdir_p (f->root_fd, "usr/lib/up/up-made", 0755);
        assert_true (fd >= 0);
        close (fd);
        at (f, "up-made", p);
        assert_true (fs_exists (p));
        /* Existing: the same directory again; the root itself. */
        fd = resolve_mkdir_p (f->root_fd, "var/lib/postgresql/data", 0755);
        assert_true (fd >= 0);
        close (fd);
        fd = resolve_mkdir_p (f->root_fd, "/", 0755);
        assert_true (fd >= 0);
        close (fd);
        /* A file on the way. */
        errno = 0;
        assert_int_equal (resolve_mkdir_p (f->root_fd, "etc/passwd/x", 0755), -1);
        assert_int_equal (errno, ENOTDIR);
}

static void
open_parent_names_the_last_component (void **state)
{
        struct fixture *f = *state;
        char name[NAME_MAX + 1], p[PATH_MAX];
        int dir_fd, fd;

        dir_fd = resolve_open_parent (f->root_fd, "slash/opt/new/file", 1, 0755, name);
        assert_true (dir_fd >= 0);
        assert_string_equal (name, "file");
        fd = openat (dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true (fd >= 0);
        close (fd);
        close (dir_fd);
        at (f, "opt/new/file", p);
        assert_true (fs_exists (p));
        errno = 0;
        assert_int_equal (resolve_open_parent (f->root_fd, "nowhere/file", 0, 0, name), -1);
        assert_int_equal (errno, ENOENT);
        errno = 0;
        assert_int_equal (resolve_open_parent (f->root_fd, "/", 1, 0755, name), -1);
        assert_int_equal (errno, EINVAL);
        errno = 0;
        assert_int_equal (resolve_open_parent (f->root_fd, "usr/..", 1, 0755, name), -1);
        assert_int_equal (errno, EINVAL);
}

static void
normalise_drops_extra_slashes (void **state)
{
        char buf[PATH_MAX];
        char *long_path;

        (void) state;
        assert_int_equal (resolve_normalise (buf, "//usr///lib/./x/"), 0);
        assert_string_equal (buf, "usr/lib/./x");
        assert_int_equal (resolve_normalise (buf, "/"), 0);
        assert_string_equal (buf, "");
        assert_int_equal (resolve_normalise (buf, "a/../b"), 0);
        assert_string_equal (buf, "a/../b");
        long_path = malloc (PATH_MAX + 1);
        assert_non_null (long_path);
        memset (long_path, 'a', PATH_MAX);
        long_path[PATH_MAX] = '\0';
        errno = 0;
        assert_int_equal (resolve_normalise (buf, long_path), -1);
        assert_int_equal (errno, ENAMETOOLONG);
        free (long_path);
}

#define BOTH(t) \
        { #t " (openat2)", t, setup_openat2, teardown, NULL }, \
        { #t " (by hand)", t, setup_by_hand, teardown, NULL }

int
main (void)
{
        const struct CMUnitTest tests[] = {
                BOTH (dotdot_stays_in_root),
                BOTH (absolute_links_stay_in_root),
                BOTH (links_to_slash_open_the_root),
                BOTH (loops_fail_with_eloop),
                BOTH (nofollow_opens_the_link),
                BOTH (mkdir_p_creates_in_root),
                BOTH (open_parent_names_the_last_component),
                cmocka_unit_test (normalise_drops_extra_slashes),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
