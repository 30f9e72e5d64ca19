/* cmd_build_index.c - pgimg build --platform linux/amd64,linux/arm64:
 * one image per platform, written as one OCI image index
 * (oci_write_index, docs/platforms.md), with each platform's receipt
 * and SBOM beside it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/jsonw.h"
#include "common/progress.h"
#include "oci/image.h"

#define MAX_PLATFORMS 2

/* The suffix of the files beside the output for platform i: the first
 * platform's are those a build of that platform alone writes
 * (OUT.receipt.json, OUT.spdx.json, where `pgimg push` takes the SBOM
 * from); the others' carry their architecture (OUT.arm64.receipt.json). */
static char *
beside_path (const char *out, size_t i, const char *arch, const char *what)
{
        cleanup_free char *suffix = NULL;

        if (asprintf (&suffix, "%s%s%s", i == 0 ? "" : ".", i == 0 ? "" : arch, what) < 0)
                return NULL;
        return fs_path_beside (out, suffix);
}

static int
check_beside_all (const char *out, const char *const *arches, size_t n, pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                char infix[16];
                snprintf (infix, sizeof (infix), "%s%s", i == 0 ? "" : ".", i == 0 ? "" : arches[i]);
                if (cli_check_beside (out, infix, err) < 0)
                        return -1;
        }
        return 0;
}

static int
write_beside (const char *out, size_t i, const struct pipeline_result *res, const char *manifest, pgimg_error_t *err)
{
        cleanup_buf struct buf receipt = BUF_INIT;
        cleanup_free char *receipt_path = beside_path (out, i, res->arch, ".receipt.json");
        cleanup_free char *sbom_path = beside_path (out, i, res->arch, ".spdx.json");

        if (receipt_path == NULL || sbom_path == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "receipt");
        if (pipeline_receipt (res, PGIMG_VERSION, res->n_layers, manifest, &receipt, err) < 0
            || fs_write_file_atomic (receipt_path, receipt.data, receipt.len, 0644, err) < 0
            || fs_write_file_atomic (sbom_path, res->sbom, res->sbom_len, 0644, err) < 0)
                return -1;
        return 0;
}

static int
print_index (struct pipeline_result *const *res, size_t n, const char *out, const char *index,
             char (*manifests)[LAYER_DIGEST_LEN], int json, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        struct jsonw w;

        if (!json) {
                for (size_t i = 0; i < n; i++)
                        progress_note ("linux/%s: %s (%s)", res[i]->arch, res[i]->tags[0], manifests[i]);
                progress_note ("image index %s (%s) written to %s", res[0]->tags[0], index, out);
                return 0;
        }
        jsonw_init (&w, &b);
        jsonw_object (&w);
        jsonw_kv_string (&w, "image", res[0]->tags[0]);
        jsonw_kv_string (&w, "output", out);
        jsonw_kv_string (&w, "index", index);
        jsonw_key (&w, "manifests");
        jsonw_array (&w);
        for (size_t i = 0; i < n; i++) {
                char platform[32];
                snprintf (platform, sizeof (platform), "linux/%s", res[i]->arch);
                jsonw_object (&w);
                jsonw_kv_string (&w, "platform", platform);
                jsonw_kv_string (&w, "manifest", manifests[i]);
                jsonw_kv_string (&w, "image", res[i]->tags[0]);
                jsonw_end (&w);
        }
        jsonw_end (&w);
        jsonw_end (&w);
        return cli_print_json (&w, &b, err);
}

static int
write_index (struct pipeline_result *const *res, size_t n, enum oci_format fmt, const char *out, int json,
             pgimg_error_t *err)
{
        const struct oci_image *imgs[MAX_PLATFORMS] = { NULL };
        const char *arches[MAX_PLATFORMS] = { NULL };
        char manifests[MAX_PLATFORMS][LAYER_DIGEST_LEN];
        char index[LAYER_DIGEST_LEN];

        for (size_t i = 0; i < n; i++) {
                imgs[i] = &res[i]->image.oci;
                arches[i] = res[i]->arch;
        }
        if (check_beside_all (out, arches, n, err) < 0
            || oci_write_index (res[0]->blob_dir, imgs, n, fmt, out, index, manifests, err) < 0)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (write_beside (out, i, res[i], manifests[i], err) < 0)
                        return -1;
        return print_index (res, n, out, index, manifests, json, err);
}

int
cli_build_platforms (struct pgimg_ctx *ctx, struct pipeline_opts *po, const char *const *arches, size_t n,
                     enum oci_format fmt, const char *output, int json, pgimg_error_t *err)
{
        struct pipeline_result *res[MAX_PLATFORMS] = { NULL };
        cleanup_free char *out = NULL;
        size_t built = 0;
        int r = 0;

        if (n == 0 || n > MAX_PLATFORMS)
                return pgimg_make_error (err, EINVAL, "build %s: %zu platforms (1 to %d)", po->spec, n, MAX_PLATFORMS);
        for (; r == 0 && built < n; built++) {
                if ((res[built] = calloc (1, sizeof (*res[built]))) == NULL) {
                        r = pgimg_make_error_errno (err, ENOMEM, "build %s", po->spec);
                        break;
                }
                po->arch = arches[built];
                r = cli_build (ctx, "build", po, res[built], err);
                if (r < 0) {
                        free (res[built]);
                        res[built] = NULL;
                }
        }
        if (r == 0 && output == NULL
            && asprintf (&out, "postgres-%s%s", res[0]->version->version, fmt == OCI_FORMAT_DIR ? "" : ".tar") < 0)
                r = pgimg_make_error_errno (err, ENOMEM, "build %s", po->spec);
        if (r == 0 && write_index (res, n, fmt, output ? output : out, json, err) < 0)
                r = pgimg_error_wrap (err, "build %s", po->spec);
        for (size_t i = 0; i < n; i++) {
                if (res[i] != NULL)
                        pipeline_result_free (res[i]);
                free (res[i]);
        }
        return r;
}
