/* deb_index.h - Debian Packages indexes: the stanzas of one or more
 * Packages files, and every name (real or provided) looked up in
 * constant time.  Resolving dependencies is deb_resolve.h's.
 */
#ifndef PGIMG_DEB_INDEX_H
#define PGIMG_DEB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

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

/* Lookups.  Every name has a slot, numbered below deb_index_slot_count;
 * the packages answering to it form a chain of candidates.  Slots and
 * candidates stay valid until the next deb_index_add. */
struct deb_candidate {
        uint32_t pkg;           /* index into idx->pkgs */
        int32_t next;           /* next candidate of the same name, -1 */
        const char *provided_version;   /* "Provides: x (= v)"; NULL unversioned */
        int is_provide;         /* answers through Provides, not by its own name */
};

/* The slot of name, or -1 when no package answers to it. */
int64_t deb_index_slot (const struct deb_index *idx, const char *name);
size_t deb_index_slot_count (const struct deb_index *idx);
/* The slot of package pkg's own name. */
uint32_t deb_index_pkg_slot (const struct deb_index *idx, uint32_t pkg);
/* The first candidate of slot (-1: none), then follow ->next. */
int32_t deb_index_first (const struct deb_index *idx, int64_t slot);
const struct deb_candidate *deb_index_candidate (const struct deb_index *idx, int32_t i);

#endif
