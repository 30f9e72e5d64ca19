/* pipeline_jit.c - the jit layer: PostgreSQL's LLVM provider
 * (llvmjit.so, llvmjit_types.bc) and its bitcode, with the LLVM
 * libraries it loads (set `jit` of the lock, less the runtime base's
 * packages).  It is a build of its own (pipeline_pg.c), made only when
 * `jit` is asked for: the same source configured with the recipe's LLVM
 * arguments, of which only these files are kept.  The server's own
 * build leaves those arguments out (PostgreSQL's core has no code that
 * depends on them: it loads the provider at run time), so the postgres
 * layer is the same with and without jit, and an image without jit does
 * not pay for compiling every file to bitcode.  The layer goes on top
 * of the entrypoint layer, so that every layer below stays the same. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/elfcheck.h"
#include "builder/pipeline_int.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/cache.h"

#define JIT_SET "jit"

/* What of PostgreSQL's install the jit layer holds, relative to
 * $pkglibdir: llvmjit.so first (without it there is no JIT). */
static const char *const jit_files[] = { "llvmjit.so", "llvmjit_types.bc", "bitcode", NULL };

/* Documentation of the LLVM packages stays out; their licences stay
 * (the SBOM reads them). */
static const char *const jit_exclude[] = {
        "usr/share/doc/*/*", "usr/share/man", "usr/share/info", "usr/share/locale",
        "usr/share/lintian", NULL,
};
static const char *const jit_keep[] = { "usr/share/doc/*/copyright", NULL };

int
pipeline_jit_wanted (const char *item, pgimg_error_t *err)
{
        if (strncmp (item, PIPELINE_JIT_ITEM "@", sizeof (PIPELINE_JIT_ITEM)) == 0)
                return pgimg_make_error (err, EINVAL,
                                         "`%s`: the jit layer has no versions (its LLVM is the lock's); write `" PIPELINE_JIT_ITEM "`",
                                         item);
        return strcmp (item, PIPELINE_JIT_ITEM) == 0;
}

int
pipeline_jit_key (const struct pipeline_opts *o, struct pipeline_result *res, const char *postgres_key,
                  pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->jit;
        struct layer_key k = LAYER_KEY_INIT;
        char jit_digest[SHA256_HEX_LEN + 1];
        char base_digest[SHA256_HEX_LEN + 1];

        l->name = "jit";
        if (lock_find_set (&res->lock, JIT_SET) == NULL)
                return pgimg_make_error (err, ENOENT, "the lock `%s` has no set `" JIT_SET "`; run `pgimg lock`",
                                         res->lock.path);
        if (lock_set_digest (&res->lock, JIT_SET, jit_digest, err) < 0
            || lock_set_digest (&res->lock, "runtime", base_digest, err) < 0)
                return -1;
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "jit", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "postgres", postgres_key, err) < 0
            || layer_key_add (&k, "set", jit_digest, err) < 0
            || layer_key_add (&k, "base-set", base_digest, err) < 0
            || layer_key_add (&k, "dpkg-status", ROOTFS_STATUS_VERSION, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        if (asprintf (&l->comment, "pgimg: JIT for PostgreSQL %s (llvmjit, bitcode, LLVM of set " JIT_SET ")",
                      res->version->version) < 0) {
                l->comment = NULL;
                return pipeline_oom (err, "jit layer");
        }
        return 0;
}

/* Move PostgreSQL's JIT files from the install in out_dir to the same
 * place under jit_dir.  0 when llvmjit.so is there, 1 when it is not
 * (a server built without --with-llvm: nothing is moved). */
static int
move_jit_files (const char *out_dir, const char *jit_dir, const char *major, pgimg_error_t *err)
{
        cleanup_free char *from_lib = NULL;
        cleanup_free char *to_lib = NULL;

        if (asprintf (&from_lib, "%s/usr/lib/postgresql/%s/lib", out_dir, major) < 0
            || asprintf (&to_lib, "%s/usr/lib/postgresql/%s/lib", jit_dir, major) < 0)
                return pipeline_oom (err, "jit layer");
        for (size_t i = 0; jit_files[i]; i++) {
                cleanup_free char *from = NULL;
                cleanup_free char *to = NULL;
                if (asprintf (&from, "%s/%s", from_lib, jit_files[i]) < 0
                    || asprintf (&to, "%s/%s", to_lib, jit_files[i]) < 0)
                        return pipeline_oom (err, "jit layer");
                if (!fs_exists (from)) {
                        if (i == 0)
                                return 1;
                        continue;
                }
                if (fs_mkdir_p (to_lib, 0755, err) < 0)
                        return -1;
                if (rename (from, to) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s` to `%s`", from, to);
        }
        return 0;
}

/* The layer's tree in jit_dir: the JIT files and the LLVM packages,
 * every library they need found in the tree, the runtime base or
 * PostgreSQL's install (out_dir).  1: no llvmjit.so in out_dir. */
static int
jit_tree (const struct pipeline_opts *o, struct pipeline_result *res, const char *out_dir,
          const char *jit_dir, struct owner_map *owners, pgimg_error_t *err)
{
        const char *base_set[] = { "runtime", NULL };
        cleanup_free char *base = NULL;
        int r;

        if (fs_mkdir_p (jit_dir, 0755, err) < 0)
                return -1;
        if ((r = move_jit_files (out_dir, jit_dir, res->recipe.major, err)) != 0)
                return r;
        if (rootfs_unpack_extra (o->cache_dir, &res->lock, JIT_SET, "runtime", jit_dir, owners, err) < 0
            || rootfs_build_root_sets (o->cache_dir, &res->lock, base_set, &base, err) < 0)
                return -1;
        const char *roots[] = { base, out_dir, NULL };
        return elfcheck_tree (jit_dir, roots, err);
}

int
pipeline_jit_write (const struct pipeline_opts *o, struct pipeline_result *res, const char *out_dir,
                    const char *work_dir, pgimg_error_t *err)
{
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        cleanup_free char *jit_dir = NULL;
        struct layer_opts lo;
        int r;

        res->jit_present = 0;
        if (asprintf (&jit_dir, "%s/jit", work_dir) < 0)
                return pipeline_oom (err, "jit layer");
        r = jit_tree (o, res, out_dir, jit_dir, &owners, err);
        if (r < 0)
                return pgimg_error_wrap (err, "jit layer of PostgreSQL %s", res->version->version);
        if (r > 0)
                return 0;
        pipeline_layer_opts (o, res, &lo);
        lo.owners = &owners;
        lo.exclude = jit_exclude;
        lo.keep = jit_keep;
        if (layer_write (jit_dir, &lo, res->blob_dir, &res->jit.desc, err) < 0)
                return pgimg_error_wrap (err, "jit layer of PostgreSQL %s", res->version->version);
        res->jit_present = 1;
        return 0;
}

int
pipeline_jit_layer (struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];

        if (!res->with_jit)
                return 0;
        if (!res->jit_present)
                return pgimg_make_error (err, ENOENT,
                                         "PostgreSQL %s has no llvmjit.so: add --with-llvm to the configure list of `%s` for `" PIPELINE_JIT_ITEM "`",
                                         res->version->version, res->recipe.path);
        *l = res->jit;
        /* The comment is the image's now: freed with the layers. */
        res->jit.comment = NULL;
        res->n_layers++;
        return 0;
}
