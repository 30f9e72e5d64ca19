/* pipeline.h - the layers of a PostgreSQL image, built or taken from
 * the layer cache: the runtime base (Debian packages), PostgreSQL
 * itself, and the entrypoint with its configuration and the receipt,
 * and on top the SBOM (an SPDX document of all the others).
 * A layer whose inputs did not change is not rebuilt.  The pipeline
 * also defines the image these layers make (struct pipeline_image);
 * writing it is oci/'s job.
 */
#ifndef PGIMG_PIPELINE_H
#define PGIMG_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "builder/extension.h"
#include "builder/lock.h"
#include "builder/recipe.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/owners.h"
#include "common/timings.h"
#include "layers/cache.h"
#include "layers/layer.h"
#include "oci/image.h"

/* Bumped whenever the build logic changes what a layer contains. */
#define PIPELINE_LOGIC_VERSION "3"

struct pipeline_opts {
        const char *cache_dir;
        const char *data_dir;           /* versions/, lock/, image/ */
        const char *spec;               /* "postgres-15", "postgres-15.17" */
        enum layer_compression compression;
        int jobs;
        long long source_date_epoch;    /* <0: $SOURCE_DATE_EPOCH, else the lock's date */
        const char *pgimg_version;
        /* Extensions: "name" or "name@version" items that must build
         * (an unsupported major is an error), or "jit" (the jit layer:
         * llvmjit and LLVM) ... */
        const char *const *with;
        /* ... and image sets (images/<name>.json) whose items are left
         * out, with a note, where the major is not supported. */
        const char *const *sets;
        /* An extension whose layer fails to build is left out of the
         * image and recorded (its layer's failed_msg) instead of failing
         * the whole build. */
        int keep_going;
        /* Only what the extension layers need, the PostgreSQL layers and
         * the extension layers: no runtime base, entrypoint or SBOM
         * layer, and no image (res->image stays empty).  For `pgimg build
         * extension`, whose image is made of one layer of its own. */
        int extension_layers_only;
        /* Where the wall time of each step's phases is recorded (see
         * common/timings.h); NULL: nowhere.  Never part of a key. */
        struct timings *timings;
        /* Build nothing: compute every key that can be computed without
         * building, look each layer up in the cache (read only) and in
         * remote, and list the steps in res->plan.  Nothing is written to
         * the cache; res->image stays empty.  The same functions compute
         * the keys as in a build, so a plan never disagrees with one. */
        int plan;
        const struct layer_cache_entries *remote;       /* may be NULL */
        /* Leases on the keys of extension layers, shared with other
         * builders (docs/farm.md); NULL: none. */
        const struct pipeline_lease *lease;
        /* The Debian architecture of the image: NULL or "amd64" (the
         * machine pgimg runs on), or "arm64", cross-built from the
         * lock/trixie-arm64.lock.json and the cross toolchain of
         * lock/trixie-amd64-cross-arm64.lock.json (docs/platforms.md). */
        const char *arch;
};

/* Asked before an extension layer that no cache has is built. */
struct pipeline_lease {
        /* 1: build key (its lease is held, or there is none to hold); 0:
         * another builder holds it: build the other layers first. */
        int (*take) (void *ctx, const char *key, const char *name, pgimg_error_t *err);
        /* Once nothing else can be built, every few seconds: 1 when the
         * layer of key is now in the local cache (taken from the holder's
         * cache), 2 when this build holds its lease now and builds it, 0
         * while the other builder still holds it. */
        int (*poll) (void *ctx, const char *key, const char *name, pgimg_error_t *err);
        void *ctx;
};

/* Whether arch (an opts->arch) is cross-built. */
int pipeline_is_cross (const char *arch);

/* What a plan says of a layer: the local cache has it, the remote cache
 * has it (--cache-from), or it would be built. */
enum pipeline_state { PIPELINE_CACHED, PIPELINE_REMOTE, PIPELINE_BUILD };

struct pipeline_layer {
        const char *name;               /* "base", "postgres", "entrypoint" */
        char key[SHA256_HEX_LEN + 1];
        struct layer_desc desc;
        int built;                      /* 0: taken from the cache */
        enum pipeline_state state;      /* opts->plan: what the plan says of it */
        char *comment;                  /* history created_by, malloc'ed */
};

#define PIPELINE_MAX_LAYERS 160

/* One step of a plan.  key is "" when it depends on what an earlier
 * step that is not cached would make (after names that step). */
struct pipeline_step {
        const char *step;               /* "base", "postgres", "postgres-dev", "extension", … */
        char name[96];
        char version[64];
        char key[SHA256_HEX_LEN + 1];
        enum pipeline_state state;
        char after[128];
};

/* "cached", "remote", "build" */
const char *pipeline_state_name (enum pipeline_state s);

/* The image a build makes, defined in one place: entrypoint, cmd, user,
 * workdir, stop signal, env, volume, exposed port, labels and
 * annotations, its layers with their history, and its tags.  oci is
 * what oci/ writes and what pgimg's runtime runs (its env, volumes[0]
 * and layers); it points into the pipeline_result that holds it, which
 * must therefore not be copied or moved.  The receipt inside the image
 * is its entrypoint layer's (pipeline_receipt). */
#define PIPELINE_N_LABELS 6
struct pipeline_image {
        struct oci_image oci;
        char created[32];
        struct oci_kv labels[PIPELINE_N_LABELS];
        const char *volumes[2];
        struct layer_desc layers[PIPELINE_MAX_LAYERS];
        const char *comments[PIPELINE_MAX_LAYERS];
};

struct pipeline_result {
        struct recipe recipe;
        const struct recipe_version *version;   /* points into recipe */
        struct lock lock;               /* the image's architecture */
        struct lock host_lock;          /* cross builds: the toolchain's, else empty */
        const char *arch;               /* the image's Debian architecture */
        long long source_date_epoch;
        struct pipeline_layer layers[PIPELINE_MAX_LAYERS];     /* bottom first */
        size_t n_layers;
        struct pipeline_layer dev;      /* full install for extension builds; not in the image */
        struct pipeline_layer jit;      /* llvmjit and LLVM; in the image with `jit` only */
        struct pipeline_layer machine;  /* kernel, systemd, units: disk images only */
        int with_jit;                   /* `jit` was among the --with items or a set's */
        int jit_present;                /* res->jit is in the cache (built or found, when asked for) */
        char *blob_dir;
        char **env;                     /* image Env, NULL-terminated */
        char **tags;                    /* NULL-terminated */
        char *volume;
        char *lock_rel;                 /* lock path relative to data_dir */
        char *failed_log;               /* the log of a build step that failed */
        struct ext_recipe *ext_recipes; /* extensions/, when extensions were asked for */
        size_t n_ext_recipes;
        struct extension_pick *picks;   /* the image's extensions, bottom first */
        size_t n_picks;
        struct extension_layer *ext_layers;     /* one per pick */
        char **skipped;                 /* set items left out: "http (not for 13)" */
        char *sbom;                     /* the SPDX JSON of the SBOM layer, malloc'ed */
        size_t sbom_len;
        struct pipeline_image image;    /* what the layers make, once they are all there */
        struct pipeline_step plan[PIPELINE_MAX_LAYERS + 2];     /* opts->plan: the steps, bottom first */
        size_t n_plan;
};

/* Build (or take from the cache) every layer of opts->spec and define
 * the image they make (res->image).  res is filled even on failure
 * (res->failed_log may name a failed step's log): free it with
 * pipeline_result_free either way. */
int pipeline_postgres (const struct pipeline_opts *opts, struct pipeline_result *res,
                       pgimg_error_t *err);
void pipeline_result_free (struct pipeline_result *res);

/* The machine layer of a disk image (pipeline_machine.c): the packages
 * of the lock's set `machine` that the runtime base lacks (the cloud
 * kernel, systemd, OpenSSH), their module index, and the units that run
 * PostgreSQL as the image does, into res->machine (built or cached by
 * key).  Needs a res filled by pipeline_postgres. */
int pipeline_machine_layer (const struct pipeline_opts *opts, struct pipeline_result *res,
                            pgimg_error_t *err);

/* The item of --with and of image sets that asks for the jit layer. */
#define PIPELINE_JIT_ITEM "jit"
/* 1 when a --with or image set item is PIPELINE_JIT_ITEM, 0 when it
 * is something else; "jit@..." is an error. */
int pipeline_jit_wanted (const char *item, pgimg_error_t *err);

/* The items of image set name (<data_dir>/images/<name>.json) appended
 * to *items (a NULL-terminated vector the caller frees with strv_free):
 * a name that is no set's, or a missing or invalid file, is an error
 * naming it. */
int pipeline_set_load (const char *data_dir, const char *name, char ***items, pgimg_error_t *err);

/* The receipt for res as JSON; manifest_digest may be NULL. */
int pipeline_receipt (const struct pipeline_result *res, const char *pgimg_version,
                      size_t n_layers, const char *manifest_digest, struct buf *out,
                      pgimg_error_t *err);

/* The receipt beside a disk image of res (after pipeline_machine_layer):
 * the image's, without a manifest, with the machine layer, the packages
 * it adds to the runtime base, and the disk's format and size. */
int pipeline_disk_receipt (const struct pipeline_result *res, const char *pgimg_version, const char *disk_format,
                           uint64_t size_mib, struct buf *out, pgimg_error_t *err);

/* The SPDX SBOM beside a disk image of res (after pipeline_machine_layer):
 * the image's packages and the machine layer's, read from the layers. */
int pipeline_disk_sbom (const struct pipeline_opts *opts, const struct pipeline_result *res, struct buf *out,
                        pgimg_error_t *err);

/* The root of a disk image in dest (an existing empty directory): the
 * image's layers and res->machine unpacked in order, each blob checked,
 * the owners and modes the layers give recorded in owners.  seed gets
 * the sha256 of their diff_ids: what the disk's identifiers derive from. */
int pipeline_disk_tree (const struct pipeline_opts *opts, const struct pipeline_result *res, const char *dest,
                        struct owner_map *owners, char seed[SHA256_HEX_LEN + 1], pgimg_error_t *err);

#endif
