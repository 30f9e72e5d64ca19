/* deb.h - .deb files: their control file, and unpacking their data
 * into a root, with libarchive.  Versions are deb_version.h's, indexes
 * deb_index.h's, dependencies deb_resolve.h's.
 *
 * Maintainer scripts are never run: the caller does by hand the little
 * they would have done that pgimg needs.
 */
#ifndef PGIMG_DEB_H
#define PGIMG_DEB_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/owners.h"

struct deb_unpack_opts {
        /* fnmatch patterns on paths relative to the root, like dpkg's
         * path-exclude / path-include: excluded unless included. */
        const char *const *exclude;
        const char *const *include;
        /* When set, every entry whose owner is not 0:0 or whose mode has
         * bits beyond 0755/0644 (setuid, group-writable ...) is recorded
         * here, since a rootless unpack cannot chown. */
        struct owner_map *owners;
};

/* Unpack data.tar.* of deb_path into root_dir, merged-/usr style:
 * entries under bin/, sbin/, lib/, lib64/ (and lib32/, libx32/) go below
 * usr/, and the links bin, sbin, lib, lib64 -> usr/... are created when
 * missing.  Entries with a ".." component are refused; symbolic links
 * already in root_dir are followed as if root_dir were / (an absolute
 * target or a ".." never leads out of it).  Existing files are replaced,
 * so the last package unpacked wins.  Nothing is chowned.  Patterns
 * starting with "/" match "/<path>" (dpkg's spelling), others "<path>".
 * On failure root_dir holds what was unpacked so far. */
int deb_unpack (const char *deb_path, const char *root_dir, const struct deb_unpack_opts *opts,
                pgimg_error_t *err);

/* The control file of deb_path, appended to out. */
int deb_read_control (const char *deb_path, struct buf *out, pgimg_error_t *err);

#endif
