/* fuzz_oci_layout.c - the JSON documents of an OCI image layout
 * directory (index.json, the manifest, the config) through
 * oci_read_image.  The reader checks each blob against the digest and
 * size that name it, which random bytes never match, so the input is
 * the three documents separated by NUL bytes and the target names the
 * blobs itself: in the index, "@MANIFEST" and "@MSIZE" become the
 * manifest's digest and size; in the manifest, "@CONFIG" and "@CSIZE"
 * the config's, "@LAYER" and "@LSIZE" those of an empty layer blob.
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

/* b with every name replaced by value. */
static void
replace (struct buf *b, const char *name, const char *value)
{
        struct buf out = BUF_INIT;
        const char *p = b->data ? b->data : "", *end = p + b->len, *at;

        while ((at = memmem (p, (size_t) (end - p), name, strlen (name))) != NULL) {
                buf_add (&out, p, (size_t) (at - p));
                buf_adds (&out, value);
                p = at + strlen (name);
        }
        buf_add (&out, p, (size_t) (end - p));
        buf_release (b);
        *b = out;
}

/* Write layout/blobs/sha256/<sha256 of b>, then replace digest_name and
 * size_name in *into by its digest and size. */
static void
put_blob (const struct buf *b, struct buf *into, const char *digest_name, const char *size_name)
{
        pgimg_error_t err = NULL;
        char hex[SHA256_HEX_LEN + 1], value[80], *name = NULL;

        if (sha256_buf_hex (b->data ? b->data : "", b->len, hex, &err) < 0
            || asprintf (&name, "layout/blobs/sha256/%s", hex) < 0)
                abort ();
        free (fuzz_file (name, (const uint8_t *) (b->data ? b->data : ""), b->len));
        free (name);
        snprintf (value, sizeof (value), "sha256:%s", hex);
        replace (into, digest_name, value);
        snprintf (value, sizeof (value), "%zu", b->len);
        replace (into, size_name, value);
}

/* oci_read_index: every image it gives has layers and KEY=VALUE Env;
 * an image index gives images whose config says an architecture. */
static void
read_index (const char *layout, const char *store)
{
        pgimg_error_t err = NULL;
        struct oci_read_index x;

        if (oci_read_index (layout, store, &x, &err) == 0) {
                if (x.n == 0 || (x.digest[0] == '\0' && x.n != 1))
                        abort ();
                for (size_t i = 0; i < x.n; i++) {
                        if (x.images[i].n_layers == 0 || x.images[i].env == NULL)
                                abort ();
                        if (x.digest[0] != '\0' && x.images[i].architecture == NULL)
                                abort ();
                }
        }
        pgimg_error_free (&err);
        oci_read_index_free (&x);
}

/* The n-th NUL-separated document of data into *out (0 when missing). */
static int
document (const char *text, const char *end, int n, struct buf *out)
{
        for (; n > 0; n--) {
                const char *nul = memchr (text, '\0', (size_t) (end - text));
                if (nul == NULL)
                        return 0;
                text = nul + 1;
        }
        const char *nul = memchr (text, '\0', (size_t) (end - text));
        buf_add (out, text, (size_t) ((nul ? nul : end) - text));
        return 1;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        const char *text = (const char *) data, *end = text + size;
        struct buf index = BUF_INIT, inner = BUF_INIT, manifest = BUF_INIT, config = BUF_INIT, layer = BUF_INIT;
        int four = document (text, end, 3, &config);
        char *layout, *blobs, *store;
        pgimg_error_t err = NULL;
        struct oci_read r;

        buf_release (&config);
        if (!document (text, end, 2, &config))
                return 0;
        if (four) {
                buf_release (&config);
                document (text, end, 1, &inner);
                document (text, end, 2, &manifest);
                document (text, end, 3, &config);
        } else {
                document (text, end, 1, &manifest);
        }
        document (text, end, 0, &index);
        layout = fuzz_path ("layout");
        blobs = fuzz_path ("layout/blobs/sha256");
        store = fuzz_path ("store");
        if (fs_mkdir_p (blobs, 0755, &err) < 0 || fs_mkdir_p (store, 0755, &err) < 0)
                abort ();
        buf_add (&layer, "", 0);
        put_blob (&layer, &manifest, "@LAYER", "@LSIZE");
        put_blob (&config, &manifest, "@CONFIG", "@CSIZE");
        put_blob (&manifest, four ? &inner : &index, "@MANIFEST", "@MSIZE");
        if (four)
                put_blob (&inner, &index, "@INDEX", "@ISIZE");
        free (fuzz_file ("layout/index.json", (const uint8_t *) index.data, index.len));
        if (oci_read_image (layout, store, &r, &err) == 0) {
                if (r.n_layers == 0 || r.env == NULL)
                        abort ();
                for (size_t i = 0; r.env[i]; i++)
                        if (strchr (r.env[i], '=') == NULL)
                                abort ();
        }
        pgimg_error_free (&err);
        oci_read_free (&r);
        fuzz_rm (store);
        if (fs_mkdir_p (store, 0755, &err) < 0)
                abort ();
        read_index (layout, store);
        fuzz_rm (layout);
        fuzz_rm (store);
        buf_release (&index);
        buf_release (&inner);
        buf_release (&manifest);
        buf_release (&config);
        buf_release (&layer);
        free (store);
        free (blobs);
        free (layout);
        return 0;
}

#include "tests/fuzz/replay.h"
