/* s3.c - registry_push and registry_pull against S3 (SigV4). */
#include <errno.h>

#include "registry/internal.h"

int
reg_s3_push (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
             struct registry_stats *stats, pgimg_error_t *err)
{
        (void) img, (void) opts, (void) stats;
        return pgimg_make_error (err, ENOTSUP, "%s: S3 is not supported yet", dest);
}

int
reg_s3_pull (const char *src, const char *cache_dir, const char *out_path, const struct registry_opts *opts,
             struct registry_stats *stats, pgimg_error_t *err)
{
        (void) cache_dir, (void) out_path, (void) opts, (void) stats;
        return pgimg_make_error (err, ENOTSUP, "%s: S3 is not supported yet", src);
}
