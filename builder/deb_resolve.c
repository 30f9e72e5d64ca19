/* deb_resolve.c - the closure of a set of packages over their
 * dependencies, in one Packages index. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/deb_index.h"
#include "builder/deb_resolve.h"
#include "builder/deb_version.h"
#include "common/buf.h"
#include "common/cleanup.h"

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

struct selection {
        uint32_t pkg;
        int64_t parent;         /* index in sel, -1 for a root */
};

struct resolver {
        const struct deb_index *idx;
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
candidate_satisfies (const struct resolver *r, const struct deb_candidate *c, const struct deb_rel_alt *alt)
{
        if (!c->is_provide)
                return deb_version_satisfies (pkg_version (r, c->pkg), alt->op, alt->version);
        /* An unversioned Provides satisfies only unversioned relations. */
        if (alt->op == DEB_REL_NONE)
                return 1;
        return c->provided_version && deb_version_satisfies (c->provided_version, alt->op, alt->version);
}

/* An already chosen package that satisfies alt, or -1. */
static int64_t
chosen_satisfying (const struct resolver *r, const struct deb_rel_alt *alt)
{
        int64_t slot = deb_index_slot (r->idx, alt->name);

        if (slot < 0)
                return -1;
        for (int32_t i = deb_index_first (r->idx, slot); i >= 0; i = deb_index_candidate (r->idx, i)->next) {
                const struct deb_candidate *c = deb_index_candidate (r->idx, i);
                if (r->chosen[deb_index_pkg_slot (r->idx, c->pkg)] == c->pkg && candidate_satisfies (r, c, alt))
                        return c->pkg;
        }
        return -1;
}

/* Whether package a is preferred to package b of the same name: the
 * pinned version, else the highest, else the first indexed. */
static int
preferred (const struct resolver *r, uint32_t a, uint32_t b)
{
        const char *pin = r->pins ? r->pins[deb_index_pkg_slot (r->idx, a)] : NULL;
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
pick_candidate (const struct resolver *r, const struct deb_rel_alt *alt)
{
        int64_t slot = deb_index_slot (r->idx, alt->name);
        int64_t best = -1;

        if (slot < 0)
                return -1;
        for (int32_t i = deb_index_first (r->idx, slot); i >= 0; i = deb_index_candidate (r->idx, i)->next) {
                const struct deb_candidate *c = deb_index_candidate (r->idx, i);
                if (c->is_provide || r->chosen[deb_index_pkg_slot (r->idx, c->pkg)] >= 0
                    || !candidate_satisfies (r, c, alt))
                        continue;
                if (best < 0 || preferred (r, c->pkg, (uint32_t) best))
                        best = c->pkg;
        }
        if (best >= 0)
                return best;
        for (int32_t i = deb_index_first (r->idx, slot); i >= 0; i = deb_index_candidate (r->idx, i)->next) {
                const struct deb_candidate *c = deb_index_candidate (r->idx, i);
                if (!c->is_provide || r->chosen[deb_index_pkg_slot (r->idx, c->pkg)] >= 0
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
        r->chosen[deb_index_pkg_slot (r->idx, pkg)] = pkg;
        return 0;
}

static void
add_alt_text (struct buf *b, const struct deb_rel_alt *alt)
{
        buf_adds (b, alt->name);
        if (alt->op != DEB_REL_NONE)
                buf_addf (b, " (%s %s)", deb_rel_op_text (alt->op), alt->version);
}

/* "gcc -> cpp -> libmpc3 (>= 1.1)", and why each alternative failed
 * when that is not plain absence. */
static int
unsatisfiable (const struct resolver *r, int64_t parent, const struct deb_rel_alt *alts, size_t n,
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
                int64_t slot = deb_index_slot (r->idx, alts[i].name);
                if (slot < 0 || deb_index_first (r->idx, slot) < 0)
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
satisfy_group (struct resolver *r, const struct deb_rel_alt *alts, size_t n, int64_t parent,
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
        cleanup_deb_rel_list struct deb_rel_list l = { 0 };

        if (field == NULL)
                return 0;
        if (deb_rel_parse (field, &l) < 0) {
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
        struct resolver r = { idx, NULL, NULL, NULL, 0, 0 };
        size_t cap = deb_index_slot_count (idx);
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
                int64_t slot = deb_index_slot (idx, pin_names[i]);
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
