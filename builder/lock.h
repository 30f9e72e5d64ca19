/* lock.h - the lock file: exact Debian packages for every package set.
 *
 * `pgimg lock` resolves the sets named in lock/packages.json (plus
 * those recipes add) against the Packages indexes of the sources it
 * lists, after checking each InRelease signature with gpgv and the
 * Debian archive keyring, and writes lock/<suite>-<arch>.lock.json.
 * `pgimg build` reads only the lock.  This is the only module that
 * parses the lock and its input: lock.c reads a lock, lock_make.c makes
 * one.
 */
#ifndef PGIMG_LOCK_H
#define PGIMG_LOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "common/sha256.h"

struct lock_package {
        char *name;
        char *version;
        char *arch;
        char *sha256;
        uint64_t size;
        char **urls;            /* NULL-terminated: mirror first, snapshot after */
};

struct lock_set {
        char *name;
        char **packages;        /* NULL-terminated, sorted */
        size_t n;
};

struct lock {
        char *path;
        char *suite;
        char *arch;
        struct lock_package *pkgs;      /* sorted by name */
        size_t n_pkgs;
        struct lock_set *sets;
        size_t n_sets;
        char digest[SHA256_HEX_LEN + 1];        /* of the lock file's bytes */
        long long date;         /* newest InRelease Date, seconds since the epoch */
};

int lock_load (const char *path, struct lock *lock, pgimg_error_t *err);
void lock_free (struct lock *lock);
const struct lock_package *lock_find (const struct lock *lock, const char *name);
const struct lock_set *lock_find_set (const struct lock *lock, const char *name);

/* sha256 over the set's packages (name, version, sha256): a key input
 * that changes only when that set changes. */
int lock_set_digest (const struct lock *lock, const char *set, char hex[SHA256_HEX_LEN + 1],
                     pgimg_error_t *err);

/* "Sat, 09 Aug 2025 09:12:34 UTC" (an InRelease Date, as the lock's
 * sources keep it) as "20250809T091234Z" in out.  -1 when date is not
 * such a date in UTC. */
int lock_date_timestamp (const char *date, char out[17]);

/* Package roots a recipe adds to a set of the lock input. */
struct lock_request {
        const char *set;
        const char *const *roots;       /* NULL-terminated */
};

/* *wanted: 1 unless the lock input at input_path says
 * "extensions": false (a lock for a build root of tools, such as the
 * cross toolchain's, which no extension recipe adds to). */
int lock_input_wants_extensions (const char *input_path, int *wanted, pgimg_error_t *err);

/* Resolve and write lock_path atomically.  Indexes are fetched through
 * cache_dir.  update=0 keeps every package already pinned in lock_path
 * whose version is still in the index; update=1 re-resolves all. */
int lock_update (const char *input_path, const struct lock_request *extra, size_t n_extra,
                 const char *lock_path, const char *cache_dir, int update, pgimg_error_t *err);

#endif
