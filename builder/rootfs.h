/* rootfs.h - file trees assembled from a lock's package set.
 *
 * Packages are fetched through the download cache and unpacked with
 * deb_unpack; maintainer scripts are not run, so this module does by
 * hand the little they would have done that pgimg needs: /etc/passwd
 * and /etc/group with a postgres user, /tmp, and the alternatives a
 * build calls by their generic names (cc, awk, sh).
 */
#ifndef PGIMG_ROOTFS_H
#define PGIMG_ROOTFS_H

#include "builder/lock.h"
#include "common/error.h"
#include "common/owners.h"

/* uid and gid of the postgres user in every image (as docker-library). */
#define ROOTFS_POSTGRES_UID 999

/* Bumped whenever the assembly logic changes what it produces. */
#define ROOTFS_LOGIC_VERSION "4"

/* Bumped whenever what an image's layers record of the .debs they
 * install (var/lib/dpkg/status.d, deb.h, and their copyright files)
 * changes: a key input of those layers only, so that build roots and
 * PostgreSQL stay cached. */
#define ROOTFS_STATUS_VERSION "2"

/* The build root for set (usually "build") under
 * <cache_dir>/roots/<key>, assembled once and reused; *out malloc'ed. */
int rootfs_build_root (const char *cache_dir, const struct lock *lock, const char *set,
                       char **out, pgimg_error_t *err);

/* The same for the union of several sets (NULL-terminated): the root
 * of sets[0] hard-linked, the others unpacked over it. */
int rootfs_build_root_sets (const char *cache_dir, const struct lock *lock,
                            const char *const *sets, char **out, pgimg_error_t *err);

/* Unpack set into dest (an existing directory), documentation left
 * out, leaving out every package that is also in the set skip (may be
 * NULL): an extension's own libraries, without the base's.  With owners
 * (an image's layer), each package gets its dpkg status file. */
int rootfs_unpack_extra (const char *cache_dir, const struct lock *lock, const char *set,
                         const char *skip, const char *dest, struct owner_map *owners,
                         pgimg_error_t *err);

/* Assemble set into dest (an existing empty directory) for the runtime
 * image: documentation left out except copyright files, owners that
 * cannot be set on disk recorded in owners, each package's dpkg
 * status file written (deb_write_status). */
int rootfs_assemble_runtime (const char *cache_dir, const struct lock *lock, const char *set,
                             const char *dest, struct owner_map *owners,
                             pgimg_error_t *err);

#endif
