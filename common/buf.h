/* buf.h - growable byte buffer with an optional size limit (git strbuf,
 * curl dynbuf).  The contents are always NUL-terminated.
 *
 *   struct buf b = BUF_INIT;          unlimited
 *   struct buf b = BUF_INIT_MAX (n);  buf_add fails past n bytes
 */
#ifndef PGIMG_BUF_H
#define PGIMG_BUF_H

#include <stddef.h>

#include "common/error.h"

struct buf {
        char *data;
        size_t len;
        size_t alloc;
        size_t max;             /* 0: no limit */
};

#define BUF_INIT { NULL, 0, 0, 0 }
#define BUF_INIT_MAX(n) { NULL, 0, 0, (n) }

/* Append; -1 with errno ENOMEM or EFBIG (past b->max). */
int buf_add (struct buf *b, const void *data, size_t len);
int buf_adds (struct buf *b, const char *s);
int buf_addf (struct buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void buf_reset (struct buf *b);
/* You now own the storage (never NULL unless out of memory); b is empty. */
char *buf_detach (struct buf *b, size_t *len);
void buf_release (struct buf *b);

static inline void
cleanup_bufp (struct buf *b)
{
        buf_release (b);
}
#define cleanup_buf __attribute__ ((cleanup (cleanup_bufp)))

#endif
