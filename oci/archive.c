#include <errno.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/internal.h"

static void
cleanup_archivep (struct archive **a)
{
        if (*a != NULL)
                archive_write_free (*a);
}
#define cleanup_archive __attribute__ ((cleanup (cleanup_archivep)))

static void
cleanup_entryp (struct archive_entry **e)
{
        if (*e != NULL)
                archive_entry_free (*e);
}
#define cleanup_entry __attribute__ ((cleanup (cleanup_entryp)))

static int
error_from_archive (pgimg_error_t *err, struct archive *a, const char *what, const char *path)
{
        const char *msg = archive_error_string (a);
        int e = archive_errno (a);

        if (fs_is_disk_full (e))
                return fs_write_error (err, e, path);
        return pgimg_make_error (err, e > 0 ? e : EIO, "%s `%s`: %s", what, path,
                                 msg ? msg : "unknown libarchive error");
}

struct tar_sink {
        struct archive *a;
        const char *out_path;
};

static int
tar_write (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct tar_sink *s = ctx;

        if (archive_write_data (s->a, data, len) != (la_ssize_t) len)
                return error_from_archive (err, s->a, "write", s->out_path);
        return 0;
}

/* Every header is the same function of the entry: owner root, mode 0755
 * for directories and 0644 for files, one fixed mtime and no other
 * times, no user or group names. */
static int
write_entry (struct tar_sink *s, const struct oci_entry *e, time_t mtime, pgimg_error_t *err)
{
        cleanup_entry struct archive_entry *h = archive_entry_new ();

        if (h == NULL)
                return pgimg_make_error (err, ENOMEM, "write `%s`: out of memory", s->out_path);
        archive_entry_set_pathname (h, e->name);
        archive_entry_set_uid (h, 0);
        archive_entry_set_gid (h, 0);
        archive_entry_set_mtime (h, mtime, 0);
        if (e->is_dir) {
                archive_entry_set_filetype (h, AE_IFDIR);
                archive_entry_set_perm (h, 0755);
                archive_entry_set_size (h, 0);
        } else {
                archive_entry_set_filetype (h, AE_IFREG);
                archive_entry_set_perm (h, 0644);
                archive_entry_set_size (h, (la_int64_t) (e->blob_path ? e->size : e->len));
        }
        if (archive_write_header (s->a, h) != ARCHIVE_OK)
                return error_from_archive (err, s->a, "write", s->out_path);
        if (e->is_dir)
                return 0;
        if (e->blob_path == NULL)
                return tar_write (s, e->data, e->len, err);
        return oci_entry_copy_blob (e, tar_write, s, err);
}

int
oci_layout_write_tar (const struct oci_layout *l, time_t mtime, const char *out_path, pgimg_error_t *err)
{
        cleanup_atomic struct fs_atomic f = FS_ATOMIC_INIT;
        cleanup_archive struct archive *a = archive_write_new ();
        struct tar_sink sink = { a, out_path };

        if (a == NULL)
                return pgimg_make_error (err, ENOMEM, "write `%s`: out of memory", out_path);
        if (fs_atomic_open (&f, out_path, 0644, err) < 0)
                return -1;
        /* pax restricted is ustar unless an entry needs more (a blob past
         * 8 GiB); no padding to a 10 KiB record, as `docker save`. */
        if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
            || archive_write_add_filter_none (a) != ARCHIVE_OK
            || archive_write_set_bytes_in_last_block (a, 1) != ARCHIVE_OK
            || archive_write_open_fd (a, f.fd) != ARCHIVE_OK)
                return error_from_archive (err, a, "write", out_path);
        for (size_t i = 0; i < l->n; i++)
                if (write_entry (&sink, &l->v[i], mtime, err) < 0)
                        return -1;
        if (archive_write_close (a) != ARCHIVE_OK)
                return error_from_archive (err, a, "write", out_path);
        return fs_atomic_commit (&f, out_path, err);
}
