/* extension_cross.c - extension layers of a cross-built image
 * (--platform linux/arm64): which Debian builds, what the build root
 * adds to a layer's key, and PGXS builds with the cross compiler the
 * server was built with.  See docs/platforms.md. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "builder/extension_int.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

int
extension_is_cross (const struct extension_env *env)
{
        return env->arch != NULL && strcmp (env->arch, "amd64") != 0;
}

size_t
extension_arch_debs (const struct extension_env *env, const struct ext_version *v, const struct ext_deb **debs)
{
        *debs = extension_is_cross (env) ? v->debs_arm64 : v->debs;
        return extension_is_cross (env) ? v->n_debs_arm64 : v->n_debs;
}

int
extension_cross_key (const struct extension_env *env, struct layer_key *k, pgimg_error_t *err)
{
        char digest[SHA256_HEX_LEN + 1];

        if (lock_set_digest (env->host_lock, "build", digest, err) < 0
            || layer_key_add (k, "build-set", digest, err) < 0
            || lock_set_digest (env->lock, ROOTFS_CROSS_TARGET_SET, digest, err) < 0
            || layer_key_add (k, "build-target-set", digest, err) < 0)
                return -1;
        return 0;
}

/* pg_config is the target's program and cannot run on the build
 * machine: PGXS asks this script instead, which answers as PostgreSQL's
 * own would for pgimg's prefix, the compiler and flags from PGXS's
 * Makefile.global (the cross compiler the server was built with). */
const char extension_cross_pg_config_script[] =
        "#!/bin/sh\n"
        "# pg_config for a cross build (pgimg, docs/platforms.md)\n"
        "prefix=${0%/bin/pg_config}\n"
        "mk=$prefix/lib/pgxs/src/Makefile.global\n"
        "var() { sed -n \"s/^$1[[:space:]]*=[[:space:]]*//p\" \"$mk\" | head -n 1; }\n"
        "for a; do\n"
        "  case $a in\n"
        "  --bindir) echo \"$prefix/bin\" ;;\n"
        "  --docdir|--htmldir) echo \"$prefix/share/doc\" ;;\n"
        "  --includedir|--pkgincludedir) echo \"$prefix/include\" ;;\n"
        "  --includedir-server) echo \"$prefix/include/server\" ;;\n"
        "  --libdir|--pkglibdir) echo \"$prefix/lib\" ;;\n"
        "  --localedir) echo \"$prefix/share/locale\" ;;\n"
        "  --mandir) echo \"$prefix/share/man\" ;;\n"
        "  --sharedir) echo \"$prefix/share\" ;;\n"
        "  --sysconfdir) echo \"$prefix/etc\" ;;\n"
        "  --pgxs) echo \"$prefix/lib/pgxs/src/makefiles/pgxs.mk\" ;;\n"
        "  --cc) var CC ;;\n"
        "  --cppflags) var CPPFLAGS ;;\n"
        "  --cflags) var CFLAGS ;;\n"
        "  --cflags_sl) var CFLAGS_SL ;;\n"
        "  --ldflags) var LDFLAGS | sed 's/[$](LDFLAGS_INTERNAL) *//' ;;\n"
        "  --ldflags_ex) var LDFLAGS_EX ;;\n"
        "  --libs) echo \"-lpgcommon -lpgport $(var LIBS)\" ;;\n"
        "  --version) echo \"PostgreSQL $(var VERSION)\" ;;\n"
        "  *) echo \"pg_config: $a is not answered in a cross build\" >&2; exit 1 ;;\n"
        "  esac\n"
        "done\n";

/* Whether package is in set `build` of the toolchain's lock: the cross
 * build root has that set only (amd64 programs, such as patch, that a
 * recipe's build runs). */
static int
in_host_build_set (const struct lock *host_lock, const char *package)
{
        const struct lock_set *set = host_lock ? lock_find_set (host_lock, "build") : NULL;

        for (size_t i = 0; set && i < set->n; i++)
                if (strcmp (set->packages[i], package) == 0)
                        return 1;
        return 0;
}

int
extension_cross_supported (const struct extension_pick *pick, const char *major, const char *arch,
                           const struct lock *host_lock, pgimg_error_t *err)
{
        const struct ext_recipe *r = pick->recipe;
        const struct ext_version *v = pick->version;

        if (v->n_debs && ext_version_deb (v, major) != NULL && ext_version_deb_arch (v, major, arch) == NULL)
                return pgimg_make_error (err, ENOTSUP,
                                         "extension `%s@%s`: no Debian %s build for PostgreSQL %s is pinned; add it to "
                                         "debs_%s in `%s`", r->name, v->version, arch, major, arch, r->path);
        if (v->n_debs)
                return 0;
        if (r->build != EXT_BUILD_PGXS)
                return pgimg_make_error (err, ENOTSUP, "extension `%s` builds with %s, which is not cross-built for %s yet",
                                         r->name, ext_build_name (r->build), arch);
        for (size_t i = 0; r->build_packages && r->build_packages[i]; i++)
                if (!in_host_build_set (host_lock, r->build_packages[i]))
                        return pgimg_make_error (err, ENOTSUP,
                                                 "extension `%s` is not built for %s yet: its build package `%s` is not "
                                                 "in set `build` of the cross toolchain's lock (a program the build runs goes "
                                                 "into lock/packages-cross-%s.json, then `pgimg lock`)",
                                                 r->name, arch, r->build_packages[i], arch);
        return 0;
}

int
extension_cross_pg_config (const struct extension_env *env, const char *pg, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s/usr/lib/postgresql/%s/bin/pg_config", pg, env->major) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "pg_config");
        if (unlink (path) < 0 && errno != ENOENT)
                return pgimg_make_error_errno (err, errno, "remove the %s pg_config `%s`", env->arch, path);
        return fs_write_file_atomic (path, extension_cross_pg_config_script, strlen (extension_cross_pg_config_script), 0755, err);
}

int
extension_cross_root (const struct extension_env *env, char **root, pgimg_error_t *err)
{
        return rootfs_cross_root (env->cache_dir, env->host_lock, "build", env->lock, ROOTFS_CROSS_TARGET_SET, root,
                                  err);
}
