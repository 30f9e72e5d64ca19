/* libjson.h - where jansson meets pgimg: its errors and its cleanup.
 *
 * Include this (and so <jansson.h>) only in a module that parses or
 * writes JSON; jansson values never travel past that module.
 */
#ifndef PGIMG_LIBJSON_H
#define PGIMG_LIBJSON_H

#include <jansson.h>

#include "common/error.h"

static inline void
cleanup_jsonp (json_t **j)
{
        if (*j != NULL)
                json_decref (*j);
}
#define cleanup_json __attribute__ ((cleanup (cleanup_jsonp)))

/* A syntax error as "`path`: line L, column C: jansson's text", status
 * EINVAL.  Returns a negative value. */
int pgimg_error_from_json (pgimg_error_t *err, const char *path, const json_error_t *je);

/* The string member key of o, or NULL when o is not an object, has no
 * such member or it is not a string.  Borrowed from o. */
static inline const char *
pgimg_json_str (const json_t *o, const char *key)
{
        json_t *v = json_object_get (o, key);
        return json_is_string (v) ? json_string_value (v) : NULL;
}

#endif
