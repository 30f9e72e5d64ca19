/* lock.c - reading a lock file.
 *
 * lock_load parses the JSON into plain structs, checks that it is
 * self-consistent and forgets jansson.  Making a lock (`pgimg lock`) is
 * lock_make.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder/lock.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/libjson.h"

#define LOCK_MAX_BYTES ((size_t) 64 << 20)

static int
cmp_pkg (const void *a, const void *b)
{
        return strcmp (((const struct lock_package *) a)->name, ((const struct lock_package *) b)->name);
}

static int
cmp_str (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
cmp_set (const void *a, const void *b)
{
        return strcmp (((const struct lock_set *) a)->name, ((const struct lock_set *) b)->name);
}

static int
load_package (const char *path, size_t i, json_t *jp, struct lock_package *p, pgimg_error_t *err)
{
        static const char *const keys[] = { "name", "version", "arch", "sha256" };
        char **fields[] = { &p->name, &p->version, &p->arch, &p->sha256 };
        json_t *size = json_object_get (jp, "size");
        json_t *urls = json_object_get (jp, "urls");

        if (!json_is_object (jp))
                return pgimg_make_error (err, EINVAL, "`%s`: packages[%zu] is not an object", path, i);
        for (size_t k = 0; k < 4; k++) {
                const char *s = pgimg_json_str (jp, keys[k]);
                if (s == NULL || *s == '\0')
                        return pgimg_make_error (err, EINVAL, "`%s`: packages[%zu] has no %s", path, i, keys[k]);
                if ((*fields[k] = strdup (s)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        if (!sha256_hex_valid (p->sha256))
                return pgimg_make_error (err, EINVAL, "`%s`: package `%s` has an invalid sha256 `%s`", path,
                                         p->name, p->sha256);
        if (!json_is_integer (size) || json_integer_value (size) < 0)
                return pgimg_make_error (err, EINVAL, "`%s`: package `%s` has no valid size", path, p->name);
        p->size = (uint64_t) json_integer_value (size);
        if (!json_is_array (urls) || json_array_size (urls) == 0)
                return pgimg_make_error (err, EINVAL, "`%s`: package `%s` has no urls", path, p->name);
        p->urls = calloc (json_array_size (urls) + 1, sizeof (char *));
        if (p->urls == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t u = 0; u < json_array_size (urls); u++) {
                json_t *url = json_array_get (urls, u);
                if (!json_is_string (url))
                        return pgimg_make_error (err, EINVAL, "`%s`: package `%s` has a url that is not a string",
                                                 path, p->name);
                if ((p->urls[u] = strdup (json_string_value (url))) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        return 0;
}

static int
load_packages (const char *path, json_t *root, struct lock *lock, pgimg_error_t *err)
{
        json_t *pkgs = json_object_get (root, "packages");

        if (!json_is_array (pkgs))
                return pgimg_make_error (err, EINVAL, "`%s`: no packages array", path);
        lock->pkgs = calloc (json_array_size (pkgs) + 1, sizeof (*lock->pkgs));
        if (lock->pkgs == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        for (size_t i = 0; i < json_array_size (pkgs); i++) {
                lock->n_pkgs = i + 1;   /* lock_free sees what was filled */
                if (load_package (path, i, json_array_get (pkgs, i), &lock->pkgs[i], err) < 0)
                        return -1;
        }
        qsort (lock->pkgs, lock->n_pkgs, sizeof (*lock->pkgs), cmp_pkg);
        for (size_t i = 1; i < lock->n_pkgs; i++)
                if (strcmp (lock->pkgs[i - 1].name, lock->pkgs[i].name) == 0)
                        return pgimg_make_error (err, EINVAL, "`%s`: package `%s` is listed twice", path,
                                                 lock->pkgs[i].name);
        return 0;
}

static int
load_sets (const char *path, json_t *root, struct lock *lock, pgimg_error_t *err)
{
        json_t *sets = json_object_get (root, "sets");
        const char *name;
        json_t *members;

        if (!json_is_object (sets))
                return pgimg_make_error (err, EINVAL, "`%s`: no sets object", path);
        lock->sets = calloc (json_object_size (sets) + 1, sizeof (*lock->sets));
        if (lock->sets == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        json_object_foreach (sets, name, members) {
                struct lock_set *s = &lock->sets[lock->n_sets++];
                if ((s->name = strdup (name)) == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                if (!json_is_array (members))
                        return pgimg_make_error (err, EINVAL, "`%s`: set `%s` is not an array", path, name);
                s->packages = calloc (json_array_size (members) + 1, sizeof (char *));
                if (s->packages == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                for (size_t i = 0; i < json_array_size (members); i++) {
                        json_t *m = json_array_get (members, i);
                        if (!json_is_string (m))
                                return pgimg_make_error (err, EINVAL, "`%s`: set `%s` has a member that is not a string",
                                                         path, name);
                        if (lock_find (lock, json_string_value (m)) == NULL)
                                return pgimg_make_error (err, EINVAL,
                                                         "`%s`: set `%s` names `%s`, which is not in packages",
                                                         path, name, json_string_value (m));
                        if ((s->packages[s->n++] = strdup (json_string_value (m))) == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
                }
                qsort (s->packages, s->n, sizeof (char *), cmp_str);
        }
        qsort (lock->sets, lock->n_sets, sizeof (*lock->sets), cmp_set);
        return 0;
}

int
lock_date_timestamp (const char *date, char out[17])
{
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        char mon[4], zone[8];
        int day, year, h, m, s;
        const char *comma = strchr (date, ',');
        const char *found;

        if (sscanf (comma ? comma + 1 : date, "%d %3s %d %d:%d:%d %7s", &day, mon, &year, &h, &m, &s, zone) != 7)
                return -1;
        if (strcmp (zone, "UTC") != 0 && strcmp (zone, "GMT") != 0 && strcmp (zone, "+0000") != 0)
                return -1;
        found = strlen (mon) == 3 ? strstr (months, mon) : NULL;
        if (found == NULL || (found - months) % 3 != 0 || day < 1 || day > 31 || year < 1990
            || year > 9999 || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60)
                return -1;
        /* Every field is range-checked above: exactly 16 characters. */
        char tmp[64];
        snprintf (tmp, sizeof (tmp), "%04d%02d%02dT%02d%02d%02dZ", year, (int) ((found - months) / 3) + 1,
                  day, h, m, s);
        memcpy (out, tmp, 17);
        return 0;
}

/* The newest Date of the indexes the lock was resolved from: the
 * default SOURCE_DATE_EPOCH of what is built from it, so that the time
 * in layers and images changes only when the packages may have. */
static long long
newest_source_date (json_t *root)
{
        json_t *sources = json_object_get (root, "sources"), *s;
        long long newest = 0;
        size_t i;

        json_array_foreach (sources, i, s) {
                const char *date = json_string_value (json_object_get (s, "date"));
                char ts[17];
                struct tm tm;

                if (date == NULL || lock_date_timestamp (date, ts) < 0)
                        continue;
                memset (&tm, 0, sizeof (tm));
                if (sscanf (ts, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
                        continue;
                tm.tm_year -= 1900;
                tm.tm_mon -= 1;
                long long t = (long long) timegm (&tm);
                if (t > newest)
                        newest = t;
        }
        return newest;
}

static int
lock_parse (const char *path, const struct buf *text, struct lock *lock, pgimg_error_t *err)
{
        cleanup_json json_t *root = NULL;
        json_error_t je;
        json_t *version;

        root = json_loadb (text->data, text->len, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL)
                return pgimg_error_from_json (err, path, &je);
        if (!json_is_object (root))
                return pgimg_make_error (err, EINVAL, "`%s`: not a JSON object", path);
        version = json_object_get (root, "lockVersion");
        if (!json_is_integer (version) || json_integer_value (version) != 1)
                return pgimg_make_error (err, EINVAL, "`%s`: lockVersion is not 1", path);
        if (pgimg_json_str (root, "suite") == NULL || pgimg_json_str (root, "arch") == NULL)
                return pgimg_make_error (err, EINVAL, "`%s`: no suite or arch", path);
        if ((lock->suite = strdup (pgimg_json_str (root, "suite"))) == NULL
            || (lock->arch = strdup (pgimg_json_str (root, "arch"))) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (load_packages (path, root, lock, err) < 0)
                return -1;
        lock->date = newest_source_date (root);
        return load_sets (path, root, lock, err);
}

int
lock_load (const char *path, struct lock *lock, pgimg_error_t *err)
{
        cleanup_buf struct buf text = BUF_INIT;

        memset (lock, 0, sizeof (*lock));
        if (fs_read_file (path, LOCK_MAX_BYTES, &text, err) < 0)
                return -1;
        if (sha256_buf_hex (text.data ? text.data : "", text.len, lock->digest, err) < 0)
                return -1;
        if ((lock->path = strdup (path)) == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        if (lock_parse (path, &text, lock, err) < 0) {
                lock_free (lock);
                return -1;
        }
        return 0;
}

void
lock_free (struct lock *lock)
{
        for (size_t i = 0; i < lock->n_pkgs; i++) {
                struct lock_package *p = &lock->pkgs[i];
                free (p->name);
                free (p->version);
                free (p->arch);
                free (p->sha256);
                strv_free (p->urls);
        }
        for (size_t i = 0; i < lock->n_sets; i++) {
                free (lock->sets[i].name);
                strv_free (lock->sets[i].packages);
        }
        free (lock->pkgs);
        free (lock->sets);
        free (lock->path);
        free (lock->suite);
        free (lock->arch);
        memset (lock, 0, sizeof (*lock));
}

const struct lock_package *
lock_find (const struct lock *lock, const char *name)
{
        struct lock_package key = { .name = (char *) name };

        if (lock->n_pkgs == 0)
                return NULL;
        return bsearch (&key, lock->pkgs, lock->n_pkgs, sizeof (key), cmp_pkg);
}

const struct lock_set *
lock_find_set (const struct lock *lock, const char *name)
{
        for (size_t i = 0; i < lock->n_sets; i++)
                if (strcmp (lock->sets[i].name, name) == 0)
                        return &lock->sets[i];
        return NULL;
}

int
lock_set_digest (const struct lock *lock, const char *set, char hex[SHA256_HEX_LEN + 1],
                 pgimg_error_t *err)
{
        const struct lock_set *s = lock_find_set (lock, set);
        cleanup_buf struct buf b = BUF_INIT;

        if (s == NULL)
                return pgimg_make_error (err, ENOENT, "`%s` has no set `%s`", lock->path, set);
        for (size_t i = 0; i < s->n; i++) {
                const struct lock_package *p = lock_find (lock, s->packages[i]);
                if (buf_addf (&b, "%s %s %s\n", p->name, p->version, p->sha256) < 0)
                        return pgimg_make_error_errno (err, errno, "digest of set `%s`", set);
        }
        return sha256_buf_hex (b.data ? b.data : "", b.len, hex, err);
}
