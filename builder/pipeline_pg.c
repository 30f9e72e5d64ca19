/* pipeline_pg.c - the PostgreSQL layers: the server built from source
 * in the build set's root, and the dev layer (headers, PGXS) that
 * extension builds use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/build.h"
#include "builder/elfcheck.h"
#include "builder/fetch.h"
#include "builder/rootfs.h"
#include "layers/cache.h"
#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"

#define CROSS_TARGET_SET ROOTFS_CROSS_TARGET_SET

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
static const struct pipeline_build_part pg_parts[] = {
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
/* The jit layer's build shares the first parts (unpack, configure) and
 * goes on with its own (pipeline_jit_parts). */
#define N_PG_SHARED_PARTS 2

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

/* A configure argument of the recipe's that builds the JIT provider:
 * the server's own build leaves these out, so that its layers are the
 * same whether an image has the jit layer or not, and a build without
 * jit does not pay for LLVM bitcode; the jit layer's build keeps them. */
static int
llvm_arg (const char *a)
{
        return strcmp (a, "--with-llvm") == 0 || strncmp (a, "LLVM_CONFIG=", strlen ("LLVM_CONFIG=")) == 0
               || strncmp (a, "CLANG=", strlen ("CLANG=")) == 0;
}

/* A cross build (to aarch64, the only one so far): the configure
 * arguments that follow the recipe's.  configure runs no test program
 * when --host differs from --build, and assumes "no" where it would
 * have run one; the cache variables give the answers the target gives.
 * Without --export-dynamic the server exports no symbol, and every
 * module fails to load (`undefined symbol: CurrentMemoryContext`).
 * pkg-config looks in the target's multiarch directory only, so that
 * no amd64 .pc file is taken; there are none in a cross root, but the
 * build must not depend on that. */
static const char cross_args[] =
        "--build=x86_64-linux-gnu --host=aarch64-linux-gnu "
        "pgac_cv_prog_cc_LDFLAGS_EX_BE__Wl___export_dynamic=yes "
        "pgac_cv_prog_cc_LDFLAGS__Wl___as_needed=yes "
        "PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig ";

/* The digest of what the build root is made of: the lock's set build,
 * or in a cross build the toolchain's set build and the target's
 * build-target. */
static int
postgres_build_set_digest (const struct pipeline_result *res, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        char host[SHA256_HEX_LEN + 1], target[SHA256_HEX_LEN + 1], both[2 * SHA256_HEX_LEN + 2];

        if (!pipeline_is_cross (res->arch))
                return lock_set_digest (&res->lock, "build", hex, err);
        if (lock_set_digest (&res->host_lock, "build", host, err) < 0
            || lock_set_digest (&res->lock, CROSS_TARGET_SET, target, err) < 0)
                return -1;
        snprintf (both, sizeof (both), "%s %s", host, target);
        return sha256_buf_hex (both, strlen (both), hex, err);
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
        if (postgres_build_set_digest (res, set_digest, err) < 0)
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
            /* amd64 keys stay what they were before other platforms. */
            || (pipeline_is_cross (res->arch) && layer_key_add (&k, "platform", res->arch, err) < 0)
            || (pipeline_is_cross (res->arch) && layer_key_add (&k, "cross", cross_args, err) < 0)
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

/* Part i of the build, NULL past the last: the server's parts, or with
 * jit, the shared first ones and then the jit layer's own. */
static const struct pipeline_build_part *
build_part (size_t i, int jit)
{
        size_t n_jit;
        const struct pipeline_build_part *jit_parts = pipeline_jit_parts (&n_jit);

        if (i >= (jit ? N_PG_SHARED_PARTS + n_jit : N_PG_PARTS))
                return NULL;
        return !jit || i < N_PG_SHARED_PARTS ? &pg_parts[i] : &jit_parts[i - N_PG_SHARED_PARTS];
}

/* Run the parts of the build one after the other in the build root
 * root over the source tarball src, installing into out_dir, all into
 * one log; a failure leaves res->failed_log.  jit: with the recipe's
 * LLVM arguments, the jit layer's parts. */
static int
postgres_compile (const struct pipeline_opts *o, struct pipeline_result *res, const char *root,
                  const char *src, const char *build_dir, const char *out_dir, int jit, pgimg_error_t *err)
{
        const char *step_name = jit ? "jit" : "postgres";
        const struct recipe_version *v = res->version;
        const struct pipeline_build_part *part;
        cleanup_buf struct buf args = BUF_INIT;
        cleanup_free char *src_dir = NULL;
        cleanup_free char *logs = NULL;
        cleanup_free char *log = NULL;
        cleanup_free char *e_source = NULL;
        cleanup_free char *e_major = NULL;
        cleanup_free char *e_args = NULL;

        for (size_t i = 0; res->recipe.configure_args[i]; i++)
                if ((jit || !llvm_arg (res->recipe.configure_args[i]))
                    && add_quoted (&args, res->recipe.configure_args[i]) < 0)
                        return pipeline_oom (err, "configure arguments");
        if (pipeline_is_cross (res->arch) && buf_adds (&args, cross_args) < 0)
                return pipeline_oom (err, "configure arguments");
        if ((src_dir = strdup (src)) == NULL
            || asprintf (&logs, "%s/logs", o->cache_dir) < 0
            || asprintf (&log, "%s/postgres-%s%s%s%s.log", logs, v->version, jit ? "-jit" : "",
                         pipeline_is_cross (res->arch) ? "-" : "", pipeline_is_cross (res->arch) ? res->arch : "") < 0
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
        progress_note ("building PostgreSQL %s%s (log: %s)", v->version,
                       jit ? "'s JIT provider and bitcode, for the jit layer" : "", log);
        for (size_t i = 0; (part = build_part (i, jit)) != NULL; i++) {
                cleanup_free char *what = NULL;
                if (asprintf (&what, "postgresql %s (%s)", v->version, part->phase) < 0)
                        return pipeline_oom (err, "postgres layer");
                struct build_step step = {
                        .name = what, .root_dir = root, .binds = binds, .n_binds = 3,
                        .env = env, .cwd = "/build", .log_path = log, .append_log = i > 0,
                        .source_date_epoch = (time_t) res->source_date_epoch, .jobs = o->jobs,
                        .script = part->script,
                        .timings = o->timings, .timing_step = step_name, .timing_phase = part->phase,
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

/* A cross build's files must all be the target's machine code and find
 * their libraries in its runtime base (the cached root of the lock's set
 * runtime, for the target's architecture). */
static int
postgres_check_cross (const struct pipeline_opts *o, struct pipeline_result *res, const char *out_dir,
                      pgimg_error_t *err)
{
        cleanup_free char *runtime = NULL;

        if (rootfs_build_root (o->cache_dir, &res->lock, "runtime", &runtime, err) < 0)
                return -1;
        const char *const roots[] = { runtime, NULL };
        if (elfcheck_tree_arch (out_dir, roots, res->arch, err) < 0)
                return pgimg_error_wrap (err, "PostgreSQL %s for %s", res->version->version, res->arch);
        return 0;
}

/* Build PostgreSQL in a scratch directory of the cache and write its
 * two layers, or with jit, build its JIT provider and bitcode and write
 * the jit layer. */
static int
postgres_build (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
                int jit, pgimg_error_t *err)
{
        const struct recipe_version *v = res->version;
        const char *step_name = jit ? "jit" : "postgres";
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
        t = timings_since (o->timings, step_name, "fetch", t);
        r = pipeline_is_cross (res->arch)
                    ? rootfs_cross_root (o->cache_dir, &res->host_lock, "build", &res->lock, CROSS_TARGET_SET, &root, err)
                    : rootfs_build_root (o->cache_dir, &res->lock, "build", &root, err);
        if (r < 0)
                return -1;
        t = r == 0 ? timings_cached (o->timings, step_name, "build root", t)
                   : timings_since (o->timings, step_name, "assemble build root", t);
        if (fs_work_dir (o->cache_dir, step_name, &tmp, err) < 0)
                return -1;
        if (asprintf (&build_dir, "%s/build", tmp) < 0 || asprintf (&out_dir, "%s/out", tmp) < 0)
                r = pipeline_oom (err, "postgres layer");
        else
                r = postgres_compile (o, res, root, src, build_dir, out_dir, jit, err);
        if (r == 0 && !jit && pipeline_is_cross (res->arch))
                r = postgres_check_cross (o, res, out_dir, err);
        if (r == 0 && !jit)
                r = postgres_write_layers (o, res, l, out_dir, err);
        if (r == 0 && jit) {
                t = timings_now ();
                r = pipeline_jit_write (o, res, out_dir, tmp, err);
                timings_since (o->timings, step_name, "layer jit", t);
        }
        t = timings_now ();
        fs_drop_temp_dir (tmp);
        free (tmp);
        timings_since (o->timings, step_name, "cleanup", t);
        return r;
}

/* 1 when the cache has the postgres and postgres-dev layers, 0 when
 * they must be built. */
static int
postgres_lookup (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
                 pgimg_error_t *err)
{
        int r, hit_dev;

        if ((r = pipeline_lookup (o->cache_dir, l, err)) < 0
            || (hit_dev = pipeline_lookup (o->cache_dir, &res->dev, err)) < 0)
                return -1;
        return r > 0 && hit_dev > 0;
}

/* Look the layers up (jit: the jit layer), and when the cache lacks
 * them, build them under the key's lock and store them.  Another build
 * of the same layers may be under way in this cache: it is waited for,
 * and what it stored is taken. */
static int
postgres_layers_of (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
                    int jit, pgimg_error_t *err)
{
        const char *step_name = jit ? "jit" : "postgres";
        cleanup_fd int lock = -1;
        cleanup_free char *what = NULL;
        double t = timings_now ();
        int r;

        r = jit ? pipeline_lookup (o->cache_dir, &res->jit, err) : postgres_lookup (o, res, l, err);
        if (r != 0) {
                if (r > 0)
                        timings_cached (o->timings, step_name, jit ? "layer jit" : "layers postgres, postgres-dev", t);
                return r < 0 ? -1 : 1;
        }
        if (asprintf (&what, "PostgreSQL %s%s", res->version->version, jit ? " (jit)" : "") < 0)
                return pipeline_oom (err, "postgres layer");
        if (layer_cache_lock (o->cache_dir, jit ? res->jit.key : l->key, what, &lock, err) < 0)
                return -1;
        r = jit ? pipeline_lookup (o->cache_dir, &res->jit, err) : postgres_lookup (o, res, l, err);
        if (r != 0) {
                if (r > 0)
                        timings_since (o->timings, step_name, "wait for another build", t);
                return r < 0 ? -1 : 1;
        }
        if (postgres_build (o, res, l, jit, err) < 0)
                return -1;
        t = timings_now ();
        if (jit ? (res->jit_present && pipeline_store (o->cache_dir, &res->jit, err) < 0)
                : (pipeline_store (o->cache_dir, l, err) < 0 || pipeline_store (o->cache_dir, &res->dev, err) < 0))
                return -1;
        timings_since (o->timings, step_name, "cache store", t);
        return 0;
}

/* Does the recipe build the JIT provider? */
static int
recipe_has_llvm (const struct pipeline_result *res)
{
        for (size_t i = 0; res->recipe.configure_args[i]; i++)
                if (strcmp (res->recipe.configure_args[i], "--with-llvm") == 0)
                        return 1;
        return 0;
}

/* The plan of the PostgreSQL layers: postgres and postgres-dev come
 * from one build (when one is missing, both are built); the jit layer
 * is a build of its own, looked up when asked for. */
static int
postgres_plan (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
               pgimg_error_t *err)
{
        char name[96];

        if (pipeline_plan_lookup (o, l, err) < 0 || pipeline_plan_lookup (o, &res->dev, err) < 0
            || (!pipeline_is_cross (res->arch) && pipeline_plan_lookup (o, &res->jit, err) < 0))
                return -1;
        if (l->state == PIPELINE_BUILD || res->dev.state == PIPELINE_BUILD)
                l->state = res->dev.state = PIPELINE_BUILD;
        /* Without --with-llvm there is no jit layer to build or take. */
        res->jit_present = res->with_jit && recipe_has_llvm (res);
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
        int r;

        /* No jit layer for a cross build (pipeline_postgres refuses it). */
        if (postgres_keys (o, res, l, err) < 0
            || (!pipeline_is_cross (res->arch) && pipeline_jit_key (o, res, l->key, err) < 0))
                return -1;
        res->n_layers++;
        res->jit_present = 0;
        if (o->plan)
                return postgres_plan (o, res, l, err);
        if (postgres_layers_of (o, res, l, 0, err) < 0)
                return -1;
        /* The jit layer is a build of its own, made only when asked for. */
        if (!res->with_jit || !recipe_has_llvm (res))
                return 0;
        if ((r = postgres_layers_of (o, res, l, 1, err)) < 0)
                return -1;
        if (r > 0)
                res->jit_present = 1;
        return 0;
}
