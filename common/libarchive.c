#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libarchive.h"

int
pgimg_error_from_archive (pgimg_error_t *err, struct archive *a, const char *fmt, ...)
{
        cleanup_free char *what = NULL;
        const char *text = a ? archive_error_string (a) : NULL;
        int e = a ? archive_errno (a) : 0;
        va_list ap;

        va_start (ap, fmt);
        if (vasprintf (&what, fmt, ap) < 0)
                what = NULL;
        va_end (ap);
        /* libarchive says "Write failed": say what it means */
        if (fs_is_disk_full (e))
                return pgimg_make_error (err, e, "%s: no space left on the disk: free space or point --cache-dir / -o elsewhere",
                                         what ? what : "archive");
        return pgimg_make_error (err, e > 0 ? e : EIO, "%s: %s", what ? what : "archive",
                                 text ? text : "unknown libarchive error");
}
