/* ext_image_tree.c - an extension layer's files laid out as an image
 * volume holds them: the modules in lib/, share/ (its extension/ with
 * the control and SQL files, their `$libdir/` taken out), the shared
 * libraries the extension brought in system/, and licenses/. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/ext_image.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

/* Control and SQL files are small; a bigger one is not an extension's. */
#define EXT_FILE_MAX_BYTES (64u << 20)

int
ext_image_check_major (const char *major, pgimg_error_t *err)
{
        char *end;
        long m = strtol (major, &end, 10);

        if (*end != '\0' || m < 18)
                return pgimg_make_error (err, ENOTSUP,
                                         "PostgreSQL %s has no extension_control_path (new in 18), so it cannot "
                                         "load extensions from an image volume; build for --major 18", major);
        return 0;
}

int
ext_image_strip_libdir (const char *data, size_t len, struct buf *out)
{
        static const char libdir[] = "$libdir/";
        const size_t n = sizeof (libdir) - 1;
        size_t start = 0;
        int count = 0;

        for (size_t i = 0; i + n <= len; i++) {
                if (memcmp (data + i, libdir, n) != 0)
                        continue;
                if (buf_add (out, data + start, i - start) < 0)
                        return -1;
                start = i + n;
                i += n - 1;
                count++;
        }
        if (buf_add (out, data + start, len - start) < 0)
                return -1;
        return count;
}

/* The value of "key = 'value'" on the line at p (up to end), or NULL. */
static const char *
control_value (const char *p, const char *end, const char *key, size_t *vlen)
{
        size_t klen = strlen (key);
        const char *q;

        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if ((size_t) (end - p) < klen || memcmp (p, key, klen) != 0)
                return NULL;
        p += klen;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p >= end || *p++ != '=')
                return NULL;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p >= end || *p++ != '\'')
                return NULL;
        if ((q = memchr (p, '\'', (size_t) (end - p))) == NULL)
                return NULL;
        *vlen = (size_t) (q - p);
        return p;
}

int
ext_image_control_version (const char *data, size_t len, char **out)
{
        const char *p = data, *end = data + len;

        *out = NULL;
        while (p < end) {
                const char *eol = memchr (p, '\n', (size_t) (end - p));
                const char *v;
                size_t vlen;

                if (eol == NULL)
                        eol = end;
                if ((v = control_value (p, eol, "default_version", &vlen)) != NULL) {
                        free (*out);
                        if ((*out = strndup (v, vlen)) == NULL)
                                return -1;
                }
                p = eol + 1;
        }
        return 0;
}

/* Move every entry of src_dir into dst_dir, merging directories that
 * are in both; a missing src_dir has nothing to move. */
static int
move_entries (const char *src_dir, const char *dst_dir, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (src_dir);
        struct dirent *e;

        if (d == NULL)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "open `%s`", src_dir);
        if (fs_mkdir_p (dst_dir, 0755, err) < 0)
                return -1;
        while ((errno = 0, e = readdir (d)) != NULL) {
                cleanup_free char *from = NULL, *to = NULL;
                struct stat a, b;

                if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
                        continue;
                if (asprintf (&from, "%s/%s", src_dir, e->d_name) < 0
                    || asprintf (&to, "%s/%s", dst_dir, e->d_name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "extension image");
                if (lstat (from, &a) == 0 && S_ISDIR (a.st_mode) && lstat (to, &b) == 0 && S_ISDIR (b.st_mode)) {
                        if (move_entries (from, to, err) < 0)
                                return -1;
                        continue;
                }
                if (rename (from, to) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s` to `%s`", from, to);
        }
        if (errno != 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", src_dir);
        return 0;
}

/* The shared libraries an extension's runtime packages added to a
 * system library directory, sub ("usr/lib/x86_64-linux-gnu", or
 * "usr/lib" where a package is not multiarch, as libscrypt0), go to
 * system/; not those of its subdirectories: plugins of other libraries
 * are looked for at fixed paths. */
static int
move_system_libs (const char *src, const char *sub, const char *dst, pgimg_error_t *err)
{
        cleanup_free char *lib = NULL;
        cleanup_dir DIR *d = NULL;
        struct dirent *e;

        if (asprintf (&lib, "%s/%s", src, sub) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension image");
        if ((d = opendir (lib)) == NULL)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "open `%s`", lib);
        while ((errno = 0, e = readdir (d)) != NULL) {
                cleanup_free char *from = NULL, *to = NULL;
                struct stat st;

                if (strstr (e->d_name, ".so") == NULL)
                        continue;
                if (asprintf (&from, "%s/%s", lib, e->d_name) < 0
                    || asprintf (&to, "%s/system/%s", dst, e->d_name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "extension image");
                if (lstat (from, &st) < 0 || S_ISDIR (st.st_mode))
                        continue;
                if (rename (from, to) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s` to `%s`", from, to);
        }
        if (errno != 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", lib);
        return 0;
}

static int
ends_with (const char *s, const char *suffix)
{
        size_t a = strlen (s), b = strlen (suffix);
        return a >= b && strcmp (s + a - b, suffix) == 0;
}

static int
strv_add (char ***v, const char *s)
{
        size_t n = 0;
        char **nv;

        while (*v && (*v)[n])
                n++;
        if ((nv = realloc (*v, (n + 2) * sizeof (char *))) == NULL)
                return -1;
        *v = nv;
        if ((nv[n] = strdup (s)) == NULL)
                return -1;
        nv[n + 1] = NULL;
        return 0;
}

/* Take `$libdir/` out of one file, replacing it (it may be a hard link
 * into the cache: never written in place); 1 when it changed. */
static int
strip_file (const char *path, pgimg_error_t *err)
{
        cleanup_buf struct buf in = BUF_INIT, out = BUF_INIT;
        int n;

        if (fs_read_file (path, EXT_FILE_MAX_BYTES, &in, err) < 0)
                return -1;
        if ((n = ext_image_strip_libdir (in.data, in.len, &out)) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "rewrite `%s`", path);
        if (n == 0)
                return 0;
        if (fs_write_file_atomic (path, out.data, out.len, 0644, err) < 0)
                return -1;
        return 1;
}

static int
cmp_str (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every control and SQL file of dst/share/extension through strip_file. */
static int
strip_share (const char *dst, char ***rewritten, pgimg_error_t *err)
{
        cleanup_free char *ext = NULL;
        cleanup_dir DIR *d = NULL;
        struct dirent *e;
        size_t n = 0;

        if (asprintf (&ext, "%s/share/extension", dst) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension image");
        if ((d = opendir (ext)) == NULL)
                return pgimg_make_error_errno (err, errno, "open `%s`", ext);
        while ((errno = 0, e = readdir (d)) != NULL) {
                cleanup_free char *path = NULL, *rel = NULL;
                int r;

                if (!ends_with (e->d_name, ".sql") && !ends_with (e->d_name, ".control"))
                        continue;
                if (asprintf (&path, "%s/%s", ext, e->d_name) < 0
                    || asprintf (&rel, "share/extension/%s", e->d_name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "extension image");
                if ((r = strip_file (path, err)) < 0)
                        return -1;
                if (r > 0 && strv_add (rewritten, rel) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "extension image");
        }
        if (errno != 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", ext);
        while (*rewritten && (*rewritten)[n])
                n++;
        if (n > 1)
                qsort (*rewritten, n, sizeof (char *), cmp_str);
        return 0;
}

static int
read_sql_version (const char *dst, const char *control_name, char **sql_version, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s/share/extension/%s.control", dst, control_name) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension image");
        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, EXT_FILE_MAX_BYTES, &b, err) < 0)
                return -1;
        if (ext_image_control_version (b.data, b.len, sql_version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension image");
        return 0;
}

int
ext_image_tree (const char *src, const char *major, const char *control_name, const char *licenses,
                const char *dst, char ***rewritten, char **sql_version, pgimg_error_t *err)
{
        static const char *const dirs[] = { "", "/lib", "/share/extension", "/system", "/licenses", NULL };
        cleanup_free char *pg_lib = NULL, *pg_share = NULL, *deb_share = NULL, *lib = NULL, *share = NULL,
                          *lic = NULL;

        for (size_t i = 0; dirs[i]; i++) {
                cleanup_free char *p = NULL;
                if (asprintf (&p, "%s%s", dst, dirs[i]) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "extension image");
                if (fs_mkdir_p (p, 0755, err) < 0)
                        return -1;
        }
        if (asprintf (&pg_lib, "%s/usr/lib/postgresql/%s/lib", src, major) < 0
            || asprintf (&pg_share, "%s/usr/lib/postgresql/%s/share", src, major) < 0
            || asprintf (&deb_share, "%s/usr/share/postgresql/%s", src, major) < 0
            || asprintf (&lib, "%s/lib", dst) < 0 || asprintf (&share, "%s/share", dst) < 0
            || asprintf (&lic, "%s/licenses", dst) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "extension image");
        if (move_entries (pg_lib, lib, err) < 0 || move_entries (pg_share, share, err) < 0
            || move_entries (deb_share, share, err) < 0 || move_system_libs (src, "usr/lib/x86_64-linux-gnu", dst, err) < 0
            || move_system_libs (src, "usr/lib", dst, err) < 0
            || (licenses && move_entries (licenses, lic, err) < 0)
            || strip_share (dst, rewritten, err) < 0)
                return -1;
        return read_sql_version (dst, control_name, sql_version, err);
}
