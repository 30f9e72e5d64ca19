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
        /* Record the package for scanners as distroless images do (see
         * deb_write_status). */
        int dpkg_status;
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

/* Where images keep one file per installed package, as distroless
 * images do and SBOM scanners (syft, trivy, grype) read: <name> holds
 * the package's control paragraph with "Status: install ok installed",
 * <name>.md5sums its md5sums when the .deb ships them. */
#define DEB_STATUS_DIR "var/lib/dpkg/status.d"
/* The longest package name pgimg writes a status file for. */
#define DEB_NAME_MAX 128

/* Write DEB_STATUS_DIR/<Package> (and .md5sums) of deb_path below
 * root_dir, replacing what an earlier version left.  A control file
 * without a valid Package name is an error. */
int deb_write_status (const char *deb_path, const char *root_dir, pgimg_error_t *err);

#endif
