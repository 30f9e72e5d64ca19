#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/deb_meta.h"
#include "common/cleanup.h"

static char *
license_of (const char *text)
{
        pgimg_error_t err = NULL;
        char *out = NULL;

        assert_int_equal (deb_meta_license (text, strlen (text), &out, &err), 0);
        return out;
}

static void
copyright_licenses (void **state)
{
        (void) state;
        cleanup_free char *gpl = license_of ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                                             "\nFiles: *\nCopyright: 2001 X\nLicense: GPL-2+\n"
                                             "\nFiles: lib/*\nLicense: LGPL-2.1+ with OpenSSL exception\n"
                                             "\nLicense: GPL-2+\n This program is free software ...\n");
        cleanup_free char *alt = license_of ("Files: *\nLicense: GPL-1+ or Artistic\n");
        cleanup_free char *other = license_of ("Files: *\nlicense: public domain\nLicense: Expat\n");
        cleanup_free char *plain = license_of ("This package was debianized by someone.\nIt is GPL.\n");
        cleanup_free char *empty = license_of ("License:\n");
        cleanup_free char *both = license_of ("License: MIT and GPL-2+\nLicense: ISC\nLicense: GPL-2.0-only\n");

        assert_string_equal (gpl, "GPL-2.0-or-later AND LGPL-2.1-or-later");
        assert_string_equal (alt, "GPL-1.0-or-later OR Artistic-1.0-Perl");
        assert_string_equal (other, "LicenseRef-public-domain AND MIT");
        assert_null (plain);
        assert_null (empty);
        assert_string_equal (both, "GPL-2.0-only AND GPL-2.0-or-later AND ISC AND MIT");
}

static void
status_fields (void **state)
{
        static const char status[] = "Package: libc6\nStatus: install ok installed\n"
                                     "Source: glibc (2.41-12)\nVersion: 2.41-12\nDescription: x\n more\n"
                                     "\nPackage: other\nArchitecture: all\n";
        cleanup_free char *source = NULL, *version = NULL, *arch = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (deb_meta_field (status, sizeof (status) - 1, "source", &source, &err), 0);
        assert_int_equal (deb_meta_field (status, sizeof (status) - 1, "Version", &version, &err), 0);
        assert_int_equal (deb_meta_field (status, sizeof (status) - 1, "Architecture", &arch, &err), 0);
        assert_string_equal (source, "glibc (2.41-12)");
        assert_string_equal (version, "2.41-12");
        assert_null (arch);     /* only the first paragraph counts */
}

static void
os_release_distro (void **state)
{
        static const char os[] = "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_ID=\"13\"\nID=debian\n";
        cleanup_free char *distro = NULL, *none = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        cleanup_free char *point = NULL, *sid = NULL;
        assert_int_equal (deb_meta_distro (os, sizeof (os) - 1, NULL, &distro, &err), 0);
        assert_string_equal (distro, "debian-13");
        assert_int_equal (deb_meta_distro (os, sizeof (os) - 1, "13.8\n", &point, &err), 0);
        assert_string_equal (point, "debian-13.8");
        assert_int_equal (deb_meta_distro (os, sizeof (os) - 1, "trixie/sid\n", &sid, &err), 0);
        assert_string_equal (sid, "debian-13");
        assert_int_equal (deb_meta_distro ("ID=debian\n", 10, NULL, &none, &err), 0);
        assert_null (none);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (copyright_licenses),
                cmocka_unit_test (status_fields),
                cmocka_unit_test (os_release_distro),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
