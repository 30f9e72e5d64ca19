/* deb_version.c - Debian version ordering and relation fields. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb_version.h"

/* ------------------------------------------------------------------ */
/* Versions                                                            */

/* dpkg's character weight: '~' before the end of the string, the end
 * before letters, letters before everything else. */
static int
version_char_order (int c)
{
        if (isdigit (c))
                return 0;
        if (isalpha (c))
                return c;
        if (c == '~')
                return -1;
        if (c)
                return c + 256;
        return 0;
}

static int
version_part_compare (const char *a, const char *a_end, const char *b, const char *b_end)
{
#define A (a < a_end ? (unsigned char) *a : 0)
#define B (b < b_end ? (unsigned char) *b : 0)
        while (a < a_end || b < b_end) {
                int first_diff = 0;

                while ((A && !isdigit (A)) || (B && !isdigit (B))) {
                        int ac = version_char_order (A);
                        int bc = version_char_order (B);
                        if (ac != bc)
                                return ac - bc;
                        a++;
                        b++;
                }
                while (A == '0')
                        a++;
                while (B == '0')
                        b++;
                while (isdigit (A) && isdigit (B)) {
                        if (!first_diff)
                                first_diff = A - B;
                        a++;
                        b++;
                }
                if (isdigit (A))
                        return 1;
                if (isdigit (B))
                        return -1;
                if (first_diff)
                        return first_diff;
        }
        return 0;
#undef A
#undef B
}

struct version_parts {
        unsigned long epoch;
        const char *upstream, *upstream_end;
        const char *revision, *revision_end;
};

static void
version_split (const char *v, struct version_parts *p)
{
        const char *colon = strchr (v, ':');
        const char *end = v + strlen (v);
        const char *dash;

        p->epoch = 0;
        if (colon) {
                p->epoch = strtoul (v, NULL, 10);
                v = colon + 1;
        }
        dash = strrchr (v, '-');
        p->upstream = v;
        p->upstream_end = dash ? dash : end;
        p->revision = dash ? dash + 1 : end;
        p->revision_end = end;
}

int
deb_version_compare (const char *a, const char *b)
{
        struct version_parts pa, pb;
        int r;

        version_split (a, &pa);
        version_split (b, &pb);
        if (pa.epoch != pb.epoch)
                return pa.epoch < pb.epoch ? -1 : 1;
        r = version_part_compare (pa.upstream, pa.upstream_end, pb.upstream, pb.upstream_end);
        if (r)
                return r;
        return version_part_compare (pa.revision, pa.revision_end, pb.revision, pb.revision_end);
}

/* ------------------------------------------------------------------ */
/* Relation fields: "a (>= 1) | b:any, c"                              */

const char *
deb_rel_op_text (enum deb_rel_op op)
{
        static const char *const text[] = { "", "<<", "<=", "=", ">=", ">>" };

        return (unsigned) op < sizeof (text) / sizeof (text[0]) ? text[op] : "?";
}

void
deb_rel_list_free (struct deb_rel_list *l)
{
        free (l->copy);
        free (l->v);
        memset (l, 0, sizeof (*l));
}

static char *
skip_space (char *p)
{
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        return p;
}

static int
is_name_end (int c)
{
        return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '['
               || c == '<';
}

/* Skip a "[arch ...]" or "<profile ...>" restriction list. */
static char *
skip_restriction (char *p)
{
        char close = *p == '[' ? ']' : '>';
        char *e = strchr (p, close);
        return e ? e + 1 : NULL;
}

static int
parse_alt (char *s, struct deb_rel_alt *alt)
{
        char *p = skip_space (s);
        char *colon;

        alt->name = p;
        alt->version = NULL;
        alt->op = DEB_REL_NONE;
        while (!is_name_end (*p))
                p++;
        if (p == alt->name)
                return -1;
        if (*p == '(') {
                *p++ = '\0';
                goto relation;
        }
        if (*p)
                *p++ = '\0';
        p = skip_space (p);
        if (*p == '(') {
                p++;
relation:
                p = skip_space (p);
                if (p[0] == '<' && p[1] == '<')
                        alt->op = DEB_REL_LT, p += 2;
                else if (p[0] == '<' && p[1] == '=')
                        alt->op = DEB_REL_LE, p += 2;
                else if (p[0] == '>' && p[1] == '>')
                        alt->op = DEB_REL_GT, p += 2;
                else if (p[0] == '>' && p[1] == '=')
                        alt->op = DEB_REL_GE, p += 2;
                else if (p[0] == '=')
                        alt->op = DEB_REL_EQ, p += 1;
                else if (p[0] == '<')   /* obsolete spelling of <= */
                        alt->op = DEB_REL_LE, p += 1;
                else if (p[0] == '>')
                        alt->op = DEB_REL_GE, p += 1;
                else
                        return -1;
                p = skip_space (p);
                alt->version = p;
                while (*p && *p != ')' && *p != ' ' && *p != '\t' && *p != '\n')
                        p++;
                if (p == alt->version)
                        return -1;
                char *vend = p;
                p = skip_space (p);
                if (*p != ')')
                        return -1;
                *vend = '\0';
                p = skip_space (p + 1);
        }
        while (*p == '[' || *p == '<') {
                p = skip_restriction (p);
                if (p == NULL)
                        return -1;
                p = skip_space (p);
        }
        if (*p)
                return -1;
        /* "python3:any", "gcc:native": the architecture does not matter
         * in a single-architecture root. */
        colon = strchr (alt->name, ':');
        if (colon)
                *colon = '\0';
        return *alt->name ? 0 : -1;
}

/* Parse a relation field.  An empty field gives an empty list; -1 with
 * errno EINVAL on a malformed one. */
int
deb_rel_parse (const char *field, struct deb_rel_list *l)
{
        char *group, *gsave = NULL;

        memset (l, 0, sizeof (*l));
        l->copy = strdup (field);
        if (l->copy == NULL)
                return -1;
        for (group = strtok_r (l->copy, ",", &gsave); group; group = strtok_r (NULL, ",", &gsave)) {
                char *alt, *asave = NULL;
                int first = 1;

                if (*skip_space (group) == '\0') {
                        /* "a, b," is tolerated; "a, , b" is not. */
                        if (*skip_space (gsave ? gsave : (char *) "") == '\0')
                                break;
                        errno = EINVAL;
                        return -1;
                }
                for (alt = strtok_r (group, "|", &asave); alt; alt = strtok_r (NULL, "|", &asave)) {
                        if (l->n == l->alloc) {
                                size_t alloc = l->alloc ? l->alloc * 2 : 8;
                                struct deb_rel_alt *v = realloc (l->v, alloc * sizeof (*v));
                                if (v == NULL)
                                        return -1;
                                l->v = v;
                                l->alloc = alloc;
                        }
                        if (parse_alt (alt, &l->v[l->n]) < 0) {
                                errno = EINVAL;
                                return -1;
                        }
                        l->v[l->n++].starts_group = first;
                        first = 0;
                }
                if (first) {    /* "a, |, b" */
                        errno = EINVAL;
                        return -1;
                }
        }
        return 0;
}

int
deb_version_satisfies (const char *have, enum deb_rel_op op, const char *want)
{
        int c;

        if (op == DEB_REL_NONE)
                return 1;
        c = deb_version_compare (have, want);
        switch (op) {
        case DEB_REL_LT:
                return c < 0;
        case DEB_REL_LE:
                return c <= 0;
        case DEB_REL_EQ:
                return c == 0;
        case DEB_REL_GE:
                return c >= 0;
        case DEB_REL_GT:
                return c > 0;
        default:
                return 0;
        }
}
