#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "builder/deb.h"
#include "builder/deb_index.h"
#include "builder/deb_resolve.h"
#include "builder/deb_version.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "sandbox/resolve.h"

/* ------------------------------------------------------------------ */
/* Versions                                                            */

static int
sign (int x)
{
        return (x > 0) - (x < 0);
}

static void
version_ordering (void **state)
{
        static const struct {
                const char *a, *b;
                int want;
        } cases[] = {
                { "1.0", "1.0", 0 },
                { "1.0~rc1", "1.0", -1 },
                { "1.0~rc1", "1.0~rc2", -1 },
                { "1.0~~", "1.0~", -1 },
                { "1.0~", "1.0", -1 },
                { "2:1", "1:9", 1 },
                { "1:1.0", "1.0", 1 },
                { "0:1.0", "1.0", 0 },
                { "1.0-1", "1.0-1+b1", -1 },
                { "1.0-1", "1.0-2", -1 },
                { "1.0-10", "1.0-9", 1 },
                { "1.0", "1.0-0", 0 },
                { "1.0a", "1.0", 1 },
                { "1.0a", "1.0+", -1 },  /* letters before non-letters */
                { "1.0a", "1.0.", -1 },
                { "1.0.1", "1.0a", 1 },   /* '.' sorts after letters */
                { "1.2", "1.10", -1 },    /* numerically */
                { "1.002", "1.2", 0 },
                { "10", "9", 1 },
                { "1.0+dfsg-1", "1.0-1", 1 },
                { "2.41-12+deb13u5", "2.41-12", 1 },
                { "3.5.9-1~deb13u1", "3.5.9-1", -1 },
                { "1:1.3.dfsg+really1.3.1-1+deb13u1", "1:1.3.dfsg-1", 1 },
                { "a-b-c", "a-b-d", -1 },   /* the revision is after the last '-' */
                { "", "0", 0 },
        };
        (void) state;
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                int got = sign (deb_version_compare (cases[i].a, cases[i].b));
                int back = sign (deb_version_compare (cases[i].b, cases[i].a));
                if (got != cases[i].want || back != -cases[i].want)
                        fail_msg ("%s vs %s: got %d (reverse %d), want %d", cases[i].a, cases[i].b, got, back,
                                  cases[i].want);
        }
}

/* ------------------------------------------------------------------ */
/* Packages                                                            */

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char packages_text[] =
        "Package: alpha\n"
        "Version: 1:2.0-1\n"
        "Architecture: amd64\n"
        "Essential: yes\n"
        "Source: alpha-src\n"
        "Pre-Depends: libc6 (>= 2.38)\n"
        "Depends: beta | gamma,\n"
        " delta (>= 1.0)\n"
        "Provides: alpha-virtual (= 2.0), other\n"
        "Description: first line\n"
        " continued description\n"
        " .\n"
        "Filename: pool/main/a/alpha/alpha_2.0-1_amd64.deb\n"
        "Size: 1234\n"
        "SHA256: " SHA_A "\n"
        "\n"
        "\n"
        "package: beta\n"
        "version: 1.0\n"
        "architecture: all\n"
        "filename: pool/main/b/beta/beta_1.0_all.deb\n"
        "sha256: " SHA_A "\n";

static void
packages_parse_fields (void **state)
{
        struct deb_index idx = DEB_INDEX_INIT;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (deb_index_add (&idx, packages_text, strlen (packages_text), "http://m/debian",
                                         "https://s/debian/20250101T000000Z", &err), 0);
        assert_int_equal (idx.n, 2);
        const struct deb_package *a = &idx.pkgs[0], *b = &idx.pkgs[1];
        assert_string_equal (a->name, "alpha");
        assert_string_equal (a->version, "1:2.0-1");
        assert_string_equal (a->arch, "amd64");
        assert_string_equal (a->source, "alpha-src");
        assert_string_equal (a->pre_depends, "libc6 (>= 2.38)");
        assert_string_equal (a->depends, "beta | gamma, delta (>= 1.0)");
        assert_string_equal (a->provides, "alpha-virtual (= 2.0), other");
        assert_string_equal (a->filename, "pool/main/a/alpha/alpha_2.0-1_amd64.deb");
        assert_string_equal (a->base_url, "http://m/debian");
        assert_string_equal (a->snapshot_url, "https://s/debian/20250101T000000Z");
        assert_int_equal (a->size, 1234);
        assert_true (a->essential);
        /* Field names are case-insensitive; absent fields are NULL. */
        assert_string_equal (b->name, "beta");
        assert_string_equal (b->arch, "all");
        assert_null (b->depends);
        assert_null (b->provides);
        assert_false (b->essential);
        assert_int_equal (b->size, 0);
        deb_index_free (&idx);
        assert_int_equal (idx.n, 0);
}

static void
expect_parse_error (const char *text, const char *want)
{
        struct deb_index idx = DEB_INDEX_INIT;
        pgimg_error_t err = NULL;

        assert_true (deb_index_add (&idx, text, strlen (text), "http://m", NULL, &err) < 0);
        assert_non_null (err);
        if (strcmp (err->msg, want) != 0)
                fail_msg ("got `%s`, want `%s`", err->msg, want);
        pgimg_error_free (&err);
        deb_index_free (&idx);
}

static void
packages_parse_errors (void **state)
{
        (void) state;
        expect_parse_error ("Package: a\nVersion: 1\nFilename: a.deb\n\nPackage: b\n",
                            "stanza at line 1 has no SHA256 field");
        expect_parse_error ("Package: a\nVersion: 1\nnot a field\n", "line 3: expected `Field: value`");
        expect_parse_error (" orphan continuation\n", "line 1: continuation line outside a field");
        expect_parse_error ("Package: a\nVersion: 1\nVersion: 2\n", "line 3: duplicate field");
        expect_parse_error ("Package: a\nVersion: 1\nFilename: a.deb\nSHA256: abc\n",
                            "stanza at line 1 (a): invalid SHA256 `abc`");
        expect_parse_error ("Package: a\nVersion: 1\nFilename: a.deb\nSize: 12x\nSHA256: " SHA_A "\n",
                            "stanza at line 1 (a): invalid Size `12x`");
        expect_parse_error ("Package: a\nVersion: 1\nFilename: a.deb\nProvides: (broken\nSHA256: " SHA_A "\n",
                            "stanza at line 1 (a): malformed Provides `(broken`");
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

static void
add_pkg (struct buf *b, const char *name, const char *version, const char *depends, const char *provides)
{
        buf_addf (b, "Package: %s\nVersion: %s\nArchitecture: amd64\nFilename: pool/%s_%s.deb\nSHA256: " SHA_A "\n",
                  name, version, name, version);
        if (depends)
                buf_addf (b, "Depends: %s\n", depends);
        if (provides)
                buf_addf (b, "Provides: %s\n", provides);
        buf_adds (b, "\n");
}

static void
synthetic_index (struct deb_index *idx)
{
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        add_pkg (&b, "app", "1.0", "missing | libx (>= 1.0), vlib, python3:any, vv (>= 2)", NULL);
        add_pkg (&b, "libx", "0.9", NULL, NULL);
        add_pkg (&b, "libx", "2.0", NULL, NULL);
        add_pkg (&b, "libx", "1.2", NULL, NULL);
        add_pkg (&b, "zprov", "1", NULL, "vlib");
        add_pkg (&b, "aprov", "1", NULL, "vlib");
        add_pkg (&b, "python3", "3.13", NULL, NULL);
        add_pkg (&b, "p1", "1", NULL, "vv (= 1)");
        add_pkg (&b, "p2", "1", NULL, "vv (= 3)");
        add_pkg (&b, "p3", "1", NULL, "vv");
        add_pkg (&b, "either", "1", "bee | cee", NULL);
        add_pkg (&b, "bee", "1", NULL, NULL);
        add_pkg (&b, "cee", "1", NULL, NULL);
        add_pkg (&b, "top", "1", "mid", NULL);
        add_pkg (&b, "mid", "1", "leaf (>= 5) | gone", NULL);
        add_pkg (&b, "leaf", "1.0", NULL, NULL);
        add_pkg (&b, "wantsold", "1", "libx (<< 1.0)", NULL);
        b.data[b.len] = '\0';
        /* A second source, as trixie-security would be: a higher libx. */
        assert_int_equal (deb_index_add (idx, b.data, b.len, "http://m", NULL, &err), 0);
        buf_reset (&b);
        add_pkg (&b, "libx", "2.0+deb13u1", NULL, NULL);
        assert_int_equal (deb_index_add (idx, b.data, b.len, "http://sec", NULL, &err), 0);
}

/* "name version" of the result, space-separated. */
static char *
describe (const struct deb_index *idx, const size_t *v, size_t n)
{
        struct buf b = BUF_INIT;
        for (size_t i = 0; i < n; i++)
                buf_addf (&b, "%s%s %s", i ? ", " : "", idx->pkgs[v[i]].name, idx->pkgs[v[i]].version);
        return buf_detach (&b, NULL);
}

static char *
resolve_str (const struct deb_index *idx, const char *const *roots, size_t n_roots)
{
        size_t *v = NULL, n = 0;
        pgimg_error_t err = NULL;
        char *s;

        if (deb_resolve (idx, roots, n_roots, &v, &n, &err) < 0) {
                s = strdup (err->msg);
                pgimg_error_free (&err);
                return s;
        }
        s = describe (idx, v, n);
        free (v);
        return s;
}

static void
resolve_picks (void **state)
{
        struct deb_index idx = DEB_INDEX_INIT;
        (void) state;
        synthetic_index (&idx);

        /* First satisfiable alternative, highest fitting version (across
         * sources), lowest-named provider, ":any" stripped, versioned
         * Provides; sorted by name. */
        static const char *const app[] = { "app" };
        cleanup_free char *s1 = resolve_str (&idx, app, 1);
        assert_string_equal (s1, "app 1.0, aprov 1, libx 2.0+deb13u1, p2 1, python3 3.13");

        /* An already chosen provider wins over the lowest name. */
        static const char *const z_first[] = { "zprov", "app" };
        cleanup_free char *s2 = resolve_str (&idx, z_first, 2);
        assert_string_equal (s2, "app 1.0, libx 2.0+deb13u1, p2 1, python3 3.13, zprov 1");

        /* An already chosen alternative wins over the first one. */
        static const char *const c_first[] = { "cee", "either" };
        cleanup_free char *s3 = resolve_str (&idx, c_first, 2);
        assert_string_equal (s3, "cee 1, either 1");
        static const char *const either[] = { "either" };
        cleanup_free char *s4 = resolve_str (&idx, either, 1);
        assert_string_equal (s4, "bee 1, either 1");

        /* Roots are relation expressions too. */
        static const char *const versioned[] = { "libx (<< 2)" };
        cleanup_free char *s5 = resolve_str (&idx, versioned, 1);
        assert_string_equal (s5, "libx 1.2");
        deb_index_free (&idx);
}

static void
resolve_errors (void **state)
{
        struct deb_index idx = DEB_INDEX_INIT;
        (void) state;
        synthetic_index (&idx);

        static const char *const top[] = { "top" };
        cleanup_free char *s1 = resolve_str (&idx, top, 1);
        assert_string_equal (s1, "unsatisfiable dependency: top -> mid -> leaf (>= 5) | gone; "
                                 "no version of `leaf` fits; no package `gone`");

        static const char *const unknown[] = { "nosuch" };
        cleanup_free char *s2 = resolve_str (&idx, unknown, 1);
        assert_string_equal (s2, "unsatisfiable dependency: nosuch; no package `nosuch`");

        /* One name, one version: libx 2.0+deb13u1 is chosen first. */
        static const char *const clash[] = { "libx", "wantsold" };
        cleanup_free char *s3 = resolve_str (&idx, clash, 2);
        assert_string_equal (s3, "unsatisfiable dependency: wantsold -> libx (<< 1.0); "
                                 "libx 2.0+deb13u1 is already chosen");

        static const char *const bad[] = { "a (>= " };
        cleanup_free char *s4 = resolve_str (&idx, bad, 1);
        assert_string_equal (s4, "roots: malformed root `a (>= `");
        deb_index_free (&idx);
}

static void
resolve_keeps_pins (void **state)
{
        struct deb_index idx = DEB_INDEX_INIT;
        static const char *const roots[] = { "libx", "either" };
        static const char *const pin_names[] = { "libx", "bee", "unrelated" };
        static const char *const pin_versions[] = { "1.2", "9.9", "1" };
        size_t *v = NULL, n = 0;
        pgimg_error_t err = NULL;
        (void) state;
        synthetic_index (&idx);

        /* libx stays at its pin; bee's pin names a version that is gone,
         * so the best one is taken; a pin adds nothing by itself. */
        assert_int_equal (deb_resolve_pinned (&idx, roots, 2, pin_names, pin_versions, 3, &v, &n, &err), 0);
        cleanup_free char *s = describe (&idx, v, n);
        assert_string_equal (s, "bee 1, either 1, libx 1.2");
        free (v);
        deb_index_free (&idx);
}

/* ------------------------------------------------------------------ */
/* Unpacking                                                           */

struct tar_file {
        const char *path;
        int type;               /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0: hardlink */
        int mode;
        const char *content;    /* or link target */
        int uid, gid;
};

/* A tar in memory, compressed with filter (ARCHIVE_FILTER_*). */
static void
make_tar (const struct tar_file *files, size_t n, int filter, struct buf *out)
{
        struct archive *a = archive_write_new ();
        size_t size = 1 << 20, used = 0;
        char *mem = malloc (size);

        assert_non_null (mem);
        assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
        assert_int_equal (archive_write_add_filter (a, filter), ARCHIVE_OK);
        assert_int_equal (archive_write_open_memory (a, mem, size, &used), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new ();
                size_t len = files[i].type == AE_IFREG && files[i].content ? strlen (files[i].content) : 0;
                archive_entry_set_pathname (e, files[i].path);
                archive_entry_set_uid (e, files[i].uid);
                archive_entry_set_gid (e, files[i].gid);
                archive_entry_set_mtime (e, 1700000000, 0);
                if (files[i].type == 0) {
                        archive_entry_set_filetype (e, AE_IFREG);
                        archive_entry_set_perm (e, files[i].mode);
                        archive_entry_set_hardlink (e, files[i].content);
                } else {
                        archive_entry_set_filetype (e, files[i].type);
                        archive_entry_set_perm (e, files[i].mode);
                        if (files[i].type == AE_IFLNK)
                                archive_entry_set_symlink (e, files[i].content);
                        archive_entry_set_size (e, (la_int64_t) len);
                }
                assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
                if (len)
                        assert_int_equal (archive_write_data (a, files[i].content, len), (la_ssize_t) len);
                archive_entry_free (e);
        }
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_write_free (a);
        buf_add (out, mem, used);
        free (mem);
}

static void
ar_member (struct archive *a, const char *name, const void *data, size_t len)
{
        struct archive_entry *e = archive_entry_new ();
        archive_entry_set_pathname (e, name);
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_perm (e, 0644);
        archive_entry_set_size (e, (la_int64_t) len);
        assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
        assert_int_equal (archive_write_data (a, data, len), (la_ssize_t) len);
        archive_entry_free (e);
}

/* A .deb whose control.tar holds control (and md5sums, unless NULL). */
static void
make_deb_with (const char *path, const char *control_text, const char *md5sums, const struct tar_file *data,
               size_t n)
{
        const struct tar_file control[] = {
                { "./", AE_IFDIR, 0755, NULL, 0, 0 },
                { "./control", AE_IFREG, 0644, control_text, 0, 0 },
                { "./md5sums", AE_IFREG, 0644, md5sums, 0, 0 },
        };
        cleanup_buf struct buf ctl = BUF_INIT;
        cleanup_buf struct buf dat = BUF_INIT;
        struct archive *a = archive_write_new ();

        make_tar (control, md5sums ? 3 : 2, ARCHIVE_FILTER_GZIP, &ctl);
        make_tar (data, n, ARCHIVE_FILTER_XZ, &dat);
        assert_int_equal (archive_write_set_format_ar_svr4 (a), ARCHIVE_OK);
        assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
        ar_member (a, "debian-binary", "2.0\n", 4);
        ar_member (a, "control.tar.gz", ctl.data, ctl.len);
        ar_member (a, "data.tar.xz", dat.data, dat.len);
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_write_free (a);
}

static void
make_deb (const char *path, const struct tar_file *data, size_t n)
{
        make_deb_with (path, "Package: p\nVersion: 1.0\nArchitecture: amd64\n", NULL, data, n);
}

static const struct tar_file sample[] = {
        { "./", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./bin/", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./bin/x", AE_IFREG, 0755, "#!/bin/sh\necho x\n", 0, 0 },
        { "./bin/y", 0, 0755, "./bin/x", 0, 0 },
        { "./usr/", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./usr/bin/", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./usr/bin/su", AE_IFREG, 04755, "setuid", 0, 0 },
        { "./usr/bin/wall", AE_IFREG, 02755, "setgid", 0, 5 },
        { "./usr/share/doc/p/", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./usr/share/doc/p/README", AE_IFREG, 0644, "read me", 0, 0 },
        { "./usr/share/doc/p/copyright", AE_IFREG, 0644, "(c)", 0, 0 },
        { "./usr/lib/p/", AE_IFDIR, 0755, NULL, 0, 0 },
        { "./usr/lib/p/link", AE_IFLNK, 0777, "../../bin/x", 0, 0 },
        { "./usr/lib/p/escape", AE_IFLNK, 0777, "../../../../../../../../tmp", 0, 0 },
        { "./var/tmp/", AE_IFDIR, 01777, NULL, 0, 0 },
};

struct unpack_fixture {
        char *dir, *deb, *root;
};

static int
unpack_setup (void **state)
{
        struct unpack_fixture *f = calloc (1, sizeof (*f));
        char tmpl[] = "/tmp/pgimg-test-deb-XXXXXX";
        assert_non_null (mkdtemp (tmpl));
        f->dir = strdup (tmpl);
        assert_true (asprintf (&f->deb, "%s/p.deb", f->dir) > 0);
        assert_true (asprintf (&f->root, "%s/root", f->dir) > 0);
        make_deb (f->deb, sample, sizeof (sample) / sizeof (sample[0]));
        *state = f;
        return 0;
}

static int
unpack_teardown (void **state)
{
        struct unpack_fixture *f = *state;
        pgimg_error_t err = NULL;
        fs_rm_rf (f->dir, &err);
        pgimg_error_free (&err);
        free (f->dir);
        free (f->deb);
        free (f->root);
        free (f);
        return 0;
}

static char *
in_root (const struct unpack_fixture *f, const char *rel)
{
        char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", f->root, rel) > 0);
        return p;
}

static mode_t
mode_of (const struct unpack_fixture *f, const char *rel)
{
        cleanup_free char *p = in_root (f, rel);
        struct stat st;
        if (lstat (p, &st) < 0)
                return 0;
        return st.st_mode;
}

static void
unpack_merged_usr_and_owners (void **state)
{
        struct unpack_fixture *f = *state;
        static const char *const exclude[] = { "/usr/share/doc/*", NULL };
        static const char *const include[] = { "/usr/share/doc/*/copyright", NULL };
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        struct deb_unpack_opts opts = { exclude, include, &owners };
        pgimg_error_t err = NULL;
        char target[64];
        ssize_t n;

        if (deb_unpack (f->deb, f->root, &opts, &err) < 0)
                fail_msg ("%s", err->msg);
        /* Twice: existing files are replaced, not an error. */
        if (deb_unpack (f->deb, f->root, &opts, &err) < 0)
                fail_msg ("%s", err->msg);

        cleanup_free char *bin = in_root (f, "bin");
        n = readlink (bin, target, sizeof (target) - 1);
        assert_true (n > 0);
        target[n] = '\0';
        assert_string_equal (target, "usr/bin");
        assert_true (S_ISLNK (mode_of (f, "lib64")));
        assert_true (S_ISREG (mode_of (f, "usr/bin/x")));
        assert_int_equal (mode_of (f, "usr/bin/x") & 07777, 0755);
        assert_true (S_ISREG (mode_of (f, "usr/bin/y")));     /* the hard link */
        assert_true (S_ISLNK (mode_of (f, "usr/lib/p/link")));
        assert_int_equal (mode_of (f, "usr/share/doc/p/README"), 0);
        assert_true (S_ISREG (mode_of (f, "usr/share/doc/p/copyright")));

        /* Set-id bits stay off the disk and go to the owner map. */
        assert_int_equal (mode_of (f, "usr/bin/su") & 07777, 0755);
        const struct owner_entry *su = owner_map_get (&owners, "usr/bin/su");
        assert_non_null (su);
        assert_int_equal (su->mode, 04755);
        const struct owner_entry *wall = owner_map_get (&owners, "usr/bin/wall");
        assert_non_null (wall);
        assert_int_equal (wall->gid, 5);
        assert_int_equal (wall->mode, 02755);
        const struct owner_entry *tmp = owner_map_get (&owners, "var/tmp");
        assert_non_null (tmp);
        assert_int_equal (tmp->mode, 01777);
        assert_null (owner_map_get (&owners, "usr/bin/x"));
        assert_null (owner_map_get (&owners, "usr/lib/p/link"));
        assert_int_equal (owners.n, 3);

        cleanup_buf struct buf control = BUF_INIT;
        assert_int_equal (deb_read_control (f->deb, &control, &err), 0);
        assert_non_null (strstr (control.data, "Package: p\n"));
}

/* What scanners read: the control paragraph with its Status, and no
 * md5sums file for a .deb that ships none. */
static void
unpack_writes_dpkg_status (void **state)
{
        struct unpack_fixture *f = *state;
        struct deb_unpack_opts opts = { NULL, NULL, NULL, 1 };
        cleanup_buf struct buf status = BUF_INIT;
        cleanup_free char *path = in_root (f, "var/lib/dpkg/status.d/p");
        pgimg_error_t err = NULL;

        assert_int_equal (deb_unpack (f->deb, f->root, &opts, &err), 0);
        assert_int_equal (fs_read_file (path, 1 << 16, &status, &err), 0);
        assert_string_equal (status.data, "Package: p\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n");
        assert_int_equal (mode_of (f, "var/lib/dpkg/status.d/p.md5sums"), 0);

        /* md5sums when the .deb ships them; a name that would leave the
         * directory is refused. */
        cleanup_free char *md5 = in_root (f, "var/lib/dpkg/status.d/q.md5sums");
        cleanup_buf struct buf sums = BUF_INIT;
        make_deb_with (f->deb, "Package: q\nVersion: 2\n", "0123  usr/bin/x\n", sample, 1);
        assert_int_equal (deb_unpack (f->deb, f->root, &opts, &err), 0);
        assert_int_equal (fs_read_file (md5, 1 << 16, &sums, &err), 0);
        assert_string_equal (sums.data, "0123  usr/bin/x\n");
        make_deb_with (f->deb, "Package: ../../evil\nVersion: 2\n", NULL, sample, 1);
        assert_true (deb_unpack (f->deb, f->root, &opts, &err) < 0);
        assert_non_null (strstr (err->msg, "names no valid Package; the .deb is damaged"));
        pgimg_error_free (&err);
}

static void
unpack_stays_in_root (void **state)
{
        struct unpack_fixture *f = *state;
        pgimg_error_t err = NULL;
        cleanup_free char *evil_deb = NULL, *through_deb = NULL, *outside = NULL;
        static const struct tar_file evil[] = {
                { "./usr/../../evil", AE_IFREG, 0644, "x", 0, 0 },
        };
        /* Written through the link "escape" -> ../../../../tmp that the
         * sample put in the root: it must land in <root>/tmp. */
        static const struct tar_file through[] = {
                { "./usr/lib/p/escape/pgimg-test-escape", AE_IFREG, 0644, "x", 0, 0 },
        };

        assert_int_equal (deb_unpack (f->deb, f->root, NULL, &err), 0);
        assert_true (asprintf (&evil_deb, "%s/evil.deb", f->dir) > 0);
        make_deb (evil_deb, evil, 1);
        assert_true (deb_unpack (evil_deb, f->root, NULL, &err) < 0);
        cleanup_free char *want = NULL;
        assert_true (asprintf (&want, "`%s`: refusing `./usr/../../evil`, which leaves the root", evil_deb) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_true (asprintf (&outside, "%s/evil", f->dir) > 0);
        assert_false (fs_exists (outside));

        assert_true (asprintf (&through_deb, "%s/through.deb", f->dir) > 0);
        make_deb (through_deb, through, 1);
        if (deb_unpack (through_deb, f->root, NULL, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_false (fs_exists ("/tmp/pgimg-test-escape"));
        assert_true (S_ISREG (mode_of (f, "tmp/pgimg-test-escape")));
}

/* A data.tar with out -> <a host directory> and a file through it: the
 * file lands below the root's own copy of that path, never on the host,
 * whichever way the resolver walks. */
static void
unpack_through_absolute_link (const struct unpack_fixture *f, int use_openat2)
{
        pgimg_error_t err = NULL;
        cleanup_free char *host = NULL, *deb = NULL, *on_host = NULL, *in = NULL;
        cleanup_free char *rel = NULL;

        assert_true (asprintf (&host, "%s/host-%d", f->dir, use_openat2) > 0);
        assert_int_equal (mkdir (host, 0755), 0);
        const struct tar_file out[] = {
                { "./opt/", AE_IFDIR, 0755, NULL, 0, 0 },
                { "./opt/out", AE_IFLNK, 0777, host, 0, 0 },
                { "./opt/out/planted", AE_IFREG, 0644, "x", 0, 0 },
                { "./opt/out/sub/planted", AE_IFREG, 0644, "x", 0, 0 },
        };
        assert_true (asprintf (&deb, "%s/out-%d.deb", f->dir, use_openat2) > 0);
        make_deb (deb, out, sizeof (out) / sizeof (out[0]));
        resolve_use_openat2 (use_openat2);
        int r = deb_unpack (deb, f->root, NULL, &err);
        resolve_use_openat2 (1);
        if (r < 0)
                fail_msg ("%s", err->msg);
        assert_true (asprintf (&on_host, "%s/planted", host) > 0);
        assert_false (fs_exists (on_host));
        free (on_host);
        on_host = NULL;
        assert_true (asprintf (&on_host, "%s/sub", host) > 0);
        assert_false (fs_exists (on_host));
        assert_true (asprintf (&rel, "%s/sub/planted", host + 1) > 0);
        assert_true (S_ISREG (mode_of (f, rel)));
}

static void
unpack_absolute_link_stays_in_root (void **state)
{
        struct unpack_fixture *f = *state;

        unpack_through_absolute_link (f, 1);
        unpack_through_absolute_link (f, 0);
}

static void
unpack_errors (void **state)
{
        struct unpack_fixture *f = *state;
        pgimg_error_t err = NULL;
        cleanup_free char *not_deb = NULL, *want = NULL;
        cleanup_buf struct buf control = BUF_INIT;

        assert_true (asprintf (&not_deb, "%s/not.deb", f->dir) > 0);
        assert_int_equal (fs_write_file_atomic (not_deb, "!<arch>\n", 8, 0644, &err), 0);
        assert_true (deb_unpack (not_deb, f->root, NULL, &err) < 0);
        assert_true (asprintf (&want, "`%s` has no data.tar member", not_deb) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_true (deb_read_control ("/nonexistent.deb", &control, &err) < 0);
        assert_non_null (strstr (err->msg, "open `/nonexistent.deb`"));
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (version_ordering),
                cmocka_unit_test (packages_parse_fields),
                cmocka_unit_test (packages_parse_errors),
                cmocka_unit_test (resolve_picks),
                cmocka_unit_test (resolve_errors),
                cmocka_unit_test (resolve_keeps_pins),
                cmocka_unit_test_setup_teardown (unpack_merged_usr_and_owners, unpack_setup, unpack_teardown),
                cmocka_unit_test_setup_teardown (unpack_stays_in_root, unpack_setup, unpack_teardown),
                cmocka_unit_test_setup_teardown (unpack_writes_dpkg_status, unpack_setup, unpack_teardown),
                cmocka_unit_test_setup_teardown (unpack_absolute_link_stays_in_root, unpack_setup,
                                                 unpack_teardown),
                cmocka_unit_test_setup_teardown (unpack_errors, unpack_setup, unpack_teardown),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
