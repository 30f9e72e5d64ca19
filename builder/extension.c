#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/deb.h"
#include "builder/deb_version.h"
#include "builder/elfcheck.h"
#include "builder/ext_side.h"
#include "builder/ext_times.h"
#include "builder/extension.h"
#include "builder/extension_int.h"
#include "builder/fetch.h"
#include "builder/rootfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "layers/store.h"
#include "sandbox/resolve.h"

/* The build of one extension from source.  PostgreSQL's headers, PGXS
 * and pg_config are the postgres-dev layer, mounted read-only at
 * /usr/lib/postgresql with the layers of the recipes it requires.
 * with_llvm=no: the server is built --with-llvm (for the jit layer),
 * but an extension's layer must not change with jit, so PGXS makes no
 * bitcode (it would be left out of the layer anyway). */
static const char ext_script[] =
        "tar --no-same-owner -xf \"/in/$SOURCE\" --strip-components=1\n"
        "export PG_CONFIG=\"/usr/lib/postgresql/$PG_MAJOR/bin/pg_config\"\n"
        "export PATH=\"/usr/lib/postgresql/$PG_MAJOR/bin:$PATH\"\n"
        "case $BUILD in\n"
        "pgxs)\n"
        "  eval \"set -- $MAKE_ARGS\"\n"
        "  make -j\"$JOBS\" USE_PGXS=1 PG_CONFIG=\"$PG_CONFIG\" with_llvm=no \"$@\"\n"
        "  make install USE_PGXS=1 PG_CONFIG=\"$PG_CONFIG\" with_llvm=no DESTDIR=/out \"$@\" ;;\n"
        "autoconf)\n"
        "  [ -x configure ] || { [ -x autogen.sh ] && ./autogen.sh; }\n"
        "  eval \"set -- $CONFIGURE_ARGS\"\n"
        "  ./configure --with-pgconfig=\"$PG_CONFIG\" \"$@\"\n"
        "  eval \"set -- $MAKE_ARGS\"\n"
        "  make -j\"$JOBS\" with_llvm=no \"$@\"\n"
        "  make install with_llvm=no DESTDIR=/out \"$@\" ;;\n"
        "cmake)\n"
        "  eval \"set -- $CONFIGURE_ARGS\"\n"
        "  cmake -S . -B _pgimg -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG=\"$PG_CONFIG\" \"$@\"\n"
        "  cmake --build _pgimg -j \"$JOBS\"\n"
        "  DESTDIR=/out cmake --install _pgimg ;;\n"
        "meson)\n"
        "  eval \"set -- $CONFIGURE_ARGS\"\n"
        "  meson setup _pgimg --buildtype=release \"$@\"\n"
        "  meson compile -C _pgimg -j \"$JOBS\"\n"
        "  DESTDIR=/out meson install -C _pgimg ;;\n"
        "esac\n";

/* A part of PostgreSQL's own source (a procedural language): configured
 * as the server was, plus the recipe's options, then only its directory
 * (the recipe's make_args: -C src/pl/plperl) is built and installed. */
static const char pg_part_script[] =
        "tar --no-same-owner -xf \"/in/$SOURCE\" --strip-components=1\n"
        "eval \"set -- $PG_CONFIGURE_ARGS $CONFIGURE_ARGS\"\n"
        "./configure --prefix=\"/usr/lib/postgresql/$PG_MAJOR\" \"$@\"\n"
        "make -C src/backend generated-headers\n"
        "eval \"set -- $MAKE_ARGS\"\n"
        "make -j\"$JOBS\" with_llvm=no \"$@\"\n"
        "make with_llvm=no \"$@\" install-strip DESTDIR=/out\n";

/* Documentation and LLVM bitcode stay out of extension layers (a
 * Debian build brings bitcode; the layer must not depend on jit);
 * licences stay. */
static const char *const ext_exclude[] = {
        "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
        "usr/lib/postgresql/*/lib/bitcode", "usr/lib/postgresql/*/share/doc", NULL,
};
/* The same for a layer that installs .debs, whose copyright files stay
 * (the SBOM reads their licences); deb_exclude already dropped the rest
 * of their documentation. */
static const char *const ext_exclude_debs[] = {
        "usr/share/doc/*/*", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
        "usr/lib/postgresql/*/lib/bitcode", "usr/lib/postgresql/*/share/doc", NULL,
};
static const char *const keep_copyright[] = { "usr/share/doc/*/copyright", NULL };
static const char *const deb_exclude[] = {
        "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*", "usr/share/lintian/*",
        "usr/share/doc/*", "usr/lib/postgresql/*/lib/bitcode/*", NULL,
};
static const char *const merged_usr_links[] = { "bin", "sbin", "lib", "lib64", NULL };
static const char *const deb_include[] = { "usr/share/doc/*/copyright", NULL };

static int
oom (pgimg_error_t *err, const char *what)
{
        return pgimg_make_error_errno (err, ENOMEM, "%s", what);
}

int
extension_set_names (const struct ext_recipe *r, char **build_set, char **runtime_set,
                     pgimg_error_t *err)
{
        *build_set = *runtime_set = NULL;
        if (asprintf (build_set, "ext/%s/build", r->name) < 0) {
                *build_set = NULL;
                return oom (err, "extension sets");
        }
        if (asprintf (runtime_set, "ext/%s/runtime", r->name) < 0) {
                free (*build_set);
                *build_set = *runtime_set = NULL;
                return oom (err, "extension sets");
        }
        return 0;
}

/* ------------------------------------------------------------------ */
/* --with lists                                                        */

static const struct ext_recipe *
find_recipe (const struct ext_recipe *recipes, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp (recipes[i].name, name) == 0)
                        return &recipes[i];
        return NULL;
}

struct picks {
        struct extension_pick *v;
        size_t n, alloc;
};

static int
add_pick (struct picks *p, const struct ext_recipe *r, const struct ext_version *v, pgimg_error_t *err)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i].recipe == r && p->v[i].version == v)
                        return 0;
        if (p->n == p->alloc) {
                struct extension_pick *nv = realloc (p->v, (p->alloc = p->alloc * 2 + 8) * sizeof (*nv));
                if (nv == NULL)
                        return oom (err, "extensions");
                p->v = nv;
        }
        p->v[p->n] = (struct extension_pick) { r, v, 0 };
        p->n++;
        return 0;
}

static int
has_recipe (const struct picks *p, const struct ext_recipe *r)
{
        for (size_t i = 0; i < p->n; i++)
                if (p->v[i].recipe == r)
                        return 1;
        return 0;
}

static int
add_item (const struct ext_recipe *recipes, size_t n_recipes, const char *name,
          const char *version, const char *major, struct picks *p, int depth, pgimg_error_t *err)
{
        const struct ext_recipe *r = find_recipe (recipes, n_recipes, name);
        const struct ext_version *v;

        if (r == NULL)
                return pgimg_make_error (err, ENOENT,
                                         "unknown extension `%s` (no extensions/%s.json; `pgimg list --extensions` lists them)",
                                         name, name);
        if (depth > 8)
                return pgimg_make_error (err, ELOOP, "extension `%s`: requires form a cycle", name);
        /* A requirement already met by any version of it is met. */
        if (version == NULL && depth > 0 && has_recipe (p, r))
                return 0;
        if (ext_recipe_pick (r, version, major, &v, err) < 0)
                return -1;
        for (char **q = r->requires; q && *q; q++)
                if (add_item (recipes, n_recipes, *q, NULL, major, p, depth + 1, err) < 0)
                        return pgimg_error_wrap (err, "`%s` requires `%s`", r->name, *q);
        return add_pick (p, r, v, err);
}

static int
pick_cmp (const void *a, const void *b)
{
        const struct extension_pick *x = a, *y = b;
        int c = strcmp (x->recipe->name, y->recipe->name);
        return c ? c : deb_version_compare (x->version->version, y->version->version);
}

static void
emit_ordered (const struct picks *p, size_t i, struct extension_pick *out, size_t *n, char *emitted,
              int depth)
{
        if (emitted[i] || depth > 8)
                return;
        for (char **q = p->v[i].recipe->requires; q && *q; q++)
                for (size_t j = 0; j < p->n; j++)
                        if (j != i && strcmp (p->v[j].recipe->name, *q) == 0)
                                emit_ordered (p, j, out, n, emitted, depth + 1);
        if (!emitted[i]) {
                emitted[i] = 1;
                out[(*n)++] = p->v[i];
        }
}

int
extension_resolve (const struct ext_recipe *recipes, size_t n_recipes, const char *const *items,
                   const char *major, struct extension_pick **out, size_t *n_out, pgimg_error_t *err)
{
        struct picks p = { NULL, 0, 0 };

        *out = NULL;
        *n_out = 0;
        for (size_t i = 0; items && items[i]; i++) {
                cleanup_free char *name = strdup (items[i]);
                char *at;
                if (name == NULL) {
                        free (p.v);
                        return oom (err, "extensions");
                }
                at = strchr (name, '@');
                if (at)
                        *at++ = '\0';
                if (*name == '\0' || (at && *at == '\0')) {
                        free (p.v);
                        return pgimg_make_error (err, EINVAL,
                                                 "`%s` is not an extension: expected NAME or NAME@VERSION",
                                                 items[i]);
                }
                if (add_item (recipes, n_recipes, name, at, major, &p, 0, err) < 0) {
                        free (p.v);
                        return -1;
                }
        }
        if (p.n > 1)
                qsort (p.v, p.n, sizeof (*p.v), pick_cmp);
        /* What a pick requires must be below it: emit requirements first. */
        struct extension_pick *ordered = calloc (p.n + 1, sizeof (*ordered));
        char *emitted = calloc (p.n + 1, 1);
        size_t n = 0;
        if (ordered == NULL || emitted == NULL) {
                free (ordered);
                free (emitted);
                free (p.v);
                return oom (err, "extensions");
        }
        for (size_t i = 0; i < p.n; i++)
                emit_ordered (&p, i, ordered, &n, emitted, 0);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                        if (j != i && ordered[j].recipe == ordered[i].recipe)
                                ordered[i].side_by_side = 1;
        free (emitted);
        free (p.v);
        *out = ordered;
        *n_out = n;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Layers                                                              */

/* Quote a word for sh. */
static int
add_quoted (struct buf *b, char *const *words)
{
        for (; words && *words; words++) {
                if (buf_adds (b, "'") < 0)
                        return -1;
                for (const char *s = *words; *s; s++)
                        if ((*s == '\'' ? buf_adds (b, "'\\''") : buf_add (b, s, 1)) < 0)
                                return -1;
                if (buf_adds (b, "' ") < 0)
                        return -1;
        }
        return 0;
}

static int
has_set (const struct lock *lock, const char *set)
{
        return lock_find_set (lock, set) != NULL;
}

/* Whether the layer of r uses its lock set: only when the recipe names
 * packages for it (a set left in the lock by an older recipe is not). */
static int
uses_set (const struct extension_env *env, char *const *packages, const char *set)
{
        return packages[0] != NULL && has_set (env->lock, set);
}

/* Every package a recipe names must be in its set of the lock. */
static int
check_set (const struct extension_env *env, const struct ext_recipe *r, char *const *packages,
           const char *set_name, pgimg_error_t *err)
{
        const struct lock_set *set = lock_find_set (env->lock, set_name);

        for (size_t i = 0; packages[i]; i++) {
                int found = 0;
                for (size_t j = 0; set && j < set->n && !found; j++)
                        found = strcmp (set->packages[j], packages[i]) == 0;
                if (!found)
                        return pgimg_make_error (err, ENOENT,
                                                 "package `%s` of `%s` is not in set `%s` of the lock `%s`; run `pgimg lock`",
                                                 packages[i], r->path, set_name, env->lock->path);
        }
        return 0;
}

static int
check_sets (const struct extension_env *env, const struct ext_recipe *r, const char *build_set,
            const char *runtime_set, pgimg_error_t *err)
{
        /* A cross build's were checked in the toolchain's lock
         * (extension_cross_supported). */
        if (!extension_is_cross (env) && check_set (env, r, r->build_packages, build_set, err) < 0)
                return -1;
        return check_set (env, r, r->runtime_packages, runtime_set, err);
}

static int
compute_key (const struct extension_env *env, const struct extension_pick *pick,
             const struct ext_deb *deb, const char *build_set, const char *runtime_set,
             const struct extension_layer *below, size_t n_below, char key[SHA256_HEX_LEN + 1],
             pgimg_error_t *err)
{
        struct layer_key k = LAYER_KEY_INIT;
        char digest[SHA256_HEX_LEN + 1];
        char epoch[32];
        int rc = 0;

        snprintf (epoch, sizeof (epoch), "%lld", env->source_date_epoch);
        if (layer_key_init (&k, err) < 0)
                return -1;
        rc |= layer_key_add (&k, "layer", "extension", err);
        rc |= layer_key_add (&k, "logic", EXTENSION_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION, err);
        rc |= layer_key_add (&k, "recipe", pick->version->canonical, err);
        rc |= layer_key_add (&k, "major", env->major, err);
        rc |= layer_key_add (&k, "postgres-dev", env->dev_key, err);
        if (extension_is_cross (env))
                rc |= layer_key_add (&k, "platform", env->arch, err);
        /* Only then: a single version's layer keeps its key. */
        if (pick->side_by_side)
                rc |= layer_key_add (&k, "side-by-side", EXT_SIDE_KEY, err);
        if (deb) {
                const struct ext_deb *debs;
                size_t n = extension_arch_debs (env, pick->version, &debs);
                for (size_t i = 0; i < n; i++)
                        if (strcmp (debs[i].major, env->major) == 0)
                                rc |= layer_key_add (&k, "deb", debs[i].sha256, err);
        } else if (pick->recipe->build == EXT_BUILD_POSTGRES) {
                rc |= layer_key_add (&k, "source", env->pg_sha256, err);
                rc |= layer_key_add (&k, "postgres-version", env->pg_version, err);
                for (char *const *a = env->pg_configure; a && *a; a++)
                        rc |= layer_key_add (&k, "postgres-configure", *a, err);
                rc |= layer_key_add (&k, "script", pg_part_script, err);
        } else {
                rc |= layer_key_add (&k, "source", pick->version->sha256, err);
                rc |= layer_key_add (&k, "script", ext_script, err);
                if (extension_is_cross (env))
                        rc |= layer_key_add (&k, "pg_config", extension_cross_pg_config_script, err);
        }
        if (rc == 0 && extension_is_cross (env))
                rc = extension_cross_key (env, &k, err);
        else if (rc == 0 && lock_set_digest (env->lock, "build", digest, err) == 0)
                rc |= layer_key_add (&k, "build-set", digest, err);
        else
                rc = -1;
        /* A cross build's packages are in the toolchain's set `build`,
         * whose digest extension_cross_key added. */
        if (rc == 0 && !extension_is_cross (env) && uses_set (env, pick->recipe->build_packages, build_set)) {
                if (lock_set_digest (env->lock, build_set, digest, err) < 0)
                        rc = -1;
                else
                        rc |= layer_key_add (&k, "ext-build-set", digest, err);
        }
        /* A layer that installs .debs records them for scanners. */
        if (deb || uses_set (env, pick->recipe->runtime_packages, runtime_set))
                rc |= layer_key_add (&k, "dpkg-status", ROOTFS_STATUS_VERSION, err);
        if (rc == 0 && uses_set (env, pick->recipe->runtime_packages, runtime_set)) {
                char base[SHA256_HEX_LEN + 1];
                if (lock_set_digest (env->lock, runtime_set, digest, err) < 0
                    || lock_set_digest (env->lock, "runtime", base, err) < 0)
                        rc = -1;
                else
                        rc |= layer_key_add (&k, "ext-runtime-set", digest, err)
                              | layer_key_add (&k, "runtime-set", base, err);
        }
        for (size_t i = 0; rc == 0 && i < n_below; i++)
                rc |= layer_key_add (&k, "below", below[i].key, err);
        if (rc == 0) {
                rc |= layer_key_add (&k, "mtime", epoch, err);
                rc |= layer_key_add (&k, "compression", layer_media_type (env->compression), err);
        }
        if (rc != 0 || layer_key_final (&k, key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        return 0;
}

/* Unpack layer d from the blob store into dest: the blob's size and
 * sha256 are checked as it is opened, its diff_id as it is unpacked. */
static int
extract_layer (const char *blob_dir, const struct layer_desc *d, const char *dest, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;

        if (store_open (blob_dir, d->digest, d->size, &fd, err) < 0)
                return -1;
        return layer_extract_fd (fd, d->digest, d->diff_id, dest, NULL, err);
}

/* PostgreSQL's dev tree and the required extensions, unpacked into pg/. */
static int
unpack_below (const struct extension_env *env, const struct extension_layer *below, size_t n_below,
              const char *pg, pgimg_error_t *err)
{
        if (fs_mkdir_p (pg, 0755, err) < 0 || extract_layer (env->blob_dir, env->dev, pg, err) < 0)
                return pgimg_error_wrap (err, "postgres-dev layer");
        for (size_t i = 0; i < n_below; i++)
                if (extract_layer (env->blob_dir, &below[i].desc, pg, err) < 0)
                        return pgimg_error_wrap (err, "layer of `%s`", below[i].name);
        return 0;
}

/* mkdir -p path inside the build root: the root is shared, and a
 * symlink on the way (usr/lib -> ...) must not take the directory
 * outside it. */
static int
mount_point (const char *root, const char *path, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cleanup_fd int fd = -1;

        if (root_fd < 0)
                return pgimg_make_error_errno (err, errno, "open the build root `%s`", root);
        fd = resolve_mkdir_p (root_fd, path, 0755);
        if (fd < 0)
                return pgimg_make_error_errno (err, errno, "mkdir `%s/%s`", root, path);
        return 0;
}

static int
build_from_source (const struct extension_env *env, const struct extension_pick *pick,
                   const char *build_set, const char *tmp, struct extension_layer *l, pgimg_error_t *err)
{
        const struct ext_recipe *r = pick->recipe;
        const struct ext_version *v = pick->version;
        cleanup_buf struct buf make_args = BUF_INIT;
        cleanup_buf struct buf configure_args = BUF_INIT;
        cleanup_free char *src = NULL, *src_dir = NULL, *root = NULL, *what = NULL;
        cleanup_free char *build_dir = NULL, *out_dir = NULL, *pg = NULL, *pg_lib = NULL;
        cleanup_free char *logs = NULL, *log = NULL;
        cleanup_free char *e_source = NULL, *e_major = NULL, *e_build = NULL;
        cleanup_free char *e_make = NULL, *e_conf = NULL, *e_pgconf = NULL;
        cleanup_buf struct buf pg_configure = BUF_INIT;
        const char *sets[] = { "build", uses_set (env, r->build_packages, build_set) ? build_set : NULL, NULL };
        int part = r->build == EXT_BUILD_POSTGRES;
        double t = timings_now ();
        int rc;

        if (asprintf (&what, "%s %s", r->name, part ? env->pg_version : v->version) < 0)
                return oom (err, "extension");
        if ((part ? fetch_cached (env->cache_dir, env->pg_urls, env->pg_n_urls, env->pg_sha256, what, &src, err)
                  : fetch_cached (env->cache_dir, (const char *const *) v->urls, v->n_urls, v->sha256, what,
                                  &src, err)) < 0)
                return pgimg_error_wrap (err, "source of `%s`", what);
        t = timings_since (env->timings, l->name, "fetch", t);
        if ((rc = extension_is_cross (env) ? extension_cross_root (env, &root, err)
                                           : rootfs_build_root_sets (env->cache_dir, env->lock, sets, &root, err)) < 0)
                return -1;
        if (rc == 0)
                timings_cached (env->timings, l->name, "build root", t);
        else
                timings_since (env->timings, l->name, "assemble build root", t);
        if ((src_dir = strdup (src)) == NULL)
                return oom (err, "extension");
        *strrchr (src_dir, '/') = '\0';
        if (add_quoted (&make_args, r->make_args) < 0 || add_quoted (&configure_args, r->configure_args) < 0
            || add_quoted (&pg_configure, env->pg_configure) < 0
            || asprintf (&e_pgconf, "PG_CONFIGURE_ARGS=%s", pg_configure.data ? pg_configure.data : "") < 0
            || asprintf (&build_dir, "%s/build", tmp) < 0 || asprintf (&out_dir, "%s/out", tmp) < 0
            || asprintf (&pg, "%s/pg", tmp) < 0
            || asprintf (&pg_lib, "%s/pg/usr/lib/postgresql", tmp) < 0
            || asprintf (&logs, "%s/logs", env->cache_dir) < 0
            || asprintf (&log, "%s/%s-%s-pg%s.log", logs, r->name, part ? env->pg_version : v->version, env->major) < 0
            || asprintf (&e_source, "SOURCE=%s", strrchr (src, '/') + 1) < 0
            || asprintf (&e_major, "PG_MAJOR=%s", env->major) < 0
            || asprintf (&e_build, "BUILD=%s", ext_build_name (r->build)) < 0
            || asprintf (&e_make, "MAKE_ARGS=%s", make_args.data ? make_args.data : "") < 0
            || asprintf (&e_conf, "CONFIGURE_ARGS=%s", configure_args.data ? configure_args.data : "") < 0)
                return oom (err, "extension");
        if (fs_mkdir_p (build_dir, 0755, err) < 0 || fs_mkdir_p (out_dir, 0755, err) < 0
            || fs_mkdir_p (logs, 0755, err) < 0)
                return -1;
        /* The mount point lives in the shared root for good: one the
         * sandbox made would be removed when its step ends, and removing
         * a mount point detaches it in every namespace, under the feet
         * of a build running beside it. */
        if (mount_point (root, "usr/lib/postgresql", err) < 0)
                return -1;
        const struct sandbox_bind binds[] = {
                { src_dir, "/in", 0 },
                { pg_lib, "/usr/lib/postgresql", 0 },
                { build_dir, "/build", 1 },
                { out_dir, "/out", 1 },
        };
        const char *envv[] = { e_source, e_major, e_build, e_make, e_conf, e_pgconf, NULL };
        struct build_step step = {
                .name = what, .root_dir = root, .script = part ? pg_part_script : ext_script,
                .binds = binds, .n_binds = 4,
                .env = envv, .cwd = "/build", .log_path = log,
                .source_date_epoch = (time_t) env->source_date_epoch, .jobs = env->jobs,
                .jobserver = env->jobserver, .waited = &l->waited, .timings = env->timings, .timing_step = l->name, .timing_phase = "build",
        };
        progress_note ("building %s for PostgreSQL %s (log: %s)", what, env->major, log);
        if (build_run (&step, err) < 0) {
                l->failed_log = strdup (log);
                return -1;
        }
        return 0;
}

/* Move src's children into dst (created), merging directories. */
static int
move_tree (const char *src, const char *dst, pgimg_error_t *err)
{
        if (!fs_exists (dst)) {
                cleanup_free char *parent = strdup (dst);
                if (parent == NULL)
                        return oom (err, "relocate");
                *strrchr (parent, '/') = '\0';
                if (fs_mkdir_p (parent, 0755, err) < 0)
                        return -1;
                if (rename (src, dst) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s` to `%s`", src, dst);
                return 0;
        }
        return pgimg_make_error (err, EEXIST, "relocate: `%s` exists", dst);
}

/* A Debian build: the .deb's files, Debian's share directory moved to
 * pgimg's prefix (/usr/share/postgresql/N -> /usr/lib/postgresql/N/share). */
static int
take_debs (const struct extension_env *env, const struct extension_pick *pick,
           const char *out_dir, struct owner_map *owners, pgimg_error_t *err)
{
        struct deb_unpack_opts opts = { deb_exclude, deb_include, owners, 1 };
        const struct ext_version *v = pick->version;
        cleanup_free char *what = NULL, *from = NULL, *to = NULL;

        const struct ext_deb *debs;
        size_t n = extension_arch_debs (env, v, &debs);

        if (asprintf (&what, "%s %s (Debian %s build for %s)", pick->recipe->name, v->version,
                      extension_is_cross (env) ? env->arch : "amd64", env->major) < 0)
                return oom (err, "extension");
        for (size_t i = 0; i < n; i++) {
                const char *urls[] = { debs[i].url, NULL };
                cleanup_free char *path = NULL;
                if (strcmp (debs[i].major, env->major) != 0)
                        continue;
                if (fetch_cached (env->cache_dir, urls, 1, debs[i].sha256, what, &path, err) < 0)
                        return pgimg_error_wrap (err, "`%s`", what);
                if (deb_unpack (path, out_dir, &opts, err) < 0)
                        return pgimg_error_wrap (err, "unpack %s", what);
        }
        /* deb_unpack's merged-/usr links are the base's already. */
        for (size_t i = 0; merged_usr_links[i]; i++) {
                cleanup_free char *link = NULL;
                struct stat st;
                if (asprintf (&link, "%s/%s", out_dir, merged_usr_links[i]) < 0)
                        return oom (err, "extension");
                if (lstat (link, &st) == 0 && S_ISLNK (st.st_mode) && unlink (link) < 0)
                        return pgimg_make_error_errno (err, errno, "remove `%s`", link);
        }
        if (asprintf (&from, "%s/usr/share/postgresql/%s", out_dir, env->major) < 0
            || asprintf (&to, "%s/usr/lib/postgresql/%s/share", out_dir, env->major) < 0)
                return oom (err, "extension");
        if (fs_exists (from) && move_tree (from, to, err) < 0)
                return pgimg_error_wrap (err, "%s", what);
        return 0;
}

/* What goes into the layer of pick, into out_dir: its build (or its
 * .debs) over PostgreSQL's dev tree and the layers below, unpacked into
 * pg, its runtime packages; its ELF files checked.  Each phase's wall
 * time goes to env->timings. */
static int
layer_tree (const struct extension_env *env, const struct extension_pick *pick, int deb,
            const char *build_set, const char *runtime_set, const struct extension_layer *below,
            size_t n_below, const char *tmp, struct owner_map *owners, struct extension_layer *l,
            pgimg_error_t *err)
{
        const struct ext_recipe *r = pick->recipe;
        const char *base_set[] = { "runtime", NULL };
        cleanup_free char *out_dir = NULL, *pg = NULL, *base = NULL;
        double t = timings_now ();
        int rc;

        if (asprintf (&out_dir, "%s/out", tmp) < 0 || asprintf (&pg, "%s/pg", tmp) < 0)
                return oom (err, "extension");
        if (fs_mkdir_p (out_dir, 0755, err) < 0 || unpack_below (env, below, n_below, pg, err) < 0)
                return -1;
        if (!deb && extension_is_cross (env) && extension_cross_pg_config (env, pg, err) < 0)
                return -1;
        t = timings_since (env->timings, l->name, "unpack postgres-dev", t);
        if (deb) {
                if (take_debs (env, pick, out_dir, owners, err) < 0)
                        return -1;
                t = timings_since (env->timings, l->name, "unpack .debs", t);
        } else {
                if (build_from_source (env, pick, build_set, tmp, l, err) < 0)
                        return -1;
                t = timings_now ();
        }
        if (pick->side_by_side && ext_side_by_side (out_dir, env->major, pick->version->version, r->preload, err) < 0)
                return pgimg_error_wrap (err, "versions side by side");
        if (uses_set (env, r->runtime_packages, runtime_set)) {
                if (rootfs_unpack_extra (env->cache_dir, env->lock, runtime_set, "runtime", out_dir,
                                         owners, err) < 0)
                        return -1;
                t = timings_since (env->timings, l->name, "runtime packages", t);
        }
        /* The runtime base as an unpacked root, to look libraries up in. */
        if ((rc = rootfs_build_root_sets (env->cache_dir, env->lock, base_set, &base, err)) < 0)
                return -1;
        t = rc == 0 ? timings_cached (env->timings, l->name, "runtime root", t)
                    : timings_since (env->timings, l->name, "assemble runtime root", t);
        const char *roots[] = { base, pg, NULL };
        /* A cross build's files must be its architecture's, too. */
        if ((extension_is_cross (env) ? elfcheck_tree_arch (out_dir, roots, env->arch, err)
                                      : elfcheck_tree (out_dir, roots, err)) < 0)
                return -1;
        timings_since (env->timings, l->name, "ELF check", t);
        return 0;
}

/* What slicing the catalogue weighs an extension by (ext_times.h); a
 * record that cannot be written only leaves the weight unknown. */
static void
record_build_time (const struct extension_env *env, const char *name_at_version, double seconds)
{
        cleanup_free char *name = strdup (name_at_version);
        char *at = name ? strrchr (name, '@') : NULL;
        pgimg_error_t ignored = NULL;

        if (at == NULL)
                return;
        *at = '\0';
        if (ext_times_record (env->cache_dir, name, at + 1, env->major, seconds, &ignored) < 0)
                pgimg_error_free (&ignored);
}

/* Build the layer of pick into the blob store and the layer cache. */
static int
build_layer (const struct extension_env *env, const struct extension_pick *pick, int deb,
             const char *build_set, const char *runtime_set, const struct extension_layer *below,
             size_t n_below, struct extension_layer *l, pgimg_error_t *err)
{
        const struct ext_recipe *r = pick->recipe;
        int installs_debs = deb || uses_set (env, r->runtime_packages, runtime_set);
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        cleanup_free char *out_dir = NULL;
        struct layer_opts lo;
        char *tmp = NULL;
        double t, start = timings_now ();
        int rc;

        if (fs_work_dir (env->cache_dir, r->name, &tmp, err) < 0)
                return -1;
        rc = layer_tree (env, pick, deb, build_set, runtime_set, below, n_below, tmp, &owners, l, err);
        t = timings_now ();
        if (rc == 0 && asprintf (&out_dir, "%s/out", tmp) < 0)
                rc = oom (err, "extension");
        if (rc == 0) {
                memset (&lo, 0, sizeof (lo));
                lo.mtime = (time_t) env->source_date_epoch;
                lo.compression = env->compression;
                lo.owners = &owners;
                lo.exclude = installs_debs ? ext_exclude_debs : ext_exclude;
                lo.keep = installs_debs ? keep_copyright : NULL;
                rc = layer_write (out_dir, &lo, env->blob_dir, &l->desc, err);
                t = timings_since (env->timings, l->name, "layer", t);
        }
        fs_drop_temp_dir (tmp);
        free (tmp);
        t = timings_since (env->timings, l->name, "cleanup", t);
        if (rc < 0)
                return pgimg_error_wrap (err, "extension `%s` for PostgreSQL %s", l->name, env->major);
        l->built = 1;
        rc = layer_cache_store (env->cache_dir, l->key, &l->desc, err);
        timings_since (env->timings, l->name, "cache store", t);
        if (rc == 0)
                record_build_time (env, l->name, timings_now () - start - l->waited);
        return rc;
}

/* l's name, comment and key, and the lock sets of its packages
 * (malloc'ed into *build_set and *runtime_set). */
static int
layer_key_and_sets (const struct extension_env *env, const struct extension_pick *pick,
                    const struct extension_layer *below, size_t n_below, struct extension_layer *l,
                    char **build_set, char **runtime_set, pgimg_error_t *err)
{
        const struct ext_recipe *r = pick->recipe;
        const struct ext_version *v = pick->version;
        const struct ext_deb *deb = v->n_debs ? ext_version_deb_arch (v, env->major, env->arch) : NULL;

        memset (l, 0, sizeof (*l));
        if (asprintf (&l->name, "%s@%s", r->name, r->build == EXT_BUILD_POSTGRES ? env->pg_version : v->version) < 0) {
                l->name = NULL;
                return oom (err, "extension");
        }
        if (extension_is_cross (env) && extension_cross_supported (pick, env->major, env->arch, env->host_lock, err) < 0)
                return -1;
        if (v->n_debs && deb == NULL)
                return pgimg_make_error (err, ENOTSUP, "extension `%s`: no Debian build for PostgreSQL %s",
                                         l->name, env->major);
        if (asprintf (&l->comment, "pgimg: extension %s for PostgreSQL %s, %s", l->name,
                      env->major, deb ? "Debian build" : "built from source") < 0) {
                l->comment = NULL;
                return oom (err, "extension");
        }
        if (extension_set_names (r, build_set, runtime_set, err) < 0
            || check_sets (env, r, *build_set, *runtime_set, err) < 0)
                return -1;
        return compute_key (env, pick, deb, *build_set, *runtime_set, below, n_below, l->key, err);
}

int
extension_layer_key (const struct extension_env *env, const struct extension_pick *pick,
                     const struct extension_layer *below, size_t n_below, struct extension_layer *l,
                     pgimg_error_t *err)
{
        cleanup_free char *build_set = NULL, *runtime_set = NULL;

        return layer_key_and_sets (env, pick, below, n_below, l, &build_set, &runtime_set, err);
}

int
extension_layer (const struct extension_env *env, const struct extension_pick *pick,
                 const struct extension_layer *below, size_t n_below, struct extension_layer *l,
                 pgimg_error_t *err)
{
        const struct ext_version *v = pick->version;
        const struct ext_deb *deb = v->n_debs ? ext_version_deb_arch (v, env->major, env->arch) : NULL;
        cleanup_free char *build_set = NULL, *runtime_set = NULL;
        int rc;

        if (layer_key_and_sets (env, pick, below, n_below, l, &build_set, &runtime_set, err) < 0)
                return -1;
        double t = timings_now ();
        rc = layer_cache_lookup (env->cache_dir, l->key, &l->desc, err);
        if (rc > 0)
                timings_cached (env->timings, l->name, "layer", t);
        if (rc != 0)
                return rc < 0 ? -1 : 0;
        /* Another build of the same layer may be under way in this
         * cache: wait for it, and take what it stored. */
        cleanup_fd int lock = -1;
        if (layer_cache_lock (env->cache_dir, l->key, l->name, &lock, err) < 0
            || (rc = layer_cache_lookup (env->cache_dir, l->key, &l->desc, err)) < 0)
                return -1;
        if (rc > 0) {
                timings_since (env->timings, l->name, "wait for another build", t);
                return 0;
        }
        return build_layer (env, pick, deb != NULL, build_set, runtime_set, below, n_below, l, err);
}

void
extension_layer_free (struct extension_layer *l)
{
        free (l->name);
        free (l->comment);
        free (l->failed_log);
        free (l->failed_msg);
        memset (l, 0, sizeof (*l));
}
