#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static int
buf_grow (struct buf *b, size_t extra)
{
        size_t want, alloc;
        char *p;

        if (extra > SIZE_MAX - b->len - 1) {
                errno = ENOMEM;
                return -1;
        }
        want = b->len + extra + 1;
        if (b->max && want - 1 > b->max) {
                errno = EFBIG;
                return -1;
        }
        if (want <= b->alloc)
                return 0;
        alloc = b->alloc ? b->alloc : 64;
        while (alloc < want)
                alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
        p = realloc (b->data, alloc);
        if (p == NULL)
                return -1;
        b->data = p;
        b->alloc = alloc;
        return 0;
}

int
buf_add (struct buf *b, const void *data, size_t len)
{
        if (buf_grow (b, len) < 0)
                return -1;
        if (len)
                memcpy (b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

int
buf_adds (struct buf *b, const char *s)
{
        return buf_add (b, s, strlen (s));
}

int
buf_addf (struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start (ap, fmt);
        n = vsnprintf (NULL, 0, fmt, ap);
        va_end (ap);
        if (n < 0)
                return -1;
        if (buf_grow (b, (size_t) n) < 0)
                return -1;
        va_start (ap, fmt);
        vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end (ap);
        b->len += (size_t) n;
        return 0;
}

void
buf_reset (struct buf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

char *
buf_detach (struct buf *b, size_t *len)
{
        char *r;

        if (b->data == NULL && buf_grow (b, 0) < 0)
                return NULL;
        r = b->data;
        if (len)
                *len = b->len;
        b->data = NULL;
        b->len = b->alloc = 0;
        return r;
}

void
buf_release (struct buf *b)
{
        free (b->data);
        b->data = NULL;
        b->len = b->alloc = 0;
}
