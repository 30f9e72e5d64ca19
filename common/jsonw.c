#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/jsonw.h"

void
jsonw_init (struct jsonw *w, struct buf *b)
{
        memset (w, 0, sizeof (*w));
        w->b = b;
}

static void
put (struct jsonw *w, const char *s, size_t len)
{
        if (!w->failed && buf_add (w->b, s, len) < 0)
                w->failed = ENOMEM;
}

/* Before a value or a key: the comma that separates it from the last. */
static void
separate (struct jsonw *w)
{
        if (w->after_key) {
                w->after_key = 0;
                return;
        }
        if (w->depth > 0 && !w->first[w->depth - 1])
                put (w, ",", 1);
        if (w->depth > 0)
                w->first[w->depth - 1] = 0;
}

static void
open_container (struct jsonw *w, char open, char close)
{
        separate (w);
        if (w->depth >= JSONW_MAX_DEPTH) {
                w->failed = EINVAL;
                return;
        }
        put (w, &open, 1);
        w->first[w->depth] = 1;
        w->closer[w->depth] = close;
        w->depth++;
}

void
jsonw_object (struct jsonw *w)
{
        open_container (w, '{', '}');
}

void
jsonw_array (struct jsonw *w)
{
        open_container (w, '[', ']');
}

void
jsonw_end (struct jsonw *w)
{
        if (w->depth == 0 || w->after_key) {
                w->failed = EINVAL;
                return;
        }
        w->depth--;
        put (w, &w->closer[w->depth], 1);
}

static void
put_string (struct jsonw *w, const char *s)
{
        put (w, "\"", 1);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                char esc[8];
                size_t plain = 0;
                /* the run of bytes that need no escape, in one piece */
                while (p[plain] && p[plain] != '"' && p[plain] != '\\' && p[plain] >= 0x20)
                        plain++;
                if (plain) {
                        put (w, (const char *) p, plain);
                        p += plain - 1;
                        continue;
                }
                switch (*p) {
                case '"': put (w, "\\\"", 2); break;
                case '\\': put (w, "\\\\", 2); break;
                case '\n': put (w, "\\n", 2); break;
                case '\t': put (w, "\\t", 2); break;
                case '\r': put (w, "\\r", 2); break;
                default:
                        snprintf (esc, sizeof (esc), "\\u%04x", *p);
                        put (w, esc, 6);
                }
        }
        put (w, "\"", 1);
}

void
jsonw_key (struct jsonw *w, const char *key)
{
        if (w->depth == 0 || w->closer[w->depth - 1] != '}' || w->after_key) {
                w->failed = EINVAL;
                return;
        }
        separate (w);
        put_string (w, key);
        put (w, ":", 1);
        w->after_key = 1;
}

void
jsonw_string (struct jsonw *w, const char *s)
{
        separate (w);
        if (s == NULL)
                put (w, "null", 4);
        else
                put_string (w, s);
}

void
jsonw_uint (struct jsonw *w, uint64_t v)
{
        char num[24];
        int n = snprintf (num, sizeof (num), "%" PRIu64, v);

        separate (w);
        put (w, num, (size_t) n);
}

void
jsonw_fixed (struct jsonw *w, double v, int places)
{
        char num[64];
        int n;

        if (!isfinite (v) || places < 0 || places > 9 || v >= 1e18 || v <= -1e18) {
                w->failed = EINVAL;
                return;
        }
        n = snprintf (num, sizeof (num), "%.*f", places, v);
        /* "-0.000" is valid JSON but says nothing a reader wants. */
        if (strspn (num, "-0.") == (size_t) n && num[0] == '-')
                memmove (num, num + 1, (size_t) n--);
        separate (w);
        put (w, num, (size_t) n);
}

void
jsonw_bool (struct jsonw *w, int v)
{
        separate (w);
        if (v)
                put (w, "true", 4);
        else
                put (w, "false", 5);
}

void
jsonw_kv_string (struct jsonw *w, const char *key, const char *s)
{
        jsonw_key (w, key);
        jsonw_string (w, s);
}

void
jsonw_kv_uint (struct jsonw *w, const char *key, uint64_t v)
{
        jsonw_key (w, key);
        jsonw_uint (w, v);
}

void
jsonw_kv_bool (struct jsonw *w, const char *key, int v)
{
        jsonw_key (w, key);
        jsonw_bool (w, v);
}

void
jsonw_kv_fixed (struct jsonw *w, const char *key, double v, int places)
{
        jsonw_key (w, key);
        jsonw_fixed (w, v, places);
}

int
jsonw_finish (struct jsonw *w)
{
        if (!w->failed && (w->depth != 0 || w->after_key))
                w->failed = EINVAL;
        if (w->failed) {
                errno = w->failed;
                return -1;
        }
        return 0;
}
