/* deb_resolve.h - which packages a set of packages needs: the closure
 * over Pre-Depends and Depends in one Packages index.
 */
#ifndef PGIMG_DEB_RESOLVE_H
#define PGIMG_DEB_RESOLVE_H

#include <stddef.h>

#include "builder/deb_index.h"
#include "common/error.h"

/* The closure of roots over Pre-Depends and Depends: alternatives in
 * order (an already chosen package wins), version constraints, Provides
 * (versioned too).  Where several versions of a name exist the highest
 * satisfying one is chosen.  *out (malloc'ed) holds indexes into
 * idx->pkgs sorted by package name.  An unsatisfiable dependency is an
 * error naming the chain ("gcc -> cpp -> libmpc3 (>= 1.1)"). */
int deb_resolve (const struct deb_index *idx, const char *const *roots, size_t n_roots,
                 size_t **out, size_t *n_out, pgimg_error_t *err);

/* deb_resolve, preferring for each name pin_versions[i] of pin_names[i]
 * when that version is in the index and fits (a re-lock keeps what the
 * lock already holds).  A pin does not make a package part of the
 * result; only the roots and their dependencies do. */
int deb_resolve_pinned (const struct deb_index *idx, const char *const *roots, size_t n_roots,
                        const char *const *pin_names, const char *const *pin_versions,
                        size_t n_pins, size_t **out, size_t *n_out, pgimg_error_t *err);

#endif
