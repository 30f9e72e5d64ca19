/* test_layers.c - layer writing, extraction and the layer cache. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/owners.h"
#include "common/sha256.h"
#include "layers/cache.h"
#include "layers/layer.h"
#include "layers/store.h"

#define LONG_DIR "a-directory-with-a-name-long-enough-that-ustar-cannot-hold-the-path-of-what-is-inside-it"

static const enum layer_compression all_compressions[] = { LAYER_GZIP, LAYER_ZSTD,
                                                           LAYER_UNCOMPRESSED };

/* Helpers */

static char *
make_temp_dir (void)
{
        char *d = strdup ("/tmp/pgimg-test-layers-XXXXXX");
        assert_non_null (d);
        assert_non_null (mkdtemp (d));
        return d;
}

static char *
join (const char *a, const char *b)
{
        char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", a, b) > 0);
        return p;
}

static void
remove_tree (const char *path)
{
        pgimg_error_t err = NULL;
        assert_int_equal (fs_rm_rf (path, &err), 0);
}

static void
put_file (const char *root, const char *rel, const char *content, mode_t mode, time_t mtime)
{
        cleanup_free char *p = join (root, rel);
        struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
        int fd = open (p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true (fd >= 0);
        assert_int_equal (fs_write_all (fd, content, strlen (content)), 0);
        assert_int_equal (close (fd), 0);
        assert_int_equal (chmod (p, mode), 0);
        assert_int_equal (utimensat (AT_FDCWD, p, ts, 0), 0);
}

static void
put_dir (const char *root, const char *rel)
{
        cleanup_free char *p = join (root, rel);
        assert_int_equal (mkdir (p, 0700), 0);
}

static void
put_symlink (const char *root, const char *rel, const char *target)
{
        cleanup_free char *p = join (root, rel);
        assert_int_equal (symlink (target, p), 0);
}

static void
put_hardlink (const char *root, const char *existing, const char *rel)
{
        cleanup_free char *a = join (root, existing);
        cleanup_free char *b = join (root, rel);
        assert_int_equal (link (a, b), 0);
}

/* The same tree, built in a different order, with different modes
 * (0600 vs 0644, 0700 vs 0755) and mtimes, depending on variant. */
static char *
make_tree (int variant)
{
        char *root = make_temp_dir ();
        mode_t plain = variant ? 0600 : 0644;
        mode_t exec = variant ? 0700 : 0755;
        time_t t = variant ? 1700000000 : 1000;

        if (variant == 0) {
                put_dir (root, "a");
                put_dir (root, "a/b");
                put_file (root, "a/b/deep.txt", "deep\n", plain, t);
                put_file (root, "a/x.sh", "#!/bin/sh\necho hi\n", exec, t);
                put_file (root, "a-b", "sibling\n", plain, t);
                put_file (root, "a/hard", "linked content\n", plain, t);
                put_hardlink (root, "a/hard", "z-hard");
                put_symlink (root, "link", "a/x.sh");
                put_dir (root, LONG_DIR);
                put_file (root, LONG_DIR "/inside-a-long-path.txt", "long\n", plain, t);
                put_file (root, "caf\xc3\xa9", "bytes in a name\n", plain, t);
        } else {
                put_file (root, "caf\xc3\xa9", "bytes in a name\n", plain, t);
                put_dir (root, LONG_DIR);
                put_file (root, LONG_DIR "/inside-a-long-path.txt", "long\n", plain, t);
                put_symlink (root, "link", "a/x.sh");
                put_file (root, "z-hard", "linked content\n", plain, t);
                put_file (root, "a-b", "sibling\n", plain, t);
                put_dir (root, "a");
                put_hardlink (root, "z-hard", "a/hard");
                put_file (root, "a/x.sh", "#!/bin/sh\necho hi\n", exec, t);
                put_dir (root, "a/b");
                put_file (root, "a/b/deep.txt", "deep\n", plain, t);
        }
        return root;
}

static char *
blob_path (const char *blob_dir, const struct layer_desc *d)
{
        return join (blob_dir, d->digest + strlen ("sha256:"));
}

static struct archive *
open_blob (const char *path, int raw)
{
        struct archive *a = archive_read_new ();
        assert_non_null (a);
        archive_read_support_filter_all (a);
        if (raw)
                archive_read_support_format_raw (a);
        else
                archive_read_support_format_tar (a);
        assert_int_equal (archive_read_open_filename (a, path, 1 << 16), ARCHIVE_OK);
        return a;
}

/* sha256 of the decompressed blob */
static void
uncompressed_sha256 (const char *path, char hex[SHA256_HEX_LEN + 1])
{
        struct archive *a = open_blob (path, 1);
        struct archive_entry *e;
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        pgimg_error_t err = NULL;
        char chunk[1 << 14];
        la_ssize_t n;

        assert_int_equal (sha256_init (&h, &err), 0);
        assert_int_equal (archive_read_next_header (a, &e), ARCHIVE_OK);
        while ((n = archive_read_data (a, chunk, sizeof (chunk))) > 0)
                assert_int_equal (sha256_update (&h, chunk, (size_t) n, &err), 0);
        assert_int_equal (n, 0);
        assert_int_equal (sha256_final_hex (&h, hex, &err), 0);
        archive_read_free (a);
}

static void
write_layer (const char *root, const struct layer_opts *opts, const char *blob_dir,
             struct layer_desc *d)
{
        pgimg_error_t err = NULL;
        int r = layer_write (root, opts, blob_dir, d, &err);
        if (r < 0)
                fail_msg ("layer_write: %s", err->msg);
}

/* Write tree as a layer into cache's blob store (*blobs, malloc'ed)
 * and record it under key. */
static void
store_layer (const char *cache, const char *key, const char *tree, const struct layer_opts *opts, char **blobs,
             struct layer_desc *d)
{
        pgimg_error_t err = NULL;

        assert_int_equal (layer_cache_blob_dir (cache, blobs, &err), 0);
        write_layer (tree, opts, *blobs, d);
        assert_int_equal (layer_cache_store (cache, key, d, &err), 0);
}

/* The entries of a layer, in order, as "path mode uid gid [-> link]". */
static char **
list_layer (const char *path, size_t *n_out)
{
        struct archive *a = open_blob (path, 0);
        struct archive_entry *e;
        char **v = calloc (64, sizeof (char *));
        size_t n = 0;

        assert_non_null (v);
        int r;

        /* ARCHIVE_WARN: a UTF-8 name that the C locale cannot show. */
        while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                const char *hl = archive_entry_hardlink (e);
                const char *sl = archive_entry_symlink (e);
                assert_true (n < 63);
                assert_int_equal (archive_entry_mtime (e), 1234567890);
                assert_false (archive_entry_atime_is_set (e));
                assert_false (archive_entry_ctime_is_set (e));
                assert_true (asprintf (&v[n++], "%s %04o %lld %lld%s%s", archive_entry_pathname (e),
                                       (unsigned) archive_entry_perm (e),
                                       (long long) archive_entry_uid (e),
                                       (long long) archive_entry_gid (e),
                                       hl ? " => " : sl ? " -> " : "", hl ? hl : sl ? sl : "")
                            > 0);
        }
        archive_read_free (a);
        *n_out = n;
        return v;
}

static int
has_entry (char **v, const char *line)
{
        for (; *v; v++)
                if (strcmp (*v, line) == 0)
                        return 1;
        return 0;
}

/* Tests */

static void
same_tree_same_digests (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *t1 = make_tree (1);
        cleanup_free char *blobs = make_temp_dir ();
        (void) state;

        for (size_t i = 0; i < 3; i++) {
                struct layer_opts opts = { .mtime = 1234567890, .compression = all_compressions[i] };
                struct layer_desc d0, d1;
                cleanup_free char *path = NULL;
                char hex[SHA256_HEX_LEN + 1];
                pgimg_error_t err = NULL;
                struct stat st;

                write_layer (t0, &opts, blobs, &d0);
                /* The caller's locale must not change a name's bytes. */
                assert_non_null (setlocale (LC_ALL, "C.UTF-8"));
                write_layer (t1, &opts, blobs, &d1);
                assert_non_null (setlocale (LC_ALL, "C"));
                assert_string_equal (d0.digest, d1.digest);
                assert_string_equal (d0.diff_id, d1.diff_id);
                assert_int_equal (d0.size, d1.size);
                assert_int_equal (d0.compression, all_compressions[i]);
                path = blob_path (blobs, &d0);
                assert_int_equal (stat (path, &st), 0);
                assert_int_equal ((uint64_t) st.st_size, d0.size);
                assert_int_equal (sha256_file_hex (path, hex, &err), 0);
                assert_string_equal (hex, d0.digest + 7);
                uncompressed_sha256 (path, hex);
                assert_string_equal (hex, d0.diff_id + 7);
                if (all_compressions[i] == LAYER_UNCOMPRESSED)
                        assert_string_equal (d0.digest, d0.diff_id);
                else
                        assert_string_not_equal (d0.digest, d0.diff_id);
        }
        remove_tree (t0);
        remove_tree (t1);
        remove_tree (blobs);
}

/* Compressed output must not depend on how many threads compress it. */
static void
thread_count_does_not_matter (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *blobs = make_temp_dir ();
        cleanup_free char *big = join (t0, "big");
        (void) state;

        /* Several gzip blocks of compressible but varied content. */
        {
                cleanup_file FILE *f = fopen (big, "w");
                assert_non_null (f);
                for (int i = 0; i < 60000; i++)
                        fprintf (f, "line %d of a file %x\n", i, (unsigned) (i * 2654435761u));
        }
        for (size_t i = 0; i < 2; i++) {
                struct layer_opts opts = { .mtime = 1234567890, .compression = all_compressions[i] };
                struct layer_desc d1, d3;
                char hex[SHA256_HEX_LEN + 1];
                cleanup_free char *path = NULL;

                setenv ("PGIMG_LAYER_THREADS", "1", 1);
                write_layer (t0, &opts, blobs, &d1);
                setenv ("PGIMG_LAYER_THREADS", "3", 1);
                write_layer (t0, &opts, blobs, &d3);
                unsetenv ("PGIMG_LAYER_THREADS");
                assert_string_equal (d1.digest, d3.digest);
                path = blob_path (blobs, &d1);
                uncompressed_sha256 (path, hex);
                assert_string_equal (hex, d1.diff_id + 7);
        }
        remove_tree (t0);
        remove_tree (blobs);
}

static void
entries_sorted_and_normalized (void **state)
{
        cleanup_free char *t1 = make_tree (1);
        cleanup_free char *blobs = make_temp_dir ();
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_GZIP };
        struct layer_desc d;
        cleanup_free char *path = NULL;
        cleanup_strv char **v = NULL;
        size_t n;
        (void) state;

        write_layer (t1, &opts, blobs, &d);
        path = blob_path (blobs, &d);
        v = list_layer (path, &n);
        assert_int_equal (n, 11);
        for (size_t i = 1; i < n; i++)
                if (strcmp (v[i - 1], v[i]) >= 0)
                        fail_msg ("not sorted: `%s` before `%s`", v[i - 1], v[i]);
        assert_string_equal (v[0], "a-b 0644 0 0");
        assert_string_equal (v[1], LONG_DIR "/ 0755 0 0");
        assert_string_equal (v[2], LONG_DIR "/inside-a-long-path.txt 0644 0 0");
        assert_string_equal (v[3], "a/ 0755 0 0");
        assert_string_equal (v[4], "a/b/ 0755 0 0");
        assert_string_equal (v[5], "a/b/deep.txt 0644 0 0");
        /* The first name in sorted order holds the data. */
        assert_string_equal (v[6], "a/hard 0644 0 0");
        assert_string_equal (v[7], "a/x.sh 0755 0 0");
        assert_string_equal (v[8], "caf\xc3\xa9 0644 0 0");
        assert_string_equal (v[9], "link 0777 0 0 -> a/x.sh");
        assert_string_equal (v[10], "z-hard 0644 0 0 => a/hard");
        remove_tree (t1);
        remove_tree (blobs);
}

static void
owner_map_and_exclude (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *blobs = make_temp_dir ();
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        const char *const exclude[] = { "a/b", "a/*.sh", LONG_DIR, NULL };
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_ZSTD,
                                   .owners = &owners, .exclude = exclude };
        struct layer_desc d;
        pgimg_error_t err = NULL;
        cleanup_free char *path = NULL;
        cleanup_strv char **v = NULL;
        size_t n;
        (void) state;

        assert_int_equal (owner_map_set (&owners, "a", 999, 999, 0700, &err), 0);
        assert_int_equal (owner_map_set (&owners, "a/hard", 999, 50, 04750, &err), 0);
        write_layer (t0, &opts, blobs, &d);
        path = blob_path (blobs, &d);
        v = list_layer (path, &n);
        assert_int_equal (n, 6);
        assert_string_equal (v[0], "a-b 0644 0 0");
        assert_string_equal (v[1], "a/ 0700 999 999");
        assert_string_equal (v[2], "a/hard 4750 999 50");
        assert_false (has_entry (v, "a/b/ 0755 0 0"));
        assert_false (has_entry (v, "a/x.sh 0755 0 0"));
        assert_string_equal (v[5], "z-hard 0644 0 0 => a/hard");
        remove_tree (t0);
        remove_tree (blobs);
}

/* The entries of make_tree (0) written with exclude and keep. */
static char **
listing_with (const char *const *exclude, const char *const *keep)
{
        char *tree = make_tree (0), *blobs = make_temp_dir (), *path;
        struct layer_opts opts = { .mtime = 1234567890, .exclude = exclude, .keep = keep };
        struct layer_desc d;
        char **v;
        size_t n;

        write_layer (tree, &opts, blobs, &d);
        v = list_layer (path = blob_path (blobs, &d), &n);
        remove_tree (tree);
        remove_tree (blobs);
        free (path);
        free (tree);
        free (blobs);
        return v;
}

/* keep brings back what exclude matches: a file, or a directory with
 * what is below it. */
static void
exclude_but_keep (void **state)
{
        const char *const exclude[] = { "a/*", NULL };
        const char *const keep[] = { "a/*.sh", "a/b", NULL };
        cleanup_strv char **without = listing_with (exclude, NULL);
        cleanup_strv char **with = listing_with (exclude, keep);
        (void) state;

        assert_true (has_entry (without, "a/ 0755 0 0") && has_entry (with, "a/ 0755 0 0"));
        assert_false (has_entry (without, "a/x.sh 0755 0 0"));
        assert_true (has_entry (with, "a/x.sh 0755 0 0"));
        assert_false (has_entry (without, "a/b/deep.txt 0644 0 0"));
        assert_true (has_entry (with, "a/b/deep.txt 0644 0 0"));
        assert_false (has_entry (with, "a/hard 0644 0 0"));
}

static void
extract_round_trip (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *blobs = make_temp_dir ();
        cleanup_free char *dest = make_temp_dir ();
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        cleanup_owner_map struct owner_map found = OWNER_MAP_INIT;
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_GZIP,
                                   .owners = &owners };
        struct layer_desc d;
        pgimg_error_t err = NULL;
        cleanup_free char *path = NULL;
        cleanup_free char *hard = join (dest, "a/hard");
        cleanup_free char *hard2 = join (dest, "z-hard");
        cleanup_free char *link = join (dest, "link");
        cleanup_free char *script = join (dest, "a/x.sh");
        cleanup_buf struct buf b = BUF_INIT;
        char target[64];
        struct stat s1, s2;
        ssize_t len;
        (void) state;

        assert_int_equal (owner_map_set (&owners, "a/b", 70, 71, 0750, &err), 0);
        write_layer (t0, &opts, blobs, &d);
        path = blob_path (blobs, &d);
        if (layer_extract (path, dest, &found, &err) < 0)
                fail_msg ("layer_extract: %s", err->msg);
        assert_int_equal (stat (hard, &s1), 0);
        assert_int_equal (stat (hard2, &s2), 0);
        assert_int_equal (s1.st_ino, s2.st_ino);
        assert_int_equal (s1.st_mode & 07777, 0644);
        assert_int_equal (s1.st_mtime, 1234567890);
        len = readlink (link, target, sizeof (target) - 1);
        assert_int_equal (len, 6);
        target[len] = '\0';
        assert_string_equal (target, "a/x.sh");
        assert_int_equal (fs_read_file (link, 0, &b, &err), 0);
        assert_string_equal (b.data, "#!/bin/sh\necho hi\n");
        assert_int_equal (stat (script, &s1), 0);
        assert_int_equal (s1.st_mode & 07777, 0755);
        /* Only the entry that is not root:root with a normal mode. */
        assert_int_equal (found.n, 1);
        const struct owner_entry *o = owner_map_get (&found, "a/b");
        assert_non_null (o);
        assert_int_equal (o->uid, 70);
        assert_int_equal (o->gid, 71);
        assert_int_equal (o->mode, 0750);
        remove_tree (t0);
        remove_tree (blobs);
        remove_tree (dest);
}

/* A hand-made tar with one hostile entry. */
static char *
hostile_tar (const char *dir, const char *name, const char *symlink_name, const char *symlink_to)
{
        char *path = join (dir, "hostile.tar");
        struct archive *a = archive_write_new ();
        struct archive_entry *e = archive_entry_new ();

        archive_write_set_format_pax_restricted (a);
        assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
        if (symlink_name) {
                archive_entry_set_pathname (e, symlink_name);
                archive_entry_set_filetype (e, AE_IFLNK);
                archive_entry_set_perm (e, 0777);
                archive_entry_set_symlink (e, symlink_to);
                assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
                archive_entry_clear (e);
        }
        archive_entry_set_pathname (e, name);
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_perm (e, 0644);
        archive_entry_set_size (e, 4);
        assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
        assert_int_equal (archive_write_data (a, "evil", 4), 4);
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_entry_free (e);
        archive_write_free (a);
        return path;
}

static void
extract_refuses_escapes (void **state)
{
        cleanup_free char *work = make_temp_dir ();
        cleanup_free char *dest = join (work, "dest");
        cleanup_free char *outside = join (work, "outside");
        cleanup_free char *escaped = join (work, "outside/f");
        struct {
                const char *name, *link_name, *link_to, *message;
        } cases[] = {
                { "../evil", NULL, NULL, "refusing the entry `../evil`" },
                { "/tmp/evil", NULL, NULL, "refusing the entry `/tmp/evil`" },
                { "a/../../evil", NULL, NULL, "refusing the entry `a/../../evil`" },
                { "s/f", "s", outside, "s/f" },
        };
        (void) state;

        assert_int_equal (mkdir (outside, 0755), 0);
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                cleanup_free char *tar = hostile_tar (work, cases[i].name, cases[i].link_name,
                                                      cases[i].link_to);
                pgimg_error_t err = NULL;
                assert_int_equal (mkdir (dest, 0755), 0);
                assert_true (layer_extract (tar, dest, NULL, &err) < 0);
                assert_non_null (strstr (err->msg, cases[i].message));
                pgimg_error_free (&err);
                assert_false (fs_exists (escaped));
                remove_tree (dest);
        }
        remove_tree (work);
}

static void
cache_miss_store_hit_corrupt (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *cache = make_temp_dir ();
        cleanup_free char *blobs = NULL;
        cleanup_free char *path = NULL;
        cleanup_free char *entry = NULL;
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_ZSTD };
        struct layer_key k = LAYER_KEY_INIT;
        struct layer_desc d, got;
        pgimg_error_t err = NULL;
        char key[SHA256_HEX_LEN + 1];
        char other[SHA256_HEX_LEN + 1];
        (void) state;

        assert_int_equal (layer_key_init (&k, &err), 0);
        assert_int_equal (layer_key_add (&k, "recipe", "postgres-18", &err), 0);
        assert_int_equal (layer_key_add (&k, "lock", "sha256:00", &err), 0);
        assert_int_equal (layer_key_final (&k, key, &err), 0);
        layer_key_free (&k);
        /* The lengths keep "a"+"bc" apart from "ab"+"c". */
        assert_int_equal (layer_key_init (&k, &err), 0);
        assert_int_equal (layer_key_add (&k, "recipe", "postgres-1", &err), 0);
        assert_int_equal (layer_key_add (&k, "lock", "8sha256:00", &err), 0);
        assert_int_equal (layer_key_final (&k, other, &err), 0);
        layer_key_free (&k);
        assert_string_not_equal (key, other);

        assert_int_equal (layer_cache_lookup (cache, key, &got, &err), 0);
        store_layer (cache, key, t0, &opts, &blobs, &d);
        memset (&got, 0, sizeof (got));
        assert_int_equal (layer_cache_lookup (cache, key, &got, &err), 1);
        assert_string_equal (got.digest, d.digest);
        assert_string_equal (got.diff_id, d.diff_id);
        assert_int_equal (got.size, d.size);
        assert_int_equal (got.compression, LAYER_ZSTD);

        /* Flip a byte, keeping the size. */
        path = blob_path (blobs, &d);
        {
                int fd = open (path, O_RDWR | O_CLOEXEC);
                char c;
                assert_true (fd >= 0);
                assert_int_equal (pread (fd, &c, 1, 20), 1);
                c ^= 1;
                assert_int_equal (pwrite (fd, &c, 1, 20), 1);
                close (fd);
        }
        assert_true (asprintf (&entry, "%s/layers/%s.json", cache, key) > 0);
        assert_true (fs_exists (entry));
        assert_int_equal (layer_cache_lookup (cache, key, &got, &err), 0);
        assert_false (fs_exists (entry));
        assert_false (fs_exists (path));
        assert_int_equal (layer_cache_lookup (cache, key, &got, &err), 0);

        assert_true (layer_cache_lookup (cache, "../../etc/passwd", &got, &err) < 0);
        assert_string_equal (err->msg, "cache key `../../etc/passwd` is not a sha256");
        pgimg_error_free (&err);
        remove_tree (t0);
        remove_tree (cache);
}

/* A plan's look-up: the same answer as layer_cache_lookup, but a stale
 * entry stays for the build to drop; and the remote list's look-up. */
static void
cache_peek_and_entries (void **state)
{
        cleanup_free char *t0 = make_tree (0), *cache = make_temp_dir ();
        cleanup_free char *blobs = NULL, *path = NULL, *entry = NULL;
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_GZIP };
        struct layer_cache_entry v[3];
        struct layer_cache_entries es = { v, 3 };
        struct layer_desc d, got;
        pgimg_error_t err = NULL;
        const char *key = "1111111111111111111111111111111111111111111111111111111111111111";
        (void) state;

        assert_int_equal (layer_cache_peek (cache, key, &got, &err), 0);
        store_layer (cache, key, t0, &opts, &blobs, &d);
        memset (&got, 0, sizeof (got));
        assert_int_equal (layer_cache_peek (cache, key, &got, &err), 1);
        assert_string_equal (got.digest, d.digest);

        path = blob_path (blobs, &d);
        assert_int_equal (unlink (path), 0);
        assert_true (asprintf (&entry, "%s/layers/%s.json", cache, key) > 0);
        assert_int_equal (layer_cache_peek (cache, key, &got, &err), 0);
        assert_true (fs_exists (entry));
        assert_int_equal (layer_cache_lookup (cache, key, &got, &err), 0);
        assert_false (fs_exists (entry));

        memset (v, 0, sizeof (v));
        memset (v[0].key, '0', SHA256_HEX_LEN);
        memset (v[1].key, '1', SHA256_HEX_LEN);
        memset (v[2].key, '2', SHA256_HEX_LEN);
        v[1].desc = d;
        memset (&got, 0, sizeof (got));
        assert_int_equal (layer_cache_entries_find (&es, key, &got), 1);
        assert_string_equal (got.digest, d.digest);
        assert_int_equal (layer_cache_entries_find (&es, "3333333333333333333333333333333333333333333333333333333333333333", &got), 0);
        assert_int_equal (layer_cache_entries_find (NULL, key, &got), 0);
        remove_tree (t0);
        remove_tree (cache);
}

/* Several remote caches' lists as one, for a plan with several
 * --cache-from: sorted, each key once, the first cache's entry kept. */
static struct layer_cache_entry
entry_of (char k, uint64_t size)
{
        struct layer_cache_entry e;

        memset (&e, 0, sizeof (e));
        memset (e.key, k, SHA256_HEX_LEN);
        e.desc.size = size;
        return e;
}

static void
cache_entries_merge_in_order (void **state)
{
        struct layer_cache_entry a[] = { entry_of ('1', 1), entry_of ('3', 3) };
        struct layer_cache_entry b[] = { entry_of ('0', 10), entry_of ('3', 30), entry_of ('4', 40) };
        struct layer_cache_entries all = { 0 }, one = { a, 2 }, two = { b, 3 }, none = { NULL, 0 };
        struct layer_desc got;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (layer_cache_entries_merge (&all, &none, &err), 0);
        assert_int_equal (all.n, 0);
        assert_int_equal (layer_cache_entries_merge (&all, &one, &err), 0);
        assert_int_equal (layer_cache_entries_merge (&all, &two, &err), 0);
        assert_int_equal (all.n, 4);
        for (size_t i = 1; i < all.n; i++)
                assert_true (strcmp (all.v[i - 1].key, all.v[i].key) < 0);
        assert_int_equal (layer_cache_entries_find (&all, b[0].key, &got), 1);
        assert_int_equal (got.size, 10);
        assert_int_equal (layer_cache_entries_find (&all, a[1].key, &got), 1);
        assert_int_equal (got.size, 3);         /* the first cache's */
        assert_int_equal (layer_cache_entries_find (&all, b[2].key, &got), 1);
        assert_int_equal (got.size, 40);
        free (all.v);
}

/* A second taker of a key's build lock waits until the first lets go:
 * the child finds the holder's mark written when it gets the lock. */
static void
build_lock_waits_for_its_holder (void **state)
{
        cleanup_free char *cache = make_temp_dir ();
        cleanup_free char *mark = join (cache, "mark");
        const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        pgimg_error_t err = NULL;
        int fd = -1, status;
        pid_t pid;
        (void) state;

        assert_int_equal (layer_cache_lock (cache, key, "test layer", &fd, &err), 0);
        assert_true (fd >= 0);
        pid = fork ();
        assert_true (pid >= 0);
        if (pid == 0) {
                int child_fd = -1;
                /* The lock is the open file's: the copy a fork inherits
                 * holds it too. */
                close (fd);
                if (layer_cache_lock (cache, key, "test layer", &child_fd, &err) < 0)
                        _exit (2);
                _exit (fs_exists (mark) ? 0 : 1);
        }
        usleep (200 * 1000);
        assert_int_equal (fs_write_file_atomic (mark, "x", 1, 0644, &err), 0);
        close (fd);
        assert_int_equal (waitpid (pid, &status, 0), pid);
        assert_true (WIFEXITED (status));
        assert_int_equal (WEXITSTATUS (status), 0);

        /* The key is a file name: nothing but a sha256 reaches it. */
        assert_true (layer_cache_lock (cache, "../../etc/passwd", "x", &fd, &err) < 0);
        assert_string_equal (err->msg, "cache key `../../etc/passwd` is not a sha256");
        pgimg_error_free (&err);
        remove_tree (cache);
}

static void
errors_name_their_cause (void **state)
{
        cleanup_free char *blobs = make_temp_dir ();
        cleanup_free char *missing = join (blobs, "no-such-root");
        struct layer_opts opts = { .compression = LAYER_GZIP };
        struct layer_desc d;
        enum layer_compression c;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;
        (void) state;

        assert_true (layer_write (missing, &opts, blobs, &d, &err) < 0);
        assert_true (asprintf (&want, "open `%s`: No such file or directory", missing) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        /* Nothing left behind: the directory can be removed as empty. */
        assert_int_equal (rmdir (blobs), 0);

        assert_int_equal (layer_compression_parse ("zstd", &c, &err), 0);
        assert_int_equal (c, LAYER_ZSTD);
        assert_int_equal (layer_compression_parse ("none", &c, &err), 0);
        assert_int_equal (c, LAYER_UNCOMPRESSED);
        assert_true (layer_compression_parse ("xz", &c, &err) < 0);
        assert_string_equal (err->msg, "unknown compression `xz` (gzip, zstd or none)");
        pgimg_error_free (&err);
        assert_string_equal (layer_media_type (LAYER_GZIP),
                             "application/vnd.oci.image.layer.v1.tar+gzip");
        assert_string_equal (layer_media_type (LAYER_ZSTD),
                             "application/vnd.oci.image.layer.v1.tar+zstd");
        assert_string_equal (layer_media_type (LAYER_UNCOMPRESSED),
                             "application/vnd.oci.image.layer.v1.tar");

        opts.level = 12;
        assert_true (layer_write ("/", &opts, "/nonexistent-blob-dir", &d, &err) < 0);
        assert_non_null (strstr (err->msg, "/nonexistent-blob-dir"));
        pgimg_error_free (&err);
}

static void
bad_level_leaves_nothing (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *blobs = make_temp_dir ();
        struct layer_opts opts = { .compression = LAYER_GZIP, .level = 12 };
        struct layer_desc d;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;
        (void) state;

        assert_true (layer_write (t0, &opts, blobs, &d, &err) < 0);
        assert_true (asprintf (&want, "layer of `%s`: gzip level 12 is not between 1 and 9", t0) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_int_equal (rmdir (blobs), 0);
        remove_tree (t0);
}

/* A blob of the layer's name that is damaged (same size, other bytes)
 * is replaced when the layer is written again, not kept: the store's
 * writer renames what it hashed into place. */
static void
rewrite_replaces_a_damaged_blob (void **state)
{
        cleanup_free char *t0 = make_tree (0);
        cleanup_free char *blobs = make_temp_dir ();
        struct layer_opts opts = { .mtime = 1234567890, .compression = LAYER_GZIP };
        struct layer_desc d, again;
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;
        int fd;
        (void) state;

        write_layer (t0, &opts, blobs, &d);
        path = blob_path (blobs, &d);
        fd = open (path, O_WRONLY | O_CLOEXEC);
        assert_true (fd >= 0);
        assert_int_equal (pwrite (fd, "XXXX", 4, 64), 4);
        assert_int_equal (close (fd), 0);

        write_layer (t0, &opts, blobs, &again);
        assert_string_equal (again.digest, d.digest);
        fd = -1;
        if (store_open (blobs, d.digest, d.size, &fd, &err) < 0)
                fail_msg ("store_open: %s", err->msg);
        assert_int_equal (close (fd), 0);
        remove_tree (blobs);
        remove_tree (t0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (same_tree_same_digests),
                cmocka_unit_test (thread_count_does_not_matter),
                cmocka_unit_test (entries_sorted_and_normalized),
                cmocka_unit_test (owner_map_and_exclude),
                cmocka_unit_test (exclude_but_keep),
                cmocka_unit_test (extract_round_trip),
                cmocka_unit_test (extract_refuses_escapes),
                cmocka_unit_test (cache_miss_store_hit_corrupt),
                cmocka_unit_test (cache_peek_and_entries),
                cmocka_unit_test (cache_entries_merge_in_order),
                cmocka_unit_test (build_lock_waits_for_its_holder),
                cmocka_unit_test (errors_name_their_cause),
                cmocka_unit_test (bad_level_leaves_nothing),
                cmocka_unit_test (rewrite_replaces_a_damaged_blob),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
