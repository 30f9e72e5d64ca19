#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/fetch.h"
#include "builder/pipeline.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "oci/receipt.h"

#define LOCK_REL "lock/trixie-amd64.lock.json"
#define IMAGE_NAME "pgimg/postgres"

/* Headers, static archives and PGXS are for building extensions; the
 * image keeps the server and its modules only (they stay in the dev
 * layer, which extension builds use). */
static const char *const pg_runtime_exclude[] = {
        "usr/lib/postgresql/*/include", "usr/lib/postgresql/*/lib/pgxs",
        "usr/lib/postgresql/*/lib/*.a", "usr/lib/postgresql/*/lib/pkgconfig", NULL,
};

/* The PostgreSQL build.  Every major lives under its own prefix, so that
 * several can sit side by side (pg_upgrade needs the old bindir). */
static const char pg_script[] =
        "tar --no-same-owner -xf \"/in/$SOURCE\" --strip-components=1\n"
        /* The socket where Debian and the official image have it, so that
         * a socket directory shared between containers works the same. */
        "sed -i 's|^#define DEFAULT_PGSOCKET_DIR .*|#define DEFAULT_PGSOCKET_DIR \"/var/run/postgresql\"|' "
        "src/include/pg_config_manual.h\n"
        "grep -q '^#define DEFAULT_PGSOCKET_DIR \"/var/run/postgresql\"' src/include/pg_config_manual.h\n"
        "eval \"set -- $CONFIGURE_ARGS\"\n"
        "./configure --prefix=\"/usr/lib/postgresql/$PG_MAJOR\" \"$@\"\n"
        "make -j\"$JOBS\"\n"
        "make -C contrib -j\"$JOBS\"\n"
        "make install-strip DESTDIR=/out\n"
        "make -C contrib install-strip DESTDIR=/out\n";

static int extension_settings (const struct pipeline_result *res, struct buf *out,
                               pgimg_error_t *err);
static int extension_output_plugins (const struct pipeline_result *res, struct buf *out,
                                     pgimg_error_t *err);

static int
oom (pgimg_error_t *err, const char *what)
{
        return pgimg_make_error_errno (err, ENOMEM, "%s", what);
}

/* Look the layer up; on a hit fill it and return 1. */
static int
lookup (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err)
{
        int r = layer_cache_lookup (cache_dir, l->key, &l->desc, err);
        if (r > 0)
                l->built = 0;
        return r;
}

static int
store (const char *cache_dir, struct pipeline_layer *l, pgimg_error_t *err)
{
        l->built = 1;
        return layer_cache_store (cache_dir, l->key, &l->desc, err);
}

static void
layer_opts_init (const struct pipeline_opts *o, const struct pipeline_result *res,
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
            || layer_key_add (&k, "set", set_digest, err) < 0
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        if (asprintf (&l->comment, "pgimg: Debian packages of set runtime (%s)", res->lock_rel) < 0)
                return oom (err, "base layer");
        res->n_layers++;
        if ((r = lookup (o->cache_dir, l, err)) != 0)
                return r < 0 ? -1 : 0;

        if (fs_work_dir (o->cache_dir, "base", &tmp, err) < 0)
                return -1;
        layer_opts_init (o, res, &lo);
        lo.owners = &owners;
        r = rootfs_assemble_runtime (o->cache_dir, &res->lock, "runtime", tmp, &owners, err);
        if (r == 0)
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        fs_drop_temp_dir (tmp);
        free (tmp);
        if (r < 0)
                return pgimg_error_wrap (err, "runtime base");
        return store (o->cache_dir, l, err);
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

static int
postgres_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        struct pipeline_layer *dev = &res->dev;
        const struct recipe_version *v = res->version;
        struct layer_key k = LAYER_KEY_INIT;
        char set_digest[SHA256_HEX_LEN + 1];
        char epoch[32];
        cleanup_buf struct buf args = BUF_INIT;
        cleanup_free char *root = NULL;
        cleanup_free char *src = NULL;
        cleanup_free char *src_dir = NULL;
        cleanup_free char *what = NULL;
        cleanup_free char *build_dir = NULL;
        cleanup_free char *out_dir = NULL;
        cleanup_free char *logs = NULL;
        cleanup_free char *log = NULL;
        cleanup_free char *e_source = NULL;
        cleanup_free char *e_major = NULL;
        cleanup_free char *e_args = NULL;
        char *tmp = NULL;
        struct layer_opts lo;
        int r, hit_dev;

        l->name = "postgres";
        dev->name = "postgres-dev";
        for (size_t i = 0; res->recipe.configure_args[i]; i++)
                if (add_quoted (&args, res->recipe.configure_args[i]) < 0)
                        return oom (err, "configure arguments");
        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (lock_set_digest (&res->lock, "build", set_digest, err) < 0)
                return -1;
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "postgres", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "recipe", v->canonical, err) < 0
            || layer_key_add (&k, "version", v->version, err) < 0
            || layer_key_add (&k, "source", v->sha256, err) < 0
            || layer_key_add (&k, "build-set", set_digest, err) < 0
            || layer_key_add (&k, "script", pg_script, err) < 0
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        {
                char dev_input[SHA256_HEX_LEN + 8];
                snprintf (dev_input, sizeof (dev_input), "dev:%s", l->key);
                if (sha256_buf_hex (dev_input, strlen (dev_input), dev->key, err) < 0)
                        return -1;
        }
        if (asprintf (&l->comment, "pgimg: PostgreSQL %s built from source", v->version) < 0
            || asprintf (&dev->comment, "pgimg: PostgreSQL %s headers and PGXS", v->version) < 0)
                return oom (err, "postgres layer");
        res->n_layers++;
        r = lookup (o->cache_dir, l, err);
        if (r < 0)
                return -1;
        hit_dev = lookup (o->cache_dir, dev, err);
        if (hit_dev < 0)
                return -1;
        if (r > 0 && hit_dev > 0)
                return 0;

        if (asprintf (&what, "postgresql %s", v->version) < 0)
                return oom (err, "postgres layer");
        if (fetch_cached (o->cache_dir, (const char *const *) v->urls, v->n_urls, v->sha256, what,
                          &src, err) < 0)
                return pgimg_error_wrap (err, "source of `%s`", what);
        if (rootfs_build_root (o->cache_dir, &res->lock, "build", &root, err) < 0)
                return -1;

        src_dir = strdup (src);
        if (src_dir == NULL)
                return oom (err, "postgres layer");
        *strrchr (src_dir, '/') = '\0';
        if (fs_work_dir (o->cache_dir, "postgres", &tmp, err) < 0)
                return -1;
        if (asprintf (&build_dir, "%s/build", tmp) < 0 || asprintf (&out_dir, "%s/out", tmp) < 0
            || asprintf (&logs, "%s/logs", o->cache_dir) < 0
            || asprintf (&log, "%s/postgres-%s.log", logs, v->version) < 0
            || asprintf (&e_source, "SOURCE=%s", strrchr (src, '/') + 1) < 0
            || asprintf (&e_major, "PG_MAJOR=%s", res->recipe.major) < 0
            || asprintf (&e_args, "CONFIGURE_ARGS=%s", args.data ? args.data : "") < 0) {
                fs_drop_temp_dir (tmp);
                free (tmp);
                return oom (err, "postgres layer");
        }
        r = fs_mkdir_p (build_dir, 0755, err);
        if (r == 0)
                r = fs_mkdir_p (out_dir, 0755, err);
        if (r == 0)
                r = fs_mkdir_p (logs, 0755, err);
        if (r == 0) {
                const struct sandbox_bind binds[] = {
                        { src_dir, "/in", 0 },
                        { build_dir, "/build", 1 },
                        { out_dir, "/out", 1 },
                };
                const char *env[] = { e_source, e_major, e_args, NULL };
                cleanup_buf struct buf script = BUF_INIT;
                struct build_step step = {
                        .name = what, .root_dir = root, .binds = binds, .n_binds = 3,
                        .env = env, .cwd = "/build", .log_path = log,
                        .source_date_epoch = (time_t) res->source_date_epoch, .jobs = o->jobs,
                };
                if (buf_adds (&script, pg_script) < 0) {
                        r = oom (err, "postgres layer");
                } else {
                        step.script = script.data;
                        progress_note ("building PostgreSQL %s (log: %s)", v->version, log);
                        r = build_run (&step, err);
                        if (r < 0)
                                res->failed_log = strdup (log);
                }
        }
        if (r == 0) {
                layer_opts_init (o, res, &lo);
                lo.exclude = pg_runtime_exclude;
                r = layer_write (out_dir, &lo, res->blob_dir, &l->desc, err);
                if (r == 0) {
                        lo.exclude = NULL;
                        r = layer_write (out_dir, &lo, res->blob_dir, &dev->desc, err);
                }
        }
        fs_drop_temp_dir (tmp);
        free (tmp);
        if (r < 0)
                return -1;
        if (store (o->cache_dir, l, err) < 0 || store (o->cache_dir, dev, err) < 0)
                return -1;
        return 0;
}

/* Env of the image: what docker-library's postgres sets, for our layout. */
static int
image_env (struct pipeline_result *res, pgimg_error_t *err)
{
        const char *major = res->recipe.major;
        int m = atoi (major);
        char **env = calloc (6, sizeof (char *));

        if (env == NULL)
                return oom (err, "image env");
        res->env = env;
        /* 18 and later keep the cluster below the major's own directory
         * of a volume at /var/lib/postgresql, so that pg_upgrade --link
         * can work across majors on one volume (as the official image). */
        if (asprintf (&env[0], "PATH=/usr/lib/postgresql/%s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", major) < 0
            || asprintf (&env[1], "PG_MAJOR=%s", major) < 0
            || asprintf (&env[2], "PG_VERSION=%s", res->version->version) < 0
            || asprintf (&env[3], "LANG=C.UTF-8") < 0
            || (m >= 18 ? asprintf (&env[4], "PGDATA=/var/lib/postgresql/%s/docker", major)
                        : asprintf (&env[4], "PGDATA=/var/lib/postgresql/data")) < 0)
                return oom (err, "image env");
        res->volume = strdup (m >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data");
        res->tags = calloc (3, sizeof (char *));
        if (res->volume == NULL || res->tags == NULL
            || asprintf (&res->tags[0], IMAGE_NAME ":%s", res->version->version) < 0
            || asprintf (&res->tags[1], IMAGE_NAME ":%s", major) < 0)
                return oom (err, "image tags");
        return 0;
}

/* res->image from the layers, env, volume and tags: every field of the
 * image's config and manifest is set here and nowhere else. */
static void
image_define (struct pipeline_result *res)
{
        static const char *const entrypoint[] = { "docker-entrypoint.sh", NULL };
        static const char *const cmd[] = { "postgres", NULL };
        static const char *const ports[] = { "5432/tcp", NULL };
        struct pipeline_image *img = &res->image;
        time_t t = (time_t) res->source_date_epoch;
        struct tm tm;

        gmtime_r (&t, &tm);
        strftime (img->created, sizeof (img->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        img->labels[0] = (struct oci_kv) { "org.opencontainers.image.created", img->created };
        img->labels[1] = (struct oci_kv) { "org.opencontainers.image.licenses", res->recipe.license };
        img->labels[2] = (struct oci_kv) { "org.opencontainers.image.source", res->recipe.homepage };
        img->labels[3] = (struct oci_kv) { "org.opencontainers.image.revision", res->version->sha256 };
        img->labels[4] = (struct oci_kv) { "org.opencontainers.image.title", "PostgreSQL" };
        img->labels[5] = (struct oci_kv) { "org.opencontainers.image.version", res->version->version };
        img->volumes[0] = res->volume;
        img->volumes[1] = NULL;
        for (size_t i = 0; i < res->n_layers; i++) {
                img->layers[i] = res->layers[i].desc;
                img->comments[i] = res->layers[i].comment;
        }
        img->oci = (struct oci_image) {
                .created = t,
                .architecture = "amd64",
                .user = "postgres",
                .workdir = "/",
                .stop_signal = "SIGINT",
                .env = (const char *const *) res->env,
                .entrypoint = entrypoint,
                .cmd = cmd,
                .exposed_ports = ports,
                .volumes = img->volumes,
                .labels = img->labels,
                .n_labels = PIPELINE_N_LABELS,
                .annotations = img->labels,
                .n_annotations = PIPELINE_N_LABELS,
                .layers = img->layers,
                .layer_comments = img->comments,
                .n_layers = res->n_layers,
                .tags = (const char *const *) res->tags,
        };
}

int
pipeline_receipt (const struct pipeline_result *res, const char *pgimg_version, size_t n_layers,
                  const char *manifest_digest, struct buf *out, pgimg_error_t *err)
{
        const struct lock_set *set = lock_find_set (&res->lock, "runtime");
        cleanup_free struct receipt_package *pkgs = NULL;
        struct receipt_layer layers[PIPELINE_MAX_LAYERS];
        struct receipt r = { 0 };

        if (set == NULL)
                return pgimg_make_error (err, ENOENT, "the lock has no set `runtime`");
        pkgs = calloc (set->n + 1, sizeof (*pkgs));
        if (pkgs == NULL)
                return oom (err, "receipt");
        for (size_t i = 0; i < set->n; i++) {
                const struct lock_package *p = lock_find (&res->lock, set->packages[i]);
                pkgs[i].name = set->packages[i];
                pkgs[i].version = p ? p->version : "";
        }
        for (size_t i = 0; i < n_layers; i++) {
                layers[i].name = res->layers[i].name;
                layers[i].key = res->layers[i].key;
                layers[i].desc = &res->layers[i].desc;
        }
        r.pgimg_version = pgimg_version;
        r.image = IMAGE_NAME;
        r.tags = (const char *const *) res->tags;
        r.pg_major = res->recipe.major;
        r.pg_version = res->version->version;
        r.source_sha256 = res->version->sha256;
        r.source_urls = (const char *const *) res->version->urls;
        r.lock_path = res->lock_rel;
        r.lock_digest = res->lock.digest;
        r.source_date_epoch = res->source_date_epoch;
        r.packages = pkgs;
        r.n_packages = set->n;
        r.layers = layers;
        r.n_layers = n_layers;
        r.manifest_digest = manifest_digest;
        return receipt_format (&r, out, err);
}

static int
write_in (const char *root, const char *rel, const void *data, size_t len, mode_t mode,
          pgimg_error_t *err)
{
        cleanup_free char *p = NULL;
        cleanup_free char *dir = NULL;

        if (asprintf (&p, "%s/%s", root, rel) < 0 || (dir = strdup (p)) == NULL)
                return oom (err, rel);
        *strrchr (dir, '/') = '\0';
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        return fs_write_file_atomic (p, data, len, mode, err);
}

static int
mkdir_owned (const char *root, const char *rel, uint32_t mode, struct owner_map *owners,
             pgimg_error_t *err)
{
        cleanup_free char *p = NULL;

        if (asprintf (&p, "%s/%s", root, rel) < 0)
                return oom (err, rel);
        if (fs_mkdir_p (p, 0755, err) < 0)
                return -1;
        return owner_map_set (owners, rel, ROOTFS_POSTGRES_UID, ROOTFS_POSTGRES_UID, mode, err);
}

static int
entrypoint_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        cleanup_buf struct buf script = BUF_INIT;
        cleanup_buf struct buf ensure = BUF_INIT;
        cleanup_buf struct buf receipt = BUF_INIT;
        cleanup_buf struct buf settings = BUF_INIT;
        cleanup_buf struct buf plugins = BUF_INIT;
        cleanup_free char *script_path = NULL;
        cleanup_free char *ensure_path = NULL;
        cleanup_free char *enforce_link = NULL;
        struct layer_key k = LAYER_KEY_INIT;
        char epoch[32];
        char *tmp = NULL;
        struct layer_opts lo;
        int m = atoi (res->recipe.major), r;

        l->name = "entrypoint";
        if (asprintf (&script_path, "%s/image/docker-entrypoint.sh", o->data_dir) < 0
            || asprintf (&ensure_path, "%s/image/docker-ensure-initdb.sh", o->data_dir) < 0)
                return oom (err, "entrypoint");
        if (fs_read_file (script_path, 1 << 20, &script, err) < 0
            || fs_read_file (ensure_path, 1 << 20, &ensure, err) < 0)
                return pgimg_error_wrap (err, "entrypoint");
        /* The receipt inside the image lists the layers below it. */
        if (pipeline_receipt (res, o->pgimg_version, res->n_layers, NULL, &receipt, err) < 0
            || extension_settings (res, &settings, err) < 0
            || extension_output_plugins (res, &plugins, err) < 0)
                return -1;
        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "entrypoint", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "major", res->recipe.major, err) < 0
            || layer_key_add (&k, "script", script.data, err) < 0
            || layer_key_add (&k, "ensure", ensure.data, err) < 0
            || layer_key_add (&k, "receipt", receipt.data, err) < 0
            || (settings.len && layer_key_add (&k, "settings", settings.data, err) < 0)
            || (plugins.len && layer_key_add (&k, "output-plugins", plugins.data, err) < 0)
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        if (asprintf (&l->comment, "pgimg: entrypoint, data directories and receipt") < 0)
                return oom (err, "entrypoint");
        res->n_layers++;
        if ((r = lookup (o->cache_dir, l, err)) != 0)
                return r < 0 ? -1 : 0;

        if (fs_work_dir (o->cache_dir, "entrypoint", &tmp, err) < 0)
                return -1;
        r = write_in (tmp, "usr/local/bin/docker-entrypoint.sh", script.data, script.len, 0755, err);
        if (r == 0)
                r = write_in (tmp, "usr/local/bin/docker-ensure-initdb.sh", ensure.data, ensure.len, 0755, err);
        /* The official image's name for "initialize, and fail if already done". */
        if (r == 0 && (asprintf (&enforce_link, "%s/usr/local/bin/docker-enforce-initdb.sh", tmp) < 0
                       || symlink ("docker-ensure-initdb.sh", enforce_link) < 0))
                r = pgimg_make_error_errno (err, errno, "entrypoint: symlink docker-enforce-initdb.sh");
        if (r == 0)
                r = write_in (tmp, "usr/share/pgimg/receipt.json", receipt.data, receipt.len, 0644, err);
        if (r == 0 && settings.len)
                r = write_in (tmp, "usr/share/pgimg/postgresql.conf", settings.data, settings.len, 0644, err);
        if (r == 0 && plugins.len)
                r = write_in (tmp, "usr/share/pgimg/output-plugins", plugins.data, plugins.len, 0644, err);
        if (r == 0)
                r = mkdir_owned (tmp, "docker-entrypoint-initdb.d", 0755, &owners, err);
        if (r == 0)
                r = owner_map_set (&owners, "docker-entrypoint-initdb.d", 0, 0, 0755, err);
        /* Writable by any uid, as the official image, so that --user with
         * an arbitrary uid can still create its cluster there. */
        if (r == 0)
                r = mkdir_owned (tmp, "var/lib/postgresql", 01777, &owners, err);
        if (r == 0 && m < 18)
                r = mkdir_owned (tmp, "var/lib/postgresql/data", 01777, &owners, err);
        if (r == 0)
                r = mkdir_owned (tmp, "run/postgresql", 03777, &owners, err);
        if (r == 0) {
                layer_opts_init (o, res, &lo);
                lo.owners = &owners;
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        }
        fs_drop_temp_dir (tmp);
        free (tmp);
        if (r < 0)
                return pgimg_error_wrap (err, "entrypoint layer");
        return store (o->cache_dir, l, err);
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

/* The items of the image sets that build for this major, then --with. */
static int
gather_items (const struct pipeline_opts *o, struct pipeline_result *res, char ***items,
              pgimg_error_t *err)
{
        size_t n = 0, n_skipped = 0;

        for (size_t i = 0; o->sets && o->sets[i]; i++) {
                cleanup_strv char **set = NULL;
                cleanup_free char *path = NULL;
                if (strchr (o->sets[i], '/') || o->sets[i][0] == '.')
                        return pgimg_make_error (err, EINVAL, "`%s` is not an image set name (see images/)", o->sets[i]);
                if (asprintf (&path, "%s/images/%s.json", o->data_dir, o->sets[i]) < 0)
                        return oom (err, "image set");
                if (!fs_exists (path))
                        return pgimg_make_error (err, ENOENT, "no image set `%s` (no `%s`)", o->sets[i], path);
                if (ext_image_set_load (path, &set, err) < 0)
                        return -1;
                for (size_t j = 0; set && set[j]; j++) {
                        const char *one[] = { set[j], NULL };
                        struct extension_pick *p = NULL;
                        size_t np = 0;
                        pgimg_error_t e = NULL;
                        if (extension_resolve (res->ext_recipes, res->n_ext_recipes, one, res->recipe.major,
                                               &p, &np, &e) < 0) {
                                if (e->status != ENOTSUP) {
                                        *err = e;
                                        return pgimg_error_wrap (err, "image set `%s`", o->sets[i]);
                                }
                                pgimg_error_free (&e);
                                if (strv_push (&res->skipped, &n_skipped, set[j]) < 0)
                                        return oom (err, "image set");
                                continue;
                        }
                        free (p);
                        if (strv_push (items, &n, set[j]) < 0)
                                return oom (err, "image set");
                }
        }
        for (size_t i = 0; o->with && o->with[i]; i++)
                if (strv_push (items, &n, o->with[i]) < 0)
                        return oom (err, "extensions");
        return 0;
}

/* Independent extension layers build at the same time, each in a
 * worker process of its own (the cache is safe to share: every entry is
 * renamed into place whole).  A worker builds its layer into the cache
 * and reports on a pipe: "B" built, "C" cached, or "F<message>".  The
 * parent then takes each layer from the cache as usual.  A worker dies
 * with its parent (PR_SET_PDEATHSIG), cleaning up as on Ctrl-C. */
struct worker {
        pid_t pid;
        int fd;
        size_t pick;
};

static int
start_worker (const struct extension_env *env, struct pipeline_result *res, size_t i,
              const struct extension_layer *below, size_t n_below, struct worker *w, pgimg_error_t *err)
{
        int fds[2];

        if (pipe2 (fds, O_CLOEXEC) < 0)
                return pgimg_make_error_errno (err, errno, "pipe");
        fflush (NULL);
        w->pid = fork ();
        if (w->pid < 0) {
                close (fds[0]);
                close (fds[1]);
                return pgimg_make_error_errno (err, errno, "fork");
        }
        if (w->pid == 0) {
                struct extension_layer l;
                pgimg_error_t e = NULL;
                int rc;
                close (fds[0]);
                prctl (PR_SET_PDEATHSIG, SIGTERM);
                rc = extension_layer (env, &res->picks[i], below, n_below, &l, &e);
                if (rc < 0) {
                        if (fs_write_all (fds[1], "F", 1) < 0 || fs_write_all (fds[1], e->msg, strlen (e->msg)) < 0)
                                _exit (3);
                        if (l.failed_log && (fs_write_all (fds[1], "\n", 1) < 0
                                             || fs_write_all (fds[1], l.failed_log, strlen (l.failed_log)) < 0))
                                _exit (3);
                        _exit (1);
                }
                _exit (fs_write_all (fds[1], l.built ? "B" : "C", 1) < 0 ? 3 : 0);
        }
        close (fds[1]);
        w->fd = fds[0];
        w->pick = i;
        return 0;
}

/* Wait for w; 1 when its layer was built, 0 when cached; on failure
 * <0 with *err and *log (malloc'ed, may stay NULL). */
static int
finish_worker (struct worker *w, const char *name, char **log, pgimg_error_t *err)
{
        cleanup_buf struct buf out = BUF_INIT_MAX (1 << 16);
        cleanup_fd int fd = w->fd;
        char block[4096];
        int status;
        ssize_t n;

        while ((n = read (fd, block, sizeof (block))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || buf_add (&out, block, (size_t) n) < 0)
                        break;
        }
        while (waitpid (w->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return pgimg_make_error_errno (err, errno, "wait for a build worker");
        if (out.len > 0 && out.data[0] == 'F') {
                char *nl = memchr (out.data, '\n', out.len);
                if (nl) {
                        *nl = '\0';
                        *log = strdup (nl + 1);
                }
                return pgimg_make_error (err, EIO, "%s", out.data + 1);
        }
        if (out.len == 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
                return pgimg_make_error (err, EIO, "extension `%s`: its build worker died (status %d)",
                                         name, status);
        return out.data[0] == 'B';
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

/* Index j of the picks that pick i requires, or -1 past the last. */
static int
requirement (const struct pipeline_result *res, size_t i, size_t *cursor)
{
        char **q = res->picks[i].recipe->requires;

        for (; q && q[*cursor]; (*cursor)++)
                for (size_t j = 0; j < res->n_picks; j++)
                        if (j != i && strcmp (res->picks[j].recipe->name, q[*cursor]) == 0) {
                                (*cursor)++;
                                return (int) j;
                        }
        return -1;
}

/* Build every pick's layer into the cache with up to o->jobs workers,
 * a pick starting once the picks it requires are done.  outcome[i]:
 * 1 built, 0 cached, -1 failed (msgs[i], logs[i] say why). */
static int
build_in_parallel (const struct pipeline_opts *o, const struct extension_env *env,
                   struct pipeline_result *res, int *outcome, char **msgs, char **logs,
                   pgimg_error_t *err)
{
        size_t n = res->n_picks, n_done = 0, n_running = 0;
        size_t max = (size_t) o->jobs < n ? (size_t) o->jobs : n;
        struct worker *running = calloc (max, sizeof (*running));
        char *state = calloc (n, 1);    /* 0 waiting, 1 running, 2 done */
        struct extension_env wenv = *env;
        int rc = 0;

        if (running == NULL || state == NULL) {
                free (running);
                free (state);
                return oom (err, "extensions");
        }
        /* The cores are shared between the workers. */
        wenv.jobs = o->jobs / (int) max > 0 ? o->jobs / (int) max : 1;
        while (n_done < n && rc == 0) {
                for (size_t i = 0; i < n && n_running < max && rc == 0; i++) {
                        struct extension_layer below[16];
                        size_t n_below = 0, cursor = 0;
                        int j, ready = state[i] == 0;
                        while (ready && (j = requirement (res, i, &cursor)) >= 0) {
                                if (state[j] != 2)
                                        ready = 0;
                                else if (outcome[j] < 0)
                                        ready = -1;
                        }
                        if (ready < 0) {        /* what it needs failed */
                                state[i] = 2;
                                outcome[i] = -1;
                                n_done++;
                                if (asprintf (&msgs[i], "extension `%s`: a recipe it requires failed to build",
                                              res->picks[i].recipe->name) < 0)
                                        rc = oom (err, "extensions");
                                continue;
                        }
                        if (!ready)
                                continue;
                        /* The layers below it come from the cache (one level:
                         * a requirement that itself requires is built here). */
                        cursor = 0;
                        while ((j = requirement (res, i, &cursor)) >= 0 && n_below < 16)
                                if (extension_layer (env, &res->picks[j], NULL, 0, &below[n_below], err) == 0)
                                        n_below++;
                                else
                                        rc = -1;
                        if (rc == 0)
                                rc = start_worker (&wenv, res, i, below, n_below, &running[n_running], err);
                        for (size_t k = 0; k < n_below; k++)
                                extension_layer_free (&below[k]);
                        if (rc == 0) {
                                state[i] = 1;
                                n_running++;
                        }
                }
                if (n_running == 0)
                        break;
                /* Wait for the oldest worker; the others go on meanwhile. */
                struct worker w = running[0];
                memmove (running, running + 1, (n_running - 1) * sizeof (*running));
                n_running--;
                pgimg_error_t e = NULL;
                int r = finish_worker (&w, res->picks[w.pick].recipe->name, &logs[w.pick], &e);
                outcome[w.pick] = r < 0 ? -1 : r;
                if (r < 0) {
                        msgs[w.pick] = steal_pointer (&e->msg);
                        pgimg_error_free (&e);
                }
                state[w.pick] = 2;
                n_done++;
        }
        for (size_t k = 0; k < n_running; k++) {
                char *ignored_log = NULL;
                pgimg_error_t e = NULL;
                finish_worker (&running[k], res->picks[running[k].pick].recipe->name, &ignored_log, &e);
                pgimg_error_free (&e);
                free (ignored_log);
        }
        free (running);
        free (state);
        return rc;
}

/* Every set, extension name and version named, resolved into
 * res->picks before anything is downloaded: a typo costs no download. */
static int
extension_picks (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_strv char **items = NULL;
        cleanup_free char *dir = NULL;

        if ((o->with == NULL || o->with[0] == NULL) && (o->sets == NULL || o->sets[0] == NULL))
                return 0;
        if (asprintf (&dir, "%s/extensions", o->data_dir) < 0)
                return oom (err, "extensions");
        if (ext_recipe_load_all (dir, &res->ext_recipes, &res->n_ext_recipes, err) < 0)
                return -1;
        if (gather_items (o, res, &items, err) < 0)
                return -1;
        for (size_t i = 0; res->skipped && res->skipped[i]; i++)
                progress_note ("leaving out %s: it does not support PostgreSQL %s", res->skipped[i],
                               res->recipe.major);
        if (extension_resolve (res->ext_recipes, res->n_ext_recipes, (const char *const *) items,
                               res->recipe.major, &res->picks, &res->n_picks, err) < 0)
                return -1;
        /* base, postgres, dev (not in the image) and the entrypoint */
        if (res->n_picks + 4 > PIPELINE_MAX_LAYERS)
                return pgimg_make_error (err, E2BIG, "%zu extensions: an image holds at most %d",
                                         res->n_picks, PIPELINE_MAX_LAYERS - 4);
        return 0;
}

static int
extension_layers (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct extension_env env;

        if (res->n_picks == 0)
                return 0;
        if (res->n_layers + res->n_picks + 1 > PIPELINE_MAX_LAYERS)
                return pgimg_make_error (err, E2BIG, "%zu extensions: an image holds at most %d",
                                         res->n_picks, PIPELINE_MAX_LAYERS - 4);
        res->ext_layers = calloc (res->n_picks + 1, sizeof (*res->ext_layers));
        if (res->ext_layers == NULL)
                return oom (err, "extensions");
        env = (struct extension_env) {
                .cache_dir = o->cache_dir, .blob_dir = res->blob_dir, .lock = &res->lock,
                .major = res->recipe.major, .dev_key = res->dev.key, .dev = &res->dev.desc,
                .pg_version = res->version->version, .pg_urls = (const char *const *) res->version->urls,
                .pg_n_urls = res->version->n_urls, .pg_sha256 = res->version->sha256,
                .pg_configure = res->recipe.configure_args,
                .source_date_epoch = res->source_date_epoch, .compression = o->compression,
                .jobs = o->jobs,
        };
        cleanup_free int *outcome = calloc (res->n_picks + 1, sizeof (int));
        cleanup_reports struct reports rep = { calloc (res->n_picks + 1, sizeof (char *)),
                                               calloc (res->n_picks + 1, sizeof (char *)), res->n_picks };
        char **msgs = rep.msgs, **logs = rep.logs;
        if (outcome == NULL || msgs == NULL || logs == NULL)
                return oom (err, "extensions");
        if (o->jobs > 1 && res->n_picks > 1
            && build_in_parallel (o, &env, res, outcome, msgs, logs, err) < 0)
                return -1;
        for (size_t i = 0; i < res->n_picks; i++) {
                struct extension_layer below[16];
                size_t n_below = 0;
                struct extension_layer *l = &res->ext_layers[i];
                if (outcome[i] < 0) {
                        if (!o->keep_going) {
                                res->failed_log = steal_pointer (&logs[i]);
                                return pgimg_make_error (err, EIO, "%s", msgs[i] ? msgs[i] : "build failed");
                        }
                        if (asprintf (&l->name, "%s@%s", res->picks[i].recipe->name,
                                      res->picks[i].version->version) < 0)
                                return oom (err, "extensions");
                        l->failed_msg = steal_pointer (&msgs[i]);
                        progress_note ("%s", l->failed_msg ? l->failed_msg : "build failed");
                        continue;
                }
                struct pipeline_layer *pl;
                const char *missing = NULL;
                /* The layers of what it requires are below it in the list. */
                for (char **q = res->picks[i].recipe->requires; q && *q; q++)
                        for (size_t j = 0; j < i && n_below < 16; j++)
                                if (strcmp (res->picks[j].recipe->name, *q) == 0) {
                                        if (res->ext_layers[j].failed_msg)
                                                missing = res->ext_layers[j].name;
                                        below[n_below++] = res->ext_layers[j];
                                }
                if (missing && o->keep_going) {
                        if (asprintf (&l->name, "%s@%s", res->picks[i].recipe->name,
                                      res->picks[i].version->version) < 0
                            || asprintf (&l->failed_msg, "needs `%s`, which failed", missing) < 0)
                                return oom (err, "extensions");
                        continue;
                }
                if (extension_layer (&env, &res->picks[i], below, n_below, l, err) < 0) {
                        if (!o->keep_going) {
                                if (l->failed_log)
                                        res->failed_log = strdup (l->failed_log);
                                return -1;
                        }
                        /* Recorded; the image is made of the others. */
                        l->failed_msg = steal_pointer (&(*err)->msg);
                        pgimg_error_free (err);
                        if (l->name == NULL && asprintf (&l->name, "%s@%s", res->picks[i].recipe->name,
                                                         res->picks[i].version->version) < 0)
                                return oom (err, "extensions");
                        progress_note ("%s", l->failed_msg);
                        continue;
                }
                if (outcome[i] > 0)
                        l->built = 1;   /* by a worker */
                pl = &res->layers[res->n_layers++];
                pl->name = l->name;
                memcpy (pl->key, l->key, sizeof (pl->key));
                pl->desc = l->desc;
                pl->built = l->built;
                if ((pl->comment = strdup (l->comment)) == NULL)
                        return oom (err, "extensions");
        }
        return 0;
}

/* shared_preload_libraries and the settings the image's extensions
 * need, for the entrypoint to add to a new cluster's postgresql.conf. */
static int
extension_settings (const struct pipeline_result *res, struct buf *out, pgimg_error_t *err)
{
        cleanup_buf struct buf libs = BUF_INIT;

        for (size_t i = 0; i < res->n_picks; i++)
                for (char **p = res->picks[i].recipe->preload; p && *p && !res->ext_layers[i].failed_msg; p++) {
                        int dup = 0;
                        for (size_t j = 0; j < i && !dup; j++)
                                for (char **q = res->picks[j].recipe->preload; q && *q && !dup; q++)
                                        dup = strcmp (*p, *q) == 0;
                        for (char **q = res->picks[i].recipe->preload; q < p && !dup; q++)
                                dup = strcmp (*p, *q) == 0;
                        if (!dup && buf_addf (&libs, "%s%s", libs.len ? "," : "", *p) < 0)
                                return oom (err, "extension settings");
                }
        if (libs.len && buf_addf (out, "shared_preload_libraries = '%s'\n", libs.data) < 0)
                return oom (err, "extension settings");
        return 0;
}

/* Logical decoding plugins the image's extensions bring, one a line:
 * servers that restrict them (output_plugin_libraries) must allow them. */
static int
extension_output_plugins (const struct pipeline_result *res, struct buf *out, pgimg_error_t *err)
{
        for (size_t i = 0; i < res->n_picks; i++)
                for (char **p = res->picks[i].recipe->output_plugins; p && *p && !res->ext_layers[i].failed_msg; p++)
                        if (buf_addf (out, "%s\n", *p) < 0)
                                return oom (err, "extension settings");
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
                        return oom (err, "cache");
                if (fs_sweep_temps (dir, err) < 0)
                        return -1;
        }
        return 0;
}

int
pipeline_postgres (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        cleanup_free char *versions = NULL;
        cleanup_free char *lock_path = NULL;
        const char *sde = getenv ("SOURCE_DATE_EPOCH");

        memset (res, 0, sizeof (*res));
        if (asprintf (&versions, "%s/versions", o->data_dir) < 0
            || asprintf (&lock_path, "%s/" LOCK_REL, o->data_dir) < 0
            || (res->lock_rel = strdup (LOCK_REL)) == NULL)
                return oom (err, "build");
        if (recipe_resolve (versions, o->spec, &res->recipe, &res->version, err) < 0)
                return -1;
        if (lock_load (lock_path, &res->lock, err) < 0)
                return -1;
        if (check_in_set (res, "build", res->recipe.build_packages, err) < 0
            || check_in_set (res, "runtime", res->recipe.runtime_packages, err) < 0)
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
        if (layer_cache_blob_dir (o->cache_dir, &res->blob_dir, err) < 0)
                return -1;
        if (sweep_cache (o->cache_dir, err) < 0)
                return -1;
        if (image_env (res, err) < 0)
                return -1;
        if (extension_picks (o, res, err) < 0)
                return -1;
        if (base_layer (o, res, err) < 0)
                return -1;
        if (postgres_layers (o, res, err) < 0)
                return -1;
        if (extension_layers (o, res, err) < 0)
                return -1;
        if (entrypoint_layer (o, res, err) < 0)
                return -1;
        image_define (res);
        return 0;
}

void
pipeline_result_free (struct pipeline_result *res)
{
        for (size_t i = 0; i < res->n_layers; i++)
                free (res->layers[i].comment);
        free (res->dev.comment);
        free (res->blob_dir);
        strv_free (res->env);
        strv_free (res->tags);
        free (res->volume);
        free (res->lock_rel);
        free (res->failed_log);
        recipe_free (&res->recipe);
        lock_free (&res->lock);
        for (size_t i = 0; res->ext_layers && i < res->n_picks; i++)
                extension_layer_free (&res->ext_layers[i]);
        free (res->ext_layers);
        free (res->picks);
        ext_recipes_free (res->ext_recipes, res->n_ext_recipes);
        strv_free (res->skipped);
        memset (res, 0, sizeof (*res));
}
