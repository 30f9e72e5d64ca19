/* pipeline_image.c - the image definition: its env, volume and tags,
 * the receipt, the entrypoint layer (scripts, data directories, the
 * settings the extensions need) and the config oci/ writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/rootfs.h"
#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "oci/receipt.h"

#define IMAGE_NAME "pgimg/postgres"

/* Env of the image: what docker-library's postgres sets, for our layout. */
int
pipeline_image_env (struct pipeline_result *res, pgimg_error_t *err)
{
        const char *major = res->recipe.major;
        int m = atoi (major);
        char **env = calloc (6, sizeof (char *));

        if (env == NULL)
                return pipeline_oom (err, "image env");
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
                return pipeline_oom (err, "image env");
        res->volume = strdup (m >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data");
        res->tags = calloc (3, sizeof (char *));
        /* A cross-built image's tags name its architecture: loading it
         * must not move the tags of the amd64 image of the same version. */
        const char *sep = pipeline_is_cross (res->arch) ? "-" : "";
        const char *arch = pipeline_is_cross (res->arch) ? res->arch : "";
        if (res->volume == NULL || res->tags == NULL
            || asprintf (&res->tags[0], IMAGE_NAME ":%s%s%s", res->version->version, sep, arch) < 0
            || asprintf (&res->tags[1], IMAGE_NAME ":%s%s%s", major, sep, arch) < 0)
                return pipeline_oom (err, "image tags");
        return 0;
}

/* res->image from the layers, env, volume and tags: every field of the
 * image's config and manifest is set here and nowhere else. */
void
pipeline_image_define (struct pipeline_result *res)
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
                .architecture = res->arch,
                /* No User: as the official image, the container starts as
                 * root so that the entrypoint can hand a root-owned mount
                 * (tmpfs, new volume, bind mount) to postgres; it then
                 * re-executes itself as postgres with gosu, and the server
                 * never runs as root. */
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

/* The packages of the lock's set name, less those of skip (may be NULL),
 * into a new array *out (free it) of *n. */
static int
set_packages (const struct pipeline_result *res, const char *name, const char *skip,
              struct receipt_package **out, size_t *n, pgimg_error_t *err)
{
        const struct lock_set *set = lock_find_set (&res->lock, name);
        const struct lock_set *minus = skip ? lock_find_set (&res->lock, skip) : NULL;

        if (set == NULL)
                return pgimg_make_error (err, ENOENT, "the lock has no set `%s`", name);
        if ((*out = calloc (set->n + 1, sizeof (**out))) == NULL)
                return pipeline_oom (err, "receipt");
        *n = 0;
        for (size_t i = 0; i < set->n; i++) {
                const struct lock_package *p = lock_find (&res->lock, set->packages[i]);
                int skipped = 0;
                for (size_t j = 0; minus && j < minus->n && !skipped; j++)
                        skipped = strcmp (minus->packages[j], set->packages[i]) == 0;
                if (skipped)
                        continue;
                (*out)[*n].name = set->packages[i];
                (*out)[(*n)++].version = p ? p->version : "";
        }
        return 0;
}

/* What the image's receipt and a disk's have in common; r points into
 * res and layers (which holds n_layers + 1). */
static void
receipt_of (const struct pipeline_result *res, const char *pgimg_version, size_t n_layers,
            struct receipt_layer *layers, struct receipt *r)
{
        for (size_t i = 0; i < n_layers; i++) {
                layers[i].name = res->layers[i].name;
                layers[i].key = res->layers[i].key;
                layers[i].desc = &res->layers[i].desc;
        }
        r->pgimg_version = pgimg_version;
        r->image = IMAGE_NAME;
        r->tags = (const char *const *) res->tags;
        r->pg_major = res->recipe.major;
        r->pg_version = res->version->version;
        r->source_sha256 = res->version->sha256;
        r->source_urls = (const char *const *) res->version->urls;
        r->lock_path = res->lock_rel;
        r->lock_digest = res->lock.digest;
        r->source_date_epoch = res->source_date_epoch;
        r->layers = layers;
        r->n_layers = n_layers;
}

int
pipeline_receipt (const struct pipeline_result *res, const char *pgimg_version, size_t n_layers,
                  const char *manifest_digest, struct buf *out, pgimg_error_t *err)
{
        cleanup_free struct receipt_package *pkgs = NULL;
        struct receipt_layer layers[PIPELINE_MAX_LAYERS + 1];
        struct receipt r = { 0 };

        if (set_packages (res, "runtime", NULL, &pkgs, &r.n_packages, err) < 0)
                return -1;
        receipt_of (res, pgimg_version, n_layers, layers, &r);
        r.packages = pkgs;
        r.manifest_digest = manifest_digest;
        return receipt_format (&r, out, err);
}

int
pipeline_disk_receipt (const struct pipeline_result *res, const char *pgimg_version, const char *disk_format,
                       uint64_t size_mib, struct buf *out, pgimg_error_t *err)
{
        cleanup_free struct receipt_package *pkgs = NULL;
        cleanup_free struct receipt_package *machine = NULL;
        struct receipt_layer layers[PIPELINE_MAX_LAYERS + 1];
        struct receipt r = { 0 };

        if (set_packages (res, "runtime", NULL, &pkgs, &r.n_packages, err) < 0
            || set_packages (res, "machine", "runtime", &machine, &r.disk.n_machine_packages, err) < 0)
                return -1;
        receipt_of (res, pgimg_version, res->n_layers, layers, &r);
        layers[r.n_layers++] = (struct receipt_layer) { res->machine.name, res->machine.key, &res->machine.desc };
        r.packages = pkgs;
        r.disk.format = disk_format;
        r.disk.size_mib = size_mib;
        r.disk.machine_packages = machine;
        return receipt_format (&r, out, err);
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
                                return pipeline_oom (err, "extension settings");
                }
        if (libs.len && buf_addf (out, "shared_preload_libraries = '%s'\n", libs.data) < 0)
                return pipeline_oom (err, "extension settings");
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
                                return pipeline_oom (err, "extension settings");
        return 0;
}

static int
mkdir_owned (const char *root, const char *rel, uint32_t mode, struct owner_map *owners,
             pgimg_error_t *err)
{
        cleanup_free char *p = NULL;

        if (asprintf (&p, "%s/%s", root, rel) < 0)
                return pipeline_oom (err, rel);
        if (fs_mkdir_p (p, 0755, err) < 0)
                return -1;
        return owner_map_set (owners, rel, ROOTFS_POSTGRES_UID, ROOTFS_POSTGRES_UID, mode, err);
}

/* What the entrypoint layer holds. */
struct entrypoint_files {
        struct buf script, ensure, receipt, settings, plugins;
};

static void
entrypoint_files_release (struct entrypoint_files *f)
{
        buf_release (&f->script);
        buf_release (&f->ensure);
        buf_release (&f->receipt);
        buf_release (&f->settings);
        buf_release (&f->plugins);
}

static int
entrypoint_read (const struct pipeline_opts *o, const struct pipeline_result *res, struct entrypoint_files *f,
                 pgimg_error_t *err)
{
        cleanup_free char *script_path = NULL;
        cleanup_free char *ensure_path = NULL;

        if (asprintf (&script_path, "%s/image/docker-entrypoint.sh", o->data_dir) < 0
            || asprintf (&ensure_path, "%s/image/docker-ensure-initdb.sh", o->data_dir) < 0)
                return pipeline_oom (err, "entrypoint");
        if (fs_read_file (script_path, 1 << 20, &f->script, err) < 0
            || fs_read_file (ensure_path, 1 << 20, &f->ensure, err) < 0)
                return pgimg_error_wrap (err, "entrypoint");
        /* The receipt inside the image lists the layers below it. */
        if (pipeline_receipt (res, o->pgimg_version, res->n_layers, NULL, &f->receipt, err) < 0
            || extension_settings (res, &f->settings, err) < 0
            || extension_output_plugins (res, &f->plugins, err) < 0)
                return -1;
        return 0;
}

static int
entrypoint_key (const struct pipeline_opts *o, const struct pipeline_result *res,
                const struct entrypoint_files *f, char key[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        struct layer_key k = LAYER_KEY_INIT;
        char epoch[32];

        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (layer_key_init (&k, err) < 0)
                return -1;
        if (layer_key_add (&k, "layer", "entrypoint", err) < 0
            || layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "major", res->recipe.major, err) < 0
            || layer_key_add (&k, "script", f->script.data, err) < 0
            || layer_key_add (&k, "ensure", f->ensure.data, err) < 0
            || layer_key_add (&k, "receipt", f->receipt.data, err) < 0
            || (f->settings.len && layer_key_add (&k, "settings", f->settings.data, err) < 0)
            || (f->plugins.len && layer_key_add (&k, "output-plugins", f->plugins.data, err) < 0)
            || layer_key_add (&k, "mtime", epoch, err) < 0
            || layer_key_add (&k, "compression", layer_media_type (o->compression), err) < 0
            || layer_key_final (&k, key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        return 0;
}

/* The layer's tree under tmp, its owners and modes in *owners. */
static int
entrypoint_tree (const char *tmp, const struct entrypoint_files *f, int major, struct owner_map *owners,
                 pgimg_error_t *err)
{
        cleanup_free char *enforce_link = NULL;
        int r;

        r = pipeline_write_in (tmp, "usr/local/bin/docker-entrypoint.sh", f->script.data, f->script.len, 0755, err);
        if (r == 0)
                r = pipeline_write_in (tmp, "usr/local/bin/docker-ensure-initdb.sh", f->ensure.data, f->ensure.len, 0755, err);
        /* The official image's name for "initialize, and fail if already done". */
        if (r == 0 && (asprintf (&enforce_link, "%s/usr/local/bin/docker-enforce-initdb.sh", tmp) < 0
                       || symlink ("docker-ensure-initdb.sh", enforce_link) < 0))
                r = pgimg_make_error_errno (err, errno, "entrypoint: symlink docker-enforce-initdb.sh");
        if (r == 0)
                r = pipeline_write_in (tmp, "usr/share/pgimg/receipt.json", f->receipt.data, f->receipt.len, 0644, err);
        if (r == 0 && f->settings.len)
                r = pipeline_write_in (tmp, "usr/share/pgimg/postgresql.conf", f->settings.data, f->settings.len, 0644, err);
        if (r == 0 && f->plugins.len)
                r = pipeline_write_in (tmp, "usr/share/pgimg/output-plugins", f->plugins.data, f->plugins.len, 0644, err);
        if (r == 0)
                r = mkdir_owned (tmp, "docker-entrypoint-initdb.d", 0755, owners, err);
        if (r == 0)
                r = owner_map_set (owners, "docker-entrypoint-initdb.d", 0, 0, 0755, err);
        /* Writable by any uid, as the official image, so that --user with
         * an arbitrary uid can still create its cluster there. */
        if (r == 0)
                r = mkdir_owned (tmp, "var/lib/postgresql", 01777, owners, err);
        if (r == 0 && major < 18)
                r = mkdir_owned (tmp, "var/lib/postgresql/data", 01777, owners, err);
        if (r == 0)
                r = mkdir_owned (tmp, "run/postgresql", 03777, owners, err);
        return r;
}

int
pipeline_entrypoint_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        __attribute__ ((cleanup (entrypoint_files_release))) struct entrypoint_files f = {
                BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT,
        };
        char *tmp = NULL;
        struct layer_opts lo;
        int r;

        l->name = "entrypoint";
        /* Its receipt lists the digests of the layers below: unknown
         * until a layer that would be built is. */
        if (o->plan && pipeline_plan_unknown (res) != NULL) {
                l->state = PIPELINE_BUILD;
                res->n_layers++;
                pipeline_plan_add (res, "entrypoint", l->name, l, pipeline_plan_unknown (res)->name);
                return 0;
        }
        if (entrypoint_read (o, res, &f, err) < 0 || entrypoint_key (o, res, &f, l->key, err) < 0)
                return -1;
        if (asprintf (&l->comment, "pgimg: entrypoint, data directories and receipt") < 0)
                return pipeline_oom (err, "entrypoint");
        res->n_layers++;
        if (o->plan)
                return pipeline_plan_layer (o, res, "entrypoint", l->name, l, err);
        double t = timings_now ();
        if ((r = pipeline_lookup (o->cache_dir, l, err)) != 0) {
                if (r > 0)
                        timings_cached (o->timings, "entrypoint", "layer", t);
                return r < 0 ? -1 : 0;
        }
        if (fs_work_dir (o->cache_dir, "entrypoint", &tmp, err) < 0)
                return -1;
        r = entrypoint_tree (tmp, &f, atoi (res->recipe.major), &owners, err);
        if (r == 0) {
                pipeline_layer_opts (o, res, &lo);
                lo.owners = &owners;
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        }
        fs_drop_temp_dir (tmp);
        free (tmp);
        if (r < 0)
                return pgimg_error_wrap (err, "entrypoint layer");
        r = pipeline_store (o->cache_dir, l, err);
        timings_since (o->timings, "entrypoint", "layer entrypoint", t);
        return r;
}
