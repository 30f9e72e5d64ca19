/* deb_version.h - Debian version ordering (policy 5.6.12) and relation
 * fields ("a (>= 1) | b:any, c"), as Packages files and recipes use them.
 * Names start with deb_version_ and deb_rel_.
 */
#ifndef PGIMG_DEB_VERSION_H
#define PGIMG_DEB_VERSION_H

#include <stddef.h>

/* Debian policy 5.6.12 ordering: <0, 0, >0. */
int deb_version_compare (const char *a, const char *b);

enum deb_rel_op { DEB_REL_NONE, DEB_REL_LT, DEB_REL_LE, DEB_REL_EQ, DEB_REL_GE, DEB_REL_GT };

/* "<<", "<=", "=", ">=", ">>"; "" for DEB_REL_NONE.  Static storage. */
const char *deb_rel_op_text (enum deb_rel_op op);

/* have satisfies "(op want)"; always with DEB_REL_NONE. */
int deb_version_satisfies (const char *have, enum deb_rel_op op, const char *want);

struct deb_rel_alt {
        char *name;
        char *version;          /* NULL with DEB_REL_NONE */
        enum deb_rel_op op;
        int starts_group;       /* first alternative of an "a | b" group */
};

struct deb_rel_list {
        char *copy;             /* the field, cut in place */
        struct deb_rel_alt *v;
        size_t n, alloc;
};

/* Parse a relation field into l (zero-initialized; its strings point
 * into l->copy).  Architecture qualifiers and restriction lists are
 * dropped.  An empty field gives an empty list; -1 with errno EINVAL on
 * a malformed one, ENOMEM when out of memory.  Free with
 * deb_rel_list_free in both cases. */
int deb_rel_parse (const char *field, struct deb_rel_list *l);
/* Frees what l holds; l is zeroed. */
void deb_rel_list_free (struct deb_rel_list *l);
#define cleanup_deb_rel_list __attribute__ ((cleanup (deb_rel_list_free)))

#endif
