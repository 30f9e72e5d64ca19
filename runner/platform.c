/* platform.c - can this machine run an image of that architecture. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/platform.h"

int
platform_binfmt_usable (const char *entry, size_t len)
{
        int enabled = 0, fixed = 0;
        const char *p = entry, *end = entry + len;

        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                if (n == 7 && memcmp (p, "enabled", 7) == 0)
                        enabled = 1;
                else if (n >= 6 && memcmp (p, "flags:", 6) == 0 && memchr (p + 6, 'F', n - 6) != NULL)
                        fixed = 1;
                p += n + 1;
        }
        return enabled && fixed;
}

int
platform_runnable (const char *arch, const char *what, const char *binfmt_dir, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;
        cleanup_buf struct buf text = BUF_INIT;
        pgimg_error_t ignored = NULL;

        if (arch == NULL || strcmp (arch, "amd64") == 0)
                return 0;
        if (strcmp (arch, "arm64") != 0)
                return pgimg_make_error (err, ENOTSUP, "%s: an image for linux/%s; pgimg runs linux/amd64 and linux/arm64 images",
                                         what, arch);
        if (asprintf (&path, "%s/qemu-aarch64", binfmt_dir ? binfmt_dir : PLATFORM_BINFMT_DIR) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "binfmt_misc");
        if (fs_read_file (path, 4096, &text, &ignored) < 0 || !platform_binfmt_usable (text.data ? text.data : "", text.len)) {
                pgimg_error_free (&ignored);
                return pgimg_make_error (err, ENOTSUP,
                                         "%s: linux/arm64 images run here only through qemu-user, and `%s` is not "
                                         "an enabled binfmt_misc entry with the F flag (as root: apt-get install "
                                         "qemu-user-static binfmt-support; update-binfmts --enable qemu-aarch64; "
                                         "docs/platforms.md)", what, path);
        }
        return 0;
}
