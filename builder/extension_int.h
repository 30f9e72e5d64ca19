/* extension_int.h - what extension.c and extension_cross.c share; not
 * for use outside builder/extension*.c.  A cross build (an env->arch
 * other than amd64) takes Debian's builds for its architecture and looks
 * at its files as that architecture's (docs/platforms.md). */
#ifndef PGIMG_EXTENSION_INT_H
#define PGIMG_EXTENSION_INT_H

#include <stddef.h>

#include "builder/extension.h"
#include "layers/cache.h"

/* Whether env builds for another architecture than the machine's. */
int extension_is_cross (const struct extension_env *env);

/* The Debian builds of v for env's architecture (*debs points into v),
 * and how many. */
size_t extension_arch_debs (const struct extension_env *env, const struct ext_version *v,
                            const struct ext_deb **debs);

/* The key inputs of a cross build's root: the toolchain lock's set build
 * and the target lock's libraries and headers. */
int extension_cross_key (const struct extension_env *env, struct layer_key *k, pgimg_error_t *err);

/* The pg_config script of a cross build (a key input). */
extern const char extension_cross_pg_config_script[];

/* Put the pg_config script in place of the target's program in pg (the
 * unpacked postgres-dev tree of a build, not a layer). */
int extension_cross_pg_config (const struct extension_env *env, const char *pg, pgimg_error_t *err);

/* The cross build root (rootfs_cross_root): *root malloc'ed; 0 when it
 * was cached, 1 when made, -1 on failure. */
int extension_cross_root (const struct extension_env *env, char **root, pgimg_error_t *err);

#endif
