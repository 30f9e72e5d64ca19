/* test_oci_read.c - reading an image layout back: the manifest, Env,
 * volume and diff_ids, and the errors for a layout that lies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "oci/read.h"

static char dir[] = "/tmp/pgimg-test-oci-read-XXXXXX";

static const char *config_json =
        "{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/bin\",\"PGDATA=/var/lib/postgresql/18/docker\"],"
        "\"Volumes\":{\"/var/lib/postgresql\":{}}},\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"]}}";
static const char *layer_hex = "2222222222222222222222222222222222222222222222222222222222222222";

/* Write data as a blob; hex receives its name. */
static void
blob (const char *data, char hex[SHA256_HEX_LEN + 1])
{
        char path[256];
        pgimg_error_t err = NULL;

        assert_int_equal (sha256_buf_hex (data, strlen (data), hex, &err), 0);
        snprintf (path, sizeof (path), "%s/blobs/sha256/%s", dir, hex);
        assert_int_equal (fs_write_file_atomic (path, data, strlen (data), 0644, &err), 0);
}

static void
write_layout (const char *manifest_override)
{
        char config_hex[SHA256_HEX_LEN + 1], manifest_hex[SHA256_HEX_LEN + 1], path[256];
        cleanup_free char *manifest = NULL;
        cleanup_free char *index = NULL;
        pgimg_error_t err = NULL;

        snprintf (path, sizeof (path), "%s/blobs/sha256", dir);
        assert_int_equal (fs_mkdir_p (path, 0755, &err), 0);
        blob (config_json, config_hex);
        assert_true (asprintf (&manifest,
                               "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:%s\",\"size\":%zu},"
                               "\"layers\":[{\"digest\":\"sha256:%s\",\"size\":1234}]}",
                               config_hex, strlen (config_json), layer_hex) > 0);
        blob (manifest_override ? manifest_override : manifest, manifest_hex);
        assert_true (asprintf (&index, "{\"manifests\":[{\"digest\":\"sha256:%s\"}]}", manifest_hex) > 0);
        snprintf (path, sizeof (path), "%s/index.json", dir);
        assert_int_equal (fs_write_file_atomic (path, index, strlen (index), 0644, &err), 0);
}

static void
reads_what_was_written (void **state)
{
        struct oci_read r;
        pgimg_error_t err = NULL;

        (void) state;
        write_layout (NULL);
        if (oci_read_layout (dir, &r, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_int_equal (r.n_layers, 1);
        assert_string_equal (r.layers[0].digest + 7, layer_hex);
        assert_string_equal (r.layers[0].diff_id,
                             "sha256:1111111111111111111111111111111111111111111111111111111111111111");
        assert_string_equal (r.env[1], "PGDATA=/var/lib/postgresql/18/docker");
        assert_null (r.env[2]);
        assert_string_equal (r.volume, "/var/lib/postgresql");
        assert_int_equal (strncmp (r.manifest_digest, "sha256:", 7), 0);
        oci_read_free (&r);
}

static void
a_manifest_without_layers_is_refused (void **state)
{
        struct oci_read r;
        pgimg_error_t err = NULL;
        char want[256];

        (void) state;
        write_layout ("{\"schemaVersion\":2,\"manifests\":[]}");
        assert_true (oci_read_layout (dir, &r, &err) < 0);
        snprintf (want, sizeof (want), "image %s: the manifest has no layers (an image index?)", dir);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        oci_read_free (&r);
}

static void
a_blob_that_does_not_match_its_digest_is_refused (void **state)
{
        char path[256];
        struct oci_read r;
        pgimg_error_t err = NULL;

        (void) state;
        write_layout (NULL);
        /* The config blob, rewritten under its old name. */
        char hex[SHA256_HEX_LEN + 1];
        assert_int_equal (sha256_buf_hex (config_json, strlen (config_json), hex, &err), 0);
        snprintf (path, sizeof (path), "%s/blobs/sha256/%s", dir, hex);
        assert_int_equal (fs_write_file_atomic (path, "{}", 2, 0644, &err), 0);
        assert_true (oci_read_layout (dir, &r, &err) < 0);
        assert_non_null (strstr (err->msg, "not the digest that names it"));
        pgimg_error_free (&err);
        oci_read_free (&r);
}

static int
setup (void **state)
{
        (void) state;
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
                cmocka_unit_test (reads_what_was_written),
                cmocka_unit_test (a_manifest_without_layers_is_refused),
                cmocka_unit_test (a_blob_that_does_not_match_its_digest_is_refused),
        };
        return cmocka_run_group_tests (tests, setup, teardown);
}
