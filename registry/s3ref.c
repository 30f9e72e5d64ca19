/* s3ref.c - S3 locations: "s3://bucket[/prefix][:tag]".
 *
 * Each part becomes a key in request URLs (unescaped) and a directory
 * under the cache's refs/, so the grammar is narrow on purpose: S3's
 * bucket rules, prefix names of [A-Za-z0-9._-] that are not "." or
 * "..", and an OCI tag.  Anything else is refused before any request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

/* S3's rules for a bucket name: 3 to 63 of [a-z0-9.-], a letter or digit
 * at each end, no "..". */
static int
bucket_name_valid (const char *p, size_t n)
{
        if (n < 3 || n > 63 || strspn (p, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n)
                return 0;
        if (!isalnum ((unsigned char) p[0]) || !isalnum ((unsigned char) p[n - 1]))
                return 0;
        for (size_t i = 0; i + 1 < n; i++)
                if (p[i] == '.' && p[i + 1] == '.')
                        return 0;
        return 1;
}

/* Why the prefix p[0..n) is refused, or NULL.  Each component becomes a
 * directory under the cache's refs/ and part of an unescaped key URL. */
static const char *
prefix_problem (const char *p, size_t n)
{
        static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";

        if (n > 0 && p[0] == '/')
                return "an absolute prefix";
        for (size_t i = 0; i < n;) {
                size_t len = strcspn (p + i, "/");
                if (len > n - i)
                        len = n - i;
                if (len == 0)
                        return "an empty prefix component (`//`)";
                if ((len == 1 && p[i] == '.') || (len == 2 && p[i] == '.' && p[i + 1] == '.'))
                        return "a `.` or `..` prefix component";
                if (strspn (p + i, name_chars) < len)
                        return "a prefix character other than letters, digits, `.`, `_`, `-` and `/`";
                i += len + 1;
        }
        return NULL;
}

/* An OCI tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
static int
tag_valid (const char *t)
{
        size_t n = strlen (t);

        return n >= 1 && n <= 128 && t[0] != '.' && t[0] != '-'
               && strspn (t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int
reg_s3_location_parse (const char *url, char **bucket, char **prefix, char **tag, pgimg_error_t *err)
{
        const char *p = url + 5, *slash, *colon, *end, *why = NULL;
        size_t blen, plen = 0;

        *bucket = *prefix = *tag = NULL;
        if (strncmp (url, "s3://", 5) != 0)
                return pgimg_make_error (err, EINVAL, "invalid S3 location `%s` (want s3://BUCKET[/PREFIX][:TAG])", url);
        slash = strchr (p, '/');
        colon = strrchr (slash ? slash : p, ':');
        end = colon ? colon : p + strlen (p);
        blen = slash && slash < end ? (size_t) (slash - p) : (size_t) (end - p);
        if (!bucket_name_valid (p, blen) || (colon && strchr (colon + 1, '/')))
                return pgimg_make_error (err, EINVAL, "invalid S3 location `%s` (want s3://BUCKET[/PREFIX][:TAG])", url);
        if (slash && slash < end) {
                plen = (size_t) (end - slash - 1);
                while (plen > 0 && slash[plen] == '/')
                        plen--;         /* "a/b/" is "a/b" */
                why = prefix_problem (slash + 1, plen);
        }
        if (why == NULL && colon && !tag_valid (colon + 1))
                why = "a tag that is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}";
        if (why != NULL)
                return pgimg_make_error (err, EINVAL,
                                         "invalid S3 location `%s`: %s; name it as s3://BUCKET/a/b:TAG", url, why);
        *bucket = strndup (p, blen);
        if (asprintf (prefix, "%.*s%s", (int) plen, plen ? slash + 1 : "", plen ? "/" : "") < 0)
                *prefix = NULL;
        *tag = strdup (colon ? colon + 1 : "latest");
        if (*bucket == NULL || *prefix == NULL || *tag == NULL) {
                free (*bucket);
                free (*prefix);
                free (*tag);
                *bucket = *prefix = *tag = NULL;
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        }
        return 0;
}
