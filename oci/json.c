#include <errno.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "oci/internal.h"

int
oci_json_dump (const json_t *j, struct buf *out, pgimg_error_t *err)
{
        /* Sorted keys and no whitespace: the same image always gives the
         * same bytes, hence the same digests. */
        cleanup_free char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);

        if (s == NULL)
                return pgimg_make_error (err, ENOMEM, "serialize JSON: out of memory");
        if (buf_adds (out, s) < 0)
                return pgimg_make_error_errno (err, errno, "serialize JSON");
        return 0;
}

json_t *
oci_json_strv (const char *const *v)
{
        cleanup_json json_t *a = json_array ();

        if (a == NULL)
                return NULL;
        for (; v != NULL && *v != NULL; v++)
                if (json_array_append_new (a, json_string (*v)) < 0)
                        return NULL;
        return steal_pointer (&a);
}

json_t *
oci_json_descriptor (const char *media_type, const char *digest, uint64_t size)
{
        cleanup_json json_t *d = json_object ();

        if (d == NULL
            || json_object_set_new (d, "mediaType", json_string (media_type)) < 0
            || json_object_set_new (d, "digest", json_string (digest)) < 0
            || json_object_set_new (d, "size", json_integer ((json_int_t) size)) < 0)
                return NULL;
        return steal_pointer (&d);
}

void
oci_rfc3339 (time_t t, char out[32])
{
        struct tm tm;

        /* oci_image_check keeps t within years 0000-9999. */
        if (gmtime_r (&t, &tm) == NULL || strftime (out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                out[0] = '\0';
}

