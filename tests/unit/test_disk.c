#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/disk.h"
#include "common/error.h"

static void
sizes_in_mib (void **state)
{
        static const struct { const char *text; uint64_t mib; } good[] = {
                { "4G", 4096 }, { "4GiB", 4096 }, { "6144M", 6144 }, { "512MiB", 512 }, { "1T", 1 << 20 },
                { "64T", 64ull << 20 },
        };
        static const char *const bad[] = { "", "4", "4g", "4.5G", "-1G", "0G", "G", "4 G", "4GB", "65T",
                                           "99999999999999999999G" };
        pgimg_error_t err = NULL;
        uint64_t mib;

        (void) state;
        for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
                assert_int_equal (disk_size_parse (good[i].text, &mib, &err), 0);
                assert_int_equal (mib, good[i].mib);
        }
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                assert_true (disk_size_parse (bad[i], &mib, &err) < 0);
                assert_non_null (strstr (err->msg, "is not a size; write a whole number of M or G"));
                pgimg_error_free (&err);
        }
}

static void
formats_by_name (void **state)
{
        static const char *const names[] = { "raw", "qcow2", "vmdk", "vhd" };
        pgimg_error_t err = NULL;
        enum disk_format f;

        (void) state;
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal (disk_format_parse (names[i], &f, &err), 0);
                assert_string_equal (disk_format_name (f), names[i]);
        }
        assert_true (disk_format_parse ("iso", &f, &err) < 0);
        assert_string_equal (err->msg, "unknown disk format `iso`; use raw, qcow2, vmdk or vhd");
        pgimg_error_free (&err);
}

/* The same seed and name, the same GUID; another name, another GUID;
 * always a version 4 UUID of the RFC 4122 variant. */
static void
guids_from_a_seed (void **state)
{
        pgimg_error_t err = NULL;
        char a[37], b[37], c[37];

        (void) state;
        assert_int_equal (disk_guid ("seed", "ROOT_GUID", a, &err), 0);
        assert_int_equal (disk_guid ("seed", "ROOT_GUID", b, &err), 0);
        assert_int_equal (disk_guid ("seed", "ESP_GUID", c, &err), 0);
        assert_string_equal (a, b);
        assert_string_not_equal (a, c);
        assert_int_equal (strlen (a), 36);
        assert_int_equal (a[8], '-');
        assert_int_equal (a[14], '4');
        assert_non_null (strchr ("89ab", a[19]));
}

static void
root_need_grows_with_the_tree (void **state)
{
        (void) state;
        assert_true (disk_root_need_mib (0, 0) >= 64);
        assert_true (disk_root_need_mib (1000ull << 20, 40000) > 1000 + 64);
        assert_true (disk_root_need_mib (1000ull << 20, 40000) < 1200 + 64);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (sizes_in_mib),
                cmocka_unit_test (formats_by_name),
                cmocka_unit_test (guids_from_a_seed),
                cmocka_unit_test (root_need_grows_with_the_tree),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
