/* rootfs_int.h - what rootfs.c and rootfs_runtime.c share; not for use
 * outside builder/rootfs*.c.  Every path is relative to root and made
 * through sandbox/resolve.c: the packages' own symlinks are followed
 * inside the root, never on the host. */
#ifndef PGIMG_ROOTFS_INT_H
#define PGIMG_ROOTFS_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/owners.h"

/* root/rel holds len bytes of data: a temporary file next to it,
 * fsync'ed and renamed over it; missing parents are created 0755. */
int rootfs_write_in (const char *root, const char *rel, const void *data, size_t len, mode_t mode,
                     pgimg_error_t *err);

/* Create root/rel -> target unless root/rel exists (as a file or link).
 * An empty directory there is replaced: packages ship /var/run and
 * /var/lock as directories that their postinst turns into links. */
int rootfs_link_if_missing (const char *root, const char *rel, const char *target,
                            pgimg_error_t *err);

/* mkdir -p root/rel, then chmod it to mode. */
int rootfs_mkdir_in (const char *root, const char *rel, mode_t mode, pgimg_error_t *err);

/* 1 when root/rel exists (a dangling link counts), 0 when not, <0 when
 * root cannot be opened. */
int rootfs_exists_in (const char *root, const char *rel, pgimg_error_t *err);

/* A link that an alternative or a postinst would make: path -> target,
 * target relative to path's directory. */
struct rootfs_link {
        const char *path, *target;
};

/* Each link of links whose target the root really contains, unless its
 * path exists already. */
int rootfs_link_present (const char *root, const struct rootfs_link *links, size_t n,
                         pgimg_error_t *err);

/* The files maintainer scripts would have made in the runtime base
 * (rootfs_runtime.c): time zone, shadow files, ld.so.cache, the
 * alternatives of the runtime set, /etc/shells, nsswitch.conf and
 * base-files' copies and directories.  Runs ldconfig from root in a
 * sandbox, with a scratch directory under cache_dir, when native (the
 * base is of the machine pgimg runs on); a base of another architecture
 * has no ld.so.cache, and its loader searches its default directories.
 * Owners and modes that cannot be set on disk go into owners. */
int rootfs_runtime_files (const char *cache_dir, const char *root, int native, struct owner_map *owners,
                          pgimg_error_t *err);

#endif
