/* Unit tests of oci/: config, manifest, index.json, manifest.json and
 * the two image writers, from small real layers made here. */
#include <dirent.h>
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
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "oci/image.h"
#include "oci/internal.h"
#include "oci/read.h"

#define EPOCH 1700000000        /* 2023-11-14T22:13:20Z */

struct fixture {
        char dir[64];
        char *blobs;
        struct layer_desc layers[2];
};

static const char *const env[] = { "PATH=/usr/bin:/bin", "PGDATA=/var/lib/postgresql/data", NULL };
static const char *const entrypoint[] = { "docker-entrypoint.sh", NULL };
static const char *const cmd[] = { "postgres", NULL };
static const char *const ports[] = { "5432/tcp", NULL };
static const char *const volumes[] = { "/var/lib/postgresql/data", NULL };
static const char *const comments[] = { "pgimg base", "pgimg postgres 15.18" };
static const char *const tags[] = { "pgimg/postgres:15.18", "pgimg/postgres:15", NULL };
static const struct oci_kv labels[] = {
        { "org.opencontainers.image.title", "postgres" },
};
static const struct oci_kv annotations[] = {
        { "org.opencontainers.image.version", "15.18" },
        { "org.opencontainers.image.created", "2023-11-14T22:13:20Z" },
        { "org.opencontainers.image.source", "https://example.org/pgimg" },
        { "org.opencontainers.image.revision", "0123abc" },
        { "org.opencontainers.image.licenses", "PostgreSQL" },
};

/* Write a tar of one file to memory, then its gzip with libarchive's raw
 * format, and store the gzip in blob_dir as a layer. */
static void
make_layer (const char *blob_dir, const char *name, const char *content, struct layer_desc *out)
{
        static char tar[1 << 16], gz[1 << 16];
        size_t tar_len = 0, gz_len = 0;
        char hex[SHA256_HEX_LEN + 1];
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;
        struct archive *a = archive_write_new ();
        struct archive_entry *e = archive_entry_new ();

        assert_int_equal (archive_write_set_format_pax_restricted (a), ARCHIVE_OK);
        assert_int_equal (archive_write_open_memory (a, tar, sizeof (tar), &tar_len), ARCHIVE_OK);
        archive_entry_set_pathname (e, name);
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_perm (e, 0644);
        archive_entry_set_size (e, (la_int64_t) strlen (content));
        assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
        assert_int_equal (archive_write_data (a, content, strlen (content)), (la_ssize_t) strlen (content));
        assert_int_equal (archive_write_free (a), ARCHIVE_OK);
        assert_int_equal (sha256_buf_hex (tar, tar_len, hex, &err), 0);
        snprintf (out->diff_id, sizeof (out->diff_id), "sha256:%s", hex);

        a = archive_write_new ();
        assert_int_equal (archive_write_set_format_raw (a), ARCHIVE_OK);
        assert_int_equal (archive_write_add_filter_gzip (a), ARCHIVE_OK);
        assert_int_equal (archive_write_open_memory (a, gz, sizeof (gz), &gz_len), ARCHIVE_OK);
        archive_entry_clear (e);
        archive_entry_set_pathname (e, "layer.tar");
        archive_entry_set_filetype (e, AE_IFREG);
        archive_entry_set_size (e, (la_int64_t) tar_len);
        assert_int_equal (archive_write_header (a, e), ARCHIVE_OK);
        assert_int_equal (archive_write_data (a, tar, tar_len), (la_ssize_t) tar_len);
        assert_int_equal (archive_write_free (a), ARCHIVE_OK);
        archive_entry_free (e);

        assert_int_equal (sha256_buf_hex (gz, gz_len, hex, &err), 0);
        snprintf (out->digest, sizeof (out->digest), "sha256:%s", hex);
        out->size = gz_len;
        out->compression = LAYER_GZIP;
        assert_true (asprintf (&path, "%s/%s", blob_dir, hex) > 0);
        assert_int_equal (fs_write_file_atomic (path, gz, gz_len, 0644, &err), 0);
}

static int
setup (void **state)
{
        struct fixture *f = calloc (1, sizeof (*f));
        pgimg_error_t err = NULL;

        strcpy (f->dir, "/tmp/pgimg-test-oci-XXXXXX");
        assert_non_null (mkdtemp (f->dir));
        assert_true (asprintf (&f->blobs, "%s/blobs", f->dir) > 0);
        assert_int_equal (fs_mkdir_p (f->blobs, 0755, &err), 0);
        make_layer (f->blobs, "etc/os-release", "ID=debian\n", &f->layers[0]);
        make_layer (f->blobs, "usr/lib/postgresql/15/VERSION", "15.18\n", &f->layers[1]);
        *state = f;
        return 0;
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;

        assert_int_equal (fs_rm_rf (f->dir, &err), 0);
        free (f->blobs);
        free (f);
        return 0;
}

static struct oci_image
test_image (const struct fixture *f)
{
        struct oci_image img = {
                .created = EPOCH,
                .architecture = "amd64",
                .user = "postgres",
                .workdir = "/",
                .stop_signal = "SIGINT",
                .env = env,
                .entrypoint = entrypoint,
                .cmd = cmd,
                .exposed_ports = ports,
                .volumes = volumes,
                .labels = labels,
                .n_labels = 1,
                .annotations = annotations,
                .n_annotations = sizeof (annotations) / sizeof (annotations[0]),
                .layers = f->layers,
                .layer_comments = comments,
                .n_layers = 2,
                .tags = tags,
        };
        return img;
}

static char *
path_in (const struct fixture *f, const char *name)
{
        char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", f->dir, name) > 0);
        return p;
}

/* Load blob_dir/<hex of digest> as JSON, after checking that its name
 * is the sha256 of its bytes. */
static json_t *
load_blob (const struct fixture *f, const char *digest)
{
        cleanup_free char *path = NULL;
        char hex[SHA256_HEX_LEN + 1];
        pgimg_error_t err = NULL;
        json_error_t jerr;
        json_t *j;

        assert_true (strncmp (digest, "sha256:", 7) == 0);
        assert_true (asprintf (&path, "%s/%s", f->blobs, digest + 7) > 0);
        assert_int_equal (sha256_file_hex (path, hex, &err), 0);
        assert_string_equal (hex, digest + 7);
        j = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null (j);
        return j;
}

static const char *
str_at (json_t *j, const char *path_fmt)
{
        /* Walk "a.b.c" (no index support needed beyond objects). */
        char path[256];
        char *save = NULL;

        snprintf (path, sizeof (path), "%s", path_fmt);
        for (char *k = strtok_r (path, ".", &save); k != NULL; k = strtok_r (NULL, ".", &save))
                j = json_object_get (j, k);
        assert_non_null (j);
        assert_true (json_is_string (j));
        return json_string_value (j);
}

static void
write_blobs_gives_config_and_manifest (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        char manifest_digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        json_t *m, *c, *cfg, *d;

        assert_int_equal (oci_write_blobs (f->blobs, &img, manifest_digest, &err), 0);
        m = load_blob (f, manifest_digest);
        assert_int_equal (json_integer_value (json_object_get (m, "schemaVersion")), 2);
        assert_string_equal (str_at (m, "mediaType"), "application/vnd.oci.image.manifest.v1+json");
        assert_string_equal (str_at (m, "config.mediaType"), "application/vnd.oci.image.config.v1+json");
        d = json_object_get (json_object_get (m, "annotations"), "org.opencontainers.image.version");
        assert_string_equal (json_string_value (d), "15.18");
        d = json_object_get (json_object_get (m, "annotations"), "org.opencontainers.image.licenses");
        assert_string_equal (json_string_value (d), "PostgreSQL");
        assert_int_equal (json_object_size (json_object_get (m, "annotations")), 5);
        d = json_object_get (m, "layers");
        assert_int_equal (json_array_size (d), 2);
        for (size_t i = 0; i < 2; i++) {
                json_t *l = json_array_get (d, i);
                assert_string_equal (json_string_value (json_object_get (l, "mediaType")),
                                     "application/vnd.oci.image.layer.v1.tar+gzip");
                assert_string_equal (json_string_value (json_object_get (l, "digest")), f->layers[i].digest);
                assert_int_equal (json_integer_value (json_object_get (l, "size")), f->layers[i].size);
        }

        c = load_blob (f, str_at (m, "config.digest"));
        {
                cleanup_free char *p = NULL;
                struct stat st;
                assert_true (asprintf (&p, "%s/%s", f->blobs, str_at (m, "config.digest") + 7) > 0);
                assert_int_equal (stat (p, &st), 0);
                assert_int_equal (json_integer_value (json_object_get (json_object_get (m, "config"), "size")),
                                  st.st_size);
        }
        assert_string_equal (str_at (c, "architecture"), "amd64");
        assert_string_equal (str_at (c, "os"), "linux");
        assert_string_equal (str_at (c, "created"), "2023-11-14T22:13:20Z");
        cfg = json_object_get (c, "config");
        assert_string_equal (str_at (cfg, "User"), "postgres");
        assert_string_equal (str_at (cfg, "WorkingDir"), "/");
        assert_string_equal (str_at (cfg, "StopSignal"), "SIGINT");
        assert_int_equal (json_array_size (json_object_get (cfg, "Env")), 2);
        assert_string_equal (json_string_value (json_array_get (json_object_get (cfg, "Env"), 1)),
                             "PGDATA=/var/lib/postgresql/data");
        assert_string_equal (json_string_value (json_array_get (json_object_get (cfg, "Entrypoint"), 0)),
                             "docker-entrypoint.sh");
        assert_string_equal (json_string_value (json_array_get (json_object_get (cfg, "Cmd"), 0)), "postgres");
        d = json_object_get (json_object_get (cfg, "ExposedPorts"), "5432/tcp");
        assert_true (json_is_object (d) && json_object_size (d) == 0);
        d = json_object_get (json_object_get (cfg, "Volumes"), "/var/lib/postgresql/data");
        assert_true (json_is_object (d) && json_object_size (d) == 0);
        assert_string_equal (json_string_value (json_object_get (json_object_get (cfg, "Labels"),
                                                                 "org.opencontainers.image.title")),
                             "postgres");
        assert_string_equal (str_at (c, "rootfs.type"), "layers");
        d = json_object_get (json_object_get (c, "rootfs"), "diff_ids");
        assert_int_equal (json_array_size (d), 2);
        assert_string_equal (json_string_value (json_array_get (d, 0)), f->layers[0].diff_id);
        assert_string_equal (json_string_value (json_array_get (d, 1)), f->layers[1].diff_id);
        d = json_object_get (c, "history");
        assert_int_equal (json_array_size (d), 2);
        assert_string_equal (str_at (json_array_get (d, 1), "created_by"), "pgimg postgres 15.18");
        assert_string_equal (str_at (json_array_get (d, 0), "created"), "2023-11-14T22:13:20Z");
        json_decref (c);
        json_decref (m);
}

static void
config_is_canonical_json (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        img.created = 0;
        assert_int_equal (oci_config_json (&img, &b, &err), 0);
        /* Sorted keys, no spaces, the epoch in RFC 3339. */
        {
                static const char head[] = "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"postgres\"],";
                assert_memory_equal (b.data, head, strlen (head));
        }
        assert_non_null (strstr (b.data, "\"created\":\"1970-01-01T00:00:00Z\""));
        assert_null (strstr (b.data, "\": "));
        assert_null (strstr (b.data, ", \""));
        assert_null (strchr (b.data, '\n'));
        assert_true (strstr (b.data, "\"created\":") < strstr (b.data, "\"history\":"));
        assert_true (strstr (b.data, "\"history\":") < strstr (b.data, "\"os\":"));
        assert_true (strstr (b.data, "\"os\":") < strstr (b.data, "\"rootfs\":"));
}

static void
read_tar (const char *path, struct buf *names)
{
        struct archive *a = archive_read_new ();
        struct archive_entry *e;

        archive_read_support_format_tar (a);
        assert_int_equal (archive_read_open_filename (a, path, 10240), ARCHIVE_OK);
        while (archive_read_next_header (a, &e) == ARCHIVE_OK) {
                assert_int_equal (archive_entry_mtime (e), EPOCH);
                assert_int_equal (archive_entry_uid (e), 0);
                assert_int_equal (archive_entry_gid (e), 0);
                assert_int_equal (archive_entry_perm (e),
                                  archive_entry_filetype (e) == AE_IFDIR ? 0755 : 0644);
                buf_addf (names, "%s\n", archive_entry_pathname (e));
        }
        archive_read_free (a);
}

/* Read one entry of the tarball into out. */
static void
read_tar_entry (const char *path, const char *name, struct buf *out)
{
        struct archive *a = archive_read_new ();
        struct archive_entry *e;
        char chunk[4096];
        la_ssize_t n;
        int found = 0;

        archive_read_support_format_tar (a);
        assert_int_equal (archive_read_open_filename (a, path, 10240), ARCHIVE_OK);
        while (archive_read_next_header (a, &e) == ARCHIVE_OK) {
                if (strcmp (archive_entry_pathname (e), name) != 0)
                        continue;
                while ((n = archive_read_data (a, chunk, sizeof (chunk))) > 0)
                        buf_add (out, chunk, (size_t) n);
                found = 1;
                break;
        }
        archive_read_free (a);
        assert_true (found);
}

static void
archive_is_reproducible_and_complete (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_free char *out1 = path_in (f, "one.tar");
        cleanup_free char *out2 = path_in (f, "two.tar");
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf names = BUF_INIT;
        cleanup_buf struct buf want = BUF_INIT;
        char digest1[LAYER_DIGEST_LEN], digest2[LAYER_DIGEST_LEN];
        char config_digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        const char *hexes[4];
        json_t *m;

        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out1, digest1, &err), 0);
        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out2, digest2, &err), 0);
        assert_string_equal (digest1, digest2);
        assert_int_equal (fs_read_file (out1, 0, &a, &err), 0);
        assert_int_equal (fs_read_file (out2, 0, &b, &err), 0);
        assert_int_equal (a.len, b.len);
        assert_memory_equal (a.data, b.data, a.len);

        m = load_blob (f, digest1);
        snprintf (config_digest, sizeof (config_digest), "%s", str_at (m, "config.digest"));
        json_decref (m);
        hexes[0] = config_digest + 7;
        hexes[1] = digest1 + 7;
        hexes[2] = f->layers[0].digest + 7;
        hexes[3] = f->layers[1].digest + 7;
        /* sort the four blob names */
        for (int i = 0; i < 4; i++)
                for (int j = i + 1; j < 4; j++)
                        if (strcmp (hexes[j], hexes[i]) < 0) {
                                const char *t = hexes[i];
                                hexes[i] = hexes[j];
                                hexes[j] = t;
                        }
        buf_adds (&want, "blobs/\nblobs/sha256/\n");
        for (int i = 0; i < 4; i++)
                buf_addf (&want, "blobs/sha256/%s\n", hexes[i]);
        buf_adds (&want, "index.json\nmanifest.json\noci-layout\nrepositories\n");
        read_tar (out1, &names);
        assert_string_equal (names.data, want.data);
}

static void
archive_index_and_docker_manifest (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_free char *out = path_in (f, "img.tar");
        cleanup_buf struct buf index = BUF_INIT;
        cleanup_buf struct buf manifest = BUF_INIT;
        cleanup_buf struct buf repos = BUF_INIT;
        cleanup_buf struct buf layout = BUF_INIT;
        cleanup_buf struct buf want = BUF_INIT;
        char digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        json_t *m;
        const char *config_digest;
        size_t manifest_size;

        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err), 0);
        read_tar_entry (out, "index.json", &index);
        read_tar_entry (out, "manifest.json", &manifest);
        read_tar_entry (out, "repositories", &repos);
        read_tar_entry (out, "oci-layout", &layout);
        assert_string_equal (layout.data, "{\"imageLayoutVersion\":\"1.0.0\"}");

        m = load_blob (f, digest);
        config_digest = str_at (m, "config.digest");
        {
                cleanup_free char *p = NULL;
                struct stat st;
                assert_true (asprintf (&p, "%s/%s", f->blobs, digest + 7) > 0);
                assert_int_equal (stat (p, &st), 0);
                manifest_size = (size_t) st.st_size;
        }
        buf_adds (&want, "{\"manifests\":[");
        for (int i = 0; i < 2; i++)
                buf_addf (&want,
                          "%s{\"annotations\":{\"io.containerd.image.name\":\"docker.io/pgimg/postgres:%s\","
                          "\"org.opencontainers.image.ref.name\":\"%s\"},\"digest\":\"%s\","
                          "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                          "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"size\":%zu}",
                          i ? "," : "", i ? "15" : "15.18", i ? "15" : "15.18", digest, manifest_size);
        buf_adds (&want, "],\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"schemaVersion\":2}");
        assert_string_equal (index.data, want.data);

        buf_reset (&want);
        buf_addf (&want,
                  "[{\"Config\":\"blobs/sha256/%s\",\"Layers\":[\"blobs/sha256/%s\",\"blobs/sha256/%s\"],"
                  "\"RepoTags\":[\"pgimg/postgres:15.18\",\"pgimg/postgres:15\"]}]",
                  config_digest + 7, f->layers[0].digest + 7, f->layers[1].digest + 7);
        assert_string_equal (manifest.data, want.data);

        buf_reset (&want);
        buf_addf (&want, "{\"pgimg/postgres\":{\"15\":\"%s\",\"15.18\":\"%s\"}}", f->layers[1].diff_id + 7,
                  f->layers[1].diff_id + 7);
        assert_string_equal (repos.data, want.data);
        json_decref (m);
}

static void
tags_are_normalized_like_docker (void **state)
{
        struct oci_ref r;
        pgimg_error_t err = NULL;
        static const struct {
                const char *in, *full, *familiar;
        } cases[] = {
                { "pgimg/postgres:15.18", "docker.io/pgimg/postgres:15.18", "pgimg/postgres" },
                { "postgres:15", "docker.io/library/postgres:15", "postgres" },
                { "postgres", "docker.io/library/postgres:latest", "postgres" },
                { "localhost:5000/pg/postgres:16", "localhost:5000/pg/postgres:16", "localhost:5000/pg/postgres" },
                { "ghcr.io/a/b__c-d:v1.0_x", "ghcr.io/a/b__c-d:v1.0_x", "ghcr.io/a/b__c-d" },
                { "index.docker.io/library/pg:1", "docker.io/library/pg:1", "pg" },
        };
        (void) state;
        for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
                cleanup_free char *full = NULL;
                cleanup_free char *familiar = NULL;
                assert_int_equal (oci_ref_parse (cases[i].in, &r, &err), 0);
                full = oci_ref_full (&r);
                familiar = oci_ref_familiar_name (&r);
                assert_string_equal (full, cases[i].full);
                assert_string_equal (familiar, cases[i].familiar);
                oci_ref_free (&r);
        }
        assert_true (oci_ref_parse ("PgImg/postgres:15", &r, &err) < 0);
        assert_string_equal (err->msg, "invalid tag `PgImg/postgres:15` (want name:tag, the name in lowercase)");
        pgimg_error_free (&err);
        assert_true (oci_ref_parse ("pg/postgres:.x", &r, &err) < 0);
        pgimg_error_free (&err);
        assert_true (oci_ref_parse ("pg/a..b:1", &r, &err) < 0);
        pgimg_error_free (&err);
        assert_true (oci_ref_parse ("pg/postgres@sha256:00", &r, &err) < 0);
        assert_string_equal (err->msg, "invalid tag `pg/postgres@sha256:00`: a digest cannot name an image to write");
        pgimg_error_free (&err);
}

/* No file and no temporary file may be left in f->dir but blobs/. */
static void
assert_only_blobs_left (const struct fixture *f)
{
        cleanup_dir DIR *d = opendir (f->dir);
        struct dirent *de;

        assert_non_null (d);
        while ((de = readdir (d)) != NULL) {
                if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
                        continue;
                assert_string_equal (de->d_name, "blobs");
        }
}

static void
missing_layer_blob_is_named_and_nothing_left (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_free char *out = path_in (f, "img.tar");
        cleanup_free char *dir_out = path_in (f, "img");
        cleanup_free char *blob = NULL;
        cleanup_free char *want = NULL;
        pgimg_error_t err = NULL;
        char digest[LAYER_DIGEST_LEN];

        assert_true (asprintf (&blob, "%s/%s", f->blobs, f->layers[1].digest + 7) > 0);
        assert_int_equal (unlink (blob), 0);
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err) < 0);
        assert_true (asprintf (&want, "image `%s`: layer 1: blob %s: `%s`: No such file or directory", out,
                               f->layers[1].digest, blob) > 0);
        assert_string_equal (err->msg, want);
        assert_int_equal (err->status, ENOENT);
        pgimg_error_free (&err);
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_DIR, dir_out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, f->layers[1].digest));
        pgimg_error_free (&err);
        assert_only_blobs_left (f);
}

static void
corrupt_layer_blob_is_refused (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_free char *out = path_in (f, "img.tar");
        cleanup_free char *dir_out = path_in (f, "img");
        cleanup_free char *blob = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;
        char digest[LAYER_DIGEST_LEN];

        /* Same size, one byte flipped: only the digest can tell. */
        assert_true (asprintf (&blob, "%s/%s", f->blobs, f->layers[0].digest + 7) > 0);
        assert_int_equal (fs_read_file (blob, 0, &b, &err), 0);
        b.data[b.len / 2] ^= 1;
        assert_int_equal (fs_write_file_atomic (blob, b.data, b.len, 0644, &err), 0);
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, f->layers[0].digest + 7));
        assert_non_null (strstr (err->msg, "is corrupt (its content is sha256:"));
        pgimg_error_free (&err);
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_DIR, dir_out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, "is corrupt (its content is sha256:"));
        pgimg_error_free (&err);
        assert_only_blobs_left (f);

        /* A blob of another size than its descriptor. */
        f->layers[0].size += 1;
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, "its descriptor says"));
        pgimg_error_free (&err);
        assert_only_blobs_left (f);
}

static void
dir_has_the_same_files_as_the_archive (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_free char *tar = path_in (f, "img.tar");
        cleanup_free char *dir = path_in (f, "img");
        cleanup_buf struct buf names = BUF_INIT;
        char digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        char *save = NULL;

        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, tar, digest, &err), 0);
        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_DIR, dir, digest, &err), 0);
        /* Writing again replaces the directory. */
        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_DIR, dir, digest, &err), 0);
        read_tar (tar, &names);
        for (char *n = strtok_r (names.data, "\n", &save); n != NULL; n = strtok_r (NULL, "\n", &save)) {
                cleanup_free char *p = NULL;
                cleanup_buf struct buf from_tar = BUF_INIT;
                cleanup_buf struct buf from_dir = BUF_INIT;
                struct stat st;
                assert_true (asprintf (&p, "%s/%s", dir, n) > 0);
                assert_int_equal (stat (p, &st), 0);
                if (S_ISDIR (st.st_mode))
                        continue;
                assert_int_equal (st.st_mode & 0777, 0644);
                read_tar_entry (tar, n, &from_tar);
                assert_int_equal (fs_read_file (p, 0, &from_dir, &err), 0);
                assert_int_equal (from_tar.len, from_dir.len);
                assert_memory_equal (from_tar.data, from_dir.data, from_tar.len);
        }
        {
                /* Nothing else beside the output. */
                cleanup_dir DIR *d = opendir (f->dir);
                struct dirent *de;
                int n = 0;
                while ((de = readdir (d)) != NULL)
                        n += strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0;
                assert_int_equal (n, 3);        /* blobs, img, img.tar */
        }
}

/* Blobs on another file system than the output cannot be linked: the
 * directory writer copies them (and still checks them). */
static void
dir_copies_blobs_across_file_systems (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        char other[] = "/dev/shm/pgimg-test-oci-XXXXXX";
        cleanup_free char *out = NULL;
        cleanup_free char *blob = NULL;
        char digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        struct stat a, b;

        if (mkdtemp (other) == NULL || stat (other, &a) < 0 || stat (f->dir, &b) < 0 || a.st_dev == b.st_dev) {
                rmdir (other);
                skip ();
        }
        assert_true (asprintf (&out, "%s/img", other) > 0);
        assert_int_equal (oci_write_image (f->blobs, &img, OCI_FORMAT_DIR, out, digest, &err), 0);
        assert_true (asprintf (&blob, "%s/blobs/sha256/%s", out, f->layers[1].digest + 7) > 0);
        assert_int_equal (stat (blob, &a), 0);
        assert_int_equal (a.st_nlink, 1);
        assert_int_equal (a.st_size, f->layers[1].size);
        assert_int_equal (fs_rm_rf (other, &err), 0);
}

/* Without comments, history still has one entry per layer. */
static void
history_without_comments (void **state)
{
        struct fixture *f = *state;
        struct oci_image img = test_image (f);
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;
        json_t *c, *h;

        img.layer_comments = NULL;
        img.user = NULL;
        img.labels = NULL;
        img.n_labels = 0;
        assert_int_equal (oci_config_json (&img, &b, &err), 0);
        c = json_loads (b.data, 0, NULL);
        assert_non_null (c);
        h = json_object_get (c, "history");
        assert_int_equal (json_array_size (h), 2);
        assert_null (json_object_get (json_array_get (h, 0), "created_by"));
        assert_null (json_object_get (json_object_get (c, "config"), "User"));
        assert_null (json_object_get (json_object_get (c, "config"), "Labels"));
        json_decref (c);
}

static void
bad_images_are_refused_by_name (void **state)
{
        struct fixture *f = *state;
        struct oci_image img;
        cleanup_free char *out = path_in (f, "img.tar");
        char digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        static const char *const bad_env[] = { "NOEQUALS", NULL };
        static const char *const bad_ports[] = { "99999/tcp", NULL };
        static const char *const bad_volumes[] = { "relative", NULL };
        static const char *const no_tags[] = { NULL };
        static const char *const bad_utf8[] = { "A=\xff", NULL };

        img = test_image (f);
        img.env = bad_env;
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, "environment entry `NOEQUALS` is not NAME=value"));
        pgimg_error_free (&err);

        img = test_image (f);
        img.exposed_ports = bad_ports;
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_string_equal (err->msg, "invalid exposed port `99999/tcp` (want e.g. 5432/tcp)");
        pgimg_error_free (&err);

        img = test_image (f);
        img.volumes = bad_volumes;
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_string_equal (err->msg, "volume `relative` is not an absolute path");
        pgimg_error_free (&err);

        img = test_image (f);
        img.env = bad_utf8;
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_string_equal (err->msg, "environment entry `A=\xff` is not valid UTF-8");
        pgimg_error_free (&err);

        img = test_image (f);
        img.tags = no_tags;
        assert_true (oci_write_image (f->blobs, &img, OCI_FORMAT_ARCHIVE, out, digest, &err) < 0);
        assert_non_null (strstr (err->msg, "the image has no tag"));
        pgimg_error_free (&err);

        img = test_image (f);
        img.architecture = NULL;
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_string_equal (err->msg, "the image has no architecture");
        pgimg_error_free (&err);

        img = test_image (f);
        img.created = -1;
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_string_equal (err->msg, "image creation time -1 is out of range");
        pgimg_error_free (&err);

        img = test_image (f);
        f->layers[0].digest[10] = 'X';
        assert_true (oci_write_blobs (f->blobs, &img, digest, &err) < 0);
        assert_non_null (strstr (err->msg, "layer 0: invalid digest `sha256:"));
        pgimg_error_free (&err);
        assert_only_blobs_left (f);
}

static void
formats_parse (void **state)
{
        enum oci_format fmt = OCI_FORMAT_DIR;
        pgimg_error_t err = NULL;
        (void) state;

        assert_int_equal (oci_format_parse ("docker-archive", &fmt, &err), 0);
        assert_int_equal (fmt, OCI_FORMAT_ARCHIVE);
        fmt = OCI_FORMAT_DIR;
        assert_int_equal (oci_format_parse ("oci-archive", &fmt, &err), 0);
        assert_int_equal (fmt, OCI_FORMAT_ARCHIVE);
        fmt = OCI_FORMAT_DIR;
        assert_int_equal (oci_format_parse ("archive", &fmt, &err), 0);
        assert_int_equal (fmt, OCI_FORMAT_ARCHIVE);
        assert_int_equal (oci_format_parse ("oci-dir", &fmt, &err), 0);
        assert_int_equal (fmt, OCI_FORMAT_DIR);
        assert_true (oci_format_parse ("zip", &fmt, &err) < 0);
        assert_string_equal (err->msg, "unknown image format `zip` (want docker-archive, oci-archive or oci-dir)");
        pgimg_error_free (&err);
}

/* Two platforms as one image index: the same bytes twice, each
 * manifest the one a single-platform write gives, the index naming
 * both platforms, and read back one image per platform (and the amd64
 * one by a reader of one image). */
static void
index_of_two_platforms (void **state)
{
        static const char *const arm_tags[] = { "pgimg/postgres:15.18-arm64", NULL };
        struct fixture *f = *state;
        struct oci_image amd = test_image (f), arm = test_image (f);
        const struct oci_image *imgs[] = { &amd, &arm }, *twice[] = { &amd, &amd };
        cleanup_free char *out1 = path_in (f, "index1.tar"), *out2 = path_in (f, "index2.tar");
        cleanup_free char *single = path_in (f, "single.tar"), *store = path_in (f, "store");
        cleanup_buf struct buf a = BUF_INIT, b = BUF_INIT;
        char index[LAYER_DIGEST_LEN], index2[LAYER_DIGEST_LEN], one[LAYER_DIGEST_LEN];
        char manifests[2][LAYER_DIGEST_LEN];
        struct oci_read_index x;
        struct oci_read r;
        pgimg_error_t err = NULL;
        json_t *j;

        arm.architecture = "arm64";
        arm.tags = arm_tags;
        assert_int_equal (oci_write_index (f->blobs, imgs, 2, OCI_FORMAT_ARCHIVE, out1, index, manifests, &err), 0);
        assert_int_equal (oci_write_index (f->blobs, imgs, 2, OCI_FORMAT_ARCHIVE, out2, index2, NULL, &err), 0);
        assert_string_equal (index, index2);
        assert_int_equal (fs_read_file (out1, 0, &a, &err), 0);
        assert_int_equal (fs_read_file (out2, 0, &b, &err), 0);
        assert_int_equal (a.len, b.len);
        assert_memory_equal (a.data, b.data, a.len);
        assert_int_equal (oci_write_image (f->blobs, &amd, OCI_FORMAT_ARCHIVE, single, one, &err), 0);
        assert_string_equal (manifests[0], one);

        j = load_blob (f, index);
        assert_string_equal (str_at (j, "mediaType"), OCI_MEDIA_INDEX);
        assert_int_equal (json_array_size (json_object_get (j, "manifests")), 2);
        assert_string_equal (str_at (json_array_get (json_object_get (j, "manifests"), 1), "platform.architecture"), "arm64");
        assert_string_equal (str_at (json_array_get (json_object_get (j, "manifests"), 1), "digest"), manifests[1]);
        json_decref (j);

        assert_int_equal (fs_mkdir_p (store, 0755, &err), 0);
        if (oci_read_index (out1, store, &x, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_string_equal (x.digest, index);
        assert_int_equal (x.n, 2);
        assert_string_equal (x.images[0].architecture, "amd64");
        assert_string_equal (x.images[1].architecture, "arm64");
        assert_string_equal (x.images[1].manifest_digest, manifests[1]);
        oci_read_index_free (&x);
        assert_int_equal (oci_read_image (out1, store, &r, &err), 0);
        assert_string_equal (r.manifest_digest, manifests[0]);
        oci_read_free (&r);
        /* A plain image reads as one, with no index digest. */
        assert_int_equal (oci_read_index (single, store, &x, &err), 0);
        assert_int_equal (x.n, 1);
        assert_string_equal (x.digest, "");
        assert_string_equal (x.images[0].manifest_digest, one);
        oci_read_index_free (&x);

        assert_true (oci_write_index (f->blobs, twice, 2, OCI_FORMAT_ARCHIVE, out2, NULL, NULL, &err) < 0);
        assert_non_null (strstr (err->msg, "platform linux/amd64 given twice"));
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown (write_blobs_gives_config_and_manifest, setup, teardown),
                cmocka_unit_test_setup_teardown (config_is_canonical_json, setup, teardown),
                cmocka_unit_test_setup_teardown (archive_is_reproducible_and_complete, setup, teardown),
                cmocka_unit_test_setup_teardown (archive_index_and_docker_manifest, setup, teardown),
                cmocka_unit_test_setup_teardown (index_of_two_platforms, setup, teardown),
                cmocka_unit_test_setup_teardown (missing_layer_blob_is_named_and_nothing_left, setup, teardown),
                cmocka_unit_test_setup_teardown (corrupt_layer_blob_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown (dir_has_the_same_files_as_the_archive, setup, teardown),
                cmocka_unit_test_setup_teardown (dir_copies_blobs_across_file_systems, setup, teardown),
                cmocka_unit_test_setup_teardown (history_without_comments, setup, teardown),
                cmocka_unit_test_setup_teardown (bad_images_are_refused_by_name, setup, teardown),
                cmocka_unit_test (tags_are_normalized_like_docker),
                cmocka_unit_test (formats_parse),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
