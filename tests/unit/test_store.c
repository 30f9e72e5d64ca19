/* test_store.c - the content-addressed blob store: nothing goes in or
 * comes out whose size or sha256 is not the one its name promises. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/store.h"

/* sha256 ("hello") */
#define HELLO "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define OTHER "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static char dir[] = "/tmp/pgimg-test-store-XXXXXX";

static int
setup (void **state)
{
        (void) state;
        strcpy (dir, "/tmp/pgimg-test-store-XXXXXX");
        return mkdtemp (dir) == NULL ? -1 : 0;
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

/* Nothing but blobs in dir: no temporary file was left behind. */
static size_t
count_entries (void)
{
        cleanup_dir DIR *d = opendir (dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null (d);
        while ((de = readdir (d)) != NULL)
                if (de->d_name[0] != '.' || strncmp (de->d_name, ".tmp-", 5) == 0)
                        n++;
        return n;
}

static void
digest_hex_is_strict (void **state)
{
        pgimg_error_t err = NULL;
        const char *hex;
        (void) state;

        assert_string_equal (store_digest_hex (HELLO), HELLO + 7);
        assert_null (store_digest_hex ("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"));
        assert_null (store_digest_hex ("sha512:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        assert_null (store_digest_hex ("sha256:../../etc/passwd"));
        assert_null (store_digest_hex (NULL));
        assert_true (store_digest_check ("sha256:../x", "layer 2", &hex, &err) < 0);
        assert_string_equal (err->msg, "layer 2: `sha256:../x` is not a sha256 digest");
        pgimg_error_free (&err);
}

static void
put_and_open_verified (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        char got[LAYER_DIGEST_LEN];
        int fd = -1;
        char data[8];
        (void) state;

        assert_int_equal (store_put_buf (dir, HELLO, "hello", 5, got, &err), 0);
        assert_string_equal (got, HELLO);
        assert_int_equal (store_has (dir, HELLO, 5, &err), 1);
        assert_int_equal (store_open (dir, HELLO, 5, &fd, &err), 0);
        assert_int_equal (read (fd, data, sizeof (data)), 5);
        close (fd);
        assert_int_equal (store_read (dir, HELLO, 100, &b, &err), 0);
        assert_int_equal (b.len, 5);
        assert_int_equal (store_put_buf (dir, NULL, "hello", 5, got, &err), 0);
        assert_string_equal (got, HELLO);
        assert_int_equal (count_entries (), 1);
}

static void
put_refuses_a_digest_mismatch (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (store_put_buf (dir, OTHER, "hello", 5, NULL, &err) < 0);
        assert_non_null (strstr (err->msg, "arrived with digest " HELLO));
        assert_non_null (strstr (err->msg, "nothing was stored"));
        assert_null (strchr (err->msg, '\n'));
        pgimg_error_free (&err);
        assert_int_equal (count_entries (), 0);
}

static void
put_refuses_a_size_mismatch (void **state)
{
        cleanup_store_writer struct store_writer w = STORE_WRITER_INIT;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (store_writer_open (&w, dir, HELLO, 4, &err), 0);
        assert_true (store_writer_write (&w, "hello", 5, &err) < 0);
        assert_non_null (strstr (err->msg, "more than the 4 bytes"));
        pgimg_error_free (&err);
        store_writer_abort (&w);
        assert_int_equal (store_writer_open (&w, dir, HELLO, 6, &err), 0);
        assert_int_equal (store_writer_write (&w, "hello", 5, &err), 0);
        assert_true (store_writer_commit (&w, NULL, &err) < 0);
        assert_non_null (strstr (err->msg, "got 5 bytes, the manifest says 6"));
        pgimg_error_free (&err);
        store_writer_abort (&w);
        assert_int_equal (count_entries (), 0);
}

static void
open_refuses_corrupt_and_wrong_size (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_free char *path = NULL;
        int fd = -1;
        (void) state;

        assert_int_equal (store_path (dir, HELLO, &path, &err), 0);
        assert_int_equal (fs_write_file_atomic (path, "HELLO", 5, 0644, &err), 0);
        assert_true (store_open (dir, HELLO, 5, &fd, &err) < 0);
        assert_int_equal (err->status, EIO);
        assert_non_null (strstr (err->msg, "corrupt"));
        pgimg_error_free (&err);
        assert_false (fs_exists (path));        /* removed */
        assert_int_equal (fs_write_file_atomic (path, "hello", 5, 0644, &err), 0);
        assert_true (store_open (dir, HELLO, 4, &fd, &err) < 0);
        assert_non_null (strstr (err->msg, "another size"));
        pgimg_error_free (&err);
        assert_true (store_open (dir, OTHER, STORE_SIZE_ANY, &fd, &err) < 0);
        assert_int_equal (err->status, ENOENT);
        pgimg_error_free (&err);
        assert_int_equal (store_has (dir, OTHER, 5, &err), 0);
}

/* A blob that is a symlink to a file whose content matches is still
 * refused: the store hands out only its own regular files. */
static void
open_refuses_a_symlink (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_free char *path = NULL;
        cleanup_free char *target = NULL;
        int fd = -1;
        (void) state;

        assert_true (asprintf (&target, "%s/../pgimg-store-target-%d", dir, (int) getpid ()) > 0);
        assert_int_equal (fs_write_file_atomic (target, "hello", 5, 0644, &err), 0);
        assert_int_equal (store_path (dir, HELLO, &path, &err), 0);
        assert_int_equal (symlink (target, path), 0);
        assert_true (store_open (dir, HELLO, 5, &fd, &err) < 0);
        assert_non_null (strstr (err->msg, "symbolic link"));
        pgimg_error_free (&err);
        assert_false (fs_exists (path));
        assert_true (fs_exists (target));       /* the target is left alone */
        unlink (target);
}

static void
put_fd_streams_and_keeps_an_intact_blob (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_free char *src = NULL;
        cleanup_fd int fd = -1;
        (void) state;

        assert_true (asprintf (&src, "%s/.src", dir) > 0);
        assert_int_equal (fs_write_file_atomic (src, "hello", 5, 0644, &err), 0);
        fd = open (src, O_RDONLY | O_CLOEXEC);
        assert_true (fd >= 0);
        assert_int_equal (store_put_fd (dir, HELLO, 5, fd, &err), 0);
        assert_int_equal (store_has (dir, HELLO, 5, &err), 1);
        assert_int_equal (lseek (fd, 0, SEEK_SET), 0);
        assert_true (store_put_fd (dir, OTHER, 5, fd, &err) < 0);
        pgimg_error_free (&err);
        assert_int_equal (store_sweep (dir, &err), 0);
        unlink (src);
        assert_int_equal (count_entries (), 1);
}

/* A killed writer's temporary file goes when the store is next opened;
 * a live writer's stays. */
static void
store_dir_sweeps_what_dead_writers_left (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_free char *blobs = NULL, *dead = NULL, *live = NULL, *got = NULL;
        (void) state;

        assert_true (asprintf (&blobs, "%s/blobs/sha256", dir) > 0);
        assert_int_equal (fs_mkdir_p (blobs, 0755, &err), 0);
        assert_true (asprintf (&dead, "%s/.tmp-99999999-abcdef", blobs) > 0);
        assert_true (asprintf (&live, "%s/.tmp-%d-abcdef", blobs, (int) getpid ()) > 0);
        assert_int_equal (fs_write_file_atomic (dead, "x", 1, 0644, &err), 0);
        assert_int_equal (fs_write_file_atomic (live, "x", 1, 0644, &err), 0);
        assert_int_equal (store_dir (dir, &got, &err), 0);
        assert_string_equal (got, blobs);
        assert_false (fs_exists (dead));
        assert_true (fs_exists (live));
        unlink (live);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (digest_hex_is_strict),
                cmocka_unit_test_setup_teardown (put_and_open_verified, setup, teardown),
                cmocka_unit_test_setup_teardown (put_refuses_a_digest_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown (put_refuses_a_size_mismatch, setup, teardown),
                cmocka_unit_test_setup_teardown (open_refuses_corrupt_and_wrong_size, setup, teardown),
                cmocka_unit_test_setup_teardown (open_refuses_a_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown (put_fd_streams_and_keeps_an_intact_blob, setup, teardown),
                cmocka_unit_test_setup_teardown (store_dir_sweeps_what_dead_writers_left, setup, teardown),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
