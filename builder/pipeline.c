/* pipeline.c - the build of a PostgreSQL image, step by step: the
 * recipe, the lock and the cache; then the runtime base layer, and the
 * steps of the other files (see pipeline_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/pipeline.h"
#include "builder/pipeline_int.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"

#define LOCK_REL "lock/trixie-amd64.lock.json"
#define ARM64_LOCK_REL "lock/trixie-arm64.lock.json"
#define ARM64_HOST_LOCK_REL "lock/trixie-amd64-cross-arm64.lock.json"

int
pipeline_is_cross (const char *arch)
{
        return arch != NULL && strcmp (arch, "amd64") != 0;
}

int
pipeline_oom (pgimg_error_t *err, const char *what)
{
        return pgimg_make_error_errno (err, ENOMEM, "%s", what);
}

/* Look the layer up; on a hit fill it and return 1. */
int
pipeline_lookup (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err)
{
        int r = layer_cache_lookup (cache_dir, l->key, &l->desc, err);
        if (r > 0)
                l->built = 0;
        return r;
}

int
pipeline_store (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err)
{
        l->built = 1;
        return layer_cache_store (cache_dir, l->key, &l->desc, err);
}

int
pipeline_path_in (const char *root, const char *rel, char **path, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL;

        if (asprintf (path, "%s/%s", root, rel) < 0) {
                *path = NULL;
                return pipeline_oom (err, rel);
        }
        if ((dir = strdup (*path)) == NULL)
                return pipeline_oom (err, rel);
        *strrchr (dir, '/') = '\0';
        return fs_mkdir_p (dir, 0755, err);
}

int
pipeline_write_in (const char *root, const char *rel, const void *data, size_t len, mode_t mode,
                   pgimg_error_t *err)
{
        cleanup_free char *p = NULL;

        if (pipeline_path_in (root, rel, &p, err) < 0)
                return -1;
        return fs_write_file_atomic (p, data, len, mode, err);
}

const char *
pipeline_state_name (enum pipeline_state s)
{
        return s == PIPELINE_CACHED ? "cached" : s == PIPELINE_REMOTE ? "remote" : "build";
}

void
pipeline_plan_add (struct pipeline_result *res, const char *step, const char *name,
                   const struct pipeline_layer *l, const char *after)
{
        struct pipeline_step *s = &res->plan[res->n_plan++];
        const char *at = strrchr (name, '@');
        int n = at ? (int) (at - name) : (int) strlen (name);

        memset (s, 0, sizeof (*s));
        s->step = step;
        snprintf (s->name, sizeof (s->name), "%.*s", n, name);
        snprintf (s->version, sizeof (s->version), "%s", at ? at + 1 : "");
        snprintf (s->key, sizeof (s->key), "%s", after ? "" : l->key);
        snprintf (s->after, sizeof (s->after), "%s", after ? after : "");
        s->state = after ? PIPELINE_BUILD : l->state;
}

int
pipeline_plan_lookup (const struct pipeline_opts *o, struct pipeline_layer *l, pgimg_error_t *err)
{
        int r = layer_cache_peek (o->cache_dir, l->key, &l->desc, err);

        if (r < 0)
                return -1;
        l->built = 0;
        if (r > 0)
                l->state = PIPELINE_CACHED;
        else if (layer_cache_entries_find (o->remote, l->key, &l->desc))
                l->state = PIPELINE_REMOTE;
        else
                l->state = PIPELINE_BUILD;
        return 0;
}

int
pipeline_plan_layer (const struct pipeline_opts *o, struct pipeline_result *res, const char *step,
                     const char *name, struct pipeline_layer *l, pgimg_error_t *err)
{
        if (pipeline_plan_lookup (o, l, err) < 0)
                return -1;
        pipeline_plan_add (res, step, name, l, NULL);
        return 0;
}

const struct pipeline_layer *
pipeline_plan_unknown (const struct pipeline_result *res)
{
        for (size_t i = 0; i < res->n_layers; i++)
                if (res->layers[i].state == PIPELINE_BUILD)
                        return &res->layers[i];
        return NULL;
}

void
pipeline_layer_opts (const struct pipeline_opts *o, const struct pipeline_result *res,
                 struct layer_opts *lo)
{
        memset (lo, 0, sizeof (*lo));
        lo->mtime = (time_t) res->source_date_epoch;
        lo->compression = o->compression;
}

static int
base_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        struct layer_key k = LAYER_KEY_INIT;
        char set_digest[SHA256_HEX_LEN + 1];
        char epoch[32];
        char *tmp = NULL;
        struct layer_opts lo;
        int r;

        l->name = "base";
        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (lock_set_digest (&res->lock, "runtime", set_digest, err) < 0)
                return -1;
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "base", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "runtime-files", ROOTFS_RUNTIME_VERSION, err) < 0
            || layer_key_add (&k, "set", set_digest, err) < 0
            || layer_key_add (&k, "dpkg-status", ROOTFS_STATUS_VERSION, err) < 0
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            /* amd64 keys stay what they were before other platforms. */
            || (pipeline_is_cross (res->arch) && layer_key_add (&k, "platform", res->arch, err) < 0)
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        if (asprintf (&l->comment, "pgimg: Debian packages of set runtime (%s)", res->lock_rel) < 0)
                return pipeline_oom (err, "base layer");
        res->n_layers++;
        if (o->plan)
                return pipeline_plan_layer (o, res, "base", "base", l, err);
        double t = timings_now ();
        if ((r = pipeline_lookup (o->cache_dir, l, err)) != 0) {
                if (r > 0)
                        timings_cached (o->timings, "base", "layer", t);
                return r < 0 ? -1 : 0;
        }
        if (fs_work_dir (o->cache_dir, "base", &tmp, err) < 0)
                return -1;
        pipeline_layer_opts (o, res, &lo);
        lo.owners = &owners;
        r = rootfs_assemble_runtime (o->cache_dir, &res->lock, "runtime", tmp, &owners, err);
        t = timings_since (o->timings, "base", "assemble runtime base", t);
        if (r == 0)
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        t = timings_since (o->timings, "base", "layer base", t);
        fs_drop_temp_dir (tmp);
        free (tmp);
        t = timings_since (o->timings, "base", "cleanup", t);
        if (r < 0)
                return pgimg_error_wrap (err, "runtime base");
        r = pipeline_store (o->cache_dir, l, err);
        timings_since (o->timings, "base", "cache store", t);
        return r;
}

/* Every package a recipe names for a set must be in that set of the lock. */
static int
check_in_set (const struct pipeline_result *res, const char *set_name, char *const *names,
              pgimg_error_t *err)
{
        const struct lock_set *set = lock_find_set (&res->lock, set_name);

        for (size_t j = 0; names && names[j]; j++) {
                int found = 0;
                for (size_t n = 0; set && n < set->n && !found; n++)
                        found = strcmp (set->packages[n], names[j]) == 0;
                if (!found)
                        return pgimg_make_error (err, ENOENT,
                                                 "package `%s` needed by `%s` is not in set `%s` of the lock `%s`; run `pgimg lock`",
                                                 names[j], res->recipe.path, set_name, res->lock.path);
        }
        return 0;
}

/* A cross build's toolchain lock, whose architecture must be the one
 * pgimg runs on. */
static int
load_host_lock (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (asprintf (&path, "%s/" ARM64_HOST_LOCK_REL, o->data_dir) < 0)
                return pipeline_oom (err, "build");
        if (lock_load (path, &res->host_lock, err) < 0)
                return -1;
        if (strcmp (res->host_lock.arch, "amd64") != 0)
                return pgimg_make_error (err, EINVAL, "`%s` is for %s, not amd64; run `pgimg lock` with its input",
                                         path, res->host_lock.arch);
        return 0;
}

/* The lock of the image's architecture (o->arch), and for a cross
 * build the toolchain's; every package the recipe names must be in them. */
static int
load_locks (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_free char *lock_path = NULL;
        int cross = pipeline_is_cross (o->arch);

        res->arch = cross ? o->arch : "amd64";
        if (cross && strcmp (res->arch, "arm64") != 0)
                return pgimg_make_error (err, EINVAL, "no lock for architecture `%s`; pgimg builds amd64 and arm64",
                                         res->arch);
        if ((res->lock_rel = strdup (cross ? ARM64_LOCK_REL : LOCK_REL)) == NULL
            || asprintf (&lock_path, "%s/%s", o->data_dir, res->lock_rel) < 0)
                return pipeline_oom (err, "build");
        if (lock_load (lock_path, &res->lock, err) < 0)
                return -1;
        if (cross && load_host_lock (o, res, err) < 0)
                return -1;
        /* A cross build leaves out the recipe's build packages, which
         * are the jit's (LLVM): there is no jit layer for other
         * architectures yet. */
        if ((!cross && check_in_set (res, "build", res->recipe.build_packages, err) < 0)
            || check_in_set (res, "runtime", res->recipe.runtime_packages, err) < 0)
                return -1;
        return 0;
}

/* What killed runs left half-written in the cache: the downloads, the
 * layer entries and the cache itself (a run's scratch directories).
 * The blob store sweeps itself when opened; <cache>/work and the roots
 * are swept where they are made. */
static int
sweep_cache (const char *cache_dir, pgimg_error_t *err)
{
        static const char *const subs[] = { "downloads/sha256", "layers" };

        if (fs_sweep_temps (cache_dir, err) < 0)
                return -1;
        for (size_t i = 0; i < sizeof (subs) / sizeof (subs[0]); i++) {
                cleanup_free char *dir = NULL;
                if (asprintf (&dir, "%s/%s", cache_dir, subs[i]) < 0)
                        return pipeline_oom (err, "cache");
                if (fs_sweep_temps (dir, err) < 0)
                        return -1;
        }
        return 0;
}

int
pipeline_postgres (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_free char *versions = NULL;
        const char *sde = getenv ("SOURCE_DATE_EPOCH");
        double t = timings_now ();

        memset (res, 0, sizeof (*res));
        if (asprintf (&versions, "%s/versions", o->data_dir) < 0)
                return pipeline_oom (err, "build");
        if (recipe_resolve (versions, o->spec, &res->recipe, &res->version, err) < 0)
                return -1;
        if (load_locks (o, res, err) < 0)
                return -1;
        if (o->source_date_epoch >= 0)
                res->source_date_epoch = o->source_date_epoch;
        else if (sde && *sde) {
                char *end;
                errno = 0;
                res->source_date_epoch = strtoll (sde, &end, 10);
                if (errno || *end || res->source_date_epoch < 0)
                        return pgimg_make_error (err, EINVAL,
                                                 "SOURCE_DATE_EPOCH=`%s` is not a number of seconds", sde);
        } else {
                res->source_date_epoch = res->lock.date;
        }
        t = timings_since (o->timings, "prepare", "recipe and lock", t);
        /* A plan writes nothing, not even the cache's directories. */
        if (o->plan) {
                if (asprintf (&res->blob_dir, "%s/blobs/sha256", o->cache_dir) < 0) {
                        res->blob_dir = NULL;
                        return pipeline_oom (err, "plan");
                }
        } else if (layer_cache_blob_dir (o->cache_dir, &res->blob_dir, err) < 0
                   || sweep_cache (o->cache_dir, err) < 0) {
                return -1;
        }
        t = timings_since (o->timings, "prepare", "cache sweep", t);
        if (pipeline_image_env (res, err) < 0)
                return -1;
        if (pipeline_extension_picks (o, res, err) < 0)
                return -1;
        if (res->with_jit && pipeline_is_cross (res->arch))
                return pgimg_make_error (err, ENOTSUP, "the jit layer is not built for %s yet; leave jit out of --with",
                                         res->arch);
        if (res->ext_recipes != NULL)
                timings_since (o->timings, "prepare", "extension recipes", t);
        if (!o->extension_layers_only && base_layer (o, res, err) < 0)
                return -1;
        if (pipeline_postgres_layers (o, res, err) < 0)
                return -1;
        if (pipeline_extension_layers (o, res, err) < 0)
                return -1;
        if (o->extension_layers_only)
                return 0;
        if (pipeline_entrypoint_layer (o, res, err) < 0)
                return -1;
        /* Above the entrypoint, whose receipt lists the layers below it:
         * an image with jit differs from one without by this layer only. */
        if (pipeline_jit_layer (res, err) < 0)
                return -1;
        if (o->plan && res->with_jit) {
                char name[96];
                snprintf (name, sizeof (name), "jit@%s", res->version->version);
                pipeline_plan_add (res, "jit", name, &res->layers[res->n_layers - 1], NULL);
        }
        if (pipeline_sbom_layer (o, res, err) < 0)
                return -1;
        if (!o->plan)
                pipeline_image_define (res);
        return 0;
}

void
pipeline_result_free (struct pipeline_result *res)
{
        for (size_t i = 0; i < res->n_layers; i++)
                free (res->layers[i].comment);
        free (res->dev.comment);
        free (res->jit.comment);
        free (res->machine.comment);
        free (res->blob_dir);
        strv_free (res->env);
        strv_free (res->tags);
        free (res->volume);
        free (res->lock_rel);
        free (res->failed_log);
        free (res->sbom);
        recipe_free (&res->recipe);
        lock_free (&res->lock);
        lock_free (&res->host_lock);
        for (size_t i = 0; res->ext_layers && i < res->n_picks; i++)
                extension_layer_free (&res->ext_layers[i]);
        free (res->ext_layers);
        free (res->picks);
        ext_recipes_free (res->ext_recipes, res->n_ext_recipes);
        strv_free (res->skipped);
        memset (res, 0, sizeof (*res));
}
