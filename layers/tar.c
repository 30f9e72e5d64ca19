/* tar.c - write a tree as a deterministic tar, and unpack a layer.
 *
 * Nothing of the machine that built a tree may leak into its tar, or
 * two builds of the same inputs would differ: readdir order, mtimes,
 * owners, the umask behind a file's mode, inode numbers.  So entries are
 * sorted, times and owners set from opts, modes normalized, and hard
 * links named after the first path in sorted order.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/libarchive.h"
#include "common/sha256.h"
#include "layers/store.h"
#include "layers/tar.h"

#define READ_CHUNK_BYTES (256 * 1024)

/* Hard links: (dev, ino) -> the first path seen, in an open-addressing
 * table (a tree has few of them, but a lookup happens for each). */
struct link_slot {
        dev_t dev;
        ino_t ino;
        char *path;             /* NULL: empty slot */
};

struct link_table {
        struct link_slot *v;
        size_t n;
        size_t cap;             /* a power of two */
};

static size_t
link_hash (dev_t dev, ino_t ino, size_t cap)
{
        uint64_t h = ((uint64_t) ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t) dev;
        return (size_t) (h ^ (h >> 29)) & (cap - 1);
}

static struct link_slot *
link_find (struct link_table *t, dev_t dev, ino_t ino)
{
        size_t i = link_hash (dev, ino, t->cap);

        while (t->v[i].path && (t->v[i].dev != dev || t->v[i].ino != ino))
                i = (i + 1) & (t->cap - 1);
        return &t->v[i];
}

/* The path first recorded for (dev, ino); else record path and return NULL. */
static int
link_first (struct link_table *t, dev_t dev, ino_t ino, const char *path, const char **first)
{
        struct link_slot *s;

        *first = NULL;
        if (2 * (t->n + 1) > t->cap) {
                struct link_table bigger = { NULL, t->n, t->cap ? 2 * t->cap : 64 };
                bigger.v = calloc (bigger.cap, sizeof (*bigger.v));
                if (bigger.v == NULL)
                        return -1;
                for (size_t i = 0; i < t->cap; i++)
                        if (t->v[i].path)
                                *link_find (&bigger, t->v[i].dev, t->v[i].ino) = t->v[i];
                free (t->v);
                *t = bigger;
        }
        s = link_find (t, dev, ino);
        if (s->path) {
                *first = s->path;
                return 0;
        }
        s->path = strdup (path);
        if (s->path == NULL)
                return -1;
        s->dev = dev;
        s->ino = ino;
        t->n++;
        return 0;
}

static void
link_table_free (struct link_table *t)
{
        for (size_t i = 0; i < t->cap; i++)
                free (t->v[i].path);
        free (t->v);
}

struct tar_writer {
        struct archive *a;
        struct archive_entry *entry;
        const struct layer_opts *opts;
        const char *root;
        struct compress_stream *out;
        pgimg_error_t stream_err;       /* what the write callback hit */
        struct buf path;                /* relative path of the current entry */
        struct link_table links;
        unsigned char *chunk;
        int discard;                    /* failed: drop what is written */
};

static la_ssize_t
write_cb (struct archive *a, void *client, const void *data, size_t len)
{
        struct tar_writer *w = client;

        if (w->discard)
                return (la_ssize_t) len;
        if (compress_stream_write (w->out, data, len, &w->stream_err) < 0) {
                archive_set_error (a, EIO, "%s", w->stream_err->msg);
                return -1;
        }
        return (la_ssize_t) len;
}

/* A libarchive failure while writing: when it came from our stream,
 * report the stream's own error. */
static int
write_error (struct tar_writer *w, pgimg_error_t *err)
{
        if (w->stream_err) {
                pgimg_error_free (err);
                *err = w->stream_err;
                w->stream_err = NULL;
                return -(*err)->status - 1;
        }
        return pgimg_error_from_archive (err, w->a, "`%s/%s`", w->root, w->path.data);
}

static void
path_truncate (struct buf *b, size_t len)
{
        b->len = len;
        if (b->data)
                b->data[len] = '\0';
}

static int
matches (const char *const *patterns, const char *rel)
{
        for (const char *const *p = patterns; p && *p; p++)
                if (fnmatch (*p, rel, FNM_PATHNAME) == 0)
                        return 1;
        return 0;
}

static int
excluded (const struct layer_opts *opts, const char *rel)
{
        return matches (opts->exclude, rel) && !matches (opts->keep, rel);
}

static mode_t
normalized_perm (mode_t mode)
{
        if (S_ISLNK (mode))
                return 0777;
        if (S_ISDIR (mode) || (mode & 0111))
                return 0755;
        return 0644;
}

struct dir_item {
        char *name;
        struct stat st;
};

/* Bytewise order of the full paths as they appear in the tar, where a
 * directory carries a trailing "/": compare a directory as "name/".
 * Sorting every level this way makes the depth-first walk emit the whole
 * list in that order ("a-b" < "a/" < "a/x"). */
static int
cmp_items (const void *x, const void *y)
{
        const struct dir_item *a = x, *b = y;
        const unsigned char *p = (const unsigned char *) a->name;
        const unsigned char *q = (const unsigned char *) b->name;

        while (*p && *p == *q)
                p++, q++;
        int c1 = *p ? *p : S_ISDIR (a->st.st_mode) ? '/' : 0;
        int c2 = *q ? *q : S_ISDIR (b->st.st_mode) ? '/' : 0;
        return c1 - c2;
}

static void
free_items (struct dir_item *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free (v[i].name);
        free (v);
}

/* The entries of directory d (sockets, fifos and devices left out),
 * sorted.  The caller frees them with free_items. */
static int
read_dir (struct tar_writer *w, DIR *d, struct dir_item **out, size_t *out_n,
          pgimg_error_t *err)
{
        struct dir_item *v = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;

        for (;;) {
                errno = 0;
                de = readdir (d);
                if (de == NULL)
                        break;
                if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
                        continue;
                if (n == alloc) {
                        alloc = alloc ? 2 * alloc : 32;
                        struct dir_item *bigger = realloc (v, alloc * sizeof (*v));
                        if (bigger == NULL)
                                goto nomem;
                        v = bigger;
                }
                if (fstatat (dirfd (d), de->d_name, &v[n].st, AT_SYMLINK_NOFOLLOW) < 0) {
                        int e = errno;
                        free_items (v, n);
                        return pgimg_make_error_errno (err, e, "stat `%s/%s%s`", w->root,
                                                       w->path.data, de->d_name);
                }
                if (!S_ISREG (v[n].st.st_mode) && !S_ISDIR (v[n].st.st_mode)
                    && !S_ISLNK (v[n].st.st_mode))
                        continue;
                v[n].name = strdup (de->d_name);
                if (v[n].name == NULL)
                        goto nomem;
                n++;
        }
        if (errno != 0) {
                int e = errno;
                free_items (v, n);
                return pgimg_make_error_errno (err, e, "read the directory `%s/%s`", w->root,
                                               w->path.data);
        }
        if (n > 1)
                qsort (v, n, sizeof (*v), cmp_items);
        *out = v;
        *out_n = n;
        return 0;
nomem:
        free_items (v, n);
        return pgimg_make_error_errno (err, ENOMEM, "read the directory `%s/%s`", w->root,
                                       w->path.data);
}

static int
write_file_data (struct tar_writer *w, int dir_fd, const struct dir_item *it, pgimg_error_t *err)
{
        cleanup_fd int fd = openat (dir_fd, it->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        off_t left = it->st.st_size;

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s/%s`", w->root, w->path.data);
        while (left > 0) {
                size_t want = left < READ_CHUNK_BYTES ? (size_t) left : READ_CHUNK_BYTES;
                ssize_t n = read (fd, w->chunk, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return pgimg_make_error_errno (err, errno, "read `%s/%s`", w->root,
                                                       w->path.data);
                if (n == 0)
                        return pgimg_make_error (err, EIO, "`%s/%s` shrank while being read",
                                                 w->root, w->path.data);
                if (archive_write_data (w->a, w->chunk, (size_t) n) != n)
                        return write_error (w, err);
                left -= n;
        }
        return 0;
}

/* Fill w->entry for the item at w->path (relative, no trailing "/").
 * Sets *data when the file's bytes follow the header. */
static int
fill_entry (struct tar_writer *w, int dir_fd, const struct dir_item *it, int *data,
            pgimg_error_t *err)
{
        struct archive_entry *e = w->entry;
        const struct owner_entry *o = owner_map_get (w->opts->owners, w->path.data);
        const char *first = NULL;

        *data = 0;
        archive_entry_clear (e);
        archive_entry_set_mtime (e, w->opts->mtime, 0);
        archive_entry_set_uid (e, o ? o->uid : 0);
        archive_entry_set_gid (e, o ? o->gid : 0);
        archive_entry_set_perm (e, o ? o->mode : normalized_perm (it->st.st_mode));
        if (S_ISDIR (it->st.st_mode)) {
                archive_entry_set_filetype (e, AE_IFDIR);
                if (buf_adds (&w->path, "/") < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", w->path.data);
                archive_entry_copy_pathname (e, w->path.data);
                path_truncate (&w->path, w->path.len - 1);
                return 0;
        }
        archive_entry_copy_pathname (e, w->path.data);
        if (S_ISLNK (it->st.st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat (dir_fd, it->name, target, sizeof (target));
                if (n < 0 || n == (ssize_t) sizeof (target))
                        return pgimg_make_error_errno (err, n < 0 ? errno : ENAMETOOLONG,
                                                       "readlink `%s/%s`", w->root, w->path.data);
                target[n] = '\0';
                archive_entry_set_filetype (e, AE_IFLNK);
                archive_entry_copy_symlink (e, target);
                return 0;
        }
        archive_entry_set_filetype (e, AE_IFREG);
        if (it->st.st_nlink > 1
            && link_first (&w->links, it->st.st_dev, it->st.st_ino, w->path.data, &first) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", w->path.data);
        if (first) {
                archive_entry_copy_hardlink (e, first);
                archive_entry_set_size (e, 0);
                return 0;
        }
        archive_entry_set_size (e, it->st.st_size);
        *data = it->st.st_size > 0;
        return 0;
}

static int walk_dir (struct tar_writer *w, int fd, pgimg_error_t *err);

static int
write_item (struct tar_writer *w, int dir_fd, const struct dir_item *it, pgimg_error_t *err)
{
        int data;

        if (fill_entry (w, dir_fd, it, &data, err) < 0)
                return -1;
        int r = archive_write_header (w->a, w->entry);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return write_error (w, err);
        if (data && write_file_data (w, dir_fd, it, err) < 0)
                return -1;
        if (archive_write_finish_entry (w->a) != ARCHIVE_OK)
                return write_error (w, err);
        if (S_ISDIR (it->st.st_mode)) {
                int fd = openat (dir_fd, it->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return pgimg_make_error_errno (err, errno, "open `%s/%s`", w->root,
                                                       w->path.data);
                if (buf_adds (&w->path, "/") < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", w->path.data);
                return walk_dir (w, fd, err);
        }
        return 0;
}

/* Write the entries below the directory fd (taken over), whose relative
 * path with a trailing "/" (or "" for the root) is in w->path. */
static int
walk_dir (struct tar_writer *w, int fd, pgimg_error_t *err)
{
        cleanup_dir DIR *d = fdopendir (fd);
        struct dir_item *items = NULL;
        size_t n = 0, prefix_len = w->path.len;
        int ret = 0;

        if (d == NULL) {
                int e = errno;
                close (fd);
                return pgimg_make_error_errno (err, e, "open the directory `%s/%s`", w->root,
                                               w->path.data);
        }
        if (read_dir (w, d, &items, &n, err) < 0)
                return -1;
        for (size_t i = 0; i < n && ret == 0; i++) {
                path_truncate (&w->path, prefix_len);
                if (buf_adds (&w->path, items[i].name) < 0) {
                        ret = pgimg_make_error_errno (err, ENOMEM, "`%s`", items[i].name);
                        break;
                }
                if (excluded (w->opts, w->path.data))
                        continue;
                ret = write_item (w, dirfd (d), &items[i], err);
        }
        path_truncate (&w->path, prefix_len);
        free_items (items, n);
        return ret;
}

/* libarchive turns a non-ASCII name into a pax "path" record by way of
 * the current locale, so the tar would depend on the caller's LANG.
 * This thread walks in C.UTF-8 whatever the process uses: UTF-8 names
 * are stored as such, and the rare name that is not UTF-8 goes in as raw
 * bytes (hdrcharset=BINARY, libarchive's warning ignored). */
struct utf8_scope {
        locale_t utf8;
        locale_t old;
};

static int
utf8_enter (struct utf8_scope *sc, const char *what, pgimg_error_t *err)
{
        sc->utf8 = newlocale (LC_ALL_MASK, "C.UTF-8", (locale_t) 0);
        if (sc->utf8 == (locale_t) 0)
                return pgimg_make_error_errno (err, errno, "%s: the C.UTF-8 locale", what);
        sc->old = uselocale (sc->utf8);
        return 0;
}

static void
utf8_leave (struct utf8_scope *sc)
{
        if (sc->utf8 == (locale_t) 0)
                return;
        uselocale (sc->old);
        freelocale (sc->utf8);
        sc->utf8 = (locale_t) 0;
}
#define cleanup_utf8_scope __attribute__ ((cleanup (utf8_leave)))

static int
walk_in_utf8_locale (struct tar_writer *w, int fd, pgimg_error_t *err)
{
        cleanup_utf8_scope struct utf8_scope sc = { 0 };

        if (utf8_enter (&sc, w->root, err) < 0) {
                close (fd);
                return -1;
        }
        return walk_dir (w, fd, err);
}

int
tar_write_tree (const char *root_dir, const struct layer_opts *opts,
                struct compress_stream *out, pgimg_error_t *err)
{
        cleanup_archive struct archive *a = archive_write_new ();
        cleanup_archive_entry struct archive_entry *entry = archive_entry_new ();
        cleanup_free unsigned char *chunk = malloc (READ_CHUNK_BYTES);
        struct tar_writer w = { .opts = opts, .root = root_dir, .out = out, .path = BUF_INIT };
        int fd, ret;

        if (a == NULL || entry == NULL || chunk == NULL || buf_adds (&w.path, "") < 0)
                return pgimg_make_error_errno (err, ENOMEM, "layer of `%s`", root_dir);
        w.a = a;
        w.entry = entry;
        w.chunk = chunk;
        /* Restricted pax: plain ustar headers unless a name or size needs
         * an extended one. */
        if (archive_write_set_format_pax_restricted (a) != ARCHIVE_OK
            || archive_write_add_filter_none (a) != ARCHIVE_OK
            || archive_write_open (a, &w, NULL, write_cb, NULL) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, a, "layer of `%s`", root_dir);
        fd = open (root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                ret = pgimg_make_error_errno (err, errno, "open `%s`", root_dir);
        else
                ret = walk_in_utf8_locale (&w, fd, err);
        if (ret == 0 && archive_write_close (a) != ARCHIVE_OK)
                ret = write_error (&w, err);
        /* After a failure the stream is thrown away, but libarchive frees
         * its buffers only when closed (archive_write_fail leaks them):
         * close it into the void. */
        if (ret < 0) {
                w.discard = 1;
                archive_write_close (a);
        }
        pgimg_error_free (&w.stream_err);
        link_table_free (&w.links);
        buf_release (&w.path);
        return ret;
}

/* Extraction */

/* A name from a layer is used below dest_dir only when it is relative
 * and never climbs ("..").  Returns it without a leading "./", "" for
 * the root itself, NULL when refused. */
static const char *
safe_name (const char *name)
{
        const char *p;

        while (name[0] == '.' && name[1] == '/')
                name += 2;
        if (name[0] == '/')
                return NULL;
        if (strcmp (name, ".") == 0)
                return "";
        for (p = name; *p;) {
                size_t len = strcspn (p, "/");
                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return NULL;
                p += len;
                while (*p == '/')
                        p++;
        }
        return name;
}

/* Remember an entry whose owner or mode a rootless extraction loses. */
static int
record_owner (struct owner_map *owners, struct archive_entry *e, const char *name,
              pgimg_error_t *err)
{
        cleanup_free char *path = strdup (name);
        mode_t perm = archive_entry_perm (e);
        mode_t type = archive_entry_filetype (e);
        size_t len;

        if (path == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", name);
        len = strlen (path);
        while (len > 0 && path[len - 1] == '/')
                path[--len] = '\0';
        if (archive_entry_uid (e) == 0 && archive_entry_gid (e) == 0
            && perm == normalized_perm (type | perm))
                return 0;
        return owner_map_set (owners, path, (uint32_t) archive_entry_uid (e),
                              (uint32_t) archive_entry_gid (e), perm, err);
}

static int
copy_data (struct archive *rd, struct archive *wr, const char *blob, const char *name,
           pgimg_error_t *err)
{
        const void *block;
        size_t size;
        la_int64_t offset;

        for (;;) {
                int r = archive_read_data_block (rd, &block, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r != ARCHIVE_OK)
                        return pgimg_error_from_archive (err, rd, "`%s`: `%s`", blob, name);
                if (archive_write_data_block (wr, block, size, offset) != ARCHIVE_OK)
                        return pgimg_error_from_archive (err, wr, "`%s`: `%s`", blob, name);
        }
}

/* Point the entry's name (and hard link target) below root. */
static int
place_entry (struct archive_entry *e, const char *root, const char *blob, const char *name,
             pgimg_error_t *err)
{
        cleanup_free char *full = NULL;
        cleanup_free char *full_link = NULL;
        const char *link = archive_entry_hardlink (e);

        if (link) {
                const char *safe_link = safe_name (link);
                if (safe_link == NULL || *safe_link == '\0')
                        return pgimg_make_error (err, EINVAL,
                                                 "`%s`: `%s` links to `%s`, outside the layer",
                                                 blob, name, link);
                if (asprintf (&full_link, "%s/%s", root, safe_link) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", blob);
                archive_entry_copy_hardlink (e, full_link);
        }
        if (asprintf (&full, "%s/%s", root, name) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", blob);
        archive_entry_copy_pathname (e, full);
        return 0;
}

/* Unpack the entries of rd (a tar stream) below dest_dir. */
static int
extract_entries (struct archive *rd, const char *what, const char *dest_dir, struct owner_map *owners,
                 pgimg_error_t *err)
{
        cleanup_archive struct archive *wr = archive_write_disk_new ();
        cleanup_free char *root = realpath (dest_dir, NULL);
        struct archive_entry *e;
        /* Owners are never applied (a rootless build cannot); modes and
         * times are.  libarchive refuses on its own to write through a
         * symlink (a hard link's target included) or to a name with
         * "..": root is resolved so that only the layer's own symlinks
         * are in the way.  SECURE_NOABSOLUTEPATHS cannot be asked for,
         * since every name libarchive sees starts with root: safe_name
         * refuses absolute names before root is put in front. */
        const int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM
                          | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;

        if (root == NULL)
                return pgimg_make_error_errno (err, errno, "extract into `%s`", dest_dir);
        if (wr == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "extract `%s`", what);
        if (archive_write_disk_set_options (wr, flags) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, wr, "extract `%s`", what);
        for (;;) {
                int r = archive_read_next_header (rd, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return pgimg_error_from_archive (err, rd, "read `%s`", what);
                const char *orig = archive_entry_pathname (e);
                const char *name = orig ? safe_name (orig) : NULL;
                if (name == NULL)
                        return pgimg_make_error (err, EINVAL, "`%s`: refusing the entry `%s`",
                                                 what, orig ? orig : "(no name)");
                if (*name == '\0')
                        continue;
                cleanup_free char *rel = strdup (name);
                if (rel == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", what);
                if (owners && record_owner (owners, e, rel, err) < 0)
                        return -1;
                if (place_entry (e, root, what, rel, err) < 0)
                        return -1;
                r = archive_write_header (wr, e);
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return pgimg_error_from_archive (err, wr, "`%s`: `%s`", what, rel);
                if (archive_entry_size (e) > 0 && copy_data (rd, wr, what, rel, err) < 0)
                        return -1;
                r = archive_write_finish_entry (wr);
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return pgimg_error_from_archive (err, wr, "`%s`: `%s`", what, rel);
        }
        if (archive_write_close (wr) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, wr, "extract `%s`", what);
        return 0;
}

/* The uncompressed stream of a blob, hashed as the tar reader pulls it:
 * the blob is read once, and its diff_id is known when the last entry
 * is out.  A second archive decompresses (any filter, "raw" format)
 * and feeds the tar reader through tee_read. */
struct tee {
        struct archive *raw;
        struct sha256 h;
        char *chunk;
        pgimg_error_t hash_err;
};

static void
tee_release (struct tee *t)
{
        sha256_free (&t->h);
        pgimg_error_free (&t->hash_err);
}
#define cleanup_tee __attribute__ ((cleanup (tee_release)))

static la_ssize_t
tee_read (struct archive *a, void *client, const void **out)
{
        struct tee *t = client;
        la_ssize_t n = archive_read_data (t->raw, t->chunk, READ_CHUNK_BYTES);

        if (n < 0) {
                const char *msg = archive_error_string (t->raw);
                archive_set_error (a, archive_errno (t->raw) > 0 ? archive_errno (t->raw) : EIO, "%s",
                                   msg ? msg : "cannot decompress");
                return -1;
        }
        if (n > 0 && t->hash_err == NULL && sha256_update (&t->h, t->chunk, (size_t) n, &t->hash_err) < 0) {
                archive_set_error (a, ENOMEM, "sha256");
                return -1;
        }
        *out = t->chunk;
        return n;
}

/* Hash what the tar reader left unread (the zero blocks after the end
 * of the archive), then compare with want. */
static int
tee_finish (struct tee *t, struct archive *rd, const char *what, const char *want_diff_id,
            pgimg_error_t *err)
{
        char hex[SHA256_HEX_LEN + 1];
        const char *want_hex;
        const void *ignored;
        la_ssize_t n;

        while ((n = tee_read (rd, t, &ignored)) > 0)
                ;
        if (n < 0)
                return pgimg_error_from_archive (err, rd, "read `%s`", what);
        if (t->hash_err != NULL) {
                *err = steal_pointer (&t->hash_err);
                return -1;
        }
        if (sha256_final_hex (&t->h, hex, err) < 0)
                return -1;
        want_hex = store_digest_hex (want_diff_id);
        if (want_hex == NULL || strcmp (want_hex, hex) != 0)
                return pgimg_make_error (err, EIO, "`%s`: its uncompressed content is sha256:%s, not the diff_id %.80s the image config gives; refused",
                                         what, hex, want_diff_id);
        return 0;
}

int
layer_extract_fd (int fd, const char *what, const char *want_diff_id, const char *dest_dir,
                  struct owner_map *owners, pgimg_error_t *err)
{
        cleanup_archive struct archive *raw = archive_read_new ();
        cleanup_archive struct archive *rd = archive_read_new ();
        cleanup_free char *chunk = malloc (READ_CHUNK_BYTES);
        cleanup_utf8_scope struct utf8_scope sc = { 0 };
        cleanup_tee struct tee t = { .raw = raw, .chunk = chunk, .h = SHA256_INIT };
        struct archive_entry *e;
        int r;

        if (raw == NULL || rd == NULL || chunk == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "extract `%s`", what);
        if (sha256_init (&t.h, err) < 0)
                return -1;
        if (archive_read_support_filter_all (raw) != ARCHIVE_OK
            || archive_read_support_format_raw (raw) != ARCHIVE_OK
            || archive_read_open_fd (raw, fd, 1 << 16) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, raw, "open `%s`", what);
        r = archive_read_next_header (raw, &e);
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                return pgimg_error_from_archive (err, raw, "read `%s`", what);
        if (archive_read_support_format_tar (rd) != ARCHIVE_OK
            || archive_read_open (rd, &t, NULL, tee_read, NULL) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, rd, "read `%s`", what);
        /* Names as written: see walk_in_utf8_locale. */
        if (utf8_enter (&sc, what, err) < 0)
                return -1;
        r = extract_entries (rd, what, dest_dir, owners, err);
        if (r == 0 && want_diff_id != NULL)
                r = tee_finish (&t, rd, what, want_diff_id, err);
        return r;
}

int
layer_extract (const char *blob_path, const char *dest_dir, struct owner_map *owners,
               pgimg_error_t *err)
{
        cleanup_fd int fd = open (blob_path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", blob_path);
        return layer_extract_fd (fd, blob_path, NULL, dest_dir, owners, err);
}
