/* libarchive.h - where libarchive meets pgimg: its errors and its
 * cleanup.
 *
 * Include this (and so <archive.h>) only in a module that reads or
 * writes archives; struct archive never travels past that module.
 */
#ifndef PGIMG_LIBARCHIVE_H
#define PGIMG_LIBARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "common/error.h"

/* archive_free releases a reader or a writer (closing it first). */
static inline void
cleanup_archivep (struct archive **a)
{
        if (*a != NULL)
                archive_free (*a);
}
#define cleanup_archive __attribute__ ((cleanup (cleanup_archivep)))

static inline void
cleanup_archive_entryp (struct archive_entry **e)
{
        if (*e != NULL)
                archive_entry_free (*e);
}
#define cleanup_archive_entry __attribute__ ((cleanup (cleanup_archive_entryp)))

/* "<what>: libarchive's text", where what is formatted from fmt; the
 * status is the archive's errno, or EIO.  a may be NULL.  Returns a
 * negative value. */
int pgimg_error_from_archive (pgimg_error_t *err, struct archive *a, const char *fmt, ...)
        __attribute__ ((format (printf, 3, 4)));

#endif
