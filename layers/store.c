/* store.c - the content-addressed blob store (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "layers/store.h"

#define CHUNK_BYTES (1 << 16)

const char *
store_digest_hex (const char *digest)
{
        if (digest == NULL || strncmp (digest, "sha256:", 7) != 0 || !sha256_hex_valid (digest + 7))
                return NULL;
        return digest + 7;
}

int
store_digest_check (const char *digest, const char *what, const char **hex, pgimg_error_t *err)
{
        *hex = store_digest_hex (digest);
        if (*hex == NULL)
                return pgimg_make_error (err, EINVAL, "%s: `%.80s` is not a sha256 digest", what,
                                         digest ? digest : "(none)");
        return 0;
}

int
store_dir (const char *cache_dir, char **out, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;

        if (asprintf (&dir, "%s/blobs/sha256", cache_dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "cache `%s`", cache_dir);
        if (fs_mkdir_p (dir, 0755, err) < 0 || store_sweep (dir, err) < 0)
                return -1;
        *out = steal_pointer (&dir);
        return 0;
}

int
store_path (const char *dir, const char *digest, char **out, pgimg_error_t *err)
{
        const char *hex;

        if (store_digest_check (digest, "blob", &hex, err) < 0)
                return -1;
        if (asprintf (out, "%s/%s", dir, hex) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "blob %s", digest);
        return 0;
}

struct hash_count {
        struct sha256 *h;
        uint64_t total;
};

static int
hash_count_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct hash_count *c = ctx;

        if (sha256_update (c->h, data, len, err) < 0)
                return -1;
        c->total += (uint64_t) len;
        return 0;
}

int
store_hash_fd (int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *size_out, pgimg_error_t *err)
{
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        cleanup_free char *chunk = malloc (CHUNK_BYTES);
        struct hash_count c = { &h, 0 };

        if (chunk == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "hash a blob");
        if (sha256_init (&h, err) < 0)
                return -1;
        if (fs_read_chunks (fd, chunk, CHUNK_BYTES, hash_count_chunk, &c, err, "read a blob") < 0)
                return -1;
        *size_out = c.total;
        return sha256_final_hex (&h, hex, err);
}

/* ---- writing ---- */

int
store_writer_open (struct store_writer *w, const char *dir, const char *digest, uint64_t size,
                   pgimg_error_t *err)
{
        cleanup_free char *placeholder = NULL;
        const char *hex;

        w->want[0] = '\0';
        w->want_size = size;
        w->written = 0;
        if (digest != NULL) {
                if (store_digest_check (digest, "blob", &hex, err) < 0)
                        return -1;
                snprintf (w->want, sizeof (w->want), "sha256:%s", hex);
        }
        if ((w->dir = strdup (dir)) == NULL || asprintf (&placeholder, "%s/blob", dir) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "store a blob in `%s`", dir);
        if (fs_atomic_open (&w->file, placeholder, 0644, err) < 0)
                return -1;
        return sha256_init (&w->hash, err);
}

int
store_writer_write (struct store_writer *w, const void *data, size_t len, pgimg_error_t *err)
{
        const char *what = w->want[0] ? w->want : "";

        if (w->want_size != STORE_SIZE_ANY && len > w->want_size - w->written)
                return pgimg_make_error (err, EIO, "blob %s: got more than the %llu bytes the manifest says; refused, nothing was stored",
                                         what, (unsigned long long) w->want_size);
        if (sha256_update (&w->hash, data, len, err) < 0)
                return -1;
        if (fs_write_all (w->file.fd, data, len) < 0) {
                if (fs_is_disk_full (errno))
                        return fs_write_error (err, errno, w->dir);
                return pgimg_make_error_errno (err, errno, "write `%s`", w->file.tmp_path);
        }
        w->written += len;
        return 0;
}

int
store_writer_commit (struct store_writer *w, char digest_out[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        char hex[SHA256_HEX_LEN + 1];
        const char *what = w->want[0] ? w->want : "";

        if (w->want_size != STORE_SIZE_ANY && w->written != w->want_size)
                return pgimg_make_error (err, EIO, "blob %s: got %llu bytes, the manifest says %llu; refused, nothing was stored",
                                         what, (unsigned long long) w->written, (unsigned long long) w->want_size);
        if (sha256_final_hex (&w->hash, hex, err) < 0)
                return -1;
        if (w->want[0] && strcmp (hex, w->want + 7) != 0)
                return pgimg_make_error (err, EIO, "blob %s arrived with digest sha256:%s; refused, nothing was stored", what, hex);
        if (asprintf (&path, "%s/%s", w->dir, hex) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "store %s", what);
        if (fs_atomic_commit (&w->file, path, err) < 0)
                return -1;
        if (digest_out != NULL)
                snprintf (digest_out, LAYER_DIGEST_LEN, "sha256:%s", hex);
        return 0;
}

void
store_writer_abort (struct store_writer *w)
{
        fs_atomic_abort (&w->file);
        sha256_free (&w->hash);
        free (w->dir);
        w->dir = NULL;
}

int
store_put_buf (const char *dir, const char *digest, const void *data, size_t len,
               char digest_out[LAYER_DIGEST_LEN], pgimg_error_t *err)
{
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;

        if (store_writer_open (&w, dir, digest, len, err) < 0
            || store_writer_write (&w, data, len, err) < 0)
                return -1;
        return store_writer_commit (&w, digest_out, err);
}

int
store_check_fd (int fd, const char *digest, uint64_t size, pgimg_error_t *err)
{
        char hex[SHA256_HEX_LEN + 1];
        const char *want;
        uint64_t got;

        if (store_digest_check (digest, "blob", &want, err) < 0 || store_hash_fd (fd, hex, &got, err) < 0)
                return -1;
        if (size != STORE_SIZE_ANY && got != size)
                return pgimg_make_error (err, EIO, "blob %s: got %llu bytes, the manifest says %llu; refused, nothing was stored",
                                         digest, (unsigned long long) got, (unsigned long long) size);
        if (strcmp (hex, want) != 0)
                return pgimg_make_error (err, EIO, "blob %s arrived with digest sha256:%s; refused, nothing was stored",
                                         digest, hex);
        return 0;
}

int
store_writer_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        return store_writer_write (ctx, data, len, err);
}

int
store_put_fd (const char *dir, const char *digest, uint64_t size, int fd, pgimg_error_t *err)
{
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;
        cleanup_free char *chunk = NULL;
        int r;

        /* Already stored: what fd holds must still be that blob. */
        if (digest != NULL && (r = store_has (dir, digest, size, err)) != 0)
                return r < 0 ? -1 : store_check_fd (fd, digest, size, err);
        if ((chunk = malloc (CHUNK_BYTES)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "store a blob");
        if (store_writer_open (&w, dir, digest, size, err) < 0)
                return -1;
        if (fs_read_chunks (fd, chunk, CHUNK_BYTES, store_writer_chunk, &w, err, "read %s", digest ? digest : "a blob") < 0)
                return -1;
        return store_writer_commit (&w, NULL, err);
}

/* ---- reading ---- */

/* Open <dir>/<hex> and check it: 0 with *fd, or <0 with errno-like
 * status ENOENT (missing), EIO (corrupt: removed). */
static int
open_checked (const char *dir, const char *digest, uint64_t size, int *fd_out, pgimg_error_t *err)
{
        cleanup_fd int dfd = -1;
        cleanup_fd int fd = -1;
        char hex[SHA256_HEX_LEN + 1];
        const char *want;
        const char *why = NULL;
        uint64_t got_size;
        struct stat st;

        if (store_digest_check (digest, "blob", &want, err) < 0)
                return -1;
        dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return pgimg_make_error_errno (err, errno, "blob %s: open the store `%s`", digest, dir);
        fd = openat (dfd, want, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return pgimg_make_error (err, ENOENT, "blob %s is not in `%s`", digest, dir);
        if (fd < 0 && errno != ELOOP)
                return pgimg_make_error_errno (err, errno, "blob %s: open `%s/%s`", digest, dir, want);
        if (fd < 0)
                why = "a symbolic link";
        else if (fstat (fd, &st) < 0)
                return pgimg_make_error_errno (err, errno, "blob %s: stat `%s/%s`", digest, dir, want);
        else if (!S_ISREG (st.st_mode))
                why = "not a regular file";
        else if (size != STORE_SIZE_ANY && (uint64_t) st.st_size != size)
                why = "of another size than its descriptor gives";
        else if (store_hash_fd (fd, hex, &got_size, err) < 0)
                return pgimg_error_wrap (err, "blob %s in `%s`", digest, dir);
        else if (strcmp (hex, want) != 0)
                why = "corrupt (its content has another digest)";
        if (why != NULL) {
                if (unlinkat (dfd, want, 0) < 0 && errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "blob %s in `%s` is %s: remove `%s/%s`",
                                                       digest, dir, why, dir, want);
                return pgimg_make_error (err, EIO, "blob %s in `%s` was %s and is removed; pull or build the image again",
                                         digest, dir, why);
        }
        if (lseek (fd, 0, SEEK_SET) < 0)
                return pgimg_make_error_errno (err, errno, "blob %s", digest);
        /* O_NONBLOCK only kept a FIFO from blocking the open. */
        if (fcntl (fd, F_SETFL, 0) < 0)
                return pgimg_make_error_errno (err, errno, "blob %s", digest);
        *fd_out = steal_fd (&fd);
        return 0;
}

int
store_open (const char *dir, const char *digest, uint64_t size, int *fd, pgimg_error_t *err)
{
        return open_checked (dir, digest, size, fd, err);
}

int
store_has (const char *dir, const char *digest, uint64_t size, pgimg_error_t *err)
{
        int fd = -1;

        if (open_checked (dir, digest, size, &fd, err) < 0) {
                if ((*err)->status != ENOENT && (*err)->status != EIO)
                        return -1;
                pgimg_error_free (err);
                return 0;
        }
        close (fd);
        return 1;
}

struct blob_read {
        const char *digest;
        size_t total, max_bytes;
        struct buf *out;
};

static int
blob_read_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct blob_read *r = ctx;

        r->total += len;
        if (r->total > r->max_bytes)
                return pgimg_make_error (err, EFBIG, "blob %s is larger than %zu bytes", r->digest, r->max_bytes);
        if (buf_add (r->out, data, len) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "blob %s", r->digest);
        return 0;
}

int
store_read (const char *dir, const char *digest, size_t max_bytes, struct buf *out, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        cleanup_free char *chunk = NULL;
        struct blob_read r = { digest, 0, max_bytes, out };

        if (open_checked (dir, digest, STORE_SIZE_ANY, &fd, err) < 0)
                return -1;
        if ((chunk = malloc (CHUNK_BYTES)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "blob %s", digest);
        return fs_read_chunks (fd, chunk, CHUNK_BYTES, blob_read_chunk, &r, err, "read blob %s", digest);
}

int
store_sweep (const char *dir, pgimg_error_t *err)
{
        return fs_sweep_temps (dir, err);
}
