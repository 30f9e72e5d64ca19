/* build_lease.c - `pgimg build --cache-to`: leases on the keys of the
 * extension layers it builds, beside its cache (docs/farm.md).
 *
 * A lease is taken by writing it and reading it back a second later: a
 * registry has no compare-and-swap, and of two builders that write at
 * once, both read back the one written last.  Nothing here fails a
 * build: a lease that cannot be written or read is a note, and the
 * layer is built as without leases (the same bytes, only twice).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/progress.h"
#include "layers/cache.h"
#include "registry/registry.h"

/* How long after writing a lease it is read back. */
#define LEASE_SETTLE_S 1

static const char *
scratch_dir (void)
{
        const char *tmp = getenv ("TMPDIR");

        return tmp && *tmp ? tmp : "/tmp";
}

/* A lease moves as an image does, but its blobs are not news: the
 * push's notes are dropped. */
static int
write_quietly (const char *ref, const struct registry_lease *l, const struct registry_opts *ro, pgimg_error_t *err)
{
        int quiet = progress_quiet (), r;

        progress_set_quiet (1);
        r = registry_lease_write (ref, l, ro, err);
        progress_set_quiet (quiet);
        return r;
}

/* A lease that names this build's cache is its own, whoever wrote it:
 * no two builders push one cache tag (docs/farm.md), so it is an
 * earlier run of this one, killed, and a job run again after it does
 * not wait for itself. */
static int
is_mine (const struct build_leases *b, const struct registry_lease *l)
{
        return strcmp (l->cache, b->cache) == 0;
}

/* Read the lease at ref: 1 with *l, 0 when there is none; a lease that
 * cannot be read or is malformed is a note, and none. */
static int
read_lease (struct build_leases *b, const char *ref, const char *key, struct registry_lease *l)
{
        pgimg_error_t e = NULL;
        int r = registry_lease_read (ref, key, scratch_dir (), b->ro, l, &e);

        if (r < 0) {
                progress_note ("ignoring a lease: %s", e->msg);
                pgimg_error_free (&e);
                return 0;
        }
        /* No builder leases for longer than --lease-time allows: such a
         * lease would keep this build waiting. */
        if (r > 0 && l->expires > (long long) time (NULL) + BUILD_LEASE_MAX_S + 3600) {
                progress_note ("ignoring a lease: %s expires more than a week from now", ref);
                return 0;
        }
        return r;
}

/* Remember ref as held, so that build_leases_end ends it. */
static int
remember (struct build_leases *b, char *ref, pgimg_error_t *err)
{
        char **v = realloc (b->held, (b->n_held + 1) * sizeof (*v));

        if (v == NULL)
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        b->held = v;
        b->held[b->n_held++] = ref;
        return 0;
}

/* Write this build's lease on key and read it back: 1 when it holds it
 * (or cannot tell: then it builds), 0 when another builder's is there. */
static int
acquire (struct build_leases *b, const char *ref, const char *key, const char *name, pgimg_error_t *err)
{
        struct registry_lease l = { .expires = (long long) time (NULL) + b->seconds };
        pgimg_error_t e = NULL;

        snprintf (l.key, sizeof (l.key), "%s", key);
        snprintf (l.holder, sizeof (l.holder), "%s", b->holder);
        snprintf (l.cache, sizeof (l.cache), "%s", b->cache);
        if (write_quietly (ref, &l, b->ro, &e) < 0) {
                progress_note ("no lease on %s: %s; building it", name, e->msg);
                pgimg_error_free (&e);
                return 1;
        }
        sleep (LEASE_SETTLE_S);
        if (read_lease (b, ref, key, &l) > 0 && !is_mine (b, &l)) {
                progress_note ("%s: %s took its lease first; building the other layers first", name, l.holder);
                return 0;
        }
        char *held = strdup (ref);
        if (held == NULL)
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        if (remember (b, held, err) < 0) {
                free (held);
                return -1;
        }
        return 1;
}

static int
lease_take (void *ctx, const char *key, const char *name, pgimg_error_t *err)
{
        struct build_leases *b = ctx;
        cleanup_free char *ref = NULL;
        struct registry_lease l;

        if (registry_lease_ref (b->cache, key, &ref, err) < 0)
                return -1;
        if (read_lease (b, ref, key, &l) > 0 && !is_mine (b, &l)) {
                progress_note ("%s: %s holds its lease; building the other layers first", name, l.holder);
                return 0;
        }
        return acquire (b, ref, key, name, err);
}

/* 1 when the cache ref lists key and it was pulled into the cache. */
static int
take_from (struct build_leases *b, const char *ref, const char *key)
{
        struct layer_cache_entries es = { 0 };
        struct layer_desc d;
        pgimg_error_t e = NULL;
        int listed = 0;

        if (registry_cache_entries (ref, scratch_dir (), b->ro, &es, &e) < 0) {
                pgimg_error_free (&e);  /* not pushed yet */
                free (es.v);
                return 0;
        }
        for (size_t i = 0; i < es.n && !listed; i++)
                listed = strcmp (es.v[i].key, key) == 0;
        free (es.v);
        if (!listed)
                return 0;
        if (registry_cache_pull (b->cache_dir, ref, b->ro, NULL, NULL, &e) < 0) {
                progress_note ("not using the cache %s: %s", ref, e->msg);
                pgimg_error_free (&e);
                return 0;
        }
        if (layer_cache_lookup (b->cache_dir, key, &d, &e) <= 0) {
                pgimg_error_free (&e);
                return 0;
        }
        return 1;
}

static int
lease_poll (void *ctx, const char *key, const char *name, pgimg_error_t *err)
{
        struct build_leases *b = ctx;
        cleanup_free char *ref = NULL;
        struct registry_lease l;
        int r;

        if (registry_lease_ref (b->cache, key, &ref, err) < 0)
                return -1;
        if (read_lease (b, ref, key, &l) == 0)
                return (r = acquire (b, ref, key, name, err)) <= 0 ? r : 2;
        if (is_mine (b, &l))
                return 2;
        if (take_from (b, l.cache, key)) {
                progress_note ("waited for %s: %s built it; taken from the cache %s", name, l.holder, l.cache);
                return 1;
        }
        if (l.expires != 0 && l.expires > (long long) time (NULL))
                return 0;
        if ((r = acquire (b, ref, key, name, err)) <= 0)
                return r;
        if (l.expires == 0)
                progress_note ("%s: the cache %s of %s was pushed without it; building it", name, l.cache, l.holder);
        else
                progress_note ("took over an expired lease of %s from %s; building it", name, l.holder);
        return 2;
}

int
build_leases_init (struct build_leases *b, const char *cache_dir, const char *cache_to,
                   const struct registry_opts *ro, long long seconds, pgimg_error_t *err)
{
        const char *slash = strrchr (cache_to, '/');
        char host[64];

        memset (b, 0, sizeof (*b));
        b->cache_dir = cache_dir;
        b->ro = ro;
        b->seconds = seconds;
        b->ops = (struct pipeline_lease) { lease_take, lease_poll, b };
        if (gethostname (host, sizeof (host)) < 0)
                snprintf (host, sizeof (host), "unknown");
        host[sizeof (host) - 1] = '\0';
        snprintf (b->holder, sizeof (b->holder), "%s %ld", host, (long) getpid ());
        /* The cache as a lease names it: with its tag. */
        if (asprintf (&b->cache, "%s%s", cache_to, strchr (slash ? slash : cache_to, ':') ? "" : ":latest") < 0) {
                b->cache = NULL;
                return pgimg_make_error (err, ENOMEM, "lease: out of memory");
        }
        if (strlen (b->cache) >= sizeof (((struct registry_lease *) NULL)->cache))
                return pgimg_make_error (err, ENAMETOOLONG, "--cache-to %s: too long to lease", cache_to);
        /* A reference no lease can go beside fails here, not mid-build. */
        cleanup_free char *ref = NULL;
        return registry_lease_ref (b->cache, "0000000000000000000000000000000000000000000000000000000000000000", &ref,
                                   err);
}

void
build_leases_end (struct build_leases *b)
{
        for (size_t i = 0; i < b->n_held; i++) {
                const char *ref = b->held[i];
                const char *key = strrchr (ref, ':') + 1 + strlen (REGISTRY_LEASE_TAG_PREFIX);
                struct registry_lease l = { .expires = 0 };
                pgimg_error_t e = NULL;
                snprintf (l.key, sizeof (l.key), "%s", key);
                snprintf (l.holder, sizeof (l.holder), "%s", b->holder);
                snprintf (l.cache, sizeof (l.cache), "%s", b->cache);
                if (write_quietly (ref, &l, b->ro, &e) < 0) {
                        progress_note ("%s; it expires on its own", e->msg);
                        pgimg_error_free (&e);
                }
                free (b->held[i]);
        }
        free (b->held);
        b->held = NULL;
        b->n_held = 0;
}

void
build_leases_free (struct build_leases *b)
{
        for (size_t i = 0; i < b->n_held; i++)
                free (b->held[i]);
        free (b->held);
        free (b->cache);
        memset (b, 0, sizeof (*b));
}
