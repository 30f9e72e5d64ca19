/* ext_image.c - the extension image: the pipeline builds (or takes from
 * the cache) the extension's layer; that layer, laid out for an image
 * volume (ext_image_tree.c) with the licenses of the extension's source
 * or .deb, is the image's one layer, cached by its inputs like any. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/deb.h"
#include "builder/ext_image.h"
#include "builder/fetch.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "layers/cache.h"

#define EXT_IMAGE_USER "65532:65532"

static int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "extension image");
}

/* "18" of "postgres-18" or "postgres-18.1" into major. */
static int
spec_major (const char *spec, char *major, size_t size, pgimg_error_t *err)
{
        const char *p = strncmp (spec, "postgres-", 9) == 0 ? spec + 9 : spec;
        size_t n = strcspn (p, ".");

        if (n == 0 || n >= size)
                return pgimg_make_error (err, EINVAL, "`%s` names no major, like postgres-18", spec);
        memcpy (major, p, n);
        major[n] = '\0';
        return 0;
}

/* A file of a source's top directory that holds its licence terms. */
static int
is_license_name (const char *name)
{
        static const char *const prefixes[] = { "LICENSE", "LICENCE", "COPYING", "COPYRIGHT", "NOTICE", NULL };
        for (size_t i = 0; prefixes[i]; i++)
                if (strncasecmp (name, prefixes[i], strlen (prefixes[i])) == 0)
                        return 1;
        return 0;
}

/* The one top directory of the unpacked source at dir, as release
 * tarballs have, or dir itself; malloc'ed, NULL on ENOMEM. */
static char *
source_top (const char *dir)
{
        cleanup_dir DIR *d = opendir (dir);
        char *top = NULL;
        struct dirent *e;
        struct stat st;
        int n = 0;

        while (d && (e = readdir (d)) != NULL)
                if (e->d_name[0] != '.' && n++ == 0 && asprintf (&top, "%s/%s", dir, e->d_name) < 0)
                        return NULL;
        if (n == 1 && stat (top, &st) == 0 && S_ISDIR (st.st_mode))
                return top;
        free (top);
        return strdup (dir);
}

/* Remove the READMEs from lic: it has licence files of its own. */
static int
drop_readmes (const char *lic, pgimg_error_t *err)
{
        cleanup_dir DIR *d = opendir (lic);
        struct dirent *e;

        while (d && (e = readdir (d)) != NULL) {
                cleanup_free char *path = NULL;
                if (strncasecmp (e->d_name, "README", 6) != 0)
                        continue;
                if (asprintf (&path, "%s/%s", lic, e->d_name) < 0)
                        return oom (err);
                if (unlink (path) < 0)
                        return pgimg_make_error_errno (err, errno, "remove `%s`", path);
        }
        return 0;
}

/* The licence files of the unpacked source at dir into lic, and its
 * debian/copyright where it has one; a source with neither (pgTAP,
 * first_last_agg) states its licence in its README, which goes instead. */
static int
source_licenses (const char *dir, const char *lic, pgimg_error_t *err)
{
        cleanup_free char *top = source_top (dir), *deb_from = NULL, *deb_to = NULL;
        cleanup_dir DIR *d = NULL;
        struct dirent *e;
        int moved = 0, readme;

        if (top == NULL || asprintf (&deb_from, "%s/debian/copyright", top) < 0
            || asprintf (&deb_to, "%s/copyright", lic) < 0)
                return oom (err);
        if ((d = opendir (top)) == NULL)
                return pgimg_make_error_errno (err, errno, "open `%s`", top);
        if (fs_mkdir_p (lic, 0755, err) < 0)
                return -1;
        while ((e = readdir (d)) != NULL) {
                cleanup_free char *from = NULL, *to = NULL;
                readme = strncasecmp (e->d_name, "README", 6) == 0;
                if (!(is_license_name (e->d_name) || readme) || e->d_type == DT_DIR)
                        continue;
                if (asprintf (&from, "%s/%s", top, e->d_name) < 0 || asprintf (&to, "%s/%s", lic, e->d_name) < 0)
                        return oom (err);
                if (rename (from, to) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s`", from);
                moved += !readme;
        }
        if (fs_exists (deb_from) && !fs_exists (deb_to) && rename (deb_from, deb_to) < 0)
                return pgimg_make_error_errno (err, errno, "move `%s`", deb_from);
        return fs_exists (deb_to) || moved ? drop_readmes (lic, err) : 0;
}

/* The extension's licence files into <work>/licenses/<name>/ (a Debian
 * build: the .deb's copyright files, one directory a package), from the
 * download cache (fetched again when it is not there). */
static int
gather_licenses (const char *cache_dir, const struct extension_pick *pick, const char *major, const char *work,
                 pgimg_error_t *err)
{
        const struct ext_version *v = pick->version;
        const struct ext_deb *deb = ext_version_deb (v, major);
        cleanup_free char *path = NULL, *unpack = NULL, *lic = NULL, *what = NULL;

        if (asprintf (&unpack, "%s/license-src", work) < 0 || asprintf (&lic, "%s/licenses", work) < 0
            || asprintf (&what, "%s %s", pick->recipe->name, v->version) < 0)
                return oom (err);
        if (deb != NULL) {
                static const char *const exclude[] = { "*", NULL };
                static const char *const include[] = { "usr/share/doc/*/copyright", NULL };
                struct deb_unpack_opts uo = { exclude, include, NULL };
                cleanup_free char *doc = NULL;
                const char *urls[] = { deb->url, NULL };

                if (fetch_cached (cache_dir, urls, 1, deb->sha256, what, &path, err) < 0
                    || fs_mkdir_p (unpack, 0755, err) < 0 || deb_unpack (path, unpack, &uo, err) < 0)
                        return -1;
                if (asprintf (&doc, "%s/usr/share/doc", unpack) < 0)
                        return oom (err);
                if (fs_exists (doc) && rename (doc, lic) < 0)
                        return pgimg_make_error_errno (err, errno, "move `%s`", doc);
                return 0;
        }
        if (v->n_urls == 0)
                return 0;       /* a part of PostgreSQL: its licence is the server's */
        cleanup_free char *dest = NULL;
        if (asprintf (&dest, "%s/%s", lic, pick->recipe->name) < 0)
                return oom (err);
        if (fetch_cached (cache_dir, (const char *const *) v->urls, v->n_urls, v->sha256, what, &path, err) < 0
            || fs_mkdir_p (unpack, 0755, err) < 0 || layer_extract (path, unpack, NULL, err) < 0)
                return -1;
        return source_licenses (unpack, dest, err);
}

/* The input key of the image's layer. */
static int
layer_key (const struct ext_image *img, const struct extension_layer *l, const char *major,
           const struct pipeline_opts *o, char key[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        struct layer_key k = LAYER_KEY_INIT;
        char epoch[32], comp[8];
        int r;

        snprintf (epoch, sizeof (epoch), "%lld", img->res.source_date_epoch);
        snprintf (comp, sizeof (comp), "%d", (int) o->compression);
        r = layer_key_init (&k, err) < 0 || layer_key_add (&k, "kind", "extension-image", err) < 0
            || layer_key_add (&k, "logic", EXT_IMAGE_LOGIC_VERSION, err) < 0
            || layer_key_add (&k, "major", major, err) < 0
            || layer_key_add (&k, "layer", l->desc.diff_id, err) < 0
            || layer_key_add (&k, "recipe", img->pick->version->canonical, err) < 0
            || layer_key_add (&k, "compression", comp, err) < 0 || layer_key_add (&k, "epoch", epoch, err) < 0
            || layer_key_final (&k, key, err) < 0 ? -1 : 0;
        layer_key_free (&k);
        return r;
}

/* The laid-out layer, built in a scratch directory of the cache. */
static int
build_layer (struct ext_image *img, const struct extension_layer *l, const char *major,
             const struct pipeline_opts *o, pgimg_error_t *err)
{
        const struct ext_recipe *r = img->pick->recipe;
        cleanup_free char *work = NULL, *blob = NULL, *src = NULL, *dst = NULL, *lic = NULL;
        struct layer_opts lo = { 0 };
        int rc;

        if (fs_work_dir (o->cache_dir, "ext-image", &work, err) < 0)
                return -1;
        rc = asprintf (&blob, "%s/%s", img->res.blob_dir, l->desc.digest + 7) < 0
             || asprintf (&src, "%s/layer", work) < 0 || asprintf (&dst, "%s/image", work) < 0
             || asprintf (&lic, "%s/licenses", work) < 0 ? oom (err) : 0;
        if (rc == 0)
                rc = fs_mkdir_p (src, 0755, err);
        if (rc == 0)
                rc = layer_extract (blob, src, NULL, err);
        if (rc == 0)
                rc = gather_licenses (o->cache_dir, img->pick, major, work, err);
        if (rc == 0)
                rc = ext_image_tree (src, major, r->extensions && r->extensions[0] ? r->extensions[0] : r->name,
                                     lic, dst, &img->rewritten, &img->sql_version, err);
        if (rc == 0) {
                lo.mtime = (time_t) img->res.source_date_epoch;
                lo.compression = o->compression;
                rc = layer_write (dst, &lo, img->res.blob_dir, &img->layer, err);
        }
        fs_drop_temp_dir (work);
        if (rc < 0)
                return -1;
        img->built = 1;
        return layer_cache_store (o->cache_dir, img->key, &img->layer, err);
}

static const char *
version_label (const struct ext_image *img)
{
        return img->sql_version ? img->sql_version : img->pick->version->version;
}

/* What laying the layer out found (the control file's version, the
 * files rewritten) beside its cache entry, so that a cached layer needs
 * no unpacking: <cache_dir>/layers/<key>.ext-image, one "sql NAME" or
 * "rewritten PATH" a line. */
static int
meta_path (const char *cache_dir, const char *key, char **out)
{
        return asprintf (out, "%s/layers/%s.ext-image", cache_dir, key) < 0 ? -1 : 0;
}

static int
meta_store (const struct ext_image *img, const char *cache_dir, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *path = NULL;

        if (meta_path (cache_dir, img->key, &path) < 0
            || (img->sql_version && buf_addf (&b, "sql %s\n", img->sql_version) < 0))
                return oom (err);
        for (char **p = img->rewritten; p && *p; p++)
                if (buf_addf (&b, "rewritten %s\n", *p) < 0)
                        return oom (err);
        return fs_write_file_atomic (path, b.data, b.len, 0644, err);
}

/* 1 when the record was there and read, 0 when not. */
static int
meta_load (struct ext_image *img, const char *cache_dir, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *path = NULL;
        char *line, *save = NULL;
        size_t n = 0;

        if (meta_path (cache_dir, img->key, &path) < 0)
                return oom (err);
        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, 1u << 20, &b, err) < 0)
                return -1;
        if (b.len == 0)
                return 1;       /* nothing was rewritten, no control file */
        for (line = strtok_r (b.data, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
                if (strncmp (line, "sql ", 4) == 0) {
                        free (img->sql_version);
                        if ((img->sql_version = strdup (line + 4)) == NULL)
                                return oom (err);
                } else if (strncmp (line, "rewritten ", 10) == 0) {
                        char **v = realloc (img->rewritten, (n + 2) * sizeof (char *));
                        if (v == NULL)
                                return oom (err);
                        img->rewritten = v;
                        if ((v[n] = strdup (line + 10)) == NULL)
                                return oom (err);
                        v[++n] = NULL;
                }
        }
        return 1;
}

/* A version as a tag may spell it: [A-Za-z0-9_.-], anything else a
 * '-' ("1.3.0~rc1" -> "1.3.0-rc1", as CloudNativePG turns an epoch's ':'). */
static char *
tag_version (const char *version)
{
        char *t = strdup (version);

        for (char *p = t; p && *p; p++)
                if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
                        *p = '-';
        return t;
}

static int
define_labels (struct ext_image *img, const char *major)
{
        const struct ext_recipe *r = img->pick->recipe;
        const struct ext_version *v = img->pick->version;
        const struct ext_deb *deb = ext_version_deb (v, major);
        const char *suite = img->res.lock.suite ? img->res.lock.suite : "trixie";
        struct oci_kv *lb = img->labels;
        char **s = img->strings;

        if (asprintf (&s[0], "%s %s %s %s", r->name, v->version, major, suite) < 0
            || asprintf (&s[1], "%s %s for PostgreSQL %s on Debian %s, for image volumes", r->name, v->version,
                         major, suite) < 0
            || (s[2] = strdup (img->res.tags[0])) == NULL || (s[3] = tag_version (v->version)) == NULL
            || asprintf (&img->tags[0], "pgimg/%s:%s-%s-%s", r->name, s[3], major, suite) < 0
            || asprintf (&img->tags[1], "pgimg/%s:%s-%s", r->name, s[3], major) < 0)
                return -1;
        lb[0] = (struct oci_kv) { "io.cloudnativepg.image.base.name", s[2] };
        lb[1] = (struct oci_kv) { "io.cloudnativepg.image.base.os", suite };
        lb[2] = (struct oci_kv) { "io.cloudnativepg.image.base.pgmajor", img->res.recipe.major };
        lb[3] = (struct oci_kv) { "io.cloudnativepg.image.sql.version", version_label (img) };
        lb[4] = (struct oci_kv) { "org.opencontainers.image.base.name", "scratch" };
        lb[5] = (struct oci_kv) { "org.opencontainers.image.created", img->created };
        lb[6] = (struct oci_kv) { "org.opencontainers.image.description", s[1] };
        lb[7] = (struct oci_kv) { "org.opencontainers.image.licenses", r->license ? r->license : "NOASSERTION" };
        lb[8] = (struct oci_kv) { "org.opencontainers.image.revision", deb ? deb->sha256 : v->sha256 };
        lb[9] = (struct oci_kv) { "org.opencontainers.image.source", r->homepage ? r->homepage : "" };
        lb[10] = (struct oci_kv) { "org.opencontainers.image.title", s[0] };
        lb[11] = (struct oci_kv) { "org.opencontainers.image.url", r->homepage ? r->homepage : "" };
        lb[12] = (struct oci_kv) { "org.opencontainers.image.version", v->version };
        lb[13] = (struct oci_kv) { "io.pgimg.extension.name", r->name };
        lb[14] = (struct oci_kv) { "io.pgimg.extension.postgres", img->res.version->version };
        return 0;
}

/* img->oci: one layer, no command, the non-root user CloudNativePG's
 * own extension images have. */
static int
define_image (struct ext_image *img, const char *major)
{
        time_t t = (time_t) img->res.source_date_epoch;
        struct tm tm;

        gmtime_r (&t, &tm);
        strftime (img->created, sizeof (img->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (define_labels (img, major) < 0
            || asprintf (&img->comment, "pgimg: extension %s@%s for PostgreSQL %s, laid out for image volumes",
                         img->pick->recipe->name, img->pick->version->version, major) < 0)
                return -1;
        img->oci = (struct oci_image) {
                .created = t,
                .architecture = "amd64",
                .user = EXT_IMAGE_USER,
                .labels = img->labels,
                .n_labels = EXT_IMAGE_N_LABELS,
                .annotations = img->labels,
                .n_annotations = EXT_IMAGE_N_LABELS,
                .layers = &img->layer,
                .layer_comments = (const char *const *) &img->comment,
                .n_layers = 1,
                .tags = (const char *const *) img->tags,
        };
        return 0;
}

static const struct extension_layer *
find_layer (struct ext_image *img, const char *item)
{
        size_t n = strcspn (item, "@");

        for (size_t i = 0; i < img->res.n_picks; i++) {
                const char *name = img->res.picks[i].recipe->name;
                if (strlen (name) == n && strncmp (name, item, n) == 0) {
                        img->pick = &img->res.picks[i];
                        return &img->res.ext_layers[i];
                }
        }
        return NULL;
}

/* The plan of the image's layer, over the plan of the layers below. */
static int
plan_image_layer (struct ext_image *img, const struct extension_layer *l, const char *major,
                  const struct pipeline_opts *o, pgimg_error_t *err)
{
        struct pipeline_step *s = &img->step;
        enum pipeline_state below = PIPELINE_BUILD;
        int hit;

        for (size_t i = 0; i < img->res.n_layers; i++)
                if (img->res.layers[i].name == l->name)
                        below = img->res.layers[i].state;
        s->step = "extension-image";
        snprintf (s->name, sizeof (s->name), "%s", img->pick->recipe->name);
        snprintf (s->version, sizeof (s->version), "%s", img->pick->version->version);
        s->state = PIPELINE_BUILD;
        if (below == PIPELINE_BUILD) {
                snprintf (s->after, sizeof (s->after), "%s", l->name);
                return 0;
        }
        if (layer_key (img, l, major, o, img->key, err) < 0)
                return -1;
        memcpy (s->key, img->key, sizeof (s->key));
        if ((hit = layer_cache_peek (o->cache_dir, img->key, &img->layer, err)) < 0
            || (hit && (hit = meta_load (img, o->cache_dir, err)) < 0))
                return -1;
        if (hit)
                s->state = PIPELINE_CACHED;
        return 0;
}

int
ext_image_build (const struct pipeline_opts *o, const char *item, struct ext_image *img, pgimg_error_t *err)
{
        const char *with[] = { item, NULL };
        struct pipeline_opts po = *o;
        const struct extension_layer *l;
        char major[16];
        int hit;

        memset (img, 0, sizeof (*img));
        if (spec_major (o->spec, major, sizeof (major), err) < 0 || ext_image_check_major (major, err) < 0)
                return -1;
        po.with = with;
        po.sets = NULL;
        po.keep_going = 0;
        /* The server image's base, entrypoint and SBOM are not in this
         * image: making them cost a cold build the runtime base. */
        po.extension_layers_only = 1;
        if (pipeline_postgres (&po, &img->res, err) < 0)
                return -1;
        if ((l = find_layer (img, item)) == NULL)
                return pgimg_make_error (err, ENOENT, "the build of `%s` has no layer of it", item);
        if (o->plan)
                return plan_image_layer (img, l, major, o, err);
        if (layer_key (img, l, major, o, img->key, err) < 0)
                return -1;
        double t = timings_now ();
        if ((hit = layer_cache_lookup (o->cache_dir, img->key, &img->layer, err)) < 0
            || (hit && (hit = meta_load (img, o->cache_dir, err)) < 0))
                return -1;
        if (hit == 0 && (build_layer (img, l, major, o, err) < 0 || meta_store (img, o->cache_dir, err) < 0))
                return pgimg_error_wrap (err, "extension image of `%s`", item);
        if (hit)
                timings_cached (o->timings, "extension image", "layer", t);
        else
                timings_since (o->timings, "extension image", "lay out and write the layer", t);
        if (define_image (img, major) < 0)
                return oom (err);
        return 0;
}

void
ext_image_free (struct ext_image *img)
{
        pipeline_result_free (&img->res);
        free (img->sql_version);
        strv_free (img->rewritten);
        for (size_t i = 0; i < sizeof (img->strings) / sizeof (img->strings[0]); i++)
                free (img->strings[i]);
        for (size_t i = 0; i < 3; i++)
                free (img->tags[i]);
        free (img->comment);
        memset (img, 0, sizeof (*img));
}
