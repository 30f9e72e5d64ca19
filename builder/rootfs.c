#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/deb.h"
#include "builder/fetch.h"
#include "builder/rootfs.h"
#include "builder/rootfs_int.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "sandbox/resolve.h"

/* dpkg's path-exclude/path-include as Debian's minimal images use it:
 * documentation goes, licences stay. */
static const char *const doc_exclude[] = {
        "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
        "usr/share/lintian/*", "usr/share/linda/*", "usr/share/bug/*", NULL,
};
static const char *const doc_include[] = { "usr/share/doc/*/copyright", NULL };

static const char passwd[] =
        "root:x:0:0:root:/root:/bin/bash\n"
        "postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group[] =
        "root:x:0:\n"
        "postgres:x:999:\n"
        "nogroup:x:65534:\n";

/* Everything below is made in root through sandbox/resolve.c: the
 * packages' own symlinks (var/run -> /run) are followed inside the root,
 * never on the host. */
static int
open_root (const char *root, pgimg_error_t *err)
{
        int fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root);
        return fd;
}

int
rootfs_write_in (const char *root, const char *rel, const void *data, size_t len, mode_t mode,
                 pgimg_error_t *err)
{
        cleanup_fd int root_fd = open_root (root, err);
        cleanup_fd int dir_fd = -1;
        cleanup_fd int fd = -1;
        char name[NAME_MAX + 1], tmp[NAME_MAX + 32];

        if (root_fd < 0)
                return -1;
        dir_fd = resolve_open_parent (root_fd, rel, 1, 0755, name);
        if (dir_fd < 0)
                return pgimg_make_error_errno (err, errno, "write `%s/%s`", root, rel);
        snprintf (tmp, sizeof (tmp), ".tmp-%ld-%s", (long) getpid (), name);
        fd = openat (dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 || fs_write_all (fd, data, len) < 0 || fchmod (fd, mode) < 0
            || fsync (fd) < 0 || renameat (dir_fd, tmp, dir_fd, name) < 0) {
                int e = errno;
                unlinkat (dir_fd, tmp, 0);
                return pgimg_make_error_errno (err, e, "write `%s/%s`", root, rel);
        }
        return 0;
}

int
rootfs_link_if_missing (const char *root, const char *rel, const char *target, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open_root (root, err);
        cleanup_fd int dir_fd = -1;
        char name[NAME_MAX + 1];
        struct stat st;

        if (root_fd < 0)
                return -1;
        dir_fd = resolve_open_parent (root_fd, rel, 1, 0755, name);
        if (dir_fd < 0)
                return pgimg_make_error_errno (err, errno, "link `%s/%s`", root, rel);
        if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISDIR (st.st_mode))
                        return 0;
                if (unlinkat (dir_fd, name, AT_REMOVEDIR) < 0)
                        return errno == ENOTEMPTY || errno == EEXIST
                                       ? 0
                                       : pgimg_make_error_errno (err, errno, "replace `%s/%s` by a link",
                                                                 root, rel);
        } else if (errno != ENOENT) {
                return pgimg_make_error_errno (err, errno, "`%s/%s`", root, rel);
        }
        if (symlinkat (target, dir_fd, name) < 0)
                return pgimg_make_error_errno (err, errno, "symlink `%s/%s`", root, rel);
        return 0;
}

int
rootfs_mkdir_in (const char *root, const char *rel, mode_t mode, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open_root (root, err);
        cleanup_fd int path_fd = -1;
        cleanup_fd int fd = -1;

        if (root_fd < 0)
                return -1;
        path_fd = resolve_mkdir_p (root_fd, rel, 0755);
        if (path_fd < 0)
                return pgimg_make_error_errno (err, errno, "mkdir `%s/%s`", root, rel);
        /* fchmod needs a descriptor that is more than a path. */
        fd = openat (path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fchmod (fd, mode) < 0)
                return pgimg_make_error_errno (err, errno, "chmod `%s/%s`", root, rel);
        return 0;
}

int
rootfs_exists_in (const char *root, const char *rel, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open_root (root, err);
        int fd;

        if (root_fd < 0)
                return -1;
        fd = resolve_open (root_fd, rel, O_PATH | O_NOFOLLOW, 0);
        if (fd >= 0) {
                close (fd);
                return 1;
        }
        return 0;
}

int
rootfs_link_present (const char *root, const struct rootfs_link *links, size_t n, pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                /* usr/bin/sh -> dash: is usr/bin/dash there? */
                int dir_len = (int) (strrchr (links[i].path, '/') + 1 - links[i].path);
                cleanup_free char *full = NULL;
                int there;
                if (asprintf (&full, "%.*s%s", dir_len, links[i].path, links[i].target) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "link");
                there = rootfs_exists_in (root, full, err);
                if (there < 0)
                        return -1;
                /* Only link to what the set really contains. */
                if (there && rootfs_link_if_missing (root, links[i].path, links[i].target, err) < 0)
                        return -1;
        }
        return 0;
}

/* What maintainer scripts and update-alternatives would have done, as
 * far as pgimg needs it. */
static int
fixup_tree (const char *root, struct owner_map *owners, pgimg_error_t *err)
{
        static const char *const dirs[] = { "etc", "root", "tmp", "proc", "dev", "sys", "run",
                                            "var", "var/tmp", "usr/local/bin", NULL };
        static const struct rootfs_link links[] = {
                { "usr/bin/sh", "dash" },
                { "usr/bin/awk", "gawk" },
                { "usr/bin/cc", "gcc" },
                { "usr/bin/pager", "cat" },
                { "usr/bin/which", "which.debianutils" },
                /* automake's alternatives: autogen.sh scripts call the
                 * plain names. */
                { "usr/bin/automake", "automake-1.17" },
                { "usr/bin/aclocal", "aclocal-1.17" },
        };
        /* base-files' postinst makes these; /var/run/postgresql must be
         * the /run/postgresql of the entrypoint layer. */
        if (rootfs_link_if_missing (root, "var/run", "/run", err) < 0
            || rootfs_link_if_missing (root, "var/lock", "/run/lock", err) < 0)
                return -1;

        for (size_t i = 0; dirs[i]; i++)
                if (rootfs_mkdir_in (root, dirs[i], 0755, err) < 0)
                        return -1;
        if (rootfs_mkdir_in (root, "tmp", 01777, err) < 0 || rootfs_mkdir_in (root, "var/tmp", 01777, err) < 0
            || rootfs_mkdir_in (root, "root", 0700, err) < 0)
                return -1;
        if (owners) {
                if (owner_map_set (owners, "tmp", 0, 0, 01777, err) < 0
                    || owner_map_set (owners, "var/tmp", 0, 0, 01777, err) < 0
                    || owner_map_set (owners, "root", 0, 0, 0700, err) < 0)
                        return -1;
        }
        if (rootfs_write_in (root, "etc/passwd", passwd, strlen (passwd), 0644, err) < 0
            || rootfs_write_in (root, "etc/group", group, strlen (group), 0644, err) < 0)
                return -1;
        return rootfs_link_present (root, links, sizeof (links) / sizeof (links[0]), err);
}

static int
in_set (const struct lock_set *set, const char *name)
{
        for (size_t i = 0; set && i < set->n; i++)
                if (strcmp (set->packages[i], name) == 0)
                        return 1;
        return 0;
}

/* Every package of set_name not in skip, unpacked into dest; for an
 * image's layer (owners given) recorded in dest's dpkg status too. */
static int
unpack_packages (const char *cache_dir, const struct lock *lock, const char *set_name,
                 const struct lock_set *skip, const char *dest, struct owner_map *owners,
                 pgimg_error_t *err)
{
        const struct lock_set *set = lock_find_set (lock, set_name);
        struct deb_unpack_opts opts = { doc_exclude, doc_include, owners, owners != NULL };

        if (set == NULL)
                return pgimg_make_error (err, ENOENT,
                                         "the lock `%s` has no package set `%s`; run `pgimg lock`",
                                         lock->path, set_name);
        for (size_t i = 0; i < set->n; i++) {
                const struct lock_package *p = lock_find (lock, set->packages[i]);
                cleanup_free char *what = NULL;
                cleanup_free char *path = NULL;
                size_t n_urls = 0;

                if (in_set (skip, set->packages[i]))
                        continue;
                if (p == NULL)
                        return pgimg_make_error (err, ENOENT,
                                                 "package `%s` of set `%s` is missing from the lock `%s`; run `pgimg lock --update`",
                                                 set->packages[i], set_name, lock->path);
                while (p->urls[n_urls])
                        n_urls++;
                if (asprintf (&what, "%s %s", p->name, p->version) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "fetch");
                progress_update ("unpacking %zu/%zu %s", i + 1, set->n, p->name);
                if (fetch_cached (cache_dir, (const char *const *) p->urls, n_urls, p->sha256,
                                  what, &path, err) < 0)
                        return pgimg_error_wrap (err, "package set `%s` (if the pinned .deb is gone from every mirror, run `pgimg lock --update`)",
                                                 set_name);
                if (deb_unpack (path, dest, &opts, err) < 0)
                        return pgimg_error_wrap (err, "unpack %s", what);
        }
        progress_done ();
        return 0;
}

static int
unpack_set (const char *cache_dir, const struct lock *lock, const char *set_name,
            const char *dest, struct owner_map *owners, pgimg_error_t *err)
{
        if (unpack_packages (cache_dir, lock, set_name, NULL, dest, owners, err) < 0)
                return -1;
        return fixup_tree (dest, owners, err);
}

int
rootfs_unpack_extra (const char *cache_dir, const struct lock *lock, const char *set,
                     const char *skip, const char *dest, struct owner_map *owners,
                     pgimg_error_t *err)
{
        return unpack_packages (cache_dir, lock, set, skip ? lock_find_set (lock, skip) : NULL,
                                dest, owners, err);
}

/* sets[0] unpacked, or (with more sets) a hard-linked copy of the root
 * of sets[0] with the others unpacked over it: deb_unpack replaces
 * files rather than writing into them, so the shared root stays intact. */
static int
fill_root (const char *cache_dir, const struct lock *lock, const char *const *sets,
           const char *tmp, pgimg_error_t *err)
{
        cleanup_free char *base = NULL;

        if (sets[1] == NULL) {
                if (unpack_set (cache_dir, lock, sets[0], tmp, NULL, err) < 0)
                        return -1;
        } else {
                const char *first[] = { sets[0], NULL };
                if (rootfs_build_root_sets (cache_dir, lock, first, &base, err) < 0)
                        return -1;
                if (rmdir (tmp) < 0)
                        return pgimg_make_error_errno (err, errno, "rmdir `%s`", tmp);
                if (fs_link_tree (base, tmp, err) < 0)
                        return -1;
                for (size_t i = 1; sets[i]; i++)
                        if (unpack_set (cache_dir, lock, sets[i], tmp, NULL, err) < 0)
                                return -1;
        }
        if (rootfs_mkdir_in (tmp, "build", 0755, err) < 0 || rootfs_mkdir_in (tmp, "out", 0755, err) < 0
            || rootfs_mkdir_in (tmp, "in", 0755, err) < 0)
                return -1;
        return 0;
}

/* The root under <cache_dir>/roots/<key>, made once by fill (over a
 * new empty directory) and renamed into place; what a concurrent pgimg
 * made first is taken.  names says which sets, for the progress note. */
static int
root_at_key (const char *cache_dir, const char *key, const char *names,
             int (*fill) (const void *ctx, const char *tmp, pgimg_error_t *err), const void *ctx,
             char **out, pgimg_error_t *err)
{
        cleanup_free char *roots = NULL;
        cleanup_free char *final = NULL;
        cleanup_free char *tmp = NULL;

        if (asprintf (&roots, "%s/roots", cache_dir) < 0
            || asprintf (&final, "%s/%s", roots, key) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "build root");
        if (fs_exists (final)) {
                *out = steal_pointer (&final);
                return 0;
        }
        if (fs_mkdir_p (roots, 0755, err) < 0 || fs_sweep_temps (roots, err) < 0)
                return -1;
        if (fs_mkdtemp (roots, "root", &tmp, err) < 0)
                return -1;
        progress_note ("assembling the build root from set %s", names);
        if (fill (ctx, tmp, err) < 0) {
                fs_drop_temp_dir (tmp);
                return -1;
        }
        if (rename (tmp, final) < 0) {
                int e = errno;
                fs_drop_temp_dir (tmp);
                if (fs_exists (final)) {        /* a concurrent pgimg won */
                        *out = steal_pointer (&final);
                        return 1;
                }
                return pgimg_make_error_errno (err, e, "rename `%s`", tmp);
        }
        fs_forget_temp (tmp);
        *out = steal_pointer (&final);
        return 1;
}

struct sets_fill {
        const char *cache_dir;
        const struct lock *lock;
        const char *const *sets;
};

static int
sets_fill (const void *ctx, const char *tmp, pgimg_error_t *err)
{
        const struct sets_fill *f = ctx;
        return fill_root (f->cache_dir, f->lock, f->sets, tmp, err);
}

int
rootfs_build_root_sets (const char *cache_dir, const struct lock *lock, const char *const *sets,
                        char **out, pgimg_error_t *err)
{
        char digest[SHA256_HEX_LEN + 1];
        char key[SHA256_HEX_LEN + 1];
        cleanup_buf struct buf k = BUF_INIT;
        cleanup_buf struct buf names = BUF_INIT;
        struct sets_fill f = { cache_dir, lock, sets };

        for (size_t i = 0; sets[i]; i++) {
                if (lock_set_digest (lock, sets[i], digest, err) < 0)
                        return -1;
                if ((i == 0 ? buf_addf (&k, "build-root\n%s\n%s\n%s\n", ROOTFS_LOGIC_VERSION, sets[i], digest)
                            : buf_addf (&k, "%s\n%s\n", sets[i], digest)) < 0
                    || buf_addf (&names, "%s`%s`", i ? " + " : "", sets[i]) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "build root");
        }
        if (sha256_buf_hex (k.data, k.len, key, err) < 0)
                return -1;
        return root_at_key (cache_dir, key, names.data, sets_fill, &f, out, err);
}

struct cross_fill {
        const char *cache_dir;
        const struct lock *host, *target;
        const char *host_set, *target_set;
};

static int
cross_fill (const void *ctx, const char *tmp, pgimg_error_t *err)
{
        const struct cross_fill *f = ctx;

        if (unpack_set (f->cache_dir, f->target, f->target_set, tmp, NULL, err) < 0
            || unpack_set (f->cache_dir, f->host, f->host_set, tmp, NULL, err) < 0)
                return -1;
        if (rootfs_mkdir_in (tmp, "build", 0755, err) < 0 || rootfs_mkdir_in (tmp, "out", 0755, err) < 0
            || rootfs_mkdir_in (tmp, "in", 0755, err) < 0)
                return -1;
        return 0;
}

int
rootfs_cross_root (const char *cache_dir, const struct lock *host, const char *host_set,
                   const struct lock *target, const char *target_set, char **out, pgimg_error_t *err)
{
        char host_digest[SHA256_HEX_LEN + 1], target_digest[SHA256_HEX_LEN + 1];
        char key[SHA256_HEX_LEN + 1];
        cleanup_buf struct buf k = BUF_INIT;
        cleanup_buf struct buf names = BUF_INIT;
        struct cross_fill f = { cache_dir, host, target, host_set, target_set };

        if (lock_set_digest (host, host_set, host_digest, err) < 0
            || lock_set_digest (target, target_set, target_digest, err) < 0)
                return -1;
        if (buf_addf (&k, "cross-root\n%s\n%s %s\n%s\n%s %s\n%s\n", ROOTFS_LOGIC_VERSION, host->arch, host_set,
                      host_digest, target->arch, target_set, target_digest) < 0
            || buf_addf (&names, "`%s` (%s) + `%s` (%s)", host_set, host->arch, target_set, target->arch) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "build root");
        if (sha256_buf_hex (k.data, k.len, key, err) < 0)
                return -1;
        return root_at_key (cache_dir, key, names.data, cross_fill, &f, out, err);
}

int
rootfs_build_root (const char *cache_dir, const struct lock *lock, const char *set,
                   char **out, pgimg_error_t *err)
{
        const char *sets[] = { set, NULL };
        return rootfs_build_root_sets (cache_dir, lock, sets, out, err);
}

int
rootfs_assemble_runtime (const char *cache_dir, const struct lock *lock, const char *set,
                         const char *dest, struct owner_map *owners, pgimg_error_t *err)
{
        progress_note ("assembling the runtime base from set `%s`", set);
        if (unpack_set (cache_dir, lock, set, dest, owners, err) < 0)
                return -1;
        /* The base's own ldconfig runs only where its machine code does:
         * without emulation, a cross-built base goes without the cache. */
        return rootfs_runtime_files (cache_dir, dest, strcmp (lock->arch, "amd64") == 0, owners, err);
}
