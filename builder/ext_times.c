/* ext_times.c - the build-times records of extension layers. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/ext_times.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/number.h"

#define TIMES_DIR "build-times"
#define RECORD_MAX_BYTES 32
/* A build that took longer than a week is no build. */
#define RECORD_MAX_MS (7L * 24 * 3600 * 1000)

/* The words become a file name: no '/', no leading '.'. */
static int
name_ok (const char *s)
{
        return *s && *s != '.' && strchr (s, '/') == NULL;
}

int
ext_times_record (const char *cache_dir, const char *name, const char *version, const char *major,
                  double seconds, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL, *path = NULL;
        char text[32];
        long ms = seconds > 0 ? (long) (seconds * 1000 + 0.5) : 0;

        if (!name_ok (name) || !name_ok (version) || !name_ok (major))
                return pgimg_make_error (err, EINVAL, "build time of `%s@%s`: not a name for a file", name, version);
        if (asprintf (&dir, "%s/" TIMES_DIR, cache_dir) < 0
            || asprintf (&path, "%s/%s@%s-pg%s", dir, name, version, major) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "build time of `%s`", name);
        snprintf (text, sizeof (text), "%ld\n", ms < RECORD_MAX_MS ? ms : RECORD_MAX_MS);
        if (fs_mkdir_p (dir, 0755, err) < 0)
                return -1;
        return fs_write_file_atomic (path, text, strlen (text), 0644, err);
}

int
ext_times_parse (const char *text, size_t len, double *seconds)
{
        char num[RECORD_MAX_BYTES];
        long ms;

        if (len > 0 && text[len - 1] == '\n')
                len--;
        if (len == 0 || len >= sizeof (num) || memchr (text, '\0', len) != NULL)
                return -1;
        memcpy (num, text, len);
        num[len] = '\0';
        if (number_parse_long (num, 0, RECORD_MAX_MS, &ms) < 0)
                return -1;
        *seconds = ms / 1000.0;
        return 0;
}

/* The seconds of one record, or -1 when it cannot be read as one. */
static double
read_record (const char *dir, const char *entry)
{
        cleanup_free char *path = NULL;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t ignored = NULL;
        double s;

        if (asprintf (&path, "%s/%s", dir, entry) < 0)
                return -1;
        if (fs_read_file (path, RECORD_MAX_BYTES, &b, &ignored) < 0) {
                pgimg_error_free (&ignored);
                return -1;
        }
        return ext_times_parse (b.data ? b.data : "", b.len, &s) < 0 ? -1 : s;
}

double
ext_times_get (const char *cache_dir, const char *name, const char *version, const char *major)
{
        cleanup_free char *dir = NULL, *entry = NULL;

        if (!name_ok (name) || !name_ok (version) || !name_ok (major)
            || asprintf (&dir, "%s/" TIMES_DIR, cache_dir) < 0)
                return -1;
        if (asprintf (&entry, "%s@%s-pg%s", name, version, major) < 0) {
                entry = NULL;
                return -1;
        }
        return read_record (dir, entry);
}

int
ext_times_total (const char *cache_dir, const char *name, double *seconds, pgimg_error_t *err)
{
        cleanup_free char *dir = NULL, *prefix = NULL;
        cleanup_dir DIR *d = NULL;
        struct dirent *de;
        int found = 0;

        *seconds = 0;
        if (asprintf (&dir, "%s/" TIMES_DIR, cache_dir) < 0 || asprintf (&prefix, "%s@", name) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "build times");
        if ((d = opendir (dir)) == NULL)
                return 0;
        while ((de = readdir (d)) != NULL) {
                double s;
                if (strncmp (de->d_name, prefix, strlen (prefix)) != 0 || (s = read_record (dir, de->d_name)) < 0)
                        continue;
                *seconds += s;
                found = 1;
        }
        return found;
}
