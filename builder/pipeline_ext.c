/* pipeline_ext.c - the extension layers: the image sets and --with
 * items resolved into picks before any download, then one layer a pick,
 * in parallel where o->jobs allows (pipeline_parallel.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"

static int
strv_push (char ***v, size_t *n, const char *s)
{
        char **nv = realloc (*v, (*n + 2) * sizeof (char *));
        if (nv == NULL)
                return -1;
        *v = nv;
        if ((nv[*n] = strdup (s)) == NULL)
                return -1;
        nv[++*n] = NULL;
        return 0;
}

int
pipeline_set_load (const char *data_dir, const char *name, char ***items, pgimg_error_t *err)
{
        cleanup_free char *path = NULL;

        if (name[0] == '\0' || strchr (name, '/') || name[0] == '.')
                return pgimg_make_error (err, EINVAL, "`%s` is not an image set name (see images/)", name);
        if (asprintf (&path, "%s/images/%s.json", data_dir, name) < 0)
                return pipeline_oom (err, "image set");
        if (!fs_exists (path))
                return pgimg_make_error (err, ENOENT, "no image set `%s` (no `%s`)", name, path);
        return ext_image_set_load (path, items, err);
}

/* The items of the image sets that build for this major, then --with. */
static int
gather_items (const struct pipeline_opts *o, struct pipeline_result *res, char ***items,
              pgimg_error_t *err)
{
        size_t n = 0, n_skipped = 0;

        for (size_t i = 0; o->sets && o->sets[i]; i++) {
                cleanup_strv char **set = NULL;
                if (pipeline_set_load (o->data_dir, o->sets[i], &set, err) < 0)
                        return -1;
                for (size_t j = 0; set && set[j]; j++) {
                        const char *one[] = { set[j], NULL };
                        struct extension_pick *p = NULL;
                        size_t np = 0;
                        pgimg_error_t e = NULL;
                        int jit = pipeline_jit_wanted (set[j], err);
                        if (jit < 0)
                                return pgimg_error_wrap (err, "image set `%s`", o->sets[i]);
                        if (jit && pipeline_is_cross (res->arch)) {
                                /* As for an extension that does not cross-build. */
                                progress_note ("leaving out jit of set `%s`: the jit layer is not built for %s yet",
                                               o->sets[i], res->arch);
                                continue;
                        }
                        if (jit) {
                                res->with_jit = 1;
                                continue;
                        }
                        if (extension_resolve (res->ext_recipes, res->n_ext_recipes, one, res->recipe.major,
                                               &p, &np, &e) < 0) {
                                if (e->status != ENOTSUP) {
                                        *err = e;
                                        return pgimg_error_wrap (err, "image set `%s`", o->sets[i]);
                                }
                                pgimg_error_free (&e);
                                if (strv_push (&res->skipped, &n_skipped, set[j]) < 0)
                                        return pipeline_oom (err, "image set");
                                continue;
                        }
                        /* What does not build for a cross build's
                         * architecture is left out, saying why. */
                        for (size_t k = 0; pipeline_is_cross (res->arch) && k < np && e == NULL; k++)
                                if (extension_cross_supported (&p[k], res->recipe.major, res->arch, &res->host_lock, &e) < 0)
                                        progress_note ("leaving out %s of set `%s`: %s", set[j], o->sets[i], e->msg);
                        free (p);
                        if (e != NULL) {
                                pgimg_error_free (&e);
                                continue;
                        }
                        if (strv_push (items, &n, set[j]) < 0)
                                return pipeline_oom (err, "image set");
                }
        }
        for (size_t i = 0; o->with && o->with[i]; i++) {
                int jit = pipeline_jit_wanted (o->with[i], err);
                if (jit < 0)
                        return -1;
                if (jit)
                        res->with_jit = 1;
                else if (strv_push (items, &n, o->with[i]) < 0)
                        return pipeline_oom (err, "extensions");
        }
        return 0;
}

/* What the workers said of each pick; entries may be NULL. */
struct reports {
        char **msgs, **logs;
        size_t n;
};

static void
reports_free (struct reports *r)
{
        for (size_t i = 0; i < r->n; i++) {
                free (r->msgs ? r->msgs[i] : NULL);
                free (r->logs ? r->logs[i] : NULL);
        }
        free (r->msgs);
        free (r->logs);
}
#define cleanup_reports __attribute__ ((cleanup (reports_free)))

/* Every set, extension name and version named, resolved into
 * res->picks before anything is downloaded: a typo costs no download. */
int
pipeline_extension_picks (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_strv char **items = NULL;
        cleanup_free char *dir = NULL;

        if ((o->with == NULL || o->with[0] == NULL) && (o->sets == NULL || o->sets[0] == NULL))
                return 0;
        if (asprintf (&dir, "%s/extensions", o->data_dir) < 0)
                return pipeline_oom (err, "extensions");
        if (ext_recipe_load_all (dir, &res->ext_recipes, &res->n_ext_recipes, err) < 0)
                return -1;
        if (gather_items (o, res, &items, err) < 0)
                return -1;
        for (size_t i = 0; res->skipped && res->skipped[i]; i++)
                progress_note ("leaving out %s: it does not support PostgreSQL %s", res->skipped[i],
                               res->recipe.major);
        if (items && extension_resolve (res->ext_recipes, res->n_ext_recipes, (const char *const *) items,
                                        res->recipe.major, &res->picks, &res->n_picks, err) < 0)
                return -1;
        /* base, postgres, the entrypoint, jit and the SBOM */
        if (res->n_picks + 5 > PIPELINE_MAX_LAYERS)
                return pgimg_make_error (err, E2BIG, "%zu extensions: an image holds at most %d",
                                         res->n_picks, PIPELINE_MAX_LAYERS - 5);
        return 0;
}

/* The layers of what pick i requires, which are below it in the list,
 * into below (16 at most); *missing names one that failed. */
static size_t
layers_below (const struct pipeline_result *res, size_t i, struct extension_layer below[16], const char **missing)
{
        size_t n_below = 0;

        for (char **q = res->picks[i].recipe->requires; q && *q; q++)
                for (size_t j = 0; j < i && n_below < 16; j++)
                        if (strcmp (res->picks[j].recipe->name, *q) == 0) {
                                if (res->ext_layers[j].failed_msg)
                                        *missing = res->ext_layers[j].name;
                                below[n_below++] = res->ext_layers[j];
                        }
        return n_below;
}

/* Append ext_layers[i] to the image's layers. */
static struct pipeline_layer *
append_layer (struct pipeline_result *res, const struct extension_layer *l, pgimg_error_t *err)
{
        struct pipeline_layer *pl = &res->layers[res->n_layers++];

        pl->name = l->name;
        memcpy (pl->key, l->key, sizeof (pl->key));
        pl->desc = l->desc;
        pl->built = l->built;
        if ((pl->comment = strdup (l->comment)) == NULL) {
                pipeline_oom (err, "extensions");
                return NULL;
        }
        return pl;
}

/* A plan: each pick's key, looked up; nothing built. */
static int
plan_extensions (const struct pipeline_opts *o, const struct extension_env *env, struct pipeline_result *res,
                 pgimg_error_t *err)
{
        for (size_t i = 0; i < res->n_picks; i++) {
                struct extension_layer below[16];
                const char *missing = NULL;
                size_t n_below = layers_below (res, i, below, &missing);
                struct pipeline_layer *pl;

                if (extension_layer_key (env, &res->picks[i], below, n_below, &res->ext_layers[i], err) < 0
                    || (pl = append_layer (res, &res->ext_layers[i], err)) == NULL
                    || pipeline_plan_layer (o, res, "extension", pl->name, pl, err) < 0)
                        return -1;
                res->ext_layers[i].desc = pl->desc;
        }
        return 0;
}

/* The layer of pick i into res->ext_layers[i] and, when it is there,
 * res->layers; outcome is what a worker said of it (1 built, 0 cached,
 * -1 failed: rep says why, or no worker ran).  A failure is recorded in
 * the layer with o->keep_going, else returned. */
static int
pick_layer (const struct pipeline_opts *o, const struct extension_env *env, struct pipeline_result *res,
            size_t i, int outcome, struct reports *rep, pgimg_error_t *err)
{
        const struct extension_pick *pick = &res->picks[i];
        struct extension_layer *l = &res->ext_layers[i];
        struct extension_layer below[16];
        const char *missing = NULL;
        size_t n_below;

        if (outcome < 0) {
                if (!o->keep_going) {
                        res->failed_log = steal_pointer (&rep->logs[i]);
                        return pgimg_make_error (err, EIO, "%s", rep->msgs[i] ? rep->msgs[i] : "build failed");
                }
                if (asprintf (&l->name, "%s@%s", pick->recipe->name, pick->version->version) < 0)
                        return pipeline_oom (err, "extensions");
                l->failed_msg = steal_pointer (&rep->msgs[i]);
                progress_note ("%s", l->failed_msg ? l->failed_msg : "build failed");
                return 0;
        }
        n_below = layers_below (res, i, below, &missing);
        if (missing && o->keep_going) {
                if (asprintf (&l->name, "%s@%s", pick->recipe->name, pick->version->version) < 0
                    || asprintf (&l->failed_msg, "needs `%s`, which failed", missing) < 0)
                        return pipeline_oom (err, "extensions");
                return 0;
        }
        if (extension_layer (env, pick, below, n_below, l, err) < 0) {
                if (!o->keep_going) {
                        if (l->failed_log)
                                res->failed_log = strdup (l->failed_log);
                        return -1;
                }
                /* Recorded; the image is made of the others. */
                l->failed_msg = steal_pointer (&(*err)->msg);
                pgimg_error_free (err);
                if (l->name == NULL && asprintf (&l->name, "%s@%s", pick->recipe->name, pick->version->version) < 0)
                        return pipeline_oom (err, "extensions");
                progress_note ("%s", l->failed_msg);
                return 0;
        }
        if (outcome > 0)
                l->built = 1;   /* by a worker */
        return append_layer (res, l, err) == NULL ? -1 : 0;
}

int
pipeline_extension_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct extension_env env;

        if (res->n_picks == 0)
                return 0;
        if (res->n_layers + res->n_picks + 1 > PIPELINE_MAX_LAYERS)
                return pgimg_make_error (err, E2BIG, "%zu extensions: an image holds at most %d",
                                         res->n_picks, PIPELINE_MAX_LAYERS - 4);
        res->ext_layers = calloc (res->n_picks + 1, sizeof (*res->ext_layers));
        if (res->ext_layers == NULL)
                return pipeline_oom (err, "extensions");
        env = (struct extension_env) {
                .cache_dir = o->cache_dir, .blob_dir = res->blob_dir, .lock = &res->lock,
                .major = res->recipe.major, .arch = res->arch,
                .host_lock = pipeline_is_cross (res->arch) ? &res->host_lock : NULL, .dev_key = res->dev.key, .dev = &res->dev.desc,
                .pg_version = res->version->version, .pg_urls = (const char *const *) res->version->urls,
                .pg_n_urls = res->version->n_urls, .pg_sha256 = res->version->sha256,
                .pg_configure = res->recipe.configure_args,
                .source_date_epoch = res->source_date_epoch, .compression = o->compression,
                .jobs = o->jobs, .timings = o->timings,
        };
        cleanup_free int *outcome = calloc (res->n_picks + 1, sizeof (int));
        cleanup_reports struct reports rep = { calloc (res->n_picks + 1, sizeof (char *)),
                                               calloc (res->n_picks + 1, sizeof (char *)), res->n_picks };
        char **msgs = rep.msgs, **logs = rep.logs;
        if (outcome == NULL || msgs == NULL || logs == NULL)
                return pipeline_oom (err, "extensions");
        if (o->plan)
                return plan_extensions (o, &env, res, err);
        /* Leases are taken and waited for by the scheduler, even for one
         * layer at a time. */
        if (((o->jobs > 1 && res->n_picks > 1) || o->lease)
            && pipeline_build_in_parallel (o, &env, res, outcome, msgs, logs, err) < 0)
                return -1;
        for (size_t i = 0; i < res->n_picks; i++)
                if (pick_layer (o, &env, res, i, outcome[i], &rep, err) < 0)
                        return -1;
        return 0;
}

