/* source.c - the manifest and blobs of an image tarball or layout dir.
 *
 * A tarball is not unpacked: its headers are walked once to find where
 * each blob's bytes are, and uploads read them in place with pread, so
 * several threads can share the one descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/internal.h"

struct tar_entry {
        char *name;
        uint64_t offset;
        uint64_t size;
};

struct tar_index {
        struct tar_entry *v;
        size_t n, alloc;
};

static void
tar_index_free (struct tar_index *t)
{
        for (size_t i = 0; i < t->n; i++)
                free (t->v[i].name);
        free (t->v);
}

static inline void
cleanup_tar_indexp (struct tar_index *t)
{
        tar_index_free (t);
}
#define cleanup_tar_index __attribute__ ((cleanup (cleanup_tar_indexp)))

static int
read_at (int fd, void *dst, size_t len, uint64_t off)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread (fd, (char *) dst + done, len - done, (off_t) (off + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        errno = n < 0 ? errno : EPIPE;
                        return -1;
                }
                done += (size_t) n;
        }
        return 0;
}

/* An octal field, or GNU base-256 when the high bit is set. */
static int
tar_number (const unsigned char *f, size_t len, uint64_t *out)
{
        uint64_t v = 0;
        size_t i = 0;

        if (f[0] & 0x80) {
                for (i = 1; i < len; i++) {
                        if (v >> 55)
                                return -1;
                        v = (v << 8) | f[i];
                }
                *out = v;
                return 0;
        }
        while (i < len && (f[i] == ' ' || f[i] == '\0'))
                i++;
        for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 60)
                        return -1;
                v = v * 8 + (uint64_t) (f[i] - '0');
        }
        *out = v;
        return 0;
}

/* The "path" record of a pax extended header, malloc'ed, or NULL. */
static char *
pax_path (const char *data, size_t len)
{
        size_t i = 0;

        while (i < len) {
                char *end;
                unsigned long n = strtoul (data + i, &end, 10);
                const char *kv = end + 1;
                if (n == 0 || i + n > len || *end != ' ')
                        return NULL;
                if ((size_t) (data + i + n - kv) > 5 && strncmp (kv, "path=", 5) == 0)
                        return strndup (kv + 5, (size_t) (data + i + n - kv - 6));
                i += n;
        }
        return NULL;
}

static int
tar_add (struct tar_index *t, char *name, uint64_t offset, uint64_t size)
{
        if (t->n == t->alloc) {
                size_t na = t->alloc ? t->alloc * 2 : 64;
                struct tar_entry *nv = realloc (t->v, na * sizeof (*nv));
                if (nv == NULL)
                        return -1;
                t->v = nv;
                t->alloc = na;
        }
        while (strncmp (name, "./", 2) == 0)
                memmove (name, name + 2, strlen (name + 2) + 1);
        t->v[t->n++] = (struct tar_entry) { name, offset, size };
        return 0;
}

/* Only what an OCI layout holds is read in: the long-name records of
 * pax ('x') and GNU ('L') headers, and regular files. */
static int
tar_scan (int fd, const char *path, struct tar_index *t, pgimg_error_t *err)
{
        unsigned char h[512];
        cleanup_free char *long_name = NULL;
        uint64_t off = 0;

        for (;;) {
                uint64_t size;
                char type;
                if (read_at (fd, h, sizeof (h), off) < 0)
                        return pgimg_make_error (err, EINVAL, "%s: not a tarball, or cut short", path);
                if (h[0] == '\0')
                        return 0;
                if (tar_number (h + 124, 12, &size) < 0)
                        return pgimg_make_error (err, EINVAL, "%s: a tar header with a bad size", path);
                type = (char) h[156];
                off += 512;
                if (type == 'x' || type == 'L') {
                        cleanup_free char *data = NULL;
                        if (size > 65536 || (data = malloc (size + 1)) == NULL || read_at (fd, data, size, off) < 0)
                                return pgimg_make_error (err, EINVAL, "%s: a bad long-name header", path);
                        data[size] = '\0';
                        free (long_name);
                        long_name = type == 'L' ? strdup (data) : pax_path (data, size);
                } else if (type == '0' || type == '\0') {
                        char *name;
                        if (long_name != NULL) {
                                name = steal_pointer (&long_name);
                        } else if (h[345] != '\0') {
                                if (asprintf (&name, "%.155s/%.100s", (char *) h + 345, (char *) h) < 0)
                                        name = NULL;
                        } else {
                                name = strndup ((char *) h, 100);
                        }
                        if (name == NULL || tar_add (t, name, off, size) < 0) {
                                free (name);
                                return pgimg_make_error (err, ENOMEM, "%s: out of memory", path);
                        }
                } else {
                        free (long_name);
                        long_name = NULL;
                }
                off += (size + 511) / 512 * 512;
        }
}

static const struct tar_entry *
tar_find (const struct tar_index *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp (t->v[i].name, name) == 0)
                        return &t->v[i];
        return NULL;
}

/* Where a file of the layout is: a range of the tarball, or its own
 * file in a directory (opened, *fd owned by the caller). */
static int
locate (const char *path, const struct tar_index *t, int tar_fd, const char *name, int *fd,
        uint64_t *off, uint64_t *size, pgimg_error_t *err)
{
        if (tar_fd >= 0) {
                const struct tar_entry *e = tar_find (t, name);
                if (e == NULL)
                        return pgimg_make_error (err, ENOENT, "%s: no %s in the tarball (not an OCI layout?)",
                                                 path, name);
                *fd = tar_fd;
                *off = e->offset;
                *size = e->size;
        } else {
                cleanup_free char *p = NULL;
                struct stat st;
                if (asprintf (&p, "%s/%s", path, name) < 0)
                        return pgimg_make_error (err, ENOMEM, "%s: out of memory", path);
                *fd = open (p, O_RDONLY | O_CLOEXEC);
                if (*fd < 0 || fstat (*fd, &st) < 0)
                        return pgimg_make_error_errno (err, errno, "%s: %s", path, name);
                *off = 0;
                *size = (uint64_t) st.st_size;
        }
        return 0;
}

static int
read_member (const char *path, const struct tar_index *t, int tar_fd, const char *name, size_t max,
             struct buf *out, pgimg_error_t *err)
{
        int fd = -1;
        uint64_t off, size;
        int r;

        if (locate (path, t, tar_fd, name, &fd, &off, &size, err) < 0)
                return -1;
        if (size > max) {
                r = pgimg_make_error (err, EFBIG, "%s: %s is larger than %zu bytes", path, name, max);
        } else {
                char *data = malloc (size + 1);
                r = data == NULL || read_at (fd, data, size, off) < 0
                            ? pgimg_make_error_errno (err, data ? errno : ENOMEM, "%s: reading %s", path, name)
                            : buf_add (out, data, size);
                free (data);
        }
        if (fd != tar_fd)
                close (fd);
        return r;
}

static void
blob_name (const char *digest, char name[128])
{
        snprintf (name, 128, "blobs/sha256/%s", digest + 7);
}

/* The manifest the layout's index.json points at (through one nested
 * index, as `docker save` writes). */
static int
find_manifest (const char *path, const struct tar_index *t, int tar_fd, struct reg_image *img,
               pgimg_error_t *err)
{
        cleanup_buf struct buf index = BUF_INIT;
        cleanup_buf struct buf m = BUF_INIT;
        struct reg_desc d = { 0 };
        char name[128], hex[SHA256_HEX_LEN + 1];

        if (read_member (path, t, tar_fd, "index.json", REG_MAX_REPLY_BYTES, &index, err) < 0)
                return -1;
        for (int depth = 0;; depth++) {
                int r = reg_index_pick (index.data, index.len, &d, err);
                if (r < 0)
                        return pgimg_error_wrap (err, "%s", path);
                blob_name (d.digest, name);
                buf_reset (&m);
                if (read_member (path, t, tar_fd, name, REG_MAX_MANIFEST_BYTES, &m, err) < 0
                    || sha256_buf_hex (m.data, m.len, hex, err) < 0) {
                        reg_desc_free (&d);
                        return -1;
                }
                if (strcmp (hex, d.digest + 7) != 0) {
                        pgimg_make_error (err, EINVAL, "%s: the manifest %s does not match its digest (got sha256:%s)",
                                          path, d.digest, hex);
                        reg_desc_free (&d);
                        return -1;
                }
                if (!reg_media_is_index (d.media_type) || depth > 0)
                        break;
                reg_desc_free (&d);
                buf_reset (&index);
                if (buf_add (&index, m.data, m.len) < 0)
                        return pgimg_make_error (err, ENOMEM, "%s: out of memory", path);
        }
        strcpy (img->manifest_digest, d.digest);
        img->manifest_media_type = d.media_type ? d.media_type : reg_json_media_type (m.data, m.len);
        if (img->manifest_media_type == NULL)
                img->manifest_media_type = strdup (REG_MEDIA_OCI_MANIFEST);
        img->manifest_len = m.len;
        img->manifest = buf_detach (&m, NULL);
        if (img->manifest == NULL || img->manifest_media_type == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", path);
        return 0;
}

static int
locate_blobs (const char *path, const struct tar_index *t, int tar_fd, struct reg_image *img,
              pgimg_error_t *err)
{
        struct reg_manifest m;

        if (reg_manifest_parse (img->manifest, img->manifest_len, &m, err) < 0)
                return pgimg_error_wrap (err, "%s", path);
        img->blobs = calloc (m.n_layers + 1, sizeof (*img->blobs));
        if (img->blobs == NULL) {
                reg_manifest_free (&m);
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", path);
        }
        for (size_t i = 0; i <= m.n_layers; i++) {
                const struct reg_desc *d = i == 0 ? &m.config : &m.layers[i - 1];
                struct reg_blob *b = &img->blobs[i];
                char name[128];
                uint64_t size;
                b->fd = -1;
                blob_name (d->digest, name);
                img->n_blobs = i + 1;
                if (locate (path, t, tar_fd, name, &b->fd, &b->offset, &size, err) < 0) {
                        reg_manifest_free (&m);
                        return -1;
                }
                b->owns_fd = b->fd != tar_fd;
                strcpy (b->digest, d->digest);
                b->size = d->size;
                if (size != d->size) {
                        pgimg_make_error (err, EINVAL, "%s: blob %s has %llu bytes, its descriptor says %llu",
                                          path, d->digest, (unsigned long long) size,
                                          (unsigned long long) d->size);
                        reg_manifest_free (&m);
                        return -1;
                }
        }
        reg_manifest_free (&m);
        return 0;
}

int
reg_image_open (const char *path, struct reg_image *img, pgimg_error_t *err)
{
        cleanup_tar_index struct tar_index t = { 0 };
        struct stat st;

        memset (img, 0, sizeof (*img));
        img->tar_fd = -1;
        if (stat (path, &st) < 0)
                return pgimg_make_error_errno (err, errno, "image `%s`", path);
        if (!S_ISDIR (st.st_mode)) {
                img->tar_fd = open (path, O_RDONLY | O_CLOEXEC);
                if (img->tar_fd < 0)
                        return pgimg_make_error_errno (err, errno, "image `%s`", path);
                if (tar_scan (img->tar_fd, path, &t, err) < 0) {
                        reg_image_close (img);
                        return -1;
                }
        }
        if (find_manifest (path, &t, img->tar_fd, img, err) < 0
            || locate_blobs (path, &t, img->tar_fd, img, err) < 0) {
                reg_image_close (img);
                return -1;
        }
        return 0;
}

void
reg_image_close (struct reg_image *img)
{
        for (size_t i = 0; i < img->n_blobs; i++)
                if (img->blobs[i].owns_fd && img->blobs[i].fd >= 0)
                        close (img->blobs[i].fd);
        free (img->blobs);
        if (img->tar_fd >= 0)
                close (img->tar_fd);
        free (img->manifest);
        free (img->manifest_media_type);
        memset (img, 0, sizeof (*img));
        img->tar_fd = -1;
}
