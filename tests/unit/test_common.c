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

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/sha256.h"

static void
error_wrap_prefixes (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;
        assert_true (pgimg_make_error (&err, 5, "bad %s", "thing") == -6);
        assert_true (pgimg_error_wrap (&err, "outer %d", 1) == -6);
        assert_string_equal (err->msg, "outer 1: bad thing");
        pgimg_error_free (&err);
        assert_null (err);
        pgimg_make_error_errno (&err, ENOENT, "open `%s`", "x");
        assert_string_equal (err->msg, "open `x`: No such file or directory");
        pgimg_error_free (&err);
}

static void
buf_limit_is_enforced (void **state)
{
        cleanup_buf struct buf b = BUF_INIT_MAX (8);
        (void) state;
        assert_int_equal (buf_adds (&b, "1234"), 0);
        assert_int_equal (buf_addf (&b, "%d", 5678), 0);
        assert_string_equal (b.data, "12345678");
        assert_int_equal (buf_adds (&b, "9"), -1);
        assert_int_equal (errno, EFBIG);
}

static void
sha256_known_vectors (void **state)
{
        char hex[65];
        pgimg_error_t err = NULL;
        (void) state;
        assert_int_equal (sha256_buf_hex ("abc", 3, hex, &err), 0);
        assert_string_equal (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_true (sha256_hex_valid (hex));
        assert_false (sha256_hex_valid ("abc"));
        assert_false (sha256_hex_valid ("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
}

static void
atomic_write_leaves_no_temp (void **state)
{
        char dir[] = "/tmp/pgimg-test-XXXXXX";
        cleanup_free char *path = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;
        (void) state;
        assert_non_null (mkdtemp (dir));
        assert_true (asprintf (&path, "%s/f", dir) > 0);
        assert_int_equal (fs_write_file_atomic (path, "hello", 5, 0644, &err), 0);
        assert_int_equal (fs_read_file (path, 0, &b, &err), 0);
        assert_string_equal (b.data, "hello");
        {
                cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
                assert_int_equal (fs_atomic_open (&a, path, 0644, &err), 0);
                assert_int_equal (fs_write_all (a.fd, "partial", 7), 0);
                /* goes out of scope without commit: must vanish */
        }
        assert_int_equal (fs_read_file (path, 3, &b, &err), -EFBIG - 1);
        assert_non_null (strstr (err->msg, "larger than 3 bytes"));
        pgimg_error_free (&err);
        assert_int_equal (fs_rm_rf (path, &err), 0);
        assert_int_equal (rmdir (dir), 0); /* empty: the temp file is gone */
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (error_wrap_prefixes),
                cmocka_unit_test (buf_limit_is_enforced),
                cmocka_unit_test (sha256_known_vectors),
                cmocka_unit_test (atomic_write_leaves_no_temp),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
