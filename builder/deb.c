/* deb.c - reading .deb files and unpacking them into a root.
 *
 * A .deb is an ar archive whose members are tar archives; both layers
 * are read with libarchive.  Every entry is written below the root
 * through sandbox/resolve.c, so that no symlink in the root leads out.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/deb.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libarchive.h"
#include "sandbox/resolve.h"

/* ------------------------------------------------------------------ */
/* Reading .deb files: an ar archive whose members are tar archives     */

/* A member of the outer ar archive, read as an archive of its own. */
struct deb_member {
        struct archive *outer;
        struct archive *inner;
        char block[65536];
};

static la_ssize_t
member_read (struct archive *inner, void *opaque, const void **data)
{
        struct deb_member *m = opaque;
        la_ssize_t n = archive_read_data (m->outer, m->block, sizeof (m->block));

        if (n < 0) {
                archive_set_error (inner, archive_errno (m->outer), "%s",
                                   archive_error_string (m->outer));
                return -1;
        }
        *data = m->block;
        return n;
}

static void
deb_member_close (struct deb_member **mp)
{
        struct deb_member *m = *mp;
        if (m == NULL)
                return;
        if (m->inner)
                archive_read_free (m->inner);
        if (m->outer)
                archive_read_free (m->outer);
        free (m);
        *mp = NULL;
}
#define cleanup_deb_member __attribute__ ((cleanup (deb_member_close)))

/* Open the member named "<prefix>" or "<prefix>.<compression>" of the
 * .deb at path and position m->inner before its first entry. */
static int
deb_member_open (const char *path, const char *prefix, struct deb_member **out, pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = calloc (1, sizeof (*m));
        struct archive_entry *e;
        size_t plen = strlen (prefix);
        int r;

        if (m == NULL || (m->outer = archive_read_new ()) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_format_ar (m->outer);
        if (archive_read_open_filename (m->outer, path, 65536) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, m->outer, "open `%s`", path);
        for (;;) {
                r = archive_read_next_header (m->outer, &e);
                if (r == ARCHIVE_EOF)
                        return pgimg_make_error (err, ENOENT, "`%s` has no %s member", path, prefix);
                if (r != ARCHIVE_OK)
                        return pgimg_error_from_archive (err, m->outer, "read `%s`", path);
                const char *name = archive_entry_pathname (e);
                if (name && strncmp (name, prefix, plen) == 0 && (name[plen] == '\0' || name[plen] == '.'))
                        break;
        }
        m->inner = archive_read_new ();
        if (m->inner == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_filter_gzip (m->inner);
        archive_read_support_filter_xz (m->inner);
        archive_read_support_filter_zstd (m->inner);
        archive_read_support_format_tar (m->inner);
        if (archive_read_open (m->inner, m, NULL, member_read, NULL) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, m->inner, "read the data of `%s`", path);
        *out = steal_pointer (&m);
        return 0;
}

/* A tar path made relative to the root ("./usr/bin/x" -> "usr/bin/x"),
 * or NULL with errno EINVAL for a ".." component (EEXIST for the root
 * itself).  Caller frees. */
static char *
normalize_path (const char *path)
{
        struct buf b = BUF_INIT;
        const char *p = path;

        while (*p) {
                const char *e = strchr (p, '/');
                size_t len = e ? (size_t) (e - p) : strlen (p);
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        buf_release (&b);
                        errno = EINVAL;
                        return NULL;
                }
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if ((b.len && buf_add (&b, "/", 1) < 0) || buf_add (&b, p, len) < 0) {
                                buf_release (&b);
                                return NULL;
                        }
                }
                p += len;
                if (*p == '/')
                        p++;
        }
        if (b.len == 0) {
                buf_release (&b);
                errno = EEXIST;
                return NULL;
        }
        return buf_detach (&b, NULL);
}

static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib64", "lib32", "libx32" };

/* Merged /usr: "bin/x" -> "usr/bin/x".  *dropped is set for the merged
 * directories themselves, which root_dir has as links. */
static char *
merge_usr (char *rel, int *dropped)
{
        *dropped = 0;
        for (size_t i = 0; i < sizeof (merged_dirs) / sizeof (merged_dirs[0]); i++) {
                size_t len = strlen (merged_dirs[i]);
                if (strncmp (rel, merged_dirs[i], len) != 0)
                        continue;
                if (rel[len] == '\0') {
                        *dropped = 1;
                        return rel;
                }
                if (rel[len] == '/') {
                        char *out = NULL;
                        if (asprintf (&out, "usr/%s", rel) < 0)
                                out = NULL;
                        free (rel);
                        return out;
                }
        }
        return rel;
}

static int
matches_any (const char *const *patterns, const char *rel)
{
        if (patterns == NULL)
                return 0;
        for (size_t i = 0; patterns[i]; i++) {
                /* dpkg spells patterns from "/", rel has no leading "/".
                 * Without FNM_PATHNAME a "*" also matches "/", as in dpkg. */
                const char *pat = patterns[i][0] == '/' ? patterns[i] + 1 : patterns[i];
                if (fnmatch (pat, rel, 0) == 0)
                        return 1;
        }
        return 0;
}

static int
excluded (const struct deb_unpack_opts *opts, const char *rel)
{
        if (opts == NULL || !matches_any (opts->exclude, rel))
                return 0;
        return !matches_any (opts->include, rel);
}

/* ------------------------------------------------------------------ */
/* Writing into root_dir without ever leaving it                       */

/* Make room for a new non-directory entry: later packages win. */
static int
remove_existing (int dirfd, const char *name)
{
        struct stat st;

        if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -1;
        return unlinkat (dirfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0);
}

static int
write_regular (struct archive *a, int dirfd, const char *name, mode_t mode, const char *deb_path,
               const char *rel, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        const void *block;
        size_t size;
        la_int64_t offset, end = 0;
        int r;

        if (remove_existing (dirfd, name) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: replace `%s`", deb_path, rel);
        fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: create `%s`", deb_path, rel);
        while ((r = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK) {
                /* Sparse entries: holes are the gaps between offsets. */
                const char *p = block;
                while (size > 0) {
                        ssize_t n = pwrite (fd, p, size, offset);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return pgimg_make_error_errno (err, errno, "`%s`: write `%s`", deb_path, rel);
                        p += n;
                        size -= (size_t) n;
                        offset += n;
                }
                if (offset > end)
                        end = offset;
        }
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, a, "read `%s`", deb_path);
        if (ftruncate (fd, end) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: write `%s`", deb_path, rel);
        if (fchmod (fd, mode) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: chmod `%s`", deb_path, rel);
        return 0;
}

static int
write_dir (int dirfd, const char *name, mode_t mode)
{
        struct stat st;
        cleanup_fd int fd = -1;

        if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                /* A link to a directory stays (dpkg does the same): what
                 * goes below it lands in the directory it points to. */
                if (S_ISLNK (st.st_mode))
                        return 0;
                if (!S_ISDIR (st.st_mode) && unlinkat (dirfd, name, 0) < 0)
                        return -1;
        } else if (errno != ENOENT) {
                return -1;
        }
        if (mkdirat (dirfd, name, 0700) < 0 && errno != EEXIST)
                return -1;
        fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -1;
        return fchmod (fd, mode);
}

/* The unpacking state of one .deb. */
struct unpack {
        const char *deb_path;
        int rootfd;
        const struct deb_unpack_opts *opts;
};

static int
record_owner (const struct unpack *u, const char *rel, struct archive_entry *e, mode_t disk_mode,
              pgimg_error_t *err)
{
        struct owner_map *owners = u->opts ? u->opts->owners : NULL;
        uint32_t uid = (uint32_t) archive_entry_uid (e);
        uint32_t gid = (uint32_t) archive_entry_gid (e);
        mode_t perm = archive_entry_perm (e) & 07777;

        if (owners == NULL)
                return 0;
        /* A link's mode means nothing: only its owner is worth keeping. */
        if (archive_entry_filetype (e) == AE_IFLNK)
                perm = disk_mode = 0755;
        /* A path seen before keeps its entry up to date even when the
         * later package's is ordinary. */
        if (uid == 0 && gid == 0 && (perm & ~(mode_t) 0755) == 0 && perm == disk_mode
            && owner_map_get (owners, rel) == NULL)
                return 0;
        return owner_map_set (owners, rel, uid, gid, perm, err);
}

static int
unpack_entry (struct unpack *u, struct archive *a, struct archive_entry *e, pgimg_error_t *err)
{
        const char *path = archive_entry_pathname (e);
        const char *hardlink = archive_entry_hardlink (e);
        cleanup_free char *rel = NULL;
        cleanup_fd int dirfd = -1;
        char name[NAME_MAX + 1];
        mode_t perm = archive_entry_perm (e) & 07777;
        mode_t disk_mode;
        int dropped;

        if (path == NULL)
                return pgimg_make_error (err, EINVAL, "`%s`: an entry has no name", u->deb_path);
        rel = normalize_path (path);
        if (rel == NULL && errno == EEXIST)
                return 0;       /* "./" */
        if (rel == NULL && errno == EINVAL)
                return pgimg_make_error (err, EINVAL, "`%s`: refusing `%s`, which leaves the root",
                                         u->deb_path, path);
        if (rel == NULL || (rel = merge_usr (rel, &dropped)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", u->deb_path);
        if (dropped || excluded (u->opts, rel))
                return 0;

        dirfd = resolve_open_parent (u->rootfd, rel, 1, 0755, name);
        if (dirfd < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: parent of `%s`", u->deb_path, rel);

        if (hardlink) {
                cleanup_free char *target = normalize_path (hardlink);
                cleanup_fd int tdirfd = -1;
                char tname[NAME_MAX + 1];
                if (target == NULL && errno != ENOMEM)
                        return pgimg_make_error (err, EINVAL, "`%s`: refusing link `%s` to `%s`",
                                                 u->deb_path, path, hardlink);
                if (target == NULL || (target = merge_usr (target, &dropped)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", u->deb_path);
                if (excluded (u->opts, target))
                        return 0;
                tdirfd = resolve_open_parent (u->rootfd, target, 0, 0, tname);
                if (tdirfd < 0 || remove_existing (dirfd, name) < 0
                    || linkat (tdirfd, tname, dirfd, name, 0) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: link `%s` to `%s`",
                                                       u->deb_path, rel, target);
                return record_owner (u, rel, e, (perm & 0777) | 0400, err);
        }

        /* Set-id and sticky bits never reach the disk of a rootless
         * build; the owner map carries them to the layer. */
        disk_mode = perm & 0777;
        switch (archive_entry_filetype (e)) {
        case AE_IFDIR:
                disk_mode |= 0700;      /* we must be able to fill it */
                if (write_dir (dirfd, name, disk_mode) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: directory `%s`", u->deb_path, rel);
                break;
        case AE_IFREG:
                disk_mode |= 0400;      /* and the layer writer to read it */
                if (write_regular (a, dirfd, name, disk_mode, u->deb_path, rel, err) < 0)
                        return -1;
                break;
        case AE_IFLNK: {
                const char *target = archive_entry_symlink (e);
                if (target == NULL)
                        return pgimg_make_error (err, EINVAL, "`%s`: link `%s` has no target", u->deb_path, rel);
                if (remove_existing (dirfd, name) < 0 || symlinkat (target, dirfd, name) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: symlink `%s`", u->deb_path, rel);
                break;
        }
        default:
                /* Devices and fifos cannot be made without privileges and
                 * no package pgimg installs ships one. */
                return 0;
        }
        return record_owner (u, rel, e, disk_mode, err);
}

/* bin -> usr/bin and the like, unless root_dir already has something
 * there. */
static int
make_merged_usr_links (int rootfd, const char *root_dir, pgimg_error_t *err)
{
        if (mkdirat (rootfd, "usr", 0755) < 0 && errno != EEXIST)
                return pgimg_make_error_errno (err, errno, "mkdir `%s/usr`", root_dir);
        for (size_t i = 0; i < 4; i++) {
                char target[32];
                struct stat st;
                snprintf (target, sizeof (target), "usr/%s", merged_dirs[i]);
                if (fstatat (rootfd, merged_dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
                        continue;
                if (errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "`%s/%s`", root_dir, merged_dirs[i]);
                /* In the root even if an earlier package made usr a symlink. */
                int fd = resolve_mkdir_p (rootfd, target, 0755);
                if (fd < 0)
                        return pgimg_make_error_errno (err, errno, "mkdir `%s/%s`", root_dir, target);
                close (fd);
                if (symlinkat (target, rootfd, merged_dirs[i]) < 0)
                        return pgimg_make_error_errno (err, errno, "symlink `%s/%s`", root_dir,
                                                       merged_dirs[i]);
        }
        return 0;
}

int
deb_unpack (const char *deb_path, const char *root_dir, const struct deb_unpack_opts *opts,
            pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = NULL;
        cleanup_fd int rootfd = -1;
        struct archive_entry *e;
        struct unpack u;
        int r;

        if (fs_mkdir_p (root_dir, 0755, err) < 0)
                return -1;
        rootfd = open (root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root_dir);
        if (make_merged_usr_links (rootfd, root_dir, err) < 0)
                return -1;
        if (deb_member_open (deb_path, "data.tar", &m, err) < 0)
                return -1;
        u.deb_path = deb_path;
        u.rootfd = rootfd;
        u.opts = opts;
        while ((r = archive_read_next_header (m->inner, &e)) == ARCHIVE_OK)
                if (unpack_entry (&u, m->inner, e, err) < 0)
                        return -1;
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, m->inner, "read `%s`", deb_path);
        if (opts && opts->dpkg_status)
                return deb_write_status (deb_path, root_dir, err);
        return 0;
}

#define CONTROL_MAX_BYTES (1u << 20)

/* The member `name` of control.tar, appended to out: 1 when there, 0
 * when the .deb has none. */
static int
read_control_member (const char *deb_path, const char *name, struct buf *out, pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = NULL;
        struct archive_entry *e;
        int r;

        if (deb_member_open (deb_path, "control.tar", &m, err) < 0)
                return -1;
        while ((r = archive_read_next_header (m->inner, &e)) == ARCHIVE_OK) {
                const char *path = archive_entry_pathname (e);
                cleanup_free char *rel = path ? normalize_path (path) : NULL;
                char block[16384];
                la_ssize_t n;
                size_t total = 0;

                if (rel == NULL || strcmp (rel, name) != 0 || archive_entry_filetype (e) != AE_IFREG)
                        continue;
                while ((n = archive_read_data (m->inner, block, sizeof (block))) > 0) {
                        total += (size_t) n;
                        if (total > CONTROL_MAX_BYTES)
                                return pgimg_make_error (err, EFBIG, "`%s`: %s file larger than %u bytes",
                                                         deb_path, name, CONTROL_MAX_BYTES);
                        if (buf_add (out, block, (size_t) n) < 0)
                                return pgimg_make_error_errno (err, errno, "`%s`: %s file", deb_path, name);
                }
                if (n < 0)
                        return pgimg_error_from_archive (err, m->inner, "read `%s`", deb_path);
                return 1;
        }
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, m->inner, "read `%s`", deb_path);
        return 0;
}

int
deb_read_control (const char *deb_path, struct buf *out, pgimg_error_t *err)
{
        int r = read_control_member (deb_path, "control", out, err);

        if (r == 0)
                return pgimg_make_error (err, ENOENT, "`%s` has no control file", deb_path);
        return r < 0 ? -1 : 0;
}

/* The Package field of a control paragraph, if it is a name dpkg would
 * accept (lower-case letters, digits, "+-."; it names files). */
static int
control_package (const char *control, char name[DEB_NAME_MAX + 1])
{
        const char *p = control;
        size_t len;

        while (p && strncmp (p, "Package:", 8) != 0)
                if ((p = strchr (p, '\n')) != NULL)
                        p++;
        if (p == NULL)
                return -1;
        p += 8;
        p += strspn (p, " \t");
        len = strspn (p, "abcdefghijklmnopqrstuvwxyz0123456789+-.");
        if (len == 0 || len > DEB_NAME_MAX || (p[len] != '\n' && p[len] != '\0') || p[0] == '.' || p[0] == '-'
            || p[0] == '+')
                return -1;
        memcpy (name, p, len);
        name[len] = '\0';
        return 0;
}

/* The control paragraph as dpkg's status database holds it: with
 * "Status: install ok installed" after the Package line. */
static int
status_paragraph (const struct buf *control, struct buf *out)
{
        const char *text = control->data;
        const char *nl = strchr (text, '\n');
        size_t first = nl ? (size_t) (nl + 1 - text) : strlen (text);
        size_t len = control->len;

        while (len > 0 && text[len - 1] == '\n')
                len--;
        if (buf_add (out, text, first) < 0 || (nl == NULL && buf_adds (out, "\n") < 0)
            || buf_adds (out, "Status: install ok installed\n") < 0
            || (len > first && buf_add (out, text + first, len - first) < 0)
            || (len > first && buf_adds (out, "\n") < 0))
                return -1;
        return 0;
}

static int
write_status_file (int rootfd, const char *root_dir, const char *rel, const struct buf *b,
                   pgimg_error_t *err)
{
        cleanup_fd int dirfd = -1;
        cleanup_fd int fd = -1;
        char name[NAME_MAX + 1];

        dirfd = resolve_open_parent (rootfd, rel, 1, 0755, name);
        if (dirfd < 0 || remove_existing (dirfd, name) < 0)
                return pgimg_make_error_errno (err, errno, "write `%s/%s`", root_dir, rel);
        fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || fs_write_all (fd, b->data, b->len) < 0 || fchmod (fd, 0644) < 0)
                return pgimg_make_error_errno (err, errno, "write `%s/%s`", root_dir, rel);
        return 0;
}

int
deb_write_status (const char *deb_path, const char *root_dir, pgimg_error_t *err)
{
        cleanup_buf struct buf control = BUF_INIT;
        cleanup_buf struct buf status = BUF_INIT;
        cleanup_buf struct buf md5sums = BUF_INIT;
        cleanup_free char *rel = NULL;
        cleanup_fd int rootfd = -1;
        char name[DEB_NAME_MAX + 1];
        int has_md5sums;

        if (deb_read_control (deb_path, &control, err) < 0 || buf_adds (&control, "") < 0)
                return -1;
        if (control_package (control.data, name) < 0)
                return pgimg_make_error (err, EINVAL, "`%s`: its control file names no valid Package; the .deb is damaged",
                                         deb_path);
        if (status_paragraph (&control, &status) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", deb_path);
        has_md5sums = read_control_member (deb_path, "md5sums", &md5sums, err);
        if (has_md5sums < 0)
                return -1;
        rootfd = open (root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root_dir);
        if (asprintf (&rel, DEB_STATUS_DIR "/%s", name) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", deb_path);
        if (write_status_file (rootfd, root_dir, rel, &status, err) < 0)
                return -1;
        if (!has_md5sums)
                return 0;
        free (rel);
        if (asprintf (&rel, DEB_STATUS_DIR "/%s.md5sums", name) < 0) {
                rel = NULL;
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", deb_path);
        }
        return write_status_file (rootfd, root_dir, rel, &md5sums, err);
}
