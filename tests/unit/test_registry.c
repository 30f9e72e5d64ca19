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
#include "oci/image.h"
#include "registry/internal.h"
#include "registry/registry.h"

struct fixture {
        char dir[64];
};

static int
setup (void **state)
{
        struct fixture *f = calloc (1, sizeof (*f));
        assert_non_null (f);
        strcpy (f->dir, "/tmp/pgimg-test-registry-XXXXXX");
        assert_non_null (mkdtemp (f->dir));
        *state = f;
        return 0;
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        assert_int_equal (fs_rm_rf (f->dir, &err), 0);
        free (f);
        return 0;
}

static char *
path_in (const struct fixture *f, const char *name)
{
        char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", f->dir, name) > 0);
        return p;
}

static void
references_parse (void **state)
{
        struct oci_ref r;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (oci_ref_parse_remote ("localhost:5000/pgimg/postgres:17", &r, &err), 0);
        assert_string_equal (r.domain, "localhost:5000");
        assert_string_equal (r.path, "pgimg/postgres");
        assert_string_equal (r.tag, "17");
        assert_null (r.digest);
        oci_ref_free (&r);

        assert_int_equal (oci_ref_parse_remote ("postgres", &r, &err), 0);
        assert_string_equal (r.domain, "docker.io");
        assert_string_equal (r.path, "library/postgres");
        assert_string_equal (r.tag, "latest");
        oci_ref_free (&r);

        assert_int_equal (oci_ref_parse_remote ("127.0.0.1:5000/a/b@sha256:"
                                         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                         &r, &err),
                          0);
        assert_string_equal (r.domain, "127.0.0.1:5000");
        assert_null (r.tag);
        assert_non_null (r.digest);
        oci_ref_free (&r);

        assert_true (oci_ref_parse_remote ("localhost:5000/Upper/case:1", &r, &err) < 0);
        assert_string_equal (err->msg, "invalid reference `localhost:5000/Upper/case:1` (want "
                                       "HOST[:PORT]/NAME[:TAG][@sha256:HEX], the name in lowercase)");
        pgimg_error_free (&err);
        assert_true (oci_ref_parse_remote ("host.io/a@sha256:abc", &r, &err) < 0);
        pgimg_error_free (&err);
        assert_true (oci_ref_parse_remote ("host.io/a:-bad", &r, &err) < 0);
        pgimg_error_free (&err);
        assert_true (oci_ref_parse_remote ("host.io/a..b:1", &r, &err) < 0);
        pgimg_error_free (&err);
}

static void
challenges_parse (void **state)
{
        struct reg_challenge c;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (reg_challenge_parse ("Bearer realm=\"https://auth.example/token\",service=\"reg\","
                                               "scope=\"repository:a/b:pull,push\"",
                                               &c, &err),
                          0);
        assert_true (c.bearer);
        assert_string_equal (c.realm, "https://auth.example/token");
        assert_string_equal (c.service, "reg");
        assert_string_equal (c.scope, "repository:a/b:pull,push");
        reg_challenge_free (&c);

        assert_int_equal (reg_challenge_parse ("Basic realm=\"pgimg \\\"test\\\"\"", &c, &err), 0);
        assert_false (c.bearer);
        assert_string_equal (c.realm, "pgimg \"test\"");
        reg_challenge_free (&c);

        /* The header is never quoted: it could carry anything. */
        assert_true (reg_challenge_parse ("Bearer service=\"x\"", &c, &err) < 0);
        assert_string_equal (err->msg, "a malformed WWW-Authenticate challenge");
        pgimg_error_free (&err);
        assert_true (reg_challenge_parse ("Bearer realm=\"unterminated", &c, &err) < 0);
        pgimg_error_free (&err);
        assert_true (reg_challenge_parse ("Negotiate abc", &c, &err) < 0);
        assert_string_equal (err->msg, "an authentication scheme other than Basic and Bearer");
        pgimg_error_free (&err);
}

static int
token_parse (const char *reply, char **token, long *expires, pgimg_error_t *err)
{
        return reg_token_parse (reply, strlen (reply), token, expires, err);
}

static void
token_replies_parse (void **state)
{
        pgimg_error_t err = NULL;
        char *token = NULL;
        long expires = -1;
        (void) state;

        assert_int_equal (token_parse ("{\"token\":\"abc\",\"expires_in\":300}", &token, &expires, &err), 0);
        assert_string_equal (token, "abc");
        assert_int_equal (expires, 300);
        free (token);
        assert_int_equal (token_parse ("{\"access_token\":\"x\"}", &token, &expires, &err), 0);
        assert_string_equal (token, "x");
        assert_int_equal (expires, 60);
        free (token);
        /* time (NULL) + expires_in must not overflow. */
        assert_int_equal (token_parse ("{\"token\":\"x\",\"expires_in\":9223372036854775807}", &token,
                                           &expires, &err),
                          0);
        assert_int_equal (expires, 86400);
        free (token);
        /* A CR or LF would add headers of the token server's choosing. */
        assert_true (token_parse ("{\"token\":\"a\\r\\nX-Evil: 1\"}", &token, &expires, &err) < 0);
        assert_string_equal (err->msg, "a token that cannot be sent in an HTTP header (empty, too long, "
                             "or holding CR, LF or NUL); nothing was sent with it");
        pgimg_error_free (&err);
        assert_true (token_parse ("{\"token\":\"a\\u0000b\"}", &token, &expires, &err) < 0);
        pgimg_error_free (&err);
        assert_true (token_parse ("{\"token\":7}", &token, &expires, &err) < 0);
        assert_string_equal (err->msg, "no token in its reply");
        pgimg_error_free (&err);
}

static void
base64_round_trips (void **state)
{
        cleanup_free char *e = reg_base64 ("user:pa:ss", 10);
        char *d = NULL;
        size_t len;
        (void) state;

        assert_string_equal (e, "dXNlcjpwYTpzcw==");
        assert_int_equal (reg_unbase64 (e, &d, &len), 0);
        assert_int_equal (len, 10);
        assert_string_equal (d, "user:pa:ss");
        free (d);
        assert_true (reg_unbase64 ("not*base64", &d, &len) < 0);
}

static void
credentials_from_env_and_docker_config (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *config = path_in (f, "config.json");
        cleanup_free char *b = reg_base64 ("alice:s3cret", 12);
        cleanup_free char *json = NULL;
        struct reg_creds c;
        pgimg_error_t err = NULL;

        assert_true (asprintf (&json, "{\"auths\":{\"reg.example:5000\":{\"auth\":\"%s\"},"
                                      "\"https://index.docker.io/v1/\":{\"auth\":\"%s\"},"
                                      "\"bad.example\":{\"auth\":\"bm9jb2xvbg==\"}}}",
                               b, b)
                     > 0);
        assert_int_equal (fs_write_file_atomic (config, json, strlen (json), 0600, &err), 0);
        setenv ("DOCKER_CONFIG", f->dir, 1);
        unsetenv ("PGIMG_REGISTRY_USER");

        assert_int_equal (reg_creds_lookup ("reg.example:5000", &c, &err), 0);
        assert_string_equal (c.user, "alice");
        assert_string_equal (c.password, "s3cret");
        assert_string_equal (c.source, "~/.docker/config.json");
        reg_creds_free (&c);
        assert_int_equal (reg_creds_lookup ("docker.io", &c, &err), 0);
        assert_string_equal (c.user, "alice");
        reg_creds_free (&c);
        assert_int_equal (reg_creds_lookup ("other.example", &c, &err), 0);
        assert_null (c.user);

        /* "nocolon" has no password: the message names the file and the
         * registry, never the secret. */
        assert_true (reg_creds_lookup ("bad.example", &c, &err) < 0);
        assert_non_null (strstr (err->msg, "run `docker login bad.example` again"));
        assert_null (strstr (err->msg, "nocolon"));
        pgimg_error_free (&err);

        setenv ("PGIMG_REGISTRY_USER", "bob", 1);
        setenv ("PGIMG_REGISTRY_PASSWORD", "pw", 1);
        assert_int_equal (reg_creds_lookup ("reg.example:5000", &c, &err), 0);
        assert_string_equal (c.user, "bob");
        assert_string_equal (c.password, "pw");
        assert_string_equal (c.source, "PGIMG_REGISTRY_USER and PGIMG_REGISTRY_PASSWORD");
        reg_creds_free (&c);
        unsetenv ("PGIMG_REGISTRY_USER");
        unsetenv ("PGIMG_REGISTRY_PASSWORD");
        unsetenv ("DOCKER_CONFIG");
}

static void
manifests_and_indexes_parse (void **state)
{
        static const char m[] =
                "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                "\"config\":{\"mediaType\":\"c\",\"digest\":\"sha256:"
                "1111111111111111111111111111111111111111111111111111111111111111\",\"size\":10},"
                "\"layers\":[{\"mediaType\":\"l\",\"digest\":\"sha256:"
                "2222222222222222222222222222222222222222222222222222222222222222\",\"size\":20}]}";
        static const char idx[] =
                "{\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"sha256:"
                "3333333333333333333333333333333333333333333333333333333333333333\",\"size\":1,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                "{\"mediaType\":\"m\",\"digest\":\"sha256:"
                "4444444444444444444444444444444444444444444444444444444444444444\",\"size\":2,"
                "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
        struct reg_manifest man;
        struct reg_desc d;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (reg_manifest_parse (m, strlen (m), &man, &err), 0);
        assert_string_equal (man.media_type, REG_MEDIA_OCI_MANIFEST);
        assert_int_equal (man.config.size, 10);
        assert_int_equal (man.n_layers, 1);
        assert_int_equal (man.layers[0].size, 20);
        assert_string_equal (man.layers[0].media_type, "l");
        reg_manifest_free (&man);

        assert_int_equal (reg_index_pick (idx, strlen (idx), &d, &err), 0);
        assert_int_equal (d.size, 2);
        reg_desc_free (&d);
        assert_true (reg_media_is_index (REG_MEDIA_DOCKER_LIST));
        assert_false (reg_media_is_index (REG_MEDIA_OCI_MANIFEST));

        assert_true (reg_manifest_parse (idx, strlen (idx), &man, &err) < 0);
        assert_string_equal (err->msg, "manifest: no layers (an index or a schema 1 manifest?)");
        pgimg_error_free (&err);
        assert_true (reg_manifest_parse ("{\"layers\":[{\"digest\":\"md5:x\"}]}", 31, &man, &err) < 0);
        assert_string_equal (err->msg, "manifest config: a descriptor without a sha256 digest and a size");
        pgimg_error_free (&err);
}

/* An image written by oci_write_image (the tarball of `pgimg build`)
 * is read into the store: the manifest checked, every blob opened from
 * there. */
static int
write_test_image (const struct fixture *f, enum oci_format fmt, const char *out,
                  char manifest[LAYER_DIGEST_LEN])
{
        cleanup_free char *blobs = path_in (f, "blobs");
        cleanup_free char *layer = NULL;
        const char *const tags[] = { "pgimg-test/reg:1", NULL };
        static const char data[] = "not really a gzip layer";
        struct layer_desc l = { .size = sizeof (data) - 1, .compression = LAYER_GZIP };
        char hex[SHA256_HEX_LEN + 1];
        pgimg_error_t err = NULL;

        assert_int_equal (fs_mkdir_p (blobs, 0755, &err), 0);
        assert_int_equal (sha256_buf_hex (data, l.size, hex, &err), 0);
        snprintf (l.digest, sizeof (l.digest), "sha256:%s", hex);
        snprintf (l.diff_id, sizeof (l.diff_id), "sha256:%s", hex);
        assert_true (asprintf (&layer, "%s/%s", blobs, hex) > 0);
        assert_int_equal (fs_write_file_atomic (layer, data, l.size, 0644, &err), 0);
        struct oci_image img = { .created = 1700000000, .architecture = "amd64", .layers = &l,
                                 .n_layers = 1, .tags = tags };
        return oci_write_image (blobs, &img, fmt, out, manifest, &err);
}

static void
image_tarball_is_read_into_the_store (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tar = path_in (f, "img.tar");
        cleanup_free char *dir = path_in (f, "img-dir");
        cleanup_free char *store = path_in (f, "store");
        char manifest[LAYER_DIGEST_LEN];
        struct reg_image img;
        pgimg_error_t err = NULL;

        assert_int_equal (fs_mkdir_p (store, 0755, &err), 0);
        assert_int_equal (write_test_image (f, OCI_FORMAT_ARCHIVE, tar, manifest), 0);
        if (reg_image_open (tar, store, &img, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_string_equal (img.manifest_digest, manifest);
        assert_string_equal (img.manifest_media_type, REG_MEDIA_OCI_MANIFEST);
        assert_int_equal (img.n_blobs, 2);
        assert_int_equal (img.blobs[1].size, 23);
        assert_true (img.blobs[1].owns_fd);
        {
                char got[24] = "";
                assert_int_equal (pread (img.blobs[1].fd, got, 23, (off_t) img.blobs[1].offset), 23);
                assert_string_equal (got, "not really a gzip layer");
        }
        reg_image_close (&img);

        assert_int_equal (write_test_image (f, OCI_FORMAT_DIR, dir, manifest), 0);
        assert_int_equal (reg_image_open (dir, store, &img, &err), 0);
        assert_string_equal (img.manifest_digest, manifest);
        assert_int_equal (img.n_blobs, 2);
        reg_image_close (&img);
}

static void
bad_images_are_refused_by_name (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *junk = path_in (f, "junk.tar");
        cleanup_free char *missing = path_in (f, "missing.tar");
        cleanup_free char *store = path_in (f, "store");
        struct reg_image img;
        pgimg_error_t err = NULL;
        char *want = NULL;

        assert_int_equal (fs_write_file_atomic (junk, "hello", 5, 0644, &err), 0);
        assert_int_equal (fs_mkdir_p (store, 0755, &err), 0);
        assert_true (reg_image_open (junk, store, &img, &err) < 0);
        assert_true (asprintf (&want, "read the image `%s`: ", junk) > 0);
        assert_non_null (strstr (err->msg, want));
        free (want);
        pgimg_error_free (&err);

        assert_true (reg_image_open (missing, store, &img, &err) < 0);
        assert_true (asprintf (&want, "image `%s`: No such file or directory", missing) > 0);
        assert_string_equal (err->msg, want);
        free (want);
        pgimg_error_free (&err);
}

/* A pulled image (in the store) written as a tarball reads as the same
 * image, through oci/'s writer and reader. */
static void
pulled_tarball_round_trips (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tar = path_in (f, "img.tar");
        cleanup_free char *out = path_in (f, "again.tar");
        cleanup_free char *blobs = path_in (f, "store");
        char manifest[LAYER_DIGEST_LEN];
        struct reg_image img, again;
        pgimg_error_t err = NULL;

        assert_int_equal (fs_mkdir_p (blobs, 0755, &err), 0);
        assert_int_equal (write_test_image (f, OCI_FORMAT_ARCHIVE, tar, manifest), 0);
        assert_int_equal (reg_image_open (tar, blobs, &img, &err), 0);
        assert_int_equal (reg_store_bytes (blobs, img.manifest_digest, img.manifest, img.manifest_len, &err), 0);
        if (oci_write_stored (blobs, img.manifest_digest, "localhost:5000/pgimg-test/reg:1", out, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_int_equal (reg_image_open (out, blobs, &again, &err), 0);
        assert_string_equal (again.manifest_digest, img.manifest_digest);
        assert_int_equal (again.n_blobs, img.n_blobs);
        reg_image_close (&again);

        /* A manifest whose bytes do not match the digest is refused. */
        assert_true (reg_store_bytes (blobs, img.manifest_digest, "{}", 2, &err) < 0);
        assert_non_null (strstr (err->msg, "refused"));
        pgimg_error_free (&err);
        reg_image_close (&img);
}

/* What is wrong with an S3 destination is said before any request. */
static void
s3_destinations_are_checked_first (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *tar = path_in (f, "img.tar");
        cleanup_free char *none = path_in (f, "no-credentials");
        struct registry_opts o = { .retries = 0, .s3_endpoint = "http://10.0.0.1:9000" };
        char manifest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;

        assert_int_equal (write_test_image (f, OCI_FORMAT_ARCHIVE, tar, manifest), 0);
        assert_true (registry_is_s3 ("s3://b/p"));
        assert_false (registry_is_s3 ("localhost:5000/p"));

        assert_true (registry_push (tar, f->dir, "s3://Bad_Bucket/x", &o, NULL, &err) < 0);
        assert_string_equal (err->msg, "invalid S3 location `s3://Bad_Bucket/x` (want s3://BUCKET[/PREFIX][:TAG])");
        pgimg_error_free (&err);

        unsetenv ("AWS_ACCESS_KEY_ID");
        unsetenv ("AWS_SECRET_ACCESS_KEY");
        setenv ("AWS_SHARED_CREDENTIALS_FILE", none, 1);
        assert_true (registry_push (tar, f->dir, "s3://bucket/x:1", &o, NULL, &err) < 0);
        assert_string_equal (err->msg, "bucket bucket: no credentials: set AWS_ACCESS_KEY_ID and "
                                       "AWS_SECRET_ACCESS_KEY, or write them in ~/.aws/credentials");
        pgimg_error_free (&err);

        setenv ("AWS_ACCESS_KEY_ID", "k", 1);
        setenv ("AWS_SECRET_ACCESS_KEY", "s3cret-value", 1);
        assert_true (registry_push (tar, f->dir, "s3://bucket/x:1", &o, NULL, &err) < 0);
        assert_string_equal (err->msg, "--endpoint `http://10.0.0.1:9000` is plain HTTP: add --insecure to send "
                                       "requests unencrypted");
        assert_null (strstr (err->msg, "s3cret"));
        pgimg_error_free (&err);
        unsetenv ("AWS_ACCESS_KEY_ID");
        unsetenv ("AWS_SECRET_ACCESS_KEY");
        unsetenv ("AWS_SHARED_CREDENTIALS_FILE");
}

/* A location's parts become keys and directories under the cache: any
 * way out of the bucket's folder is refused before a request. */
static void
s3_locations_refuse_path_tricks (void **state)
{
        static const struct {
                const char *url, *why;
        } bad[] = {
                { "s3://bucket/../../x", "a `.` or `..` prefix component" },
                { "s3://bucket/a/../x:1", "a `.` or `..` prefix component" },
                { "s3://bucket/./x", "a `.` or `..` prefix component" },
                { "s3://bucket/a//b", "an empty prefix component (`//`)" },
                { "s3://bucket//etc/x", "an absolute prefix" },
                { "s3://bucket/a\\b", "a prefix character other than letters, digits, `.`, `_`, `-` and `/`" },
                { "s3://bucket/a?x=1", "a prefix character other than letters, digits, `.`, `_`, `-` and `/`" },
                { "s3://bucket/x:", "a tag that is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
                { "s3://bucket/a:..", "a tag that is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
                { "s3://bucket/a:.hidden", "a tag that is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
                { "s3://bucket/a:t%2f", "a tag that is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}" },
        };
        static const char *const bad_bucket[] = { "s3://../x", "s3://a..b/x", "s3://.bucket/x", "s3://b/x",
                                                  "s3://bucket-/x", "s3://bucket/x:a/b", "http://b/x" };
        char *bucket, *prefix, *tag;
        pgimg_error_t err = NULL;
        (void) state;

        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                char want[512];
                snprintf (want, sizeof (want), "invalid S3 location `%s`: %s; name it as s3://BUCKET/a/b:TAG",
                          bad[i].url, bad[i].why);
                assert_true (reg_s3_location_parse (bad[i].url, &bucket, &prefix, &tag, &err) < 0);
                assert_string_equal (err->msg, want);
                assert_null (bucket);
                pgimg_error_free (&err);
        }
        for (size_t i = 0; i < sizeof (bad_bucket) / sizeof (bad_bucket[0]); i++) {
                char want[512];
                snprintf (want, sizeof (want), "invalid S3 location `%s` (want s3://BUCKET[/PREFIX][:TAG])",
                          bad_bucket[i]);
                assert_true (reg_s3_location_parse (bad_bucket[i], &bucket, &prefix, &tag, &err) < 0);
                assert_string_equal (err->msg, want);
                pgimg_error_free (&err);
        }

        assert_int_equal (reg_s3_location_parse ("s3://pgimg-test/cache/pg:18", &bucket, &prefix, &tag, &err), 0);
        assert_string_equal (bucket, "pgimg-test");
        assert_string_equal (prefix, "cache/pg/");
        assert_string_equal (tag, "18");
        free (bucket), free (prefix), free (tag);
        assert_int_equal (reg_s3_location_parse ("s3://my.bucket/a.b/c_d/", &bucket, &prefix, &tag, &err), 0);
        assert_string_equal (bucket, "my.bucket");
        assert_string_equal (prefix, "a.b/c_d/");
        assert_string_equal (tag, "latest");
        free (bucket), free (prefix), free (tag);
        assert_int_equal (reg_s3_location_parse ("s3://bucket:v1.2_x-y", &bucket, &prefix, &tag, &err), 0);
        assert_string_equal (prefix, "");
        assert_string_equal (tag, "v1.2_x-y");
        free (bucket), free (prefix), free (tag);
}

/* Credentials for a token go over https, or over plain http only to a
 * host the user named insecure; the refusal names the realm but not
 * its query. */
static void
token_realms_over_http_are_refused (void **state)
{
        struct registry_opts o = { .retries = 0 };
        struct registry_opts all = { .insecure = 1 };
        pgimg_error_t err = NULL;
        (void) state;

        unsetenv ("PGIMG_INSECURE_REGISTRIES");
        assert_int_equal (reg_realm_check (&o, "registry r.example", "https://auth.example/token?x=1", &err), 0);
        assert_int_equal (reg_realm_check (&o, "registry r.example", "HTTPS://auth.example/token", &err), 0);

        assert_true (reg_realm_check (&o, "registry r.example", "http://127.0.0.1:5001/token?account=a&s=t", &err) < 0);
        assert_string_equal (err->msg, "registry r.example sends its login to http://127.0.0.1:5001/token, which is "
                                       "plain HTTP; credentials are not sent unencrypted: serve the token realm over "
                                       "https, or name 127.0.0.1:5001 in PGIMG_INSECURE_REGISTRIES (or use "
                                       "--insecure) on a trusted network");
        pgimg_error_free (&err);

        assert_int_equal (reg_realm_check (&all, "registry r.example", "http://127.0.0.1:5001/token", &err), 0);
        setenv ("PGIMG_INSECURE_REGISTRIES", "localhost:5000,127.0.0.1:5001", 1);
        assert_int_equal (reg_realm_check (&o, "registry r.example", "http://127.0.0.1:5001/token", &err), 0);
        assert_true (reg_realm_check (&o, "registry r.example", "http://127.0.0.1:5002/token", &err) < 0);
        pgimg_error_free (&err);
        unsetenv ("PGIMG_INSECURE_REGISTRIES");

        assert_true (reg_realm_check (&all, "registry r.example", "https://u:pw@auth.example/token", &err) < 0);
        assert_string_equal (err->msg, "registry r.example names a token realm with a user name in it; refused");
        pgimg_error_free (&err);
        assert_true (reg_realm_check (&all, "registry r.example", "ftp://auth.example/token", &err) < 0);
        assert_string_equal (err->msg, "registry r.example names a token realm that is not an http(s) URL; refused");
        pgimg_error_free (&err);
        assert_true (reg_realm_check (&all, "registry r.example", "/token", &err) < 0);
        pgimg_error_free (&err);

        /* The Authorization header goes only to the registry's own origin. */
        assert_true (reg_same_origin ("https://r.example:5000", "https://r.example:5000/v2/x/blobs/uploads/1"));
        assert_true (reg_same_origin ("https://r.example:5000", "https://r.example:5000?x"));
        assert_false (reg_same_origin ("https://r.example:5000", "http://r.example:5000/v2/"));
        assert_false (reg_same_origin ("https://r.example:5000", "https://r.example:50001/v2/"));
        assert_false (reg_same_origin ("https://r.example", "https://r.example.evil/v2/"));
        assert_false (reg_same_origin ("https://r.example", "https://r.example@evil/v2/"));
        assert_false (reg_same_origin ("https://r.example", "/v2/"));
        assert_true (reg_same_origin ("https://R.example", "https://r.example:443/v2/"));
        assert_true (reg_same_origin ("http://r.example:80", "http://r.example/v2/"));
        assert_true (reg_same_origin ("http://[::1]:5000", "http://[::1]:5000/v2/"));
        assert_false (reg_same_origin ("http://[::1]:5000", "http://[::1]/v2/"));
        assert_false (reg_same_origin ("https://r.example", "http://r.example:443/v2/"));
        assert_false (reg_same_origin ("https://r.example", "https://r.example:x/v2/"));
        assert_false (reg_same_origin ("https://r.example", "https://:443/v2/"));
        assert_false (reg_same_origin ("https://r.example:5000", "https://r.example:\v5000/v2/"));
        assert_false (reg_same_origin ("https://r.example:5000", "https://r.example:05000/v2/"));
}

#define LEASE_KEY "507c1484ef9947591170151e1c53d14e8bdfa12b50c00faa912d23b14b8bda79"

/* A lease is outside input: each field is checked, and each refusal
 * names the field. */
static void
leases_parse_and_name_their_tag (void **state)
{
        struct registry_lease l;
        pgimg_error_t err = NULL;
        char *ref = NULL;
        const char *good = "{\"cache\":\"r:5000/p/farm:18-1\",\"expires\":1796000000,\"holder\":\"ci 41\",\"key\":\"" LEASE_KEY "\"}";
        static const struct { const char *doc, *msg; } bad[] = {
                { "[]", "a lease that is not a JSON object" },
                { "{\"key\":\"x\"}", "a lease without a layer key" },
                { "{\"key\":\"" LEASE_KEY "\",\"holder\":\"a\\nb\"}", "a lease without a holder" },
                { "{\"key\":\"" LEASE_KEY "\",\"holder\":\"a\",\"cache\":\"r/p x\"}", "a lease without a cache reference" },
                { "{\"key\":\"" LEASE_KEY "\",\"holder\":\"a\",\"cache\":\"r/p:t\",\"expires\":-1}",
                  "a lease without a time it expires" },
                { "{\"key\":\"" LEASE_KEY "\",\"key\":\"" LEASE_KEY "\"}", "a lease that is not a JSON object" },
        };

        (void) state;
        assert_int_equal (registry_lease_parse (good, strlen (good), &l, &err), 0);
        assert_string_equal (l.key, LEASE_KEY);
        assert_string_equal (l.holder, "ci 41");
        assert_string_equal (l.cache, "r:5000/p/farm:18-1");
        assert_true (l.expires == 1796000000);
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                assert_true (registry_lease_parse (bad[i].doc, strlen (bad[i].doc), &l, &err) < 0);
                assert_string_equal (err->msg, bad[i].msg);
                pgimg_error_free (&err);
        }

        /* The lease's tag replaces the cache's, in its repository. */
        assert_int_equal (registry_lease_ref ("r:5000/p/farm:18-1-of-2", LEASE_KEY, &ref, &err), 0);
        assert_string_equal (ref, "r:5000/p/farm:lease-" LEASE_KEY);
        free (ref);
        assert_int_equal (registry_lease_ref ("r:5000/p/farm", LEASE_KEY, &ref, &err), 0);
        assert_string_equal (ref, "r:5000/p/farm:lease-" LEASE_KEY);
        free (ref);
        assert_int_equal (registry_lease_ref ("s3://b/pgimg:main", LEASE_KEY, &ref, &err), 0);
        assert_string_equal (ref, "s3://b/pgimg:lease-" LEASE_KEY);
        free (ref);
        assert_true (registry_lease_ref ("r/p@sha256:" LEASE_KEY, LEASE_KEY, &ref, &err) < 0);
        assert_string_equal (err->msg, "r/p@sha256:" LEASE_KEY ": a lease needs a cache tag, not a digest");
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (references_parse),
                cmocka_unit_test (challenges_parse),
                cmocka_unit_test (token_replies_parse),
                cmocka_unit_test (base64_round_trips),
                cmocka_unit_test_setup_teardown (credentials_from_env_and_docker_config, setup, teardown),
                cmocka_unit_test (manifests_and_indexes_parse),
                cmocka_unit_test_setup_teardown (image_tarball_is_read_into_the_store, setup, teardown),
                cmocka_unit_test_setup_teardown (bad_images_are_refused_by_name, setup, teardown),
                cmocka_unit_test_setup_teardown (pulled_tarball_round_trips, setup, teardown),
                cmocka_unit_test_setup_teardown (s3_destinations_are_checked_first, setup, teardown),
                cmocka_unit_test (s3_locations_refuse_path_tricks),
                cmocka_unit_test (token_realms_over_http_are_refused),
                cmocka_unit_test (leases_parse_and_name_their_tag),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
