#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "oci/receipt.h"
#include "oci/sbom.h"

static const struct sbom_package packages[] = {
        { .kind = SBOM_DEB, .name = "libstdc++6", .version = "1:14.2.0-19", .arch = "amd64", .source = "gcc-14",
          .license = "GPL-3.0-or-later AND LicenseRef-public-domain" },
        { .kind = SBOM_DEB, .name = "bash", .version = "5.2.37-2+b10", .arch = "amd64", .source = "bash",
          .source_version = "5.2.37-2", .license = NULL },
        { .kind = SBOM_SOURCE, .name = "postgresql", .version = "18.6", .license = "PostgreSQL",
          .download_url = "https://ftp.postgresql.org/pub/source/v18.6/postgresql-18.6.tar.bz2",
          .sha256 = "555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f" },
        { .kind = SBOM_SOURCE, .name = "pgvector", .version = "0.8.7", .license = "PostgreSQL" },
        { .kind = SBOM_SOURCE, .name = "pgvector", .version = "0.8.7", .license = "PostgreSQL" },
};

static const struct sbom doc = {
        .name = "pgimg/postgres:18.6", .doc_namespace = "https://spdx.org/spdxdocs/pgimg-postgres-18.6-x",
        .created = "2025-08-09T09:12:34Z", .creator = "Tool: pgimg-0.1.0", .image_name = "pgimg/postgres",
        .image_version = "18.6", .distro = "debian-13.8", .packages = packages,
        .n_packages = sizeof (packages) / sizeof (packages[0]),
};

static void
purls_as_syft_writes_them (void **state)
{
        cleanup_buf struct buf out = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (sbom_format (&doc, &out, &err), 0);
        assert_non_null (strstr (out.data, "\"pkg:deb/debian/libstdc%2B%2B6@1%3A14.2.0-19?arch=amd64&distro=debian-13.8&upstream=gcc-14\""));
        assert_non_null (strstr (out.data, "\"pkg:deb/debian/bash@5.2.37-2%2Bb10?arch=amd64&distro=debian-13.8&upstream=bash%405.2.37-2\""));
        assert_non_null (strstr (out.data, "\"pkg:generic/postgresql@18.6?download_url=https%3A%2F%2Fftp.postgresql.org"));
}

static void
document_is_complete_and_stable (void **state)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (sbom_format (&doc, &a, &err), 0);
        assert_int_equal (sbom_format (&doc, &b, &err), 0);
        assert_string_equal (a.data, b.data);
        assert_non_null (strstr (a.data, "\"spdxVersion\": \"SPDX-2.3\""));
        assert_non_null (strstr (a.data, "\"created\": \"2025-08-09T09:12:34Z\""));
        /* Every LicenseRef is declared, once. */
        assert_non_null (strstr (a.data, "\"licenseId\": \"LicenseRef-public-domain\""));
        assert_null (strstr (strstr (a.data, "\"licenseId\": \"LicenseRef-public-domain\"") + 1,
                             "\"licenseId\": \"LicenseRef-public-domain\""));
        /* No licence read: NOASSERTION, never an empty string. */
        assert_non_null (strstr (a.data, "\"licenseDeclared\": \"NOASSERTION\""));
        /* SPDXIDs stay legal and unique: "+" made "-", a repeated package numbered. */
        assert_non_null (strstr (a.data, "\"SPDXRef-Package-deb-libstdc--6-1-14.2.0-19\""));
        assert_non_null (strstr (a.data, "\"SPDXRef-Package-source-pgvector-0.8.7\""));
        assert_non_null (strstr (a.data, "\"SPDXRef-Package-source-pgvector-0.8.7-4\""));
        assert_non_null (strstr (a.data, "\"relationshipType\": \"DESCRIBES\""));
        assert_non_null (strstr (a.data, "\"Debian package for amd64, built from the source package bash 5.2.37-2\""));
        assert_non_null (strstr (a.data, "\"Debian package for amd64, built from the source package gcc-14 1:14.2.0-19\""));
        assert_non_null (strstr (a.data, "\"checksumValue\": \"555610c24d53e4316da5b7d3fc25c279d96856d5e0e23ee308c328c5fa881d9f\""));
}

static void
a_disk_is_an_operating_system (void **state)
{
        cleanup_buf struct buf image = BUF_INIT;
        cleanup_buf struct buf disk = BUF_INIT;
        struct sbom d = doc;
        pgimg_error_t err = NULL;

        (void) state;
        d.disk = 1;
        assert_int_equal (sbom_format (&doc, &image, &err), 0);
        assert_int_equal (sbom_format (&d, &disk, &err), 0);
        assert_non_null (strstr (image.data, "\"primaryPackagePurpose\": \"CONTAINER\""));
        assert_null (strstr (image.data, "OPERATING-SYSTEM"));
        assert_non_null (strstr (disk.data, "\"primaryPackagePurpose\": \"OPERATING-SYSTEM\""));
        assert_non_null (strstr (disk.data, "\"a bootable disk image of PostgreSQL built by pgimg\""));
}

/* A disk's receipt says what the machine layer adds; an image's has no "disk". */
static void
receipt_of_a_disk (void **state)
{
        static const struct receipt_package base[] = { { "libc6", "2.41-12" } };
        static const struct receipt_package machine[] = { { "linux-image-cloud-amd64", "6.12.57-1" },
                                                          { "systemd", "257.9-1" } };
        static const char *const tags[] = { "pgimg/postgres:18.6", NULL };
        static const char *const urls[] = { "https://ftp.postgresql.org/x.tar.bz2", NULL };
        const struct layer_desc desc = { .digest = "sha256:aa", .diff_id = "sha256:bb", .size = 3 };
        const struct receipt_layer layers[] = { { "machine", "k", &desc } };
        struct receipt r = {
                .pgimg_version = "0.1.0", .image = "pgimg/postgres", .tags = tags, .pg_major = "18",
                .pg_version = "18.6", .source_sha256 = "55", .source_urls = urls, .lock_path = "lock/x.json",
                .lock_digest = "sha256:cc", .source_date_epoch = 1, .packages = base, .n_packages = 1,
                .layers = layers, .n_layers = 1,
        };
        cleanup_buf struct buf image = BUF_INIT;
        cleanup_buf struct buf disk = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (receipt_format (&r, &image, &err), 0);
        assert_null (strstr (image.data, "\"disk\""));
        r.disk.format = "vmdk";
        r.disk.size_mib = 4096;
        r.disk.machine_packages = machine;
        r.disk.n_machine_packages = 2;
        assert_int_equal (receipt_format (&r, &disk, &err), 0);
        assert_non_null (strstr (disk.data, "\"format\": \"vmdk\""));
        assert_non_null (strstr (disk.data, "\"sizeMiB\": 4096"));
        assert_non_null (strstr (disk.data, "\"name\": \"linux-image-cloud-amd64\""));
        assert_non_null (strstr (disk.data, "\"name\": \"machine\""));
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (purls_as_syft_writes_them),
                cmocka_unit_test (document_is_complete_and_stable),
                cmocka_unit_test (a_disk_is_an_operating_system),
                cmocka_unit_test (receipt_of_a_disk),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
