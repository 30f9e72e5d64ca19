/* rootfs.h - file trees assembled from a lock's package set.
 *
 * Packages are fetched through the download cache and unpacked with
 * deb_unpack; maintainer scripts are not run, so this module does by
 * hand the little they would have done that pgimg needs: /etc/passwd
 * and /etc/group with a postgres user, /tmp, and the alternatives a
 * build calls by their generic names (cc, awk, sh).  The runtime base
 * gets, besides, what matters when the image runs (rootfs_runtime.c:
 * time zone, shadow files, ld.so.cache, /etc/shells ...).
 */
#ifndef PGIMG_ROOTFS_H
#define PGIMG_ROOTFS_H

#include "builder/lock.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/owners.h"

/* uid and gid of the postgres user in every image (as docker-library). */
#define ROOTFS_POSTGRES_UID 999

/* Bumped whenever the assembly logic changes what it produces. */
#define ROOTFS_LOGIC_VERSION "5"

/* Bumped whenever the files made for the runtime base alone (time zone,
 * shadow files, ld.so.cache ...; rootfs_runtime.c) change: part of the
 * base layer's key only, so that build roots and the layers built in
 * them stay cached. */
#define ROOTFS_RUNTIME_VERSION "1"

/* Bumped whenever what an image's layers record of the .debs they
 * install (var/lib/dpkg/status.d, deb.h, and their copyright files)
 * changes: a key input of those layers only, so that build roots and
 * PostgreSQL stay cached. */
#define ROOTFS_STATUS_VERSION "2"

/* The build root for set (usually "build") under
 * <cache_dir>/roots/<key>, assembled once and reused; *out malloc'ed.
 * Returns 0 when it was there already, 1 when it was assembled now (by
 * this call or a concurrent one), <0 on failure. */
int rootfs_build_root (const char *cache_dir, const struct lock *lock, const char *set,
                       char **out, pgimg_error_t *err);

/* The same for the union of several sets (NULL-terminated): the root
 * of sets[0] hard-linked, the others unpacked over it.  The same returns. */
int rootfs_build_root_sets (const char *cache_dir, const struct lock *lock,
                            const char *const *sets, char **out, pgimg_error_t *err);

/* The set of the target's libraries and headers in a cross build. */
#define ROOTFS_CROSS_TARGET_SET "build-target"

/* A cross build root under <cache_dir>/roots/<key>: the target
 * lock's set target_set (the target architecture's libraries and
 * headers, in their multiarch directories) with the host lock's set
 * host_set (the cross toolchain and the build's tools) unpacked over it,
 * so that where both ship a path (a tool of a -dev package's closure)
 * the host's copy is the one that runs.  The same returns as
 * rootfs_build_root. */
int rootfs_cross_root (const char *cache_dir, const struct lock *host, const char *host_set,
                       const struct lock *target, const char *target_set, char **out, pgimg_error_t *err);

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

/* The pure parts of the runtime files, for tests and fuzzing.  Each
 * appends to out and returns <0 with an error naming the file on bad
 * input; out then holds a partial text the caller must not write. */

/* /etc/shadow (gshadow 0) or /etc/gshadow (gshadow 1) with a locked
 * entry for every account of the passwd (or group) text accounts: no
 * one can log in with a password, as in Debian's images. */
int rootfs_shadow_text (const char *accounts, int gshadow, struct buf *out, pgimg_error_t *err);

/* The group text with a line "name:x:gid:" added at its end unless it
 * has a group called name already; a group with that gid but another
 * name is an error. */
int rootfs_group_with (const char *group, const char *name, unsigned gid, struct buf *out,
                       pgimg_error_t *err);

/* Add the shells listed in the text of a debianutils shells file (one
 * path a line, '#' starts a comment) to the /etc/shells text in shells,
 * each once, with its /usr/bin or /usr/sbin twin for /bin and /sbin (the
 * base has a merged /usr), as update-shells does.  shells should start
 * with a comment line. */
int rootfs_shells_add (struct buf *shells, const char *text, pgimg_error_t *err);

#endif
