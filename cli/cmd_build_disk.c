/* cmd_build_disk.c - pgimg build --format disk: the image's layers and
 * the machine layer as one bootable disk (builder/disk.h, docs/vm.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/disk.h"
#include "builder/pipeline.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"

int
cli_write_disk (struct pgimg_ctx *ctx, const struct pipeline_opts *po, struct pipeline_result *res,
                const char *output, enum disk_format format, uint64_t size_mib, pgimg_error_t *err)
{
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        cleanup_buf struct buf receipt = BUF_INIT;
        cleanup_buf struct buf sbom = BUF_INIT;
        cleanup_free char *tree = NULL;
        cleanup_free char *failed_log = NULL;
        char seed[SHA256_HEX_LEN + 1];
        int r;

        if (pipeline_machine_layer (po, res, err) < 0) {
                cli_print_failed_log (res->failed_log);
                return -1;
        }
        /* Made before the disk is written, so that a disk is never left
         * without them. */
        if (pipeline_disk_receipt (res, po->pgimg_version, disk_format_name (format), size_mib, &receipt, err) < 0
            || pipeline_disk_sbom (po, res, &sbom, err) < 0)
                return -1;
        if (fs_work_dir (ctx->cache_dir, "disk-root", &tree, err) < 0)
                return -1;
        r = pipeline_disk_tree (po, res, tree, &owners, seed, err);
        if (r == 0) {
                struct disk_opts d = {
                        .cache_dir = ctx->cache_dir, .lock = &res->lock, .tree = tree, .owners = &owners,
                        .seed = seed, .size_mib = size_mib, .format = format,
                        .source_date_epoch = res->source_date_epoch, .output = output,
                        .failed_log = &failed_log,
                };
                r = disk_write (&d, err);
        }
        fs_drop_temp_dir (tree);
        if (r < 0) {
                cli_print_failed_log (failed_log);
                return -1;
        }
        if (cli_write_beside (output, &receipt, sbom.data, sbom.len, err) < 0)
                return -1;
        progress_note ("disk of %s (%s, %lluM) written to %s", res->tags[0], disk_format_name (format),
                       (unsigned long long) size_mib, output);
        return 0;
}
