/* deb.c - Debian versions, Packages indexes, dependency resolution and
 * unpacking of .deb files.
 *
 * The index keeps every string in an arena owned by the index (one
 * Packages file of trixie main is ~65k stanzas; one allocation per field
 * would dominate the parse) and a hash table from each name, real or
 * provided, to the chain of packages that answer to it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "builder/deb.h"
#include "sandbox/resolve.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"

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

enum rel_op { OP_NONE, OP_LT, OP_LE, OP_EQ, OP_GE, OP_GT };
static const char *const op_text[] = { "", "<<", "<=", "=", ">=", ">>" };

struct rel_alt {
        char *name;
        char *version;          /* NULL with OP_NONE */
        enum rel_op op;
        int starts_group;       /* first alternative of an "a | b" group */
};

struct rel_list {
        char *copy;             /* the field, cut in place */
        struct rel_alt *v;
        size_t n, alloc;
};

static void
rel_list_free (struct rel_list *l)
{
        free (l->copy);
        free (l->v);
        memset (l, 0, sizeof (*l));
}
#define cleanup_rel_list __attribute__ ((cleanup (rel_list_free)))

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
parse_alt (char *s, struct rel_alt *alt)
{
        char *p = skip_space (s);
        char *colon;

        alt->name = p;
        alt->version = NULL;
        alt->op = OP_NONE;
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
                        alt->op = OP_LT, p += 2;
                else if (p[0] == '<' && p[1] == '=')
                        alt->op = OP_LE, p += 2;
                else if (p[0] == '>' && p[1] == '>')
                        alt->op = OP_GT, p += 2;
                else if (p[0] == '>' && p[1] == '=')
                        alt->op = OP_GE, p += 2;
                else if (p[0] == '=')
                        alt->op = OP_EQ, p += 1;
                else if (p[0] == '<')   /* obsolete spelling of <= */
                        alt->op = OP_LE, p += 1;
                else if (p[0] == '>')
                        alt->op = OP_GE, p += 1;
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
static int
rel_parse (const char *field, struct rel_list *l)
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
                                struct rel_alt *v = realloc (l->v, alloc * sizeof (*v));
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

static int
version_satisfies (const char *have, enum rel_op op, const char *want)
{
        int c;

        if (op == OP_NONE)
                return 1;
        c = deb_version_compare (have, want);
        switch (op) {
        case OP_LT:
                return c < 0;
        case OP_LE:
                return c <= 0;
        case OP_EQ:
                return c == 0;
        case OP_GE:
                return c >= 0;
        case OP_GT:
                return c > 0;
        default:
                return 0;
        }
}

/* ------------------------------------------------------------------ */
/* The index                                                           */

struct arena_chunk {
        struct arena_chunk *next;
        size_t used, size;
        char data[];
};

/* One package answering to a name: as itself or through Provides. */
struct candidate {
        uint32_t pkg;
        int32_t next;           /* next candidate of the same name, -1 */
        const char *provided_version;   /* "Provides: x (= v)"; NULL unversioned */
        int is_provide;
};

struct name_slot {
        const char *name;       /* NULL: empty slot */
        uint32_t hash;
        int32_t head;           /* first candidate */
};

struct index_internal {
        struct arena_chunk *arena;
        struct name_slot *slots;
        size_t cap, used;
        struct candidate *cands;
        size_t n_cands, alloc_cands;
        uint32_t *pkg_slot;     /* slot of each package's own name */
        size_t alloc_pkg_slot;
};

#define ARENA_CHUNK (1u << 20)

static void *
arena_alloc (struct index_internal *ii, size_t len)
{
        struct arena_chunk *c = ii->arena;

        len = (len + 7) & ~(size_t) 7;
        if (c == NULL || c->size - c->used < len) {
                size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;
                c = malloc (sizeof (*c) + size);
                if (c == NULL)
                        return NULL;
                c->next = ii->arena;
                c->used = 0;
                c->size = size;
                ii->arena = c;
        }
        c->used += len;
        return c->data + c->used - len;
}

static char *
arena_strndup (struct index_internal *ii, const char *s, size_t len)
{
        char *p = arena_alloc (ii, len + 1);
        if (p == NULL)
                return NULL;
        memcpy (p, s, len);
        p[len] = '\0';
        return p;
}

static uint32_t
hash_name (const char *s, size_t len)
{
        uint32_t h = 2166136261u;       /* FNV-1a */
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) s[i];
                h *= 16777619u;
        }
        return h;
}

/* Slot of name, or -1. */
static int64_t
slot_lookup (const struct index_internal *ii, const char *name, size_t len)
{
        uint32_t h;

        if (ii == NULL || ii->cap == 0)
                return -1;
        h = hash_name (name, len);
        for (size_t i = h & (ii->cap - 1);; i = (i + 1) & (ii->cap - 1)) {
                const struct name_slot *s = &ii->slots[i];
                if (s->name == NULL)
                        return -1;
                if (s->hash == h && strncmp (s->name, name, len) == 0 && s->name[len] == '\0')
                        return (int64_t) i;
        }
}

static int
slots_grow (struct index_internal *ii)
{
        size_t cap = ii->cap ? ii->cap * 2 : 1024;
        struct name_slot *slots = calloc (cap, sizeof (*slots));

        if (slots == NULL)
                return -1;
        for (size_t i = 0; i < ii->cap; i++) {
                struct name_slot *s = &ii->slots[i];
                if (s->name == NULL)
                        continue;
                size_t j = s->hash & (cap - 1);
                while (slots[j].name)
                        j = (j + 1) & (cap - 1);
                slots[j] = *s;
        }
        /* Slots moved: the packages' slot numbers follow them. */
        free (ii->slots);
        ii->slots = slots;
        ii->cap = cap;
        return 0;
}

/* Slot of name, created when missing (the name is copied to the arena). */
static int64_t
slot_get (struct index_internal *ii, const char *name, size_t len)
{
        int64_t found = slot_lookup (ii, name, len);
        uint32_t h;
        size_t i;

        if (found >= 0)
                return found;
        if ((ii->used + 1) * 2 > ii->cap && slots_grow (ii) < 0)
                return -1;
        h = hash_name (name, len);
        for (i = h & (ii->cap - 1); ii->slots[i].name; i = (i + 1) & (ii->cap - 1))
                ;
        ii->slots[i].name = arena_strndup (ii, name, len);
        if (ii->slots[i].name == NULL)
                return -1;
        ii->slots[i].hash = h;
        ii->slots[i].head = -1;
        ii->used++;
        return (int64_t) i;
}

static int
add_candidate (struct index_internal *ii, const char *name, uint32_t pkg, const char *version,
               int is_provide)
{
        int64_t slot = slot_get (ii, name, strlen (name));
        struct candidate *c;

        if (slot < 0)
                return -1;
        if (ii->n_cands == ii->alloc_cands) {
                size_t alloc = ii->alloc_cands ? ii->alloc_cands * 2 : 4096;
                struct candidate *v = realloc (ii->cands, alloc * sizeof (*v));
                if (v == NULL)
                        return -1;
                ii->cands = v;
                ii->alloc_cands = alloc;
        }
        c = &ii->cands[ii->n_cands];
        c->pkg = pkg;
        c->provided_version = version;
        c->is_provide = is_provide;
        c->next = ii->slots[slot].head;
        ii->slots[slot].head = (int32_t) ii->n_cands++;
        return 0;
}

static int
index_package (struct deb_index *idx, struct index_internal *ii, uint32_t pkg)
{
        struct deb_package *p = &idx->pkgs[pkg];
        cleanup_rel_list struct rel_list provides = { 0 };

        /* Parsed first, so that a malformed field leaves nothing behind. */
        if (p->provides && rel_parse (p->provides, &provides) < 0)
                return -1;
        if (add_candidate (ii, p->name, pkg, NULL, 0) < 0)
                return -1;
        for (size_t i = 0; i < provides.n; i++) {
                const struct rel_alt *a = &provides.v[i];
                const char *version = NULL;
                /* Only "=" is meaningful in Provides; anything else is
                 * ignored as dpkg does. */
                if (a->op != OP_NONE && a->op != OP_EQ)
                        continue;
                if (a->version) {
                        version = arena_strndup (ii, a->version, strlen (a->version));
                        if (version == NULL)
                                return -1;
                }
                if (add_candidate (ii, a->name, pkg, version, 1) < 0)
                        return -1;
        }
        return 0;
}

enum field {
        F_OTHER, F_PACKAGE, F_VERSION, F_ARCH, F_FILENAME, F_SHA256, F_SIZE, F_DEPENDS,
        F_PRE_DEPENDS, F_PROVIDES, F_SOURCE, F_ESSENTIAL,
};

static enum field
field_of (const char *name, size_t len)
{
        static const struct {
                const char *name;
                enum field f;
        } fields[] = {
                { "Package", F_PACKAGE },           { "Version", F_VERSION },
                { "Architecture", F_ARCH },         { "Filename", F_FILENAME },
                { "SHA256", F_SHA256 },             { "Size", F_SIZE },
                { "Depends", F_DEPENDS },           { "Pre-Depends", F_PRE_DEPENDS },
                { "Provides", F_PROVIDES },         { "Source", F_SOURCE },
                { "Essential", F_ESSENTIAL },
        };
        for (size_t i = 0; i < sizeof (fields) / sizeof (fields[0]); i++)
                if (strlen (fields[i].name) == len && strncasecmp (fields[i].name, name, len) == 0)
                        return fields[i].f;
        return F_OTHER;
}

/* The parser's position in a Packages text. */
struct cursor {
        const char *p, *end;
        size_t lineno;
};

static const char *
line_end (const struct cursor *c)
{
        const char *e = memchr (c->p, '\n', (size_t) (c->end - c->p));
        return e ? e : c->end;
}

static void
next_line (struct cursor *c)
{
        const char *e = line_end (c);
        c->p = e < c->end ? e + 1 : e;
        c->lineno++;
}

static int
is_blank (const char *p, const char *e)
{
        for (; p < e; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r')
                        return 0;
        return 1;
}

/* The value of the field whose first line starts at value (up to the
 * line's end), joined with its continuation lines by single spaces and
 * trimmed.  Leaves the cursor after the field's last line. */
static char *
take_value (struct index_internal *ii, struct cursor *c, const char *value)
{
        const char *e = line_end (c);
        struct buf joined = BUF_INIT;
        char *out;

        next_line (c);
        if (c->p >= c->end || (*c->p != ' ' && *c->p != '\t')) {
                while (value < e && (*value == ' ' || *value == '\t'))
                        value++;
                while (e > value && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                        e--;
                return arena_strndup (ii, value, (size_t) (e - value));
        }
        /* Rare in Packages files: a relation field folded over lines. */
        if (buf_add (&joined, value, (size_t) (e - value)) < 0)
                goto oom;
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
                const char *start = c->p;
                e = line_end (c);
                while (start < e && (*start == ' ' || *start == '\t'))
                        start++;
                if (buf_add (&joined, " ", 1) < 0 || buf_add (&joined, start, (size_t) (e - start)) < 0)
                        goto oom;
                next_line (c);
        }
        {
                const char *s = joined.data, *t = joined.data + joined.len;
                while (s < t && isspace ((unsigned char) *s))
                        s++;
                while (t > s && isspace ((unsigned char) t[-1]))
                        t--;
                out = arena_strndup (ii, s, (size_t) (t - s));
        }
        buf_release (&joined);
        return out;
oom:
        buf_release (&joined);
        return NULL;
}

static char **
field_slot (struct deb_package *p, enum field f)
{
        switch (f) {
        case F_PACKAGE:
                return &p->name;
        case F_VERSION:
                return &p->version;
        case F_ARCH:
                return &p->arch;
        case F_FILENAME:
                return &p->filename;
        case F_SHA256:
                return &p->sha256;
        case F_DEPENDS:
                return &p->depends;
        case F_PRE_DEPENDS:
                return &p->pre_depends;
        case F_PROVIDES:
                return &p->provides;
        case F_SOURCE:
                return &p->source;
        default:
                return NULL;
        }
}

static int
finish_stanza (struct deb_index *idx, struct index_internal *ii, struct deb_package *p,
               const char *size, const char *essential, size_t line, pgimg_error_t *err)
{
        static const struct {
                size_t off;
                const char *name;
        } required[] = {
                { offsetof (struct deb_package, name), "Package" },
                { offsetof (struct deb_package, version), "Version" },
                { offsetof (struct deb_package, filename), "Filename" },
                { offsetof (struct deb_package, sha256), "SHA256" },
        };
        for (size_t i = 0; i < sizeof (required) / sizeof (required[0]); i++)
                if (*(char **) ((char *) p + required[i].off) == NULL)
                        return pgimg_make_error (err, EINVAL, "stanza at line %zu has no %s field",
                                                 line, required[i].name);
        if (!sha256_hex_valid (p->sha256))
                return pgimg_make_error (err, EINVAL, "stanza at line %zu (%s): invalid SHA256 `%s`",
                                         line, p->name, p->sha256);
        if (*p->name == '\0' || strpbrk (p->name, " \t,|()") != NULL)
                return pgimg_make_error (err, EINVAL, "stanza at line %zu: invalid package name `%s`",
                                         line, p->name);
        p->size = 0;
        if (size) {
                char *end;
                errno = 0;
                p->size = strtoull (size, &end, 10);
                if (errno || end == size || *end || *size == '-')
                        return pgimg_make_error (err, EINVAL, "stanza at line %zu (%s): invalid Size `%s`",
                                                 line, p->name, size);
        }
        p->essential = essential && strcasecmp (essential, "yes") == 0;
        if (p->arch == NULL)
                p->arch = arena_strndup (ii, "", 0);
        if (idx->n == idx->alloc) {
                size_t alloc = idx->alloc ? idx->alloc * 2 : 1024;
                struct deb_package *v = realloc (idx->pkgs, alloc * sizeof (*v));
                uint32_t *s = realloc (ii->pkg_slot, alloc * sizeof (*s));
                if (v)
                        idx->pkgs = v;
                if (s)
                        ii->pkg_slot = s;
                if (v == NULL || s == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "Packages index");
                idx->alloc = alloc;
        }
        if (idx->n >= UINT32_MAX)
                return pgimg_make_error (err, EFBIG, "Packages index: too many packages");
        idx->pkgs[idx->n] = *p;
        if (index_package (idx, ii, (uint32_t) idx->n) < 0) {
                if (errno == EINVAL)
                        return pgimg_make_error (err, EINVAL, "stanza at line %zu (%s): malformed Provides `%s`",
                                                 line, p->name, p->provides);
                /* Out of memory half-way: keep the package, so that no
                 * candidate points past the end. */
                idx->n++;
                return pgimg_make_error_errno (err, ENOMEM, "Packages index");
        }
        idx->n++;
        return 0;
}

static struct index_internal *
index_internal (struct deb_index *idx)
{
        if (idx->by_name == NULL)
                idx->by_name = calloc (1, sizeof (struct index_internal));
        return idx->by_name;
}

/* Every package's slot is looked up again once a Packages text is in:
 * slots move whenever the table grows. */
static void
refresh_pkg_slots (struct deb_index *idx, struct index_internal *ii)
{
        for (size_t i = 0; i < idx->n; i++)
                ii->pkg_slot[i] = (uint32_t) slot_lookup (ii, idx->pkgs[i].name, strlen (idx->pkgs[i].name));
}

int
deb_index_add (struct deb_index *idx, const char *text, size_t len, const char *base_url,
               const char *snapshot_url, pgimg_error_t *err)
{
        struct index_internal *ii = index_internal (idx);
        struct cursor c = { text, text + len, 1 };
        struct deb_package cur;
        const char *size = NULL, *essential = NULL;
        char *base = NULL, *snap = NULL;
        size_t stanza_line = 0;
        int in_stanza = 0;

        if (ii == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "Packages index");
        if (base_url && (base = arena_strndup (ii, base_url, strlen (base_url))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "Packages index");
        if (snapshot_url && (snap = arena_strndup (ii, snapshot_url, strlen (snapshot_url))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "Packages index");

        int ret = 0;

        while (ret == 0) {
                const char *e, *colon;
                enum field f;

                if (c.p >= c.end || is_blank (c.p, line_end (&c))) {
                        if (in_stanza) {
                                cur.base_url = base;
                                cur.snapshot_url = snap;
                                ret = finish_stanza (idx, ii, &cur, size, essential, stanza_line, err);
                                in_stanza = 0;
                        }
                        if (c.p >= c.end)
                                break;
                        next_line (&c);
                        continue;
                }
                e = line_end (&c);
                if ((*c.p == ' ' || *c.p == '\t') && in_stanza) {
                        next_line (&c);         /* of a field we do not keep */
                        continue;
                }
                if (*c.p == ' ' || *c.p == '\t') {
                        ret = pgimg_make_error (err, EINVAL, "line %zu: continuation line outside a field",
                                                c.lineno);
                        break;
                }
                colon = memchr (c.p, ':', (size_t) (e - c.p));
                if (colon == NULL || colon == c.p) {
                        ret = pgimg_make_error (err, EINVAL, "line %zu: expected `Field: value`", c.lineno);
                        break;
                }
                if (!in_stanza) {
                        memset (&cur, 0, sizeof (cur));
                        size = essential = NULL;
                        stanza_line = c.lineno;
                        in_stanza = 1;
                }
                f = field_of (c.p, (size_t) (colon - c.p));
                if (f == F_OTHER) {
                        next_line (&c);
                        continue;
                }
                size_t field_line = c.lineno;
                char *value = take_value (ii, &c, colon + 1);
                if (value == NULL) {
                        ret = pgimg_make_error_errno (err, ENOMEM, "Packages index");
                        break;
                }
                char **slot = field_slot (&cur, f);
                const char **other = f == F_SIZE ? &size : f == F_ESSENTIAL ? &essential : NULL;
                if ((slot && *slot) || (other && *other)) {
                        ret = pgimg_make_error (err, EINVAL, "line %zu: duplicate field", field_line);
                        break;
                }
                if (slot)
                        *slot = value;
                else
                        *other = value;
        }
        refresh_pkg_slots (idx, ii);
        return ret;
}

void
deb_index_free (struct deb_index *idx)
{
        struct index_internal *ii = idx->by_name;

        if (ii) {
                while (ii->arena) {
                        struct arena_chunk *next = ii->arena->next;
                        free (ii->arena);
                        ii->arena = next;
                }
                free (ii->slots);
                free (ii->cands);
                free (ii->pkg_slot);
                free (ii);
        }
        free (idx->pkgs);
        memset (idx, 0, sizeof (*idx));
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

struct selection {
        uint32_t pkg;
        int64_t parent;         /* index in sel, -1 for a root */
};

struct resolver {
        const struct deb_index *idx;
        const struct index_internal *ii;
        int64_t *chosen;        /* by name slot: the package chosen, -1 */
        const char **pins;      /* by name slot: the preferred version, or NULL */
        struct selection *sel;
        size_t n_sel, alloc_sel;
};

static const char *
pkg_version (const struct resolver *r, uint32_t pkg)
{
        return r->idx->pkgs[pkg].version;
}

static int
candidate_satisfies (const struct resolver *r, const struct candidate *c, const struct rel_alt *alt)
{
        if (!c->is_provide)
                return version_satisfies (pkg_version (r, c->pkg), alt->op, alt->version);
        /* An unversioned Provides satisfies only unversioned relations. */
        if (alt->op == OP_NONE)
                return 1;
        return c->provided_version && version_satisfies (c->provided_version, alt->op, alt->version);
}

/* An already chosen package that satisfies alt, or -1. */
static int64_t
chosen_satisfying (const struct resolver *r, const struct rel_alt *alt)
{
        int64_t slot = slot_lookup (r->ii, alt->name, strlen (alt->name));

        if (slot < 0)
                return -1;
        for (int32_t i = r->ii->slots[slot].head; i >= 0; i = r->ii->cands[i].next) {
                const struct candidate *c = &r->ii->cands[i];
                if (r->chosen[r->ii->pkg_slot[c->pkg]] == c->pkg && candidate_satisfies (r, c, alt))
                        return c->pkg;
        }
        return -1;
}

/* Whether package a is preferred to package b of the same name: the
 * pinned version, else the highest, else the first indexed. */
static int
preferred (const struct resolver *r, uint32_t a, uint32_t b)
{
        const char *pin = r->pins ? r->pins[r->ii->pkg_slot[a]] : NULL;
        int c;

        if (pin) {
                int a_pinned = strcmp (pkg_version (r, a), pin) == 0;
                int b_pinned = strcmp (pkg_version (r, b), pin) == 0;
                if (a_pinned != b_pinned)
                        return a_pinned;
        }
        c = deb_version_compare (pkg_version (r, a), pkg_version (r, b));
        if (c)
                return c > 0;
        return a < b;
}

/* The package to choose for alt when nothing chosen satisfies it, or -1:
 * the name itself when a version of it fits, else the provider with the
 * lowest name.  A name already chosen at another version is not
 * reconsidered: one name, one version. */
static int64_t
pick_candidate (const struct resolver *r, const struct rel_alt *alt)
{
        int64_t slot = slot_lookup (r->ii, alt->name, strlen (alt->name));
        int64_t best = -1;

        if (slot < 0)
                return -1;
        for (int32_t i = r->ii->slots[slot].head; i >= 0; i = r->ii->cands[i].next) {
                const struct candidate *c = &r->ii->cands[i];
                if (c->is_provide || r->chosen[r->ii->pkg_slot[c->pkg]] >= 0
                    || !candidate_satisfies (r, c, alt))
                        continue;
                if (best < 0 || preferred (r, c->pkg, (uint32_t) best))
                        best = c->pkg;
        }
        if (best >= 0)
                return best;
        for (int32_t i = r->ii->slots[slot].head; i >= 0; i = r->ii->cands[i].next) {
                const struct candidate *c = &r->ii->cands[i];
                if (!c->is_provide || r->chosen[r->ii->pkg_slot[c->pkg]] >= 0
                    || !candidate_satisfies (r, c, alt))
                        continue;
                if (best >= 0) {
                        int by_name = strcmp (r->idx->pkgs[c->pkg].name, r->idx->pkgs[best].name);
                        if (by_name > 0 || (by_name == 0 && !preferred (r, c->pkg, (uint32_t) best)))
                                continue;
                }
                best = c->pkg;
        }
        return best;
}

static int
select_package (struct resolver *r, uint32_t pkg, int64_t parent)
{
        if (r->n_sel == r->alloc_sel) {
                size_t alloc = r->alloc_sel ? r->alloc_sel * 2 : 256;
                struct selection *v = realloc (r->sel, alloc * sizeof (*v));
                if (v == NULL)
                        return -1;
                r->sel = v;
                r->alloc_sel = alloc;
        }
        r->sel[r->n_sel].pkg = pkg;
        r->sel[r->n_sel].parent = parent;
        r->n_sel++;
        r->chosen[r->ii->pkg_slot[pkg]] = pkg;
        return 0;
}

static void
add_alt_text (struct buf *b, const struct rel_alt *alt)
{
        buf_adds (b, alt->name);
        if (alt->op != OP_NONE)
                buf_addf (b, " (%s %s)", op_text[alt->op], alt->version);
}

/* "gcc -> cpp -> libmpc3 (>= 1.1)", and why each alternative failed
 * when that is not plain absence. */
static int
unsatisfiable (const struct resolver *r, int64_t parent, const struct rel_alt *alts, size_t n,
               pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        int64_t chain[256];
        size_t depth = 0;

        for (int64_t s = parent; s >= 0 && depth < 256; s = r->sel[s].parent)
                chain[depth++] = s;
        while (depth > 0)
                buf_addf (&b, "%s -> ", r->idx->pkgs[r->sel[chain[--depth]].pkg].name);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        buf_adds (&b, " | ");
                add_alt_text (&b, &alts[i]);
        }
        for (size_t i = 0; i < n; i++) {
                int64_t slot = slot_lookup (r->ii, alts[i].name, strlen (alts[i].name));
                if (slot < 0 || r->ii->slots[slot].head < 0)
                        buf_addf (&b, "; no package `%s`", alts[i].name);
                else if (r->chosen[slot] >= 0)
                        buf_addf (&b, "; %s %s is already chosen", alts[i].name,
                                  pkg_version (r, (uint32_t) r->chosen[slot]));
                else
                        buf_addf (&b, "; no version of `%s` fits", alts[i].name);
        }
        if (b.data == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "dependency resolution");
        return pgimg_make_error (err, ENOENT, "unsatisfiable dependency: %s", b.data);
}

/* Satisfy one "a | b" group on behalf of sel[parent]: an alternative
 * already chosen wins, else the first that can be chosen. */
static int
satisfy_group (struct resolver *r, const struct rel_alt *alts, size_t n, int64_t parent,
               pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++)
                if (chosen_satisfying (r, &alts[i]) >= 0)
                        return 0;
        for (size_t i = 0; i < n; i++) {
                int64_t pkg = pick_candidate (r, &alts[i]);
                if (pkg < 0)
                        continue;
                if (select_package (r, (uint32_t) pkg, parent) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "dependency resolution");
                return 0;
        }
        return unsatisfiable (r, parent, alts, n, err);
}

static int
satisfy_field (struct resolver *r, const char *field, const char *field_name, int64_t parent,
               pgimg_error_t *err)
{
        cleanup_rel_list struct rel_list l = { 0 };

        if (field == NULL)
                return 0;
        if (rel_parse (field, &l) < 0) {
                const char *who = parent >= 0 ? r->idx->pkgs[r->sel[parent].pkg].name : "roots";
                if (errno == EINVAL)
                        return pgimg_make_error (err, EINVAL, "%s: malformed %s `%s`", who, field_name, field);
                return pgimg_make_error_errno (err, errno, "%s: %s", who, field_name);
        }
        for (size_t i = 0; i < l.n;) {
                size_t n = 1;
                while (i + n < l.n && !l.v[i + n].starts_group)
                        n++;
                if (satisfy_group (r, &l.v[i], n, parent, err) < 0)
                        return -1;
                i += n;
        }
        return 0;
}

static int
cmp_by_name (const void *a, const void *b, void *opaque)
{
        const struct deb_index *idx = opaque;
        const struct deb_package *x = &idx->pkgs[*(const size_t *) a];
        const struct deb_package *y = &idx->pkgs[*(const size_t *) b];
        return strcmp (x->name, y->name);
}

int
deb_resolve_pinned (const struct deb_index *idx, const char *const *roots, size_t n_roots,
                    const char *const *pin_names, const char *const *pin_versions, size_t n_pins,
                    size_t **out, size_t *n_out, pgimg_error_t *err)
{
        struct index_internal *ii = idx->by_name;
        struct resolver r = { idx, ii, NULL, NULL, NULL, 0, 0 };
        size_t cap = ii ? ii->cap : 0;
        size_t *result = NULL;
        int ret = -1;

        *out = NULL;
        *n_out = 0;
        r.chosen = malloc ((cap ? cap : 1) * sizeof (*r.chosen));
        if (n_pins)
                r.pins = calloc (cap ? cap : 1, sizeof (*r.pins));
        if (r.chosen == NULL || (n_pins && r.pins == NULL)) {
                ret = pgimg_make_error_errno (err, ENOMEM, "dependency resolution");
                goto out;
        }
        for (size_t i = 0; i < cap; i++)
                r.chosen[i] = -1;
        for (size_t i = 0; i < n_pins; i++) {
                int64_t slot = slot_lookup (ii, pin_names[i], strlen (pin_names[i]));
                if (slot >= 0)
                        r.pins[slot] = pin_versions[i];
        }
        /* Roots are relation expressions too: "a", "a | b", "a (>= 2)". */
        for (size_t i = 0; i < n_roots; i++)
                if (satisfy_field (&r, roots[i], "root", -1, err) < 0)
                        goto out;
        /* Breadth first, in the order packages were chosen: the same
         * input always gives the same choices. */
        for (size_t i = 0; i < r.n_sel; i++) {
                const struct deb_package *p = &idx->pkgs[r.sel[i].pkg];
                if (satisfy_field (&r, p->pre_depends, "Pre-Depends", (int64_t) i, err) < 0
                    || satisfy_field (&r, p->depends, "Depends", (int64_t) i, err) < 0)
                        goto out;
        }
        result = malloc ((r.n_sel ? r.n_sel : 1) * sizeof (*result));
        if (result == NULL) {
                ret = pgimg_make_error_errno (err, ENOMEM, "dependency resolution");
                goto out;
        }
        for (size_t i = 0; i < r.n_sel; i++)
                result[i] = r.sel[i].pkg;
        qsort_r (result, r.n_sel, sizeof (*result), cmp_by_name, (void *) idx);
        *out = result;
        *n_out = r.n_sel;
        ret = 0;
out:
        free (r.chosen);
        free (r.pins);
        free (r.sel);
        return ret;
}

int
deb_resolve (const struct deb_index *idx, const char *const *roots, size_t n_roots, size_t **out,
             size_t *n_out, pgimg_error_t *err)
{
        return deb_resolve_pinned (idx, roots, n_roots, NULL, NULL, 0, out, n_out, err);
}

/* ------------------------------------------------------------------ */
/* Reading .deb files: an ar archive whose members are tar archives     */

static int
pgimg_error_from_archive (pgimg_error_t *err, struct archive *a, const char *what, const char *path)
{
        const char *msg = a ? archive_error_string (a) : NULL;
        int e = a ? archive_errno (a) : 0;
        return pgimg_make_error (err, e > 0 ? e : EIO, "%s `%s`: %s", what, path,
                                 msg ? msg : "unreadable archive");
}

/* A member of the outer ar archive, read as an archive of its own. */
struct deb_member {
        struct archive *outer;
        struct archive *inner;
        char block[65536];
};

static la_ssize_t
member_read (struct archive *inner, void *opaque, const void **data)
{
        struct deb_member *m = opaque;
        la_ssize_t n = archive_read_data (m->outer, m->block, sizeof (m->block));

        if (n < 0) {
                archive_set_error (inner, archive_errno (m->outer), "%s",
                                   archive_error_string (m->outer));
                return -1;
        }
        *data = m->block;
        return n;
}

static void
deb_member_close (struct deb_member **mp)
{
        struct deb_member *m = *mp;
        if (m == NULL)
                return;
        if (m->inner)
                archive_read_free (m->inner);
        if (m->outer)
                archive_read_free (m->outer);
        free (m);
        *mp = NULL;
}
#define cleanup_deb_member __attribute__ ((cleanup (deb_member_close)))

/* Open the member named "<prefix>" or "<prefix>.<compression>" of the
 * .deb at path and position m->inner before its first entry. */
static int
deb_member_open (const char *path, const char *prefix, struct deb_member **out, pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = calloc (1, sizeof (*m));
        struct archive_entry *e;
        size_t plen = strlen (prefix);
        int r;

        if (m == NULL || (m->outer = archive_read_new ()) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_format_ar (m->outer);
        if (archive_read_open_filename (m->outer, path, 65536) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, m->outer, "open", path);
        for (;;) {
                r = archive_read_next_header (m->outer, &e);
                if (r == ARCHIVE_EOF)
                        return pgimg_make_error (err, ENOENT, "`%s` has no %s member", path, prefix);
                if (r != ARCHIVE_OK)
                        return pgimg_error_from_archive (err, m->outer, "read", path);
                const char *name = archive_entry_pathname (e);
                if (name && strncmp (name, prefix, plen) == 0 && (name[plen] == '\0' || name[plen] == '.'))
                        break;
        }
        m->inner = archive_read_new ();
        if (m->inner == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_filter_gzip (m->inner);
        archive_read_support_filter_xz (m->inner);
        archive_read_support_filter_zstd (m->inner);
        archive_read_support_format_tar (m->inner);
        if (archive_read_open (m->inner, m, NULL, member_read, NULL) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, m->inner, "read the data of", path);
        *out = steal_pointer (&m);
        return 0;
}

/* A tar path made relative to the root ("./usr/bin/x" -> "usr/bin/x"),
 * or NULL with errno EINVAL for a ".." component (EEXIST for the root
 * itself).  Caller frees. */
static char *
normalize_path (const char *path)
{
        struct buf b = BUF_INIT;
        const char *p = path;

        while (*p) {
                const char *e = strchr (p, '/');
                size_t len = e ? (size_t) (e - p) : strlen (p);
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        buf_release (&b);
                        errno = EINVAL;
                        return NULL;
                }
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if ((b.len && buf_add (&b, "/", 1) < 0) || buf_add (&b, p, len) < 0) {
                                buf_release (&b);
                                return NULL;
                        }
                }
                p += len;
                if (*p == '/')
                        p++;
        }
        if (b.len == 0) {
                buf_release (&b);
                errno = EEXIST;
                return NULL;
        }
        return buf_detach (&b, NULL);
}

static const char *const merged_dirs[] = { "bin", "sbin", "lib", "lib64", "lib32", "libx32" };

/* Merged /usr: "bin/x" -> "usr/bin/x".  *dropped is set for the merged
 * directories themselves, which root_dir has as links. */
static char *
merge_usr (char *rel, int *dropped)
{
        *dropped = 0;
        for (size_t i = 0; i < sizeof (merged_dirs) / sizeof (merged_dirs[0]); i++) {
                size_t len = strlen (merged_dirs[i]);
                if (strncmp (rel, merged_dirs[i], len) != 0)
                        continue;
                if (rel[len] == '\0') {
                        *dropped = 1;
                        return rel;
                }
                if (rel[len] == '/') {
                        char *out = NULL;
                        if (asprintf (&out, "usr/%s", rel) < 0)
                                out = NULL;
                        free (rel);
                        return out;
                }
        }
        return rel;
}

static int
matches_any (const char *const *patterns, const char *rel)
{
        if (patterns == NULL)
                return 0;
        for (size_t i = 0; patterns[i]; i++) {
                /* dpkg spells patterns from "/", rel has no leading "/".
                 * Without FNM_PATHNAME a "*" also matches "/", as in dpkg. */
                const char *pat = patterns[i][0] == '/' ? patterns[i] + 1 : patterns[i];
                if (fnmatch (pat, rel, 0) == 0)
                        return 1;
        }
        return 0;
}

static int
excluded (const struct deb_unpack_opts *opts, const char *rel)
{
        if (opts == NULL || !matches_any (opts->exclude, rel))
                return 0;
        return !matches_any (opts->include, rel);
}

/* ------------------------------------------------------------------ */
/* Writing into root_dir without ever leaving it                       */

/* Make room for a new non-directory entry: later packages win. */
static int
remove_existing (int dirfd, const char *name)
{
        struct stat st;

        if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -1;
        return unlinkat (dirfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0);
}

static int
write_regular (struct archive *a, int dirfd, const char *name, mode_t mode, const char *deb_path,
               const char *rel, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;
        const void *block;
        size_t size;
        la_int64_t offset, end = 0;
        int r;

        if (remove_existing (dirfd, name) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: replace `%s`", deb_path, rel);
        fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: create `%s`", deb_path, rel);
        while ((r = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK) {
                /* Sparse entries: holes are the gaps between offsets. */
                const char *p = block;
                while (size > 0) {
                        ssize_t n = pwrite (fd, p, size, offset);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return pgimg_make_error_errno (err, errno, "`%s`: write `%s`", deb_path, rel);
                        p += n;
                        size -= (size_t) n;
                        offset += n;
                }
                if (offset > end)
                        end = offset;
        }
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, a, "read", deb_path);
        if (ftruncate (fd, end) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: write `%s`", deb_path, rel);
        if (fchmod (fd, mode) < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: chmod `%s`", deb_path, rel);
        return 0;
}

static int
write_dir (int dirfd, const char *name, mode_t mode)
{
        struct stat st;
        cleanup_fd int fd = -1;

        if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                /* A link to a directory stays (dpkg does the same): what
                 * goes below it lands in the directory it points to. */
                if (S_ISLNK (st.st_mode))
                        return 0;
                if (!S_ISDIR (st.st_mode) && unlinkat (dirfd, name, 0) < 0)
                        return -1;
        } else if (errno != ENOENT) {
                return -1;
        }
        if (mkdirat (dirfd, name, 0700) < 0 && errno != EEXIST)
                return -1;
        fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -1;
        return fchmod (fd, mode);
}

/* The unpacking state of one .deb. */
struct unpack {
        const char *deb_path;
        int rootfd;
        const struct deb_unpack_opts *opts;
};

static int
record_owner (const struct unpack *u, const char *rel, struct archive_entry *e, mode_t disk_mode,
              pgimg_error_t *err)
{
        struct owner_map *owners = u->opts ? u->opts->owners : NULL;
        uint32_t uid = (uint32_t) archive_entry_uid (e);
        uint32_t gid = (uint32_t) archive_entry_gid (e);
        mode_t perm = archive_entry_perm (e) & 07777;

        if (owners == NULL)
                return 0;
        /* A link's mode means nothing: only its owner is worth keeping. */
        if (archive_entry_filetype (e) == AE_IFLNK)
                perm = disk_mode = 0755;
        /* A path seen before keeps its entry up to date even when the
         * later package's is ordinary. */
        if (uid == 0 && gid == 0 && (perm & ~(mode_t) 0755) == 0 && perm == disk_mode
            && owner_map_get (owners, rel) == NULL)
                return 0;
        return owner_map_set (owners, rel, uid, gid, perm, err);
}

static int
unpack_entry (struct unpack *u, struct archive *a, struct archive_entry *e, pgimg_error_t *err)
{
        const char *path = archive_entry_pathname (e);
        const char *hardlink = archive_entry_hardlink (e);
        cleanup_free char *rel = NULL;
        cleanup_fd int dirfd = -1;
        char name[NAME_MAX + 1];
        mode_t perm = archive_entry_perm (e) & 07777;
        mode_t disk_mode;
        int dropped;

        if (path == NULL)
                return pgimg_make_error (err, EINVAL, "`%s`: an entry has no name", u->deb_path);
        rel = normalize_path (path);
        if (rel == NULL && errno == EEXIST)
                return 0;       /* "./" */
        if (rel == NULL && errno == EINVAL)
                return pgimg_make_error (err, EINVAL, "`%s`: refusing `%s`, which leaves the root",
                                         u->deb_path, path);
        if (rel == NULL || (rel = merge_usr (rel, &dropped)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", u->deb_path);
        if (dropped || excluded (u->opts, rel))
                return 0;

        dirfd = resolve_open_parent (u->rootfd, rel, 1, 0755, name);
        if (dirfd < 0)
                return pgimg_make_error_errno (err, errno, "`%s`: parent of `%s`", u->deb_path, rel);

        if (hardlink) {
                cleanup_free char *target = normalize_path (hardlink);
                cleanup_fd int tdirfd = -1;
                char tname[NAME_MAX + 1];
                if (target == NULL && errno != ENOMEM)
                        return pgimg_make_error (err, EINVAL, "`%s`: refusing link `%s` to `%s`",
                                                 u->deb_path, path, hardlink);
                if (target == NULL || (target = merge_usr (target, &dropped)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", u->deb_path);
                if (excluded (u->opts, target))
                        return 0;
                tdirfd = resolve_open_parent (u->rootfd, target, 0, 0, tname);
                if (tdirfd < 0 || remove_existing (dirfd, name) < 0
                    || linkat (tdirfd, tname, dirfd, name, 0) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: link `%s` to `%s`",
                                                       u->deb_path, rel, target);
                return record_owner (u, rel, e, (perm & 0777) | 0400, err);
        }

        /* Set-id and sticky bits never reach the disk of a rootless
         * build; the owner map carries them to the layer. */
        disk_mode = perm & 0777;
        switch (archive_entry_filetype (e)) {
        case AE_IFDIR:
                disk_mode |= 0700;      /* we must be able to fill it */
                if (write_dir (dirfd, name, disk_mode) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: directory `%s`", u->deb_path, rel);
                break;
        case AE_IFREG:
                disk_mode |= 0400;      /* and the layer writer to read it */
                if (write_regular (a, dirfd, name, disk_mode, u->deb_path, rel, err) < 0)
                        return -1;
                break;
        case AE_IFLNK: {
                const char *target = archive_entry_symlink (e);
                if (target == NULL)
                        return pgimg_make_error (err, EINVAL, "`%s`: link `%s` has no target", u->deb_path, rel);
                if (remove_existing (dirfd, name) < 0 || symlinkat (target, dirfd, name) < 0)
                        return pgimg_make_error_errno (err, errno, "`%s`: symlink `%s`", u->deb_path, rel);
                break;
        }
        default:
                /* Devices and fifos cannot be made without privileges and
                 * no package pgimg installs ships one. */
                return 0;
        }
        return record_owner (u, rel, e, disk_mode, err);
}

/* bin -> usr/bin and the like, unless root_dir already has something
 * there. */
static int
make_merged_usr_links (int rootfd, const char *root_dir, pgimg_error_t *err)
{
        if (mkdirat (rootfd, "usr", 0755) < 0 && errno != EEXIST)
                return pgimg_make_error_errno (err, errno, "mkdir `%s/usr`", root_dir);
        for (size_t i = 0; i < 4; i++) {
                char target[32];
                struct stat st;
                snprintf (target, sizeof (target), "usr/%s", merged_dirs[i]);
                if (fstatat (rootfd, merged_dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
                        continue;
                if (errno != ENOENT)
                        return pgimg_make_error_errno (err, errno, "`%s/%s`", root_dir, merged_dirs[i]);
                /* In the root even if an earlier package made usr a symlink. */
                int fd = resolve_mkdir_p (rootfd, target, 0755);
                if (fd < 0)
                        return pgimg_make_error_errno (err, errno, "mkdir `%s/%s`", root_dir, target);
                close (fd);
                if (symlinkat (target, rootfd, merged_dirs[i]) < 0)
                        return pgimg_make_error_errno (err, errno, "symlink `%s/%s`", root_dir,
                                                       merged_dirs[i]);
        }
        return 0;
}

int
deb_unpack (const char *deb_path, const char *root_dir, const struct deb_unpack_opts *opts,
            pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = NULL;
        cleanup_fd int rootfd = -1;
        struct archive_entry *e;
        struct unpack u;
        int r;

        if (fs_mkdir_p (root_dir, 0755, err) < 0)
                return -1;
        rootfd = open (root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root_dir);
        if (make_merged_usr_links (rootfd, root_dir, err) < 0)
                return -1;
        if (deb_member_open (deb_path, "data.tar", &m, err) < 0)
                return -1;
        u.deb_path = deb_path;
        u.rootfd = rootfd;
        u.opts = opts;
        while ((r = archive_read_next_header (m->inner, &e)) == ARCHIVE_OK)
                if (unpack_entry (&u, m->inner, e, err) < 0)
                        return -1;
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, m->inner, "read", deb_path);
        return 0;
}

#define CONTROL_MAX_BYTES (1u << 20)

int
deb_read_control (const char *deb_path, struct buf *out, pgimg_error_t *err)
{
        cleanup_deb_member struct deb_member *m = NULL;
        struct archive_entry *e;
        int r;

        if (deb_member_open (deb_path, "control.tar", &m, err) < 0)
                return -1;
        while ((r = archive_read_next_header (m->inner, &e)) == ARCHIVE_OK) {
                const char *path = archive_entry_pathname (e);
                cleanup_free char *rel = path ? normalize_path (path) : NULL;
                char block[16384];
                la_ssize_t n;
                size_t total = 0;

                if (rel == NULL || strcmp (rel, "control") != 0
                    || archive_entry_filetype (e) != AE_IFREG)
                        continue;
                while ((n = archive_read_data (m->inner, block, sizeof (block))) > 0) {
                        total += (size_t) n;
                        if (total > CONTROL_MAX_BYTES)
                                return pgimg_make_error (err, EFBIG, "`%s`: control file larger than %u bytes",
                                                         deb_path, CONTROL_MAX_BYTES);
                        if (buf_add (out, block, (size_t) n) < 0)
                                return pgimg_make_error_errno (err, errno, "`%s`: control file", deb_path);
                }
                if (n < 0)
                        return pgimg_error_from_archive (err, m->inner, "read", deb_path);
                return 0;
        }
        if (r != ARCHIVE_EOF)
                return pgimg_error_from_archive (err, m->inner, "read", deb_path);
        return pgimg_make_error (err, ENOENT, "`%s` has no control file", deb_path);
}

/* Uncompressed, a Packages file of one component is ~60 MiB today. */
#define INDEX_MAX_BYTES ((size_t) 1 << 30)

int
deb_index_add_file (struct deb_index *idx, const char *path, const char *base_url,
                    const char *snapshot_url, pgimg_error_t *err)
{
        struct archive *a = archive_read_new ();
        struct archive_entry *e;
        struct buf text = BUF_INIT_MAX (INDEX_MAX_BYTES);
        char block[65536];
        la_ssize_t n;
        int ret = -1;

        if (a == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_filter_gzip (a);
        archive_read_support_filter_xz (a);
        archive_read_support_filter_zstd (a);
        archive_read_support_format_raw (a);
        if (archive_read_open_filename (a, path, 65536) != ARCHIVE_OK
            || archive_read_next_header (a, &e) != ARCHIVE_OK) {
                ret = pgimg_error_from_archive (err, a, "read", path);
                goto out;
        }
        while ((n = archive_read_data (a, block, sizeof (block))) > 0)
                if (buf_add (&text, block, (size_t) n) < 0) {
                        ret = pgimg_make_error_errno (err, errno, "read `%s`", path);
                        goto out;
                }
        if (n < 0) {
                ret = pgimg_error_from_archive (err, a, "read", path);
                goto out;
        }
        ret = deb_index_add (idx, text.data ? text.data : "", text.len, base_url, snapshot_url, err);
        if (ret < 0)
                pgimg_error_wrap (err, "`%s`", path);
out:
        buf_release (&text);
        archive_read_free (a);
        return ret;
}
