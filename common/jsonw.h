/* jsonw.h - a JSON writer into a struct buf, for what pgimg prints
 * with --json: compact output (no blanks), keys in the order written,
 * strings escaped.  It does not parse, and it does not check that
 * strings are valid UTF-8 (pgimg's names and paths are passed through
 * byte for byte, but for quotes, backslashes and control characters).
 *
 *   struct jsonw w;
 *   jsonw_init (&w, &b);
 *   jsonw_object (&w);
 *   jsonw_kv_string (&w, "image", tag);
 *   jsonw_key (&w, "layers"); jsonw_array (&w); ... jsonw_end (&w);
 *   jsonw_end (&w);
 *   if (jsonw_finish (&w) < 0) ...           out of memory, or unbalanced
 *
 * Calls after a failure do nothing; jsonw_finish reports it once.
 */
#ifndef PGIMG_JSONW_H
#define PGIMG_JSONW_H

#include <stdint.h>

#include "common/buf.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
        struct buf *b;          /* not owned */
        int depth;
        int failed;
        int after_key;          /* the next value is a key's: no comma */
        char first[JSONW_MAX_DEPTH];    /* no element yet at this depth */
        char closer[JSONW_MAX_DEPTH];   /* '}' or ']' */
};

void jsonw_init (struct jsonw *w, struct buf *b);
void jsonw_object (struct jsonw *w);
void jsonw_array (struct jsonw *w);
/* Close the innermost object or array. */
void jsonw_end (struct jsonw *w);
void jsonw_key (struct jsonw *w, const char *key);
/* A string value; NULL writes null. */
void jsonw_string (struct jsonw *w, const char *s);
void jsonw_uint (struct jsonw *w, uint64_t v);
void jsonw_bool (struct jsonw *w, int v);
/* A number with `places` decimals (0 to 9), for seconds and shares;
 * one that rounds to zero has no minus sign.  NaN, infinities (JSON
 * has no word for them) and magnitudes of 1e18 or more fail (EINVAL). */
void jsonw_fixed (struct jsonw *w, double v, int places);
void jsonw_kv_string (struct jsonw *w, const char *key, const char *s);
void jsonw_kv_uint (struct jsonw *w, const char *key, uint64_t v);
void jsonw_kv_bool (struct jsonw *w, const char *key, int v);
void jsonw_kv_fixed (struct jsonw *w, const char *key, double v, int places);
/* 0 when everything was written and every object and array closed;
 * -1 otherwise (errno ENOMEM, or EINVAL for unbalanced calls). */
int jsonw_finish (struct jsonw *w);

#endif
