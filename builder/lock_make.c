/* lock_make.c - `pgimg lock`: making a lock file.
 *
 * lock_update checks each source's InRelease with gpgv, loads the
 * Packages indexes it vouches for, resolves every set and writes the
 * lock atomically, keys sorted, so that the same input gives the same
 * bytes.  Reading a lock is lock.c.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "builder/deb_resolve.h"
#include "builder/fetch.h"
#include "builder/lock.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libjson.h"
#include "common/proc.h"

#define INPUT_MAX_BYTES ((size_t) 1 << 20)
#define INRELEASE_MAX_BYTES ((size_t) 16 << 20)

/* ------------------------------------------------------------------ */
/* The lock input: lock/packages.json                                  */

struct input_source {
        const char *url, *snapshot, *suite;
        const char **components;
        size_t n_components;
};

struct input_set {
        const char *name;
        const char **roots;
        size_t n_roots;
};

/* The strings point into root, which the input holds. */
struct lock_input {
        json_t *root;
        const char *arch, *keyring;
        struct input_source *sources;
        size_t n_sources;
        struct input_set *sets;
        size_t n_sets;
};

static void
lock_input_free (struct lock_input *in)
{
        for (size_t i = 0; i < in->n_sources; i++)
                free (in->sources[i].components);
        for (size_t i = 0; i < in->n_sets; i++)
                free (in->sets[i].roots);
        free (in->sources);
        free (in->sets);
        if (in->root)
                json_decref (in->root);
        memset (in, 0, sizeof (*in));
}
#define cleanup_lock_input __attribute__ ((cleanup (lock_input_free)))

/* A JSON array of strings as a malloc'ed array of borrowed pointers. */
static int
string_array (const char *path, const char *what, json_t *a, const char ***out, size_t *n,
              pgimg_error_t *err)
{
        if (!json_is_array (a))
                return pgimg_make_error (err, EINVAL, "`%s`: %s is not an array", path, what);
        *out = calloc (json_array_size (a) + 1, sizeof (char *));
        if (*out == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (*n = 0; *n < json_array_size (a); (*n)++) {
                json_t *s = json_array_get (a, *n);
                if (!json_is_string (s) || json_string_length (s) == 0)
                        return pgimg_make_error (err, EINVAL, "`%s`: %s has an entry that is not a name", path, what);
                (*out)[*n] = json_string_value (s);
        }
        return 0;
}

static int
input_load (const char *path, struct lock_input *in, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;
        json_error_t je;
        json_t *sources, *sets, *members;
        const char *name;

        memset (in, 0, sizeof (*in));
        if (fs_read_file (path, INPUT_MAX_BYTES, &text, err) < 0)
                return -1;
        in->root = json_loadb (text.data ? text.data : "", text.len, JSON_REJECT_DUPLICATES, &je);
        if (in->root == NULL)
                return pgimg_error_from_json (err, path, &je);
        in->arch = pgimg_json_str (in->root, "arch");
        in->keyring = pgimg_json_str (in->root, "keyring");
        sources = json_object_get (in->root, "sources");
        sets = json_object_get (in->root, "sets");
        if (in->arch == NULL || in->keyring == NULL)
                return pgimg_make_error (err, EINVAL, "`%s`: arch and keyring are required", path);
        if (!json_is_array (sources) || json_array_size (sources) == 0)
                return pgimg_make_error (err, EINVAL, "`%s`: sources must be a non-empty array", path);
        if (!json_is_object (sets))
                return pgimg_make_error (err, EINVAL, "`%s`: sets must be an object", path);

        in->sources = calloc (json_array_size (sources), sizeof (*in->sources));
        in->sets = calloc (json_object_size (sets) + 1, sizeof (*in->sets));
        if (in->sources == NULL || in->sets == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t i = 0; i < json_array_size (sources); i++) {
                json_t *js = json_array_get (sources, i);
                struct input_source *s = &in->sources[in->n_sources++];
                s->url = pgimg_json_str (js, "url");
                s->snapshot = pgimg_json_str (js, "snapshot");
                s->suite = pgimg_json_str (js, "suite");
                if (s->url == NULL || s->suite == NULL)
                        return pgimg_make_error (err, EINVAL, "`%s`: sources[%zu] needs url and suite", path, i);
                if (string_array (path, "components", json_object_get (js, "components"), &s->components,
                                  &s->n_components, err) < 0)
                        return -1;
        }
        json_object_foreach (sets, name, members) {
                struct input_set *s = &in->sets[in->n_sets++];
                s->name = name;
                if (string_array (path, name, members, &s->roots, &s->n_roots, err) < 0)
                        return -1;
        }
        return 0;
}

int
lock_input_wants_extensions (const char *input_path, int *wanted, pgimg_error_t *err)
{
        cleanup_lock_input struct lock_input in;
        json_t *ext;

        if (input_load (input_path, &in, err) < 0)
                return -1;
        ext = json_object_get (in.root, "extensions");
        if (ext != NULL && !json_is_boolean (ext))
                return pgimg_make_error (err, EINVAL, "`%s`: extensions must be true or false", input_path);
        *wanted = ext == NULL || json_is_true (ext);
        return 0;
}

/* Add a recipe's roots to its set (a new set when the name is new). */
static int
input_merge (struct lock_input *in, const struct lock_request *req, pgimg_error_t *err)
{
        struct input_set *s = NULL;
        size_t extra = 0;

        while (req->roots && req->roots[extra])
                extra++;
        for (size_t i = 0; i < in->n_sets; i++)
                if (strcmp (in->sets[i].name, req->set) == 0)
                        s = &in->sets[i];
        if (s == NULL) {
                struct input_set *v = realloc (in->sets, (in->n_sets + 1) * sizeof (*v));
                if (v == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "lock input");
                in->sets = v;
                s = &in->sets[in->n_sets++];
                memset (s, 0, sizeof (*s));
                s->name = req->set;
        }
        const char **roots = realloc (s->roots, (s->n_roots + extra + 1) * sizeof (char *));
        if (roots == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock input");
        s->roots = roots;
        for (size_t i = 0; i < extra; i++) {
                int dup = 0;
                for (size_t j = 0; j < s->n_roots; j++)
                        dup |= strcmp (s->roots[j], req->roots[i]) == 0;
                if (!dup)
                        s->roots[s->n_roots++] = req->roots[i];
        }
        s->roots[s->n_roots] = NULL;
        return 0;
}

/* ------------------------------------------------------------------ */
/* InRelease: signature and contents                                   */

/* The signed text of an InRelease file, as gpgv verified it: what is
 * parsed is exactly what the signature covers. */
static int
inrelease_verify (const char *keyring, const char *path, const char *url, struct buf *signed_text,
                  pgimg_error_t *err)
{
        cleanup_buf struct buf errout = BUF_INIT_MAX (1 << 20);
        char *const argv[] = { (char *) "gpgv", (char *) "--quiet", (char *) "--keyring", (char *) keyring,
                               (char *) "--output", (char *) "-", (char *) path, NULL };
        int status = 0;

        if (!fs_exists (keyring))
                return pgimg_make_error (err, ENOENT, "keyring `%s` not found (install debian-archive-keyring)",
                                         keyring);
        if (proc_run (argv, NULL, signed_text, &errout, &status, err) < 0)
                return pgimg_error_wrap (err, "verify %s", url);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
                while (errout.len && (errout.data[errout.len - 1] == '\n'))
                        errout.data[--errout.len] = '\0';
                return pgimg_make_error (err, EPERM, "the signature of %s does not verify with `%s`: %s",
                                         url, keyring, errout.len ? errout.data : "gpgv failed");
        }
        if (signed_text->len == 0)
                return pgimg_make_error (err, EPERM, "%s: gpgv verified no signed text", url);
        return 0;
}

/* The value of "Field: value" at the start of a line of text. */
static char *
release_field (const char *text, const char *field)
{
        size_t flen = strlen (field);
        for (const char *p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp (p, field, flen) == 0 && p[flen] == ':') {
                        const char *v = p + flen + 1, *e;
                        while (*v == ' ')
                                v++;
                        e = strchrnul (v, '\n');
                        while (e > v && (e[-1] == ' ' || e[-1] == '\r'))
                                e--;
                        return strndup (v, (size_t) (e - v));
                }
        }
        return NULL;
}

/* The sha256 that the SHA256 section gives for file, into hex. */
static int
release_sha256 (const char *text, const char *file, char hex[SHA256_HEX_LEN + 1])
{
        const char *p = strstr (text, "\nSHA256:");
        if (p == NULL)
                return -1;
        p = strchr (p + 1, '\n');
        while (p && (p[1] == ' ' || p[1] == '\t')) {
                char h[SHA256_HEX_LEN + 1], name[512];
                unsigned long long size;
                p++;
                if (sscanf (p, " %64s %llu %511s", h, &size, name) == 3 && strcmp (name, file) == 0
                    && sha256_hex_valid (h)) {
                        memcpy (hex, h, sizeof (h));
                        return 0;
                }
                p = strchr (p, '\n');
        }
        return -1;
}

struct source_state {
        char *date;
        char inrelease_sha256[SHA256_HEX_LEN + 1];
};

/* "http://deb.debian.org/debian" + "trixie" -> "deb.debian.org_debian_trixie" */
static char *
cache_name (const char *url, const char *suite)
{
        const char *p = strstr (url, "://");
        char *out = NULL;

        if (asprintf (&out, "%s_%s", p ? p + 3 : url, suite) < 0)
                return NULL;
        for (char *q = out; *q; q++)
                if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')
                      || *q == '.' || *q == '-'))
                        *q = '_';
        return out;
}

static int
load_component (struct deb_index *idx, const struct input_source *src, const char *arch,
                const char *component, const char *signed_text, const char *snapshot_root,
                const char *cache_dir, pgimg_error_t *err)
{
        cleanup_free char *rel = NULL, *by_hash = NULL, *plain = NULL, *what = NULL, *path = NULL;
        cleanup_free char *by_hash_field = release_field (signed_text, "Acquire-By-Hash");
        char hex[SHA256_HEX_LEN + 1];
        const char *urls[2];
        size_t n_urls = 0;

        if (asprintf (&rel, "%s/binary-%s/Packages.xz", component, arch) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        if (release_sha256 (signed_text, rel, hex) < 0)
                return pgimg_make_error (err, ENOENT, "%s/dists/%s/InRelease lists no %s", src->url, src->suite, rel);
        if (asprintf (&by_hash, "%s/dists/%s/%s/binary-%s/by-hash/SHA256/%s", src->url, src->suite, component,
                      arch, hex) < 0
            || asprintf (&plain, "%s/dists/%s/%s", src->url, src->suite, rel) < 0
            || asprintf (&what, "%s %s %s Packages", src->suite, component, arch) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        /* By hash first: the plain name may already be the next version
         * when the mirror updated since InRelease was read. */
        if (by_hash_field && strcasecmp (by_hash_field, "yes") == 0)
                urls[n_urls++] = by_hash;
        urls[n_urls++] = plain;
        if (fetch_cached (cache_dir, urls, n_urls, hex, what, &path, err) < 0)
                return -1;
        return deb_index_add_file (idx, path, src->url, snapshot_root, err);
}

/* Verify one source's InRelease and add its Packages indexes to idx. */
static int
load_source (struct deb_index *idx, const struct lock_input *in, const struct input_source *src,
             const char *cache_dir, struct source_state *state, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL, *name = NULL, *path = NULL, *url = NULL, *snapshot_root = NULL;
        cleanup_buf struct buf signed_text = BUF_INIT_MAX (INRELEASE_MAX_BYTES);
        char timestamp[17];

        name = cache_name (src->url, src->suite);
        if (name == NULL || asprintf (&dir, "%s/lock", cache_dir) < 0
            || asprintf (&path, "%s/%s_InRelease", dir, name) < 0
            || asprintf (&url, "%s/dists/%s/InRelease", src->url, src->suite) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        if (fetch_to_file (url, path, state->inrelease_sha256, err) < 0)
                return -1;
        if (inrelease_verify (in->keyring, path, url, &signed_text, err) < 0)
                return -1;
        state->date = release_field (signed_text.data, "Date");
        if (state->date == NULL || lock_date_timestamp (state->date, timestamp) < 0)
                return pgimg_make_error (err, EINVAL, "%s: no valid Date field", url);
        /* snapshot.debian.org serves, under <snapshot>/<timestamp>/, the
         * archive as its latest import at or before that time was.  The
         * InRelease Date is the time this state of the archive was
         * published, so <snapshot>/<Date>/<pool path> keeps serving the
         * pinned file after the mirror has dropped it.  A file published
         * by this very archive run only appears there once snapshot has
         * imported it (a few hours): the mirror URL comes first. */
        if (src->snapshot && asprintf (&snapshot_root, "%s/%s", src->snapshot, timestamp) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        for (size_t i = 0; i < src->n_components; i++)
                if (load_component (idx, src, in->arch, src->components[i], signed_text.data, snapshot_root,
                                    cache_dir, err) < 0)
                        return -1;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Writing the lock                                                    */

static json_t *
package_json (const struct deb_package *p)
{
        json_t *o = json_object ();
        json_t *urls = json_array ();
        char *mirror = NULL, *snapshot = NULL;

        if (o == NULL || urls == NULL)
                goto fail;
        if (asprintf (&mirror, "%s/%s", p->base_url, p->filename) < 0) {
                mirror = NULL;
                goto fail;
        }
        if (json_array_append_new (urls, json_string (mirror)) < 0)
                goto fail;
        if (p->snapshot_url) {
                if (asprintf (&snapshot, "%s/%s", p->snapshot_url, p->filename) < 0) {
                        snapshot = NULL;
                        goto fail;
                }
                if (json_array_append_new (urls, json_string (snapshot)) < 0)
                        goto fail;
        }
        if (json_object_set_new (o, "name", json_string (p->name)) < 0
            || json_object_set_new (o, "version", json_string (p->version)) < 0
            || json_object_set_new (o, "arch", json_string (p->arch)) < 0
            || json_object_set_new (o, "sha256", json_string (p->sha256)) < 0
            || json_object_set_new (o, "size", json_integer ((json_int_t) p->size)) < 0
            || json_object_set (o, "urls", urls) < 0)
                goto fail;
        json_decref (urls);
        free (mirror);
        free (snapshot);
        return o;
fail:
        json_decref (o);
        json_decref (urls);
        free (mirror);
        free (snapshot);
        return NULL;
}

/* The packages of every set, one per name, sorted by name. */
struct chosen {
        size_t *v;
        size_t n;
};

static int
chosen_add (struct chosen *c, const struct deb_index *idx, const size_t *pkgs, size_t n, const char *set,
            pgimg_error_t *err)
{
        for (size_t i = 0; i < n; i++) {
                const struct deb_package *p = &idx->pkgs[pkgs[i]];
                size_t j;
                for (j = 0; j < c->n; j++)
                        if (strcmp (idx->pkgs[c->v[j]].name, p->name) == 0)
                                break;
                if (j < c->n) {
                        if (c->v[j] != pkgs[i])
                                return pgimg_make_error (err, EINVAL,
                                                         "set `%s` needs %s %s but another set needs %s %s", set,
                                                         p->name, p->version, p->name, idx->pkgs[c->v[j]].version);
                        continue;
                }
                size_t *v = realloc (c->v, (c->n + 1) * sizeof (*v));
                if (v == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "lock");
                c->v = v;
                c->v[c->n++] = pkgs[i];
        }
        return 0;
}

static int
cmp_idx_name (const void *a, const void *b, void *opaque)
{
        const struct deb_index *idx = opaque;
        return strcmp (idx->pkgs[*(const size_t *) a].name, idx->pkgs[*(const size_t *) b].name);
}

/* Versions pinned by the current lock, to keep on a re-lock. */
struct pins {
        struct lock old;
        const char **names, **versions;
        size_t n;
};

static void
pins_free (struct pins *p)
{
        free (p->names);
        free (p->versions);
        lock_free (&p->old);
}
#define cleanup_pins __attribute__ ((cleanup (pins_free)))

static int
pins_load (const char *lock_path, struct pins *pins, pgimg_error_t *err)
{
        if (!fs_exists (lock_path))
                return 0;
        if (lock_load (lock_path, &pins->old, err) < 0)
                return pgimg_error_wrap (err, "the current lock (use --update to resolve afresh)");
        pins->names = calloc (pins->old.n_pkgs + 1, sizeof (char *));
        pins->versions = calloc (pins->old.n_pkgs + 1, sizeof (char *));
        if (pins->names == NULL || pins->versions == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        for (size_t i = 0; i < pins->old.n_pkgs; i++) {
                pins->names[i] = pins->old.pkgs[i].name;
                pins->versions[i] = pins->old.pkgs[i].version;
        }
        pins->n = pins->old.n_pkgs;
        return 0;
}

/* A re-lock that kept every pinned package keeps the lock's dates: the
 * date is every layer's SOURCE_DATE_EPOCH, and a lock that only gained
 * packages (an extension's) must not rebuild every layer.  The old
 * "sources" array, or NULL when something changed. */
static json_t *
kept_sources (const char *lock_path, const struct pins *pins, const struct deb_index *idx,
              const struct chosen *all)
{
        cleanup_json json_t *old = NULL;
        json_t *sources;

        if (pins->n == 0)
                return NULL;
        for (size_t i = 0; i < pins->n; i++) {
                int same = 0;
                for (size_t j = 0; j < all->n && !same; j++)
                        same = strcmp (idx->pkgs[all->v[j]].name, pins->names[i]) == 0
                               && strcmp (idx->pkgs[all->v[j]].version, pins->versions[i]) == 0;
                if (!same)
                        return NULL;
        }
        old = json_load_file (lock_path, JSON_REJECT_DUPLICATES, NULL);
        sources = old ? json_object_get (old, "sources") : NULL;
        return json_is_array (sources) ? json_deep_copy (sources) : NULL;
}

static int
write_lock (const char *lock_path, const struct lock_input *in, const struct deb_index *idx,
            const struct source_state *states, json_t *sets, struct chosen *all, json_t *keep,
            pgimg_error_t *err)
{
        cleanup_json json_t *root = json_object ();
        cleanup_json json_t *sources = keep ? keep : json_array ();
        cleanup_json json_t *packages = json_array ();
        cleanup_free char *text = NULL;
        cleanup_free char *dir_copy = strdup (lock_path);

        if (root == NULL || sources == NULL || packages == NULL || dir_copy == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        for (size_t i = 0; keep == NULL && i < in->n_sources; i++) {
                json_t *s = json_pack ("{s:s, s:s, s:s}", "suite", in->sources[i].suite, "date", states[i].date,
                                       "inrelease_sha256", states[i].inrelease_sha256);
                if (s == NULL || json_array_append_new (sources, s) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "lock");
        }
        qsort_r (all->v, all->n, sizeof (*all->v), cmp_idx_name, (void *) idx);
        for (size_t i = 0; i < all->n; i++) {
                json_t *p = package_json (&idx->pkgs[all->v[i]]);
                if (p == NULL || json_array_append_new (packages, p) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "lock");
        }
        if (json_object_set_new (root, "lockVersion", json_integer (1)) < 0
            || json_object_set_new (root, "arch", json_string (in->arch)) < 0
            || json_object_set_new (root, "suite", json_string (in->sources[0].suite)) < 0
            || json_object_set (root, "sources", sources) < 0 || json_object_set (root, "sets", sets) < 0
            || json_object_set (root, "packages", packages) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        text = json_dumps (root, JSON_SORT_KEYS | JSON_INDENT (2));
        if (text == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        size_t len = strlen (text);
        char *with_newline = realloc (text, len + 2);
        if (with_newline == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "lock");
        text = with_newline;
        memcpy (text + len, "\n", 2);
        if (fs_mkdir_p (dirname (dir_copy), 0755, err) < 0)
                return -1;
        return fs_write_file_atomic (lock_path, text, len + 1, 0644, err);
}

static int
resolve_sets (const struct lock_input *in, const struct deb_index *idx, const struct pins *pins,
              json_t *sets, struct chosen *all, pgimg_error_t *err)
{
        for (size_t s = 0; s < in->n_sets; s++) {
                const struct input_set *set = &in->sets[s];
                cleanup_free size_t *pkgs = NULL;
                size_t n = 0;
                json_t *names = json_array ();

                if (names == NULL || json_object_set_new (sets, set->name, names) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "lock");
                if (deb_resolve_pinned (idx, set->roots, set->n_roots, pins->names, pins->versions, pins->n,
                                        &pkgs, &n, err) < 0)
                        return pgimg_error_wrap (err, "set `%s`", set->name);
                for (size_t i = 0; i < n; i++)
                        if (json_array_append_new (names, json_string (idx->pkgs[pkgs[i]].name)) < 0)
                                return pgimg_make_error_errno (err, ENOMEM, "lock");
                if (chosen_add (all, idx, pkgs, n, set->name, err) < 0)
                        return -1;
        }
        return 0;
}

int
lock_update (const char *input_path, const struct lock_request *extra, size_t n_extra,
             const char *lock_path, const char *cache_dir, int update, pgimg_error_t *err)
{
        cleanup_lock_input struct lock_input in;
        cleanup_pins struct pins pins = { 0 };
        cleanup_json json_t *sets = NULL;
        struct deb_index idx = DEB_INDEX_INIT;
        struct source_state *states = NULL;
        struct chosen all = { NULL, 0 };
        int ret = -1;

        if (input_load (input_path, &in, err) < 0)
                return -1;
        for (size_t i = 0; i < n_extra; i++)
                if (input_merge (&in, &extra[i], err) < 0)
                        return -1;
        if (!update && pins_load (lock_path, &pins, err) < 0)
                return -1;
        states = calloc (in.n_sources, sizeof (*states));
        sets = json_object ();
        if (states == NULL || sets == NULL) {
                ret = pgimg_make_error_errno (err, ENOMEM, "lock");
                goto out;
        }
        /* One index for every source: where a name is in several (a
         * point release in trixie-updates, a fix in trixie-security), the
         * resolver takes its highest version. */
        for (size_t i = 0; i < in.n_sources; i++)
                if (load_source (&idx, &in, &in.sources[i], cache_dir, &states[i], err) < 0)
                        goto out;
        if (resolve_sets (&in, &idx, &pins, sets, &all, err) < 0)
                goto out;
        ret = write_lock (lock_path, &in, &idx, states, sets, &all,
                          update ? NULL : kept_sources (lock_path, &pins, &idx, &all), err);
out:
        for (size_t i = 0; states && i < in.n_sources; i++)
                free (states[i].date);
        free (states);
        free (all.v);
        deb_index_free (&idx);
        return ret;
}
