/* deb_index.c - Packages indexes: parsing, and lookups by name.
 *
 * The index keeps every string in an arena owned by the index (one
 * Packages file of trixie main is ~65k stanzas; one allocation per field
 * would dominate the parse) and a hash table from each name, real or
 * provided, to the chain of packages that answer to it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb_index.h"
#include "builder/deb_version.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/libarchive.h"
#include "common/sha256.h"

/* ------------------------------------------------------------------ */
/* The index                                                           */

struct arena_chunk {
        struct arena_chunk *next;
        size_t used, size;
        char data[];
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
        struct deb_candidate *cands;
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
        struct deb_candidate *c;

        if (slot < 0)
                return -1;
        if (ii->n_cands == ii->alloc_cands) {
                size_t alloc = ii->alloc_cands ? ii->alloc_cands * 2 : 4096;
                struct deb_candidate *v = realloc (ii->cands, alloc * sizeof (*v));
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
        cleanup_deb_rel_list struct deb_rel_list provides = { 0 };

        /* Parsed first, so that a malformed field leaves nothing behind. */
        if (p->provides && deb_rel_parse (p->provides, &provides) < 0)
                return -1;
        if (add_candidate (ii, p->name, pkg, NULL, 0) < 0)
                return -1;
        for (size_t i = 0; i < provides.n; i++) {
                const struct deb_rel_alt *a = &provides.v[i];
                const char *version = NULL;
                /* Only "=" is meaningful in Provides; anything else is
                 * ignored as dpkg does. */
                if (a->op != DEB_REL_NONE && a->op != DEB_REL_EQ)
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

/* value becomes field f of p; Size and Essential are kept aside as text
 * until the stanza ends. */
static int
store_field (struct deb_package *p, enum field f, char *value, const char **size,
             const char **essential, size_t line, pgimg_error_t *err)
{
        char **slot = field_slot (p, f);
        const char **other = f == F_SIZE ? size : f == F_ESSENTIAL ? essential : NULL;

        if ((slot && *slot) || (other && *other))
                return pgimg_make_error (err, EINVAL, "line %zu: duplicate field", line);
        if (slot)
                *slot = value;
        else
                *other = value;
        return 0;
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
                ret = store_field (&cur, f, value, &size, &essential, field_line, err);
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

/* ---- Lookups for the resolver ---- */

int64_t
deb_index_slot (const struct deb_index *idx, const char *name)
{
        return slot_lookup (idx->by_name, name, strlen (name));
}

size_t
deb_index_slot_count (const struct deb_index *idx)
{
        const struct index_internal *ii = idx->by_name;

        return ii ? ii->cap : 0;
}

uint32_t
deb_index_pkg_slot (const struct deb_index *idx, uint32_t pkg)
{
        const struct index_internal *ii = idx->by_name;

        return ii->pkg_slot[pkg];
}

int32_t
deb_index_first (const struct deb_index *idx, int64_t slot)
{
        const struct index_internal *ii = idx->by_name;

        return ii->slots[slot].head;
}

const struct deb_candidate *
deb_index_candidate (const struct deb_index *idx, int32_t i)
{
        const struct index_internal *ii = idx->by_name;

        return &ii->cands[i];
}

/* ------------------------------------------------------------------ */
/* Packages files on disk                                              */

/* Uncompressed, a Packages file of one component is ~60 MiB today. */
#define INDEX_MAX_BYTES ((size_t) 1 << 30)

int
deb_index_add_file (struct deb_index *idx, const char *path, const char *base_url,
                    const char *snapshot_url, pgimg_error_t *err)
{
        cleanup_archive struct archive *a = archive_read_new ();
        struct archive_entry *e;
        cleanup_buf struct buf text = BUF_INIT_MAX (INDEX_MAX_BYTES);
        char block[65536];
        la_ssize_t n;

        if (a == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s`", path);
        archive_read_support_filter_gzip (a);
        archive_read_support_filter_xz (a);
        archive_read_support_filter_zstd (a);
        archive_read_support_format_raw (a);
        if (archive_read_open_filename (a, path, 65536) != ARCHIVE_OK
            || archive_read_next_header (a, &e) != ARCHIVE_OK)
                return pgimg_error_from_archive (err, a, "read `%s`", path);
        while ((n = archive_read_data (a, block, sizeof (block))) > 0)
                if (buf_add (&text, block, (size_t) n) < 0)
                        return pgimg_make_error_errno (err, errno, "read `%s`", path);
        if (n < 0)
                return pgimg_error_from_archive (err, a, "read `%s`", path);
        if (deb_index_add (idx, text.data ? text.data : "", text.len, base_url, snapshot_url, err) < 0)
                return pgimg_error_wrap (err, "`%s`", path);
        return 0;
}
