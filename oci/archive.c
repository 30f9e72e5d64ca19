#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libarchive.h"
#include "oci/internal.h"

/* A failed write names the output; on a full disk it says so and what
 * to do (libarchive only says "Write failed"). */
static int
write_error (pgimg_error_t *err, struct archive *a, const char *out_path)
{
        if (fs_is_disk_full (archive_errno (a)))
                return fs_write_error (err, archive_errno (a), out_path);
        return pgimg_error_from_archive (err, a, "write `%s`", out_path);
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
                return write_error (err, s->a, s->out_path);
        return 0;
}

/* Every header is the same function of the entry: owner root, mode 0755
 * for directories and 0644 for files, one fixed mtime and no other
 * times, no user or group names. */
static int
write_entry (struct tar_sink *s, const struct oci_entry *e, time_t mtime, pgimg_error_t *err)
{
        cleanup_archive_entry struct archive_entry *h = archive_entry_new ();

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
                return write_error (err, s->a, s->out_path);
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
                return write_error (err, a, out_path);
        for (size_t i = 0; i < l->n; i++)
                if (write_entry (&sink, &l->v[i], mtime, err) < 0)
                        return -1;
        if (archive_write_close (a) != ARCHIVE_OK)
                return write_error (err, a, out_path);
        return fs_atomic_commit (&f, out_path, err);
}

/* ---- reading ---- */

void
oci_import_free (struct oci_import *imp)
{
        free (imp->v);
        buf_release (&imp->index);
        imp->v = NULL;
        imp->n = imp->alloc = 0;
}

static int
import_add (struct oci_import *imp, const char *hex, uint64_t size)
{
        if (imp->n == imp->alloc) {
                size_t alloc = imp->alloc ? imp->alloc * 2 : 16;
                struct oci_found *v = realloc (imp->v, alloc * sizeof (*v));
                if (v == NULL)
                        return -1;
                imp->v = v;
                imp->alloc = alloc;
        }
        memcpy (imp->v[imp->n].hex, hex, SHA256_HEX_LEN + 1);
        imp->v[imp->n].size = size;
        imp->n++;
        return 0;
}

/* The entry's name without leading "./", and what it is to the reader:
 * 1 a blob (*hex set), 2 index.json, 0 something else. */
static int
entry_role (const char *name, const char **hex)
{
        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (strcmp (name, "index.json") == 0)
                return 2;
        if (strncmp (name, "blobs/sha256/", 13) == 0 && sha256_hex_valid (name + 13)) {
                *hex = name + 13;
                return 1;
        }
        return 0;
}

static const char *
entry_kind (struct archive_entry *e)
{
        if (archive_entry_hardlink (e) != NULL)
                return "a hard link";
        switch (archive_entry_filetype (e)) {
        case AE_IFREG:
                return NULL;
        case AE_IFLNK:
                return "a symbolic link";
        case AE_IFDIR:
                return "a directory";
        default:
                return "a special file";
        }
}

/* Hand the data of the current entry to fn, chunk by chunk; fn's
 * positive value stops early. */
static int
read_entry (struct archive *a, const char *path, char *chunk, size_t chunk_len, fs_chunk_fn fn, void *ctx,
            pgimg_error_t *err)
{
        for (;;) {
                la_ssize_t n = archive_read_data (a, chunk, chunk_len);
                int r;
                if (n < 0)
                        return pgimg_error_from_archive (err, a, "read `%s`", path);
                if (n == 0)
                        return 0;
                if ((r = fn (ctx, chunk, (size_t) n, err)) != 0)
                        return r;
        }
}

struct counted_hash {
        struct sha256 *h;
        uint64_t total;
};

static int
count_and_hash (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct counted_hash *c = ctx;

        c->total += len;
        return sha256_update (c->h, data, len, err);
}

/* Hash the data of the current entry: it must be digest, of size bytes. */
static int
check_entry (struct archive *a, const char *path, const char *digest, uint64_t size, char *chunk,
             size_t chunk_len, pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        struct counted_hash c = { &h, 0 };
        char got[SHA256_HEX_LEN + 1];

        if (sha256_init (&h, err) < 0 || read_entry (a, path, chunk, chunk_len, count_and_hash, &c, err) < 0
            || sha256_final_hex (&h, got, err) < 0)
                return -1;
        if (size != STORE_SIZE_ANY && c.total != size)
                return pgimg_make_error (err, EIO, "blob %s: got %llu bytes, the manifest says %llu; refused, nothing was stored",
                                         digest, (unsigned long long) c.total, (unsigned long long) size);
        if (strcmp (got, store_digest_hex (digest)) != 0)
                return pgimg_make_error (err, EIO, "blob %s arrived with digest sha256:%s; refused, nothing was stored",
                                         digest, got);
        return 0;
}

static int
import_blob (struct archive *a, struct archive_entry *e, const char *path, const char *blob_dir,
             const char *hex, char *chunk, size_t chunk_len, struct oci_import *imp, pgimg_error_t *err)
{
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;
        char digest[LAYER_DIGEST_LEN];
        uint64_t size = archive_entry_size_is_set (e) ? (uint64_t) archive_entry_size (e) : STORE_SIZE_ANY;
        int r;

        snprintf (digest, sizeof (digest), "sha256:%s", hex);
        /* Already stored intact (a layer shared with the cache): keep it,
         * but the tarball's bytes must still be that blob. */
        if ((r = store_has (blob_dir, digest, size, err)) < 0)
                return -1;
        if (r == 1 && check_entry (a, path, digest, size, chunk, chunk_len, err) < 0)
                return -1;
        if (r == 0) {
                if (store_writer_open (&w, blob_dir, digest, size, err) < 0
                    || read_entry (a, path, chunk, chunk_len, store_writer_chunk, &w, err) < 0
                    || store_writer_commit (&w, NULL, err) < 0)
                        return -1;
                size = w.written;
        }
        if (import_add (imp, hex, size) < 0)
                return pgimg_make_error (err, ENOMEM, "read `%s`: out of memory", path);
        return 0;
}

static int
import_json (struct archive *a, const char *path, size_t max, struct buf *out, pgimg_error_t *err)
{
        char chunk[4096];

        buf_reset (out);
        for (;;) {
                la_ssize_t n = archive_read_data (a, chunk, sizeof (chunk));
                if (n < 0)
                        return pgimg_error_from_archive (err, a, "read `%s`", path);
                if (n == 0)
                        return 0;
                if (out->len + (size_t) n > max)
                        return pgimg_make_error (err, EFBIG, "image `%s`: index.json is larger than %zu bytes", path,
                                                 max);
                if (buf_add (out, chunk, (size_t) n) < 0)
                        return pgimg_make_error (err, ENOMEM, "read `%s`: out of memory", path);
        }
}

int
oci_archive_import (const char *path, const char *blob_dir, size_t max_json, struct oci_import *imp,
                    pgimg_error_t *err)
{
        cleanup_archive struct archive *a = archive_read_new ();
        cleanup_free char *chunk = malloc (1 << 16);
        struct archive_entry *e;

        if (a == NULL || chunk == NULL)
                return pgimg_make_error (err, ENOMEM, "read `%s`: out of memory", path);
        if (archive_read_support_filter_all (a) != ARCHIVE_OK
            || archive_read_support_format_tar (a) != ARCHIVE_OK
            || archive_read_open_filename (a, path, 1 << 16) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, a, "read the image `%s`", path);
        for (;;) {
                const char *hex = NULL, *kind;
                int r = archive_read_next_header (a, &e), role;
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return pgimg_error_from_archive (err, a, "read the image `%s`", path);
                role = archive_entry_pathname (e) ? entry_role (archive_entry_pathname (e), &hex) : 0;
                if (role == 0)
                        continue;
                if ((kind = entry_kind (e)) != NULL)
                        return pgimg_make_error (err, EINVAL, "image `%s`: %s%s is %s, not a file; refused (an image holds its blobs itself)",
                                                 path, role == 1 ? "blobs/sha256/" : "index.json", role == 1 ? hex : "",
                                                 kind);
                if (role == 1 && import_blob (a, e, path, blob_dir, hex, chunk, 1 << 16, imp, err) < 0)
                        return pgimg_error_wrap (err, "image `%s`", path);
                if (role == 2 && import_json (a, path, max_json, &imp->index, err) < 0)
                        return -1;
        }
}
