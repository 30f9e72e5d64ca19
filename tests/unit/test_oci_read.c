/* test_oci_read.c - reading an image (layout directory or tarball) into
 * the blob store: the manifest, Env, volume and diff_ids, and the
 * refusals for an image that lies: blobs that do not match their digest
 * or size, blobs that are links to host files, a diff_id that is not
 * the layer's, a tarball with a broken pax header. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "layers/store.h"
#include "oci/read.h"
#include "runner/runtime.h"

#define SECRET "swordfish-7d1c"

static char dir[] = "/tmp/pgimg-test-oci-read-XXXXXX";

/* One file of an image: its name in the layout and its bytes; link_to
 * makes it a symbolic link (hard with hard_link) instead. */
struct file {
        char name[128];
        char *data;
        size_t len;
        const char *link_to;
        int hard_link;
};

struct image {
        struct file f[8];
        size_t n;
        char layer_digest[LAYER_DIGEST_LEN];
        char config_digest[LAYER_DIGEST_LEN];
        char manifest_digest[LAYER_DIGEST_LEN];
};

static void
add (struct image *im, const char *name, const char *data, size_t len)
{
        struct file *f = &im->f[im->n++];

        snprintf (f->name, sizeof (f->name), "%s", name);
        f->data = malloc (len + 1);
        memcpy (f->data, data, len);
        f->len = len;
}

static void
add_blob (struct image *im, const char *data, size_t len, char digest[LAYER_DIGEST_LEN])
{
        char hex[SHA256_HEX_LEN + 1], name[128];
        pgimg_error_t err = NULL;

        assert_int_equal (sha256_buf_hex (data, len, hex, &err), 0);
        snprintf (digest, LAYER_DIGEST_LEN, "sha256:%s", hex);
        snprintf (name, sizeof (name), "blobs/sha256/%s", hex);
        add (im, name, data, len);
}

static struct file *
find (struct image *im, const char *digest)
{
        for (size_t i = 0; i < im->n; i++)
                if (strstr (im->f[i].name, digest + 7) != NULL)
                        return &im->f[i];
        fail_msg ("no file for %s", digest);
        return NULL;
}

static void
image_free (struct image *im)
{
        for (size_t i = 0; i < im->n; i++)
                free (im->f[i].data);
}

/* An uncompressed layer of one file, so that its digest is its diff_id. */
static void
layer_tar (char **out, size_t *len)
{
        struct archive *a = archive_write_new ();
        struct archive_entry *e = archive_entry_new ();
        static char mem[16384];
        size_t used = 0;

        archive_write_set_format_pax_restricted (a);
        archive_write_open_memory (a, mem, sizeof (mem), &used);
        archive_entry_set_pathname (e, "hello.txt");
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_perm (e, 0644);
        archive_entry_set_size (e, 3);
        archive_entry_set_mtime (e, 0, 0);
        assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
        assert_int_equal (archive_write_data (a, "hi\n", 3), 3);
        archive_entry_free (e);
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_write_free (a);
        *out = malloc (used);
        memcpy (*out, mem, used);
        *len = used;
}

/* The image; diff_id and layer_size override what the config and the
 * manifest say (NULL / 0: the truth). */
static void
make_image (struct image *im, const char *diff_id, uint64_t layer_size)
{
        cleanup_free char *layer = NULL, *config = NULL, *manifest = NULL, *index = NULL;
        size_t layer_len;

        memset (im, 0, sizeof (*im));
        layer_tar (&layer, &layer_len);
        add_blob (im, layer, layer_len, im->layer_digest);
        assert_true (asprintf (&config,
                               "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/bin\",\"PGDATA=/var/lib/postgresql/18/docker\"],"
                               "\"Volumes\":{\"/var/lib/postgresql\":{}}},\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                               "\"diff_ids\":[\"%s\"]}}",
                               diff_id ? diff_id : im->layer_digest) > 0);
        add_blob (im, config, strlen (config), im->config_digest);
        assert_true (asprintf (&manifest,
                               "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                               "\"config\":{\"digest\":\"%s\",\"size\":%zu},"
                               "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%llu}]}",
                               im->config_digest, strlen (config), im->layer_digest,
                               (unsigned long long) (layer_size ? layer_size : layer_len)) > 0);
        add_blob (im, manifest, strlen (manifest), im->manifest_digest);
        assert_true (asprintf (&index, "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"%s\",\"size\":%zu}]}",
                               im->manifest_digest, strlen (manifest)) > 0);
        add (im, "index.json", index, strlen (index));
}

static char *
write_layout (struct image *im)
{
        char *out = NULL;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&out, "%s/layout", dir) > 0);
        for (size_t i = 0; i < im->n; i++) {
                cleanup_free char *p = NULL;
                assert_true (asprintf (&p, "%s/%s", out, im->f[i].name) > 0);
                char *slash = strrchr (p, '/');
                *slash = '\0';
                assert_int_equal (fs_mkdir_p (p, 0755, &err), 0);
                *slash = '/';
                if (im->f[i].link_to)
                        assert_int_equal (symlink (im->f[i].link_to, p), 0);
                else
                        assert_int_equal (fs_write_file_atomic (p, im->f[i].data, im->f[i].len, 0644, &err), 0);
        }
        return out;
}

static char *
write_tarball (struct image *im)
{
        char *out = NULL;
        struct archive *a = archive_write_new ();

        assert_true (asprintf (&out, "%s/image.tar", dir) > 0);
        archive_write_set_format_pax_restricted (a);
        assert_int_equal (archive_write_open_filename (a, out), ARCHIVE_OK);
        for (size_t i = 0; i < im->n; i++) {
                struct archive_entry *e = archive_entry_new ();
                archive_entry_set_pathname (e, im->f[i].name);
                archive_entry_set_perm (e, 0644);
                if (im->f[i].link_to && im->f[i].hard_link) {
                        archive_entry_set_filetype (e, AE_IFREG);
                        archive_entry_set_hardlink (e, im->f[i].link_to);
                        archive_entry_set_size (e, 0);
                } else if (im->f[i].link_to) {
                        archive_entry_set_filetype (e, AE_IFLNK);
                        archive_entry_set_symlink (e, im->f[i].link_to);
                } else {
                        archive_entry_set_filetype (e, AE_IFREG);
                        archive_entry_set_size (e, (la_int64_t) im->f[i].len);
                }
                assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
                if (!im->f[i].link_to)
                        assert_int_equal (archive_write_data (a, im->f[i].data, im->f[i].len), (la_ssize_t) im->f[i].len);
                archive_entry_free (e);
        }
        assert_int_equal (archive_write_close (a), ARCHIVE_OK);
        archive_write_free (a);
        return out;
}

static char *
store (void)
{
        char *s = NULL;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&s, "%s/cache/blobs/sha256", dir) > 0);
        assert_int_equal (fs_mkdir_p (s, 0755, &err), 0);
        return s;
}

static void
check_good (const char *path)
{
        cleanup_free char *blobs = store ();
        struct oci_read r;
        pgimg_error_t err = NULL;

        if (oci_read_image (path, blobs, &r, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_int_equal (r.n_layers, 1);
        assert_string_equal (r.layers[0].diff_id, r.layers[0].digest);
        assert_string_equal (r.env[1], "PGDATA=/var/lib/postgresql/18/docker");
        assert_null (r.env[2]);
        assert_string_equal (r.volume, "/var/lib/postgresql");
        assert_string_equal (r.architecture, "amd64");
        assert_string_equal (r.manifest_media_type, "application/vnd.oci.image.manifest.v1+json");
        assert_int_equal (store_has (blobs, r.layers[0].digest, r.layers[0].size, &err), 1);
        assert_int_equal (store_has (blobs, r.manifest_digest, r.manifest_size, &err), 1);
        assert_int_equal (store_has (blobs, r.config_digest, r.config_size, &err), 1);
        oci_read_free (&r);
}

static void
reads_a_layout_and_a_tarball (void **state)
{
        struct image im;
        cleanup_free char *layout = NULL, *tar = NULL;
        (void) state;

        make_image (&im, NULL, 0);
        layout = write_layout (&im);
        tar = write_tarball (&im);
        image_free (&im);
        check_good (layout);
        check_good (tar);
}

/* Read path; it must fail with a message holding want (and never the
 * secret) and leave nothing of the layer in the store. */
static void
check_refused (const char *path, const char *layer_digest, const char *want)
{
        cleanup_free char *blobs = store ();
        struct oci_read r;
        pgimg_error_t err = NULL;

        assert_true (oci_read_image (path, blobs, &r, &err) < 0);
        if (strstr (err->msg, want) == NULL)
                fail_msg ("`%s` does not say `%s`", err->msg, want);
        assert_null (strstr (err->msg, SECRET));
        assert_null (strchr (err->msg, '\n'));
        pgimg_error_free (&err);
        oci_read_free (&r);
        if (layer_digest)
                assert_int_equal (store_has (blobs, layer_digest, STORE_SIZE_ANY, &err), 0);
}

static void
a_layer_that_does_not_match_its_digest_is_refused (void **state)
{
        struct image im;
        cleanup_free char *layout = NULL, *tar = NULL;
        (void) state;

        make_image (&im, NULL, 0);
        find (&im, im.layer_digest)->data[600] ^= 1;    /* inside hello.txt's header block */
        layout = write_layout (&im);
        tar = write_tarball (&im);
        check_refused (layout, im.layer_digest, "arrived with digest sha256:");
        check_refused (tar, im.layer_digest, "arrived with digest sha256:");
        image_free (&im);
        /* The same when the store holds the true blob already: an image
         * that carries other bytes is refused whatever the cache has. */
        {
                struct image good;
                cleanup_free char *good_tar = NULL, *bad = NULL;
                assert_true (asprintf (&bad, "%s/bad.tar", dir) > 0);
                assert_int_equal (rename (tar, bad), 0);
                make_image (&good, NULL, 0);
                good_tar = write_tarball (&good);
                check_good (good_tar);
                assert_int_equal (rename (bad, tar), 0);
                image_free (&good);
        }
        check_refused (layout, NULL, "arrived with digest sha256:");
        check_refused (tar, NULL, "arrived with digest sha256:");
}

static void
a_layer_of_another_size_is_refused (void **state)
{
        struct image im;
        cleanup_free char *layout = NULL, *tar = NULL;
        (void) state;

        make_image (&im, NULL, 1000);
        layout = write_layout (&im);
        tar = write_tarball (&im);
        check_refused (layout, NULL, "its descriptor gives 1000");
        check_refused (tar, NULL, "its descriptor gives 1000");
        image_free (&im);
}

static char *
secret_file (void)
{
        char *p = NULL;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&p, "%s/secret", dir) > 0);
        assert_int_equal (fs_write_file_atomic (p, SECRET "\n", strlen (SECRET) + 1, 0600, &err), 0);
        return p;
}

static void
a_blob_that_is_a_link_is_refused (void **state)
{
        struct image im;
        cleanup_free char *secret = secret_file ();
        (void) state;

        make_image (&im, NULL, 0);
        find (&im, im.layer_digest)->link_to = secret;
        {
                cleanup_free char *layout = write_layout (&im);
                cleanup_free char *tar = write_tarball (&im);
                check_refused (layout, im.layer_digest, "is a symbolic link, not a file; refused");
                check_refused (tar, im.layer_digest, "is a symbolic link, not a file; refused");
        }
        find (&im, im.layer_digest)->hard_link = 1;
        {
                cleanup_free char *tar = NULL;
                cleanup_free char *p = NULL;
                assert_true (asprintf (&p, "%s/image.tar", dir) > 0);
                unlink (p);
                tar = write_tarball (&im);
                check_refused (tar, im.layer_digest, "is a hard link, not a file; refused");
        }
        image_free (&im);
}

static void
a_symlinked_blobs_directory_is_refused (void **state)
{
        struct image im;
        cleanup_free char *layout = NULL, *blobs = NULL, *elsewhere = NULL;
        (void) state;

        make_image (&im, NULL, 0);
        layout = write_layout (&im);
        image_free (&im);
        assert_true (asprintf (&blobs, "%s/blobs", layout) > 0);
        assert_true (asprintf (&elsewhere, "%s/elsewhere", dir) > 0);
        assert_int_equal (rename (blobs, elsewhere), 0);
        assert_int_equal (symlink (elsewhere, blobs), 0);
        check_refused (layout, NULL, "blobs/ is a symbolic link");
}

/* The config claims a diff_id the layer does not have: the image reads
 * (the config is what it says it is), but unpacking it fails and leaves
 * no root in the cache. */
static void
a_diff_id_mismatch_leaves_no_root (void **state)
{
        struct image im;
        cleanup_free char *tar = NULL, *blobs = store (), *cache = NULL, *rootfs = NULL, *roots = NULL;
        struct oci_read r;
        pgimg_error_t err = NULL;
        (void) state;

        make_image (&im, "sha256:1111111111111111111111111111111111111111111111111111111111111111", 0);
        tar = write_tarball (&im);
        image_free (&im);
        if (oci_read_image (tar, blobs, &r, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_true (asprintf (&cache, "%s/cache", dir) > 0);
        assert_true (runtime_rootfs (cache, r.blob_dir, r.layers, r.n_layers, &rootfs, &err) < 0);
        assert_non_null (strstr (err->msg, "not the diff_id sha256:1111"));
        pgimg_error_free (&err);
        assert_null (rootfs);
        assert_true (asprintf (&roots, "%s/rootfs", cache) > 0);
        {
                cleanup_dir DIR *d = opendir (roots);
                struct dirent *de;
                assert_non_null (d);
                while ((de = readdir (d)) != NULL)
                        assert_true (de->d_name[0] == '.' && strncmp (de->d_name, ".tmp-", 5) != 0);
        }
        /* The true diff_id unpacks. */
        snprintf (r.layers[0].diff_id, LAYER_DIGEST_LEN, "%s", r.layers[0].digest);
        if (runtime_rootfs (cache, r.blob_dir, r.layers, r.n_layers, &rootfs, &err) < 0)
                fail_msg ("%s", err->msg);
        oci_read_free (&r);
}

/* A 10 KiB tarball whose pax header holds a record of length -2 (which
 * once made a hand-written scanner loop for ever) fails at once. */
static void
a_pax_record_of_length_minus_two_fails_fast (void **state)
{
        unsigned char t[10240];
        cleanup_free char *path = NULL, *blobs = store ();
        /* "6 a=2 " is a record of 6 bytes; "-2 x=y" sends a reader that
         * adds lengths unchecked back to "2 " and round again. */
        const char rec[] = "6 a=2 -2 x=y\n";
        unsigned sum = 0;
        struct oci_read r;
        pgimg_error_t err = NULL;
        time_t start = time (NULL);
        (void) state;

        memset (t, 0, sizeof (t));
        memcpy (t, "PaxHeaders/x", 12);
        memcpy (t + 100, "0000644", 7);
        memcpy (t + 108, "0000000", 7);
        memcpy (t + 116, "0000000", 7);
        snprintf ((char *) t + 124, 12, "%011o", (unsigned) strlen (rec));
        memcpy (t + 136, "00000000000", 11);
        t[156] = 'x';
        memcpy (t + 257, "ustar", 6);
        memcpy (t + 263, "00", 2);
        memset (t + 148, ' ', 8);
        for (size_t i = 0; i < 512; i++)
                sum += t[i];
        snprintf ((char *) t + 148, 8, "%06o", sum);
        memcpy (t + 512, rec, strlen (rec));
        assert_true (asprintf (&path, "%s/pax.tar", dir) > 0);
        {
                pgimg_error_t e2 = NULL;
                assert_int_equal (fs_write_file_atomic (path, t, sizeof (t), 0644, &e2), 0);
        }
        alarm (20);
        assert_true (oci_read_image (path, blobs, &r, &err) < 0);
        alarm (0);
        assert_true (time (NULL) - start < 10);
        assert_null (strchr (err->msg, '\n'));
        assert_non_null (strstr (err->msg, path));
        pgimg_error_free (&err);
        oci_read_free (&r);
}

/* index.json -> an index (as `docker save` and multi-platform images
 * have) whose linux/amd64 entry is the image; the arm64 one is never
 * read (its blob is not even there). */
static void
a_nested_index_is_followed_to_linux_amd64 (void **state)
{
        struct image im;
        cleanup_free char *nested = NULL, *top = NULL, *tar = NULL;
        char nested_digest[LAYER_DIGEST_LEN];
        struct file *index;
        (void) state;

        make_image (&im, NULL, 0);
        assert_true (asprintf (&nested,
                               "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                               "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%064d\",\"size\":1,"
                               "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                               "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
                               "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                               7, im.manifest_digest, find (&im, im.manifest_digest)->len) > 0);
        add_blob (&im, nested, strlen (nested), nested_digest);
        assert_true (asprintf (&top,
                               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                               "\"digest\":\"%s\",\"size\":%zu}]}",
                               nested_digest, strlen (nested)) > 0);
        index = NULL;
        for (size_t i = 0; i < im.n; i++)
                if (strcmp (im.f[i].name, "index.json") == 0)
                        index = &im.f[i];
        assert_non_null (index);
        free (index->data);
        index->data = strdup (top);
        index->len = strlen (top);
        tar = write_tarball (&im);
        image_free (&im);
        check_good (tar);
}

/* A compressed layer as layer_write makes it: unpacked with its diff_id
 * it passes; with another it fails after the entries are out (the
 * caller drops the directory), for gzip and zstd alike. */
static void
compressed_layers_are_checked_against_their_diff_id (void **state)
{
        cleanup_free char *tree = NULL, *blobs = store (), *file = NULL;
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (asprintf (&tree, "%s/tree", dir) > 0);
        assert_true (asprintf (&file, "%s/tree/a.txt", dir) > 0);
        assert_int_equal (fs_mkdir_p (tree, 0755, &err), 0);
        assert_int_equal (fs_write_file_atomic (file, "layer\n", 6, 0644, &err), 0);
        for (int c = LAYER_GZIP; c <= LAYER_ZSTD; c++) {
                struct layer_opts opts = { .mtime = 0, .compression = (enum layer_compression) c };
                struct layer_desc d;
                cleanup_free char *good = NULL, *bad = NULL;
                int fd = -1;

                assert_int_equal (layer_write (tree, &opts, blobs, &d, &err), 0);
                assert_true (asprintf (&good, "%s/good-%d", dir, c) > 0 && mkdir (good, 0755) == 0);
                assert_true (asprintf (&bad, "%s/bad-%d", dir, c) > 0 && mkdir (bad, 0755) == 0);
                assert_int_equal (store_open (blobs, d.digest, d.size, &fd, &err), 0);
                if (layer_extract_fd (fd, d.digest, d.diff_id, good, NULL, &err) < 0)
                        fail_msg ("%s", err->msg);
                close (fd);
                assert_int_equal (store_open (blobs, d.digest, d.size, &fd, &err), 0);
                assert_true (layer_extract_fd (fd, d.digest, d.digest, bad, NULL, &err) < 0);
                assert_non_null (strstr (err->msg, "its uncompressed content is"));
                pgimg_error_free (&err);
                close (fd);
        }
}

static int
setup (void **state)
{
        (void) state;
        strcpy (dir, "/tmp/pgimg-test-oci-read-XXXXXX");
        return mkdtemp (dir) ? 0 : -1;
}

static int
teardown (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;
        fs_rm_rf (dir, &err);
        pgimg_error_free (&err);
        return 0;
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown (reads_a_layout_and_a_tarball, setup, teardown),
                cmocka_unit_test_setup_teardown (a_layer_that_does_not_match_its_digest_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown (a_layer_of_another_size_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown (a_blob_that_is_a_link_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown (a_symlinked_blobs_directory_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown (a_diff_id_mismatch_leaves_no_root, setup, teardown),
                cmocka_unit_test_setup_teardown (a_pax_record_of_length_minus_two_fails_fast, setup, teardown),
                cmocka_unit_test_setup_teardown (compressed_layers_are_checked_against_their_diff_id, setup, teardown),
                cmocka_unit_test_setup_teardown (a_nested_index_is_followed_to_linux_amd64, setup, teardown),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
