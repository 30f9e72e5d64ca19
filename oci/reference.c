/* reference.c - image references (see reference.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "layers/store.h"
#include "oci/reference.h"

/* The grammar of github.com/distribution/reference, which the Docker
 * Engine uses to read RepoTags: a path component is lowercase letters
 * and digits, separated inside by ".", "_", "__" or runs of "-". */
static int
component_valid (const char *s, size_t len)
{
        size_t i = 0;

        while (i < len) {
                size_t start = i, sep;
                while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
                        i++;
                if (i == start)
                        return 0;
                if (i == len)
                        return 1;
                sep = i;
                while (i < len && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
                        i++;
                if (i == len)
                        return 0;
                if (strspn (s + sep, "-") >= i - sep)
                        continue;       /* any run of dashes */
                if (i - sep == 1 || (i - sep == 2 && s[sep] == '_' && s[sep + 1] == '_'))
                        continue;
                return 0;
        }
        return 0;
}

static int
path_valid (const char *path)
{
        const char *p = path;

        if (*path == '\0' || strlen (path) > 255)
                return 0;
        for (;;) {
                const char *slash = strchr (p, '/');
                size_t len = slash ? (size_t) (slash - p) : strlen (p);
                if (!component_valid (p, len))
                        return 0;
                if (slash == NULL)
                        return 1;
                p = slash + 1;
        }
}

static int
tag_valid (const char *tag)
{
        size_t len = strlen (tag);
        static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

        if (len == 0 || len > 128 || strchr (word, tag[0]) == NULL)
                return 0;
        for (size_t i = 1; i < len; i++)
                if (strchr (word, tag[i]) == NULL && tag[i] != '.' && tag[i] != '-')
                        return 0;
        return 1;
}

/* A host name, an IPv4 address or a bracketed IPv6 one, and a port. */
static int
domain_valid (const char *d)
{
        if (*d == '\0')
                return 0;
        for (; *d; d++)
                if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') || (*d >= '0' && *d <= '9')
                      || strchr (".-:[]", *d) != NULL))
                        return 0;
        return 1;
}

/* The first component names a registry when it looks like a host:
 * it has a "." or a ":" or is "localhost" (as the Docker Engine decides). */
static int
is_domain (const char *s, size_t len)
{
        return memchr (s, '.', len) || memchr (s, ':', len)
               || (len == 9 && memcmp (s, "localhost", 9) == 0);
}

/* Split s (its digest, if any, already cut off by the caller: s holds
 * only the name and tag) into r. */
static int
split_ref (const char *s, struct oci_ref *r)
{
        const char *last_slash = strrchr (s, '/');
        const char *colon = strrchr (last_slash ? last_slash : s, ':');
        const char *name_end = colon ? colon : s + strlen (s);
        const char *slash = memchr (s, '/', (size_t) (name_end - s));
        const char *path = s;

        if (colon != NULL || r->digest == NULL) {
                if ((r->tag = strdup (colon ? colon + 1 : "latest")) == NULL)
                        return -1;
        }
        if (slash != NULL && is_domain (s, (size_t) (slash - s))) {
                r->domain = strndup (s, (size_t) (slash - s));
                path = slash + 1;
        } else {
                r->domain = strdup ("docker.io");
        }
        if (r->domain == NULL)
                return -1;
        if (strcmp (r->domain, "index.docker.io") == 0) {
                free (r->domain);
                if ((r->domain = strdup ("docker.io")) == NULL)
                        return -1;
        }
        /* Official images live under library/ on Docker Hub. */
        if (strcmp (r->domain, "docker.io") == 0 && memchr (path, '/', (size_t) (name_end - path)) == NULL) {
                if (asprintf (&r->path, "library/%.*s", (int) (name_end - path), path) < 0)
                        r->path = NULL;
        } else {
                r->path = strndup (path, (size_t) (name_end - path));
        }
        return r->path == NULL ? -1 : 0;
}

static int
parse (const char *s, int remote, struct oci_ref *r, pgimg_error_t *err)
{
        cleanup_free char *name = strdup (s);
        char *at;

        memset (r, 0, sizeof (*r));
        if (name == NULL)
                return pgimg_make_error (err, ENOMEM, "reference `%s`: out of memory", s);
        if ((at = strchr (name, '@')) != NULL) {
                if (!remote)
                        return pgimg_make_error (err, EINVAL, "invalid tag `%s`: a digest cannot name an image to write",
                                                 s);
                *at = '\0';
                if ((r->digest = strdup (at + 1)) == NULL)
                        return pgimg_make_error (err, ENOMEM, "reference `%s`: out of memory", s);
        }
        if (split_ref (name, r) < 0) {
                oci_ref_free (r);
                return pgimg_make_error (err, ENOMEM, "reference `%s`: out of memory", s);
        }
        if (!domain_valid (r->domain) || !path_valid (r->path) || (r->tag != NULL && !tag_valid (r->tag))
            || (r->digest != NULL && store_digest_hex (r->digest) == NULL)) {
                oci_ref_free (r);
                if (!remote)
                        return pgimg_make_error (err, EINVAL, "invalid tag `%s` (want name:tag, the name in lowercase)", s);
                return pgimg_make_error (err, EINVAL,
                                         "invalid reference `%s` (want HOST[:PORT]/NAME[:TAG][@sha256:HEX], "
                                         "the name in lowercase)",
                                         s);
        }
        return 0;
}

int
oci_ref_parse (const char *s, struct oci_ref *r, pgimg_error_t *err)
{
        return parse (s, 0, r, err);
}

int
oci_ref_parse_remote (const char *s, struct oci_ref *r, pgimg_error_t *err)
{
        return parse (s, 1, r, err);
}

char *
oci_ref_full (const struct oci_ref *r)
{
        char *s = NULL;

        if (asprintf (&s, "%s/%s:%s", r->domain, r->path, r->tag ? r->tag : "latest") < 0)
                return NULL;
        return s;
}

char *
oci_ref_familiar_name (const struct oci_ref *r)
{
        const char *path = r->path;

        if (strcmp (r->domain, "docker.io") != 0) {
                char *s = NULL;
                if (asprintf (&s, "%s/%s", r->domain, r->path) < 0)
                        return NULL;
                return s;
        }
        if (strncmp (path, "library/", 8) == 0 && strchr (path + 8, '/') == NULL)
                path += 8;
        return strdup (path);
}

void
oci_ref_free (struct oci_ref *r)
{
        free (r->domain);
        free (r->path);
        free (r->tag);
        free (r->digest);
        memset (r, 0, sizeof (*r));
}
