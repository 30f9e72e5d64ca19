#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/internal.h"

struct file_sink {
        int fd;
        const char *path;
};

static int
file_write (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct file_sink *s = ctx;

        if (fs_write_all (s->fd, data, len) < 0)
                return fs_write_error (err, errno, s->path);
        return 0;
}

/* A blob is hard-linked from blob_dir when both are on one file system
 * (images share their layers with the cache at no cost), else copied;
 * either way its content is checked against its digest. */
static int
place_blob (const struct oci_entry *e, const char *path, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        struct file_sink sink = { -1, path };
        struct stat st;

        if (link (e->blob_path, path) == 0) {
                char hex[SHA256_HEX_LEN + 1];
                if (stat (path, &st) < 0)
                        return pgimg_make_error_errno (err, errno, "stat `%s`", path);
                if (sha256_file_hex (path, hex, err) < 0)
                        return -1;
                if ((uint64_t) st.st_size != e->size || strcmp (hex, e->hex) != 0)
                        return pgimg_make_error (err, EIO, "blob sha256:%s: `%s` is corrupt (its content is sha256:%s)",
                                                 e->hex, e->blob_path, hex);
                return 0;
        }
        if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
                return pgimg_make_error_errno (err, errno, "link `%s` to `%s`", e->blob_path, path);
        fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "create `%s`", path);
        sink.fd = fd;
        if (oci_entry_copy_blob (e, file_write, &sink, err) < 0)
                return -1;
        if (fsync (fd) < 0)
                return pgimg_make_error_errno (err, errno, "fsync `%s`", path);
        return 0;
}

static int
place_file (const struct oci_entry *e, const char *path, pgimg_error_t *err)
{
        cleanup_fd int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "create `%s`", path);
        if (fs_write_all (fd, e->data, e->len) < 0 || fsync (fd) < 0)
                return fs_write_error (err, errno, path);
        return 0;
}

static int
place_entry (const struct oci_entry *e, const char *root, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s/%s", root, e->name) < 0)
                return pgimg_make_error (err, ENOMEM, "write `%s`: out of memory", root);
        if (e->is_dir) {
                if (mkdir (path, 0755) < 0)
                        return pgimg_make_error_errno (err, errno, "mkdir `%s`", path);
                return 0;
        }
        if (e->blob_path != NULL)
                return place_blob (e, path, err);
        return place_file (e, path, err);
}

static int
fsync_path (const char *path)
{
        cleanup_fd int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? -1 : fsync (fd);
}

/* The new names must be on disk before the rename publishes them. */
static int
fsync_dirs (const struct oci_layout *l, const char *root, pgimg_error_t *err)
{
        for (size_t i = 0; i < l->n; i++) {
                cleanup_free char *path = NULL;
                if (!l->v[i].is_dir)
                        continue;
                if (asprintf (&path, "%s/%s", root, l->v[i].name) < 0)
                        return pgimg_make_error (err, ENOMEM, "fsync `%s`: out of memory", root);
                if (fsync_path (path) < 0)
                        return pgimg_make_error_errno (err, errno, "fsync `%s`", path);
        }
        if (fsync_path (root) < 0)
                return pgimg_make_error_errno (err, errno, "fsync `%s`", root);
        return 0;
}

/* Move tmp to out_path.  An existing out_path is swapped out in one
 * step (RENAME_EXCHANGE), so a reader sees the old image or the new one,
 * never a mixture; the old one is then removed. */
static int
install_dir (const char *tmp, const char *out_path, pgimg_error_t *err)
{
        if (rename (tmp, out_path) == 0)
                return 0;
        if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOTDIR && errno != EISDIR)
                return pgimg_make_error_errno (err, errno, "rename `%s` to `%s`", tmp, out_path);
        if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, out_path, RENAME_EXCHANGE) < 0)
                return pgimg_make_error_errno (err, errno, "replace `%s`", out_path);
        /* tmp now holds the old image; still registered for removal. */
        return fs_rm_rf (tmp, err);
}

int
oci_layout_write_dir (const struct oci_layout *l, const char *out_path, pgimg_error_t *err)
{
        cleanup_free char *parent = fs_dir_of (out_path);
        cleanup_free char *tmp = NULL;
        pgimg_error_t ignored = NULL;
        int r = -1;

        if (parent == NULL)
                return pgimg_make_error (err, ENOMEM, "write `%s`: out of memory", out_path);
        if (fs_mkdtemp (parent, "oci", &tmp, err) < 0)
                return -1;
        if (chmod (tmp, 0755) < 0) {
                pgimg_make_error_errno (err, errno, "chmod `%s`", tmp);
                goto out;
        }
        for (size_t i = 0; i < l->n; i++)
                if (place_entry (&l->v[i], tmp, err) < 0)
                        goto out;
        if (fsync_dirs (l, tmp, err) < 0)
                goto out;
        if (install_dir (tmp, out_path, err) < 0)
                goto out;
        if (fsync_path (parent) < 0) {
                pgimg_make_error_errno (err, errno, "fsync `%s`", parent);
                goto out;
        }
        r = 0;
out:
        if (fs_rm_rf (tmp, &ignored) < 0)
                pgimg_error_free (&ignored);
        fs_forget_temp (tmp);
        return r;
}
