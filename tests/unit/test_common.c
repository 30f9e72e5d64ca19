#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/libarchive.h"
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

/* Takes at most 2 bytes a call; stops (1) at a 'q', fails at an 'x'. */
static int
collect_chunk (void *ctx, const void *data, size_t len, pgimg_error_t *err)
{
        struct buf *b = ctx;

        assert_true (len <= 2);
        if (memchr (data, 'x', len) != NULL)
                return pgimg_make_error (err, EINVAL, "an x");
        if (buf_add (b, data, len) < 0)
                return -1;
        return memchr (data, 'q', len) != NULL ? 1 : 0;
}

static void
read_chunks_hands_on_stops_and_names_read_errors (void **state)
{
        char dir[] = "/tmp/pgimg-test-XXXXXX";
        cleanup_free char *path = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;
        char chunk[2];
        int fd;
        (void) state;
        assert_non_null (mkdtemp (dir));
        assert_true (asprintf (&path, "%s/f", dir) > 0);

        assert_int_equal (fs_write_file_atomic (path, "hello", 5, 0644, &err), 0);
        assert_true ((fd = open (path, O_RDONLY | O_CLOEXEC)) >= 0);
        assert_int_equal (fs_read_chunks (fd, chunk, sizeof (chunk), collect_chunk, &b, &err, "read `%s`", path), 0);
        close (fd);
        assert_int_equal (b.len, 5);
        assert_memory_equal (b.data, "hello", 5);

        buf_reset (&b);
        assert_int_equal (fs_write_file_atomic (path, "abqdef", 6, 0644, &err), 0);
        assert_true ((fd = open (path, O_RDONLY | O_CLOEXEC)) >= 0);
        assert_int_equal (fs_read_chunks (fd, chunk, sizeof (chunk), collect_chunk, &b, &err, "read `%s`", path), 1);
        close (fd);
        assert_int_equal (b.len, 4);

        assert_int_equal (fs_write_file_atomic (path, "abxd", 4, 0644, &err), 0);
        assert_true ((fd = open (path, O_RDONLY | O_CLOEXEC)) >= 0);
        assert_int_equal (fs_read_chunks (fd, chunk, sizeof (chunk), collect_chunk, &b, &err, "read `%s`", path),
                          -EINVAL - 1);
        close (fd);
        assert_string_equal (err->msg, "an x");
        pgimg_error_free (&err);

        assert_true ((fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
        assert_true (fs_read_chunks (fd, chunk, sizeof (chunk), collect_chunk, &b, &err, "read `%s`", "d") < 0);
        close (fd);
        assert_string_equal (err->msg, "read `d`: Is a directory");
        pgimg_error_free (&err);
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

static void
touch (const char *dir, const char *name)
{
        cleanup_free char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", dir, name) > 0);
        assert_int_equal (fs_write_file_atomic (p, "x", 1, 0644, NULL), 0);
}

static int
exists_in (const char *dir, const char *name)
{
        cleanup_free char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", dir, name) > 0);
        return fs_exists (p);
}

/* A pid that was just in use and is gone now. */
static pid_t
dead_pid (void)
{
        pid_t pid = fork ();
        assert_true (pid >= 0);
        if (pid == 0)
                _exit (0);
        assert_int_equal (waitpid (pid, NULL, 0), pid);
        return pid;
}

static void
sweep_removes_only_dead_temps (void **state)
{
        char dir[] = "/tmp/pgimg-test-sweep-XXXXXX";
        char dead[64], dead_dir[64], live[64], own[64], nested[128];
        pgimg_error_t err = NULL;
        (void) state;

        assert_non_null (mkdtemp (dir));
        snprintf (dead, sizeof (dead), ".tmp-%ld-Ab12Cd", (long) dead_pid ());
        snprintf (dead_dir, sizeof (dead_dir), ".tmp-%ld-base-Xy34Zw", (long) dead_pid ());
        snprintf (live, sizeof (live), ".tmp-%ld-Ef56Gh", (long) getppid ());
        snprintf (own, sizeof (own), ".tmp-%ld-Ij78Kl", (long) getpid ());
        touch (dir, dead);
        touch (dir, live);
        touch (dir, own);
        touch (dir, ".tmp-1-init");     /* pid 1 started before the file was written */
        /* names that are not a pgimg leftover, or not one with a pid */
        touch (dir, ".tmp-foo");
        touch (dir, ".tmp-123");
        touch (dir, ".tmp-0-zero");
        touch (dir, ".tmp-99999999999999999999-big");
        touch (dir, "tmp-1-x");
        touch (dir, "image.tar");
        snprintf (nested, sizeof (nested), "%s/%s", dir, dead_dir);
        assert_int_equal (mkdir (nested, 0500), 0);     /* a build leaves such modes */

        assert_int_equal (fs_sweep_temps (dir, &err), 0);
        assert_null (err);
        assert_false (exists_in (dir, dead));
        assert_false (exists_in (dir, dead_dir));
        assert_true (exists_in (dir, live));
        assert_true (exists_in (dir, own));
        assert_true (exists_in (dir, ".tmp-1-init"));
        assert_true (exists_in (dir, ".tmp-foo"));
        assert_true (exists_in (dir, ".tmp-123"));
        assert_true (exists_in (dir, ".tmp-0-zero"));
        assert_true (exists_in (dir, ".tmp-99999999999999999999-big"));
        assert_true (exists_in (dir, "tmp-1-x"));
        assert_true (exists_in (dir, "image.tar"));

        /* beside an output path: its directory */
        {
                cleanup_free char *out = NULL;
                touch (dir, dead);
                assert_true (asprintf (&out, "%s/image.tar", dir) > 0);
                assert_int_equal (fs_sweep_temps_beside (out, &err), 0);
                assert_false (exists_in (dir, dead));
                assert_true (exists_in (dir, live));
        }
        /* a missing directory is nothing to sweep */
        assert_int_equal (fs_sweep_temps ("/nonexistent/pgimg", &err), 0);
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

static void
disk_full_names_the_path (void **state)
{
        pgimg_error_t err = NULL;
        (void) state;

        assert_true (fs_is_disk_full (ENOSPC));
        assert_true (fs_is_disk_full (EDQUOT));
        assert_false (fs_is_disk_full (EIO));
        assert_int_equal (fs_write_error (&err, ENOSPC, "/mnt/small/x.tar"), -ENOSPC - 1);
        assert_string_equal (err->msg, "no space left on the disk holding `/mnt/small/x.tar`: free space or "
                                       "point --cache-dir / -o elsewhere");
        assert_int_equal (err->status, ENOSPC);
        pgimg_error_free (&err);
        assert_int_equal (fs_write_error (&err, EDQUOT, "/c"), -EDQUOT - 1);
        assert_non_null (strstr (err->msg, "no space left on the disk holding `/c`"));
        pgimg_error_free (&err);
        assert_int_equal (fs_write_error (&err, EIO, "/c/f"), -EIO - 1);
        assert_string_equal (err->msg, "write `/c/f`: Input/output error");
        pgimg_error_free (&err);
}

static void
disk_full_on_an_fd_names_its_directory (void **state)
{
        char dir[] = "/tmp/pgimg-test-full-XXXXXX";
        cleanup_free char *path = NULL, *want = NULL;
        cleanup_fd int fd = -1;
        pgimg_error_t err = NULL;
        (void) state;

        assert_non_null (mkdtemp (dir));
        assert_true (asprintf (&path, "%s/.tmp-1-abcdef", dir) > 0);
        fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true (fd >= 0);
        fs_write_error_fd (&err, ENOSPC, fd);
        assert_true (asprintf (&want, "no space left on the disk holding `%s`: free space or point "
                                      "--cache-dir / -o elsewhere", dir) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

/* A full disk while writing to /dev/full, through the atomic writer:
 * ENOSPC from write(2) becomes the one message. */
static void
write_file_on_a_full_disk (void **state)
{
        pgimg_error_t err = NULL;
        cleanup_fd int fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
        (void) state;

        if (fd < 0)
                skip ();
        assert_int_equal (fs_write_all (fd, "x", 1), -1);
        assert_int_equal (errno, ENOSPC);
        assert_true (fs_write_error (&err, errno, "/dev/full") < 0);
        assert_non_null (strstr (err->msg, "no space left on the disk holding `/dev/full`"));
        pgimg_error_free (&err);
}

static void
json_writer_escapes_and_separates (void **state)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;
        (void) state;

        jsonw_init (&w, &b);
        jsonw_object (&w);
        jsonw_kv_string (&w, "path", "a\"b\\c\nd\x01" "e\xc3\xa9");
        jsonw_kv_uint (&w, "size", UINT64_MAX);
        jsonw_kv_bool (&w, "built", 1);
        jsonw_kv_string (&w, "none", NULL);
        jsonw_key (&w, "list");
        jsonw_array (&w);
        jsonw_string (&w, "x");
        jsonw_object (&w);
        jsonw_end (&w);
        jsonw_array (&w);
        jsonw_end (&w);
        jsonw_bool (&w, 0);
        jsonw_fixed (&w, 1.23456, 3);
        jsonw_fixed (&w, -0.0001, 3);   /* rounds to zero: no minus */
        jsonw_fixed (&w, -2.5, 1);
        jsonw_end (&w);
        jsonw_kv_fixed (&w, "seconds", 7, 0);
        jsonw_end (&w);
        assert_int_equal (jsonw_finish (&w), 0);
        assert_string_equal (b.data, "{\"path\":\"a\\\"b\\\\c\\nd\\u0001" "e\xc3\xa9\",\"size\":18446744073709551615,"
                                     "\"built\":true,\"none\":null,\"list\":[\"x\",{},[],false,1.235,0.000,-2.5],"
                                     "\"seconds\":7}");
}

static void
json_writer_refuses_unbalanced (void **state)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;
        (void) state;

        jsonw_init (&w, &b);
        jsonw_object (&w);
        assert_int_equal (jsonw_finish (&w), -1);       /* not closed */
        assert_int_equal (errno, EINVAL);
        buf_reset (&b);
        jsonw_init (&w, &b);
        jsonw_array (&w);
        jsonw_key (&w, "k");                            /* a key in an array */
        jsonw_end (&w);
        assert_int_equal (jsonw_finish (&w), -1);
        buf_reset (&b);
        jsonw_init (&w, &b);
        jsonw_end (&w);                                 /* nothing to close */
        assert_int_equal (jsonw_finish (&w), -1);
        buf_reset (&b);
        jsonw_init (&w, &b);
        jsonw_fixed (&w, NAN, 3);                       /* JSON has no NaN */
        assert_int_equal (jsonw_finish (&w), -1);
        assert_int_equal (errno, EINVAL);
        buf_reset (&b);
        jsonw_init (&w, &b);
        jsonw_fixed (&w, 1, 10);                        /* 0 to 9 places */
        assert_int_equal (jsonw_finish (&w), -1);
}

/* libarchive's "Write failed" on a full disk becomes the one message. */
static void
archive_disk_full_says_so (void **state)
{
        cleanup_archive struct archive *a = archive_write_new ();
        pgimg_error_t err = NULL;
        (void) state;

        assert_non_null (a);
        archive_set_error (a, ENOSPC, "Write failed");
        assert_int_equal (pgimg_error_from_archive (&err, a, "extract `%s`", "/c/blobs/sha256/ab"), -ENOSPC - 1);
        assert_string_equal (err->msg, "extract `/c/blobs/sha256/ab`: no space left on the disk: free space or "
                                       "point --cache-dir / -o elsewhere");
        pgimg_error_free (&err);
}

/* The first file written into a directory sweeps it, as an -o output's
 * directory must be. */
static void
first_write_into_a_directory_sweeps_it (void **state)
{
        char dir[] = "/tmp/pgimg-test-first-XXXXXX";
        char dead[64], live[64], path[128];
        cleanup_free char *out = NULL;
        pgimg_error_t err = NULL;
        int fd;
        (void) state;

        assert_non_null (mkdtemp (dir));
        snprintf (dead, sizeof (dead), ".tmp-%ld-Zz99Yy", (long) dead_pid ());
        snprintf (live, sizeof (live), ".tmp-%ld-Zz98Yy", (long) getppid ());
        for (int i = 0; i < 2; i++) {
                snprintf (path, sizeof (path), "%s/%s", dir, i ? live : dead);
                fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true (fd >= 0);
                close (fd);
        }
        assert_true (asprintf (&out, "%s/image.tar", dir) > 0);
        assert_int_equal (fs_write_file_atomic (out, "x", 1, 0644, &err), 0);
        assert_false (exists_in (dir, dead));
        assert_true (exists_in (dir, live));
        assert_true (exists_in (dir, "image.tar"));
        assert_int_equal (fs_rm_rf (dir, &err), 0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (error_wrap_prefixes),
                cmocka_unit_test (buf_limit_is_enforced),
                cmocka_unit_test (sha256_known_vectors),
                cmocka_unit_test (atomic_write_leaves_no_temp),
                cmocka_unit_test (read_chunks_hands_on_stops_and_names_read_errors),
                cmocka_unit_test (sweep_removes_only_dead_temps),
                cmocka_unit_test (first_write_into_a_directory_sweeps_it),
                cmocka_unit_test (disk_full_names_the_path),
                cmocka_unit_test (disk_full_on_an_fd_names_its_directory),
                cmocka_unit_test (write_file_on_a_full_disk),
                cmocka_unit_test (json_writer_escapes_and_separates),
                cmocka_unit_test (json_writer_refuses_unbalanced),
                cmocka_unit_test (archive_disk_full_says_so),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
