/* owners.h - owner and mode that a path must have in a layer.
 *
 * A rootless build has a single-uid mapping: files cannot be chowned to
 * another user on disk.  Whoever knows a file's intended owner (a .deb's
 * tar header, the postgres user's directories) records it here, and the
 * layer writer puts it straight into the tar header, as apko and
 * mmdebstrap do.  Paths are relative to the tree's root, without a
 * leading "/" or "./".
 *
 * The on-disk form is one line per path, sorted by path:
 *     <mode in octal>\t<uid>\t<gid>\t<path>\n
 */
#ifndef PGIMG_OWNERS_H
#define PGIMG_OWNERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct owner_entry {
        char *path;
        uint32_t uid;
        uint32_t gid;
        uint32_t mode;          /* permission bits, 07777 */
};

struct owner_map {
        struct owner_entry *v;
        size_t n;
        size_t alloc;
        int sorted;
};
#define OWNER_MAP_INIT { NULL, 0, 0, 1 }

/* Add or replace the entry for path (copied). */
int owner_map_set (struct owner_map *m, const char *path, uint32_t uid, uint32_t gid,
                   uint32_t mode, pgimg_error_t *err);
/* The entry for path, or NULL.  May sort the map (not thread-safe). */
const struct owner_entry *owner_map_get (struct owner_map *m, const char *path);
/* Append the entries of file (missing file: nothing added). */
int owner_map_load (struct owner_map *m, const char *file, pgimg_error_t *err);
/* Write sorted, atomically. */
int owner_map_save (struct owner_map *m, const char *file, pgimg_error_t *err);
void owner_map_free (struct owner_map *m);

static inline void
cleanup_owner_mapp (struct owner_map *m)
{
        owner_map_free (m);
}
#define cleanup_owner_map __attribute__ ((cleanup (cleanup_owner_mapp)))

#endif
