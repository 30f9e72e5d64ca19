/* pipeline_pg.c - the PostgreSQL layers: the server built from source
 * in the build set's root, and the dev layer (headers, PGXS) that
 * extension builds use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/rootfs.h"
#include "layers/cache.h"
#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"

/* Headers, static archives and PGXS are for building extensions; the
 * image keeps the server and its modules only (they stay in the dev
 * layer, which extension builds use).  The JIT provider and bitcode
 * are the jit layer's (pipeline_jit.c). */
static const char *const pg_runtime_exclude[] = {
        "usr/lib/postgresql/*/include", "usr/lib/postgresql/*/lib/pgxs",
        "usr/lib/postgresql/*/lib/*.a", "usr/lib/postgresql/*/lib/pkgconfig",
        "usr/lib/postgresql/*/lib/llvmjit*", "usr/lib/postgresql/*/lib/bitcode", NULL,
};

/* The PostgreSQL build, in the parts whose wall time `--timings` shows.
 * Each part is a run of its own in the sandbox over the same /build and
 * /out, rather than one run that writes marker lines: pgimg times them
 * on its own clock, nothing is parsed out of a build's output or needs
 * a `date` in the root, and a failure names its part.  A sandbox costs
 * milliseconds to set up ("sandbox set-up" in the table).  The parts
 * share only their files: no shell variable reaches the next part.
 * The layer's key is made from their text put together (pg_script),
 * the script as it was when it ran in one piece: splitting it changed
 * no key.  Every major lives under its own prefix, so that several can
 * sit side by side (pg_upgrade needs the old bindir). */
static const struct pg_part {
        const char *phase;
        const char *script;
} pg_parts[] = {
        { "unpack source",
          "tar --no-same-owner -xf \"/in/$SOURCE\" --strip-components=1\n"
          /* The socket where Debian and the official image have it, so
           * that a socket directory shared between containers works the same. */
          "sed -i 's|^#define DEFAULT_PGSOCKET_DIR .*|#define DEFAULT_PGSOCKET_DIR \"/var/run/postgresql\"|' "
          "src/include/pg_config_manual.h\n"
          "grep -q '^#define DEFAULT_PGSOCKET_DIR \"/var/run/postgresql\"' src/include/pg_config_manual.h\n" },
        { "configure",
          "eval \"set -- $CONFIGURE_ARGS\"\n"
          "./configure --prefix=\"/usr/lib/postgresql/$PG_MAJOR\" \"$@\"\n" },
        { "make", "make -j\"$JOBS\"\n" },
        { "make contrib", "make -C contrib -j\"$JOBS\"\n" },
        { "install",
          "make install-strip DESTDIR=/out\n"
          "make -C contrib install-strip DESTDIR=/out\n" },
};
#define N_PG_PARTS (sizeof (pg_parts) / sizeof (pg_parts[0]))

/* The whole build script, for the layer's key. */
static int
pg_script (struct buf *out)
{
        for (size_t i = 0; i < N_PG_PARTS; i++)
                if (buf_adds (out, pg_parts[i].script) < 0)
                        return -1;
        return 0;
}

/* Quote a word for sh. */
static int
add_quoted (struct buf *b, const char *s)
{
        if (buf_adds (b, "'") < 0)
                return -1;
        for (; *s; s++)
                if ((*s == '\'' ? buf_adds (b, "'\\''") : buf_add (b, s, 1)) < 0)
                        return -1;
        return buf_adds (b, "' ");
}

/* The cache keys of the postgres layer and of the dev layer, which is
 * made from the same build, and their history comments. */
static int
postgres_keys (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
               pgimg_error_t *err)
{
        struct pipeline_layer *dev = &res->dev;
        const struct recipe_version *v = res->version;
        struct layer_key k = LAYER_KEY_INIT;
        cleanup_buf struct buf script = BUF_INIT;
        char set_digest[SHA256_HEX_LEN + 1];
        char dev_input[SHA256_HEX_LEN + 8];
        char epoch[32];

        l->name = "postgres";
        dev->name = "postgres-dev";
        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (lock_set_digest (&res->lock, "build", set_digest, err) < 0)
                return -1;
        if (pg_script (&script) < 0)
                return pipeline_oom (err, "postgres layer");
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "postgres", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "recipe", v->canonical, err) < 0
            || layer_key_add (&k, "version", v->version, err) < 0
            || layer_key_add (&k, "source", v->sha256, err) < 0
            || layer_key_add (&k, "build-set", set_digest, err) < 0
            || layer_key_add (&k, "script", script.data, err) < 0
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        snprintf (dev_input, sizeof (dev_input), "dev:%s", l->key);
        if (sha256_buf_hex (dev_input, strlen (dev_input), dev->key, err) < 0)
                return -1;
        if (asprintf (&l->comment, "pgimg: PostgreSQL %s built from source", v->version) < 0
            || asprintf (&dev->comment, "pgimg: PostgreSQL %s headers and PGXS", v->version) < 0)
                return pipeline_oom (err, "postgres layer");
        return 0;
}

/* Run the parts of the build one after the other in the build root
 * root over the source tarball src, installing into out_dir, all into
 * one log; a failure leaves res->failed_log. */
static int
postgres_compile (const struct pipeline_opts *o, struct pipeline_result *res, const char *root,
                  const char *src, const char *build_dir, const char *out_dir, pgimg_error_t *err)
{
        const struct recipe_version *v = res->version;
        cleanup_buf struct buf args = BUF_INIT;
        cleanup_free char *src_dir = NULL;
        cleanup_free char *logs = NULL;
        cleanup_free char *log = NULL;
        cleanup_free char *e_source = NULL;
        cleanup_free char *e_major = NULL;
        cleanup_free char *e_args = NULL;

        for (size_t i = 0; res->recipe.configure_args[i]; i++)
                if (add_quoted (&args, res->recipe.configure_args[i]) < 0)
                        return pipeline_oom (err, "configure arguments");
        if ((src_dir = strdup (src)) == NULL
            || asprintf (&logs, "%s/logs", o->cache_dir) < 0
            || asprintf (&log, "%s/postgres-%s.log", logs, v->version) < 0
            || asprintf (&e_source, "SOURCE=%s", strrchr (src, '/') + 1) < 0
            || asprintf (&e_major, "PG_MAJOR=%s", res->recipe.major) < 0
            || asprintf (&e_args, "CONFIGURE_ARGS=%s", args.data ? args.data : "") < 0)
                return pipeline_oom (err, "postgres layer");
        *strrchr (src_dir, '/') = '\0';
        if (fs_mkdir_p (build_dir, 0755, err) < 0 || fs_mkdir_p (out_dir, 0755, err) < 0
            || fs_mkdir_p (logs, 0755, err) < 0)
                return -1;

        const struct sandbox_bind binds[] = {
                { src_dir, "/in", 0 },
                { build_dir, "/build", 1 },
                { out_dir, "/out", 1 },
        };
        const char *env[] = { e_source, e_major, e_args, NULL };
        progress_note ("building PostgreSQL %s (log: %s)", v->version, log);
        for (size_t i = 0; i < N_PG_PARTS; i++) {
                cleanup_free char *what = NULL;
                if (asprintf (&what, "postgresql %s (%s)", v->version, pg_parts[i].phase) < 0)
                        return pipeline_oom (err, "postgres layer");
                struct build_step step = {
                        .name = what, .root_dir = root, .binds = binds, .n_binds = 3,
                        .env = env, .cwd = "/build", .log_path = log, .append_log = i > 0,
                        .source_date_epoch = (time_t) res->source_date_epoch, .jobs = o->jobs,
                        .script = pg_parts[i].script,
                        .timings = o->timings, .timing_step = "postgres", .timing_phase = pg_parts[i].phase,
                };
                if (build_run (&step, err) < 0) {
                        res->failed_log = strdup (log);
                        return -1;
                }
        }
        return 0;
}

/* The postgres layer (the runtime files) and the dev layer (everything)
 * from the tree installed into out_dir. */
static int
postgres_write_layers (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
                       const char *out_dir, pgimg_error_t *err)
{
        double t = timings_now ();
        struct layer_opts lo;

        pipeline_layer_opts (o, res, &lo);
        lo.exclude = pg_runtime_exclude;
        if (layer_write (out_dir, &lo, res->blob_dir, &l->desc, err) < 0)
                return -1;
        t = timings_since (o->timings, "postgres", "layer postgres", t);
        lo.exclude = NULL;
        if (layer_write (out_dir, &lo, res->blob_dir, &res->dev.desc, err) < 0)
                return -1;
        timings_since (o->timings, "postgres", "layer postgres-dev", t);
        return 0;
}

/* Build PostgreSQL in a scratch directory of the cache and write its
 * two layers. */
static int
postgres_build (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
                pgimg_error_t *err)
{
        const struct recipe_version *v = res->version;
        cleanup_free char *root = NULL;
        cleanup_free char *src = NULL;
        cleanup_free char *what = NULL;
        cleanup_free char *build_dir = NULL;
        cleanup_free char *out_dir = NULL;
        double t = timings_now ();
        char *tmp = NULL;
        int r;

        if (asprintf (&what, "postgresql %s", v->version) < 0)
                return pipeline_oom (err, "postgres layer");
        if (fetch_cached (o->cache_dir, (const char *const *) v->urls, v->n_urls, v->sha256, what,
                          &src, err) < 0)
                return pgimg_error_wrap (err, "source of `%s`", what);
        t = timings_since (o->timings, "postgres", "fetch", t);
        if ((r = rootfs_build_root (o->cache_dir, &res->lock, "build", &root, err)) < 0)
                return -1;
        t = r == 0 ? timings_cached (o->timings, "postgres", "build root", t)
                   : timings_since (o->timings, "postgres", "assemble build root", t);
        if (fs_work_dir (o->cache_dir, "postgres", &tmp, err) < 0)
                return -1;
        if (asprintf (&build_dir, "%s/build", tmp) < 0 || asprintf (&out_dir, "%s/out", tmp) < 0)
                r = pipeline_oom (err, "postgres layer");
        else
                r = postgres_compile (o, res, root, src, build_dir, out_dir, err);
        if (r == 0)
                r = postgres_write_layers (o, res, l, out_dir, err);
        if (r == 0) {
                t = timings_now ();
                r = pipeline_jit_write (o, res, out_dir, tmp, err);
                timings_since (o->timings, "postgres", "layer jit", t);
        }
        t = timings_now ();
        fs_drop_temp_dir (tmp);
        free (tmp);
        timings_since (o->timings, "postgres", "cleanup", t);
        return r;
}

/* The plan of the three layers one PostgreSQL build makes: when one of
 * them is wanted and missing, the build makes them all again. */
static int
postgres_plan (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
               pgimg_error_t *err)
{
        char name[96];
        int build;

        if (pipeline_plan_lookup (o, l, err) < 0 || pipeline_plan_lookup (o, &res->dev, err) < 0
            || pipeline_plan_lookup (o, &res->jit, err) < 0)
                return -1;
        build = l->state == PIPELINE_BUILD || res->dev.state == PIPELINE_BUILD
                || (res->with_jit && res->jit.state == PIPELINE_BUILD);
        if (build)
                l->state = res->dev.state = res->jit.state = PIPELINE_BUILD;
        /* Whether the server has llvmjit.so is known once it is built. */
        res->jit_present = build || res->jit.state != PIPELINE_BUILD;
        snprintf (name, sizeof (name), "postgres@%s", res->version->version);
        pipeline_plan_add (res, "postgres", name, l, NULL);
        snprintf (name, sizeof (name), "postgres-dev@%s", res->version->version);
        pipeline_plan_add (res, "postgres-dev", name, &res->dev, NULL);
        return 0;
}

int
pipeline_postgres_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        double t = timings_now ();
        int r, hit_dev, hit_jit;

        if (postgres_keys (o, res, l, err) < 0 || pipeline_jit_key (o, res, l->key, err) < 0)
                return -1;
        res->n_layers++;
        if (o->plan)
                return postgres_plan (o, res, l, err);
        r = pipeline_lookup (o->cache_dir, l, err);
        if (r < 0)
                return -1;
        hit_dev = pipeline_lookup (o->cache_dir, &res->dev, err);
        if (hit_dev < 0)
                return -1;
        /* One build makes all three layers: the jit layer is written
         * whether it is asked for or not, so that it never needs a build
         * of its own. */
        hit_jit = pipeline_lookup (o->cache_dir, &res->jit, err);
        if (hit_jit < 0)
                return -1;
        res->jit_present = hit_jit > 0;
        if (r > 0 && hit_dev > 0 && (hit_jit > 0 || !res->with_jit)) {
                timings_cached (o->timings, "postgres", "layers postgres, postgres-dev", t);
                return 0;
        }
        if (postgres_build (o, res, l, err) < 0)
                return -1;
        t = timings_now ();
        if (pipeline_store (o->cache_dir, l, err) < 0 || pipeline_store (o->cache_dir, &res->dev, err) < 0
            || (res->jit_present && pipeline_store (o->cache_dir, &res->jit, err) < 0))
                return -1;
        timings_since (o->timings, "postgres", "cache store", t);
        return 0;
}
