/* deb.h - Debian packages: versions, Packages indexes, dependency
 * resolution and unpacking of .deb files with libarchive.
 *
 * Maintainer scripts are never run: the caller does by hand the little
 * they would have done that pgimg needs.
 */
#ifndef PGIMG_DEB_H
#define PGIMG_DEB_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/owners.h"

/* Debian policy 5.6.12 ordering: <0, 0, >0. */
int deb_version_compare (const char *a, const char *b);

struct deb_package {
        char *name;
        char *version;
        char *arch;
        char *filename;         /* pool path, relative to base_url */
        char *sha256;
        uint64_t size;
        char *depends;          /* raw fields, NULL when absent */
        char *pre_depends;
        char *provides;
        char *source;
        int essential;
        char *base_url;         /* archive root the index came from */
        char *snapshot_url;     /* permanent archive root, or NULL */
};

struct deb_index {
        struct deb_package *pkgs;
        size_t n;
        size_t alloc;
        void *by_name;          /* internal lookup table */
};
#define DEB_INDEX_INIT { NULL, 0, 0, NULL }

/* Parse a Packages file's text and add its stanzas.  base_url and
 * snapshot_url (may be NULL) are copied into each package.  A stanza
 * without Package, Version, Filename or SHA256 is an error naming its
 * line. */
int deb_index_add (struct deb_index *idx, const char *text, size_t len, const char *base_url,
                   const char *snapshot_url, pgimg_error_t *err);
/* deb_index_add for a Packages file on disk, plain or compressed with
 * xz, gzip or zstd. */
int deb_index_add_file (struct deb_index *idx, const char *path, const char *base_url,
                        const char *snapshot_url, pgimg_error_t *err);
/* Frees every package's strings; idx is empty and reusable after. */
void deb_index_free (struct deb_index *idx);

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
