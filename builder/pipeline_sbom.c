/* pipeline_sbom.c - the SBOM layer: an SPDX document of what the layers
 * below it hold, read back from those layers (each Debian package's
 * status file and copyright file) and from the recipes (PostgreSQL and
 * the extensions), in a small top layer of its own so that no other
 * layer changes.  Its key is that of the layers below, so a build that
 * rebuilt nothing reads nothing but this layer back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/deb.h"
#include "builder/deb_meta.h"
#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/cache.h"
#include "layers/scan.h"
#include "layers/store.h"
#include "oci/sbom.h"

/* Bumped whenever what the SBOM says of the same layers changes. */
#define SBOM_LOGIC_VERSION "5"
#define SBOM_PATH "usr/share/pgimg/sbom.spdx.json"
#define DOC_DIR "usr/share/doc/"
#define META_MAX_BYTES (4u << 20)

/* An entry of the layers that the SBOM reads, the upper layer's. */
struct seen {
        char *name;
        char *text;             /* a file's content, or NULL */
        size_t len;
        char *link;             /* a symbolic link's target, or NULL */
};

struct seen_set {
        struct seen *v;
        size_t n;
        const char *only;       /* want only this name (the SBOM layer) */
};

static void
seen_set_free (struct seen_set *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free (s->v[i].name);
                free (s->v[i].text);
                free (s->v[i].link);
        }
        free (s->v);
}

static struct seen *
seen_find (const struct seen_set *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp (s->v[i].name, name) == 0)
                        return &s->v[i];
        return NULL;
}

/* status.d/<pkg>, doc/<pkg> (a link to another package's),
 * doc/<pkg>/copyright, os-release and debian_version. */
static int
want (void *ctx, const char *name)
{
        const struct seen_set *s = ctx;
        const char *rest;

        if (s->only)
                return strcmp (name, s->only) == 0;
        if (strncmp (name, DEB_STATUS_DIR "/", sizeof (DEB_STATUS_DIR)) == 0) {
                rest = name + sizeof (DEB_STATUS_DIR);
                return *rest && !strchr (rest, '/') && !strstr (rest, ".md5sums");
        }
        if (strncmp (name, DOC_DIR, strlen (DOC_DIR)) == 0) {
                const char *slash = strchr (rest = name + strlen (DOC_DIR), '/');
                return slash == NULL ? *rest != '\0' : strcmp (slash, "/copyright") == 0;
        }
        return strcmp (name, "usr/lib/os-release") == 0 || strcmp (name, "etc/os-release") == 0
               || strcmp (name, "etc/debian_version") == 0;
}

static int
found (void *ctx, const char *name, const char *data, size_t len, const char *link, int symlink,
       pgimg_error_t *err)
{
        struct seen_set *s = ctx;
        struct seen *e = seen_find (s, name);
        const struct seen *target = link && !symlink ? seen_find (s, link) : NULL;

        if (link && !symlink) {         /* a hard link: the file it names */
                data = target ? target->text : NULL;
                len = target ? target->len : 0;
                link = NULL;
        }
        if (e == NULL) {
                struct seen *v = realloc (s->v, (s->n + 1) * sizeof (*v));
                if (v == NULL)
                        return pipeline_oom (err, "SBOM");
                s->v = v;
                e = &v[s->n++];
                memset (e, 0, sizeof (*e));
                if ((e->name = strdup (name)) == NULL)
                        return pipeline_oom (err, "SBOM");
        }
        free (e->text);
        free (e->link);
        e->text = data ? strndup (data, len) : NULL;
        e->len = len;
        e->link = link ? strdup (link) : NULL;
        if ((data && e->text == NULL) || (link && e->link == NULL))
                return pipeline_oom (err, "SBOM");
        return 0;
}

static int
scan_layer (const char *blob_dir, const struct pipeline_layer *l, struct seen_set *s, pgimg_error_t *err)
{
        const struct layer_scan scan = { want, found, s, META_MAX_BYTES };
        cleanup_fd int fd = -1;

        if (store_open (blob_dir, l->desc.digest, l->desc.size, &fd, err) < 0
            || layer_scan_fd (fd, l->desc.digest, &scan, err) < 0)
                return pgimg_error_wrap (err, "SBOM: layer %s", l->name);
        return 0;
}

/* The packages of the SBOM and the strings they point to. */
struct parts {
        struct sbom_package *v;
        size_t n;
        char **owned;
        size_t n_owned;
};

static void
parts_free (struct parts *p)
{
        for (size_t i = 0; i < p->n_owned; i++)
                free (p->owned[i]);
        free (p->owned);
        free (p->v);
}

/* Keep s (may be NULL) until parts_free; -1 when out of memory. */
static int
own (struct parts *p, char *s)
{
        char **v;

        if (s == NULL)
                return 0;
        v = realloc (p->owned, (p->n_owned + 1) * sizeof (*v));
        if (v == NULL) {
                free (s);
                return -1;
        }
        p->owned = v;
        v[p->n_owned++] = s;
        return 0;
}

static struct sbom_package *
add_package (struct parts *p)
{
        struct sbom_package *v = realloc (p->v, (p->n + 1) * sizeof (*v));

        if (v == NULL)
                return NULL;
        p->v = v;
        memset (&v[p->n], 0, sizeof (v[0]));
        return &v[p->n++];
}

/* The copyright file of package name: its own, or that of the package
 * its doc directory links to (dh_installdocs --link-doc). */
static const struct seen *
copyright_of (const struct seen_set *s, const char *name)
{
        cleanup_free char *path = NULL;
        const struct seen *e;

        if (asprintf (&path, DOC_DIR "%s/copyright", name) < 0)
                return NULL;
        if ((e = seen_find (s, path)) != NULL && e->text)
                return e;
        free (path);
        path = NULL;
        if (asprintf (&path, DOC_DIR "%s", name) < 0 || (e = seen_find (s, path)) == NULL || e->link == NULL)
                return NULL;
        const char *base = strrchr (e->link, '/') ? strrchr (e->link, '/') + 1 : e->link;
        free (path);
        path = NULL;
        if (*base == '\0' || strcmp (base, name) == 0 || asprintf (&path, DOC_DIR "%s/copyright", base) < 0)
                return NULL;
        e = seen_find (s, path);
        return e && e->text ? e : NULL;
}

/* "glibc (2.41-12)" -> "glibc" and "2.41-12". */
static int
split_source (struct parts *p, char *source, struct sbom_package *pkg)
{
        char *paren = source ? strstr (source, " (") : NULL;

        if (own (p, source) < 0)
                return -1;
        pkg->source = source;
        if (paren && paren[strlen (paren) - 1] == ')') {
                *paren = '\0';
                paren[strlen (paren + 1)] = '\0';       /* the ')' */
                pkg->source_version = paren + 2;
        }
        return 0;
}

static int
deb_package (const struct seen_set *s, const struct seen *st, struct parts *p, pgimg_error_t *err)
{
        char *name = NULL, *version = NULL, *arch = NULL, *source = NULL, *summary = NULL, *license = NULL;
        const struct seen *copyright;
        struct sbom_package *pkg;

        if (deb_meta_field (st->text, st->len, "Package", &name, err) < 0
            || deb_meta_field (st->text, st->len, "Version", &version, err) < 0
            || deb_meta_field (st->text, st->len, "Architecture", &arch, err) < 0
            || deb_meta_field (st->text, st->len, "Source", &source, err) < 0
            || deb_meta_field (st->text, st->len, "Description", &summary, err) < 0
            || own (p, name) < 0 || own (p, version) < 0 || own (p, arch) < 0 || own (p, summary) < 0) {
                free (source);
                return pipeline_oom (err, "SBOM");
        }
        if (name == NULL || version == NULL) {
                free (source);
                return pgimg_make_error (err, EINVAL, "SBOM: `%s` names no Package or Version; rebuild the image with `pgimg build`",
                                         st->name);
        }
        copyright = copyright_of (s, name);
        if (copyright && deb_meta_license (copyright->text, copyright->len, &license, err) < 0) {
                free (source);
                return -1;
        }
        if (own (p, license) < 0 || (pkg = add_package (p)) == NULL) {
                free (source);
                return pipeline_oom (err, "SBOM");
        }
        *pkg = (struct sbom_package) { .kind = SBOM_DEB, .name = name, .version = version, .arch = arch,
                                       .license = license, .summary = summary };
        return split_source (p, source, pkg) < 0 ? pipeline_oom (err, "SBOM") : 0;
}

static int
cmp_package (const void *a, const void *b)
{
        const struct sbom_package *x = a, *y = b;
        int c = strcmp (x->name, y->name);
        return c ? c : strcmp (x->version, y->version);
}

/* Every Debian package of the layers below, sorted by name. */
static int
deb_packages (const struct seen_set *s, struct parts *p, pgimg_error_t *err)
{
        size_t first = p->n;

        for (size_t i = 0; i < s->n; i++)
                if (strncmp (s->v[i].name, DEB_STATUS_DIR "/", sizeof (DEB_STATUS_DIR)) == 0 && s->v[i].text
                    && deb_package (s, &s->v[i], p, err) < 0)
                        return -1;
        if (p->n > first)
                qsort (p->v + first, p->n - first, sizeof (p->v[0]), cmp_package);
        return 0;
}

/* PostgreSQL and each extension in the image, from their recipes. */
static int
source_packages (const struct pipeline_result *res, struct parts *p, pgimg_error_t *err)
{
        const struct recipe_version *v = res->version;
        struct sbom_package *pkg = add_package (p);

        if (pkg == NULL)
                return pipeline_oom (err, "SBOM");
        *pkg = (struct sbom_package) { .kind = SBOM_SOURCE, .name = "postgresql", .version = v->version,
                                       .license = res->recipe.license, .download_url = v->urls[0],
                                       .sha256 = v->sha256, .homepage = res->recipe.homepage,
                                       .summary = "PostgreSQL server, client tools and contrib" };
        for (size_t i = 0; i < res->n_picks; i++) {
                const struct ext_recipe *r = res->picks[i].recipe;
                const struct ext_version *ev = res->picks[i].version;
                const struct ext_deb *deb = ev->n_debs ? ext_version_deb_arch (ev, res->recipe.major, res->arch) : NULL;
                int part = r->build == EXT_BUILD_POSTGRES;

                if (res->ext_layers[i].failed_msg)
                        continue;
                if ((pkg = add_package (p)) == NULL)
                        return pipeline_oom (err, "SBOM");
                *pkg = (struct sbom_package) {
                        .kind = SBOM_SOURCE, .name = r->name, .version = part ? v->version : ev->version,
                        .license = r->license, .homepage = r->homepage, .summary = r->summary,
                        .download_url = deb ? deb->url : part ? v->urls[0] : ev->urls ? ev->urls[0] : NULL,
                        .sha256 = deb ? deb->sha256 : part ? v->sha256 : ev->sha256,
                        .origin = deb ? "Debian's build, unpacked by pgimg"
                                  : part ? "built by pgimg from PostgreSQL's source" : "built from its source by pgimg",
                };
        }
        return 0;
}

/* The layer's key: the layers below (their keys stand for their
 * content) and what the SBOM takes from the recipes. */
static int
sbom_key (const struct pipeline_opts *o, const struct pipeline_result *res, char key[SHA256_HEX_LEN + 1],
          pgimg_error_t *err)
{
        struct layer_key k = LAYER_KEY_INIT;
        char epoch[32];
        int rc = 0;

        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        if (layer_key_init (&k, err) < 0)
                return -1;
        rc |= layer_key_add (&k, "layer", "sbom", err);
        rc |= layer_key_add (&k, "logic", SBOM_LOGIC_VERSION, err);
        rc |= layer_key_add (&k, "pgimg", o->pgimg_version, err);
        rc |= layer_key_add (&k, "license", res->recipe.license, err);
        rc |= layer_key_add (&k, "homepage", res->recipe.homepage, err);
        /* A cross build's SBOM names its own architecture's .debs. */
        if (pipeline_is_cross (res->arch))
                rc |= layer_key_add (&k, "platform", res->arch, err);
        for (size_t i = 0; i < res->n_picks; i++) {
                const struct ext_recipe *r = res->picks[i].recipe;
                rc |= layer_key_add (&k, "extension", r->name, err);
                rc |= layer_key_add (&k, "license", r->license, err);
                rc |= layer_key_add (&k, "homepage", r->homepage, err);
                rc |= layer_key_add (&k, "summary", r->summary ? r->summary : "", err);
        }
        for (size_t i = 0; i < res->n_layers; i++)
                rc |= layer_key_add (&k, "below", res->layers[i].key, err);
        rc |= layer_key_add (&k, "mtime", epoch, err);
        rc |= layer_key_add (&k, "compression", layer_media_type (o->compression), err);
        if (rc != 0 || layer_key_final (&k, key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        return 0;
}

/* Name, namespace and time of the document: from the content of the
 * layers below (their diff_ids; and a disk's machine layer, machine may
 * be NULL) and SOURCE_DATE_EPOCH, never the clock. */
static int
sbom_document (const struct pipeline_opts *o, const struct pipeline_result *res, const struct pipeline_layer *machine,
               struct parts *p, const char *distro, struct buf *out, pgimg_error_t *err)
{
        cleanup_buf struct buf ids = BUF_INIT;
        cleanup_free char *name = NULL, *ns = NULL, *creator = NULL;
        char hex[SHA256_HEX_LEN + 1], created[32];
        time_t t = (time_t) res->source_date_epoch;
        struct tm tm;

        gmtime_r (&t, &tm);
        strftime (created, sizeof (created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        for (size_t i = 0; i < res->n_layers; i++)
                if (buf_addf (&ids, "%s\n", res->layers[i].desc.diff_id) < 0)
                        return pipeline_oom (err, "SBOM");
        if ((machine && buf_addf (&ids, "machine %s\n", machine->desc.diff_id) < 0)
            || buf_addf (&ids, "pgimg-%s\n", o->pgimg_version) < 0)
                return pipeline_oom (err, "SBOM");
        if (sha256_buf_hex (ids.data, ids.len, hex, err) < 0)
                return -1;
        if (asprintf (&name, "%s%s", res->tags[0], machine ? " disk" : "") < 0
            || asprintf (&ns, "https://spdx.org/spdxdocs/pgimg-postgres-%s%s-%s", res->version->version,
                         machine ? "-disk" : "", hex) < 0
            || asprintf (&creator, "Tool: pgimg-%s", o->pgimg_version) < 0)
                return pipeline_oom (err, "SBOM");
        const struct sbom s = {
                .name = name, .doc_namespace = ns, .created = created, .creator = creator,
                .image_name = "pgimg/postgres", .image_version = res->version->version, .distro = distro,
                .packages = p->v, .n_packages = p->n, .disk = machine != NULL,
        };
        return sbom_format (&s, out, err);
}

/* The SBOM of the first n_layers layers (and of machine, a disk's
 * machine layer on top of them, when not NULL), from their content. */
static int
sbom_make (const struct pipeline_opts *o, const struct pipeline_result *res, size_t n_layers,
           const struct pipeline_layer *machine, struct buf *out, pgimg_error_t *err)
{
        __attribute__ ((cleanup (seen_set_free))) struct seen_set seen = { 0 };
        __attribute__ ((cleanup (parts_free))) struct parts parts = { 0 };
        cleanup_free char *distro = NULL;
        const struct seen *os, *point;

        for (size_t i = 0; i < n_layers; i++)
                if (scan_layer (res->blob_dir, &res->layers[i], &seen, err) < 0)
                        return -1;
        if (machine && scan_layer (res->blob_dir, machine, &seen, err) < 0)
                return -1;
        os = seen_find (&seen, "usr/lib/os-release");
        if (os == NULL || os->text == NULL)
                os = seen_find (&seen, "etc/os-release");
        point = seen_find (&seen, "etc/debian_version");
        if (os && os->text
            && deb_meta_distro (os->text, os->len, point ? point->text : NULL, &distro, err) < 0)
                return -1;
        if (deb_packages (&seen, &parts, err) < 0 || source_packages (res, &parts, err) < 0)
                return -1;
        return sbom_document (o, res, machine, &parts, distro, out, err);
}

/* The SBOM of a cached layer, read back from it. */
static int
sbom_read_back (const struct pipeline_result *res, const struct pipeline_layer *l, struct buf *out,
                pgimg_error_t *err)
{
        __attribute__ ((cleanup (seen_set_free))) struct seen_set seen = { .only = SBOM_PATH };
        const struct seen *e;

        if (scan_layer (res->blob_dir, l, &seen, err) < 0)
                return -1;
        if ((e = seen_find (&seen, SBOM_PATH)) == NULL || e->text == NULL)
                return pgimg_make_error (err, ENOENT, "SBOM: the cached layer %s has no %s; remove `layers/%s.json` from the cache",
                                         l->desc.digest, SBOM_PATH, l->key);
        return buf_add (out, e->text, e->len) < 0 ? pipeline_oom (err, "SBOM") : 0;
}

static int
sbom_layer_write (const struct pipeline_opts *o, const struct pipeline_result *res, const struct buf *sbom,
                  struct pipeline_layer *l, pgimg_error_t *err)
{
        cleanup_free char *path = NULL, *dir = NULL;
        char *tmp = NULL;
        struct layer_opts lo;
        int r;

        if (fs_work_dir (o->cache_dir, "sbom", &tmp, err) < 0)
                return -1;
        if (asprintf (&path, "%s/" SBOM_PATH, tmp) < 0 || (dir = strdup (path)) == NULL) {
                r = pipeline_oom (err, "SBOM");
        } else {
                *strrchr (dir, '/') = '\0';
                r = fs_mkdir_p (dir, 0755, err);
        }
        if (r == 0)
                r = fs_write_file_atomic (path, sbom->data, sbom->len, 0644, err);
        if (r == 0) {
                pipeline_layer_opts (o, res, &lo);
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        }
        fs_drop_temp_dir (tmp);
        free (tmp);
        if (r < 0)
                return pgimg_error_wrap (err, "SBOM layer");
        return pipeline_store (o->cache_dir, l, err);
}

/* Its key is made of the keys below: unknown while one of them is. */
static int
sbom_plan (const struct pipeline_opts *o, struct pipeline_result *res, struct pipeline_layer *l,
           pgimg_error_t *err)
{
        for (size_t i = 0; i < res->n_layers; i++)
                if (res->layers[i].key[0] == '\0') {
                        l->state = PIPELINE_BUILD;
                        res->n_layers++;
                        pipeline_plan_add (res, "sbom", l->name, l, res->layers[i].name);
                        return 0;
                }
        if (sbom_key (o, res, l->key, err) < 0)
                return -1;
        res->n_layers++;
        return pipeline_plan_layer (o, res, "sbom", l->name, l, err);
}

int
pipeline_sbom_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->layers[res->n_layers];
        cleanup_buf struct buf sbom = BUF_INIT;
        int r;

        l->name = "sbom";
        if (o->plan)
                return sbom_plan (o, res, l, err);
        if (sbom_key (o, res, l->key, err) < 0)
                return -1;
        if (asprintf (&l->comment, "pgimg: SPDX SBOM of the layers below (" SBOM_PATH ")") < 0)
                return pipeline_oom (err, "SBOM");
        double t = timings_now ();
        if ((r = pipeline_lookup (o->cache_dir, l, err)) < 0)
                return -1;
        if (r > 0 ? sbom_read_back (res, l, &sbom, err) < 0 : sbom_make (o, res, res->n_layers, NULL, &sbom, err) < 0)
                return -1;
        /* A cached SBOM layer is still read back: that is not free. */
        t = timings_since (o->timings, "sbom", r > 0 ? "read back cached layer" : "make SBOM", t);
        if (r == 0 && sbom_layer_write (o, res, &sbom, l, err) < 0)
                return -1;
        if (r == 0)
                timings_since (o->timings, "sbom", "layer sbom", t);
        res->n_layers++;
        res->sbom_len = sbom.len;
        res->sbom = buf_detach (&sbom, NULL);
        return res->sbom ? 0 : pipeline_oom (err, "SBOM");
}

int
pipeline_disk_sbom (const struct pipeline_opts *o, const struct pipeline_result *res, struct buf *out,
                    pgimg_error_t *err)
{
        double t = timings_now ();

        /* The layers below the image's SBOM layer, which lists them. */
        if (sbom_make (o, res, res->n_layers - 1, &res->machine, out, err) < 0)
                return pgimg_error_wrap (err, "SBOM of the disk");
        timings_since (o->timings, "sbom", "make SBOM of the disk", t);
        return 0;
}
