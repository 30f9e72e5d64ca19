#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/ext_side.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

/* What a control file or a script may weigh. */
#define MAX_TEXT (16 << 20)

/* Names, versions and modules that go into file names and SQL literals. */
static int
plain_word (const char *s)
{
        if (*s == '\0')
                return 0;
        for (; *s; s++)
                if (!isalnum ((unsigned char) *s) && strchr ("._+-", *s) == NULL)
                        return 0;
        return 1;
}

/* One line of a control file: its key (empty for a comment or a blank
 * line) and where its value starts. */
static size_t
line_key (const char *p, size_t n, const char **key, size_t *key_len)
{
        size_t i = 0;

        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        *key = p + i;
        while (i < n && (isalnum ((unsigned char) p[i]) || p[i] == '_'))
                i++;
        *key_len = (size_t) (p + i - *key);
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        if (i < n && p[i] == '=')
                i++;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
        return i;
}

static int
key_is (const char *key, size_t key_len, const char *want)
{
        return key_len == strlen (want) && strncmp (key, want, key_len) == 0;
}

/* A value at p (n bytes to the end of its line): quoted, with '' for a
 * quote, or a bare word. */
static int
read_value (const char *p, size_t n, char *out, size_t size)
{
        size_t i = 0, o = 0;
        int quoted = n > 0 && p[0] == '\'';

        for (i = quoted; i < n; i++) {
                if (quoted && p[i] == '\'') {
                        if (i + 1 < n && p[i + 1] == '\'')
                                i++;
                        else
                                break;
                } else if (!quoted && (p[i] == ' ' || p[i] == '\t' || p[i] == '#' || p[i] == '\r'))
                        break;
                if (o + 1 >= size)
                        return -1;
                out[o++] = p[i];
        }
        out[o] = '\0';
        return 1;
}

int
ext_side_control_value (const char *text, size_t len, const char *key, char *out, size_t size)
{
        const char *p = text, *end = text + len;
        int found = 0;

        if (size == 0)
                return -1;
        out[0] = '\0';
        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p), v, key_len;
                const char *k;
                v = line_key (p, n, &k, &key_len);
                /* A later setting wins, as PostgreSQL reads the file. */
                if (key_is (k, key_len, key)) {
                        if (read_value (p + v, n - v, out, size) < 0)
                                return -1;
                        found = 1;
                }
                p += n + (nl ? 1 : 0);
        }
        return found;
}

int
ext_side_control_rewrite (const char *text, size_t len, const char *module, int drop_default,
                          struct buf *out)
{
        const char *p = text, *end = text + len;
        int rc = 0;

        while (p < end && rc == 0) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p), key_len;
                const char *k;
                line_key (p, n, &k, &key_len);
                if (!key_is (k, key_len, "directory") && !(drop_default && key_is (k, key_len, "default_version"))) {
                        rc = buf_add (out, p, n);
                        if (rc == 0)
                                rc = buf_adds (out, "\n");
                }
                p += n + (nl ? 1 : 0);
        }
        if (rc == 0 && module)
                rc = buf_addf (out, "# pgimg: versions side by side: this version's module\n"
                                    "module_pathname = '%s'\n", module);
        return rc < 0 ? -1 : 0;
}

/* mod as a regular expression without backslashes (the literal works
 * whatever standard_conforming_strings says): [.] for a dot. */
static int
add_regex_word (struct buf *b, const char *mod)
{
        for (; *mod; mod++)
                if ((isalnum ((unsigned char) *mod) ? buf_add (b, mod, 1) : buf_addf (b, "[%c]", *mod)) < 0)
                        return -1;
        return 0;
}

/* Every C function of ext that names one of mod's modules (bare, in
 * $libdir, versioned or not) is moved to MODULE_PATHNAME. */
static int
add_repoint (struct buf *b, const char *ext, const char *mod)
{
        if (buf_addf (b, "\n-- pgimg: versions side by side (docs/extension-recipes.md): an update\n"
                         "-- redefines only what changed; every C function of %s moves to this\n"
                         "-- version's module.\n"
                         "UPDATE pg_catalog.pg_proc SET probin = 'MODULE_PATHNAME'\n"
                         " WHERE probin ~ '^([$]libdir/)?", ext) < 0
            || add_regex_word (b, mod) < 0
            || buf_addf (b, "(-[^/]+)?$'\n"
                            "   AND oid IN (SELECT objid FROM pg_catalog.pg_depend\n"
                            "                WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass\n"
                            "                  AND refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass\n"
                            "                  AND refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = '%s')\n"
                            "                  AND deptype = 'e');\n", ext) < 0)
                return -1;
        return 0;
}

static int
ident_char (char c)
{
        return isalnum ((unsigned char) c) || c == '_' || c == '$';
}

/* The length of "AS <space>'mod'" at p (AS a word of its own), or 0;
 * *quote is where the literal starts. */
static size_t
as_literal (const char *text, const char *p, const char *end, const char *lit, size_t lit_len,
            const char **quote)
{
        const char *q = p + 2;

        if (end - p < 3 || strncasecmp (p, "as", 2) != 0 || (p > text && ident_char (p[-1])))
                return 0;
        while (q < end && isspace ((unsigned char) *q))
                q++;
        if (q == p + 2 || (size_t) (end - q) < lit_len || memcmp (q, lit, lit_len) != 0)
                return 0;
        *quote = q;
        return (size_t) (q + lit_len - p);
}

int
ext_side_script_rewrite (const char *text, size_t len, const char *ext, const char *mod, int repoint,
                         struct buf *out)
{
        cleanup_free char *libdir = NULL, *bare = NULL;
        const char *p = text, *end = text + len, *quote;
        size_t libdir_len, bare_len, n;
        int count = 0;

        if (!plain_word (ext) || !plain_word (mod)) {
                errno = EINVAL;
                return -1;
        }
        if (asprintf (&libdir, "'$libdir/%s'", mod) < 0 || asprintf (&bare, "'%s'", mod) < 0) {
                errno = ENOMEM;
                return -1;
        }
        libdir_len = strlen (libdir);
        bare_len = strlen (bare);
        while (p < end) {
                if ((size_t) (end - p) >= libdir_len && memcmp (p, libdir, libdir_len) == 0) {
                        if (buf_adds (out, "'MODULE_PATHNAME'") < 0)
                                return -1;
                        p += libdir_len;
                        count++;
                } else if ((n = as_literal (text, p, end, bare, bare_len, &quote)) > 0) {
                        if (buf_add (out, p, (size_t) (quote - p)) < 0 || buf_adds (out, "'MODULE_PATHNAME'") < 0)
                                return -1;
                        p += n;
                        count++;
                } else {
                        if (buf_add (out, p, 1) < 0)
                                return -1;
                        p++;
                }
        }
        if (repoint && add_repoint (out, ext, mod) < 0)
                return -1;
        return count;
}

/* ------------------------------------------------------------------ */
/* A layer's tree                                                      */

/* The names in dir (none when it does not exist), NUL-separated. */
static int
list_dir (const char *dir, struct buf *names, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (dir);
        struct dirent *e;

        if (d == NULL)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "read `%s`", dir);
        while ((errno = 0, e = readdir (d)) != NULL)
                if (e->d_name[0] != '.' && buf_add (names, e->d_name, strlen (e->d_name) + 1) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "read `%s`", dir);
        if (errno != 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", dir);
        return 0;
}

#define for_each_name(name, names) \
        for (const char *name = (names).data; name && name < (names).data + (names).len; name += strlen (name) + 1)

static int
ends_with (const char *s, const char *suffix)
{
        size_t n = strlen (s), m = strlen (suffix);
        return n >= m && strcmp (s + n - m, suffix) == 0;
}

static int
in_list (char *const *list, const char *s, size_t len)
{
        for (; list && *list; list++)
                if (strlen (*list) == len && strncmp (*list, s, len) == 0)
                        return 1;
        return 0;
}

/* NAME.so -> NAME-VERSION.so, NAME.so a link to it; the names renamed
 * into renamed (NUL-separated). */
static int
version_libraries (const char *lib, const char *version, char *const *preload, struct buf *renamed,
                   pgimg_error_t *err)
{
        cleanup_buf struct buf names = BUF_INIT;
        cleanup_free char *suffix = NULL;

        if (asprintf (&suffix, "-%s.so", version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (list_dir (lib, &names, err) < 0)
                return -1;
        /* A library that carries its version already (TimescaleDB's):
         * the extension takes care of its versions itself. */
        for_each_name (name, names)
                if (ends_with (name, suffix))
                        return 0;
        for_each_name (name, names) {
                cleanup_free char *from = NULL, *to = NULL, *target = NULL;
                size_t stem = strlen (name) - 3;
                struct stat st;
                if (!ends_with (name, ".so") || stem == 0 || in_list (preload, name, stem))
                        continue;
                if (asprintf (&from, "%s/%s", lib, name) < 0 || asprintf (&target, "%.*s%s", (int) stem, name, suffix) < 0
                    || asprintf (&to, "%s/%s", lib, target) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "side by side");
                if (lstat (from, &st) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`", from);
                if (!S_ISREG (st.st_mode))
                        continue;
                if (rename (from, to) < 0 || symlink (target, from) < 0)
                        return pgimg_make_error_errno (err, errno, "version `%s`", from);
                if (buf_add (renamed, name, stem) < 0 || buf_add (renamed, "", 1) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "side by side");
        }
        return 0;
}

static int
read_text (const char *path, struct buf *b, pgimg_error_t *err)
{
        b->max = MAX_TEXT;
        return fs_read_file (path, MAX_TEXT, b, err);
}

/* A script directory of its own (`directory = 'semver'`): its files of
 * ext move to share/extension, where every version's layer puts them. */
static int
gather_scripts (const char *share, const char *ext_dir, const char *ext, const char *directory,
                pgimg_error_t *err)
{
        cleanup_buf struct buf names = BUF_INIT;
        cleanup_free char *dir = NULL, *prefix = NULL;

        if (asprintf (&dir, "%s/%s", share, directory) < 0 || asprintf (&prefix, "%s--", ext) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (strcmp (directory, "extension") == 0 || list_dir (dir, &names, err) < 0)
                return strcmp (directory, "extension") == 0 ? 0 : -1;
        for_each_name (name, names) {
                cleanup_free char *from = NULL, *to = NULL;
                if (strncmp (name, prefix, strlen (prefix)) != 0)
                        continue;
                if (asprintf (&from, "%s/%s", dir, name) < 0 || asprintf (&to, "%s/%s", ext_dir, name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "side by side");
                if (rename (from, to) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s` to `%s`", from, to);
        }
        return 0;
}

/* The scripts of ext name MODULE_PATHNAME; those that update to the
 * version `version` move every C function to it. */
static int
rewrite_scripts (const char *ext_dir, const char *ext, const char *mod, const char *version,
                 pgimg_error_t *err)
{
        cleanup_buf struct buf names = BUF_INIT;
        cleanup_free char *prefix = NULL;

        if (asprintf (&prefix, "%s--", ext) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (list_dir (ext_dir, &names, err) < 0)
                return -1;
        for_each_name (name, names) {
                cleanup_buf struct buf text = BUF_INIT, out = BUF_INIT;
                cleanup_free char *path = NULL;
                const char *from = name + strlen (prefix), *last;
                int n, repoint;
                if (strncmp (name, prefix, strlen (prefix)) != 0 || !ends_with (name, ".sql"))
                        continue;
                /* ext--A--B.sql updates from A to B (a version has no "--"). */
                last = strstr (from, "--");
                repoint = last && strncmp (last + 2, version, strlen (version)) == 0
                          && strcmp (last + 2 + strlen (version), ".sql") == 0;
                if (asprintf (&path, "%s/%s", ext_dir, name) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "side by side");
                if (read_text (path, &text, err) < 0)
                        return -1;
                if ((n = ext_side_script_rewrite (text.data ? text.data : "", text.len, ext, mod, repoint, &out)) < 0)
                        return pgimg_make_error_errno (err, errno, "rewrite `%s`", path);
                if ((n > 0 || repoint) && fs_write_file_atomic (path, out.data, out.len, 0644, err) < 0)
                        return -1;
        }
        return 0;
}

/* One extension's control file, its secondary control file for its
 * default version, and its scripts. */
static int
side_control (const char *share, const char *ext_dir, const char *ext, const char *version,
              const struct buf *renamed, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT, primary = BUF_INIT, secondary = BUF_INIT, old = BUF_INIT;
        cleanup_free char *path = NULL, *second = NULL, *module = NULL;
        char directory[256], def[128], pathname[256];
        const char *mod = ext;
        int versioned = 0;

        if (asprintf (&path, "%s/%s.control", ext_dir, ext) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (read_text (path, &text, err) < 0)
                return -1;
        if (ext_side_control_value (text.data, text.len, "directory", directory, sizeof (directory)) < 0
            || ext_side_control_value (text.data, text.len, "default_version", def, sizeof (def)) < 0
            || ext_side_control_value (text.data, text.len, "module_pathname", pathname, sizeof (pathname)) < 0)
                return pgimg_make_error (err, EINVAL, "`%s`: a value is too long", path);
        /* An absolute directory is the extension's own business. */
        if (directory[0] == '/' || def[0] == '\0' || !plain_word (def))
                return 0;
        if (directory[0] && gather_scripts (share, ext_dir, ext, directory, err) < 0)
                return -1;
        if (pathname[0])
                mod = strncmp (pathname, "$libdir/", 8) == 0 ? pathname + 8 : pathname;
        for_each_name (name, *renamed)
                versioned |= strcmp (name, mod) == 0;
        if (versioned && asprintf (&module, "$libdir/%s-%s", mod, version) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (asprintf (&second, "%s/%s--%s.control", ext_dir, ext, def) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        /* Each version's own settings (requires, schema, ...) hold for it,
         * whichever layer's primary control file is on top. */
        if (fs_exists (second) && read_text (second, &old, err) < 0)
                return -1;
        if (ext_side_control_rewrite (text.data, text.len, module, 0, &primary) < 0
            || ext_side_control_rewrite (old.len ? old.data : text.data, old.len ? old.len : text.len, module,
                                         !old.len, &secondary) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (fs_write_file_atomic (path, primary.data, primary.len, 0644, err) < 0
            || fs_write_file_atomic (second, secondary.data, secondary.len, 0644, err) < 0)
                return -1;
        return versioned ? rewrite_scripts (ext_dir, ext, mod, def, err) : 0;
}

int
ext_side_by_side (const char *root, const char *major, const char *version, char *const *preload,
                  pgimg_error_t *err)
{
        cleanup_buf struct buf renamed = BUF_INIT, names = BUF_INIT;
        cleanup_free char *lib = NULL, *share = NULL, *ext_dir = NULL;

        if (!plain_word (version))
                return pgimg_make_error (err, EINVAL,
                                         "version `%s` cannot name a library: side by side needs [A-Za-z0-9._+-]",
                                         version);
        if (asprintf (&lib, "%s/usr/lib/postgresql/%s/lib", root, major) < 0
            || asprintf (&share, "%s/usr/lib/postgresql/%s/share", root, major) < 0
            || asprintf (&ext_dir, "%s/extension", share) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "side by side");
        if (version_libraries (lib, version, preload, &renamed, err) < 0 || list_dir (ext_dir, &names, err) < 0)
                return -1;
        for_each_name (name, names) {
                cleanup_free char *ext = NULL;
                if (!ends_with (name, ".control") || strstr (name, "--") != NULL)
                        continue;
                if ((ext = strndup (name, strlen (name) - 8)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "side by side");
                if (plain_word (ext) && side_control (share, ext_dir, ext, version, &renamed, err) < 0)
                        return -1;
        }
        return 0;
}
