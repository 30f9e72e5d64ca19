/* fuzz_oci_layout.c - the JSON documents of an OCI image layout
 * (index.json, the manifest, the config) through oci_read_layout, as
 * `pgimg run` and `migration-test` read an image.  The reader checks
 * each blob against the digest that names it, which random bytes never
 * match, so the input is the three documents separated by NUL bytes and
 * the target names the blobs itself: "@MANIFEST" in the index and
 * "@CONFIG" in the manifest become the digests of the documents that
 * follow.  Layer blobs are not read here (fuzz_image unpacks tarballs).
 *
 *   tools/fuzz.sh 60 fuzz_oci_layout
 *   make build/tests/fuzz/fuzz_oci_layout && build/tests/fuzz/fuzz_oci_layout crash-file
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/sha256.h"
#include "oci/read.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* text with the first "@<name>" replaced by "sha256:<hex>", into out. */
static void
substitute (const char *text, size_t len, const char *name, const char *hex, struct buf *out)
{
        const char *at = memmem (text, len, name, strlen (name));

        if (at == NULL) {
                buf_add (out, text, len);
                return;
        }
        buf_add (out, text, (size_t) (at - text));
        buf_addf (out, "sha256:%s", hex);
        buf_add (out, at + strlen (name), len - (size_t) (at - text) - strlen (name));
}

/* Write layout/blobs/sha256/<sha256 of b>; its hex into hex. */
static void
put_blob (const struct buf *b, char hex[SHA256_HEX_LEN + 1])
{
        pgimg_error_t err = NULL;
        char *name = NULL;

        if (sha256_buf_hex (b->data ? b->data : "", b->len, hex, &err) < 0
            || asprintf (&name, "layout/blobs/sha256/%s", hex) < 0)
                abort ();
        free (fuzz_file (name, (const uint8_t *) (b->data ? b->data : ""), b->len));
        free (name);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        const char *text = (const char *) data, *end = text + size;
        const char *nul1 = memchr (text, '\0', size);
        const char *nul2 = nul1 ? memchr (nul1 + 1, '\0', (size_t) (end - nul1 - 1)) : NULL;
        char *layout = fuzz_path ("layout"), *blobs = fuzz_path ("layout/blobs/sha256");
        struct buf config = BUF_INIT, manifest = BUF_INIT, index = BUF_INIT;
        char config_hex[SHA256_HEX_LEN + 1], manifest_hex[SHA256_HEX_LEN + 1];
        struct oci_read r;
        pgimg_error_t err = NULL;

        if (nul2 == NULL)
                goto out;
        if (fs_mkdir_p (blobs, 0755, &err) < 0)
                abort ();
        buf_add (&config, nul2 + 1, (size_t) (end - nul2 - 1));
        put_blob (&config, config_hex);
        substitute (nul1 + 1, (size_t) (nul2 - nul1 - 1), "@CONFIG", config_hex, &manifest);
        put_blob (&manifest, manifest_hex);
        substitute (text, (size_t) (nul1 - text), "@MANIFEST", manifest_hex, &index);
        free (fuzz_file ("layout/index.json", (const uint8_t *) (index.data ? index.data : ""), index.len));
        if (oci_read_layout (layout, &r, &err) == 0) {
                if (r.n_layers == 0 || r.env == NULL)
                        abort ();
                for (size_t i = 0; r.env[i]; i++)
                        if (strchr (r.env[i], '=') == NULL)
                                abort ();
        }
        pgimg_error_free (&err);
        oci_read_free (&r);
        fuzz_rm (layout);
out:
        buf_release (&config);
        buf_release (&manifest);
        buf_release (&index);
        free (blobs);
        free (layout);
        return 0;
}

#include "tests/fuzz/replay.h"
