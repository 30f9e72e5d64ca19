/* scan.c - a few files of a layer blob, read in one pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/libarchive.h"
#include "layers/scan.h"

static int
read_entry (struct archive *a, const char *what, const char *name, size_t max_bytes, struct buf *out,
            pgimg_error_t *err)
{
        char block[16384];
        la_ssize_t n;

        while ((n = archive_read_data (a, block, sizeof (block))) > 0) {
                if (out->len + (size_t) n > max_bytes)
                        return pgimg_make_error (err, EFBIG, "`%s`: `%s` is larger than %zu bytes", what, name,
                                                 max_bytes);
                if (buf_add (out, block, (size_t) n) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`: `%s`", what, name);
        }
        if (n < 0)
                return pgimg_error_from_archive (err, a, "read `%s`", what);
        return buf_adds (out, "") < 0 ? pgimg_make_error_errno (err, ENOMEM, "`%s`", what) : 0;
}

static const char *
strip_dot (const char *name)
{
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        return name;
}

static int
scan_entry (struct archive *a, struct archive_entry *e, const char *what, const struct layer_scan *s,
            pgimg_error_t *err)
{
        const char *orig = archive_entry_pathname (e);
        const char *name = orig ? strip_dot (orig) : NULL;
        const char *hard = archive_entry_hardlink (e);
        cleanup_buf struct buf data = BUF_INIT;

        if (name == NULL || !s->want (s->ctx, name))
                return 0;
        if (hard)
                return s->found (s->ctx, name, NULL, 0, strip_dot (hard), 0, err);
        if (archive_entry_filetype (e) == AE_IFLNK)
                return archive_entry_symlink (e)
                               ? s->found (s->ctx, name, NULL, 0, archive_entry_symlink (e), 1, err)
                               : 0;
        if (archive_entry_filetype (e) != AE_IFREG)
                return 0;
        if (read_entry (a, what, name, s->max_bytes, &data, err) < 0)
                return -1;
        return s->found (s->ctx, name, data.data, data.len, NULL, 0, err);
}

int
layer_scan_fd (int fd, const char *what, const struct layer_scan *s, pgimg_error_t *err)
{
        cleanup_archive struct archive *a = archive_read_new ();
        struct archive_entry *e;
        int r;

        if (a == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", what);
        if (archive_read_support_filter_all (a) != ARCHIVE_OK || archive_read_support_format_tar (a) != ARCHIVE_OK
            || archive_read_open_fd (a, fd, 1 << 16) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, a, "open `%s`", what);
        while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
                if (scan_entry (a, e, what, s, err) < 0)
                        return -1;
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, a, "read `%s`", what);
        return 0;
}
