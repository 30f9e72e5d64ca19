/* tarw.c - a pulled image as one tarball: an OCI image layout that is
 * also a docker-archive, like the ones `pgimg build` writes, so that
 * `docker load` and OCI tools read it.  Plain ustar: blob names are short
 * and sizes stay below 8 GiB (a larger blob is refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/internal.h"

#define USTAR_MAX_SIZE 077777777777ull

/* len - 1 octal digits and a NUL. */
static void
octal (unsigned char *f, size_t len, uint64_t v)
{
        f[len - 1] = '\0';
        for (size_t i = len - 1; i-- > 0; v >>= 3)
                f[i] = (unsigned char) ('0' + (v & 7));
}

static int
header (int fd, const char *name, uint64_t size, int is_dir, pgimg_error_t *err)
{
        unsigned char h[512];
        unsigned sum = 0;

        if (strlen (name) >= 100 || size > USTAR_MAX_SIZE)
                return pgimg_make_error (err, EFBIG, "%s: too long or too large for a tarball", name);
        memset (h, 0, sizeof (h));
        memcpy (h, name, strlen (name));
        snprintf ((char *) h + 100, 8, "%07o", is_dir ? 0755 : 0644);
        snprintf ((char *) h + 108, 8, "%07o", 0);
        snprintf ((char *) h + 116, 8, "%07o", 0);
        octal (h + 124, 12, size);
        snprintf ((char *) h + 136, 12, "%011o", 0);
        h[156] = is_dir ? '5' : '0';
        memcpy (h + 257, "ustar", 6);
        memcpy (h + 263, "00", 2);
        memset (h + 148, ' ', 8);
        for (size_t i = 0; i < sizeof (h); i++)
                sum += h[i];
        snprintf ((char *) h + 148, 8, "%06o", sum);
        if (fs_write_all (fd, h, sizeof (h)) < 0)
                return pgimg_make_error_errno (err, errno, "writing the image");
        return 0;
}

static int
pad (int fd, uint64_t size, pgimg_error_t *err)
{
        static const char zeros[512];
        size_t n = (size_t) ((512 - size % 512) % 512);

        if (n && fs_write_all (fd, zeros, n) < 0)
                return pgimg_make_error_errno (err, errno, "writing the image");
        return 0;
}

static int
add_bytes (int fd, const char *name, const char *data, size_t len, pgimg_error_t *err)
{
        if (header (fd, name, len, 0, err) < 0)
                return -1;
        if (fs_write_all (fd, data, len) < 0)
                return pgimg_make_error_errno (err, errno, "writing the image");
        return pad (fd, len, err);
}

/* Copy a stored blob in, checking its sha256 on the way. */
static int
add_blob (int fd, const char *blob_dir, const char *digest, pgimg_error_t *err)
{
        cleanup_free char *path = NULL, *name = NULL;
        cleanup_sha256 struct sha256 h = SHA256_INIT;
        cleanup_fd int in = -1;
        char buf[65536], hex[SHA256_HEX_LEN + 1];
        uint64_t size = 0;
        off_t end;

        if (asprintf (&path, "%s/%s", blob_dir, digest + 7) < 0 || asprintf (&name, "blobs/sha256/%s", digest + 7) < 0)
                return pgimg_make_error (err, ENOMEM, "out of memory");
        if ((in = open (path, O_RDONLY | O_CLOEXEC)) < 0 || (end = lseek (in, 0, SEEK_END)) < 0
            || lseek (in, 0, SEEK_SET) < 0)
                return pgimg_make_error_errno (err, errno, "blob %s", digest);
        if (header (fd, name, (uint64_t) end, 0, err) < 0 || sha256_init (&h, err) < 0)
                return -1;
        for (;;) {
                ssize_t n = read (in, buf, sizeof (buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return pgimg_make_error_errno (err, errno, "reading blob %s", digest);
                if (n == 0)
                        break;
                if (sha256_update (&h, buf, (size_t) n, err) < 0)
                        return -1;
                if (fs_write_all (fd, buf, (size_t) n) < 0)
                        return pgimg_make_error_errno (err, errno, "writing the image");
                size += (uint64_t) n;
        }
        if (size != (uint64_t) end || sha256_final_hex (&h, hex, err) < 0)
                return pgimg_make_error (err, EIO, "blob %s changed while it was copied", digest);
        if (strcmp (hex, digest + 7) != 0)
                return pgimg_make_error (err, EIO, "blob %s in the store is corrupt (sha256:%s)", digest, hex);
        return pad (fd, size, err);
}

static int
cmp_str (const void *a, const void *b)
{
        return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* index.json (the OCI side) and manifest.json (what `docker load`
 * reads), naming the same blobs. */
static int
documents (const char *manifest_digest, uint64_t manifest_size, const char *media_type,
           const struct reg_manifest *m, const char *repo_tag, char **index, char **docker,
           pgimg_error_t *err)
{
        cleanup_json json_t *ij = NULL, *dj = NULL;
        json_t *layers = json_array ();
        const char *tag = strrchr (repo_tag, ':');

        ij = json_pack ("{s:i,s:s,s:[{s:s,s:s,s:I,s:{s:s,s:s}}]}", "schemaVersion", 2, "mediaType",
                        REG_MEDIA_OCI_INDEX, "manifests", "mediaType", media_type, "digest", manifest_digest,
                        "size", (json_int_t) manifest_size, "annotations", "io.containerd.image.name", repo_tag,
                        "org.opencontainers.image.ref.name", tag ? tag + 1 : "latest");
        for (size_t i = 0; layers && i < m->n_layers; i++) {
                char name[128];
                snprintf (name, sizeof (name), "blobs/sha256/%s", m->layers[i].digest + 7);
                json_array_append_new (layers, json_string (name));
        }
        if (layers) {
                char cfg[128];
                snprintf (cfg, sizeof (cfg), "blobs/sha256/%s", m->config.digest + 7);
                dj = json_pack ("[{s:s,s:[s],s:o}]", "Config", cfg, "RepoTags", repo_tag, "Layers", layers);
        }
        if (ij == NULL || dj == NULL)
                return pgimg_make_error (err, ENOMEM, "index.json: out of memory");
        *index = json_dumps (ij, JSON_COMPACT | JSON_SORT_KEYS);
        *docker = json_dumps (dj, JSON_COMPACT | JSON_SORT_KEYS);
        if (*index == NULL || *docker == NULL)
                return pgimg_make_error (err, ENOMEM, "index.json: out of memory");
        return 0;
}

int
reg_write_tarball (const char *blob_dir, const char *manifest_digest, const char *media_type,
                   const struct reg_manifest *m, const char *repo_tag, const char *out_path,
                   pgimg_error_t *err)
{
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        cleanup_atomic struct fs_atomic a = FS_ATOMIC_INIT;
        cleanup_free char *index = NULL, *docker = NULL;
        cleanup_free const char **digests = calloc (m->n_layers + 2, sizeof (*digests));
        cleanup_free char *manifest_path = NULL;
        struct stat st;
        size_t n = 0;

        if (digests == NULL || asprintf (&manifest_path, "%s/%s", blob_dir, manifest_digest + 7) < 0)
                return pgimg_make_error (err, ENOMEM, "out of memory");
        if (stat (manifest_path, &st) < 0)
                return pgimg_make_error_errno (err, errno, "manifest %s", manifest_digest);
        digests[n++] = manifest_digest;
        digests[n++] = m->config.digest;
        for (size_t i = 0; i < m->n_layers; i++)
                digests[n++] = m->layers[i].digest;
        qsort (digests, n, sizeof (*digests), cmp_str);
        if (documents (manifest_digest, (uint64_t) st.st_size, media_type, m, repo_tag, &index, &docker, err) < 0
            || fs_atomic_open (&a, out_path, 0644, err) < 0 || header (a.fd, "blobs/", 0, 1, err) < 0
            || header (a.fd, "blobs/sha256/", 0, 1, err) < 0)
                return pgimg_error_wrap (err, "%s", out_path);
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && strcmp (digests[i], digests[i - 1]) == 0)
                        continue;       /* a layer used twice */
                if (add_blob (a.fd, blob_dir, digests[i], err) < 0)
                        return pgimg_error_wrap (err, "%s", out_path);
        }
        if (add_bytes (a.fd, "index.json", index, strlen (index), err) < 0
            || add_bytes (a.fd, "manifest.json", docker, strlen (docker), err) < 0
            || add_bytes (a.fd, "oci-layout", layout, strlen (layout), err) < 0)
                return pgimg_error_wrap (err, "%s", out_path);
        {
                static const char end[1024];
                if (fs_write_all (a.fd, end, sizeof (end)) < 0)
                        return pgimg_make_error_errno (err, errno, "%s", out_path);
        }
        return fs_atomic_commit (&a, out_path, err);
}
