/* test_rootfs.c - the texts the runtime base gets in place of what
 * Debian's maintainer scripts would have written: shadow files, the
 * shadow group, /etc/shells. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/rootfs.h"
#include "common/buf.h"

static const char passwd[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "# a comment line\n"
        "\n"
        "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin";

static void
every_account_gets_a_locked_shadow_entry (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (rootfs_shadow_text (passwd, 0, &out, &err), 0);
        assert_string_equal (out.data, "root:*::0:99999:7:::\n"
                                       "postgres:*::0:99999:7:::\n"
                                       "nobody:*::0:99999:7:::\n");
}

static void
every_group_gets_a_locked_gshadow_entry_with_its_members (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (rootfs_shadow_text ("root:x:0:\npostgres:x:999:app,backup\n", 1, &out, &err), 0);
        assert_string_equal (out.data, "root:*::\npostgres:*::app,backup\n");
}

static void
a_line_without_a_name_is_refused_with_its_number (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (rootfs_shadow_text ("root:x:0:0::/root:/bin/sh\n:x:1:1::/:/bin/sh\n", 0, &out, &err) < 0);
        assert_non_null (strstr (err->msg, "/etc/passwd line 2 has no name"));
        pgimg_error_free (&err);
        assert_true (rootfs_shadow_text ("staff\n", 1, &out, &err) < 0);
        assert_non_null (strstr (err->msg, "/etc/group line 1"));
        pgimg_error_free (&err);
}

static void
the_shadow_group_is_added_once (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        cleanup_buf struct buf again = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        /* A last line without its newline keeps its own line. */
        assert_int_equal (rootfs_group_with ("root:x:0:\nnogroup:x:65534:", "shadow", 42, &out, &err), 0);
        assert_string_equal (out.data, "root:x:0:\nnogroup:x:65534:\nshadow:x:42:\n");
        assert_int_equal (rootfs_group_with (out.data, "shadow", 42, &again, &err), 0);
        assert_string_equal (again.data, out.data);
}

static void
a_group_holding_the_shadow_gid_is_refused (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (rootfs_group_with ("root:x:0:\nstaff:x:42:\n", "shadow", 42, &out, &err) < 0);
        assert_non_null (strstr (err->msg, "line 2 gives gid 42"));
        assert_non_null (strstr (err->msg, "`staff`"));
        pgimg_error_free (&err);
        /* 420 is not 42. */
        buf_reset (&out);
        assert_int_equal (rootfs_group_with ("staff:x:420:\n", "shadow", 42, &out, &err), 0);
}

static void
shells_are_listed_once_with_their_usr_twins (void **state)
{
        cleanup_buf struct buf shells = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (buf_adds (&shells, "# /etc/shells: valid login shells\n"), 0);
        assert_int_equal (rootfs_shells_add (&shells, "# /etc/shells: valid login shells\n/bin/sh\n", &err), 0);
        assert_int_equal (rootfs_shells_add (&shells, "/bin/bash\n/usr/bin/bash\n/bin/rbash # restricted\n", &err), 0);
        assert_int_equal (rootfs_shells_add (&shells, "/usr/bin/dash\n/bin/sh\n", &err), 0);
        assert_string_equal (shells.data, "# /etc/shells: valid login shells\n"
                                          "/bin/sh\n/usr/bin/sh\n"
                                          "/bin/bash\n/usr/bin/bash\n"
                                          "/bin/rbash\n/usr/bin/rbash\n"
                                          "/usr/bin/dash\n");
}

static void
a_shell_that_is_not_a_path_is_refused (void **state)
{
        cleanup_buf struct buf shells = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (rootfs_shells_add (&shells, "/bin/sh\nbash\n", &err) < 0);
        assert_non_null (strstr (err->msg, "line 2 is not an absolute path"));
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (every_account_gets_a_locked_shadow_entry),
                cmocka_unit_test (every_group_gets_a_locked_gshadow_entry_with_its_members),
                cmocka_unit_test (a_line_without_a_name_is_refused_with_its_number),
                cmocka_unit_test (the_shadow_group_is_added_once),
                cmocka_unit_test (a_group_holding_the_shadow_gid_is_refused),
                cmocka_unit_test (shells_are_listed_once_with_their_usr_twins),
                cmocka_unit_test (a_shell_that_is_not_a_path_is_refused),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
