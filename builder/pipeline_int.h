/* pipeline_int.h - what the files of the build pipeline share; not for
 * use outside builder/pipeline*.c.  pipeline.c runs the steps in order:
 * the base layer, the PostgreSQL layers (pipeline_pg.c), the extension
 * layers (pipeline_ext.c, pipeline_parallel.c), the entrypoint layer and
 * the image definition (pipeline_image.c), the SBOM layer
 * (pipeline_sbom.c). */
#ifndef PGIMG_PIPELINE_INT_H
#define PGIMG_PIPELINE_INT_H

#include "builder/extension.h"
#include "builder/pipeline.h"

#include <sys/types.h>

/* ENOMEM, wrapped as "what"; returns <0. */
int pipeline_oom (pgimg_error_t *err, const char *what);

/* Look l->key up in the layer cache; on a hit fill l->desc, mark it
 * cached and return 1; 0 on a miss. */
int pipeline_lookup (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err);
/* Mark l built and record it in the layer cache under l->key. */
int pipeline_store (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err);
/* *path (malloc'ed, even on failure) is root/rel, whose missing parent
 * directories are made 0755. */
int pipeline_path_in (const char *root, const char *rel, char **path, pgimg_error_t *err);
/* root/rel holds len bytes of data (written atomically), its missing
 * parent directories made 0755. */
int pipeline_write_in (const char *root, const char *rel, const void *data, size_t len, mode_t mode,
                       pgimg_error_t *err);
/* In a plan (o->plan): look l->key up, the local cache first (read
 * only), then o->remote; fill l->desc and l->state.  -1 on error. */
int pipeline_plan_lookup (const struct pipeline_opts *o, struct pipeline_layer *l, pgimg_error_t *err);
/* The same, and add the step (name "NAME@VERSION" or "NAME") to
 * res->plan. */
int pipeline_plan_layer (const struct pipeline_opts *o, struct pipeline_result *res, const char *step,
                         const char *name, struct pipeline_layer *l, pgimg_error_t *err);
/* Add a step whose state is already known (l->state); l->key "" and
 * after non-NULL when the key needs that earlier step's output. */
void pipeline_plan_add (struct pipeline_result *res, const char *step, const char *name,
                        const struct pipeline_layer *l, const char *after);
/* The lowest of res->layers whose output a plan does not know (it
 * would be built), or NULL. */
const struct pipeline_layer *pipeline_plan_unknown (const struct pipeline_result *res);

/* The layer options every layer of res is written with. */
void pipeline_layer_opts (const struct pipeline_opts *o, const struct pipeline_result *res,
                          struct layer_opts *lo);

/* The steps; each appends its layers to res->layers. */
int pipeline_postgres_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err);
int pipeline_extension_picks (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err);
int pipeline_extension_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err);
int pipeline_entrypoint_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err);
/* The top layer: the SPDX document of the layers below (res->sbom). */
int pipeline_sbom_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err);

/* A part of a PostgreSQL build: the phase `--timings` names it by, and
 * the sh script run for it in the sandbox. */
struct pipeline_build_part {
        const char *phase;
        const char *script;
};
/* The parts of the jit layer's build that follow unpack and configure
 * (pipeline_pg.c runs those), *n of them; static storage. */
const struct pipeline_build_part *pipeline_jit_parts (size_t *n);
/* res->jit's name, comment and key, made from the postgres layer's key
 * (its unpack and configure), the jit build's parts, the lock's set
 * `jit` and the runtime set. */
int pipeline_jit_key (const struct pipeline_opts *o, struct pipeline_result *res, const char *postgres_key,
                      pgimg_error_t *err);
/* Move the JIT files installed into out_dir by the jit build's parts
 * (pipeline_jit_parts) into <work_dir>/jit, add the LLVM
 * packages, check their libraries and write res->jit.desc; sets
 * res->jit_present.  A server built without llvmjit.so writes nothing
 * and is no error here. */
int pipeline_jit_write (const struct pipeline_opts *o, struct pipeline_result *res, const char *out_dir,
                        const char *work_dir, pgimg_error_t *err);
/* Append res->jit to the image's layers when res->with_jit; an error
 * naming the recipe when its server has no llvmjit.so. */
int pipeline_jit_layer (struct pipeline_result *res, pgimg_error_t *err);

/* res->env, res->volume and res->tags, from the recipe. */
int pipeline_image_env (struct pipeline_result *res, pgimg_error_t *err);
/* res->image from the layers, env, volume and tags. */
void pipeline_image_define (struct pipeline_result *res);

/* Build every pick's layer into the cache with up to 2 × o->jobs
 * workers whose build steps share a jobserver of o->jobs tokens (o->jobs
 * workers of a share each with PGIMG_JOBSERVER=0), a pick starting once
 * the picks it requires are done.  outcome[i]:
 * 1 built, 0 cached, -1 failed (msgs[i], logs[i] say why). */
int pipeline_build_in_parallel (const struct pipeline_opts *o, const struct extension_env *env,
                                struct pipeline_result *res, int *outcome, char **msgs, char **logs,
                                pgimg_error_t *err);

#endif
