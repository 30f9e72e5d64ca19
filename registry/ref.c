/* ref.c - image references as registries read them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "registry/internal.h"

int
reg_digest_valid (const char *s)
{
        return s != NULL && strncmp (s, "sha256:", 7) == 0 && sha256_hex_valid (s + 7);
}

/* A path component is lowercase letters and digits, separated inside by
 * one of "._-" or "__" or a run of "-" (github.com/distribution/reference). */
static int
component_valid (const char *s, size_t len)
{
        size_t i = 0;

        if (len == 0)
                return 0;
        while (i < len) {
                size_t start = i;
                while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
                        i++;
                if (i == start)
                        return 0;
                if (i == len)
                        return 1;
                start = i;
                while (i < len && strchr ("._-", s[i]) != NULL)
                        i++;
                if (i == len)
                        return 0;
                if (i - start > 1 && strspn (s + start, "-") < i - start
                    && !(i - start == 2 && s[start] == '_' && s[start + 1] == '_'))
                        return 0;
        }
        return 1;
}

static int
path_valid (const char *p)
{
        if (*p == '\0' || strlen (p) > 255)
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
tag_valid (const char *t)
{
        size_t len = strlen (t);

        if (len == 0 || len > 128 || *t == '.' || *t == '-')
                return 0;
        for (; *t; t++)
                if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9')
                      || strchr ("_.-", *t) != NULL))
                        return 0;
        return 1;
}

static int
domain_valid (const char *d)
{
        for (; *d; d++)
                if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') || (*d >= '0' && *d <= '9')
                      || strchr (".-:[]", *d) != NULL))
                        return 0;
        return 1;
}

static int
split (const char *s, struct reg_ref *r)
{
        cleanup_free char *copy = strdup (s);
        char *at, *slash, *colon, *name;

        if (copy == NULL)
                return -1;
        if ((at = strchr (copy, '@')) != NULL) {
                *at = '\0';
                if ((r->digest = strdup (at + 1)) == NULL)
                        return -1;
        }
        name = copy;
        slash = strchr (name, '/');
        if (slash != NULL && (memchr (name, '.', (size_t) (slash - name)) != NULL
                              || memchr (name, ':', (size_t) (slash - name)) != NULL
                              || (slash - name == 9 && strncmp (name, "localhost", 9) == 0))) {
                *slash = '\0';
                r->domain = strdup (name);
                name = slash + 1;
        } else {
                r->domain = strdup ("docker.io");
        }
        if (r->domain == NULL)
                return -1;
        colon = strrchr (name, ':');
        if (colon != NULL) {
                *colon = '\0';
                r->tag = strdup (colon + 1);
        } else if (r->digest == NULL) {
                r->tag = strdup ("latest");
        }
        if (strcmp (r->domain, "docker.io") == 0 && strchr (name, '/') == NULL) {
                if (asprintf (&r->path, "library/%s", name) < 0)
                        r->path = NULL;
        } else {
                r->path = strdup (name);
        }
        return r->path == NULL || (colon != NULL && r->tag == NULL) ? -1 : 0;
}

int
reg_ref_parse (const char *s, struct reg_ref *r, pgimg_error_t *err)
{
        memset (r, 0, sizeof (*r));
        if (split (s, r) < 0) {
                reg_ref_free (r);
                return pgimg_make_error (err, ENOMEM, "reference `%s`: out of memory", s);
        }
        if (!domain_valid (r->domain) || !path_valid (r->path) || (r->tag && !tag_valid (r->tag))
            || (r->digest && !reg_digest_valid (r->digest))) {
                reg_ref_free (r);
                return pgimg_make_error (err, EINVAL,
                                         "invalid reference `%s` (want HOST[:PORT]/NAME[:TAG][@sha256:HEX], "
                                         "the name in lowercase)",
                                         s);
        }
        return 0;
}

void
reg_ref_free (struct reg_ref *r)
{
        free (r->domain);
        free (r->path);
        free (r->tag);
        free (r->digest);
        memset (r, 0, sizeof (*r));
}
