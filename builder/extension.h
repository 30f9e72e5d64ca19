/* extension.h - the extension layers of an image: one per (major,
 * extension, version), built in the sandbox against the postgres-dev
 * layer of that major, or taken from a pinned Debian build, and cached
 * by their inputs like every other layer.  Resolving `--with` lists
 * against extensions/ and writing the image are done here and in oci/.
 */
#ifndef PGIMG_EXTENSION_H
#define PGIMG_EXTENSION_H

#include <stddef.h>

#include "builder/lock.h"
#include "builder/recipe.h"
#include "common/error.h"
#include "common/timings.h"
#include "layers/layer.h"

/* Bumped whenever the extension build logic changes a layer's files. */
#define EXTENSION_LOGIC_VERSION "1"

/* One extension version chosen for an image. */
struct extension_pick {
        const struct ext_recipe *recipe;        /* points into the loaded recipes */
        const struct ext_version *version;
        /* Another version of the same recipe is in the image: this one's
         * layer installs its modules under versioned names (ext_side.h),
         * and its key says so. */
        int side_by_side;
};

/* Resolve "pgvector,pg_cron@1.6.5" items (each "name" or "name@version")
 * for major against recipes: requires added, duplicates merged, sorted
 * by name then version (so the newest version of one extension is the
 * upper layer), side_by_side set where one recipe has several.  *out malloc'ed.  Errors name the extension, the version
 * and the major. */
int extension_resolve (const struct ext_recipe *recipes, size_t n_recipes,
                       const char *const *items, const char *major,
                       struct extension_pick **out, size_t *n_out, pgimg_error_t *err);

struct jobserver;

/* What building one extension layer needs from the PostgreSQL build. */
struct extension_env {
        const char *cache_dir;
        const char *blob_dir;
        const struct lock *lock;
        const char *major;
        /* The image's Debian architecture: NULL or "amd64", or "arm64",
         * cross-built (Debian's arm64 builds, debs_arm64; lock is the
         * arm64 lock). */
        const char *arch;
        const struct lock *host_lock;           /* a cross build's toolchain lock, or NULL */
        const char *dev_key;                    /* the postgres-dev layer's key ... */
        const struct layer_desc *dev;           /* ... and blob */
        /* PostgreSQL's own source, for the parts of it built as
         * extension layers (plperl, plpython3u, pltcl). */
        const char *pg_version;
        const char *const *pg_urls;
        size_t pg_n_urls;
        const char *pg_sha256;
        char *const *pg_configure;
        long long source_date_epoch;
        enum layer_compression compression;
        int jobs;
        /* The token pool its build steps share with those beside it, or
         * NULL (build.h); it changes no key and no output. */
        const struct jobserver *jobserver;
        struct timings *timings;                /* may be NULL (pipeline_opts) */
};

struct extension_layer {
        char key[SHA256_HEX_LEN + 1];
        struct layer_desc desc;
        int built;
        char *name;                             /* "pgvector@0.8.0", malloc'ed */
        char *comment;                          /* history, malloc'ed */
        char *failed_log;                       /* set when the build failed */
        char *failed_msg;                       /* keep_going: why it is not in the image */
        double waited;                          /* seconds its build waited for a job slot */
};

/* Build (or take from the cache) the layer of pick; below holds the
 * layers of the picks it requires (already built).  On failure the
 * error names extension, version and major, and l->failed_log the log. */
int extension_layer (const struct extension_env *env, const struct extension_pick *pick,
                     const struct extension_layer *below, size_t n_below,
                     struct extension_layer *l, pgimg_error_t *err);
/* Only l's name, comment and key, as extension_layer makes them: no
 * lookup, nothing built (a plan). */
int extension_layer_key (const struct extension_env *env, const struct extension_pick *pick,
                         const struct extension_layer *below, size_t n_below, struct extension_layer *l,
                         pgimg_error_t *err);
void extension_layer_free (struct extension_layer *l);

/* 0 when pick builds for major on the Debian architecture arch other
 * than amd64 (docs/platforms.md): a Debian build pinned for it
 * (debs_arm64), or PGXS whose build packages are all in set `build` of
 * the toolchain's lock host_lock (may be NULL: none is), cross-built;
 * else ENOTSUP, one line naming the extension and why. */
int extension_cross_supported (const struct extension_pick *pick, const char *major, const char *arch,
                               const struct lock *host_lock, pgimg_error_t *err);

/* The lock sets that a recipe's packages go to. */
int extension_set_names (const struct ext_recipe *r, char **build_set, char **runtime_set,
                         pgimg_error_t *err);

#endif
